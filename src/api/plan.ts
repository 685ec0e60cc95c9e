/**
 * `evalroute plan`: how many cases each tier needs before a suite is built, so a team sizes its golden
 * suite to the decision it wants instead of discovering at gate time that 140 cases cannot tell.
 */
import { UsageError } from '../core/errors.js';
import { DEFAULT_CONFIDENCE, DEFAULT_MAX_REGRESSION } from '../gate/decide.js';
import { minimumCasesWithoutDisagreement, pairedNonInferiorityCases, perTierPower } from '../stats/sample-size.js';

export interface PlanOptions {
  /** Baseline pass rate on the suite's cases. Default 0.8. */
  baselinePassRate?: number;
  /** Share of cases where the tier model and the baseline disagree (pass vs fail). Default 0.15. */
  disagreement?: number;
  /** Non-inferiority margin (maxRegression). Default 0.05. */
  margin?: number;
  /** Routed tiers that must all pass. Default 1. */
  tiers?: number;
  /** Power for the whole gate when every tier is truly as good as planned. Default 0.8. */
  power?: number;
  /** Confidence of the decision interval. Default 0.95. */
  confidence?: number;
  /** True delta to plan for (tier − baseline). Default 0: as good as the baseline. */
  expectedDelta?: number;
}

export interface PlanResult {
  baselinePassRate: number;
  disagreement: number;
  margin: number;
  tiers: number;
  power: number;
  /** (1 − β)^(1/K): each of K tiers needs this much power for the gate to have `power`. */
  perTierPower: number;
  confidence: number;
  expectedDelta: number;
  /** Cases routed to each tier (null: no number of cases can show it, the planned delta is at or below −margin). */
  casesPerTier: number | null;
  totalCases: number | null;
  /** Below this many cases a tier cannot pass even when no case disagrees. */
  minimumCases: number;
  /** The same plan over a range of disagreement rates, for when the rate is a guess. */
  byDisagreement: { disagreement: number; casesPerTier: number | null }[];
}

export function plan(opts: PlanOptions = {}): PlanResult {
  const p = {
    baselinePassRate: opts.baselinePassRate ?? 0.8,
    disagreement: opts.disagreement ?? 0.15,
    margin: opts.margin ?? DEFAULT_MAX_REGRESSION,
    tiers: opts.tiers ?? 1,
    power: opts.power ?? 0.8,
    confidence: opts.confidence ?? DEFAULT_CONFIDENCE,
    expectedDelta: opts.expectedDelta ?? 0,
  };
  const bad = (name: string, want: string, v: number) => new UsageError(`plan: ${name} is ${v}, expected ${want}`);
  if (!(p.margin > 0 && p.margin < 1)) throw bad('--margin', 'a fraction between 0 and 1 (0.05 = 5 points)', p.margin);
  if (!(p.disagreement > 0 && p.disagreement <= 1)) throw bad('--disagreement', 'a fraction above 0 (0.15 = the models disagree on 15% of cases)', p.disagreement);
  if (!Number.isInteger(p.tiers) || p.tiers < 1 || p.tiers > 100) throw bad('--tiers', 'a whole number from 1 to 100', p.tiers);
  if (Math.abs(p.expectedDelta) > p.disagreement) {
    throw bad('--expected-delta', `at most the disagreement rate in size (each point of delta is a disagreeing case): |δ| ≤ ${p.disagreement}`, p.expectedDelta);
  }
  const tierPower = perTierPower(p.power, p.tiers);
  const casesAt = (disagreement: number) =>
    pairedNonInferiorityCases({ margin: p.margin, discordance: disagreement, delta: p.expectedDelta, confidence: p.confidence, power: tierPower, baselinePassRate: p.baselinePassRate });
  const casesPerTier = casesAt(p.disagreement);
  return {
    ...p,
    perTierPower: tierPower,
    casesPerTier,
    totalCases: casesPerTier === null ? null : casesPerTier * p.tiers,
    minimumCases: minimumCasesWithoutDisagreement(p.margin, p.confidence, p.baselinePassRate),
    byDisagreement: [0.05, 0.1, 0.15, 0.2, 0.25, 0.3]
      .filter((d) => d >= Math.abs(p.expectedDelta))
      .map((disagreement) => ({ disagreement, casesPerTier: casesAt(disagreement) })),
  };
}
