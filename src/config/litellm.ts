/**
 * Reads a LiteLLM proxy `config.yaml` as it is, so a team's gateway models, prices and routing need no
 * retyping. The file is read the way the LiteLLM proxy reads it, and never refused as a whole for one entry
 * evalroute cannot use: such an entry is skipped with one warning line, and only an attempt to *use* it
 * (a routing file naming it) is an error. Structural problems are collected and reported in one pass.
 *
 *  - with `proxy` set, every model is called through the LiteLLM proxy (OpenAI-compatible), which works
 *    for any backend the proxy knows (Bedrock, Vertex, SageMaker…) and ignores the file's keys;
 *  - without it, models are called directly: `openai/…`, `anthropic/…`, `azure/…`, the OpenAI-compatible
 *    providers below (groq, mistral, ollama, …), and any entry with an `api_base`.
 *  - several deployments under one `model_name` (LiteLLM load balancing) become one `mixture` model
 *    whose deployments are weighted like LiteLLM's simple-shuffle: `weight`, else `rpm`, else `tpm`;
 *  - wildcard entries (`*`, `anthropic/*`) are kept as patterns and resolved against the model keys a
 *    routing file names (resolveWildcard), never imported as a model called `*`;
 *  - `os.environ/NAME` may appear in any field: keys become `apiKeyEnv`, an api_base `baseURLEnv`; other
 *    fields evalroute does not read from the environment are ignored with a warning;
 *  - `tags` on deployments and `router_settings.enable_tag_filtering` are kept for tag routing
 *    (config/litellm-routing.ts).
 */
import { z } from 'zod';
import { lookupPrice } from './prices.js';
import type { PathSegment } from './source.js';

export interface LiteLlmImport {
  /** Route every model through this LiteLLM proxy base URL (e.g. http://localhost:4000). */
  proxy?: string;
  /** Environment variable holding the proxy's key (default LITELLM_API_KEY). */
  apiKeyEnv?: string;
}

/** An evalroute model entry as written in evalroute.config.yaml (before normalisation). */
export interface RawModelEntry {
  provider: string;
  model: string;
  baseURL?: string;
  baseURLEnv?: string;
  apiKeyEnv?: string;
  apiVersion?: string;
  params?: Record<string, unknown>;
  price?: { input?: number; output?: number; cachedInput?: number; table?: string };
  concurrency?: number;
  timeoutMs?: number;
  maxRetries?: number;
  rpm?: number;
  tpm?: number;
  /** `mixture`: the deployments (model keys) and their traffic weights. */
  deployments?: { model: string; weight: number }[];
}

/** A problem found in the file, located by its path in the YAML document. */
export interface LiteLlmIssue {
  path: PathSegment[];
  message: string;
  hint?: string;
}

/** One `model_list` entry of a load-balanced group or a tag route. */
export interface LiteLlmDeployment {
  /** Model key of this deployment: the model_name when it is alone, else model_name#id. */
  key: string;
  modelName: string;
  index: number;
  tags: string[];
  weight: number;
  /** Why evalroute cannot call it; undefined when it can. */
  unavailable?: string;
}

export interface LiteLlmWildcard {
  /** The model_name pattern, e.g. `anthropic/*` or `*`. */
  pattern: string;
  index: number;
  params: Record<string, unknown>;
  modelInfo: Record<string, unknown>;
}

export interface LiteLlmImportResult {
  /** Callable models by key; a load-balanced model_name is a `mixture` over its deployments' keys. */
  models: Map<string, RawModelEntry>;
  /** Entries evalroute skipped, by key: why, and the entry as far as it was read (an override may complete it). */
  unavailable: Map<string, { reason: string; base?: RawModelEntry }>;
  /** model_name → its deployments, in file order. */
  groups: Map<string, LiteLlmDeployment[]>;
  wildcards: LiteLlmWildcard[];
  /** `router_settings.enable_tag_filtering`: whether the proxy routes by request tags. */
  tagFiltering: boolean;
  warnings: LiteLlmIssue[];
  /** Problems that make the file unusable as LiteLLM reads it (missing model, not a list…). */
  errors: LiteLlmIssue[];
}

/** Only what evalroute needs is checked; LiteLLM accepts (and evalroute ignores) many more keys. */
export const liteLlmConfigSchema = z.looseObject({ model_list: z.unknown().optional() });

const ENV_REF = /^\s*os\.environ\/([A-Za-z_][A-Za-z0-9_]*)\s*$/;

/** LiteLLM's OpenAI-compatible providers: their API base and the key variable LiteLLM reads. */
const OPENAI_COMPATIBLE: Record<string, { baseURL: string; apiKeyEnv?: string }> = {
  groq: { baseURL: 'https://api.groq.com/openai/v1', apiKeyEnv: 'GROQ_API_KEY' },
  mistral: { baseURL: 'https://api.mistral.ai/v1', apiKeyEnv: 'MISTRAL_API_KEY' },
  openrouter: { baseURL: 'https://openrouter.ai/api/v1', apiKeyEnv: 'OPENROUTER_API_KEY' },
  deepseek: { baseURL: 'https://api.deepseek.com/v1', apiKeyEnv: 'DEEPSEEK_API_KEY' },
  together_ai: { baseURL: 'https://api.together.xyz/v1', apiKeyEnv: 'TOGETHERAI_API_KEY' },
  fireworks_ai: { baseURL: 'https://api.fireworks.ai/inference/v1', apiKeyEnv: 'FIREWORKS_AI_API_KEY' },
  xai: { baseURL: 'https://api.x.ai/v1', apiKeyEnv: 'XAI_API_KEY' },
  gemini: { baseURL: 'https://generativelanguage.googleapis.com/v1beta/openai', apiKeyEnv: 'GEMINI_API_KEY' },
  // Ollama serves the OpenAI API under /v1 of its own base.
  ollama: { baseURL: 'http://localhost:11434/v1' },
  ollama_chat: { baseURL: 'http://localhost:11434/v1' },
  hosted_vllm: { baseURL: 'http://localhost:8000/v1' },
  lm_studio: { baseURL: 'http://localhost:1234/v1' },
};
const OLLAMA = new Set(['ollama', 'ollama_chat']);

/** `model_info.mode` values that are not chat completions. */
const NON_CHAT_MODES = new Set(['embedding', 'image_generation', 'image_edit', 'audio_transcription', 'audio_speech', 'rerank', 'moderation', 'batch', 'video_generation']);
/** Backend model ids that are not chat models even when the file gives no mode. */
const NON_CHAT_NAME = /(^|[/-])(text-)?embed|dall-e|gpt-image|whisper|(^|[/-])tts|rerank|moderation|imagen/i;

export type Conversion = { ok: RawModelEntry } | { skip: string; base?: RawModelEntry };

export function importLiteLlmModels(doc: Record<string, unknown>, opts: LiteLlmImport = {}): LiteLlmImportResult {
  const result: LiteLlmImportResult = {
    models: new Map(),
    unavailable: new Map(),
    groups: new Map(),
    wildcards: [],
    tagFiltering: truthy(record(doc.router_settings).enable_tag_filtering),
    warnings: [],
    errors: [],
  };
  const list = doc.model_list;
  if (!Array.isArray(list) || list.length === 0) {
    result.errors.push({
      path: list === undefined ? [] : ['model_list'],
      message: list === undefined ? 'has no model_list' : 'model_list must be a non-empty list of models',
      hint: 'a LiteLLM proxy config lists its models under model_list: - { model_name, litellm_params: { model } }',
    });
    return result;
  }

  const converted: { index: number; name: string; tags: string[]; weight: number; id?: string; conv: Conversion }[] = [];
  list.forEach((raw: unknown, index) => {
    const at = ['model_list', index];
    const entry = record(raw);
    const params = record(entry.litellm_params);
    const name = entry.model_name;
    if (typeof name !== 'string' || name.trim() === '') {
      result.errors.push({ path: [...at, 'model_name'], message: 'entry has no model_name', hint: 'give each entry the name clients request, e.g. model_name: gpt-4o' });
      return;
    }
    if (typeof params.model !== 'string') {
      result.errors.push({ path: [...at, 'litellm_params', 'model'], message: `model "${name}" has no litellm_params.model`, hint: 'add litellm_params: { model: <provider>/<model id> }' });
      return;
    }
    const modelInfo = record(entry.model_info);
    if (name.includes('*')) {
      result.wildcards.push({ pattern: name, index, params, modelInfo });
      return;
    }
    const warn = (field: string, message: string) => result.warnings.push({ path: [...at, ...field.split('.')], message: `model "${name}": ${message}` });
    const conv = convertDeployment(name, params, entry, modelInfo, opts, warn);
    const tags = Array.isArray(params.tags) ? params.tags.filter((t): t is string => typeof t === 'string') : [];
    const weight = positive(params.weight) ?? positive(params.rpm ?? entry.rpm) ?? positive(params.tpm ?? entry.tpm) ?? 1;
    const id = typeof modelInfo.id === 'string' || typeof modelInfo.id === 'number' ? String(modelInfo.id) : undefined;
    converted.push({ index, name, tags, weight, ...(id !== undefined ? { id } : {}), conv });
  });

  const byName = new Map<string, typeof converted>();
  for (const c of converted) byName.set(c.name, [...(byName.get(c.name) ?? []), c]);
  for (const [name, members] of byName) {
    const alone = members.length === 1;
    const keys = new Set<string>();
    const deployments: LiteLlmDeployment[] = members.map((m, n) => {
      let key = alone ? name : `${name}#${m.id ?? n + 1}`;
      if (keys.has(key)) key = `${name}#${n + 1}`;
      keys.add(key);
      if ('ok' in m.conv) result.models.set(key, m.conv.ok);
      else result.unavailable.set(key, { reason: m.conv.skip, ...(m.conv.base ? { base: m.conv.base } : {}) });
      return { key, modelName: name, index: m.index, tags: m.tags, weight: m.weight, ...('skip' in m.conv ? { unavailable: m.conv.skip } : {}) };
    });
    result.groups.set(name, deployments);
    if (alone) continue;
    const callable = deployments.filter((d) => d.unavailable === undefined);
    if (callable.length === 0) {
      result.unavailable.set(name, { reason: `none of its ${deployments.length} deployments can be called (${deployments[0]!.unavailable})` });
      continue;
    }
    result.models.set(name, { provider: 'mixture', model: name, deployments: callable.map((d) => ({ model: d.key, weight: d.weight })) });
  }
  return result;
}

/** The wildcard entry that serves `key`, and what its `*`s matched; the most specific pattern wins, as in LiteLLM. */
export function matchWildcard(result: LiteLlmImportResult, key: string): { wildcard: LiteLlmWildcard; captures: string[] } | undefined {
  return result.wildcards
    .map((wildcard) => ({ wildcard, captures: wildcardCaptures(wildcard.pattern, key) }))
    .filter((m): m is { wildcard: LiteLlmWildcard; captures: string[] } => m.captures !== undefined)
    .sort((a, b) => b.wildcard.pattern.replaceAll('*', '').length - a.wildcard.pattern.replaceAll('*', '').length)[0];
}

/**
 * What each `*` of `pattern` matched in `key` — each at least one character, earlier stars as long as
 * possible, as `^a(.+)b(.+)c$` would — or undefined when `key` does not match. Plain string search,
 * placing the literal parts from the right as late as they fit: linear in the key for any number of
 * stars, where a regular expression with several `(.+)` backtracks polynomially on a long model name
 * (routing files and the model names they use arrive in pull requests).
 */
export function wildcardCaptures(pattern: string, key: string): string[] | undefined {
  const parts = pattern.split('*');
  const head = parts[0]!;
  const tail = parts.at(-1)!;
  if (parts.length === 1) return key === pattern ? [] : undefined;
  if (!key.startsWith(head) || !key.endsWith(tail)) return undefined;
  // starts[i]: where literal part i begins in key; the last part sits at the very end.
  const starts: number[] = new Array<number>(parts.length);
  starts[0] = 0;
  starts[parts.length - 1] = key.length - tail.length;
  for (let i = parts.length - 2; i >= 1; i--) {
    const part = parts[i]!;
    // Its star to the right needs at least one character before the next part.
    const latest = starts[i + 1]! - 1 - part.length;
    if (latest < 0) return undefined;
    const at = key.lastIndexOf(part, latest);
    if (at < 0) return undefined;
    starts[i] = at;
  }
  const captures: string[] = [];
  for (let i = 0; i < parts.length - 1; i++) {
    const from = starts[i]! + parts[i]!.length;
    const to = starts[i + 1]!;
    // Placing every part as late as it fits leaves the most room on the left: if a star is empty here, no placement fills it.
    if (to - from < 1) return undefined;
    captures.push(key.slice(from, to));
  }
  return captures;
}

/**
 * The model a wildcard entry serves for `key` (e.g. `anthropic/claude-haiku-4-5` through `anthropic/*`,
 * or `gpt-4o` through `*` → `openai/*`), the way the proxy resolves a requested model name.
 */
export function resolveWildcard(result: LiteLlmImportResult, key: string, opts: LiteLlmImport = {}): Conversion | undefined {
  const found = matchWildcard(result, key);
  if (!found) return undefined;
  const { wildcard, captures } = found;
  let i = 0;
  const template = String(wildcard.params.model);
  const model = template.replace(/\*/g, () => captures[i++] ?? captures.at(-1) ?? '');
  return convertDeployment(key, { ...wildcard.params, model }, {}, wildcard.modelInfo, opts, () => undefined);
}

function convertDeployment(
  name: string,
  p: Record<string, unknown>,
  entry: Record<string, unknown>,
  info: Record<string, unknown>,
  opts: LiteLlmImport,
  warn: (field: string, message: string) => void,
): Conversion {
  const full = String(p.model);
  const slash = full.indexOf('/');
  const prefix = slash >= 0 ? full.slice(0, slash) : 'openai';
  const backendModel = slash >= 0 ? full.slice(slash + 1) : full;

  const mode = typeof info.mode === 'string' ? info.mode : undefined;
  if (mode !== undefined && NON_CHAT_MODES.has(mode)) return skipped(warn, `has mode ${mode}, not chat; skipped`);
  if (prefix.startsWith('text-completion')) return skipped(warn, 'uses the text completions API, not chat; skipped');
  if (NON_CHAT_NAME.test(backendModel)) return skipped(warn, `"${full}" is not a chat model; skipped`);
  if (backendModel === '') return skipped(warn, `litellm_params.model "${full}" names no model or deployment; skipped`);

  const common = commonFields(p, entry, info, name, backendModel, warn);
  const apiKey = p.api_key;
  const keyRef = typeof apiKey === 'string' ? ENV_REF.exec(apiKey)?.[1] : undefined;
  const literalKey = typeof apiKey === 'string' && apiKey.trim() !== '' && keyRef === undefined;

  if (opts.proxy) {
    if (literalKey) warn('litellm_params.api_key', 'has a literal api_key; ignored (calls go through the proxy with its own key)');
    return { ok: { provider: 'openai', model: name, baseURL: opts.proxy, apiKeyEnv: opts.apiKeyEnv ?? 'LITELLM_API_KEY', ...common } };
  }

  const base = urlOrEnv(p.api_base);
  if (base === null) return skipped(warn, `api_base "${String(p.api_base)}" is not a URL; skipped`, 'litellm_params.api_base');
  const keyEnv = keyRef !== undefined ? { apiKeyEnv: keyRef } : {};
  let model: RawModelEntry;
  if (prefix === 'anthropic') {
    model = { provider: 'anthropic', model: backendModel, ...base, ...keyEnv, ...common };
  } else if (prefix === 'azure') {
    if (!('baseURL' in base) && !('baseURLEnv' in base)) return skipped(warn, 'is an Azure deployment without api_base; skipped', 'litellm_params.api_base');
    const version = typeof p.api_version === 'string' && !ENV_REF.test(p.api_version) ? { apiVersion: p.api_version } : {};
    model = { provider: 'azure', model: backendModel, ...base, ...version, apiKeyEnv: keyRef ?? 'AZURE_API_KEY', ...common };
  } else if (prefix === 'openai' || prefix === 'custom_openai') {
    model = { provider: 'openai', model: backendModel, ...base, ...keyEnv, ...common };
  } else if (OPENAI_COMPATIBLE[prefix] || 'baseURL' in base || 'baseURLEnv' in base) {
    const known = OPENAI_COMPATIBLE[prefix];
    const url = 'baseURL' in base && OLLAMA.has(prefix) ? { baseURL: `${base.baseURL!.replace(/\/+$/, '')}/v1` } : base;
    const defaults = known ? { baseURL: known.baseURL, ...(known.apiKeyEnv ? { apiKeyEnv: known.apiKeyEnv } : {}) } : {};
    model = { provider: 'openai', model: backendModel, ...defaults, ...url, ...keyEnv, ...common };
  } else {
    return skipped(warn, `uses the "${prefix}" backend, which evalroute cannot call directly; skipped (set litellm.proxy to call it through the gateway)`, 'litellm_params.model');
  }
  if (literalKey) {
    const reason = 'has a literal api_key, and evalroute never reads keys from files';
    warn('litellm_params.api_key', `${reason}; skipped unless models.${name} sets apiKeyEnv (or set litellm.proxy)`);
    return { skip: `${reason}: set apiKeyEnv for it under models:, or litellm.proxy`, base: model };
  }
  return { ok: model };
}

function skipped(warn: (field: string, message: string) => void, message: string, field = 'litellm_params.model'): Conversion {
  warn(field, message);
  return { skip: message.replace(/; skipped.*$/, '') };
}

/** Params, limits and price: the parts that are the same whether the model is called directly or through the proxy. */
function commonFields(
  p: Record<string, unknown>,
  entry: Record<string, unknown>,
  info: Record<string, unknown>,
  name: string,
  backendModel: string,
  warn: (field: string, message: string) => void,
): Partial<RawModelEntry> {
  const num = (field: string, value: unknown): number | undefined => {
    if (typeof value === 'string' && ENV_REF.test(value)) {
      warn(field, `${field.split('.').at(-1)} comes from the environment (${value.trim()}), which evalroute does not read from config files; ignored`);
      return undefined;
    }
    return positive(value);
  };
  const params: Record<string, unknown> = {};
  for (const k of ['temperature', 'max_tokens', 'top_p', 'seed'] as const) {
    const v = k === 'temperature' || k === 'seed' ? number(p[k]) : num(`litellm_params.${k}`, p[k]);
    if (v !== undefined) params[k] = v;
  }
  const rpm = num('litellm_params.rpm', p.rpm ?? entry.rpm);
  const tpm = num('litellm_params.tpm', p.tpm ?? entry.tpm);
  const timeout = num('litellm_params.timeout', p.timeout);
  const retries = p.max_retries === 0 ? 0 : num('litellm_params.max_retries', p.max_retries);
  const concurrency = num('litellm_params.max_parallel_requests', p.max_parallel_requests);
  // LiteLLM prices an Azure deployment by model_info.base_model; else the backend model, else the public name.
  const price = priceOf({ ...p, ...info }, [info.base_model, backendModel, name].filter((n): n is string => typeof n === 'string'));
  return {
    ...(Object.keys(params).length ? { params } : {}),
    ...(price ? { price } : {}),
    ...(concurrency !== undefined ? { concurrency: Math.ceil(concurrency) } : {}),
    ...(rpm !== undefined ? { rpm } : {}),
    ...(tpm !== undefined ? { tpm } : {}),
    // LiteLLM's timeout is in seconds.
    ...(timeout !== undefined ? { timeoutMs: Math.ceil(timeout * 1000) } : {}),
    ...(retries !== undefined ? { maxRetries: Math.floor(retries) } : {}),
  };
}

/** The file's own per-token costs, else the bundled table's list price for the backend model (or the name). */
function priceOf(costs: Record<string, unknown>, names: string[]): RawModelEntry['price'] | undefined {
  const input = number(costs.input_cost_per_token);
  const output = number(costs.output_cost_per_token);
  const cached = number(costs.cache_read_input_token_cost);
  if (input !== undefined && output !== undefined) {
    return { input: perMillion(input), output: perMillion(output), ...(cached !== undefined ? { cachedInput: perMillion(cached) } : {}) };
  }
  const listed = names.map((n) => lookupPrice(n)).find((found) => found !== undefined);
  return listed ? { table: listed.name } : undefined;
}

/** `{ baseURL }`, `{ baseURLEnv }` for `os.environ/NAME`, `{}` when absent, null when it is not a URL. */
function urlOrEnv(value: unknown): { baseURL?: string; baseURLEnv?: string } | null {
  if (value === undefined || value === null || value === '') return {};
  if (typeof value !== 'string') return null;
  const ref = ENV_REF.exec(value)?.[1];
  if (ref !== undefined) return { baseURLEnv: ref };
  return z.url().safeParse(value.trim()).success ? { baseURL: value.trim() } : null;
}

/** LiteLLM prices per token; evalroute per million tokens. Rounded to kill float noise (2.5e-6 × 1e6). */
const perMillion = (perToken: number) => Math.round(perToken * 1e6 * 1e9) / 1e9;

function record(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** YAML 1.2 reads LiteLLM's `tpm: 20_000` (YAML 1.1, as PyYAML reads it) as a string. */
function number(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d[\d_]*(\.\d+)?(e-?\d+)?$/i.test(v.trim())) return Number(v.trim().replaceAll('_', ''));
  return undefined;
}

function positive(v: unknown): number | undefined {
  const n = number(v);
  return n !== undefined && n > 0 ? n : undefined;
}

function truthy(v: unknown): boolean {
  return v === true || (typeof v === 'string' && /^(true|yes|1)$/i.test(v.trim()));
}
