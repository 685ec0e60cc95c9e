/**
 * A run against a misbehaving API: 15% 429s (with Retry-After), 5% 500s, 2% dropped connections and 2%
 * answers slower than the timeout, over 300 cases on two models through both real SDKs. Nothing may be
 * lost, every retry must wait at least what the API asked, and the store must show the attempts.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/api/run.js';
import type { Completion, ModelConfig, Provider } from '../src/core/types.js';
import { abortableSleep } from '../src/engine/retry.js';
import { registerProvider } from '../src/providers/registry.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject } from './support/project.js';

let server: MockLlmServer;
beforeAll(async () => {
  server = await startMockLlmServer({ responder: arithmeticResponder() });
});
afterAll(() => server.close());

const RETRY_AFTER_MS = 50;
const fast = { retry: { baseDelayMs: 10, maxDelayMs: 200 } };

function withModels(p: ReturnType<typeof createProject>, bigExtra: string, smallExtra: string): void {
  p.write(
    'evalroute.config.yaml',
    `store: .evalroute/test.db
models:
  big:   { provider: openai, model: big-1, baseURL: ${server.openaiBaseURL}, apiKeyEnv: BIG_KEY, price: { input: 10, output: 30 }${bigExtra} }
  small: { provider: anthropic, model: small-1, baseURL: ${server.anthropicBaseURL}, apiKeyEnv: SMALL_KEY, price: { input: 0.5, output: 1.5 }${smallExtra} }
routing: routing.yaml
`,
  );
}

describe('fault injection: 429 + 500 + dropped connections + timeouts', () => {
  it('completes 300 cases with zero lost calls, records attempts and honours Retry-After', async () => {
    server.reset();
    server.setFaults({ seed: 11, rate429: 0.15, error500: 0.05, dropConnection: 0.02, slow: 0.02, slowMs: 5_000, retryAfterMs: RETRY_AFTER_MS });
    const p = createProject(server, { cases: 300 });
    // timeoutMs well above a healthy answer even on a loaded 2-core machine (a healthy call must not time
    // out nine times in a row), well below the 5 s of the injected slow answers.
    const limits = ', concurrency: 8, timeoutMs: 1000, maxRetries: 8';
    withModels(p, limits, limits);
    const result = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, ...fast });
    server.setFaults({});

    expect(result.summary.status).toBe('complete');
    expect(result.exitCode).toBe(0);
    expect(result.summary.errors).toBeUndefined();
    expect(result.results).toHaveLength(300);

    // Every fault kind really happened.
    const faults = new Map<string, number>();
    for (const r of server.requests) if (r.fault) faults.set(r.fault, (faults.get(r.fault) ?? 0) + 1);
    expect(faults.get('rate429')).toBeGreaterThan(40);
    expect(faults.get('error500')).toBeGreaterThan(10);
    expect(faults.get('dropConnection')).toBeGreaterThan(2);
    expect(faults.get('slow')).toBeGreaterThan(2);

    const db = new Database(result.dbFile, { readonly: true });
    const rows = db.prepare('select attempts, error_kind from responses').all() as { attempts: number; error_kind: string | null }[];
    const grades = (db.prepare('select count(*) n from grades').get() as { n: number }).n;
    db.close();
    // 300 baseline calls + 150 cheap-tier calls, each stored once, none errored, all graded.
    expect(rows).toHaveLength(450);
    expect(rows.filter((r) => r.error_kind !== null)).toEqual([]);
    expect(grades).toBe(450);
    // Every request the API saw is an attempt the store accounts for. (Not equality: on a loaded machine
    // an attempt can time out before its request is even logged by the server.)
    const attempts = rows.reduce((n, r) => n + r.attempts, 0);
    expect(attempts).toBeGreaterThanOrEqual(server.requests.length);
    expect(rows.filter((r) => r.attempts > 1).length).toBeGreaterThan(50);
    expect(Math.max(...rows.map((r) => r.attempts))).toBeGreaterThanOrEqual(3);

    // Nothing here is ordered by server arrival times (a loaded machine reorders them): how each 429 was
    // retried is checked below, on a run with only 429s.
  });

  it('waits at least what Retry-After asks before every retry of a 429 (the waits decided, not arrival times)', async () => {
    server.reset();
    server.setFaults({ seed: 5, rate429: 0.3, retryAfterMs: RETRY_AFTER_MS });
    const p = createProject(server, { cases: 40 });
    withModels(p, ', maxRetries: 8', ', maxRetries: 8');
    // Arrival times at the server are skewed by a loaded machine either way; the wait the policy asks
    // the clock for is what evalroute controls.
    const waits: number[] = [];
    const sleep = (ms: number, signal: AbortSignal) => {
      waits.push(ms);
      return abortableSleep(ms, signal);
    };
    const result = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, retry: { ...fast.retry, sleep } });
    server.setFaults({});
    expect(result.exitCode).toBe(0);
    const limited = server.requests.filter((r) => r.fault === 'rate429').length;
    expect(limited).toBeGreaterThan(5);
    expect(waits).toHaveLength(limited);
    expect(waits.filter((ms) => ms < RETRY_AFTER_MS)).toEqual([]);
  });

  it('stores the attempts of a call that failed for good', async () => {
    server.reset();
    const p = createProject(server, { cases: 1 });
    withModels(p, ', maxRetries: 2', ', maxRetries: 2');
    server.failNext(6, 'error500');
    const result = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, ...fast });
    expect(result.exitCode).toBe(3);
    expect(result.summary.errors).toEqual([
      { kind: 'server', model: 'big', count: 1, example: expect.stringContaining('HTTP 500') as string, status: 500, url: `${server.openaiBaseURL}/chat/completions` },
      { kind: 'server', model: 'small', count: 1, example: expect.stringContaining('HTTP 500') as string, status: 500, url: `${server.anthropicBaseURL}/v1/messages` },
    ]);
    const db = new Database(result.dbFile, { readonly: true });
    const rows = db.prepare('select model_key, attempts, error_kind, error_status from responses order by model_key').all();
    db.close();
    expect(rows).toEqual([
      { model_key: 'big', attempts: 3, error_kind: 'server', error_status: 500 },
      { model_key: 'small', attempts: 3, error_kind: 'server', error_status: 500 },
    ]);
  });
});

describe('hard deadline', () => {
  it('a provider that ignores its timeout and abort signal cannot hang the run: timeout, retried, stored', async () => {
    let calls = 0;
    const signals: AbortSignal[] = [];
    registerProvider('stuck-test', (model: ModelConfig): Provider => ({
      key: model.key,
      identity: `stuck-test|${model.model}`,
      complete: (_req, signal) => {
        calls++;
        signals.push(signal);
        return new Promise<Completion>(() => undefined);
      },
    }));
    const p = createProject(server, { cases: 2, rules: '  - { tier: frontier }' });
    p.write(
      'evalroute.config.yaml',
      `models:
  big: { provider: stuck-test, model: stuck, timeoutMs: 100, maxRetries: 1 }
routing: routing.yaml
`,
    );
    p.write('routing.yaml', 'baseline: big\ntiers:\n  frontier: { model: big }\nrules:\n  - { tier: frontier }\n');
    // No wall-clock bound: a hang would fail on the test timeout; the calls and errors show the deadline fired.
    const result = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: {}, ...fast });

    expect(calls).toBe(4);
    // Each attempt's signal was aborted by the deadline, so a provider that listens would have stopped.
    expect(signals.map((s) => (s.reason as DOMException | undefined)?.name)).toEqual(Array(4).fill('TimeoutError'));
    expect(result.exitCode).toBe(3);
    expect(result.summary.errors).toEqual([{ kind: 'timeout', model: 'big', count: 2, example: expect.stringMatching(/no answer within 1100 ms/) as string }]);
    const calls_ = result.results.map((r) => r.baseline.error);
    expect(calls_.every((e) => e?.kind === 'timeout' && e.attempts === 2)).toBe(true);
  });
});
