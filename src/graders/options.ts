/** Turning a grader spec's options into typed values, with errors that point at the offending key. */
import { isAbsolute, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import type { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import type { GraderFactoryContext, GraderSpec } from '../core/types.js';

/** Config error located at `<spec path>.<option path>`. */
export function optionError(ctx: GraderFactoryContext, option: string, problem: string, hint?: string): ConfigError {
  const path = option ? `${ctx.location.path}.${option}` : ctx.location.path;
  return new ConfigError({ file: ctx.location.file, path }, problem, hint);
}

/**
 * Parses a spec with a zod schema; the first issue becomes a ConfigError naming the option. `hint`
 * describes the grader's valid options, so the user learns the shape without opening the docs.
 */
export function parseSpec<S extends z.ZodType>(schema: S, spec: GraderSpec, ctx: GraderFactoryContext, hint: string): z.output<S> {
  const parsed = schema.safeParse(spec);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const option = issue.path.map(String).join('.');
  let problem = issue.message;
  if (issue.code === 'unrecognized_keys') problem = `unknown option${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} for grader type "${spec.type}"`;
  else if (issue.code === 'invalid_union') {
    // zod's own message is just "Invalid input"; show what was given, the hint shows what is accepted.
    const given = issue.path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k], spec);
    problem = `${option}: ${JSON.stringify(given)} is not one of the accepted forms`;
  } else if (option) problem = `${option}: ${issue.message}`;
  throw optionError(ctx, option, problem, hint);
}

/**
 * Resolves a file a grader spec names, relative to the suite folder. URLs are refused: a suite must
 * grade the same way offline and tomorrow. Modules must also be written as paths (`./x.mjs`): they run
 * with the user's privileges, and a bare name reads like an installed package, which is never loaded.
 * The suite's `checkFile` then vets the file (inside the project, a regular file, not too large).
 */
export function resolveLocalFile(ref: string, ctx: GraderFactoryContext, option: string, what: string, kind: 'file' | 'module' = 'file'): string {
  const url = !isAbsolute(ref) && /^[a-z][a-z0-9+.-]*:/i.test(ref);
  const pathLike = ref.startsWith('./') || ref.startsWith('../') || isAbsolute(ref);
  if (url || (kind === 'module' && !pathLike)) {
    throw optionError(ctx, option, `${what} "${ref}" is not a local file path`, 'give a path relative to the suite folder, starting with ./ or ../ (URLs and package names are not loaded)');
  }
  const file = resolve(ctx.suiteDir, ref);
  if (!existsSync(file)) throw optionError(ctx, option, `${what} ${file} does not exist`, `paths are relative to the suite folder ${ctx.suiteDir}`);
  ctx.checkFile?.(file, what, { file: ctx.location.file, path: `${ctx.location.path}.${option}` });
  return file;
}
