import { wilsonBounds } from './wilson.js';

/**
 * The paired 2×2 table of one tier, as the gate reads it:
 *
 *                     candidate pass   candidate fail
 *   baseline pass          a                b          (b = regressions)
 *   baseline fail          c                d          (c = improvements)
 *
 * delta = p_candidate − p_baseline = ((a + c) − (a + b)) / n = (c − b) / n. Positive delta means the
 * candidate does better than the baseline.
 */
export interface PairedCounts {
  a: number;
  b: number;
  c: number;
  d: number;
}

/** Tally the paired table from per-case outcomes (true = pass). */
export function pairedCounts(pairs: Iterable<{ baseline: boolean; candidate: boolean }>): PairedCounts {
  const t: PairedCounts = { a: 0, b: 0, c: 0, d: 0 };
  for (const p of pairs) {
    if (p.baseline) {
      if (p.candidate) t.a++;
      else t.b++;
    } else if (p.candidate) t.c++;
    else t.d++;
  }
  return t;
}

/**
 * Newcombe's hybrid score interval for a difference of paired proportions (Statistics in Medicine
 * 17:2635–2650, 1998, method 10): Wilson limits for each marginal proportion combined by "square and
 * add", with a correction for the correlation between the two margins. It keeps close to nominal
 * coverage at small n and, unlike Wald or the percentile bootstrap, does not collapse to a zero-width
 * interval when no case disagrees.
 *
 * Returns [lo, hi] for delta = p_candidate − p_baseline (see PairedCounts). The correlation estimate φ
 * uses Newcombe's adjustment: (ad − bc − n/2)/√(efgh) when ad − bc > n/2, 0 when 0 ≤ ad − bc ≤ n/2,
 * (ad − bc)/√(efgh) when negative, and 0 when any margin is empty.
 */
export function newcombePairedInterval(a: number, b: number, c: number, d: number, confidence = 0.95): [number, number] {
  for (const [name, v] of [['a', a], ['b', b], ['c', c], ['d', d]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`newcombePairedInterval: ${name} must be a non-negative integer, got ${v}`);
  }
  return newcombeBounds(a, b, c, d, confidence);
}

/** The same interval for real-valued (effective) counts; see wilsonBounds. Callers validate. */
export function newcombeBounds(a: number, b: number, c: number, d: number, confidence = 0.95): [number, number] {
  const n = a + b + c + d;
  if (n === 0) return [-1, 1];
  // Newcombe's own orientation: θ = p1 − p2 with p1 the candidate and p2 the baseline margin.
  const x1 = a + c;
  const x2 = a + b;
  const p1 = x1 / n;
  const p2 = x2 / n;
  const [l1, u1] = wilsonBounds(x1, n, confidence);
  const [l2, u2] = wilsonBounds(x2, n, confidence);

  // Margins of the candidate-by-baseline table: candidate pass/fail, baseline pass/fail.
  const e = x1;
  const f = b + d;
  const g = x2;
  const h = c + d;
  let phi = 0;
  if (e > 0 && f > 0 && g > 0 && h > 0) {
    // With the candidate as the first variable the concordance product is a·d and the discordance c·b.
    const num = a * d - b * c;
    const adjusted = num > n / 2 ? num - n / 2 : num >= 0 ? 0 : num;
    phi = adjusted / Math.sqrt(e * f * g * h);
  }

  const theta = p1 - p2;
  const dl1 = p1 - l1;
  const du1 = u1 - p1;
  const dl2 = p2 - l2;
  const du2 = u2 - p2;
  const lower = theta - Math.sqrt(Math.max(0, dl1 * dl1 - 2 * phi * dl1 * du2 + du2 * du2));
  const upper = theta + Math.sqrt(Math.max(0, du1 * du1 - 2 * phi * du1 * dl2 + dl2 * dl2));
  return [Math.max(-1, lower), Math.min(1, upper)];
}
