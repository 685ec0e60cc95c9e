import type { Outcome, RunSummary, TierVerdict } from '../core/types.js';

/**
 * Exit codes of a gate (run, gate, merge, batch collect): 0 every tier shown to hold, 1 a tier failed or
 * a budget is over, 3 the run is incomplete, 4 not decided — no tier failed, a blocking tier needs more
 * cases. (2, bad input, is thrown as an error before any verdict exists.)
 */
export type GateExitCode = 0 | 1 | 3 | 4;

/**
 * The gate's conclusion from its tiers: FAIL when any tier failed; INCONCLUSIVE when none failed and a
 * tier that blocks on it (the default) is not decided; PASS otherwise.
 */
export function gateOutcome(tiers: readonly Pick<TierVerdict, 'outcome' | 'onInconclusive'>[]): Outcome {
  if (tiers.some((t) => t.outcome === 'fail')) return 'fail';
  if (tiers.some((t) => t.outcome === 'inconclusive' && t.onInconclusive !== 'warn')) return 'inconclusive';
  return 'pass';
}

/**
 * Sets the summary's `outcome` and `pass` from its status, tiers and budgets. A run that is not complete
 * decides nothing: its tiers are marked NOT DECIDED (their figures stay in the reasons), so no report
 * can show a PASS above "RUN INTERRUPTED".
 */
export function concludeSummary(summary: RunSummary): RunSummary {
  if (summary.status !== 'complete') {
    for (const t of summary.tiers) {
      if (t.model === t.baselineModel || t.undecided) continue;
      t.undecided = 'run-incomplete';
      t.headline = `NOT DECIDED — run ${summary.status}; on the results so far: ${t.headline}`;
      t.outcome = 'inconclusive';
      t.pass = false;
    }
  }
  const overBudget = (summary.budgets ?? []).some((b) => b.status === 'fail');
  const outcome = overBudget ? 'fail' : gateOutcome(summary.tiers);
  summary.outcome = summary.status === 'complete' ? outcome : 'inconclusive';
  summary.pass = summary.outcome === 'pass';
  return summary;
}

export function gateExitCode(summary: Pick<RunSummary, 'status' | 'outcome'>): GateExitCode {
  if (summary.status !== 'complete') return 3;
  return summary.outcome === 'fail' ? 1 : summary.outcome === 'inconclusive' ? 4 : 0;
}
