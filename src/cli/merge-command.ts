import { merge } from '../api/merge.js';
import { formatRunSummary } from '../report/console.js';
import type { MergeResult } from '../store/merge.js';
import { useColor } from './output.js';

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
  const { summaries, ...result } = await merge({ inputs, output: flags.output, ...(flags.shards !== undefined ? { shards: flags.shards } : {}) });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ ...result, summaries }, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(describe(result));
  if (!flags.quiet) for (const s of summaries) process.stdout.write(`\n${formatRunSummary(s, { color: useColor() })}\n`);
  return 0;
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
