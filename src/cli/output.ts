/** Where the CLI writes: progress and diagnostics to stderr, results to stdout, honouring NO_COLOR. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const useColor = (): boolean => process.stdout.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== 'dumb';

export function writeOutputFile(file: string, content: string): void {
  if (file === '-') {
    process.stdout.write(content);
    return;
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}
