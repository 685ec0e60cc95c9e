import { resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import { openStore } from '../store/sqlite-store.js';
import { run, type RunOptions, type RunResult } from './run.js';

export interface CollectOptions extends Omit<RunOptions, 'suiteDir' | 'routing' | 'resume' | 'batch' | 'db'> {
  runId: string;
  /** The database holding the run. */
  db: string;
  pollIntervalMs?: number;
}

/**
 * `evalroute batch collect <run-id>`: finishes a run left `running` by `run --batch --no-wait`. It
 * resumes the stored run with its own suite folder and routing file, waits for its submitted batches,
 * makes direct calls for whatever they did not answer, and gates — the same result `run --batch` gives.
 */
export async function collectRun(opts: CollectOptions): Promise<RunResult> {
  const { runId, db, pollIntervalMs, ...rest } = opts;
  const dbFile = resolve(opts.cwd ?? process.cwd(), db);
  const store = openStore(dbFile);
  let record;
  try {
    record = store.getRun(runId);
  } finally {
    store.close();
  }
  if (!record) throw new UsageError(`no run with id "${runId}" in ${dbFile}\n  → list runs with: evalroute runs --db ${db}`);
  if (record.status === 'complete') throw new UsageError(`run ${runId} is already complete; its batches were collected (see: evalroute show ${runId})`);
  return run({
    ...rest,
    suiteDir: record.suiteDir,
    routing: record.routingFile,
    db: dbFile,
    resume: runId,
    batch: { wait: true, ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}) },
    through: false,
  });
}
