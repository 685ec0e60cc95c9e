import { gate, gateJson } from '../api/gate.js';
import { formatRunSummary } from '../report/console.js';
import { formatBaseVsHead } from '../report/simulate-console.js';
import { useColor, writeOutputFile } from './output.js';

export interface GateFlags {
  routing: string;
  baseRouting: string;
  config?: string;
  db?: string;
  json?: string;
  offline?: boolean;
  maxErrorRate: number;
}

/** `evalroute gate`: the head's gate decides the exit code (0 holds, 1 regressed, 3 incomplete). */
export async function gateCommand(suiteDir: string, flags: GateFlags): Promise<number> {
  const result = await gate({
    suiteDir,
    routing: flags.routing,
    baseRouting: flags.baseRouting,
    ...(flags.config ? { config: flags.config } : {}),
    ...(flags.db ? { db: flags.db } : {}),
    ...(flags.offline ? { offline: true } : {}),
    maxErrorRate: flags.maxErrorRate,
    onBaseFill: (n) => process.stderr.write(`Base routing: ${Number.isFinite(n) ? n : 'all'} (case, model) pairs not stored yet; running the base rules once to fill them\n`),
    onStart: (info) => process.stderr.write(`Head run ${info.runId}: ${info.cases} cases, ${info.calls} calls → ${info.dbFile}\n`),
  });
  if (flags.json) writeOutputFile(flags.json, `${JSON.stringify(gateJson(result), null, 2)}\n`);
  const text = `${formatRunSummary(result.head.summary, { color: useColor() })}\n\n${formatBaseVsHead(result.base, result.headOverall, result.moved)}\n`;
  (flags.json === '-' ? process.stderr : process.stdout).write(text);
  return result.exitCode;
}
