/**
 * The package users install: `npm pack` must hold what evalroute needs at run time and nothing of the
 * development tree, and the tarball must install into an empty folder and work there — the CLI through
 * npx, the bundled demo, and `import { run } from 'evalroute'`.
 *
 * The tarball is packed with --ignore-scripts from the dist/ that `npm test` builds first (pretest);
 * running vitest alone packs whatever dist/ holds, so build before. The install compiles better-sqlite3
 * when no prebuilt binary can be fetched, which takes one to two minutes on a small machine: hence the
 * long timeout, and why the install runs only with EVALROUTE_SLOW_TESTS=1 (CI sets it: .ci/run and the
 * GitHub workflow); the contents check always runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SKIP_INSTALL = process.env.EVALROUTE_SLOW_TESTS !== '1';
const INSTALL_TIMEOUT_MS = 480_000;

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string; size: number }[];
}

/**
 * npm called from inside `npm test` inherits the project's npm_package_* / npm_lifecycle_* and
 * local-prefix variables; dropped so the install in the temp folder sees only the user's own npm
 * settings (cache, registry, nodedir), as a user's shell would.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_package_|npm_lifecycle_|npm_command$|npm_config_local_prefix$|npm_config_prefix$|INIT_CWD$)/.test(k)) continue;
    env[k] = v;
  }
  return env;
}

function sh(cmd: string, args: string[], cwd: string, timeout = 120_000) {
  const r = spawnSync(cmd, args, { cwd, env: npmEnv(), encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed to run: ${r.error.message}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, text: `${cmd} ${args.join(' ')} → exit ${r.status}\n${r.stdout}\n${r.stderr}` };
}

function pack(extra: string[], cwd = ROOT): PackResult {
  const r = sh('npm', ['pack', '--ignore-scripts', '--json', ...extra], cwd);
  expect(r.code, r.text).toBe(0);
  const [result] = JSON.parse(r.stdout) as PackResult[];
  return result!;
}

const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;

describe('npm pack contents', () => {
  let result: PackResult;
  let paths: string[];
  beforeAll(() => {
    result = pack(['--dry-run']);
    paths = result.files.map((f) => f.path);
    console.log(`evalroute tarball: ${kb(result.size)} packed, ${kb(result.unpackedSize)} unpacked, ${result.entryCount} files`);
  }, 60_000);

  it('ships the CLI, the compiled library with its types and assets, schemas, demo suites and examples', () => {
    for (const p of [
      'package.json',
      'README.md',
      'bin/evalroute.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'dist/bundle/main.js',
      'dist/bundle/THIRD-PARTY-NOTICES.txt',
      'dist/config/price-table.json',
      'dist/cli/init-assets/cases.jsonl',
      'schemas/evalroute.config.schema.json',
      'schemas/routing.schema.json',
      'schemas/suite.schema.json',
      'schemas/case.schema.json',
      'schemas/golden.schema.json',
      'suites/mmlu-pro-tiers/suite.yaml',
      'suites/mmlu-pro-tiers/cases.jsonl',
      'suites/mmlu-pro-tiers/evalroute.config.yaml',
      'suites/mmlu-pro-tiers/routing.yaml',
      'suites/gsm8k-routing/suite.yaml',
      'goldens/mmlu-pro-tiers.jsonl',
      'goldens/gsm8k-routing.jsonl',
      'examples/github/routing-gate.yml',
      'examples/library/gate.mjs',
      'docs/getting-started.md',
      'docs/formats.md',
      'docs/ci.md',
    ]) {
      expect(paths, `${p} is missing from the tarball`).toContain(p);
    }
    // Handlebars templates of the HTML report and the judge are read at run time.
    expect(paths.filter((p) => p.startsWith('dist/') && p.endsWith('.hbs')).length).toBeGreaterThan(0);
    expect(paths.filter((p) => /^suites\/mmlu-pro-tiers\/recorded\/.+\.jsonl$/.test(p))).toHaveLength(4);
  });

  it('the CLI bundle carries the licence of every package whose code it holds', () => {
    // Rolldown marks the code of each module with a `// node_modules/<package>/…` line; the innermost
    // node_modules names the package (as scripts/bundle-cli.mjs reads module paths).
    const bundled = new Set<string>();
    for (const file of readdirSync(join(ROOT, 'dist/bundle')).filter((f) => f.endsWith('.js'))) {
      for (const m of readFileSync(join(ROOT, 'dist/bundle', file), 'utf8').matchAll(/^\/\/ (?:\S*\/)?node_modules\/((?:@[^/\s]+\/)?[^/\s]+)\//gm)) bundled.add(m[1]!);
    }
    expect([...bundled]).toEqual(expect.arrayContaining(['openai', '@anthropic-ai/sdk', 'zod', 'yaml', 'commander']));
    const notices = readFileSync(join(ROOT, 'dist/bundle/THIRD-PARTY-NOTICES.txt'), 'utf8');
    // Each entry: a rule, `name version (licence)`, a rule, then the licence text up to the next entry.
    const named = [...notices.matchAll(/^={78}\n(\S+) \S+ \(([^)]+)\)\n={78}\n\n([\s\S]*?)(?=\n={78}\n|(?![\s\S]))/gm)].map((m) => ({ name: m[1]!, text: m[3]!.trim() }));
    expect(named.map((n) => n.name).sort()).toEqual([...bundled].sort());
    for (const n of named) expect(n.text.length, n.name).toBeGreaterThan(100);
    expect(named.find((n) => n.name === 'openai')!.text).toContain('Apache License');
  });

  it('ships nothing of the development tree: no tests, TypeScript sources, results, reports or tooling', () => {
    const forbidden = paths.filter(
      (p) =>
        (/^(test|src|bench|scripts|reports|test-artifacts|node_modules|coverage|\.evalroute|\.github|\.ci|\.git)\//.test(p) && p !== 'bench/RESULTS.md') ||
        /(^|\/)\.test-build/.test(p) ||
        (p.endsWith('.ts') && !p.endsWith('.d.ts')) ||
        /\.(db|db-wal|db-shm|sqlite|map|tsbuildinfo|tgz)$/.test(p) ||
        /(^|\/)(tsconfig[^/]*\.json|vitest\.config\.[jt]s|eslint\.config\.js|\.env[^/]*)$/.test(p),
    );
    expect(forbidden).toEqual([]);
  });

  it('ships no stale build output: every compiled module has its source', () => {
    // dist/ is never cleaned, so a module deleted or renamed in src/ would otherwise ship forever.
    // dist/bundle/ is the CLI's bundle, rebuilt from scratch by each build (scripts/bundle-cli.mjs).
    const stale = paths
      .filter((p) => p.startsWith('dist/') && !p.startsWith('dist/bundle/') && p.endsWith('.js'))
      .filter((p) => !existsSync(join(ROOT, p.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts'))));
    expect(stale, 'dist/ holds modules whose source is gone: rm -rf dist && npm run build').toEqual([]);
    // And the reverse: a source that was never compiled means dist/ is out of date.
    const sources = walk(join(ROOT, 'src')).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
    const unbuilt = sources.map((f) => `dist/${relative(join(ROOT, 'src'), f).replace(/\.ts$/, '.js')}`).filter((p) => !paths.includes(p));
    expect(unbuilt, 'dist/ is out of date: run `npm run build` (npm test does it first)').toEqual([]);
  });

  it('every relative link in the shipped Markdown resolves to a shipped file (links work inside node_modules)', () => {
    const shipped = new Set(paths);
    const broken: string[] = [];
    for (const md of paths.filter((p) => p.endsWith('.md'))) {
      for (const m of readFileSync(join(ROOT, md), 'utf8').matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = m[1]!.split('#')[0]!;
        if (!link || /^[a-z]+:/i.test(link)) continue;
        const target = posix.normalize(posix.join(posix.dirname(md), link)).replace(/\/$/, '');
        if (!shipped.has(target) && !paths.some((p) => p.startsWith(`${target}/`))) broken.push(`${md} → ${m[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('names its repository, home page and issue tracker', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { repository?: { url?: string }; homepage?: string; bugs?: { url?: string } };
    expect(pkg.repository?.url).toMatch(/^git\+https:\/\/github\.com\/.+\.git$/);
    expect(pkg.homepage).toMatch(/^https:\/\//);
    expect(pkg.bugs?.url).toMatch(/^https:\/\/.+\/issues$/);
  });

  it('stays small enough to install in CI on every pull request', () => {
    expect(result.size).toBeLessThan(3 * 1024 * 1024);
  });
});

describe.skipIf(SKIP_INSTALL)('the packed tarball installed into an empty folder', () => {
  let packDir: string;
  let installDir: string;
  let installed: string;

  beforeAll(() => {
    packDir = mkdtempSync(join(tmpdir(), 'evalroute-pack-'));
    installDir = mkdtempSync(join(tmpdir(), 'evalroute-install-'));
    // A project of its own, as a user's is: without it npm installs into the nearest folder above that
    // has a node_modules or package.json (a stray ~/node_modules, or one in the temp folder).
    writeFileSync(join(installDir, 'package.json'), `${JSON.stringify({ name: 'evalroute-install-check', private: true })}\n`);
    const tarball = join(packDir, pack(['--pack-destination', packDir]).filename);
    const started = Date.now();
    const r = sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], installDir, INSTALL_TIMEOUT_MS - 30_000);
    expect(r.code, r.text).toBe(0);
    console.log(`npm install of the tarball: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    installed = join(installDir, 'node_modules', 'evalroute');
  }, INSTALL_TIMEOUT_MS);

  afterAll(() => {
    for (const d of [packDir, installDir]) if (d) rmSync(d, { recursive: true, force: true });
  }, 120_000);

  // `--no`: never download a package called evalroute from the registry; `--` so that npx does not
  // take `--help` for its own flag.
  const npx = (args: string[]) => sh('npx', ['--no', '--', 'evalroute', ...args], installDir);

  it('the documented first steps work from the installed package: init, then models shows the bundled prices', () => {
    const project = join(installDir, 'my-project');
    const r = sh('npx', ['--no', '--', 'evalroute', 'init', 'my-project', '--yes'], installDir);
    expect(r.code, r.text).toBe(0);
    expect(existsSync(join(project, '.github/workflows/routing-gate.yml'))).toBe(true);
    const models = sh(join(installDir, 'node_modules/.bin/evalroute'), ['models'], project);
    expect(models.code, models.text).toBe(0);
    expect(models.stdout).toMatch(/^frontier .*\$2 \/ \$8/m);
    // The README's links resolve inside node_modules: the docs ship with the package.
    expect(existsSync(join(installed, 'docs/getting-started.md'))).toBe(true);
  });

  it('npx evalroute --help lists the commands', () => {
    const r = npx(['--help']);
    expect(r.code, r.text).toBe(0);
    for (const cmd of ['run', 'gate', 'simulate', 'suggest', 'report', 'merge']) expect(r.stdout).toMatch(new RegExp(`^\\s+${cmd} `, 'm'));
  });

  it('npx evalroute run <installed>/suites/mmlu-pro-tiers passes offline (exit 0)', () => {
    const r = npx(['run', join(installed, 'suites/mmlu-pro-tiers'), '--quiet']);
    expect(r.code, r.text).toBe(0);
    expect(r.stdout).toContain('GATE PASSED');
    // The default store is in the working folder, never inside the installed package.
    expect(existsSync(join(installDir, '.evalroute/evalroute.db'))).toBe(true);
    expect(existsSync(join(installed, '.evalroute'))).toBe(false);
  });

  it("import { run } from 'evalroute' runs the demo and returns the tiers", () => {
    writeFileSync(
      join(installDir, 'use-library.mjs'),
      `import { run, defineConfig } from 'evalroute';
if (typeof defineConfig !== 'function') throw new Error('defineConfig is not exported');
const result = await run({ suiteDir: ${JSON.stringify(join(installed, 'suites/mmlu-pro-tiers'))}, db: 'library.db' });
console.log(JSON.stringify({ exitCode: result.exitCode, tiers: result.summary.tiers.map((t) => ({ tier: t.tier, model: t.model, cases: t.cases, outcome: t.outcome })) }));
`,
    );
    const r = sh('node', ['use-library.mjs'], installDir);
    expect(r.code, r.text).toBe(0);
    const out = JSON.parse(r.stdout) as { exitCode: number; tiers: { tier: string; model: string; cases: number; outcome: string }[] };
    expect(out.exitCode).toBe(0);
    expect(out.tiers.map((t) => t.tier)).toEqual(['mid', 'cheap', 'frontier']);
    expect(out.tiers.map((t) => t.model)).toEqual(['gemini-pro', 'gemini-flash', 'gpt-4o']);
    expect(out.tiers.reduce((n, t) => n + t.cases, 0)).toBe(490);
    expect(out.tiers.map((t) => t.outcome)).toEqual(['pass', 'inconclusive', 'pass']);
  });

  it('the shipped library example runs from the installed package', () => {
    const r = sh('node', [join(installed, 'examples/library/gate.mjs'), '--db', 'example.db'], installDir);
    expect(r.code, r.text).toBe(0);
    expect(r.stdout).toMatch(/^PASS {10}mid: gemini-pro 73\.3% on 105 cases/m);
    expect(r.stdout).toMatch(/^INCONCLUSIVE {2}cheap: gemini-flash 84\.3% on 70 cases/m);
  });

  it('TypeScript users get the types: a typed use of the API compiles, a wrong one does not', () => {
    // The project's own tsc, on a file in the install folder that resolves 'evalroute' like a user's.
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const flags = ['--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022'];
    writeFileSync(
      join(installDir, 'typed.mts'),
      `import { run, defineConfig, type RunResult, type TierVerdict } from 'evalroute';
export const config = defineConfig({ models: { big: { provider: 'openai', model: 'gpt-4.1', price: { input: 2, output: 8 } } }, routing: 'routing.yaml' });
export async function tiers(): Promise<TierVerdict[]> {
  const result: RunResult = await run({ suiteDir: 'suites/x', cache: 'offline' });
  return result.summary.tiers;
}
`,
    );
    const ok = sh('node', [tsc, ...flags, 'typed.mts'], installDir);
    expect(ok.code, ok.text).toBe(0);
    writeFileSync(join(installDir, 'mistyped.mts'), `import { run } from 'evalroute';\nawait run({ suite: 'suites/x' });\n`);
    const bad = sh('node', [tsc, ...flags, 'mistyped.mts'], installDir);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toMatch(/mistyped\.mts.*suite/);
  });
});

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}
