/**
 * A run against a misbehaving API: 15% 429s (with Retry-After), 5% 500s, 2% dropped connections and 2%
 * answers slower than the timeout, over 300 cases on two models through both real SDKs. Nothing may be
 * lost, every retry must wait at least what the API asked, and the store must show the attempts.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/api/run.js';
import type { Completion, ModelConfig, Provider } from '../src/core/types.js';
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
    const limits = ', concurrency: 8, timeoutMs: 150, maxRetries: 8';
    withModels(p, limits, limits);
    const started = Date.now();
    const result = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, ...fast });
    server.setFaults({});

    expect(result.summary.status).toBe('complete');
    expect(result.exitCode).toBe(0);
    expect(result.summary.errors).toBeUndefined();
    expect(result.results).toHaveLength(300);
    expect(Date.now() - started).toBeLessThan(15_000);

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
    // Every request the API saw is an attempt the store accounts for.
    const attempts = rows.reduce((n, r) => n + r.attempts, 0);
    expect(attempts).toBe(server.requests.length);
    expect(rows.filter((r) => r.attempts > 1).length).toBeGreaterThan(50);
    expect(Math.max(...rows.map((r) => r.attempts))).toBeGreaterThanOrEqual(3);

    // Retry-After: the next attempt of the same request never arrives sooner than the API asked.
    const byRequest = new Map<string, typeof server.requests>();
    for (const r of server.requests) {
      const k = `${r.model}\u0000${JSON.stringify(r.messages)}`;
      byRequest.set(k, [...(byRequest.get(k) ?? []), r]);
    }
    let checked = 0;
    for (const list of byRequest.values()) {
      list.sort((a, b) => a.at - b.at);
      for (let i = 1; i < list.length; i++) {
        if (list[i - 1]!.status !== 429) continue;
        expect(list[i]!.at - list[i - 1]!.at).toBeGreaterThanOrEqual(RETRY_AFTER_MS);
        checked++;
      }
    }
    expect(checked).toBe(faults.get('rate429'));
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
    registerProvider('stuck-test', (model: ModelConfig): Provider => ({
      key: model.key,
      identity: `stuck-test|${model.model}`,
      complete: () => {
        calls++;
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
    const started = Date.now();
    const result = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: {}, ...fast });
    const elapsed = Date.now() - started;

    expect(calls).toBe(4);
    expect(elapsed).toBeLessThan(4_000);
    expect(result.exitCode).toBe(3);
    expect(result.summary.errors).toEqual([{ kind: 'timeout', model: 'big', count: 2, example: expect.stringMatching(/no answer within 1100 ms/) as string }]);
    const calls_ = result.results.map((r) => r.baseline.error);
    expect(calls_.every((e) => e?.kind === 'timeout' && e.attempts === 2)).toBe(true);
  });
});
