/**
 * `evalroute gate --routing head.yaml --base-routing base.yaml`: the routing PR check. The head rules
 * are run (normal cache, so only pairs never stored before are called; or `--offline`), the base rules
 * are scored from the same store, and the difference is explained case by case: which cases moved
 * tier, and what that did to quality and cost. The exit code is the head's gate.
 */
import { resolve } from 'node:path';
import { passed } from '../core/calls.js';
import { loadRouting } from '../config/load.js';
import type { GateExitCode } from '../gate/outcome.js';
import type { CaseResult, RunSummary } from '../core/types.js';
import { RunIncompleteError, StoreError } from '../core/errors.js';
import type { RunDeadline } from '../engine/deadline.js';
import { formatDuration } from '../core/format.js';
import { loadProject, runUnder, underDeadline, type RunOptions, type RunResult } from './run.js';
import { costPer1k, openScorer, overallScore, savingsOf, type OverallScore, type RoutingScore, type ScoredRouting } from './simulate.js';
import { byCodeUnits } from '../core/compare.js';

/** How a gate stopped part-way (deadline, cost cap, failing store) is continued: stored answers are reused. */
const GATE_RERUN = 'the same `evalroute gate` command again (it reuses the answers already stored)';

/** `deadlineMs` (`--deadline`) bounds the whole gate: the base rules' fill and the head run together. */
export interface GateOptions extends Omit<RunOptions, 'routing' | 'cache' | 'resume'> {
  /** Head routing file (the PR's). */
  routing: string;
  /** Base routing file (the target branch's). */
  baseRouting: string;
  /** No network: head is replayed from the store only, base pairs missing from it are listed. */
  offline?: boolean;
  /** Examples listed per transition. Default 5. */
  examples?: number;
  /** Called before base pairs missing from the store are filled by a run of the base rules. */
  onBaseFill?: (missing: number) => void;
}

export interface TierTransition {
  from: string;
  to: string;
  fromModel: string;
  toModel: string;
  cases: number;
  examples: string[];
}

/** One moved case that passed under the base routing and fails under the head. */
export interface MovedCase {
  caseId: string;
  from: string;
  to: string;
  fromModel: string;
  toModel: string;
}

export interface MovedCases {
  /** Cases whose tier differs between base and head (and that both sides could score). */
  cases: number;
  transitions: TierTransition[];
  /** The moved cases this change broke: passed as base routes them, fail as head routes them (suite order). */
  regressed: MovedCase[];
  /** Pass rate of the moved cases as base routes them, and as head routes them. */
  basePassRate: number;
  headPassRate: number;
  delta: number;
  /** USD per 1,000 of the moved cases' requests under each routing; null when unpriced. */
  baseCostPer1k: number | null;
  headCostPer1k: number | null;
  savings: number | null;
  /** Moved cases left out because one side has no stored answer. */
  unscored: number;
}

export interface GateResult {
  head: RunResult;
  headOverall: OverallScore;
  base: RoutingScore;
  moved: MovedCases;
  /** The head's gate: 0 every tier shown to hold, 1 a tier failed, 3 incomplete, 4 not decided. */
  exitCode: GateExitCode;
}

/** The `--json` document of `evalroute gate`: the head's run summary plus `base` and `moved`. */
export interface GateJson extends RunSummary {
  overall: OverallScore;
  base: Omit<RoutingScore, 'assignment'>;
  moved: MovedCases;
}

export function gate(opts: GateOptions): Promise<GateResult> {
  return underDeadline(opts.deadlineMs, (deadline) => gateWithin(opts, deadline));
}

async function gateWithin(opts: GateOptions, deadline: RunDeadline | undefined): Promise<GateResult> {
  const scorerOpts = {
    suiteDir: opts.suiteDir,
    ...(opts.config ? { config: opts.config } : {}),
    ...(opts.db ? { db: opts.db } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.allowPaths ? { allowPaths: opts.allowPaths } : {}),
  };
  // Bad input must fail before anything runs or is stored. Runs change stored results only, so the
  // config, suite and base routing loaded here serve every scoring below.
  const project = loadProject({ ...scorerOpts, routing: opts.routing });
  const baseRouting = loadRouting(resolve(opts.cwd ?? process.cwd(), opts.baseRouting), project.config);
  const scoreBase = async (): Promise<ScoredRouting> => {
    const scorer = await openScorer(scorerOpts, project);
    try {
      return await scorer.scoreRouting(baseRouting);
    } finally {
      scorer.close();
    }
  };

  // Fill base pairs the store lacks before the head runs, so the head's run stays the latest one.
  // Scored in full already, the base is not scored again: the head's run adds nothing it reads (its
  // calls for the same requests are answered from the cache; a gateway's answers are stored as the
  // gateway's, which the base never reads).
  let base: ScoredRouting | undefined;
  if (!opts.offline) {
    try {
      base = await scoreBase();
    } catch (e) {
      if (!(e instanceof StoreError)) throw e; // no results database yet
    }
    const missing = base ? base.score.missing.length : Infinity;
    if (missing > 0) {
      base = undefined;
      opts.onBaseFill?.(missing);
      const { onStart: _s, onProgress: _p, ...quiet } = runOptions(opts);
      // The base rules are scored offline: a gateway in the loop serves only the head.
      const fill = await runUnder({ ...quiet, routing: opts.baseRouting, cache: 'use', through: false }, deadline, GATE_RERUN);
      if (deadline?.reason !== undefined) {
        const saved = fill.summary.models.reduce((n, m) => n + m.calls, 0);
        throw new RunIncompleteError(
          `gate stopped by its --deadline of ${formatDuration(deadline.limitMs)} while filling the base rules' missing answers ` +
            `(${deadline.reason}); the head did not run, ${saved} answers of the base run ${fill.runId} are saved\n` +
            '  → run the same command again: answers already stored are reused (with a longer --deadline if needed)',
        );
      }
    }
  }
  const head = await runUnder(
    { ...runOptions(opts), routing: opts.routing, ...(opts.offline ? { cache: 'offline', through: false } : { cache: 'use' }) },
    deadline,
    GATE_RERUN,
  );
  base ??= await scoreBase();
  return {
    head,
    headOverall: overallScore(head.results),
    base: base.score,
    moved: movedCases(base.results, head.results, base.score.assignment, opts.examples ?? 5),
    exitCode: head.exitCode,
  };
}

export function gateJson(result: GateResult): GateJson {
  const { assignment: _assignment, ...base } = result.base;
  return { ...result.head.summary, overall: result.headOverall, base, moved: result.moved };
}

function runOptions(opts: GateOptions): RunOptions {
  const { routing: _h, baseRouting: _b, offline: _o, examples: _e, onBaseFill: _f, deadlineMs: _d, ...rest } = opts;
  return rest;
}

/**
 * Cases whose tier differs between the two routings, grouped by transition, and the moved cases'
 * quality and cost under each. Tiers are compared by name; a case also "moves" when its tier keeps
 * its name but the head points that tier at another model.
 */
export function movedCases(
  baseResults: readonly CaseResult[],
  headResults: readonly CaseResult[],
  baseAssignment: Record<string, string>,
  examples = 5,
): MovedCases {
  const base = new Map(baseResults.map((r) => [r.caseId, r]));
  const transitions = new Map<string, TierTransition>();
  const pairs: { base: CaseResult; head: CaseResult }[] = [];
  const regressed: MovedCase[] = [];
  let unscored = 0;
  for (const h of headResults) {
    const b = base.get(h.caseId);
    const fromTier = b?.tier ?? baseAssignment[h.caseId];
    if (fromTier === undefined) continue;
    if (b && fromTier === h.tier && b.candidate.modelKey === h.candidate.modelKey) continue;
    if (!b) {
      if (fromTier !== h.tier) unscored++;
      continue;
    }
    pairs.push({ base: b, head: h });
    const key = `${fromTier}\u0000${h.tier}\u0000${b.candidate.modelKey}\u0000${h.candidate.modelKey}`;
    const t = transitions.get(key) ?? { from: fromTier, to: h.tier, fromModel: b.candidate.modelKey, toModel: h.candidate.modelKey, cases: 0, examples: [] };
    t.cases++;
    if (t.examples.length < examples) t.examples.push(h.caseId);
    transitions.set(key, t);
    // An errored call is no evidence either way (it is left out of every comparison).
    if (passed(b.candidate) && !h.candidate.error && !h.candidate.pass) regressed.push({ caseId: h.caseId, from: t.from, to: t.to, fromModel: t.fromModel, toModel: t.toModel });
  }
  const n = pairs.length;
  const basePassRate = n ? pairs.filter((p) => passed(p.base.candidate)).length / n : 0;
  const headPassRate = n ? pairs.filter((p) => passed(p.head.candidate)).length / n : 0;
  const baseCost = costPer1k(pairs.map((p) => p.base.candidate));
  const headCost = costPer1k(pairs.map((p) => p.head.candidate));
  return {
    cases: n,
    transitions: [...transitions.values()].sort((a, b) => b.cases - a.cases || byCodeUnits(a.from, b.from) || byCodeUnits(a.to, b.to)),
    regressed,
    basePassRate,
    headPassRate,
    delta: headPassRate - basePassRate,
    baseCostPer1k: baseCost,
    headCostPer1k: headCost,
    savings: savingsOf(headCost, baseCost),
    unscored,
  };
}
