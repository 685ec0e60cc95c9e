/**
 * Reads a LiteLLM proxy `config.yaml` as it is, so a team's gateway models and prices need no retyping.
 * Each `model_list` entry becomes an evalroute model keyed by its `model_name`:
 *  - with `proxy` set, every model is called through the LiteLLM proxy (OpenAI-compatible), which works
 *    for any backend the proxy knows (Bedrock, Vertex, Azure…);
 *  - without it, models are called directly: `openai/…`, `anthropic/…`, `azure/…`, and any entry with
 *    an `api_base` (vLLM, Ollama, other OpenAI-compatible servers). Other backends need the proxy.
 * Keys are never copied: `os.environ/NAME` becomes `apiKeyEnv: NAME`; a literal key is refused.
 */
import { z } from 'zod';

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
  apiKeyEnv?: string;
  apiVersion?: string;
  params?: Record<string, unknown>;
  price?: { input: number; output: number; cachedInput?: number };
  concurrency?: number;
}

const costFields = {
  input_cost_per_token: z.number().nonnegative().optional(),
  output_cost_per_token: z.number().nonnegative().optional(),
  cache_read_input_token_cost: z.number().nonnegative().optional(),
};

const entrySchema = z.object({
  model_name: z.string().min(1),
  litellm_params: z.looseObject({
    model: z.string().min(1),
    api_base: z.string().optional(),
    api_key: z.string().optional(),
    api_version: z.string().optional(),
    temperature: z.number().optional(),
    max_tokens: z.number().optional(),
    max_parallel_requests: z.number().optional(),
    ...costFields,
  }),
  model_info: z.looseObject(costFields).optional(),
});

export const liteLlmConfigSchema = z.looseObject({ model_list: z.array(entrySchema).min(1) });

export class LiteLlmImportError extends Error {
  constructor(
    readonly index: number,
    readonly field: string,
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

const ENV_REF = /^os\.environ\/([A-Za-z_][A-Za-z0-9_]*)$/;

export function importLiteLlmModels(doc: z.infer<typeof liteLlmConfigSchema>, opts: LiteLlmImport = {}): Map<string, RawModelEntry> {
  const out = new Map<string, RawModelEntry>();
  doc.model_list.forEach((entry, index) => {
    const p = entry.litellm_params;
    const [prefix, ...rest] = p.model.includes('/') ? p.model.split('/') : ['openai', p.model];
    const backendModel = rest.join('/');
    const keyEnv = apiKeyEnvOf(p.api_key, index);
    const params = { ...(p.temperature !== undefined ? { temperature: p.temperature } : {}), ...(p.max_tokens !== undefined ? { max_tokens: p.max_tokens } : {}) };
    const costs = { ...p, ...entry.model_info };
    const price =
      costs.input_cost_per_token !== undefined && costs.output_cost_per_token !== undefined
        ? {
            input: perMillion(costs.input_cost_per_token),
            output: perMillion(costs.output_cost_per_token),
            ...(costs.cache_read_input_token_cost !== undefined ? { cachedInput: perMillion(costs.cache_read_input_token_cost) } : {}),
          }
        : undefined;
    const common = {
      ...(Object.keys(params).length ? { params } : {}),
      ...(price ? { price } : {}),
      ...(p.max_parallel_requests ? { concurrency: p.max_parallel_requests } : {}),
    };

    let model: RawModelEntry;
    if (opts.proxy) {
      model = { provider: 'openai', model: entry.model_name, baseURL: opts.proxy, apiKeyEnv: opts.apiKeyEnv ?? 'LITELLM_API_KEY', ...common };
    } else if (prefix === 'anthropic') {
      model = { provider: 'anthropic', model: backendModel, ...(p.api_base ? { baseURL: p.api_base } : {}), ...(keyEnv ? { apiKeyEnv: keyEnv } : {}), ...common };
    } else if (prefix === 'azure') {
      if (!p.api_base) throw new LiteLlmImportError(index, 'litellm_params.api_base', `Azure model "${entry.model_name}" has no api_base`, 'add api_base: https://<resource>.openai.azure.com');
      model = {
        provider: 'azure',
        model: backendModel,
        baseURL: p.api_base,
        ...(p.api_version ? { apiVersion: p.api_version } : {}),
        apiKeyEnv: keyEnv ?? 'AZURE_API_KEY',
        ...common,
      };
    } else if (prefix === 'openai' || p.api_base) {
      model = { provider: 'openai', model: backendModel, ...(p.api_base ? { baseURL: p.api_base } : {}), ...(keyEnv ? { apiKeyEnv: keyEnv } : {}), ...common };
    } else {
      throw new LiteLlmImportError(
        index,
        'litellm_params.model',
        `model "${entry.model_name}" uses the "${prefix}" backend, which evalroute cannot call directly`,
        'set litellm: { proxy: <your LiteLLM proxy URL> } to call every model through the gateway',
      );
    }
    out.set(entry.model_name, model);
  });
  return out;
}

function apiKeyEnvOf(apiKey: string | undefined, index: number): string | undefined {
  if (apiKey === undefined) return undefined;
  const ref = ENV_REF.exec(apiKey);
  if (ref) return ref[1];
  throw new LiteLlmImportError(
    index,
    'litellm_params.api_key',
    'holds a literal API key; evalroute never reads keys from files',
    'use api_key: os.environ/YOUR_KEY_VAR in the LiteLLM config and export the variable',
  );
}

/** LiteLLM prices per token; evalroute per million tokens. Rounded to kill float noise (2.5e-6 × 1e6). */
const perMillion = (perToken: number) => Math.round(perToken * 1e6 * 1e9) / 1e9;
