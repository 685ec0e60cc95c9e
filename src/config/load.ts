/**
 * Loading evalroute.config.yaml and routing.yaml into the normalised core shapes, with the cross-checks
 * a schema alone cannot do (known providers, model keys, tiers, the default rule).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError, UsageError } from '../core/errors.js';
import type { Budget, EvalConfig, ModelConfig, Routing, RoutingRule, RuleCondition, TierConfig } from '../core/types.js';
import { providerTypes } from '../providers/registry.js';
import { resolvePrice } from './prices.js';
import type { z } from 'zod';
import { importLiteLlmModels, LiteLlmImportError, liteLlmConfigSchema } from './litellm.js';
import { isPortkeyConfig, loadPortkeyRouting } from './portkey.js';
import { configSchema, modelSchema, routingSchema } from './schemas.js';
import type { RoutingFile } from './schemas.js';
import { readYaml } from './source.js';
import type { Locate, PathSegment } from './source.js';

export { loadSuite } from './suite.js';
export type { LoadSuiteOptions } from './suite.js';

export const CONFIG_FILE_NAME = 'evalroute.config.yaml';

export interface LoadConfigOptions {
  /** Working folder: relative `file` and the default store path resolve against it. */
  cwd: string;
  /** Registered provider types. Default: the provider registry's (openai, anthropic, recorded and any plugin). */
  knownProviders?: readonly string[];
}

/**
 * DESIGN's lookup: `--config` (explicit, relative to cwd), else evalroute.config.yaml in the suite
 * folder, else in the working folder.
 */
export function findConfigFile(suiteDir: string, explicit: string | undefined, cwd: string): string {
  if (explicit) {
    const file = resolve(cwd, explicit);
    if (!existsSync(file)) throw new ConfigError({ file }, 'config file given with --config not found', 'check the path');
    return file;
  }
  const candidates = [resolve(cwd, suiteDir, CONFIG_FILE_NAME), resolve(cwd, CONFIG_FILE_NAME)];
  const found = candidates.find((f) => existsSync(f));
  if (found) return found;
  throw new UsageError(
    `no ${CONFIG_FILE_NAME} found; looked at ${[...new Set(candidates)].join(' and ')}\n` +
      `  → create ${CONFIG_FILE_NAME} in the suite folder or the working folder, or pass --config FILE`,
  );
}

const API_KEY_FIELD = /^api[_-]?key$/i;

/** Loads evalroute.config.yaml; a relative `file` resolves against `opts.cwd`. */
export function loadConfig(file: string, opts: LoadConfigOptions): EvalConfig {
  const abs = resolve(opts.cwd, file);
  const src = readYaml(abs, configSchema, {
    what: 'config file',
    hint: `pass --config FILE or create ${CONFIG_FILE_NAME}`,
    precheck: rejectApiKeys,
  });
  const { data, at } = src;
  const base = dirname(abs);
  const known = opts.knownProviders ?? providerTypes();

  const models = new Map<string, ModelConfig>();
  const entries = { ...(data.litellm ? importLiteLlm(resolve(base, data.litellm.config), data.litellm) : {}), ...data.models };
  for (const [key, m] of Object.entries(entries)) {
    const path = ['models', key];
    if (!known.includes(m.provider)) {
      throw new ConfigError(at([...path, 'provider']), `unknown provider "${m.provider}" for model "${key}"`, `known providers: ${known.join(', ')}`);
    }
    if (m.provider === 'recorded' && !m.path) {
      throw new ConfigError(at(path), `model "${key}" uses provider "recorded" but has no path`, 'add path: recorded/<file>.jsonl (relative to the config file)');
    }
    if (m.provider !== 'recorded' && !m.model) {
      throw new ConfigError(at(path), `model "${key}" has no model id`, `add model: <the provider's model id, e.g. gpt-4o>`);
    }
    models.set(key, {
      key,
      provider: m.provider,
      model: m.model ?? key,
      ...(m.baseURL !== undefined ? { baseURL: m.baseURL } : {}),
      ...(m.apiVersion !== undefined ? { apiVersion: m.apiVersion } : {}),
      ...(m.apiKeyEnv !== undefined ? { apiKeyEnv: m.apiKeyEnv } : {}),
      params: m.params ?? {},
      ...(m.price !== undefined ? { price: resolvePrice(m.price, key, (sub) => at([...path, 'price', ...sub])) } : {}),
      concurrency: m.concurrency ?? 8,
      timeoutMs: m.timeoutMs ?? 60_000,
      maxRetries: m.maxRetries ?? 4,
      ...(m.rpm !== undefined ? { rpm: m.rpm } : {}),
      ...(m.tpm !== undefined ? { tpm: m.tpm } : {}),
      ...(m.adaptiveConcurrency !== undefined ? { adaptiveConcurrency: m.adaptiveConcurrency } : {}),
      ...(m.path !== undefined ? { path: resolve(base, m.path) } : {}),
    });
  }
  if (models.size === 0) throw new ConfigError(at(['models']), 'no models defined', 'add at least one model under models:');
  if (data.judge && !models.has(data.judge.model)) {
    throw new ConfigError(at(['judge', 'model']), `judge model "${data.judge.model}" is not defined`, knownKeysHint(models));
  }
  return {
    file: abs,
    content: src.text,
    models,
    ...(data.judge ? { judge: { model: data.judge.model } } : {}),
    store: data.store ? resolve(base, data.store) : resolve(opts.cwd, '.evalroute/evalroute.db'),
    ...(data.routing ? { routing: resolve(base, data.routing) } : {}),
    ...(data.baseline !== undefined ? { baseline: data.baseline } : {}),
    ...(data.gate !== undefined ? { gate: stripUndefined(data.gate) } : {}),
    ...(data.gateway !== undefined
      ? { gateway: stripUndefined({ ...data.gateway, config: data.gateway.config === undefined ? undefined : resolve(base, data.gateway.config) }) }
      : {}),
  };
}

/**
 * Reads a LiteLLM proxy config as it is and turns its model_list into config model entries, validated
 * like hand-written ones. Errors name the LiteLLM file and the entry's line.
 */
function importLiteLlm(file: string, opts: { proxy?: string | undefined; apiKeyEnv?: string | undefined }): Record<string, ModelEntry> {
  const src = readYaml(file, liteLlmConfigSchema, { what: 'LiteLLM config', hint: 'fix litellm.config in evalroute.config.yaml' });
  try {
    const imported = importLiteLlmModels(src.data, {
      ...(opts.proxy !== undefined ? { proxy: opts.proxy } : {}),
      ...(opts.apiKeyEnv !== undefined ? { apiKeyEnv: opts.apiKeyEnv } : {}),
    });
    return Object.fromEntries([...imported].map(([key, m]) => [key, modelSchema.parse(m)]));
  } catch (err) {
    if (err instanceof LiteLlmImportError) {
      throw new ConfigError(src.at(['model_list', err.index, ...err.field.split('.')]), err.message, err.hint);
    }
    throw err;
  }
}

type ModelEntry = z.infer<typeof modelSchema>;

/** The schema rejects `apiKey` as an unknown key anyway; this check runs first to say why. */
function rejectApiKeys(value: Record<string, unknown>, at: Locate): void {
  const models = value.models;
  const scopes: [unknown, PathSegment[]][] = [[value, []]];
  if (models && typeof models === 'object') for (const [k, m] of Object.entries(models)) scopes.push([m, ['models', k]]);
  for (const [obj, path] of scopes) {
    if (!obj || typeof obj !== 'object') continue;
    const key = Object.keys(obj).find((k) => API_KEY_FIELD.test(k));
    if (key) {
      throw new ConfigError(
        at([...path, key]),
        'API keys must never be written in config files',
        `remove "${key}", put the key in an environment variable and name it with apiKeyEnv: MY_API_KEY (then rotate the key if this file was shared)`,
      );
    }
  }
}

/** Loads a routing file; a relative `file` resolves against the config file's folder, like the config's `routing:` key. */
export function loadRouting(file: string, config: EvalConfig): Routing {
  const abs = resolve(dirname(config.file), file);
  if (existsSync(abs) && isPortkeyConfig(abs, readFileSync(abs, 'utf8'))) return loadPortkeyRouting(abs, config);
  const src = readYaml(abs, routingSchema, { what: 'routing file', hint: 'pass --routing FILE or set routing: in the config' });
  const { data, at } = src;

  if (!config.models.has(data.baseline)) {
    throw new ConfigError(at(['baseline']), `baseline model "${data.baseline}" is not defined in ${config.file}`, knownKeysHint(config.models));
  }
  const tiers = new Map<string, TierConfig>();
  for (const [name, t] of Object.entries(data.tiers)) {
    if (!config.models.has(t.model)) {
      throw new ConfigError(at(['tiers', name, 'model']), `tier "${name}" uses model "${t.model}", which is not defined in ${config.file}`, knownKeysHint(config.models));
    }
    tiers.set(name, { name, model: t.model, gate: { ...stripUndefined(data.gate ?? {}), ...stripUndefined(t.gate ?? {}) } });
  }
  if (tiers.size === 0) throw new ConfigError(at(['tiers']), 'no tiers defined', 'define at least one tier, e.g. frontier: { model: <baseline key> }');

  const rules: RoutingRule[] = [];
  const names = new Map<string, number>();
  data.rules.forEach((r, i) => {
    const name = r.name ?? `rule-${i + 1}`;
    const path = ['rules', i];
    const seen = names.get(name);
    if (seen !== undefined) {
      throw new ConfigError(at([...path, 'name']), `duplicate rule name "${name}" (also rules[${seen}])`, 'give each rule a unique name');
    }
    names.set(name, i);
    if (!tiers.has(r.tier)) {
      throw new ConfigError(at([...path, 'tier']), `rule "${name}" sends cases to tier "${r.tier}", which is not defined under tiers:`, `defined tiers: ${[...tiers.keys()].join(', ')}`);
    }
    const last = i === data.rules.length - 1;
    if (!r.when && !last) {
      throw new ConfigError(at(path), `rule "${name}" has no when: but is not the last rule, so the rules after it can never match`, 'move the default rule (no when:) to the end');
    }
    if (r.when && last) {
      throw new ConfigError(at(path), `the last rule ("${name}") has a when:, so some cases may match no rule`, 'end the rules with a default rule without when:, e.g. - { tier: frontier }');
    }
    const rule: RoutingRule = { name, tier: r.tier };
    if (r.when) rule.when = normaliseCondition(r.when, [...path, 'when'], at);
    rules.push(rule);
  });

  const budgets: Budget[] = (data.budgets ?? []).map((b, i) => {
    if (b.frontierTokensPerMonth === undefined && b.usdPerMonth === undefined) {
      throw new ConfigError(at(['budgets', i]), `budget "${b.useCase}" has no limit`, 'give frontierTokensPerMonth or usdPerMonth');
    }
    return { ...stripUndefined(b), alertAt: b.alertAt ?? 0.7 };
  });

  return {
    file: abs,
    content: src.text,
    hash: createHash('sha256').update(src.raw).digest('hex'),
    baseline: data.baseline,
    tiers,
    rules,
    budgets,
  };
}

type ConditionInput = NonNullable<RoutingFile['rules'][number]['when']>;

function normaliseCondition(w: ConditionInput, path: PathSegment[], at: Locate): RuleCondition {
  if (Object.keys(w).length === 0) {
    throw new ConfigError(at(path), 'empty when: matches every case', 'add a condition, or drop when: to make this the default rule');
  }
  const c: RuleCondition = {};
  if (w.task !== undefined) c.task = typeof w.task === 'string' ? [w.task] : w.task;
  if (w.tags !== undefined) c.tags = typeof w.tags === 'string' ? [w.tags] : w.tags;
  if (w.metadata !== undefined) c.metadata = w.metadata;
  if (w.match !== undefined) {
    try {
      regexFromSource(w.match);
    } catch (e) {
      throw new ConfigError(at([...path, 'match']), `invalid regular expression: ${(e as Error).message}`, 'use JavaScript regex syntax; only a leading (?i) inline flag is supported');
    }
    c.match = w.match;
  }
  for (const k of ['maxInputChars', 'minInputChars', 'maxInputTokens', 'minInputTokens'] as const) {
    if (w[k] !== undefined) c[k] = w[k];
  }
  for (const k of ['hasImage', 'hasPdf'] as const) {
    if (w[k] !== undefined) c[k] = w[k];
  }
  for (const [min, max] of [['minInputChars', 'maxInputChars'], ['minInputTokens', 'maxInputTokens']] as const) {
    const lo = c[min];
    const hi = c[max];
    if (lo !== undefined && hi !== undefined && lo > hi) {
      throw new ConfigError(at([...path, min]), `${min} (${lo}) is greater than ${max} (${hi}), so the rule can never match`);
    }
  }
  return c;
}

/** Same rule as routing/match.ts: a leading `(?i)` is the only inline flag, meaning case-insensitive. */
function regexFromSource(src: string): RegExp {
  return src.startsWith('(?i)') ? new RegExp(src.slice(4), 'i') : new RegExp(src);
}

function knownKeysHint(models: Map<string, unknown>): string {
  return `models defined: ${[...models.keys()].join(', ')}`;
}

function stripUndefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
