import { gate, gateJson } from '../api/gate.js';
import { formatRunSummary } from '../report/console.js';
import { failureCause } from '../report/failure-cause.js';
import { formatBaseVsHead } from '../report/simulate-console.js';
import { BASE_VS_HEAD_NOT_COMPARED } from '../report/verdict-text.js';
import { useColor } from './output.js';
import { checkOutputPaths, writeRunOutputs, type OutputFlags } from './run-outputs.js';

export interface GateFlags extends OutputFlags {
  routing: string;
  baseRouting: string;
  config?: string;
  db?: string;
  allowUnreviewed?: boolean;
  monthlyRequests?: number;
  offline?: boolean;
  through?: string;
  /** `--deadline`, in ms. */
  deadline?: number;
  maxErrorRate: number;
  quiet?: boolean;
  allowPath?: string[];
}

/** `evalroute gate`: the head's gate decides the exit code (0 every tier shown to hold, 1 failed, 3 incomplete, 4 not decided). */
export async function gateCommand(suiteDir: string, flags: GateFlags): Promise<number> {
  const textOut = checkOutputPaths(flags, process.env);
  const log = (line: string) => {
    if (!flags.quiet) process.stderr.write(`${line}\n`);
  };
  const result = await gate({
    suiteDir,
    routing: flags.routing,
    baseRouting: flags.baseRouting,
    ...(flags.config ? { config: flags.config } : {}),
    ...(flags.allowPath ? { allowPaths: flags.allowPath } : {}),
    ...(flags.db ? { db: flags.db } : {}),
    ...(flags.offline ? { offline: true } : {}),
    ...(flags.through !== undefined ? { through: flags.through } : {}),
    ...(flags.deadline !== undefined ? { deadlineMs: flags.deadline } : {}),
    maxErrorRate: flags.maxErrorRate,
    ...(flags.allowUnreviewed ? { allowUnreviewed: true } : {}),
    ...(flags.monthlyRequests !== undefined ? { monthlyRequests: flags.monthlyRequests } : {}),
    onBaseFill: (n) => log(`Base routing: ${Number.isFinite(n) ? n : 'all'} (case, model) pairs not stored yet; running the base rules once to fill them`),
    onStart: (info) => log(`Head run ${info.runId}: ${info.cases} cases, ${info.calls} calls → ${info.dbFile}`),
  });
  // The cause of a run where nothing could be compared leads (formatRunSummary); base vs head on errors would only mislead.
  const comparison = failureCause(result.head.summary)?.noVerdict ? BASE_VS_HEAD_NOT_COMPARED : formatBaseVsHead(result.base, result.headOverall, result.moved);
  const text = `${formatRunSummary(result.head.summary, { color: useColor() })}\n\n${comparison}\n`;
  textOut.write(text);
  // After the verdict, so a result file that fails to write cannot hide it.
  await writeRunOutputs(flags, {
    summary: result.head.summary,
    results: result.head.results,
    goldens: result.head.goldens,
    dbFile: result.head.dbFile,
    runId: result.head.runId,
    json: gateJson(result),
    comparison: { base: result.base, head: result.headOverall, moved: result.moved },
    env: process.env,
    log,
  });
  return result.exitCode;
}
