import { UsageError } from '../core/errors.js';
import { simulate } from '../api/simulate.js';
import { projectFlags } from '../api/project.js';
import { renderCurveHtml } from '../report/curve-html.js';
import { formatSimulation } from '../report/simulate-console.js';
import { textStream, writeOutputFile } from './output.js';

export interface SimulateFlags {
  allowPath?: string[];
  routing?: string[];
  config?: string;
  db?: string;
  json?: string;
  /** Self-contained HTML page of the --curve chart and metrics ("-" for stdout). */
  html?: string;
  fill?: boolean;
  offline?: boolean;
  curve?: string;
  orderBy?: string;
}

/** `evalroute simulate`: 0 everything scored, 3 pairs missing from the store; bad input throws (exit 2). */
export async function simulateCommand(suiteDir: string, flags: SimulateFlags): Promise<number> {
  if (flags.fill && flags.offline) throw new UsageError('--fill calls the models for missing pairs and --offline forbids calls; pass one of them');
  if (flags.html !== undefined && flags.curve === undefined) throw new UsageError('--html draws the routing curve: pass --curve STRONG,WEAK too, e.g. --curve gpt-4o,gemini-flash --html curve.html');
  const textOut = textStream({ '--json': flags.json, '--html': flags.html });
  let curve: { strong: string; weak: string; orderBy?: string } | undefined;
  if (flags.curve !== undefined) {
    const [strong, weak, ...rest] = flags.curve.split(',').map((s) => s.trim());
    if (!strong || !weak || rest.length) throw new UsageError(`--curve "${flags.curve}": expected two model keys, strong first, e.g. --curve gpt-4o,gemini-flash`);
    curve = { strong, weak, ...(flags.orderBy ? { orderBy: flags.orderBy } : {}) };
  } else if (flags.orderBy) {
    throw new UsageError('--order-by only applies to --curve STRONG,WEAK');
  }
  const result = await simulate({
    suiteDir,
    ...(flags.routing?.length ? { routings: flags.routing } : {}),
    ...(flags.config ? { config: flags.config } : {}),
    ...(flags.allowPath ? { allowPaths: flags.allowPath } : {}),
    ...(flags.db ? { db: flags.db } : {}),
    ...(flags.fill ? { fill: true } : {}),
    ...(curve ? { curve } : {}),
    onFill: (file) => process.stderr.write(`Filling missing pairs: evalroute run with ${file}\n`),
  });
  const fillCommand = (routingFile: string) =>
    ['evalroute simulate', suiteDir, ...projectFlags({ config: flags.config, routing: routingFile, db: flags.db, allowPaths: flags.allowPath }), '--fill'].join(' ');
  const text = formatSimulation(result.routings, result.curve, fillCommand);
  if (flags.json) {
    const doc = { suite: result.suite, dbFile: result.dbFile, routings: result.routings.map(({ assignment: _a, ...r }) => r), ...(result.curve ? { curve: result.curve } : {}) };
    writeOutputFile(flags.json, `${JSON.stringify(doc, null, 2)}\n`);
  }
  if (flags.html && result.curve) writeOutputFile(flags.html, renderCurveHtml(result.curve, { suite: result.suite }));
  textOut.write(`Simulated from ${result.dbFile} (no API calls)\n${text}\n`);
  return result.exitCode;
}
