/**
 * A Portkey gateway config (JSON) read as a routing file: every leaf target becomes a tier served by
 * the configured model its `override_params.model` (inherited down the tree, as in the gateway) or
 * its name points to; the baseline and the tiers' quality bar come from evalroute.config.yaml.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { registerSecret } from '../core/redact.js';
import type { EvalConfig, PortkeyMode, PortkeyTarget, Routing, TierConfig } from '../core/types.js';
import { checkPortkeyPattern, PORTKEY_OPERATORS } from '../routing/portkey.js';
import { readYaml } from './source.js';
import type { Locate, PathSegment, TextReader } from './source.js';

interface PortkeyNodeInput {
  name?: string | undefined;
  weight?: number | undefined;
  strategy?: { mode: PortkeyMode; conditions?: { query: Record<string, unknown>; then: string }[] | undefined; default?: string | undefined } | undefined;
  targets?: PortkeyNodeInput[] | undefined;
  override_params?: { model?: string | undefined } | undefined;
}

// Loose: a gateway config carries many keys evalroute has no use for (provider, retry, cache, hooks…).
const nodeSchema: z.ZodType<PortkeyNodeInput> = z.lazy(() =>
  z.looseObject({
    name: z.string().min(1).optional(),
    weight: z.number().nonnegative().optional(),
    strategy: z
      .looseObject({
        mode: z.enum(['conditional', 'fallback', 'loadbalance', 'single']),
        conditions: z.array(z.looseObject({ query: z.record(z.string(), z.unknown()), then: z.string() })).optional(),
        default: z.string().optional(),
      })
      .optional(),
    targets: z.array(nodeSchema).optional(),
    override_params: z.looseObject({ model: z.string().min(1).optional() }).optional(),
  }),
);

/** Keys whose values are credentials: never stored with a run, never shown in a report. */
const SECRET_KEY = /(api_key|secret|token|password|service_account)/i;

/** Whether a routing file is a Portkey config rather than evalroute's routing.yaml: JSON with targets or a strategy. */
export function isPortkeyConfig(file: string, text: string): boolean {
  if (!/\.json$/i.test(file) && !text.trimStart().startsWith('{')) return false;
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && ('targets' in value || 'strategy' in value);
  } catch {
    return /\.json$/i.test(file);
  }
}

/** Loads a Portkey config as a Routing; `abs` is its absolute path, read by `read` (default: from disk). */
export function loadPortkeyRouting(abs: string, config: EvalConfig, read?: TextReader): Routing {
  const src = readYaml(abs, nodeSchema, { what: 'Portkey config', hint: 'pass --routing FILE or set routing: in the config', ...(read ? { read } : {}) });
  const { data, at } = src;
  if (!config.baseline) {
    throw new ConfigError(
      { file: config.file, path: 'baseline' },
      `${abs} is a Portkey gateway config, which names no baseline model`,
      'add baseline: <model key> (the frontier model every target is compared with) to evalroute.config.yaml',
    );
  }
  if (!config.models.has(config.baseline)) {
    throw new ConfigError({ file: config.file, path: 'baseline' }, `baseline model "${config.baseline}" is not defined`, `models defined: ${[...config.models.keys()].join(', ')}`);
  }
  if (!data.targets?.length) {
    throw new ConfigError(at([]), 'the Portkey config has no targets, so there is nothing to route', 'add "strategy" and "targets" (see docs/gateways.md)');
  }
  const leaves: { node: PortkeyTarget; model: string; at: PathSegment[] }[] = [];
  const root = buildNode(data, 'config', [], undefined, at, config, leaves);

  // Tiers are named after their targets; a name used twice falls back to the target's path.
  const counts = new Map<string, number>();
  for (const l of leaves) if (l.node.name) counts.set(l.node.name, (counts.get(l.node.name) ?? 0) + 1);
  const tiers = new Map<string, TierConfig>();
  for (const l of leaves) {
    const name = l.node.name && counts.get(l.node.name) === 1 ? l.node.name : l.node.path.replace(/^config\./, '');
    l.node.tier = name;
    tiers.set(name, { name, model: l.model, gate: { ...config.gate } });
  }
  return {
    file: abs,
    content: redactConfig(src.text),
    hash: createHash('sha256').update(src.raw).digest('hex'),
    baseline: config.baseline,
    tiers,
    rules: [],
    budgets: [],
    portkey: root,
  };
}

function buildNode(
  input: PortkeyNodeInput,
  path: string,
  segments: PathSegment[],
  inheritedModel: string | undefined,
  at: Locate,
  config: EvalConfig,
  leaves: { node: PortkeyTarget; model: string; at: PathSegment[] }[],
): PortkeyTarget {
  const node: PortkeyTarget = { path, weight: input.weight ?? 1 };
  if (input.name !== undefined) node.name = input.name;
  // The gateway merges override_params down the tree, the child's keys winning.
  const model = input.override_params?.model ?? inheritedModel;
  const children = input.targets ?? [];
  if (children.length === 0) {
    const key = modelKeyFor(model ?? input.name, config, at(segments), path);
    leaves.push({ node, model: key, at: segments });
    return node;
  }
  if (!input.strategy) {
    throw new ConfigError(at(segments), `${path} has targets but no strategy, so the gateway never uses them`, 'add "strategy": { "mode": "conditional" | "fallback" | "loadbalance" }');
  }
  node.mode = input.strategy.mode;
  node.targets = children.map((child, i) => buildNode(child, `${path}.targets[${i}]`, [...segments, 'targets', i], model, at, config, leaves));
  if (node.mode === 'conditional') {
    const conditions = input.strategy.conditions ?? [];
    const names = new Set(node.targets.flatMap((t) => (t.name ? [t.name] : [])));
    const here = [...segments, 'strategy'];
    // The gateway fails every request without a conditions list, and every one with an empty list and no default.
    if (input.strategy.conditions === undefined || (conditions.length === 0 && input.strategy.default === undefined)) {
      throw new ConfigError(at(here), `${path} is conditional but has no conditions${conditions.length === 0 && input.strategy.conditions ? ' and no default' : ''}, so the gateway rejects every request`, 'add "conditions": [{ "query": {…}, "then": "<target name>" }]');
    }
    conditions.forEach((cond, i) => {
      checkQuery(cond.query, at, [...here, 'conditions', i, 'query']);
      if (!names.has(cond.then)) {
        throw new ConfigError(at([...here, 'conditions', i, 'then']), `no target of ${path} is named "${cond.then}"`, `target names: ${[...names].join(', ') || '(none: give targets a "name")'}`);
      }
    });
    if (input.strategy.default !== undefined && !names.has(input.strategy.default)) {
      throw new ConfigError(at([...here, 'default']), `no target of ${path} is named "${input.strategy.default}"`, `target names: ${[...names].join(', ')}`);
    }
    node.conditions = conditions.map((c) => ({ query: c.query, then: c.then }));
    if (input.strategy.default !== undefined) node.default = input.strategy.default;
  }
  if (node.mode === 'loadbalance' && !node.targets.some((t) => t.weight > 0)) {
    throw new ConfigError(at(segments), `every target of ${path} has weight 0, so the gateway cannot pick one`, 'give at least one target a positive weight');
  }
  return node;
}

/** Operators are checked up front: the gateway would fail only the requests that reach a bad one. */
function checkQuery(query: Record<string, unknown>, at: Locate, path: PathSegment[]): void {
  for (const [key, want] of Object.entries(query)) {
    if ((key === '$or' || key === '$and') && Array.isArray(want)) {
      want.forEach((q, i) => {
        if (typeof q !== 'object' || q === null || Array.isArray(q)) throw new ConfigError(at([...path, key, i]), `each ${key} entry must be a query object`);
        checkQuery(q as Record<string, unknown>, at, [...path, key, i]);
      });
      continue;
    }
    if (key.startsWith('$')) {
      throw new ConfigError(at([...path, key]), `"${key}" cannot start a query: the gateway reads it as a field name`, 'use "$and"/"$or" with a list, or a field such as "metadata.plan"');
    }
    if (!/^(metadata|params|url)\.[^.]+$/.test(key)) {
      throw new ConfigError(
        at([...path, key]),
        `query field "${key}" is not metadata.<key> or params.<key>; the gateway reads exactly two levels, so it would never see it`,
        'name a request metadata key (metadata.plan) or request parameter (params.max_tokens)',
      );
    }
    if (Array.isArray(want)) {
      throw new ConfigError(at([...path, key]), `"${key}" is given a list, which the gateway rejects`, 'use { "$in": [ … ] }');
    }
    if (typeof want !== 'object' || want === null) continue;
    for (const [op, operand] of Object.entries(want)) {
      if (!(PORTKEY_OPERATORS as readonly string[]).includes(op) || op === '$and' || op === '$or') {
        throw new ConfigError(at([...path, key, op]), `unsupported operator "${op}"`, 'the gateway knows $eq $ne $gt $gte $lt $lte $in $nin $regex (and $and/$or over queries)');
      }
      if ((op === '$in' || op === '$nin') && !Array.isArray(operand)) {
        throw new ConfigError(at([...path, key, op]), `${op} needs a list; the gateway treats anything else as never matching`);
      }
      if (op === '$regex') {
        try {
          checkPortkeyPattern(String(operand));
        } catch (e) {
          throw new ConfigError(
            at([...path, key, op]),
            `evalroute cannot evaluate this $regex in linear time: ${(e as Error).message}`,
            'rewrite it without lookaround or backreferences',
          );
        }
      }
    }
  }
}

/**
 * The configured model a target calls: a config key equal to the name, else the one model whose
 * provider model id equals it.
 */
function modelKeyFor(name: string | undefined, config: EvalConfig, where: ReturnType<Locate>, path: string): string {
  const known = `models defined: ${[...config.models].map(([k, m]) => `${k} (${m.model})`).join(', ')}`;
  if (name === undefined) {
    throw new ConfigError(where, `target ${path} has neither override_params.model nor a name, so evalroute cannot tell which model serves it`, 'add "override_params": { "model": "<model id>" }');
  }
  if (config.models.has(name)) return name;
  const byId = [...config.models].filter(([, m]) => m.model === name).map(([k]) => k);
  if (byId.length === 1) return byId[0]!;
  if (byId.length > 1) {
    throw new ConfigError(where, `target ${path} calls model "${name}", which several configured models use (${byId.join(', ')})`, 'give the target override_params.model equal to one model key');
  }
  throw new ConfigError(where, `target ${path} calls model "${name}", which is not configured in ${config.file}`, known);
}

/**
 * The config as stored with a run: credentials replaced, everything else as written. The credentials
 * are also registered with `redact`, so an error echoing one (a gateway's, a provider's) never shows it.
 */
function redactConfig(text: string): string {
  try {
    const value = JSON.parse(text) as unknown;
    const hide = (k: string, v: unknown): unknown => {
      if (!SECRET_KEY.test(k) || v === null || v === '') return v;
      if (typeof v === 'string') registerSecret(v);
      return '[REDACTED]';
    };
    return `${JSON.stringify(value, hide, 2)}\n`;
  } catch {
    return text;
  }
}
