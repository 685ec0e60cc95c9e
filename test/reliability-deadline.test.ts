/**
 * `run --deadline`: every wait counts against the run's deadline. A retry whose wait would end past it
 * is not waited for — the run stops at once, resumable, saying which deadline and why — and a deadline
 * that passes while calls are in flight stops the run the same way. Also: a Retry-After wait longer
 * than the model's own per-call timeout is never silent.
 *
 * No assertion here measures time: each test fails because of what the run did (which requests the
 * server saw, what the store holds, what was printed), and the only timing assumption is that a run
 * whose calls take 13 s in sequence is not done within a 2 s deadline.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../src/core/errors.js';
import { formatDuration } from '../src/core/format.js';
import { RunDeadline } from '../src/engine/deadline.js';
import { withRetries, type RetryWait } from '../src/engine/retry.js';
import { ensureCliBuilt, runCli } from './support/cli.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject } from './support/project.js';

const HOUR_MS = 3_600_000;
/** The `--json out.json` a CLI run in `dir` wrote. */
const outJson = (dir: string) => JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as { status: string; runId: string };
const rateLimited = (retryAfterMs?: number) =>
  new ProviderError('429', { kind: 'rate_limit', retryable: true, status: 429, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });

describe('retries and the deadline', () => {
  it('a wait the deadline covers is slept; one it cannot cover is not: the deadline is told and the call stops as aborted', async () => {
    const slept: number[] = [];
    const exceeded: RetryWait[] = [];
    const budget = { covers: (ms: number) => ms <= 1_000, exceeded: (w: RetryWait) => void exceeded.push(w) };
    let calls = 0;
    const attempt = withRetries(
      async () => {
        calls++;
        // The first 429 asks for 500 ms (covered), the second for an hour (not).
        throw rateLimited(calls === 1 ? 500 : HOUR_MS);
      },
      { maxRetries: 5, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 2 * HOUR_MS, deadline: budget, sleep: async (ms) => void slept.push(ms) },
      new AbortController().signal,
    );
    await expect(attempt).rejects.toMatchObject({ kind: 'aborted', attempts: 2 });
    expect(calls).toBe(2);
    expect(slept).toEqual([500]);
    expect(exceeded.map((w) => ({ attempt: w.attempt, delayMs: w.delayMs, askedMs: w.askedMs }))).toEqual([{ attempt: 2, delayMs: HOUR_MS, askedMs: HOUR_MS }]);
  });

  it('RunDeadline: covers what ends before it, and a wait past it aborts the run with a reason naming case, model and the time left', () => {
    let now = 0;
    const deadline = new RunDeadline(600_000, () => now);
    try {
      const budget = deadline.forModel('big');
      expect(budget.covers(600_000)).toBe(true);
      now = 590_000;
      expect(budget.covers(5_000)).toBe(true);
      expect(budget.covers(60_000)).toBe(false);
      expect(deadline.signal.aborted).toBe(false);
      budget.exceeded({ attempt: 1, delayMs: 60_000, askedMs: 60_000, capped: false, error: rateLimited(60_000), caseId: 'c007' });
      expect(deadline.signal.aborted).toBe(true);
      expect(deadline.reason).toBe('retry 1 of case "c007" on model "big" had to wait 1 min (the API\'s Retry-After), more than the 10 s left');
    } finally {
      deadline.dispose();
    }
  });

  it('formats durations as messages show them', () => {
    expect([450, 2_500, 45_000, 1_800_000, 5_400_000, 7_200_000].map(formatDuration)).toEqual(['450 ms', '2.5 s', '45 s', '30 min', '1 h 30 min', '2 h']);
  });
});

describe('evalroute run --deadline (real CLI, mock API, real SQLite)', () => {
  let server: MockLlmServer;
  beforeAll(async () => {
    ensureCliBuilt();
    server = await startMockLlmServer({ responder: arithmeticResponder() });
  });
  afterAll(() => server.close());

  /** One count from the results file, opened read-only. */
  const count = (dbFile: string, sql: string, ...params: unknown[]): number => {
    const db = new Database(dbFile, { readonly: true, fileMustExist: true });
    try {
      return db.prepare(sql).pluck().get(...params) as number;
    } finally {
      db.close();
    }
  };
  const storedCalls = (dbFile: string, runId: string): number => count(dbFile, 'select count(*) from responses where run_id = ?', runId);

  /** Runs `body` with the mock answering after `ms`, back to no latency afterwards whatever happens. */
  const withLatency = async (ms: number, body: () => Promise<void>): Promise<void> => {
    server.setLatency(ms);
    try {
      await body();
    } finally {
      server.setLatency(0);
    }
  };

  it('a Retry-After the deadline cannot cover stops the run at once: no wait, no retry, exit 3 naming the deadline; --resume finishes it', async () => {
    server.reset();
    server.setFaults({ seed: 1, rate429: 1, retryAfterMs: HOUR_MS });
    const p = createProject(server, { cases: 2 });
    // A results file of its own: the printed resume command must carry it (and every flag that found the project).
    const out = await runCli(['run', p.suiteDir, '--db', 'elsewhere.db', '--max-retry-wait', '3600', '--deadline', '10m', '--json', 'out.json'], { cwd: p.dir, env: p.env });
    expect(out.status, out.stderr).toBe(3);
    // Of the three calls (big on both cases, small on the easy one) none was retried — nobody waited an
    // hour — and once the first 429 stopped the run no new call started.
    const asked = server.requests.map((r) => `${r.model}:${r.messages.at(-1)?.content ?? ""}`);
    expect(asked.length).toBeGreaterThanOrEqual(1);
    expect(asked.length).toBeLessThanOrEqual(3);
    expect(new Set(asked).size).toBe(asked.length);
    expect(out.stderr).not.toMatch(/waiting .* before retry/);
    expect(out.stdout).toMatch(/⚠ run stopped by its --deadline of 10 min: retry 1 of case "c00[01]" on model "(big|small)" had to wait 1 h \(the API's Retry-After\), more than the (9|10) min left; 0 of 3 calls are saved/);
    const json = outJson(p.dir);
    expect(json.status).toBe('interrupted');
    const printed = /continue with: evalroute (run .+?), with a longer --deadline/.exec(out.stdout)?.[1];
    expect(printed).toBe(`run ${p.suiteDir} --resume ${json.runId} --db elsewhere.db`);

    // The command as printed finishes the run.
    server.setFaults({});
    const resumed = await runCli([...printed!.split(' '), '--deadline', '10m'], { cwd: p.dir, env: p.env });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(storedCalls(join(p.dir, 'elsewhere.db'), json.runId)).toBe(3);
  }, 60_000);

  it('a deadline that passes while calls are in flight stops the run; what was saved stays, and --resume makes only the rest', async () => {
    server.reset();
    server.setFaults({});
    await withLatency(300, async () => {
      // 30 cases, one call at a time per model, 300 ms each: about 13 s of calls against a 2 s deadline.
      const p = createProject(server, { cases: 30 });
      const total = 45;
      const out = await runCli(['run', p.suiteDir, '--concurrency', '1', '--deadline', '2s', '--json', 'out.json'], { cwd: p.dir, env: p.env });
      expect(out.status, out.stderr).toBe(3);
      expect(out.stdout).toMatch(/⚠ run stopped by its --deadline of 2 s: it passed while calls were in flight or waiting; \d+ of 45 calls are saved/);
      const { runId, status } = outJson(p.dir);
      expect(status).toBe('interrupted');
      const saved = storedCalls(p.dbFile, runId);
      expect(saved).toBeLessThan(total);
      // A request the stopped run sent just before the stop may still be read by the server: let it land.
      await new Promise((r) => setTimeout(r, 300));
      const before = server.requests.length;

      server.setLatency(0);
      const resumed = await runCli(['run', p.suiteDir, '--resume', runId], { cwd: p.dir, env: p.env });
      expect(resumed.status, resumed.stderr).toBe(0);
      expect(storedCalls(p.dbFile, runId)).toBe(total);
      // Only the calls not saved were made again.
      expect(server.requests.length - before).toBe(total - saved);
    });
  }, 90_000);

  it('gate --deadline bounds the base fill and the head together: passing during the fill, it stops the gate before the head runs; a rerun reuses what is stored', async () => {
    server.reset();
    server.setFaults({});
    await withLatency(1000, async () => {
      // Base: every case on the frontier (30 calls to big, 4 at a time, 1 s each: about 8 s) against a 2 s
      // deadline. The head routes the easy cases to small, so a head run would call small.
      const p = createProject(server, { cases: 30 });
      const base = join(p.dir, 'base-routing.yaml');
      writeFileSync(base, 'baseline: big\ntiers:\n  frontier: { model: big }\nrules:\n  - { tier: frontier }\n');
      const args = ['gate', p.suiteDir, '--routing', p.routingFile, '--base-routing', base];
      const bad = await runCli([...args, '--deadline', '0s'], { cwd: p.dir, env: p.env });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/--deadline <duration>.*expected from 1s to 7d, got "0s"/);
      expect(server.requests).toEqual([]);

      const out = await runCli([...args, '--deadline', '2s'], { cwd: p.dir, env: p.env });
      expect(out.status, out.stderr).toBe(3);
      const stopped = /gate stopped by its --deadline of 2 s while filling the base rules' missing answers \(it passed while calls were in flight or waiting\); the head did not run, (\d+) answers of the base run (\S+) are saved/.exec(out.stderr);
      expect(stopped, out.stderr).not.toBeNull();
      expect(out.stderr).toContain('run the same command again');
      expect(server.requests.filter((r) => r.model === 'small-1')).toEqual([]);
      expect(count(p.dbFile, 'select count(*) from runs')).toBe(1);
      const saved = storedCalls(p.dbFile, stopped![2]!);
      expect(saved).toBeLessThan(30);
      expect(Number(stopped![1])).toBe(saved);
      // A request the stopped gate sent just before the stop may still be read by the server: let it land.
      await new Promise((r) => setTimeout(r, 1200));
      const before = server.requests.length;

      server.setLatency(0);
      const again = await runCli(args, { cwd: p.dir, env: p.env });
      expect(again.status, again.stderr).toBe(0);
      // Only what was not stored: the base's missing big calls and the head's 15 easy cases on small
      // (the head's big calls are the base's, answered from the cache).
      expect(server.requests.length - before).toBe(30 - saved + 15);

      // Now the base is stored whole, and a head that sends every case to small needs 15 new calls
      // (the hard ones), 1 s each, 4 at a time: the deadline passes in the head run, whose stop says
      // to run the gate again — not `evalroute run --resume`, which would not re-decide the gate.
      const everyCaseSmall = join(p.dir, 'all-small.yaml');
      writeFileSync(everyCaseSmall, 'baseline: big\ntiers:\n  frontier: { model: big }\n  cheap: { model: small }\nrules:\n  - { tier: cheap }\n');
      server.setLatency(1000);
      const head = await runCli(['gate', p.suiteDir, '--routing', everyCaseSmall, '--base-routing', base, '--deadline', '2s'], { cwd: p.dir, env: p.env });
      expect(head.status, head.stderr).toBe(3);
      expect(head.stdout + head.stderr).toMatch(/run stopped by its --deadline of 2 s: .*continue with: the same `evalroute gate` command again \(it reuses the answers already stored\)/);
      expect(head.stdout + head.stderr).not.toContain('--resume');
    });
  }, 90_000);

  it('a Retry-After longer than the model\'s per-call timeout is printed, even when it is short', async () => {
    server.reset();
    server.setFaults({});
    const p = createProject(server, { cases: 1 });
    // The project's models have timeoutMs: 2000; this 429 asks for 2.5 s, under the 5 s "long wait" line.
    server.setFaults({ retryAfterMs: 2_500 });
    server.failNext(1, 'rate429');
    const out = await runCli(['run', p.suiteDir], { cwd: p.dir, env: p.env });
    expect(out.status, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/waiting 2\.5 s \(longer than the model's timeoutMs, 2 s\) before retry 1 of case "c000" on model "(big|small)": rate_limit \(429\); the API asked for 2\.5 s/);
  }, 60_000);
});
