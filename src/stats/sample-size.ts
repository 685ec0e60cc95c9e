import { inverseNormalCdf, zForConfidence } from './normal.js';
import { newcombePairedInterval } from './newcombe.js';

/**
 * Sample size of a paired non-inferiority comparison of two pass rates (the gate's default rule).
 *
 * Each case gives a difference d ∈ {−1, 0, +1} (candidate minus baseline). With discordance ψ (the
 * share of cases where the two models disagree) and true delta δ, Var(d) = ψ − δ². Showing
 * δ > −m at one-sided level α with power 1 − β needs
 *
 *     n = (z₁₋α + z₁₋β)² · (ψ − δ²) / (δ + m)²
 *
 * (the Wald-type formula for paired differences; Lu & Bean 1995, Liu et al. 2002). It is the textbook
 * answer and within a few cases of Nam's restricted-MLE formula at the discordances gates see; the
 * seeded simulation in test/sample-size.test.ts checks that the gate's own Newcombe interval reaches
 * the planned power at the planned n. Because the Newcombe interval never collapses, a tier also needs
 * at least the smallest n at which a table with no disagreement at all could clear the margin.
 */
export interface PairedPlanInput {
  /** Non-inferiority margin m, as a fraction (0.05 = 5 points). */
  margin: number;
  /** Expected share of cases where the two models disagree (0..1). */
  discordance: number;
  /** True delta to plan for (candidate − baseline); 0 = equally good. Default 0. */
  delta?: number;
  /** Two-sided confidence of the decision interval, as in the gate. Default 0.95 (α = 2.5% one-sided). */
  confidence?: number;
  /** Power to show non-inferiority when the true delta is `delta`. Default 0.8. */
  power?: number;
  /** Baseline pass rate, for the no-disagreement floor (the Newcombe interval depends on it). Default 0.8. */
  baselinePassRate?: number;
}

/** Cases needed to show non-inferiority, or null when no number of cases can (δ ≤ −m). */
export function pairedNonInferiorityCases(input: PairedPlanInput): number | null {
  return (input.delta ?? 0) > -input.margin ? pairedCasesToDecide(input) : null;
}

/**
 * Cases needed to decide either way at the planned delta: to show the tier holds (δ > −m, the formula
 * above) or to show it regresses beyond the margin (δ < −m: the same formula, the interval's upper
 * bound must clear −m from below). Null when δ sits on the margin, where no number of cases decides.
 */
export function pairedCasesToDecide(input: PairedPlanInput): number | null {
  const { margin: m, discordance: psi } = input;
  const delta = input.delta ?? 0;
  const confidence = input.confidence ?? 0.95;
  const power = input.power ?? 0.8;
  const p = input.baselinePassRate ?? 0.8;
  check('margin', m, m > 0 && m < 1);
  check('discordance', psi, psi >= 0 && psi <= 1);
  check('delta', delta, delta >= -1 && delta <= 1);
  check('confidence', confidence, confidence > 0 && confidence < 1);
  check('power', power, power > 0 && power < 1);
  check('baselinePassRate', p, p >= 0 && p <= 1);
  if (Math.abs(delta + m) < 1e-9) return null;
  const zAlpha = zForConfidence(confidence);
  const zBeta = inverseNormalCdf(power);
  // Discordance can never be below |δ|: each point of delta is at least one disagreeing case.
  const variance = Math.max(psi, Math.abs(delta)) - delta * delta;
  const n = Math.max(1, Math.ceil(((zAlpha + zBeta) ** 2 * variance) / (delta + m) ** 2));
  return delta > -m ? Math.max(n, minimumCasesWithoutDisagreement(m, confidence, p)) : n;
}

/**
 * The smallest n at which a table with no disagreement (every case concordant, baseline pass rate p)
 * has a Newcombe lower bound at or above −m. Below it the gate cannot pass whatever the models do.
 */
export function minimumCasesWithoutDisagreement(margin: number, confidence = 0.95, baselinePassRate = 0.8): number {
  let n = 1;
  const lower = (k: number) => {
    const a = Math.round(k * baselinePassRate);
    return newcombePairedInterval(a, 0, 0, k - a, confidence)[0];
  };
  // Doubling then bisection: the lower bound rises with n (up to rounding of a, hence the final scan).
  while (lower(n) < -margin && n < 1 << 24) n *= 2;
  let lo = Math.floor(n / 2);
  let hi = n;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (lower(mid) >= -margin) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * Power per tier when all K tiers must pass for the gate to pass: (1 − β)^(1/K), so the whole gate
 * reaches 1 − β when every tier is truly as good as planned (independent tiers).
 */
export function perTierPower(gatePower: number, tiers: number): number {
  check('power', gatePower, gatePower > 0 && gatePower < 1);
  check('tiers', tiers, Number.isInteger(tiers) && tiers >= 1);
  return gatePower ** (1 / tiers);
}

function check(name: string, value: number, ok: boolean): void {
  if (!Number.isFinite(value) || !ok) throw new RangeError(`sample size: ${name} out of range: ${value}`);
}

/**
 * The highest lower bound any result without a single disagreement could reach at this n (all cases
 * concordant, delta 0, best split between both-pass and both-fail). If even that is below −margin, the
 * non-inferiority rule cannot pass whatever the models do.
 */
export function bestCaseLowerBound(n: number, confidence: number): number {
  let best = -1;
  for (let a = 0; a <= n; a++) best = Math.max(best, newcombePairedInterval(a, 0, 0, n - a, confidence)[0]);
  return best;
}
