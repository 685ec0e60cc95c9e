/**
 * `evalroute merge <db…> -o merged.db` as a library call: merges shard stores (`run --shard i/n`), then
 * decides each new or changed merged run from its stored calls (the same `decideAll` a single run uses)
 * and stores that result, so `show`, `report` and `runs` treat the merged run like any other, and a
 * sharded run gives the verdict one unsharded run gives.
 */
import { ConfigError, EvalrouteError, formatLocation, UsageError } from '../core/errors.js';
import type { RepeatPolicy, Routing, RunRecord, RunSummary } from '../core/types.js';
import { loadStoredRouting } from '../config/load.js';
import { summarizeModels } from '../engine/summarize.js';
import { applyCostReport, costReport } from '../gate/cost.js';
import { decideAll } from '../gate/decide.js';
import { concludeSummary } from '../gate/outcome.js';
import { flakyCases } from '../gate/repeats.js';
import { selectionBiasWarning } from '../routing/provenance.js';
import { mergeStores, pairRunResults, type MergeResult } from '../store/merge.js';
import { openStore, type SqliteStore } from '../store/sqlite-store.js';

export interface MergeOptions {
  /** The shard stores (`run --shard i/n --db FILE`); the latest run of each is merged. */
  inputs: readonly string[];
  /** The merged store; created, or added to when it exists. */
  output: string;
  /** Each merged run must combine exactly this many shard runs (a missing shard artifact is an error). */
  shards?: number;
}

export interface MergeRunsResult extends MergeResult {
  /** The verdict of each merged run, in `merged` order: recomputed when the run is new or changed, else as stored. */
  summaries: RunSummary[];
}

/** Merges the stores and stores each merged run's verdict. Never exits: the verdict is gated by `show`. */
export async function merge(opts: MergeOptions): Promise<MergeRunsResult> {
  const result = mergeStores([...opts.inputs], opts.output, opts.shards !== undefined ? { expectShards: opts.shards } : {});
  const store = openStore(result.output);
  const summaries: RunSummary[] = [];
  try {
    for (const m of result.merged) {
      const run = store.getRun(m.id)!;
      if (m.change === 'unchanged' && run.summary) {
        summaries.push(run.summary);
        continue;
      }
      const summary = recomputeSummary(store, run, gateOptionsOf(m.sources.map((src) => store.getRun(src.runId)?.summary)));
      store.finishRun(run.id, summary.status, summary);
      summaries.push(summary);
    }
  } finally {
    store.close();
  }
  return { ...result, summaries };
}

/** How the shards were gated, so the merged run is gated the same way. */
export interface MergedGateOptions {
  /** `--monthly-requests` of the shard runs: enables the projection and the routing file's budgets. */
  monthlyRequests?: number;
  /** `--repeat` / `--repeat-policy` of the shard runs. */
  repeats?: { samples: number; policy: RepeatPolicy };
}

/**
 * The gate options the shard runs used, read from their stored summaries. Shards of one CI matrix are
 * run with the same flags; if they disagree, the merged verdict would be one neither asked for.
 */
function gateOptionsOf(summaries: Array<RunSummary | undefined>): MergedGateOptions {
  const known = summaries.filter((s): s is RunSummary => s !== undefined && s.status !== 'running');
  const monthly = new Set(known.map((s) => s.cost?.projection?.monthlyRequests));
  const policies = new Set(known.map((s) => (s.repeats ? `${s.repeats.samples}\u0000${s.repeats.policy}` : undefined)));
  if (monthly.size > 1 || policies.size > 1) {
    throw new UsageError(
      'the shard runs were gated with different options (--monthly-requests or --repeat/--repeat-policy), so no merged verdict stands for all of them\n  → run every shard with the same flags, then merge again',
    );
  }
  const opts: MergedGateOptions = {};
  const m = [...monthly][0];
  if (m !== undefined) opts.monthlyRequests = m;
  const r = known[0]?.repeats;
  if (r) opts.repeats = { samples: r.samples, policy: r.policy };
  return opts;
}

/**
 * The verdict of a stored run recomputed from its calls: what `run()` would have decided had all its
 * cases been one run. Tiers, gates and budgets come from the config and routing file stored with the
 * run, rebuilt as the run built them; the traffic figure and repeat policy from `opts` (the shards' own,
 * see gateOptionsOf).
 */
export function recomputeSummary(store: Pick<SqliteStore, 'getCases' | 'getCalls'>, run: RunRecord, opts: MergedGateOptions = {}): RunSummary {
  const routing = storedRouting(run);
  // Each of the run's tables is read once: the verdict, usage and cost all work from these rows.
  const storedCases = store.getCases(run.id);
  const outcomes = store.getCalls(run.id);
  const results = pairRunResults(run.baseline, storedCases, outcomes, routing.tiers);
  const tiers = decideAll(routing, results, opts.repeats ? { repeatPolicy: opts.repeats.policy } : {});
  const status = run.status === 'running' ? 'interrupted' : run.status;
  const summary: RunSummary = {
    runId: run.id,
    suite: run.suite,
    status,
    pass: false, // concluded with the cost report below
    tiers,
    models: summarizeModels(outcomes, [routing.baseline, ...[...routing.tiers.values()].map((t) => t.model)]),
    ...(opts.repeats ? { repeats: { ...opts.repeats, flaky: flakyCases(results) } } : {}),
  };
  // Stored costs are what each shard computed at the configured prices, so no model prices are needed here.
  const cases = storedCases.map((c) => ({ id: c.caseId, ...(c.case.task ? { task: c.case.task } : {}), ...(c.case.metadata ? { metadata: c.case.metadata } : {}) }));
  concludeSummary(
    applyCostReport(
      summary,
      costReport({ results, outcomes, routing, models: new Map(), cases, ...(opts.monthlyRequests !== undefined ? { monthlyRequests: opts.monthlyRequests } : {}) }),
    ),
  );
  const selectionBias = selectionBiasWarning(run.routingContent, run.suite, cases.map((c) => c.id));
  if (selectionBias) summary.warnings = [selectionBias];
  if (status !== 'complete') {
    for (const t of summary.tiers) t.reasons.push(`run ${status}: a shard run was not complete, so this merged run is not either; resume that shard and merge again`);
  }
  return summary;
}

/**
 * The run's routing, rebuilt from its stored texts. A failure names the run; a file problem is in the
 * stored copy (the user's file may well be fine now), so its own hint about editing the file is left out.
 */
function storedRouting(run: RunRecord): Routing {
  try {
    return loadStoredRouting(run);
  } catch (e) {
    if (!(e instanceof EvalrouteError)) throw e;
    const cause = e instanceof ConfigError ? `the stored copy of ${formatLocation(e.location)}: ${e.problem}` : e.message;
    throw new UsageError(
      `run ${run.id}: the config and routing file stored with it no longer build its routing: ${cause}\n` +
        '  → merge with the evalroute version (and provider plugins) the shards ran with, in the project they ran in',
    );
  }
}
