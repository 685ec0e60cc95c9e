/**
 * `npm run bench`: evalroute against the project's mock LLM server (real HTTP, real SDKs, real SQLite),
 * each measured scenario in its own child process so its peak RSS is its own.
 *
 *   (a) live calls: 1,000 calls at 100 ms latency, concurrency 16/32/50/64, OpenAI and Anthropic formats;
 *       wall time of run() vs the floor ceil(calls / concurrency) × latency, client CPU per call and
 *       event-loop delay p99 — beside a bare node:http client and the SDK alone sending the same
 *       requests (bench/reference-client.ts), so the gap splits into the machine's, the SDK's and ours
 *   (f) side by side: 500 cases × 2 models through the CLI (and through promptfoo with --peer promptfoo):
 *       wall/floor at each concurrency, CPU, peak RSS, cached replay, start-up, 10 % 429 with Retry-After 1 s
 *       beside the best wall any client could reach under that fault pattern (bench/ideal-schedule.ts)
 *   (b) fully cached rerun of a 500-case, three-model suite through the CLI, JSON and HTML report included
 *   (c) 20,000-case suite from cache through the CLI
 *   (d) `evalroute --version` / `--help` start-up, median of 10
 *   (e) HTML report of a 5,000-case run; `evalroute audit` of a generated 1,000,000-line log
 *   (g) as (a), with each request's latency between 50 and 150 ms (decided by its body, mean 100 ms), as
 *       real APIs vary: answers no longer arrive in waves; the floor is the list schedule of those latencies
 *
 *   npm run bench [-- --only a,b] [-- --peer promptfoo] [-- --f-parts live,cached,startup,429]
 *
 * The mock LLM server runs in a process of its own (bench/mock-process.ts), as a real provider does, so
 * no measured client shares its event loop or its CPU with the server.
 */
import { fork, spawn, spawnSync } from 'node:child_process';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { MockApi, MockFaults } from '../test/support/mock-llm-server.js';
import { faultPattern, idealSchedule, jitterOf, listScheduleMs } from './ideal-schedule.js';
import type { MockAnswer, MockCommand, ServedRequest } from './mock-process.js';
import type { ReferenceResult } from './reference-client.js';
import { installPromptfoo, promptfooEnv, PROMPTFOO_VERSION, writePromptfooProject } from './promptfoo.js';
import { BENCH_ENV, singleModelProject, threeModelProject, twoModelProject, type BenchProject, type MockUrls } from './project.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = process.cwd();
const BIN = join(ROOT, 'bin/evalroute.js');
const PROBE = pathToFileURL(join(HERE, 'probe.js')).href;
const SCENARIO = join(HERE, 'scenario.js');
const REFERENCE = join(HERE, 'reference-client.js');
const only = new Set((argValue('--only') ?? 'a,b,c,d,e,f,g').split(',').map((s) => s.trim()));
const peer = argValue('--peer');
/** Which measurements of (f) to make (all by default); the others show as —. */
const fParts = new Set((argValue('--f-parts') ?? 'live,cached,startup,429').split(',').map((s) => s.trim()));
if (peer !== undefined && peer !== 'promptfoo') throw new Error(`--peer: only promptfoo is supported, not "${peer}"`);
const scratch = mkdtempSync(join(tmpdir(), 'evalroute-bench-out-'));

interface ChildResult {
  code: number | null;
  wallMs: number;
  stdout: string;
  stderr: string;
  maxRssKb?: number;
  /** CPU (user + system) of the whole child process, as it reported at exit. */
  cpuMs?: number;
}

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

interface RemoteMock extends MockUrls {
  /** Every answer after `ms`, plus 0 ≤ jitter < `jitterMs` decided by the request body (jitterOf). */
  setLatency(ms: number, jitterMs?: number): Promise<void>;
  setFaults(faults: MockFaults): Promise<void>;
  reset(): Promise<void>;
  /** Requests served since the last reset, and their HTTP statuses. */
  served(): Promise<{ served: number; statuses: Record<string, number> }>;
  /** The requests served since the last reset, bodies and injected faults, in arrival order. */
  log(): Promise<ServedRequest[]>;
  close(): Promise<void>;
}

/** Starts bench/mock-process.js and drives it over IPC. */
async function startRemoteMock(): Promise<RemoteMock> {
  const p = fork(join(HERE, 'mock-process.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const urls = await new Promise<MockUrls>((resolve, reject) => {
    p.once('message', (m) => resolve(m as MockUrls));
    p.once('exit', (code) => reject(new Error(`mock process exited (${code}) before it was ready`)));
  });
  const waiting = new Map<number, (a: MockAnswer) => void>();
  p.on('message', (m) => {
    const a = m as MockAnswer;
    waiting.get(a.id)?.(a);
    waiting.delete(a.id);
  });
  let next = 0;
  const ask = (cmd: WithoutId<MockCommand>) =>
    new Promise<MockAnswer>((resolve) => {
      const id = ++next;
      waiting.set(id, resolve);
      p.send({ ...cmd, id });
    });
  return {
    openaiBaseURL: urls.openaiBaseURL,
    anthropicBaseURL: urls.anthropicBaseURL,
    setLatency: async (ms, jitterMs = 0) => void (await ask({ op: 'latency', ms, jitterMs })),
    setFaults: async (faults) => void (await ask({ op: 'faults', faults })),
    reset: async () => void (await ask({ op: 'reset' })),
    served: async () => {
      const a = await ask({ op: 'served' });
      return { served: a.served ?? 0, statuses: a.statuses ?? {} };
    },
    log: async () => (await ask({ op: 'log' })).log ?? [],
    close: async () => {
      await ask({ op: 'close' });
      if (p.exitCode === null) await new Promise((r) => p.once('exit', r));
    },
  };
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Spawns `node [--import probe] args…` and measures wall time from spawn to exit. */
function child(args: string[], opts: { cwd?: string; probe?: boolean; env?: Record<string, string> } = {}): Promise<ChildResult> {
  const probeFile = join(scratch, `probe-${Math.random().toString(36).slice(2)}.json`);
  const nodeArgs = opts.probe === false ? args : ['--import', PROBE, ...args];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const p = spawn(process.execPath, nodeArgs, {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...BENCH_ENV, ...opts.env, BENCH_PROBE_FILE: probeFile, NO_COLOR: '1' },
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
      if (existsSync(probeFile)) Object.assign(r, JSON.parse(readFileSync(probeFile, 'utf8')) as { maxRssKb: number; cpuMs: number });
      resolve(r);
    });
  });
}

/** The library run() in a child: wall time of run() alone, as the child measured it. */
async function runScenario(p: BenchProject, concurrency: number, cache: 'use' | 'refresh') {
  const r = await child([SCENARIO, p.suiteDir, p.dir, String(concurrency), cache], { probe: false });
  if (r.code !== 0) throw new Error(`scenario child failed (exit ${r.code}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { wallMs: number; cpuMs: number; callsCpuMs: number; setupMs: number; callsMs: number; loopDelayP99Ms: number; calls: number; errors: number; status: string; pass: boolean; runId: string; maxRssKb: number };
}

/** A reference client (bare node:http, the SDK alone, or the SDK on worker threads) in a child, on the given request bodies. */
async function runReference(kind: 'bare' | 'sdk' | 'sdk-workers', api: MockApi, mock: MockUrls, concurrency: number, bodiesFile: string): Promise<ReferenceResult> {
  const baseURL = api === 'openai' ? mock.openaiBaseURL : mock.anthropicBaseURL;
  const r = await child([REFERENCE, kind, api, baseURL, String(concurrency), bodiesFile], { probe: false });
  if (r.code !== 0) throw new Error(`reference client (${kind}, ${api}) failed (exit ${r.code}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ReferenceResult;
}

/** Fills a project's response cache at full speed (latency 0); not part of any measured figure. */
async function fill(mock: RemoteMock, p: BenchProject): Promise<number> {
  await mock.setLatency(0);
  await mock.reset();
  const r = await runScenario(p, 128, 'use');
  if (r.errors || r.calls !== p.calls) throw new Error(`cache fill: expected ${p.calls} calls without error, got ${r.calls} calls, ${r.errors} errors`);
  return r.wallMs;
}

const CONCURRENCIES = [16, 32, 50, 64];
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
  out(`- load average at start: ${load()}`);
  out();
}

/** The 1-minute load average now: recorded beside every figure, since the machine is shared. */
const load = () => loadavg().map((l) => l.toFixed(2)).join(', ');
const load1 = () => loadavg()[0]!.toFixed(1);

/** (a): every answer after exactly 100 ms; (g): after 50–150 ms, spread evenly by request (mean 100 ms). */
const EXACT_LATENCY = { scenario: 'a', baseMs: 100, jitterMs: 0 } as const;
const JITTERED_LATENCY = { scenario: 'g', baseMs: 50, jitterMs: 100 } as const;

async function liveCalls(mock: RemoteMock, latency: typeof EXACT_LATENCY | typeof JITTERED_LATENCY): Promise<void> {
  const calls = 1000;
  const { baseMs, jitterMs } = latency;
  out(
    jitterMs
      ? `## (g) Live calls with jittered latency: ${calls} calls, ${baseMs}–${baseMs + jitterMs} ms mock latency (by request, mean ${baseMs + jitterMs / 2} ms), one model, run() wall vs floor`
      : `## (a) Live calls: ${calls} calls, ${baseMs} ms mock latency, one model, run() wall vs floor`,
  );
  out();
  const rows: string[][] = [];
  // wall/floor, the wall itself and CPU per call of one client, in one cell.
  const cell = (wallMs: number, floor: number, cpuMs: number) => `${(wallMs / floor).toFixed(3)} (${secs(wallMs)}; ${(cpuMs / calls).toFixed(2)} ms)`;
  for (const api of ['openai', 'anthropic'] as MockApi[]) {
    const p = singleModelProject(mock, api, calls);
    const bodiesFile = join(scratch, `${latency.scenario}-${api}-bodies.json`);
    for (const concurrency of CONCURRENCIES) {
      await mock.setLatency(baseMs, jitterMs);
      await mock.reset();
      const loadAtStart = load1();
      const r = await runScenario(p, concurrency, 'refresh');
      const log = await mock.log();
      if (r.errors || r.calls !== calls || log.length !== calls) throw new Error(`live run: ${r.calls} calls, ${r.errors} errors, ${log.length} requests served (expected ${calls}, 0, ${calls})`);
      // The references send exactly the bodies this run sent, in the same order.
      writeFileSync(bodiesFile, JSON.stringify(log.map((x) => x.body)));
      const reference = async (kind: 'bare' | 'sdk' | 'sdk-workers') => {
        await mock.reset();
        const ref = await runReference(kind, api, mock, concurrency, bodiesFile);
        const { served, statuses } = await mock.served();
        if (ref.errors || served !== calls || statuses['200'] !== calls) throw new Error(`reference ${kind}: ${ref.errors} errors, ${served} requests served, statuses ${JSON.stringify(statuses)}`);
        return ref;
      };
      const bare = await reference('bare');
      const sdk = await reference('sdk');
      const sdkWorkers = await reference('sdk-workers');
      // The references send the same bodies in the same order, so they share this floor.
      const floor = listScheduleMs(log.map((x) => baseMs + jitterOf(x.body, jitterMs)), concurrency);
      const ratio = r.wallMs / floor;
      rows.push([
        api,
        String(concurrency),
        secs(floor),
        cell(bare.wallMs, floor, bare.cpuMs),
        cell(sdk.wallMs, floor, sdk.cpuMs),
        cell(sdkWorkers.wallMs, floor, sdkWorkers.cpuMs),
        `${ratio.toFixed(3)} ${check(ratio <= 1.05)} (${secs(r.wallMs)})`,
        cell(r.callsMs, floor, r.callsCpuMs),
        `${(r.wallMs / sdk.wallMs).toFixed(3)}; ${(r.callsMs / sdk.wallMs).toFixed(3)}`,
        `${(r.cpuMs / calls).toFixed(2)} ms`,
        `${r.loopDelayP99Ms.toFixed(1)} ms`,
        `${r.setupMs.toFixed(0)} ms`,
        `${mb(r.maxRssKb)} ${check(r.maxRssKb < 150 * 1024)}`,
        `${loadAtStart} → ${load1()}`,
      ]);
    }
    rmSync(p.dir, { recursive: true, force: true });
  }
  table(
    [
      'format',
      'in flight',
      'floor',
      'bare node:http: wall/floor (wall; CPU per call)',
      'SDK alone: wall/floor (wall; CPU per call)',
      'SDK on 2 worker threads: wall/floor (wall; CPU per call)',
      'evalroute run(): wall/floor (≤ 1.05)',
      'evalroute calls phase: wall/floor (wall; CPU per call)',
      'evalroute / SDK alone: run(); calls phase',
      'CPU of run() / calls',
      'event-loop delay p99',
      'set-up before 1st call',
      'peak RSS (< 150 MB)',
      'load avg (1 min) before → after',
    ],
    rows,
  );
  out('- bare node:http: the same request bodies POSTed over a keep-alive agent, answers JSON-parsed, nothing else; SDK alone: the real SDK with evalroute\'s `httpFetch` as its fetch, maxRetries 0, nothing else; SDK on 2 worker threads: the same calls on two worker threads with a client each, the main thread handing out bodies and collecting answers (CPU counts all threads) — whether moving the SDKs off the main thread could help here. Each timed from the first request to the last answer, in a child process of its own, right after evalroute\'s run at the same concurrency.');
  out('- evalroute run(): the whole library call, set-up (loading, routing, opening the store) and wrap-up included; calls phase: first call to last settled call.');
  if (jitterMs) {
    out(
      `- Floor: a zero-CPU client sending the run's requests in its order, each as soon as one of the slots is free, each taking its own latency (${baseMs} ms + its jitter, recomputed from its body): answers no longer arrive in waves, as with real APIs, whose latencies vary.`,
    );
  }
  out();
}

async function cachedRerun(mock: RemoteMock): Promise<void> {
  out('## (b) Fully cached rerun: 500 cases, three models, CLI with --json and --report');
  out();
  const p = threeModelProject(mock, 500);
  const fillMs = await fill(mock, p);
  const runs: ChildResult[] = [];
  for (let i = 0; i < 3; i++) {
    await mock.reset();
    const r = await child([BIN, 'run', p.suiteDir, '--json', join(scratch, 'b.json'), '--report', join(scratch, 'b.html'), '-q'], { cwd: p.dir });
    const { served } = await mock.served();
    if (r.code !== 0 || served) throw new Error(`cached rerun: exit ${r.code}, ${served} API calls\n${r.stderr}`);
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

async function bigSuite(mock: RemoteMock): Promise<void> {
  const cases = 20_000;
  out(`## (c) ${cases.toLocaleString('en')}-case suite from cache, CLI with --json`);
  out();
  const p = threeModelProject(mock, cases);
  const fillMs = await fill(mock, p);
  await mock.reset();
  const r = await child([BIN, 'run', p.suiteDir, '--json', join(scratch, 'c.json'), '-q'], { cwd: p.dir });
  const { served } = await mock.served();
  if (r.code !== 0 || served) throw new Error(`20k cached run: exit ${r.code}, ${served} API calls\n${r.stderr}`);
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

async function reportAndAudit(mock: RemoteMock): Promise<void> {
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

/** One tool of the side-by-side comparison: how to run it on the 500-case, two-model project. */
interface SideTool {
  name: string;
  /** argv (after `node`) of a live run with the cache off, and of a run that may replay the cache. */
  live(concurrency: number): string[];
  cached(): string[];
  version(): string[];
  cwd: string;
  env?: Record<string, string>;
  /** Results and errored results the run produced, read from its JSON output. */
  outcome(): { results: number; errors: number };
}

const SIDE_CASES = 500;
const SIDE_LATENCY = 100;

function evalrouteTool(mock: RemoteMock): SideTool & { cleanup(): void } {
  const p = twoModelProject(mock, SIDE_CASES, 8);
  const json = join(scratch, 'f-evalroute.json');
  return {
    name: 'evalroute',
    live: (c) => [BIN, 'run', p.suiteDir, '--no-cache', '--concurrency', String(c), '-q', '--json', json],
    cached: () => [BIN, 'run', p.suiteDir, '-q', '--json', json],
    version: () => [BIN, '--version'],
    cwd: p.dir,
    outcome: () => {
      // `run --json` writes the run summary.
      const r = JSON.parse(readFileSync(json, 'utf8')) as { models: Array<{ calls: number; errors: number }> };
      return { results: r.models.reduce((n, m) => n + m.calls, 0), errors: r.models.reduce((n, m) => n + m.errors, 0) };
    },
    cleanup: () => rmSync(p.dir, { recursive: true, force: true }),
  };
}

function promptfooTool(mock: RemoteMock, entry: string): SideTool {
  const dir = join(scratch, 'promptfoo');
  const config = writePromptfooProject(dir, mock, SIDE_CASES, BENCH_ENV.BENCH_KEY);
  const json = join(dir, 'out.json');
  const common = ['eval', '-c', config, '--no-progress-bar', '--no-table', '--no-write', '-o', json];
  return {
    name: `promptfoo ${PROMPTFOO_VERSION}`,
    live: (c) => [entry, ...common, '--no-cache', '-j', String(c)],
    cached: () => [entry, ...common, '-j', '50'],
    version: () => [entry, '--version'],
    cwd: dir,
    env: promptfooEnv(dir),
    outcome: () => {
      const r = JSON.parse(readFileSync(json, 'utf8')) as { results: { results: Array<{ error?: string | null; response?: { error?: string } }> } };
      const rows = r.results.results;
      return { results: rows.length, errors: rows.filter((x) => x.error || x.response?.error).length };
    },
  };
}

/**
 * (f) Both tools, each as a whole process (start-up included, as a user waits for it), on the same
 * mock, the same 500 cases × 2 models, the same number of calls in flight. Floor = ceil(1000 / in
 * flight) × latency.
 */
async function sideBySide(mock: RemoteMock): Promise<void> {
  const calls = 2 * SIDE_CASES;
  out(`## (f) Side by side: ${SIDE_CASES} cases × 2 models (OpenAI + Anthropic format), ${SIDE_LATENCY} ms mock latency, whole CLI process`);
  out();
  const tools: SideTool[] = [];
  const notes: string[] = [];
  const own = evalrouteTool(mock);
  tools.push(own);
  if (peer === 'promptfoo') {
    const installed = installPromptfoo(join(ROOT, 'node_modules/.cache/evalroute-bench-peers'));
    notes.push(installed.note);
    if (installed.entry) tools.push(promptfooTool(mock, installed.entry));
  } else notes.push('promptfoo not requested (`npm run bench -- --peer promptfoo` installs and runs it) — evalroute only');

  const rows: string[][] = [];
  const limitedRows: string[][] = [];
  for (const tool of tools) {
    const row: string[] = [tool.name];
    const problems: string[] = [];
    const runOnce = async (args: string[], expectServed: number | undefined, what: string) => {
      await mock.reset();
      const r = await child(args, { cwd: tool.cwd, ...(tool.env ? { env: tool.env } : {}) });
      const { served, statuses } = await mock.served();
      let got = { results: 0, errors: 0 };
      try {
        got = tool.outcome();
      } catch (e) {
        problems.push(`${what}: no JSON output (exit ${r.code}): ${(e as Error).message.slice(0, 80)} ${r.stderr.trim().split('\n').slice(-2).join(' ').slice(0, 200)}`);
      }
      if (got.results !== calls || got.errors) problems.push(`${what}: ${got.results} results, ${got.errors} errored (exit ${r.code})`);
      if (expectServed !== undefined && served !== expectServed) problems.push(`${what}: ${served} API calls (expected ${expectServed})`);
      return { ...r, served, statuses, got };
    };
    // Each tool's own notion of concurrency: evalroute's is per model, promptfoo's is per run, so
    // evalroute is given half: both then keep the same number of calls in flight.
    const perModel = (c: number) => (tool === own ? Math.max(1, Math.floor(c / 2)) : c);
    await mock.setFaults({});
    await mock.setLatency(SIDE_LATENCY);
    let cpuAt50 = 0;
    let rssMax = 0;
    for (const c of fParts.has('live') ? CONCURRENCIES : []) {
      const l = load1();
      const r = await runOnce(tool.live(perModel(c)), calls, `concurrency ${c}`);
      const floor = Math.ceil(calls / c) * SIDE_LATENCY;
      row.push(`${(r.wallMs / floor).toFixed(2)} (${secs(r.wallMs)}, load ${l})`);
      if (c === 50) cpuAt50 = r.cpuMs ?? 0;
      rssMax = Math.max(rssMax, r.maxRssKb ?? 0);
    }
    if (!fParts.has('live')) row.push(...CONCURRENCIES.map(() => '—'));
    row.push(fParts.has('live') ? `${(cpuAt50 / calls).toFixed(2)} ms` : '—', fParts.has('live') ? mb(rssMax) : '—');
    if (fParts.has('cached')) {
      // Cached replay: fill once with the cache on (latency 0, untimed), then time three replays: one
      // sample on a shared 2-core machine moved by ±0.15 s from run to run.
      await mock.setLatency(0);
      await runOnce(tool.cached(), undefined, 'cache fill');
      const replays: number[] = [];
      for (let i = 0; i < 3; i++) replays.push((await runOnce(tool.cached(), 0, 'cached replay')).wallMs);
      const replayMs = median(replays);
      row.push(`${secs(replayMs)} ${check(replayMs < 500)} (median of ${replays.map(secs).join(', ')}; load ${load1()})`);
    } else row.push('—');
    if (fParts.has('startup')) {
      const starts: number[] = [];
      for (let i = 0; i < 5; i++) starts.push((await child(tool.version(), { cwd: tool.cwd, probe: false, ...(tool.env ? { env: tool.env } : {}) })).wallMs);
      row.push(`${median(starts).toFixed(0)} ms ${check(median(starts) < 150)}`);
    } else row.push('—');
    if (!fParts.has('429')) {
      rows.push([...row, '—']);
      if (problems.length) notes.push(`${tool.name}: ${problems.join('; ')}`);
      continue;
    }
    // 10 % of requests answered 429 with Retry-After: 1 s, concurrency 50.
    await mock.setLatency(SIDE_LATENCY);
    const faults = { seed: 19, rate429: 0.1, retryAfterMs: 1000 };
    await mock.setFaults(faults);
    const l = load1();
    const limited = await runOnce(tool.live(perModel(50)), undefined, '10 % 429');
    const log = await mock.log();
    await mock.setFaults({});
    const floor50 = Math.ceil(calls / 50) * SIDE_LATENCY;
    const ratio = limited.wallMs / floor50;
    row.push(`${ratio.toFixed(2)} ${check(ratio <= 1.3)} (${secs(limited.wallMs)}, ${limited.statuses['429'] ?? 0} × 429, ${limited.got.results - limited.got.errors}/${calls} results, load ${l})`);
    limitedRows.push(faultRow(tool.name, limited.wallMs, floor50, log, faults));
    rows.push(row);
    if (problems.length) notes.push(`${tool.name}: ${problems.join('; ')}`);
  }
  own.cleanup();
  table(
    ['tool', ...CONCURRENCIES.map((c) => `wall/floor at ${c} in flight`), 'CPU per call (at 50)', 'peak RSS', 'cached replay of 1,000, median of 3 (< 0.5 s)', 'start-up --version (< 0.15 s)', '10 % 429, Retry-After 1 s, 50 in flight (≤ 1.3 × floor)'],
    rows,
  );
  for (const n of notes) out(`- ${n}`);
  out();
  if (!limitedRows.length) return;
  out('### (f) 10 % 429 with Retry-After 1 s, 50 in flight: measured vs the best any client could do under the same faults');
  out();
  table(
    ['tool', 'measured wall', 'measured / fault-free floor (≤ 1.3)', '429s answered', 'bodies with 0 / 1 / 2 / 3+ 429s', 'longest chain', 'ideal client (slot freed while waiting)', 'ideal / fault-free floor', 'measured / ideal', 'ideal without foresight (/ floor; measured / it)', 'ideal, slot held while waiting (/ floor)', 'lower bound, any schedule (/ floor)', 'fault pattern check'],
    limitedRows,
  );
  out('- The fault pattern is the mock\'s own: `seededFault` (test/support/mock-llm-server.ts) applied to each distinct request body the run sent, occurrence by occurrence until its first non-429, so repeated 429s on one request count. The mock answers a 429 only after its 100 ms latency, so a body with k 429s is a chain of k + 1 attempts of 100 ms with a 1 s wait after each 429, whatever the client.');
  out('- Ideal client: zero CPU, retries the moment Retry-After has passed, 50 requests in flight at most (both models together), slots handed out each 100 ms step to the ready chains with the most attempts left (greedy list schedule, which needs foresight of which requests will get a 429). "Without foresight": the same client knowing nothing in advance — a retry goes out as soon as it is due, otherwise the next request in the order the run sent them. "Slot freed": a call waiting out its Retry-After does not count as in flight; "slot held": it does (a limiter around the retries, as per-call concurrency limits usually are; with foresight, longest chain first). Lower bound: max(longest chain, ceil(attempts / 50) × 100 ms); when the ideal equals it, the ideal is optimal.');
  out('- Fault pattern check: every logged request\'s fault recomputed from its body with `seededFault` (mismatches must be 0, else the bodies the bench saw are not the bytes the mock hashed).');
  out();
}

/** One row of the 429 table: the measured run beside the ideal schedule of its own fault pattern. */
function faultRow(tool: string, wallMs: number, floor: number, log: ServedRequest[], faults: MockFaults): string[] {
  const { retriesPerBody, mismatches } = faultPattern(log, faults);
  const ideal = idealSchedule(retriesPerBody, { slots: 50, latencyMs: SIDE_LATENCY, retryAfterMs: faults.retryAfterMs ?? 1000 });
  const bodiesWith = (k: number) => retriesPerBody.filter((n) => (k === 3 ? n >= 3 : n === k)).length;
  const ofFloor = (ms: number) => `${secs(ms)} (${(ms / floor).toFixed(2)})`;
  return [
    tool,
    secs(wallMs),
    `${(wallMs / floor).toFixed(2)} ${check(wallMs / floor <= 1.3)}`,
    String(log.filter((r) => r.fault === 'rate429').length),
    `${[0, 1, 2, 3].map(bodiesWith).join(' / ')} (of ${retriesPerBody.length})`,
    `${Math.max(0, ...retriesPerBody)} × 429 = ${secs(ideal.longestChainMs)}`,
    secs(ideal.slotFreedMs),
    (ideal.slotFreedMs / floor).toFixed(2),
    (wallMs / ideal.slotFreedMs).toFixed(2),
    `${ofFloor(ideal.noForesightMs)}; ${(wallMs / ideal.noForesightMs).toFixed(2)}`,
    ofFloor(ideal.slotHeldMs),
    ofFloor(ideal.lowerBoundMs),
    `${log.length - mismatches}/${log.length} reproduced`,
  ];
}

if (!existsSync(BIN)) throw new Error(`run the benchmark from the repository root (no ${BIN}); use npm run bench`);
const started = performance.now();
out('# evalroute benchmark');
out();
machine();
const mock = await startRemoteMock();
try {
  if (only.has('a')) await liveCalls(mock, EXACT_LATENCY);
  if (only.has('g')) await liveCalls(mock, JITTERED_LATENCY);
  if (only.has('b')) await cachedRerun(mock);
  if (only.has('c')) await bigSuite(mock);
  if (only.has('d')) await startup();
  if (only.has('e')) await reportAndAudit(mock);
  if (only.has('f')) await sideBySide(mock);
} finally {
  await mock.close();
  rmSync(scratch, { recursive: true, force: true });
}
out(`Whole benchmark: ${secs(performance.now() - started)}`);
