/**
 * Seeded simulation of paired pass/fail outcomes under the gate's non-inferiority rule, for a fixed
 * design (one look) and a group-sequential one. Pure stats only (no engine): fast enough for a test.
 */
import { createRng } from '../../src/stats/rng.js';
import { newcombePairedInterval } from '../../src/stats/newcombe.js';
import { lookSizes, type SequentialBoundaries } from '../../src/stats/sequential.js';

export interface Scenario {
  /** Baseline pass rate. */
  baseline: number;
  /** Share of cases on which the two models disagree (b + c). */
  disagreement: number;
  /** True candidate − baseline pass rate. */
  delta: number;
  margin: number;
}

export interface DesignFigures {
  pass: number;
  fail: number;
  inconclusive: number;
  /** Mean cases used per tier (calls are twice this on both designs). */
  meanCases: number;
  /** Share of simulated tiers that stopped at each look. */
  stoppedAt: number[];
}

/** Cumulative cell probabilities of the paired table (a, b, c, d) for a scenario. */
function cells(s: Scenario): [number, number, number] {
  const b = (s.disagreement - s.delta) / 2;
  const c = (s.disagreement + s.delta) / 2;
  const a = s.baseline - b;
  if (b < 0 || c < 0 || a < 0 || a + b + c > 1) throw new RangeError(`impossible scenario ${JSON.stringify(s)}`);
  return [a, a + b, a + b + c];
}

export type Outcome = 'pass' | 'fail' | 'continue';

/**
 * The gate's non-inferiority rule at one look: PASS when the lower bound at the PASS level clears
 * −margin, FAIL when the upper bound at the FAIL level is below it.
 */
export function classify(counts: [number, number, number, number], margin: number, passConfidence: number, failConfidence = passConfidence): Outcome {
  const [a, b, c, d] = counts;
  if (newcombePairedInterval(a, b, c, d, passConfidence)[0] >= -margin - 1e-12) return 'pass';
  if (newcombePairedInterval(a, b, c, d, failConfidence)[1] < -margin - 1e-12) return 'fail';
  return 'continue';
}

/** A design: the cumulative cases at each look and the interval level used there. */
export interface Design {
  sizes: number[];
  confidence: number[];
  /** Interval level of the FAIL boundary at each look; default the PASS level. */
  failConfidence?: number[];
}

export function fixedDesign(n: number, confidence = 0.95): Design {
  return { sizes: [n], confidence: [confidence] };
}

export function sequentialDesign(n: number, b: SequentialBoundaries, fail: SequentialBoundaries = b): Design {
  return { sizes: lookSizes(n, b.fractions), confidence: b.confidence, failConfidence: fail.confidence };
}

export function simulate(design: Design, s: Scenario, reps: number, seed: number): DesignFigures {
  const rng = createRng(seed);
  const [pa, pab, pabc] = cells(s);
  let pass = 0;
  let fail = 0;
  let cases = 0;
  const stoppedAt = design.sizes.map(() => 0);
  for (let r = 0; r < reps; r++) {
    const t: [number, number, number, number] = [0, 0, 0, 0];
    let used = 0;
    let outcome: Outcome = 'continue';
    for (let k = 0; k < design.sizes.length && outcome === 'continue'; k++) {
      const size = design.sizes[k]!;
      for (; used < size; used++) {
        const u = rng();
        t[u < pa ? 0 : u < pab ? 1 : u < pabc ? 2 : 3]++;
      }
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
 * The smallest fixed-design n whose P(PASS) in this scenario reaches `power` (bisection over n, each
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
