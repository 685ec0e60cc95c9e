import { zForConfidence } from './normal.js';

/**
 * Wilson score interval for a binomial proportion (Wilson 1927; Newcombe 1998 method 3). Unlike the
 * Wald interval it never leaves [0, 1] and keeps a sensible width at 0/n and n/n, which matters for
 * tiers that pass every case.
 */
export function wilsonInterval(successes: number, n: number, confidence = 0.95): [number, number] {
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(successes) || successes < 0 || successes > n) {
    throw new RangeError(`wilsonInterval: need integers 0 ≤ successes ≤ n, got ${successes}/${n}`);
  }
  return wilsonBounds(successes, n, confidence);
}

/**
 * The same interval for real-valued counts: effective numbers of successes and trials after a design
 * effect (repeated samples of one case are not independent; see gate/decide.ts). Callers validate.
 */
export function wilsonBounds(successes: number, n: number, confidence = 0.95): [number, number] {
  if (n === 0) return [0, 1];
  const z = zForConfidence(confidence);
  const z2 = z * z;
  const p = successes / n;
  const centre = p + z2 / (2 * n);
  const half = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  const denom = 1 + z2 / n;
  // Exact endpoints at 0/n and n/n: the formula gives them only up to rounding.
  const lo = successes === 0 ? 0 : (centre - half) / denom;
  const hi = successes === n ? 1 : (centre + half) / denom;
  return [Math.max(0, lo), Math.min(1, hi)];
}
