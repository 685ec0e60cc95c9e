import { gateExitCode } from '../gate/outcome.js';
import { summaryOutcome } from '../report/verdict-text.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import { formatRunSummary } from '../report/console.js';
import { table } from '../report/format.js';
import { openStore } from '../store/sqlite-store.js';
import { useColor } from './output.js';

function openExisting(db: string) {
  const file = resolve(db);
  if (!existsSync(file)) throw new UsageError(`no results database at ${file}\n  → run a suite first (evalroute run suites/<name>) or pass --db FILE`);
  return openStore(file, { readonly: true });
}

export function runsCommand(opts: { db: string; limit: number }): number {
  const store = openExisting(opts.db);
  try {
    const runs = store.listRuns(opts.limit);
    if (!runs.length) {
      process.stdout.write('no runs stored yet\n');
      return 0;
    }
    const rows = runs.map((r) => [
      r.id,
      r.suite,
      r.startedAt.replace('T', ' ').slice(0, 19),
      r.status,
      r.summary ? summaryOutcome(r.summary).toUpperCase() : '—',
      r.routingFile.split('/').slice(-2).join('/'),
      r.routingHash.slice(0, 10),
      r.gitCommit?.slice(0, 8) ?? '—',
    ]);
    process.stdout.write(`${table(['run', 'suite', 'started (UTC)', 'status', 'gate', 'routing', 'hash', 'commit'], rows)}\n`);
    return 0;
  } finally {
    store.close();
  }
}

export function showCommand(runId: string, opts: { db: string; json?: boolean }): number {
  const store = openExisting(opts.db);
  try {
    const run = store.getRun(runId);
    if (!run) throw new UsageError(`no run "${runId}" in ${opts.db}\n  → list runs with: evalroute runs`);
    if (!run.summary) {
      process.stdout.write(`run ${run.id} (${run.suite}) is ${run.status} and has no result yet; continue it with --resume ${run.id}\n`);
      return 3;
    }
    process.stdout.write(opts.json ? `${JSON.stringify(run.summary, null, 2)}\n` : `${formatRunSummary(run.summary, { color: useColor() })}\n`);
    return gateExitCode({ status: run.summary.status, outcome: summaryOutcome(run.summary) });
  } finally {
    store.close();
  }
}

export async function reportCommand(runId: string, opts: { output?: string; baseRun?: string; db: string }): Promise<number> {
  const { writeRunReport } = await import('./report-writer.js');
  const file = resolve(opts.db);
  if (!existsSync(file)) throw new UsageError(`no results database at ${file}`);
  const out = opts.output ?? `reports/${runId}.html`;
  writeRunReport(file, runId, out, opts.baseRun ? { baseRunId: opts.baseRun } : {});
  process.stdout.write(`${out}\n`);
  return 0;
}
