/**
 * Operating characteristics of sequential runs: seeded simulation of paired pass/fail outcomes under
 * the gate's non-inferiority rule, for a fixed design (one look) and a group-sequential one, with the
 * fixed n of equal power to compare calls against. Pure stats (no engine), fast enough for a test. Each
 * look adds an independent simulated table of the new cases (stats/simulate-paired.ts), so the looks of
 * one simulated tier are nested as in a run. docs/statistics.md quotes
 * scripts/sequential-characteristics.mjs; test/sequential.test.ts re-measures one row.
 */
import { newcombePairedInterval, type PairedCounts } from '../stats/newcombe.js';
import { lookSizes, type SequentialBoundaries } from '../stats/sequential.js';
import { simulatePairedTable, type PairedScenario } from '../stats/simulate-paired.js';

export type Scenario = Omit<PairedScenario, 'n' | 'seed'> & { margin: number };

export interface DesignFigures {
  pass: number;
  fail: number;
  inconclusive: number;
  /** Mean cases used per tier (calls are twice this on both designs). */
  meanCases: number;
  /** Share of simulated tiers that ended at each look. */
  stoppedAt: number[];
}

export type LookOutcome = 'pass' | 'fail' | 'continue';

/**
 * The gate's non-inferiority rule at one look (test/sequential.test.ts checks it against decideTier):
 * PASS when the lower bound at the PASS level clears −margin, FAIL when the upper bound at the FAIL
 * level is below it.
 */
export function classify(t: PairedCounts, margin: number, passConfidence: number, failConfidence = passConfidence): LookOutcome {
  if (newcombePairedInterval(t.a, t.b, t.c, t.d, passConfidence)[0] >= -margin - 1e-12) return 'pass';
  if (newcombePairedInterval(t.a, t.b, t.c, t.d, failConfidence)[1] < -margin - 1e-12) return 'fail';
  return 'continue';
}

/** A design: the cumulative cases at each look and the interval levels used there. */
export interface Design {
  sizes: number[];
  confidence: number[];
  /** Interval level of the FAIL boundary at each look; default the PASS level. */
  failConfidence?: number[];
}

export function fixedDesign(n: number, confidence = 0.95): Design {
  return { sizes: [n], confidence: [confidence] };
}

export function sequentialDesign(n: number, pass: Pick<SequentialBoundaries, 'fractions' | 'confidence'>, fail = pass): Design {
  return { sizes: lookSizes(n, pass.fractions), confidence: pass.confidence, failConfidence: fail.confidence };
}

export function simulate(design: Design, s: Scenario, reps: number, seed: number): DesignFigures {
  let pass = 0;
  let fail = 0;
  let cases = 0;
  const stoppedAt = design.sizes.map(() => 0);
  for (let r = 0; r < reps; r++) {
    const t: PairedCounts = { a: 0, b: 0, c: 0, d: 0 };
    let used = 0;
    let outcome: LookOutcome = 'continue';
    for (let k = 0; k < design.sizes.length && outcome === 'continue'; k++) {
      const added = simulatePairedTable({ ...s, n: design.sizes[k]! - used, seed: (seed * 1_000_003 + r * 64 + k) | 0 });
      t.a += added.a;
      t.b += added.b;
      t.c += added.c;
      t.d += added.d;
      used = design.sizes[k]!;
      outcome = classify(t, s.margin, design.confidence[k]!, design.failConfidence?.[k] ?? design.confidence[k]!);
      if (outcome !== 'continue' || k === design.sizes.length - 1) stoppedAt[k]!++;
    }
    cases += used;
    if (outcome === 'pass') pass++;
    else if (outcome === 'fail') fail++;
  }
  return { pass: pass / reps, fail: fail / reps, inconclusive: (reps - pass - fail) / reps, meanCases: cases / reps, stoppedAt: stoppedAt.map((x) => x / reps) };
}

/**
 * The smallest fixed-design n whose P(PASS) in this scenario reaches `power` (bisection over n, every
 * point simulated with the same seed so the curve is smooth enough to search).
 */
export function fixedNForPower(s: Scenario, power: number, reps: number, seed: number, hi = 4000): number {
  let lo = 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (simulate(fixedDesign(mid), s, reps, seed).pass >= power) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
