/**
 * `run --sequential`: the engine is called in stages, one per look, on the cases the still-undecided
 * tiers need next (see gate/sequential.ts for the design). Between stages the looks are replayed over
 * everything stored so far, so a resumed run re-derives the same stops from its stored calls and only
 * makes the calls it never made.
 */
import type { CallOutcome, Case, Routing, SequentialDesign } from '../core/types.js';
import { runCases, type EngineOptions, type EngineResult } from '../engine/run-cases.js';
import type { DecideOptions, GateVerdict } from '../gate/decide.js';
import { replayLooks, sequentialOrder } from '../gate/sequential.js';

export interface StagedRunInput {
  /** Everything the engine needs except the cases of a stage and the calls already made. */
  engine: Omit<EngineOptions, 'cases' | 'previous'>;
  cases: Case[];
  /** Calls stored by an earlier invocation of this run (resume). */
  previous: CallOutcome[];
  routing: Pick<Routing, 'baseline' | 'tiers'> & { file?: string };
  design: SequentialDesign;
  decide: DecideOptions;
}

export interface StagedRunResult {
  /** All stages together, as one engine run would report them. */
  engine: EngineResult;
  tiers: GateVerdict[];
}

export async function runSequentialStages(input: StagedRunInput): Promise<StagedRunResult> {
  const { engine: engineOptions, design, routing } = input;
  const order = sequentialOrder(
    input.cases.map((c) => c.id),
    engineOptions.tierOf,
    design.seed,
  );
  const caseById = new Map(input.cases.map((c) => [c.id, c]));
  const all: EngineResult = { results: [], outcomes: [], interrupted: false, notAttempted: 0, spentUsd: 0 };
  const onProgress = engineOptions.onProgress;
  const replay = () => replayLooks({ ...input.decide, routing, design, order, results: all.results });

  let looks = replay();
  // Each stage completes at least one look of every tier it runs, so K stages finish any design.
  for (let stage = 0; stage < design.looks && looks.pending.length > 0; stage++) {
    const doneBefore = all.outcomes.length;
    const result = await runCases({
      ...engineOptions,
      cases: looks.pending.map((id) => caseById.get(id)!),
      previous: [...input.previous, ...all.outcomes],
      ...(onProgress
        ? { onProgress: (e) => onProgress({ ...e, done: e.done + doneBefore, total: e.total + doneBefore }) }
        : {}),
    });
    all.results.push(...result.results);
    all.outcomes.push(...result.outcomes);
    all.notAttempted += result.notAttempted;
    // With a cost cap the engine's budget starts from every earlier call, so its figure is already the total.
    all.spentUsd = engineOptions.maxCostUsd !== undefined ? result.spentUsd : all.spentUsd + result.spentUsd;
    all.interrupted ||= result.interrupted;
    if (result.interrupted || result.notAttempted > 0) break;
    looks = replay();
  }
  return { engine: all, tiers: looks.verdicts };
}
