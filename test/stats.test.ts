import { describe, expect, it } from 'vitest';
import { createRng } from '../src/stats/rng.js';
import { inverseNormalCdf, zForConfidence } from '../src/stats/normal.js';
import { wilsonInterval } from '../src/stats/wilson.js';
import { mcnemarExact } from '../src/stats/mcnemar.js';
import { newcombePairedInterval, pairedCounts } from '../src/stats/newcombe.js';
import { pairedBootstrap } from '../src/stats/bootstrap.js';

describe('createRng', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const sa = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(sa);
    expect(Array.from({ length: 5 }, c)).not.toEqual(sa);
  });

  it('draws uniformly in [0, 1)', () => {
    const rng = createRng(7);
    const bins = new Array<number>(10).fill(0);
    let sum = 0;
    let min = 1;
    let max = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const u = rng();
      min = Math.min(min, u);
      max = Math.max(max, u);
      sum += u;
      bins[Math.floor(u * 10)]!++;
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(sum / n).toBeCloseTo(0.5, 2);
    // Each decile within 5% of its expected 10 000 draws (≈ 5 standard deviations).
    for (const b of bins) expect(Math.abs(b - n / 10)).toBeLessThan(500);
  });
});

describe('inverseNormalCdf', () => {
  // Reference values: Python's statistics.NormalDist().inv_cdf (also AS 241), to full double precision.
  const known: [number, number][] = [
    [0.975, 1.9599639845400536],
    [0.995, 2.5758293035489],
    [0.5, 0],
    [0.9, 1.2815515655446008],
    [0.8, 0.8416212335729144],
    [0.05, -1.6448536269514726],
    [0.3, -0.5244005127080407],
    [1e-10, -6.361340902404056],
    [0.999999, 4.753424308817089],
    [1e-300, -37.0470962993612],
  ];
  it.each(known)('p=%s → %s', (p, z) => {
    expect(Math.abs(inverseNormalCdf(p) - z)).toBeLessThan(1e-9 * Math.max(1, Math.abs(z)));
  });

  it('is antisymmetric and handles the ends', () => {
    for (const p of [0.01, 0.2, 0.4, 0.49]) expect(inverseNormalCdf(p)).toBeCloseTo(-inverseNormalCdf(1 - p), 12);
    expect(inverseNormalCdf(0)).toBe(-Infinity);
    expect(inverseNormalCdf(1)).toBe(Infinity);
    expect(() => inverseNormalCdf(1.5)).toThrow(RangeError);
    expect(() => inverseNormalCdf(Number.NaN)).toThrow(RangeError);
  });

  it('gives two-sided critical values for confidence levels', () => {
    expect(zForConfidence(0.95)).toBeCloseTo(1.959964, 6);
    expect(zForConfidence(0.9)).toBeCloseTo(1.644854, 6);
    expect(zForConfidence(0.99)).toBeCloseTo(2.575829, 6);
    expect(() => zForConfidence(1)).toThrow(RangeError);
  });
});

describe('wilsonInterval', () => {
  it('matches published values (Newcombe 1998, Statistics in Medicine 17:857)', () => {
    const [lo, hi] = wilsonInterval(81, 263);
    expect(lo).toBeCloseTo(0.2553, 4);
    expect(hi).toBeCloseTo(0.3662, 4);
    const [lo0, hi0] = wilsonInterval(0, 10);
    expect(lo0).toBe(0);
    expect(hi0).toBeCloseTo(0.2775, 4);
    const [lo15, hi15] = wilsonInterval(15, 148);
    expect(lo15).toBeCloseTo(0.0624, 4);
    expect(hi15).toBeCloseTo(0.1605, 4);
  });

  it('is exact at the ends, mirrors around 1/2 and widens with confidence', () => {
    expect(wilsonInterval(0, 0)).toEqual([0, 1]);
    expect(wilsonInterval(10, 10)[1]).toBe(1);
    const [lo, hi] = wilsonInterval(3, 20);
    const [mlo, mhi] = wilsonInterval(17, 20);
    expect(lo).toBeCloseTo(1 - mhi, 12);
    expect(hi).toBeCloseTo(1 - mlo, 12);
    const w95 = wilsonInterval(30, 100, 0.95);
    const w99 = wilsonInterval(30, 100, 0.99);
    expect(w99[0]).toBeLessThan(w95[0]);
    expect(w99[1]).toBeGreaterThan(w95[1]);
    expect(() => wilsonInterval(11, 10)).toThrow(RangeError);
  });
});

describe('mcnemarExact', () => {
  // Reference values computed exactly with big-integer binomial sums.
  it.each([
    [1, 9, 0.021484375],
    [9, 1, 0.021484375],
    [10, 10, 1],
    [0, 5, 0.0625],
    [3, 20, 0.00048828125],
    [4900, 5100, 0.04658552770494739],
    [4800, 5200, 6.593515598672442e-5],
    [2000, 3000, 1.3002310005203771e-45],
  ])('b=%i c=%i → p=%s', (b, c, p) => {
    expect(Math.abs(mcnemarExact(b, c) - p) / p).toBeLessThan(1e-9);
  });

  it('is 1 without discordant pairs, never exceeds 1, and stays finite at large n', () => {
    expect(mcnemarExact(0, 0)).toBe(1);
    expect(mcnemarExact(5, 6)).toBe(1);
    const tiny = mcnemarExact(0, 10_000);
    expect(tiny).toBeGreaterThanOrEqual(0);
    expect(tiny).toBeLessThan(1e-300);
    expect(() => mcnemarExact(-1, 2)).toThrow(RangeError);
    expect(() => mcnemarExact(1.5, 2)).toThrow(RangeError);
  });
});

describe('newcombePairedInterval', () => {
  it('reproduces the published Cavo et al. example (Fagerland, Lydersen & Laake 2014, Statistics in Medicine 33:2850)', () => {
    // Published: before 65/161, after 75/161; difference before − after −0.0621 (95% CI −0.1186 to −0.0046).
    // Here baseline = before and candidate = after, so our delta is after − before and the interval mirrors.
    const [lo, hi] = newcombePairedInterval(59, 6, 16, 80);
    expect((16 - 6) / 161).toBeCloseTo(0.0621, 4);
    expect(lo).toBeCloseTo(0.0046, 4);
    expect(hi).toBeCloseTo(0.1186, 4);
  });

  it('agrees with an independent step-by-step computation of method 10', () => {
    // Wilson limits by the quadratic-root form, φ with Newcombe's n/2 adjustment, square-and-add.
    const z = 1.959963984540054;
    const wilson = (x: number, n: number) => {
      const p = x / n;
      const A = 2 * n * p + z * z;
      const B = z * Math.sqrt(z * z + 4 * n * p * (1 - p));
      const C = 2 * (n + z * z);
      return [(A - B) / C, (A + B) / C] as const;
    };
    const reference = (a: number, b: number, c: number, d: number) => {
      const n = a + b + c + d;
      const pc = (a + c) / n;
      const pb = (a + b) / n;
      const [lc, uc] = wilson(a + c, n);
      const [lb, ub] = wilson(a + b, n);
      const A = a * d - b * c;
      const margins = (a + c) * (b + d) * (a + b) * (c + d);
      const adj = A > n / 2 ? A - n / 2 : A < 0 ? A : 0;
      const phi = margins === 0 ? 0 : adj / Math.sqrt(margins);
      const delta = pc - pb;
      return [
        delta - Math.sqrt((pc - lc) ** 2 - 2 * phi * (pc - lc) * (ub - pb) + (ub - pb) ** 2),
        delta + Math.sqrt((uc - pc) ** 2 - 2 * phi * (uc - pc) * (pb - lb) + (pb - lb) ** 2),
      ];
    };
    const tables: [number, number, number, number][] = [
      [180, 25, 12, 83],
      [40, 2, 9, 9],
      [12, 7, 1, 30],
      [90, 0, 3, 7],
      [5, 5, 5, 5],
      [0, 3, 4, 23],
    ];
    for (const t of tables) {
      const [lo, hi] = newcombePairedInterval(...t);
      const [rlo, rhi] = reference(...t);
      expect(lo).toBeCloseTo(rlo!, 12);
      expect(hi).toBeCloseTo(rhi!, 12);
    }
  });

  it('mirrors when regressions and improvements swap, and is symmetric when they are equal', () => {
    const [lo, hi] = newcombePairedInterval(50, 4, 11, 35);
    const [mlo, mhi] = newcombePairedInterval(50, 11, 4, 35);
    expect(mlo).toBeCloseTo(-hi, 12);
    expect(mhi).toBeCloseTo(-lo, 12);
    const [slo, shi] = newcombePairedInterval(70, 6, 6, 18);
    expect(slo).toBeCloseTo(-shi, 12);
    expect(slo).toBeLessThan(0);
  });

  it('keeps a positive width when no case disagrees and narrows as n grows', () => {
    const [lo, hi] = newcombePairedInterval(30, 0, 0, 0);
    expect(lo).toBeLessThan(0);
    expect(hi).toBeGreaterThanOrEqual(0);
    const small = newcombePairedInterval(24, 3, 3, 10);
    const large = newcombePairedInterval(240, 30, 30, 100);
    expect(large[1] - large[0]).toBeLessThan(small[1] - small[0]);
    expect(newcombePairedInterval(0, 0, 0, 0)).toEqual([-1, 1]);
  });

  it('contains the point estimate and stays within [-1, 1]', () => {
    const rng = createRng(3);
    for (let k = 0; k < 200; k++) {
      const t = [0, 0, 0, 0].map(() => Math.floor(rng() * 20)) as [number, number, number, number];
      if (t.every((v) => v === 0)) continue;
      const n = t[0] + t[1] + t[2] + t[3];
      const delta = (t[2] - t[1]) / n;
      const [lo, hi] = newcombePairedInterval(...t);
      expect(lo).toBeLessThanOrEqual(delta + 1e-12);
      expect(hi).toBeGreaterThanOrEqual(delta - 1e-12);
      expect(lo).toBeGreaterThanOrEqual(-1);
      expect(hi).toBeLessThanOrEqual(1);
    }
  });
});

describe('pairedCounts', () => {
  it('tallies the 2×2 table with b = regressions and c = improvements', () => {
    const counts = pairedCounts([
      { baseline: true, candidate: true },
      { baseline: true, candidate: false },
      { baseline: true, candidate: false },
      { baseline: false, candidate: true },
      { baseline: false, candidate: false },
      { baseline: false, candidate: false },
      { baseline: false, candidate: false },
    ]);
    expect(counts).toEqual({ a: 1, b: 2, c: 1, d: 3 });
  });
});

describe('pairedBootstrap', () => {
  it('is deterministic per seed and returns the observed mean', () => {
    const diffs = [1, 0, 0, -1, 0, 1, 1, 0, -1, 0, 0, 1];
    const a = pairedBootstrap(diffs, { seed: 11, resamples: 2000 });
    const b = pairedBootstrap(Float64Array.from(diffs), { seed: 11, resamples: 2000 });
    const c = pairedBootstrap(diffs, { seed: 12, resamples: 2000 });
    expect(a).toEqual(b);
    expect(a.ci).not.toEqual(c.ci);
    expect(a.mean).toBeCloseTo(2 / 12, 12);
    expect(a.ci[0]).toBeLessThan(a.mean);
    expect(a.ci[1]).toBeGreaterThan(a.mean);
  });

  it('draws exactly the resamples createRng gives for its seed (stored verdicts keep their intervals)', () => {
    const data = createRng(3);
    const diffs = Array.from({ length: 37 }, () => Math.round(data() * 2) - 1);
    const reference = (seed: number, resamples: number): [number, number] => {
      const rng = createRng(seed);
      const means = Float64Array.from({ length: resamples }, () => {
        let s = 0;
        for (let i = 0; i < diffs.length; i++) s += diffs[(rng() * diffs.length) | 0]!;
        return s / diffs.length;
      }).sort();
      const at = (q: number) => {
        const pos = (resamples - 1) * q;
        const lo = Math.floor(pos);
        return means[lo]! * (1 - (pos - lo)) + means[Math.min(resamples - 1, lo + 1)]! * (pos - lo);
      };
      return [at(0.025), at(0.975)];
    };
    for (const seed of [1, 7, -5, 2 ** 31 - 1]) expect(pairedBootstrap(diffs, { seed, resamples: 999 }).ci).toEqual(reference(seed, 999));
  });

  it('approximates the normal-theory interval on a large sample', () => {
    const rng = createRng(5);
    const diffs = Array.from({ length: 500 }, () => rng() * 2 - 0.8);
    const n = diffs.length;
    const mean = diffs.reduce((s, x) => s + x, 0) / n;
    const sd = Math.sqrt(diffs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
    const half = (1.959964 * sd) / Math.sqrt(n);
    const { ci } = pairedBootstrap(diffs, { seed: 1 });
    expect(ci[0]).toBeCloseTo(mean - half, 2);
    expect(ci[1]).toBeCloseTo(mean + half, 2);
  });

  it('covers the true paired difference at close to the nominal rate', () => {
    // 200 simulated suites of 200 paired cases: baseline passes w.p. 0.8, candidate w.p. 0.75, sharing a
    // latent difficulty so outcomes correlate. True delta = −0.05.
    const rng = createRng(2024);
    const trueDelta = -0.05;
    let covered = 0;
    const sims = 200;
    for (let s = 0; s < sims; s++) {
      const diffs = new Float64Array(200);
      for (let i = 0; i < 200; i++) {
        const u = rng();
        const v = rng() < 0.7 ? u : rng();
        diffs[i] = Number(v < 0.75) - Number(u < 0.8);
      }
      const { ci } = pairedBootstrap(diffs, { seed: s, resamples: 1000 });
      if (ci[0] <= trueDelta && trueDelta <= ci[1]) covered++;
    }
    expect(covered / sims).toBeGreaterThanOrEqual(0.9);
    expect(covered / sims).toBeLessThanOrEqual(0.99);
  });

  it('rejects empty input and bad options', () => {
    expect(() => pairedBootstrap([], { seed: 1 })).toThrow(RangeError);
    expect(() => pairedBootstrap([1], { seed: 1, resamples: 0 })).toThrow(RangeError);
    expect(() => pairedBootstrap([1], { seed: 1, confidence: 1 })).toThrow(RangeError);
  });
});
