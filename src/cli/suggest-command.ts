import { suggest } from '../api/suggest.js';
import { formatSuggestion } from '../report/simulate-console.js';
import { writeOutputFile } from './output.js';

export interface SuggestFlags {
  models?: string;
  by: string;
  minPassRate?: number;
  maxRegression?: number;
  minCases: number;
  routing?: string;
  config?: string;
  db?: string;
  output?: string;
  json?: string;
  fill?: boolean;
}

/** `evalroute suggest`: prints (or writes) the proposed routing file; the per-class table goes beside it. */
export async function suggestCommand(suiteDir: string, flags: SuggestFlags): Promise<number> {
  const result = await suggest({
    suiteDir,
    by: flags.by,
    minCases: flags.minCases,
    ...(flags.models ? { models: flags.models.split(',').map((m) => m.trim()).filter(Boolean) } : {}),
    ...(flags.minPassRate !== undefined ? { minPassRate: flags.minPassRate } : {}),
    ...(flags.maxRegression !== undefined ? { maxRegression: flags.maxRegression } : {}),
    ...(flags.routing ? { routing: flags.routing } : {}),
    ...(flags.config ? { config: flags.config } : {}),
    ...(flags.db ? { db: flags.db } : {}),
    ...(flags.fill ? { fill: true } : {}),
  });
  if (flags.json) writeOutputFile(flags.json, `${JSON.stringify(result, null, 2)}\n`);
  const summary = `${formatSuggestion(result.classes, result.baseline)}\n`;
  if (flags.output && flags.output !== '-') {
    writeOutputFile(flags.output, result.yaml);
    process.stdout.write(`${summary}\nProposed routing written to ${flags.output}\n`);
  } else {
    process.stderr.write(summary);
    process.stdout.write(result.yaml);
  }
  return result.missing.length ? 3 : 0;
}
