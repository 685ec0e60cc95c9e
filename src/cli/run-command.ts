import { run } from '../api/run.js';
import { parseShard } from '../engine/shard.js';
import { formatRunSummary } from '../report/console.js';
import { usd } from '../report/format.js';
import type { RunFlags } from './main.js';
import { useColor } from './output.js';
import { progressReporter } from './progress.js';
import { writeRunOutputs } from './run-outputs.js';

/** `evalroute run`: returns the exit code (0 holds, 1 regressed, 3 incomplete); errors propagate to main. */
export async function runCommand(suiteDir: string, flags: RunFlags): Promise<number> {
  const controller = new AbortController();
  let signals = 0;
  const stop = (name: string) => {
    signals++;
    if (signals > 1) process.exit(130);
    process.stderr.write(`\n${name}: stopping after in-flight calls; completed calls are saved (resume with --resume)\n`);
    controller.abort();
  };
  const onInt = () => stop('SIGINT');
  const onTerm = () => stop('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);

  const jsonToStdout = flags.json === '-';
  const log = (line: string) => {
    if (!flags.quiet) process.stderr.write(`${line}\n`);
  };
  const progress = progressReporter({ quiet: flags.quiet === true, verbose: flags.verbose === true, env: process.env });
  try {
    const result = await run({
      suiteDir,
      ...(flags.config ? { config: flags.config } : {}),
      ...(flags.routing ? { routing: flags.routing } : {}),
      ...(flags.db ? { db: flags.db } : {}),
      ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
      cache: flags.offline ? 'offline' : flags.cache ? 'use' : 'refresh',
      ...(flags.resume !== undefined ? { resume: flags.resume } : {}),
      maxErrorRate: flags.maxErrorRate,
      ...(flags.monthlyRequests !== undefined ? { monthlyRequests: flags.monthlyRequests } : {}),
      ...(flags.allowUnreviewed ? { allowUnreviewed: true } : {}),
      ...(flags.shard ? { shard: parseShard(flags.shard) } : {}),
      ...(flags.repeat ? { repeats: flags.repeat, repeatPolicy: flags.repeatPolicy } : {}),
      ...(flags.maxCost !== undefined ? { maxCostUsd: flags.maxCost } : {}),
      signal: controller.signal,
      onStart: (info) =>
        log(
          `${info.resumed ? 'Resuming' : 'Starting'} run ${info.runId}: ${info.cases} cases, ${info.calls} calls → ${info.dbFile}`,
        ),
      onProgress: progress.onProgress,
    });
    await writeRunOutputs(flags, { ...result, env: process.env, log });
    const cap = result.summary.costCap;
    if (cap && cap.notAttempted > 0) {
      log(`--max-cost: spent ${usd(cap.spentUsd)} of the ${usd(cap.capUsd)} cap; ${cap.notAttempted} calls not attempted (continue with --resume ${result.runId} and a higher --max-cost)`);
    }
    progress.stop();
    const table = formatRunSummary(result.summary, { color: useColor() });
    if (jsonToStdout) process.stderr.write(`${table}\n`);
    else process.stdout.write(`${table}\n`);
    return result.exitCode;
  } finally {
    progress.stop();
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}
