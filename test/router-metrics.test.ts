import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRng } from '../src/stats/rng.js';
import {
  aiq,
  apgr,
  cpt,
  oracleCurve,
  pgr,
  qualityAt,
  randomCurve,
  rankedCurve,
  routerCurve,
  routerMetrics,
  type PairedOutcome,
} from '../src/stats/router-metrics.js';

// Four cases; the strong model costs $0.01 a call, the weak one $0.001.
// c0: only strong passes · c1: both pass · c2: both fail · c3: only strong passes.
const price = { strongCost: 0.01, weakCost: 0.001 };
const pairs: PairedOutcome[] = [
  { strong: 1, weak: 0, ...price },
  { strong: 1, weak: 1, ...price },
  { strong: 0, weak: 0, ...price },
  { strong: 1, weak: 0, ...price },
];

describe('router curve metrics on a hand-computed table', () => {
  // The router sends c0 first, then c1, c2, c3: quality 1/4, 2/4, 2/4, 2/4, 3/4.
  const curve = rankedCurve(pairs, [4, 3, 2, 1]);

  it('builds the curve point by point with quality and cost per 1k requests', () => {
    expect(curve.weakQuality).toBe(0.25);
    expect(curve.strongQuality).toBe(0.75);
    expect(curve.points.map((p) => [p.strongShare, p.quality])).toEqual([
      [0, 0.25],
      [0.25, 0.5],
      [0.5, 0.5],
      [0.75, 0.5],
      [1, 0.75],
    ]);
    // (k·0.01 + (4−k)·0.001) / 4 · 1000 = 1 + 2.25k
    curve.points.forEach((p, k) => expect(p.costPer1k).toBeCloseTo(1 + 2.25 * k, 12));
  });

  it('PGR, CPT(50%), CPT(80%) and APGR', () => {
    expect(pgr(0.5, 0.25, 0.75)).toBe(0.5);
    expect(Number.isNaN(pgr(0.5, 0.6, 0.6))).toBe(true);
    expect(cpt(curve, 0.5)).toBe(0.25);
    // Between (0.75, PGR 0.5) and (1, PGR 1): 0.75 + (0.8 − 0.5)/0.5 · 0.25.
    expect(cpt(curve, 0.8)).toBeCloseTo(0.9, 12);
    expect(cpt(curve, 1.01)).toBeNull();
    // Grid of 4: 0.25·(0/2 + .5 + .5 + .5 + 1/2) = 0.5; grid of 10 interpolates the same curve.
    expect(apgr(curve, 4)).toBeCloseTo(0.5, 12);
    expect(apgr(curve)).toBeCloseTo(0.5, 12);
    expect(qualityAt(curve, 0.1)).toBeCloseTo(0.35, 12);
  });

  it('APGR depends on the grid where the curve bends between grid points', () => {
    const bent = routerCurve([
      { strongShare: 0, quality: 0, costPer1k: null },
      { strongShare: 0.05, quality: 1, costPer1k: null },
      { strongShare: 1, quality: 1, costPer1k: null },
    ]);
    // Continuous area 1 − 0.05/2 = 0.975; on the 0, 0.1, … grid the first interval is (0 + 1)/2 · 0.1.
    expect(apgr(bent)).toBeCloseTo(0.95, 12);
    expect(apgr(bent, 20)).toBeCloseTo(0.975, 12);
    expect(aiq(bent.points)).toBeNull();
  });

  it('AIQ: area under the non-decreasing convex hull of (cost, quality), normalised by the cost range', () => {
    // Hull (1,.25) → (3.25,.5) → (10,.75); (5.5,.5) and (7.75,.5) lie under it.
    // ((.25+.5)/2·2.25 + (.5+.75)/2·6.75) / 9 = 0.5625
    expect(aiq(curve.points)).toBeCloseTo(0.5625, 12);
    // A dip is bridged by the hull: (0,.8)–(2,.9), mean height .85.
    expect(aiq([{ costPer1k: 0, quality: 0.8 }, { costPer1k: 1, quality: 0.5 }, { costPer1k: 2, quality: 0.9 }])).toBeCloseTo(0.85, 12);
    // Past the best point the envelope stays flat: (.5+.9)/2·1 + .9·1 over 2 = 0.8.
    expect(aiq([{ costPer1k: 0, quality: 0.5 }, { costPer1k: 1, quality: 0.9 }, { costPer1k: 2, quality: 0.6 }])).toBeCloseTo(0.8, 12);
    expect(aiq([{ costPer1k: null, quality: 0.5 }, { costPer1k: 1, quality: 0.9 }])).toBeNull();
    // The oracle stops spending at cost 5.5 (quality .75); over the family's range up to 10 it stays flat:
    // ((.25+.5)/2·2.25 + (.5+.75)/2·2.25 + .75·4.5) / 9 = 0.625
    const oracle = oracleCurve(pairs);
    expect(aiq(oracle.points)).toBeCloseTo(0.5, 12);
    expect(aiq(oracle.points, 10)).toBeCloseTo(0.625, 12);
  });

  it('cases with equal scores move together', () => {
    const tied = rankedCurve(pairs, [1, 0, 0, 1]);
    expect(tied.points.map((p) => [p.strongShare, p.quality])).toEqual([
      [0, 0.25],
      [0.5, 0.75],
      [1, 0.75],
    ]);
    expect(cpt(tied, 0.5)).toBeCloseTo(0.25, 12);
  });

  it('random router: APGR exactly 0.5; oracle spends strong calls only where they gain', () => {
    expect(apgr(randomCurve(pairs))).toBeCloseTo(0.5, 12);
    const oracle = oracleCurve(pairs);
    expect(oracle.points.map((p) => [p.strongShare, p.quality])).toEqual([
      [0, 0.25],
      [0.25, 0.5],
      [0.5, 0.75],
      [1, 0.75],
    ]);
    // PGR 0, .5, 1, 1 (budget left unspent): 0.25·(0 + .5 + 1 + 1 + 1/2) on a grid of 4.
    expect(apgr(oracle, 4)).toBeCloseTo(0.75, 12);
    expect(routerMetrics(oracle)).toMatchObject({ cpt50: 0.25, cpt80: 0.4 });
  });

  it('rejects malformed curves', () => {
    expect(() => routerCurve([{ strongShare: 0.5, quality: 1, costPer1k: 1 }])).toThrow(/share 0/);
    expect(() => routerCurve([{ strongShare: 1.5, quality: 1, costPer1k: 1 }])).toThrow(/outside/);
    expect(() => rankedCurve(pairs, [1])).toThrow(/4 cases/);
  });
});

const gsm8k = process.env.EVALROUTE_DATASETS_DIR
  ? join(process.env.EVALROUTE_DATASETS_DIR, 'routellm_gsm8k')
  : '/work/shared/datasets/routellm_gsm8k';
const haveGsm8k = existsSync(join(gsm8k, 'outputs'));
if (!haveGsm8k) console.warn(`SKIPPING the RouteLLM GSM8K reference checks: ${gsm8k}/outputs not found (set EVALROUTE_DATASETS_DIR)`);

describe.skipIf(!haveGsm8k)('reference routers on RouteLLM GSM8K recorded outcomes (GPT-4 vs Mixtral)', () => {
  const load = (file: string) =>
    new Map(
      readFileSync(join(gsm8k, 'outputs', file), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { id: string; recorded_correct: boolean })
        .map((r) => [r.id, r.recorded_correct ? 1 : 0]),
    );
  const strong = haveGsm8k ? load('gpt-4-1106-preview.jsonl') : new Map<string, number>();
  const weak = haveGsm8k ? load('mixtral-8x7b-instruct-v0.1.jsonl') : new Map<string, number>();
  const table: PairedOutcome[] = [...strong].map(([id, s]) => ({ strong: s, weak: weak.get(id)! }));

  it('matches the dataset counts (747 both, 383 only GPT-4, 95 only Mixtral)', () => {
    expect(table).toHaveLength(1319);
    expect(table.filter((p) => p.strong && !p.weak)).toHaveLength(383);
    expect(table.filter((p) => !p.strong && p.weak)).toHaveLength(95);
  });

  it('random router APGR is 0.5 (exactly in expectation, ±0.05 for a seeded random order)', () => {
    expect(apgr(randomCurve(table))).toBeCloseTo(0.5, 12);
    const rng = createRng(7);
    const shuffled = apgr(rankedCurve(table, table.map(() => rng())))!;
    expect(Math.abs(shuffled - 0.5)).toBeLessThan(0.05);
  });

  it('oracle APGR > 0.9, and above 1 because it keeps Mixtral where Mixtral alone is right', () => {
    const oracle = oracleCurve(table);
    const m = routerMetrics(oracle);
    // Gap 383 − 95 = 288 cases; the oracle recovers 383/288 = 1.33 of it with 383/1319 = 29% strong calls.
    expect(m.apgr!).toBeGreaterThan(0.9);
    expect(m.apgr!).toBeCloseTo(0.1 * ((131.9 + 263.8) / 288 + 7 * (383 / 288) + 383 / 288 / 2), 3);
    expect(m.cpt50!).toBeCloseTo((0.5 * 288) / 1319, 6);
    expect(m.cpt80!).toBeCloseTo((0.8 * 288) / 1319, 6);
  });
});
