import type { CallOutcome, CaseResult, GateThresholds, Outcome } from '../core/types.js';
import type { PairedCounts } from '../stats/newcombe.js';
import { simulatePairedTable, type PairedScenario } from '../stats/simulate-paired.js';
import { decideTier } from './decide.js';

/**
 * How often the gate's own rule ends in each outcome for a tier of a given size and true delta, over
 * seeded simulated paired tables. The figures in docs/statistics.md come from here
 * (scripts/operating-characteristics.mjs) and test/sample-size.test.ts re-measures a subset.
 */
export function measureOutcomes(scenario: Omit<PairedScenario, 'seed'> & { trials: number; gate?: GateThresholds }): Record<Outcome, number> {
  const tally: Record<Outcome, number> = { pass: 0, fail: 0, inconclusive: 0 };
  for (let t = 0; t < scenario.trials; t++) {
    const table = simulatePairedTable({ ...scenario, seed: 1_000_003 * t + scenario.n });
    const verdict = decideTier({ tier: { name: 'tier', model: 'candidate', gate: scenario.gate ?? {} }, baselineModel: 'baseline', results: tableResults(table), resamples: 1 });
    tally[verdict.outcome]++;
  }
  return { pass: tally.pass / scenario.trials, fail: tally.fail / scenario.trials, inconclusive: tally.inconclusive / scenario.trials };
}

/** A paired table as the case results the gate reads. */
export function tableResults({ a, b, c, d }: PairedCounts): CaseResult[] {
  const out: CaseResult[] = [];
  const call = (caseId: string, modelKey: string, pass: boolean): CallOutcome => ({ caseId, modelKey, repeat: 0, requestHash: '', grades: [], pass, score: pass ? 1 : 0 });
  for (const [count, base, cand] of [[a, true, true], [b, true, false], [c, false, true], [d, false, false]] as const) {
    for (let i = 0; i < count; i++) {
      const id = `c${String(out.length).padStart(6, '0')}`;
      out.push({ caseId: id, tier: 'tier', baseline: call(id, 'baseline', base), candidate: call(id, 'candidate', cand) });
    }
  }
  return out;
}
