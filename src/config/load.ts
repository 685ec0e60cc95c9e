/**
 * Loading evalroute.config.yaml and routing.yaml into the normalised core shapes, with the cross-checks
 * a schema alone cannot do (known providers, model keys, tiers, the default rule).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, formatLocation, UsageError } from '../core/errors.js';
import type { SourceLocation } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { compileSafePattern, UnsafePatternError } from '../core/safe-regex.js';
import type { Budget, EvalConfig, ModelConfig, Price, Routing, RoutingRule, RuleCondition, TierConfig } from '../core/types.js';
import { providerTypes } from '../providers/registry.js';
import { resolvePrice } from './prices.js';
import type { z } from 'zod';
import { importLiteLlmModels, liteLlmConfigSchema, matchWildcard, resolveWildcard } from './litellm.js';
import type { LiteLlmImport, LiteLlmImportResult, RawModelEntry } from './litellm.js';
import { isPortkeyConfig, loadPortkeyRouting } from './portkey.js';
import { configSchema, modelSchema, routingSchema } from './schemas.js';
import type { ConfigFile, RoutingFile } from './schemas.js';
import { type ProjectRoots, vetNamedFile } from './files.js';
import { parseWith, problemsError, readText, readYaml } from './source.js';
import type { TextReader } from './source.js';
import { liteLlmRouting } from './litellm-routing.js';
import { rejectKeyInApiKeyEnv, rejectSecretParams } from './secrets.js';
import type { Locate, PathSegment, Problem } from './source.js';

export { loadSuite } from './suite.js';
export type { LoadSuiteOptions } from './suite.js';

export const CONFIG_FILE_NAME = 'evalroute.config.yaml';

export interface LoadConfigOptions {
  /** Working folder: relative `file` and the default store path resolve against it. */
  cwd: string;
  /** Registered provider types. Default: the provider registry's (openai, anthropic, recorded and any plugin). */
  knownProviders?: readonly string[];
  /**
   * Folders the files the config names (routing file, LiteLLM and gateway configs, recorded outputs) may
   * come from, besides the config's own folder. Not given: no confinement (library callers that trust their files).
   */
  roots?: ProjectRoots;
  /** Where the config and the files it imports are read from; default: disk (see `loadStoredRouting`). */
  read?: TextReader;
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

/**
 * The files a config names are vetted before anything reads them — the recorded provider reads its file
 * only at its first call, long after a FIFO or a path out of the project should have stopped the run.
 */
function vetConfigFiles(data: ConfigFile, at: Locate, base: string, roots: ProjectRoots | undefined): void {
  const vet = (ref: string | undefined, what: string, path: PathSegment[]) => {
    if (ref !== undefined) vetNamedFile(resolve(base, ref), what, at(path), { roots });
  };
  vet(data.routing, 'routing file', ['routing']);
  vet(data.litellm?.config, 'LiteLLM config', ['litellm', 'config']);
  vet(data.gateway?.config, 'gateway config', ['gateway', 'config']);
  for (const [key, m] of Object.entries(data.models ?? {})) vet(m.path, `recorded outputs of model "${key}"`, ['models', key, 'path']);
}

/** Loads evalroute.config.yaml; a relative `file` resolves against `opts.cwd`. */
export function loadConfig(file: string, opts: LoadConfigOptions): EvalConfig {
  const abs = resolve(opts.cwd, file);
  const src = readYaml(abs, configSchema, {
    what: 'config file',
    hint: `pass --config FILE or create ${CONFIG_FILE_NAME}`,
    precheck: rejectApiKeys,
    ...(opts.read ? { read: opts.read } : {}),
  });
  const { data, at } = src;
  const base = dirname(abs);
  const known = opts.knownProviders ?? providerTypes();
  vetConfigFiles(data, at, base, opts.roots?.with(base));

  const gateway = data.litellm ? importLiteLlm(resolve(base, data.litellm.config), data.litellm, opts.read) : undefined;
  const unavailable = new Map([...(gateway?.unavailable ?? [])].map(([k, u]) => [k, u.reason]));
  const entries = new Map<string, { entry: Partial<ModelEntry>; at: Locate; path: PathSegment[] }>();
  for (const [key, entry] of gateway?.models ?? []) entries.set(key, { entry, at: gateway!.at, path: gateway!.pathOf(key) });
  for (const [key, override] of Object.entries(data.models ?? {})) {
    const imported = entries.get(key)?.entry ?? gateway?.unavailable.get(key)?.base ?? gateway?.wildcard(key);
    // An entry naming an imported model overrides it key by key: `price:` alone keeps the gateway's provider.
    entries.set(key, { entry: imported ? mergeModelEntry(imported, override) : override, at, path: ['models', key] });
    unavailable.delete(key);
  }

  const models = new Map<string, ModelConfig>();
  for (const [key, { entry, at: where, path }] of entries) {
    models.set(key, normaliseModel(key, entry, path, where, base, known, unavailable.get(key)));
  }
  resolveMixtures(models, (key) => {
    const e = entries.get(key)!;
    return { at: e.at([...e.path, 'deployments']), own: { concurrency: e.entry.concurrency !== undefined, timeoutMs: e.entry.timeoutMs !== undefined, maxRetries: e.entry.maxRetries !== undefined } };
  });
  if (models.size === 0 && !gateway?.hasWildcards) {
    const skipped = [...unavailable].map(([k, why]) => `${k}: ${why}`);
    throw new ConfigError(
      at(gateway ? ['litellm', 'config'] : ['models']),
      gateway ? `no model evalroute can call: ${skipped.length ? skipped.join('; ') : 'the LiteLLM config lists none'}` : 'no models defined',
      gateway ? 'set litellm.proxy to call the models through the gateway, or add models under models:' : 'add at least one model under models:',
    );
  }
  if (data.judge && !models.has(data.judge.model) && !addGatewayModel(models, data.judge.model, gateway, base, known)) {
    throw new ConfigError(at(['judge', 'model']), `judge model "${data.judge.model}" is not defined`, knownKeysHint(models));
  }
  const litellm = data.litellm;
  return {
    file: abs,
    // Stored with every run (and the store is a CI artifact): no password in a URL, no key in a comment.
    content: redact(src.text),
    models,
    ...(data.judge ? { judge: { model: data.judge.model } } : {}),
    store: data.store ? resolve(base, data.store) : resolve(opts.cwd, '.evalroute/evalroute.db'),
    ...(data.routing ? { routing: resolve(base, data.routing) } : {}),
    ...(gateway
      ? {
          warnings: gateway.warnings,
          unavailable,
          resolveModel: (key: string) => (addGatewayModel(models, key, gateway, base, known) ? models.get(key) : undefined),
        }
      : {}),
    ...(litellm
      ? {
          litellm: {
            config: resolve(base, litellm.config),
            ...(litellm.proxy !== undefined ? { proxy: litellm.proxy } : {}),
            ...(litellm.apiKeyEnv !== undefined ? { apiKeyEnv: litellm.apiKeyEnv } : {}),
            ...(litellm.baseline !== undefined ? { baseline: litellm.baseline } : {}),
            ...(litellm.route !== undefined ? { route: litellm.route } : {}),
            ...(litellm.gate !== undefined ? { gate: stripUndefined(litellm.gate) } : {}),
          },
        }
      : {}),
    ...(data.baseline !== undefined ? { baseline: data.baseline } : {}),
    ...(data.gate !== undefined ? { gate: stripUndefined(data.gate) } : {}),
    ...(data.gateway !== undefined
      ? { gateway: stripUndefined({ ...data.gateway, config: data.gateway.config === undefined ? undefined : resolve(base, data.gateway.config) }) }
      : {}),
  };
}

/** Adds the model a LiteLLM wildcard serves under `key`, if one does; false if none. */
function addGatewayModel(models: Map<string, ModelConfig>, key: string, gateway: ImportedGateway | undefined, base: string, known: readonly string[]): boolean {
  const entry = gateway?.wildcard(key);
  if (!entry) return false;
  models.set(key, normaliseModel(key, entry, gateway!.pathOf(key), gateway!.at, base, known, undefined));
  return true;
}

/** One model entry, checked and with its defaults; `skipped` says why the gateway entry behind it was not imported. */
function normaliseModel(key: string, m: Partial<ModelEntry>, path: PathSegment[], at: Locate, base: string, known: readonly string[], skipped: string | undefined): ModelConfig {
  if (!m.provider) {
    throw new ConfigError(
      at(path),
      skipped ? `model "${key}" cannot be used: ${skipped}` : `model "${key}" has no provider`,
      skipped ? 'complete the entry under models: (provider, model, apiKeyEnv) or set litellm.proxy' : `add provider: ${known.join(' | ')}`,
    );
  }
  if (!known.includes(m.provider)) {
    throw new ConfigError(at([...path, 'provider']), `unknown provider "${m.provider}" for model "${key}"`, `known providers: ${known.join(', ')}`);
  }
  if (m.provider === 'recorded' && !m.path) {
    throw new ConfigError(at(path), `model "${key}" uses provider "recorded" but has no path`, 'add path: recorded/<file>.jsonl (relative to the config file)');
  }
  if (m.provider === 'mixture' && !m.deployments) {
    throw new ConfigError(at(path), `model "${key}" uses provider "mixture" but has no deployments`, 'add deployments: [{ model: <key>, weight: 1 }, …]');
  }
  if (m.provider !== 'recorded' && !m.model) {
    throw new ConfigError(at(path), `model "${key}" has no model id`, `add model: <the provider's model id, e.g. gpt-4o>`);
  }
  return {
    key,
    provider: m.provider,
    model: m.model ?? key,
    ...(m.baseURL !== undefined ? { baseURL: m.baseURL } : {}),
    ...(m.baseURLEnv !== undefined ? { baseURLEnv: m.baseURLEnv } : {}),
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
    ...(m.deployments ? { deployments: m.deployments.map((d) => ({ weight: d.weight ?? 1, model: { key: d.model } as ModelConfig })) } : {}),
  };
}

/**
 * Links each mixture to its deployments' models. Its price is the traffic-weighted mean of theirs (what a
 * token costs on average); without its own concurrency it may use all of theirs, and it is paced to the
 * sum of their rpm/tpm when every deployment has one.
 */
/** Which limits a mixture entry sets itself; the others come from its deployments. */
interface OwnLimits {
  concurrency: boolean;
  timeoutMs: boolean;
  maxRetries: boolean;
}
const INHERIT_ALL: OwnLimits = { concurrency: false, timeoutMs: false, maxRetries: false };

function resolveMixtures(models: Map<string, ModelConfig>, entryOf: (key: string) => { at: SourceLocation; own: OwnLimits }): void {
  for (const m of models.values()) {
    if (!m.deployments) continue;
    const { at, own } = entryOf(m.key);
    resolveMixture(m, models, at, own);
  }
}

function resolveMixture(m: ModelConfig, models: ReadonlyMap<string, ModelConfig>, where: SourceLocation, own: OwnLimits): void {
  const deployments = m.deployments!.map((d) => {
    const target = models.get(d.model.key);
    if (!target) throw new ConfigError(where, `mixture "${m.key}" names deployment "${d.model.key}", which is not defined`, knownKeysHint(models));
    if (target.deployments) throw new ConfigError(where, `mixture "${m.key}" names "${d.model.key}", itself a mixture`, 'list the deployments themselves');
    return { weight: d.weight, model: target };
  });
  m.deployments = deployments;
  const total = deployments.reduce((s, d) => s + d.weight, 0);
  const sum = (pick: (d: ModelConfig) => number | undefined) => {
    const figures = deployments.map((d) => pick(d.model));
    return figures.every((f) => f !== undefined) ? figures.reduce((s, f) => s + f, 0) : undefined;
  };
  if (!own.concurrency) m.concurrency = sum((d) => d.concurrency)!;
  // The engine times and retries the mixture's calls: any deployment may serve a case, so the most patient one's limits.
  if (!own.timeoutMs) m.timeoutMs = Math.max(...deployments.map((d) => d.model.timeoutMs));
  if (!own.maxRetries) m.maxRetries = Math.max(...deployments.map((d) => d.model.maxRetries));
  const rpm = m.rpm ?? sum((d) => d.rpm);
  const tpm = m.tpm ?? sum((d) => d.tpm);
  if (rpm !== undefined) m.rpm = rpm;
  if (tpm !== undefined) m.tpm = tpm;
  const prices = deployments.map((d) => d.model.price);
  if (!m.price && prices.every((p) => p !== undefined)) {
    const mean = (pick: (p: Price) => number) => deployments.reduce((s, d) => s + (pick(d.model.price!) * d.weight) / total, 0);
    m.price = {
      input: mean((p) => p.input),
      output: mean((p) => p.output),
      ...(prices.every((p) => p!.cachedInput !== undefined) ? { cachedInput: mean((p) => p.cachedInput!) } : {}),
    };
  }
}

/** `override` over `imported`, key by key; params merge, and a price that gives only some figures keeps the others. */
function mergeModelEntry(imported: Partial<ModelEntry>, override: Partial<ModelEntry>): Partial<ModelEntry> {
  const merged: Partial<ModelEntry> = { ...imported, ...override };
  if (imported.params || override.params) merged.params = { ...imported.params, ...override.params };
  if (imported.price && override.price) merged.price = { ...imported.price, ...override.price };
  return merged;
}

/** A LiteLLM config read for its models: entries validated like hand-written ones, located in the LiteLLM file. */
interface ImportedGateway {
  models: Map<string, Partial<ModelEntry>>;
  unavailable: LiteLlmImportResult['unavailable'];
  /** One line each, `file:line: model "x": …`. */
  warnings: string[];
  at: Locate;
  /** Where the entry behind a model key is in the LiteLLM file. */
  pathOf: (key: string) => PathSegment[];
  /** The entry a wildcard would serve under this key, if any. */
  wildcard: (key: string) => Partial<ModelEntry> | undefined;
  hasWildcards: boolean;
}

/** The config's settings for calling a LiteLLM config's models (`litellm.proxy`, `litellm.apiKeyEnv`). */
type LiteLlmSettings = { proxy?: string | undefined; apiKeyEnv?: string | undefined } | undefined;

/** A LiteLLM config read and its model_list converted under `settings`; its problems located at their lines. */
function readLiteLlm(file: string, how: { what: string; hint?: string; read: TextReader }, settings: LiteLlmSettings) {
  const src = readYaml(file, liteLlmConfigSchema, how);
  const options: LiteLlmImport = {
    ...(settings?.proxy !== undefined ? { proxy: settings.proxy } : {}),
    ...(settings?.apiKeyEnv !== undefined ? { apiKeyEnv: settings.apiKeyEnv } : {}),
  };
  const result = importLiteLlmModels(src.data, options);
  const problems: Problem[] = result.errors.map((e) => ({ loc: src.at(e.path), text: e.message, ...(e.hint ? { hint: e.hint } : {}) }));
  return { src, options, result, problems };
}

/**
 * Reads a LiteLLM proxy config as it is. Entries evalroute cannot call are skipped with a warning each;
 * problems that make the file unreadable are all reported at once, at their lines in the LiteLLM file.
 */
function importLiteLlm(file: string, settings: LiteLlmSettings, read: TextReader = readText): ImportedGateway {
  const { src, options, result, problems } = readLiteLlm(file, { what: 'LiteLLM config', hint: 'fix litellm.config in evalroute.config.yaml', read }, settings);
  const index = new Map<string, number>();
  for (const [name, deployments] of result.groups) {
    index.set(name, deployments[0]!.index);
    for (const d of deployments) index.set(d.key, d.index);
  }
  const pathOf = (key: string): PathSegment[] => {
    const i = index.get(key) ?? matchWildcard(result, key)?.wildcard.index;
    return i === undefined ? ['model_list'] : ['model_list', i];
  };
  const validate = (key: string, m: RawModelEntry): Partial<ModelEntry> | undefined => {
    try {
      return parseWith(modelSchema, m, () => src.at(pathOf(key)));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push({ loc: err.location, text: `model "${key}": ${err.problem}`, ...(err.hint ? { hint: err.hint } : {}) });
      return undefined;
    }
  };
  const models = new Map<string, Partial<ModelEntry>>();
  for (const [key, m] of result.models) {
    const entry = validate(key, m);
    if (entry) models.set(key, entry);
  }
  if (problems.length) throw problemsError(problems);
  return {
    models,
    unavailable: result.unavailable,
    warnings: result.warnings.map((w) => `${formatLocation(src.at(w.path))}: ${w.message}`),
    at: src.at,
    pathOf,
    hasWildcards: result.wildcards.length > 0,
    wildcard: (key) => {
      const found = resolveWildcard(result, key, options);
      return found && 'ok' in found ? validate(key, found.ok) : undefined;
    },
  };
}

type ModelEntry = z.infer<typeof modelSchema>;

/**
 * The schema rejects `apiKey` as an unknown key anyway; this check runs first to say why. It also
 * refuses a key pasted into apiKeyEnv or params, without echoing it.
 */
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
    const entry = obj as Record<string, unknown>;
    rejectKeyInApiKeyEnv(entry.apiKeyEnv, [...path, 'apiKeyEnv'], at);
    if (path.length) rejectSecretParams(entry.params, [...path, 'params'], at);
  }
  const litellm = value.litellm as Record<string, unknown> | undefined;
  if (litellm && typeof litellm === 'object') rejectKeyInApiKeyEnv(litellm.apiKeyEnv, ['litellm', 'apiKeyEnv'], at);
}

/**
 * Loads a routing file; a relative `file` resolves against the config file's folder, like the config's
 * `routing:` key. `opts.read` says where its text comes from (default: disk; see `loadStoredRouting`).
 */
export function loadRouting(file: string, config: EvalConfig, opts: { read?: TextReader } = {}): Routing {
  const abs = resolve(dirname(config.file), file);
  const hint = 'pass --routing FILE or set routing: in the config';
  const readFile = opts.read ?? readText;
  const routingText = readFile(abs, 'routing file', hint);
  // The text read to tell the format is the one its loader parses: the file is read once.
  const read: TextReader = (f, what, h) => (f === abs ? routingText : readFile(f, what, h));
  const { text } = routingText;
  if (isPortkeyConfig(abs, text)) return loadPortkeyRouting(abs, config, read);
  if (LITELLM_CONFIG.test(text)) return loadLiteLlmRouting(abs, config, read);
  const src = readYaml(abs, routingSchema, { what: 'routing file', hint, read });
  const { data, at } = src;

  requireModel(config, data.baseline, at(['baseline']), (key) => `baseline model "${key}" is`);
  const tiers = new Map<string, TierConfig>();
  for (const [name, t] of Object.entries(data.tiers)) {
    requireModel(config, t.model, at(['tiers', name, 'model']), (key) => `tier "${name}" uses model "${key}", which is`);
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

/** What a stored run keeps of the files it started from (store/ `runs`: config_content, routing_file, routing_content). */
export interface StoredRunFiles {
  configContent: string;
  routingFile: string;
  routingContent: string;
}

/**
 * The routing a stored run was started with, rebuilt by the loaders above from the config and routing
 * texts stored with it (redacted, which changes no tier, gate or budget): a verdict recomputed later (a
 * merge of shard stores) then holds every tier to the gate the run used, whether the routing file is a
 * routing.yaml or a gateway config whose tiers take their gate from the config (`gate:`, `litellm.gate`).
 * The stored texts stand in for their files; a file the config names besides them (a LiteLLM config
 * imported for its models, when it is not the routing file) is read from disk.
 */
export function loadStoredRouting(run: StoredRunFiles): Routing {
  const configFile = storedConfigFile(run);
  const stored = new Map([
    [configFile, run.configContent],
    [run.routingFile, run.routingContent],
  ]);
  const read: TextReader = (file, what, hint) => {
    const text = stored.get(file);
    return text === undefined ? readText(file, what, hint) : { raw: Buffer.from(text), text };
  };
  const config = loadConfig(configFile, { cwd: dirname(configFile), read });
  return loadRouting(run.routingFile, config, { read });
}

/**
 * Where the stored config stood, so the paths it names resolve as they did: the folder its `routing:`
 * key resolves to the run's routing file from, else (the run had `--routing`) the routing file's folder.
 */
function storedConfigFile(run: StoredRunFiles): string {
  let named: unknown;
  try {
    named = (parseYaml(run.configContent) as { routing?: unknown } | null)?.routing;
  } catch {
    // An unreadable config is reported by loadConfig, with its line.
  }
  if (typeof named === 'string' && !isAbsolute(named)) {
    let dir = run.routingFile;
    for (const _segment of normalize(named).split(sep)) dir = dirname(dir);
    if (resolve(dir, named) === run.routingFile) return join(dir, CONFIG_FILE_NAME);
  }
  return join(dirname(run.routingFile), CONFIG_FILE_NAME);
}

/** A model a routing file names: defined, or served by a gateway wildcard (then added), else an error saying why not. */
function requireModel(config: EvalConfig, key: string, where: SourceLocation, subject: (key: string) => string): void {
  if (config.models.has(key) || config.resolveModel?.(key)) return;
  const skipped = config.unavailable?.get(key);
  throw new ConfigError(
    where,
    skipped ? `${subject(key)} in the LiteLLM config but cannot be called: ${skipped}` : `${subject(key)} not defined in ${config.file}`,
    skipped ? 'set litellm.proxy to call it through the gateway, or complete it under models:' : knownKeysHint(config.models),
  );
}

/** A routing file that is a LiteLLM proxy config (it has a top-level model_list). */
const LITELLM_CONFIG = /^model_list\s*:/m;

/** A LiteLLM proxy config as the routing file: its deployments become models (when new) and its tags tiers. */
function loadLiteLlmRouting(file: string, config: EvalConfig, read: TextReader): Routing {
  const { src, result, problems } = readLiteLlm(file, { what: 'LiteLLM routing file', read }, config.litellm);
  if (problems.length) throw problemsError(problems);
  const known = providerTypes();
  return liteLlmRouting({
    src,
    result,
    config,
    addModel: (key, entry, index) => {
      const path = ['model_list', index];
      const model = normaliseModel(key, parseWith(modelSchema, entry, () => src.at(path)), path, src.at, dirname(file), known, undefined);
      if (model.deployments) resolveMixture(model, config.models, src.at(path), INHERIT_ALL);
      const existing = config.models.get(key);
      // The same key from another version of the file (a PR's base) may be another deployment: keep both.
      const free = existing && !sameModel(existing, model) ? `${key} (${basename(file)})` : key;
      config.models.set(free, { ...model, key: free });
      return free;
    },
    requireModel: (key, what) => requireModel(config, key, { file: config.file }, () => `${what} "${key}" is`),
  });
}

function sameModel(a: ModelConfig, b: ModelConfig): boolean {
  const shape = (m: ModelConfig) => JSON.stringify([m.provider, m.model, m.baseURL, m.baseURLEnv, m.apiKeyEnv, m.params, m.deployments?.map((d) => [d.model.key, d.weight])]);
  return shape(a) === shape(b);
}

type ConditionInput = NonNullable<RoutingFile['rules'][number]['when']>;

function normaliseCondition(w: ConditionInput, path: PathSegment[], at: Locate): RuleCondition {
  if (Object.keys(w).length === 0) {
    throw new ConfigError(at(path), 'empty when: matches every case', 'add a condition, or drop when: to make this the default rule');
  }
  const c: RuleCondition = {};
  if (w.task !== undefined) c.task = typeof w.task === 'string' ? [w.task] : w.task;
  if (w.tags !== undefined) c.tags = typeof w.tags === 'string' ? [w.tags] : w.tags;
  if (w.metadata !== undefined) {
    if (Object.keys(w.metadata).length === 0) {
      throw new ConfigError(at([...path, 'metadata']), 'empty metadata: matches every case', 'name at least one key, e.g. metadata: { lang: en }, or drop metadata:');
    }
    c.metadata = w.metadata;
  }
  if (w.match !== undefined) {
    try {
      compileSafePattern(w.match);
    } catch (e) {
      if (!(e instanceof UnsafePatternError)) throw e;
      throw new ConfigError(at([...path, 'match']), e.message, e.hint);
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

function knownKeysHint(models: ReadonlyMap<string, unknown>): string {
  return `models defined: ${[...models.keys()].join(', ')}`;
}

function stripUndefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
