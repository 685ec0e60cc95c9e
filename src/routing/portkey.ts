/**
 * Offline evaluation of a Portkey gateway config: which target the gateway would send a request to.
 * The semantics are the gateway's own (@portkey-ai/gateway 1.15, its ConditionalRouter and
 * tryTargetsRecursively), quirks included, because the point is that evalroute's verdict is about the
 * routing the gateway actually runs; test/portkey-gateway.test.ts checks it against the real gateway.
 *
 * - conditional: conditions in order, the first whose query holds wins, else `default`;
 * - fallback: the first target (the gateway moves on only when a call fails);
 * - loadbalance: a weighted pick, seeded by the case id so a suite always splits the same way;
 * - single: the first target.
 */
import { createRequire } from 'node:module';
import type * as Re2js from 're2js';
import { ConfigError } from '../core/errors.js';
import { pickByWeight } from '../core/seeded.js';
import type { Case, PortkeyTarget } from '../core/types.js';

// Loaded on first use (~50 ms): most configs have no $regex, and most commands load no Portkey config.
let re2js: typeof Re2js | undefined;
const RE2 = () => (re2js ??= createRequire(import.meta.url)('re2js') as typeof Re2js).RE2JS;

/** The operators Portkey's conditional router knows; any other throws in the gateway. */
export const PORTKEY_OPERATORS = ['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$regex', '$and', '$or'] as const;

/** What the gateway's conditions see: the `x-portkey-metadata` header, the request body, the path. */
export interface PortkeyContext {
  metadata: Record<string, unknown>;
  params: Record<string, unknown>;
  url: { pathname: string };
}

export function portkeyContext(c: Case, body: Record<string, unknown>): PortkeyContext {
  return { metadata: c.metadata ?? {}, params: body, url: { pathname: '/v1/chat/completions' } };
}

/**
 * Whether `value` matches Portkey's `$regex` pattern. The gateway uses `new RegExp(pattern).test(value)`;
 * evalroute evaluates the same pattern with RE2 (linear time), so a pathological pattern in a config
 * under review cannot hang a CI job. Patterns RE2 cannot run (lookaround, backreferences) are refused
 * when the config loads (see `checkPortkeyPattern`).
 */
export function portkeyRegexTest(pattern: unknown, value: unknown): boolean {
  try {
    return RE2().compile(String(pattern)).matcher(String(value)).find();
  } catch {
    // The gateway answers an invalid pattern with "no match", not an error.
    return false;
  }
}

/** Throws a readable message when RE2 cannot run a pattern JavaScript accepts. */
export function checkPortkeyPattern(pattern: string): void {
  try {
    new RegExp(pattern);
  } catch {
    return; // Invalid for the gateway too: it never matches there, nor here.
  }
  RE2().compile(pattern);
}

/** The value a query key names: the gateway reads two levels (`metadata.plan`), never deeper. */
function contextValue(ctx: PortkeyContext, key: string): unknown {
  const [scope, field] = key.split('.');
  const holder = (ctx as unknown as Record<string, unknown>)[scope!];
  if (holder === undefined || holder === null) return undefined;
  return (holder as Record<string, unknown>)[String(field)];
}

const toNumber = (v: unknown): number => Number.parseFloat(String(v));

/** Portkey's evaluateOperator: operators in key order; `$regex` decides alone, as in the gateway. */
function operatorsHold(ops: Record<string, unknown>, have: unknown): boolean {
  for (const [op, want] of Object.entries(ops)) {
    switch (op) {
      case '$eq':
        if (have !== want) return false;
        break;
      case '$ne':
        if (have === want) return false;
        break;
      case '$gt':
        if (!(toNumber(have) > toNumber(want))) return false;
        break;
      case '$gte':
        if (!(toNumber(have) >= toNumber(want))) return false;
        break;
      case '$lt':
        if (!(toNumber(have) < toNumber(want))) return false;
        break;
      case '$lte':
        if (!(toNumber(have) <= toNumber(want))) return false;
        break;
      case '$in':
        if (!Array.isArray(want) || !want.includes(have)) return false;
        break;
      case '$nin':
        if (!Array.isArray(want) || want.includes(have)) return false;
        break;
      case '$regex':
        return portkeyRegexTest(want, have);
      default:
        throw new Error(`Unsupported operator used in the query router: ${op}`);
    }
  }
  return true;
}

/** Portkey's evaluateQuery: keys in order; `$and`/`$or` decide the whole object when reached. */
export function portkeyQueryHolds(query: Record<string, unknown>, ctx: PortkeyContext): boolean {
  for (const [key, want] of Object.entries(query)) {
    if (key === '$or' && Array.isArray(want)) return want.some((q) => portkeyQueryHolds(q as Record<string, unknown>, ctx));
    if (key === '$and' && Array.isArray(want)) return want.every((q) => portkeyQueryHolds(q as Record<string, unknown>, ctx));
    const have = contextValue(ctx, key);
    if (typeof want === 'object' && want !== null) {
      if (!operatorsHold(want as Record<string, unknown>, have)) return false;
    } else if (have !== want) return false;
  }
  return true;
}

/** The leaf target a request reaches, as the gateway would pick it when every call succeeds. */
export function resolvePortkeyTarget(root: PortkeyTarget, c: Case, ctx: PortkeyContext, file: string): PortkeyTarget {
  let node = root;
  for (;;) {
    const targets = node.targets;
    if (!targets || targets.length === 0 || node.mode === undefined) return node;
    node = childOf(node, targets, c, ctx, file);
  }
}

function childOf(node: PortkeyTarget, targets: PortkeyTarget[], c: Case, ctx: PortkeyContext, file: string): PortkeyTarget {
  switch (node.mode) {
    case 'conditional': {
      const matched = node.conditions?.find((cond) => portkeyQueryHolds(cond.query, ctx));
      const name = matched?.then ?? node.default;
      const target = name === undefined ? undefined : targets.find((t) => t.name === name);
      if (!target) {
        throw new ConfigError(
          { file, path: node.path },
          `case "${c.id}" (${c.origin.file}:${c.origin.line}) matches no condition of ${node.path} and it has no default; the gateway answers such a request with 400`,
          'add "default": "<target name>" to the strategy',
        );
      }
      return target;
    }
    case 'loadbalance': {
      // The gateway's own walk (a uniform draw over the total weight, targets in order), seeded by the
      // case and the node instead of Math.random().
      return pickByWeight(targets, `${c.id}\u0000${node.path}`);
    }
    default:
      return targets[0]!;
  }
}

/** Every leaf under a node, in config order. */
export function portkeyLeaves(node: PortkeyTarget): PortkeyTarget[] {
  return node.targets && node.mode !== undefined ? node.targets.flatMap(portkeyLeaves) : [node];
}
