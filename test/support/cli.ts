/**
 * Running the real `evalroute` binary from tests. The binary runs the CLI's bundle of the compiled
 * dist/ (dist/bundle/), so the first caller builds both when some file under src/ is newer than its
 * output in dist/ or than the bundle; a lock directory keeps
 * parallel test files from compiling into dist/ at the same time. The child runs asynchronously so a
 * mock LLM server living in the test process keeps answering it.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'bin/evalroute.js');
const DIST_MAIN = join(ROOT, 'dist/cli/main.js');
const BUNDLE_MAIN = join(ROOT, 'dist/bundle/main.js');
// Kept out of dist/, which is what the package ships.
const LOCK = join(ROOT, 'node_modules/.cache/evalroute-tests/build-lock');
/** Files scripts/copy-assets.mjs copies into dist/ as they are. */
const ASSET = /\.(hbs|json|jsonl|css|md)$/;

/**
 * The first source under `dir` whose compiled or copied output is missing or older than it, or that is
 * newer than the CLI's bundle (built from those outputs, `bundleMs`). Compared file by file, so the
 * build `npm test` runs first (pretest) counts and is not repeated here. (A file saved while tsc is
 * running, after tsc read it, keeps a newer output than its source; the next build fixes that, and
 * `npm test` always builds first.)
 */
function staleSource(dir: string, bundleMs: number): string | undefined {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      const stale = staleSource(p, bundleMs);
      if (stale) return stale;
      continue;
    }
    const rel = p.slice(join(ROOT, 'src').length);
    const out = entry.name.endsWith('.d.ts') ? undefined : entry.name.endsWith('.ts') ? join(ROOT, 'dist', rel.replace(/\.ts$/, '.js')) : ASSET.test(entry.name) ? join(ROOT, 'dist', rel) : undefined;
    if (!out) continue;
    const sourceMs = statSync(p).mtimeMs;
    if (!existsSync(out) || statSync(out).mtimeMs < sourceMs || bundleMs < sourceMs) return p;
  }
  return undefined;
}

const isFresh = () => existsSync(DIST_MAIN) && existsSync(BUNDLE_MAIN) && staleSource(join(ROOT, 'src'), statSync(BUNDLE_MAIN).mtimeMs) === undefined;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Builds dist/ and the CLI's bundle unless they are newer than every file under src/. Returns the path of the binary. */
export function ensureCliBuilt(): string {
  if (isFresh()) return CLI;
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  mkdirSync(join(LOCK, '..'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Another test file is building; a lock older than two minutes belongs to a dead process.
      if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 120_000) rmSync(LOCK, { recursive: true, force: true });
      sleepSync(200);
    }
  }
  try {
    if (isFresh()) return CLI;
    try {
      execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'pipe' });
    } catch (err) {
      // Type errors elsewhere do not stop tsc from emitting; only a missing output is fatal.
      if (!existsSync(DIST_MAIN)) throw err;
    }
    execFileSync(process.execPath, [join(ROOT, 'scripts/copy-assets.mjs')], { cwd: ROOT, stdio: 'pipe' });
    execFileSync(process.execPath, [join(ROOT, 'scripts/bundle-cli.mjs')], { cwd: ROOT, stdio: 'pipe' });
    return CLI;
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  child: ChildProcess;
  done: Promise<CliResult>;
}

/** Starts `evalroute …` with exactly `env` (plus PATH), no colour. */
export function startCli(args: string[], opts: { cwd: string; env?: Record<string, string> }): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<CliResult>((resolveDone, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => resolveDone({ status, signal, stdout, stderr }));
  });
  return { child, done };
}

export function runCli(args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<CliResult> {
  return startCli(args, opts).done;
}
