import { byCodeUnits } from './compare.js';

/**
 * JSON with object keys sorted at every depth (by code unit, the same on every machine), so key order
 * in YAML or JSON never changes an identity. The request hash, provider identities and run fingerprints
 * are all built on it and stored: its output for a given value must never change.
 *
 * `replace` maps each value first (after its `toJSON`), e.g. bytes to their digest; what it returns is
 * serialised (and sorted) in the value's place.
 */
export function canonicalJson(value: unknown, replace?: (value: unknown) => unknown): string {
  return JSON.stringify(value, (_key, raw: unknown) => {
    const v = replace ? replace(raw) : raw;
    return v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => byCodeUnits(a, b)))
      : v;
  });
}
