import type { BatchStatusEvent } from '../api/batch.js';
import { collectRun } from '../api/batch-collect.js';
import { run, type RunOptions, type RunResult } from '../api/run.js';
import { projectFlags } from '../api/project.js';
import { parseShard } from '../engine/shard.js';
import { LIMITS } from '../config/limits.js';
import { formatRunSummary } from '../report/console.js';
import { usd } from '../report/format.js';
import type { CollectFlags, RunFlags } from './main.js';
import { useColor } from './output.js';
import { describeRetryWait, progressReporter } from './progress.js';
import { DEFAULT_MAX_RETRY_AFTER_MS } from '../engine/retry.js';
import { checkOutputPaths, writeRunOutputs } from './run-outputs.js';

/** The options both `run` and `batch collect` take from the command line and the console. */
type Common = Pick<RunOptions, 'signal' | 'onStart' | 'onProgress' | 'onBatchStatus' | 'onGateway' | 'onRetryWait'>;

/** `evalroute run`: returns the exit code (0 every tier shown to hold, 1 failed, 3 incomplete, 4 not decided); errors propagate to main. */
export function runCommand(suiteDir: string, flags: RunFlags): Promise<number> {
  if (flags.looks !== undefined && !flags.sequential) process.stderr.write('evalroute: --looks has no effect without --sequential\n');
  if (flags.wait === false && !flags.batch) process.stderr.write('evalroute: --no-wait has no effect without --batch\n');
  return execute(flags, (common) =>
    run({
      suiteDir,
      ...(flags.config ? { config: flags.config } : {}),
      ...(flags.routing ? { routing: flags.routing } : {}),
      ...(flags.db ? { db: flags.db } : {}),
      ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
      cache: flags.offline ? 'offline' : flags.cache ? 'use' : 'refresh',
      ...(flags.resume !== undefined ? { resume: flags.resume } : {}),
      ...(flags.through !== undefined ? { through: flags.through } : {}),
      ...(flags.sequential ? { sequential: flags.looks !== undefined ? { looks: flags.looks } : {} } : {}),
      ...(flags.maxRetryWait !== undefined ? { retry: { maxRetryAfterMs: flags.maxRetryWait * 1000 } } : {}),
      ...(flags.deadline !== undefined ? { deadlineMs: flags.deadline } : {}),
      ...(flags.batch ? { batch: { wait: flags.wait !== false, ...(flags.pollInterval ? { pollIntervalMs: flags.pollInterval } : {}) } } : {}),
      ...gateOptions(flags),
      ...common,
    }),
  );
}

/** `evalroute batch collect <run-id>`: finishes a `run --batch --no-wait`; same exit codes as run. */
export function batchCollectCommand(runId: string, flags: CollectFlags & { db: string }): Promise<number> {
  return execute(flags, (common) =>
    collectRun({
      runId,
      db: flags.db,
      ...(flags.pollInterval ? { pollIntervalMs: flags.pollInterval } : {}),
      ...(flags.config ? { config: flags.config } : {}),
      ...gateOptions(flags),
      ...common,
    }),
  );
}

function gateOptions(flags: CollectFlags) {
  return {
    ...(flags.allowPath ? { allowPaths: flags.allowPath } : {}),
    maxErrorRate: flags.maxErrorRate,
    ...(flags.monthlyRequests !== undefined ? { monthlyRequests: flags.monthlyRequests } : {}),
    ...(flags.allowUnreviewed ? { allowUnreviewed: true } : {}),
    ...(flags.shard ? { shard: parseShard(flags.shard, LIMITS.shards) } : {}),
    ...(flags.repeat ? { repeats: flags.repeat, repeatPolicy: flags.repeatPolicy } : {}),
    ...(flags.maxCost !== undefined ? { maxCostUsd: flags.maxCost } : {}),
  };
}

function batchLine(e: BatchStatusEvent): string {
  switch (e.kind) {
    case 'submitted':
      return `batch ${e.batchId} submitted for model "${e.modelKey}": ${e.items} requests`;
    case 'fallback':
      return `warning: model "${e.modelKey}": ${e.message}`;
    case 'status': {
      const c = e.state.counts;
      return `batch ${e.state.batchId} (${e.modelKey}): ${e.state.status}${c ? ` — ${c.succeeded} done, ${c.failed} failed, ${c.pending} pending of ${c.total}` : ''}`;
    }
    case 'collected':
      return `batch ${e.batchId} collected for model "${e.modelKey}": ${e.answered} answered${e.failed ? `, ${e.failed} to call directly` : ''}`;
  }
}

async function execute(flags: CollectFlags, start: (common: Common) => Promise<RunResult>): Promise<number> {
  const tableStream = checkOutputPaths(flags, process.env);
  const controller = new AbortController();
  let signals = 0;
  // Both ways out end with exit 3 ("run incomplete"), as documented: CI scripts read 3 as "resume me".
  const stop = (name: string) => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`${name} again: quitting now; completed calls are saved (continue with --resume)\n`);
      process.exit(3);
    }
    process.stderr.write(
      `\n${name}: stopping; calls in flight are aborted and not saved (--resume makes them again), completed calls are saved; press Ctrl-C again to quit at once\n`,
    );
    controller.abort();
  };
  const onInt = () => stop('SIGINT');
  const onTerm = () => stop('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);

  const log = (line: string) => {
    if (!flags.quiet) process.stderr.write(`${line}\n`);
  };
  const progress = progressReporter({ quiet: flags.quiet === true, verbose: flags.verbose === true, env: process.env });
  try {
    const result = await start({
      signal: controller.signal,
      onStart: (info) => {
        // Config warnings (e.g. gateway entries skipped) are shown on every run, not only by `models`.
        for (const w of info.warnings) log(`warning: ${w}`);
        const calls = info.looks ? `up to ${info.calls} calls in ${info.looks} looks` : `${info.calls} calls`;
        log(`${info.resumed ? 'Resuming' : 'Starting'} run ${info.runId}: ${info.cases} cases, ${calls} → ${info.dbFile}`);
      },
      onProgress: progress.onProgress,
      onBatchStatus: (e) => log(batchLine(e)),
      onGateway: (e) => {
        if (e.done === 0) log(`Sending ${e.total} cases through the gateway at ${e.url}; each case's tier is the model that serves it`);
        else if (e.done === e.total) log(`Gateway: ${e.total} cases sent`);
      },
      onRetryWait: (w) => {
        const line = describeRetryWait(w, (flags as RunFlags).maxRetryWait ?? DEFAULT_MAX_RETRY_AFTER_MS / 1000);
        if (line) progress.notice(line);
      },
    });
    if (result.pendingBatches) {
      progress.stop();
      // The collect resumes the run, so it needs the flags that found its project and store.
      const collect = ['evalroute batch collect', result.runId, ...projectFlags({ config: flags.config, db: result.dbFile, allowPaths: flags.allowPath })].join(' ');
      // No verdict yet: only the JSON (status "running") is meaningful; reports wait for the collect.
      if (flags.json) await writeRunOutputs({ json: flags.json }, { ...result, env: {}, log });
      process.stderr.write(
        `run ${result.runId}: ${result.pendingBatches.length} batch(es) submitted (${result.pendingBatches.map((b) => `${b.modelKey}: ${b.batchId}`).join(', ')}); ` +
          `no verdict yet (exit 3)\n  → collect within 24 h with: ${collect}\n`,
      );
      return result.exitCode;
    }
    progress.stop();
    // The verdict first: it is stored already, and a result file that fails to write must not hide it.
    const table = formatRunSummary(result.summary, { color: useColor() });
    tableStream.write(`${table}\n`);
    const cap = result.summary.costCap;
    if (cap && cap.notAttempted > 0) {
      log(`--max-cost: spent ${usd(cap.spentUsd)} of the ${usd(cap.capUsd)} cap; ${cap.notAttempted} calls not attempted (continue with --resume ${result.runId} and a higher --max-cost)`);
    }
    await writeRunOutputs(flags, { ...result, env: process.env, log });
    return result.exitCode;
  } finally {
    progress.stop();
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    // A stop was asked for: a second signal while the process winds down (outputs written, stores closed)
    // still means "quit now" with the documented exit 3, not death by the signal (130).
    if (signals > 0) for (const name of ['SIGINT', 'SIGTERM'] as const) process.once(name, () => process.exit(3));
  }
}
