import type { MissingPair } from '../api/simulate.js';
import type { GateRule } from '../core/types.js';
import { suggest } from '../api/suggest.js';
import { projectFlags } from '../api/project.js';
import { formatHoldout, formatSuggestion } from '../report/simulate-console.js';
import { textStream, writeOutputFile } from './output.js';

export interface SuggestFlags {
  allowPath?: string[];
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
  format?: 'yaml' | 'portkey';
  holdout?: number;
  seed?: number;
  rule?: GateRule;
}

/** `evalroute suggest`: prints (or writes) the proposed routing file; the per-class table goes beside it. */
export async function suggestCommand(suiteDir: string, flags: SuggestFlags): Promise<number> {
  // The proposal goes to stdout unless --output names a file: it and --json - cannot both have it.
  const textOut = textStream({ '--json': flags.json, '--output': flags.output ?? '-' });
  const result = await suggest({
    suiteDir,
    by: flags.by,
    minCases: flags.minCases,
    ...(flags.models ? { models: flags.models.split(',').map((m) => m.trim()).filter(Boolean) } : {}),
    ...(flags.minPassRate !== undefined ? { minPassRate: flags.minPassRate } : {}),
    ...(flags.maxRegression !== undefined ? { maxRegression: flags.maxRegression } : {}),
    ...(flags.routing ? { routing: flags.routing } : {}),
    ...(flags.config ? { config: flags.config } : {}),
    ...(flags.allowPath ? { allowPaths: flags.allowPath } : {}),
    ...(flags.db ? { db: flags.db } : {}),
    ...(flags.fill ? { fill: true } : {}),
    ...(flags.format ? { format: flags.format } : {}),
    ...(flags.holdout !== undefined ? { holdout: flags.holdout } : {}),
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
    ...(flags.rule ? { rule: flags.rule } : {}),
  });
  if (flags.json) writeOutputFile(flags.json, `${JSON.stringify(result, null, 2)}\n`);
  // JSON has no comments: the projection a routing.yaml carries in its header goes beside the file.
  const summary = `${formatSuggestion(result.classes, result.baseline)}\n\n${formatHoldout(result)}\n${result.format === 'portkey' ? `\n${result.header}` : ''}`;
  if (flags.output && flags.output !== '-') {
    writeOutputFile(flags.output, result.yaml);
    textOut.write(`${summary}\nProposed routing written to ${flags.output}\n`);
  } else {
    textOut.write(summary);
    process.stdout.write(result.yaml);
  }
  if (result.missing.length) process.stderr.write(missingResultsNote(result.missing, suiteDir, flags));
  return result.missing.length ? 3 : 0;
}

/**
 * Why suggest exits 3: which models lack stored results for how many cases, and the command that fills
 * them. A model never run on the suite is the usual cause (a candidate added to the config).
 */
export function missingResultsNote(missing: readonly MissingPair[], suiteDir: string, flags: Pick<SuggestFlags, 'models' | 'db' | 'config' | 'routing' | 'allowPath'>): string {
  const byModel = new Map<string, { responses: number; judge: number; example: string }>();
  for (const m of missing) {
    const e = byModel.get(m.model) ?? { responses: 0, judge: 0, example: m.caseId };
    if (m.reason === 'no-judge-grade') e.judge++;
    else e.responses++;
    byModel.set(m.model, e);
  }
  const lines = [...byModel].map(([model, e]) => {
    const parts = [e.responses ? `${e.responses} cases with no stored response` : '', e.judge ? `${e.judge} with no stored judge grade` : ''].filter(Boolean);
    return `  ${model}: ${parts.join(', ')} (e.g. case ${e.example})`;
  });
  // Every flag that chose the project, the baseline or the store: without them the fill runs elsewhere (or is refused).
  const extra = [...(flags.models ? ['--models', flags.models] : []), ...projectFlags({ config: flags.config, routing: flags.routing, db: flags.db, allowPaths: flags.allowPath })].join(' ');
  return (
    `\nincomplete (exit 3): ${missing.length} (case, model) results are not in the store, so those cases were left out of the proposal:\n` +
    `${lines.join('\n')}\n` +
    `  → fill them (calls only the missing pairs; needs the models' API keys): evalroute suggest ${suiteDir} --fill${extra ? ` ${extra}` : ''}\n`
  );
}
