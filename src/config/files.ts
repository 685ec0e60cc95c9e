/**
 * The checks every file evalroute reads from a path in a config, suite or case goes through first: it
 * must be a regular file (a folder, a FIFO or /dev/zero would fail oddly, hang or grow memory without
 * bound), readable, and — for paths named inside files, which arrive in pull requests — inside the
 * project. Errors never quote the file's content.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ConfigError, type SourceLocation } from '../core/errors.js';

/** Size in bytes of `file`, after checking it is an existing regular file; `where` is the location blamed. */
export function regularFileSize(file: string, what: string, opts: { where?: SourceLocation; hint?: string } = {}): number {
  const where = opts.where ?? { file };
  const named = opts.where ? `${what} ${file}` : what;
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ConfigError(where, `${named} not found`, opts.hint);
    throw new ConfigError(where, `${named} cannot be read (${code ?? (e as Error).message})`, 'check the path and its permissions');
  }
  if (st.isDirectory()) throw new ConfigError(where, `${named} is a folder, not a file`, opts.hint ?? 'give the path of a file');
  if (!st.isFile()) {
    throw new ConfigError(where, `${named} is not a regular file (a device, pipe or socket)`, 'give the path of an ordinary file');
  }
  return st.size;
}

/** A read failure (permission denied…) as a ConfigError naming the file and what to do. */
export function unreadable(file: string, what: string, e: unknown, where: SourceLocation = { file }): ConfigError {
  const code = (e as NodeJS.ErrnoException).code;
  const named = where.file === file ? what : `${what} ${file}`;
  return new ConfigError(where, `${named} cannot be read (${code ?? (e as Error).message})`, code === 'EACCES' ? 'check the file\'s permissions (chmod +r)' : 'check the path');
}

/**
 * Largest file a config or suite names (schema, judge template, recorded outputs, gateway config…). Far
 * above any real one; it stops a path to a huge file from being pulled into memory before it is refused.
 */
export const MAX_NAMED_FILE_BYTES = 256 * 1024 * 1024;

/**
 * The checks a file named inside a config or suite passes before anything reads it: inside the project
 * (when `roots` is given), then — if it exists; a missing file is reported by its reader, which knows
 * what it is for — a regular file of at most `maxBytes`. `where` is the key that names it.
 */
export function vetNamedFile(file: string, what: string, where: SourceLocation, opts: { roots?: ProjectRoots | undefined; maxBytes?: number } = {}): void {
  opts.roots?.check(file, what, where);
  if (!existsSync(file)) return;
  checkSize(regularFileSize(file, what, { where }), opts.maxBytes ?? MAX_NAMED_FILE_BYTES, `${what} ${file}`, where);
}

/** Throws unless `size` is at most `max` bytes; `named` says which file, as the message starts. */
export function checkSize(size: number, max: number, named: string, where: SourceLocation): void {
  if (size > max) {
    throw new ConfigError(where, `${named} is ${megabytes(size)} MB; evalroute reads files of up to ${megabytes(max)} MB here`, 'check that the path names the file you meant');
  }
}

const megabytes = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/** The roots of a command: the working folder and the `--allow-path` folders (relative to it). */
export function projectRoots(cwd: string, allowPaths: readonly string[] = []): ProjectRoots {
  return new ProjectRoots([cwd, ...allowPaths].map((p) => resolve(cwd, p)));
}

/**
 * Folders the files a suite names may come from. A path in suite.yaml or cases.jsonl (`cases:`,
 * `goldens:`, attachments, schema files) that resolves — symlinks followed — outside all of them is
 * refused, so a pull request cannot make a CI run read /etc/shadow or a home folder into the store
 * and the report. The working folder and the suite's project are roots; `--allow-path` adds more.
 */
export class ProjectRoots {
  readonly #roots: string[];

  constructor(roots: readonly string[]) {
    this.#roots = roots.map((r) => real(resolve(r)));
  }

  /**
   * The same roots plus the suite folder (chosen on the command line) and its project: the folder
   * holding its `suites/` folder (the documented layout, where goldens/ sits beside suites/), and the
   * git repository around it.
   */
  withSuite(suiteDir: string): ProjectRoots {
    const extra = [suiteDir];
    const parent = dirname(suiteDir);
    if (basename(parent) === 'suites') extra.push(dirname(parent));
    for (let d = suiteDir; ; d = dirname(d)) {
      if (existsSync(join(d, '.git'))) {
        extra.push(d);
        break;
      }
      if (dirname(d) === d) break;
    }
    return this.with(...extra);
  }

  /** The same roots plus `dirs` (e.g. the folder of a config file chosen on the command line). */
  with(...dirs: string[]): ProjectRoots {
    return new ProjectRoots([...this.#roots, ...dirs]);
  }

  /** Throws unless `file` (its real path, when it exists) lies inside a root. Reads nothing. */
  check(file: string, what: string, where: SourceLocation): void {
    const target = real(file);
    if (this.#roots.some((root) => inside(target, root))) return;
    throw new ConfigError(
      where,
      `${what} ${file} is outside the project (${this.#roots.join(', ')}); evalroute reads only files inside it`,
      'move the file into the project, or allow its folder explicitly with --allow-path <dir>',
    );
  }
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function inside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
