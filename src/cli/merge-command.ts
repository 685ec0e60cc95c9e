import { parse as parseYaml } from 'yaml';
import { UsageError } from '../core/errors.js';
import type { Budget, GateThresholds, RepeatPolicy, RunRecord, RunSummary, TierConfig } from '../core/types.js';
import { routingSchema } from '../config/schemas.js';
import { summarizeModels } from '../engine/summarize.js';
import { applyCostReport, costReport } from '../gate/cost.js';
import { decideAll } from '../gate/decide.js';
import { concludeSummary } from '../gate/outcome.js';
import { flakyCases } from '../gate/repeats.js';
import { formatRunSummary } from '../report/console.js';
import { mergeStores, mergedRunResults, type MergeResult } from '../store/merge.js';
import { openStore, type SqliteStore } from '../store/sqlite-store.js';
import { useColor } from './output.js';
import { selectionBiasWarning } from '../routing/provenance.js';

export interface MergeFlags {
  output: string;
  shards?: number;
  json?: boolean;
  quiet?: boolean;
}

/**
 * `evalroute merge <db…> -o merged.db`: merges shard stores, then decides each new or changed merged
 * run from its stored calls (the same `decideAll` a single run uses) and stores that result, so `show`,
 * `report` and `runs` treat the merged run like any other. Exit 0 when the merge succeeded, whatever
 * the verdict: `evalroute show <id>` is the gate.
 */
export async function mergeCommand(inputs: string[], flags: MergeFlags): Promise<number> {
  const result = mergeStores(inputs, flags.output, flags.shards !== undefined ? { expectShards: flags.shards } : {});
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
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ ...result, summaries }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(describe(result));
  if (!flags.quiet) for (const s of summaries) process.stdout.write(`\n${formatRunSummary(s, { color: useColor() })}\n`);
  return 0;
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
export function gateOptionsOf(summaries: Array<RunSummary | undefined>): MergedGateOptions {
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
 * cases been one run. Gate thresholds and budgets come from the routing file stored with the run; the
 * traffic figure and repeat policy from `opts` (the shards' own, see gateOptionsOf).
 */
export function recomputeSummary(store: SqliteStore, run: RunRecord, opts: MergedGateOptions = {}): RunSummary {
  const routing = storedRouting(run);
  const results = mergedRunResults(store, run.id);
  const outcomes = store.getCalls(run.id);
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
  // Stored costs are what each shard computed at the configured prices, so no config is needed here.
  const cases = store.getCases(run.id).map((c) => ({ id: c.caseId, ...(c.case.task ? { task: c.case.task } : {}), ...(c.case.metadata ? { metadata: c.case.metadata } : {}) }));
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

function storedRouting(run: RunRecord): { file: string; baseline: string; tiers: Map<string, TierConfig>; budgets: Budget[] } {
  const parsed = routingSchema.safeParse(safeYaml(run.routingContent));
  if (!parsed.success) {
    throw new UsageError(`run ${run.id}: its stored routing file (${run.routingFile}) no longer reads as a routing file: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  const tiers = new Map<string, TierConfig>();
  for (const [name, t] of Object.entries(parsed.data.tiers)) {
    const gate: GateThresholds = {};
    for (const [k, v] of Object.entries({ ...parsed.data.gate, ...t.gate })) if (v !== undefined) (gate as Record<string, unknown>)[k] = v;
    tiers.set(name, { name, model: t.model, gate });
  }
  // Budgets as the loader normalises them (alertAt defaults to 0.7), so merged runs are held to them too.
  const budgets: Budget[] = (parsed.data.budgets ?? []).map((b) => ({
    useCase: b.useCase,
    ...(b.frontierTokensPerMonth !== undefined ? { frontierTokensPerMonth: b.frontierTokensPerMonth } : {}),
    ...(b.usdPerMonth !== undefined ? { usdPerMonth: b.usdPerMonth } : {}),
    alertAt: b.alertAt ?? 0.7,
  }));
  return { file: run.routingFile, baseline: run.baseline, tiers, budgets };
}

function safeYaml(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return undefined;
  }
}

function describe(result: MergeResult): string {
  const lines = [`Merged into ${result.output}: ${result.runsAdded} runs added, ${result.runsUpdated} updated, ${result.callsAdded} calls added`];
  for (const m of result.merged) {
    lines.push(
      `  ${m.change === 'unchanged' ? 'unchanged' : m.change} merged run ${m.id} · suite ${m.suite} · ${m.cases} cases · ${m.calls} calls · ${m.status}`,
      ...m.sources.map((s) => `    ← ${s.runId} (${s.status}, ${s.cases} cases) from ${s.db}`),
    );
  }
  lines.push(`Gate with: evalroute show ${result.merged[0]?.id ?? 'latest'} --db ${result.output}`);
  return `${lines.join('\n')}\n`;
}
