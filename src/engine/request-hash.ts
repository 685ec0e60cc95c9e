import { createHash } from 'node:crypto';
import type { CompletionRequest, Provider } from '../core/types.js';

/** JSON with object keys sorted, so equal params always hash equally whatever their order in YAML. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** The response-cache key: same provider identity, messages, params and repeat index → same answer. */
export function requestHash(provider: Provider, req: CompletionRequest): string {
  return createHash('sha256')
    .update(provider.identity)
    .update('\0')
    .update(canonicalJson(req.messages))
    .update('\0')
    .update(canonicalJson(req.params))
    .update('\0')
    .update(String(req.repeat))
    .digest('hex');
}
