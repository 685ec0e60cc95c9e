/** Where the CLI writes: progress and diagnostics to stderr, results to stdout, honouring NO_COLOR. */
import { accessSync, appendFileSync, constants, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';

export const useColor = (): boolean => process.stdout.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== 'dumb';

/** A result file that cannot be written: exit 2, naming the option and the path. */
export class OutputPathError extends UsageError {
  constructor(what: string, file: string, problem: string) {
    super(`${what} ${file}: ${problem}\n  → choose a writable file path (its folder is created if missing)`);
    this.name = 'OutputPathError';
  }
}

/**
 * Checks, before any model is called, that `file` can be written: not a folder, and either a writable
 * file or a path whose nearest existing ancestor is a writable folder. A run that would end by failing
 * to write its --json must fail in the first second, not after an hour of paid calls.
 */
export function checkWritable(what: string, file: string | undefined): void {
  if (file === undefined || file === '-') return;
  const path = resolve(file);
  const st = statOrUndefined(path);
  if (st?.isDirectory()) throw new OutputPathError(what, file, 'is a folder, not a file');
  if (st) {
    if (!canWrite(path)) throw new OutputPathError(what, file, 'is not writable (permission denied)');
    return;
  }
  let dir = dirname(path);
  for (;;) {
    const d = statOrUndefined(dir);
    if (d) {
      if (!d.isDirectory()) throw new OutputPathError(what, file, `${dir} is a file, so no folder can be created there`);
      if (!canWrite(dir)) throw new OutputPathError(what, file, `the folder ${dir} is not writable (permission denied)`);
      return;
    }
    const up = dirname(dir);
    if (up === dir) return;
    dir = up;
  }
}

/**
 * Where a command prints its text for people: stdout, unless one of its results is written to stdout
 * ("-"), then stderr, so the result stays machine-readable. Two results cannot share stdout (exit 2).
 * `outputs` maps each result option (e.g. `--json`) to its file.
 */
export function textStream(outputs: Record<string, string | undefined>): NodeJS.WriteStream {
  const claims = Object.entries(outputs)
    .filter(([, file]) => file === '-')
    .map(([option]) => `${option} -`);
  if (claims.length > 1) {
    const both = claims.length === 2 ? 'both' : 'all';
    throw new UsageError(`${claims.slice(0, -1).join(', ')} and ${claims.at(-1)} ${both} claim stdout\n  → write ${claims.length === 2 ? 'one of them' : 'all but one'} to a file`);
  }
  return claims.length ? process.stderr : process.stdout;
}

export function writeOutputFile(file: string, content: string, what = 'output file'): void {
  if (file === '-') {
    process.stdout.write(content);
    return;
  }
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  } catch (e) {
    throw new OutputPathError(what, file, `cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export function appendOutputFile(file: string, content: string, what: string): void {
  try {
    appendFileSync(file, content);
  } catch (e) {
    throw new OutputPathError(what, file, `cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function statOrUndefined(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function canWrite(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
