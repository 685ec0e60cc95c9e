/**
 * `npm run bench`: evalroute against the project's mock LLM server (real HTTP, real SDKs, real SQLite),
 * each measured scenario in its own child process so its peak RSS is its own.
 *
 *   (a) live calls: 1,000 calls at 100 ms latency, concurrency 16/32/50, OpenAI and Anthropic formats;
 *       wall time of run() vs the floor ceil(calls / concurrency) × latency
 *   (b) fully cached rerun of a 500-case, three-model suite through the CLI, JSON and HTML report included
 *   (c) 20,000-case suite from cache through the CLI
 *   (d) `evalroute --version` / `--help` start-up, median of 10
 *   (e) HTML report of a 5,000-case run; `evalroute audit` of a generated 1,000,000-line log
 *
 *   npm run bench [-- --only a,b]
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startMockLlmServer, type MockApi, type MockLlmServer } from '../test/support/mock-llm-server.js';
import { BENCH_ENV, rightAnswer, singleModelProject, threeModelProject, type BenchProject } from './project.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = process.cwd();
const BIN = join(ROOT, 'bin/evalroute.js');
const PROBE = pathToFileURL(join(HERE, 'probe.js')).href;
const SCENARIO = join(HERE, 'scenario.js');
const only = new Set((argValue('--only') ?? 'a,b,c,d,e').split(',').map((s) => s.trim()));
const scratch = mkdtempSync(join(tmpdir(), 'evalroute-bench-out-'));

interface ChildResult {
  code: number | null;
  wallMs: number;
  stdout: string;
  stderr: string;
  maxRssKb?: number;
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Spawns `node [--import probe] args…` and measures wall time from spawn to exit. */
function child(args: string[], opts: { cwd?: string; probe?: boolean } = {}): Promise<ChildResult> {
  const probeFile = join(scratch, `probe-${Math.random().toString(36).slice(2)}.json`);
  const nodeArgs = opts.probe === false ? args : ['--import', PROBE, ...args];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const p = spawn(process.execPath, nodeArgs, {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...BENCH_ENV, BENCH_PROBE_FILE: probeFile, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      const wallMs = performance.now() - started;
      const r: ChildResult = { code, wallMs, stdout, stderr };
      if (existsSync(probeFile)) r.maxRssKb = (JSON.parse(readFileSync(probeFile, 'utf8')) as { maxRssKb: number }).maxRssKb;
      resolve(r);
    });
  });
}

/** The library run() in a child: wall time of run() alone, as the child measured it. */
async function runScenario(p: BenchProject, concurrency: number, cache: 'use' | 'refresh') {
  const r = await child([SCENARIO, p.suiteDir, p.dir, String(concurrency), cache], { probe: false });
  if (r.code !== 0) throw new Error(`scenario child failed (exit ${r.code}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { wallMs: number; cpuMs: number; setupMs: number; calls: number; errors: number; status: string; pass: boolean; runId: string; maxRssKb: number };
}

/** Fills a project's response cache at full speed (latency 0); not part of any measured figure. */
async function fill(mock: MockLlmServer, p: BenchProject): Promise<number> {
  mock.setLatency(0);
  mock.reset();
  const r = await runScenario(p, 128, 'use');
  if (r.errors || r.calls !== p.calls) throw new Error(`cache fill: expected ${p.calls} calls without error, got ${r.calls} calls, ${r.errors} errors`);
  return r.wallMs;
}

const mb = (kb: number | undefined) => (kb === undefined ? '—' : `${(kb / 1024).toFixed(0)} MB`);
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const check = (ok: boolean) => (ok ? '✔' : '✘');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const out = (line = '') => process.stdout.write(`${line}\n`);
function table(head: string[], rows: string[][]): void {
  out(`| ${head.join(' | ')} |`);
  out(`|${head.map(() => '---').join('|')}|`);
  for (const r of rows) out(`| ${r.join(' | ')} |`);
  out();
}

function machine(): void {
  const cpuModel = /model name\s*:\s*(.+)/.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1] ?? cpus()[0]?.model ?? '?';
  const free = spawnSync('free', ['-h'], { encoding: 'utf8' });
  out('## Machine');
  out();
  out(`- nproc: ${spawnSync('nproc', { encoding: 'utf8' }).stdout?.trim() || cpus().length}`);
  out(`- CPU: ${cpuModel}`);
  out(`- memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB total, ${(freemem() / 2 ** 30).toFixed(1)} GiB free`);
  if (free.status === 0) out(`- free -h:\n\n\`\`\`\n${free.stdout.trimEnd()}\n\`\`\``);
  out(`- node ${process.version}, ${process.platform} ${process.arch}`);
  // Wall-time ratios are only meaningful on an otherwise idle machine: CPU per call is the robust figure.
  out(`- load average at start: ${loadavg().map((l) => l.toFixed(2)).join(', ')}`);
  out();
}

async function liveCalls(mock: MockLlmServer): Promise<void> {
  const latency = 100;
  const calls = 1000;
  out(`## (a) Live calls: ${calls} calls, ${latency} ms mock latency, one model, run() wall vs floor`);
  out();
  const rows: string[][] = [];
  for (const api of ['openai', 'anthropic'] as MockApi[]) {
    const p = singleModelProject(mock, api, calls);
    for (const concurrency of [16, 32, 50]) {
      mock.setLatency(latency);
      mock.reset();
      const r = await runScenario(p, concurrency, 'refresh');
      const served = mock.requests.length;
      if (r.errors || r.calls !== calls || served !== calls) throw new Error(`live run: ${r.calls} calls, ${r.errors} errors, ${served} requests served (expected ${calls}, 0, ${calls})`);
      const floor = Math.ceil(calls / concurrency) * latency;
      const ratio = r.wallMs / floor;
      rows.push([api, String(concurrency), secs(r.wallMs), secs(floor), `${ratio.toFixed(3)} ${check(ratio <= 1.05)}`, `${(r.cpuMs / calls).toFixed(2)} ms`, `${r.setupMs.toFixed(0)} ms`, `${mb(r.maxRssKb)} ${check(r.maxRssKb < 150 * 1024)}`]);
    }
    rmSync(p.dir, { recursive: true, force: true });
  }
  table(['format', 'concurrency', 'wall', 'floor', 'wall/floor (≤ 1.05)', 'CPU per call', 'set-up before 1st call', 'peak RSS (< 150 MB)'], rows);
}

async function cachedRerun(mock: MockLlmServer): Promise<void> {
  out('## (b) Fully cached rerun: 500 cases, three models, CLI with --json and --report');
  out();
  const p = threeModelProject(mock, 500);
  const fillMs = await fill(mock, p);
  const runs: ChildResult[] = [];
  for (let i = 0; i < 3; i++) {
    mock.reset();
    const r = await child([BIN, 'run', p.suiteDir, '--json', join(scratch, 'b.json'), '--report', join(scratch, 'b.html'), '-q'], { cwd: p.dir });
    if (r.code !== 0 || mock.requests.length) throw new Error(`cached rerun: exit ${r.code}, ${mock.requests.length} API calls\n${r.stderr}`);
    runs.push(r);
  }
  const wall = median(runs.map((r) => r.wallMs));
  const rss = Math.max(...runs.map((r) => r.maxRssKb ?? 0));
  table(
    ['cases', 'calls replayed', 'wall, median of 3 (< 1.5 s)', 'runs', 'peak RSS', 'HTML report', 'cache fill (untimed)'],
    [['500', String(p.calls), `${secs(wall)} ${check(wall < 1500)}`, runs.map((r) => secs(r.wallMs)).join(', '), mb(rss), `${(statSync(join(scratch, 'b.html')).size / 1024).toFixed(0)} KB`, secs(fillMs)]],
  );
  rmSync(p.dir, { recursive: true, force: true });
}

async function bigSuite(mock: MockLlmServer): Promise<void> {
  const cases = 20_000;
  out(`## (c) ${cases.toLocaleString('en')}-case suite from cache, CLI with --json`);
  out();
  const p = threeModelProject(mock, cases);
  const fillMs = await fill(mock, p);
  mock.reset();
  const r = await child([BIN, 'run', p.suiteDir, '--json', join(scratch, 'c.json'), '-q'], { cwd: p.dir });
  if (r.code !== 0 || mock.requests.length) throw new Error(`20k cached run: exit ${r.code}, ${mock.requests.length} API calls\n${r.stderr}`);
  table(
    ['cases', 'calls replayed', 'wall (< 15 s)', 'peak RSS (< 400 MB)', 'cache fill at latency 0 (untimed)'],
    [[cases.toLocaleString('en'), p.calls.toLocaleString('en'), `${secs(r.wallMs)} ${check(r.wallMs < 15_000)}`, `${mb(r.maxRssKb)} ${check((r.maxRssKb ?? Infinity) < 400 * 1024)}`, `${secs(fillMs)} (${Math.round(p.calls / (fillMs / 1000))} calls/s)`]],
  );
  rmSync(p.dir, { recursive: true, force: true });
}

async function startup(): Promise<void> {
  out('## (d) CLI start-up, median of 10 spawns');
  out();
  const rows: string[][] = [];
  for (const flag of ['--version', '--help']) {
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await child([BIN, flag], { probe: false });
      if (r.code !== 0) throw new Error(`evalroute ${flag}: exit ${r.code}\n${r.stderr}`);
      times.push(r.wallMs);
    }
    const m = median(times);
    rows.push([`evalroute ${flag}`, `${m.toFixed(0)} ms ${check(m < 200)}`, `${Math.min(...times).toFixed(0)}–${Math.max(...times).toFixed(0)} ms`]);
  }
  const bare = [] as number[];
  for (let i = 0; i < 10; i++) bare.push((await child(['-e', '0'], { probe: false })).wallMs);
  rows.push(['node -e 0 (for reference)', `${median(bare).toFixed(0)} ms`, `${Math.min(...bare).toFixed(0)}–${Math.max(...bare).toFixed(0)} ms`]);
  table(['command', 'median (< 200 ms)', 'range'], rows);
}

async function reportAndAudit(mock: MockLlmServer): Promise<void> {
  out('## (e) HTML report of 5,000 cases; audit of 1,000,000 log lines');
  out();
  const p = threeModelProject(mock, 5000);
  await fill(mock, p);
  const html = join(scratch, 'e.html');
  const r = await child([BIN, 'report', 'latest', '--db', p.dbFile, '-o', html], { cwd: p.dir });
  if (r.code !== 0) throw new Error(`report: exit ${r.code}\n${r.stderr}`);
  table(
    ['cases', 'generation (CLI wall)', 'file size', 'peak RSS'],
    [['5,000', secs(r.wallMs), `${(statSync(html).size / 2 ** 20).toFixed(2)} MB`, mb(r.maxRssKb)]],
  );
  rmSync(p.dir, { recursive: true, force: true });

  const help = await child([BIN, '--help'], { probe: false });
  const generator = join(ROOT, 'scripts/generate-logs.mjs');
  if (!/^\s+audit\b/m.test(help.stdout) || !existsSync(generator)) {
    out('`evalroute audit` or scripts/generate-logs.mjs not available — audit skipped');
    out();
    return;
  }
  const lines = 1_000_000;
  const logs = join(scratch, 'logs.jsonl');
  const gen = await child([generator, '--lines', String(lines), '--out', logs, '--seed', '7'], { probe: false });
  if (gen.code !== 0) throw new Error(`generate-logs: exit ${gen.code}\n${gen.stderr}`);
  const cwd = mkdtempSync(join(tmpdir(), 'evalroute-bench-audit-'));
  const a = await child([BIN, 'audit', logs, '--json', join(scratch, 'audit.json')], { cwd });
  if (a.code !== 0) throw new Error(`audit: exit ${a.code}\n${a.stderr}`);
  table(
    ['log lines', 'log size', 'audit wall', 'lines/s', 'peak RSS (< 300 MB)', 'generation (untimed)'],
    [[
      lines.toLocaleString('en'),
      `${(statSync(logs).size / 2 ** 20).toFixed(0)} MB`,
      secs(a.wallMs),
      Math.round(lines / (a.wallMs / 1000)).toLocaleString('en'),
      `${mb(a.maxRssKb)} ${check((a.maxRssKb ?? Infinity) < 300 * 1024)}`,
      secs(gen.wallMs),
    ]],
  );
  rmSync(cwd, { recursive: true, force: true });
}

function peers(): void {
  const local = join(ROOT, 'node_modules/.bin/promptfoo');
  const onPath = spawnSync('sh', ['-c', 'command -v promptfoo'], { encoding: 'utf8' }).stdout.trim();
  out('## Peer comparison');
  out();
  if (!existsSync(local) && !onPath) out('promptfoo not installed — skipped');
  else out(`promptfoo found at ${existsSync(local) ? local : onPath}; a side-by-side run is not automated here (its config format differs) — see bench/RESULTS.md for the published peer figures`);
  out();
}

if (!existsSync(BIN)) throw new Error(`run the benchmark from the repository root (no ${BIN}); use npm run bench`);
const started = performance.now();
out('# evalroute benchmark');
out();
machine();
const mock = await startMockLlmServer({ responder: rightAnswer });
try {
  if (only.has('a')) await liveCalls(mock);
  if (only.has('b')) await cachedRerun(mock);
  if (only.has('c')) await bigSuite(mock);
  if (only.has('d')) await startup();
  if (only.has('e')) await reportAndAudit(mock);
  peers();
} finally {
  await mock.close();
  rmSync(scratch, { recursive: true, force: true });
}
out(`Whole benchmark: ${secs(performance.now() - started)}`);
