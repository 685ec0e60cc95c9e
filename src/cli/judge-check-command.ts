import { judgeCheck } from '../api/judge-check.js';
import { formatJudgeCheck } from '../report/judge-check-console.js';
import { textStream, writeOutputFile } from './output.js';

export interface JudgeCheckFlags {
  allowPath?: string[];
  config?: string;
  db?: string;
  json?: string;
  run?: string;
  model?: string;
  minKappa?: number;
}

/** `evalroute judge-check`: 0 checked, 1 a kappa below --min-kappa, 3 labelled cases left unchecked; bad input throws (exit 2). */
export async function judgeCheckCommand(suiteDir: string, flags: JudgeCheckFlags): Promise<number> {
  const progress = process.stderr.isTTY === true;
  const result = await judgeCheck({
    suiteDir,
    ...(flags.config ? { config: flags.config } : {}),
    ...(flags.allowPath ? { allowPaths: flags.allowPath } : {}),
    ...(flags.db ? { db: flags.db } : {}),
    ...(flags.run ? { run: flags.run } : {}),
    ...(flags.model ? { model: flags.model } : {}),
    ...(flags.minKappa !== undefined ? { minKappa: flags.minKappa } : {}),
    env: process.env,
    ...(progress ? { onProgress: (done: number, total: number) => process.stderr.write(`\rjudging ${done}/${total}`) } : {}),
  });
  if (progress) process.stderr.write('\r\x1b[K');
  if (flags.json) writeOutputFile(flags.json, `${JSON.stringify(result, null, 2)}\n`);
  textStream({ '--json': flags.json }).write(`${formatJudgeCheck(result)}\n`);
  return result.exitCode;
}
