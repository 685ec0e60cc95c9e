/**
 * Deterministic stand-ins for a random draw: a case's side of a split, or the target it reaches among
 * weighted ones, depends only on a seed string built from its id. Reruns then hit the cache and verdicts
 * are reproducible, while over a suite the cases still split in the expected proportions.
 */
import { createHash } from 'node:crypto';

/** A whole number in [0, 2³²) fixed by `seed`: the first 32 bits of its sha256. */
export function seededUint32(seed: string): number {
  return createHash('sha256').update(seed, 'utf8').digest().readUInt32BE(0);
}

/** A number in [0, 1) fixed by `seed`: `seededUint32` scaled. */
export function seededUnit(seed: string): number {
  return seededUint32(seed) / 2 ** 32;
}

/** The item whose band of cumulative weight (items in order) holds the seed's point in [0, total weight). */
export function pickByWeight<T extends { weight: number }>(items: readonly T[], seed: string): T {
  const point = seededUnit(seed) * items.reduce((sum, item) => sum + item.weight, 0);
  let upTo = 0;
  for (const item of items) {
    upTo += item.weight;
    if (point < upTo) return item;
  }
  return items.at(-1)!;
}
