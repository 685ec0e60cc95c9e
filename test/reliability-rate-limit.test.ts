import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/api/run.js';
import { loadConfig } from '../src/config/load.js';
import { ProviderError } from '../src/core/errors.js';
import type { Completion, CompletionRequest, Provider } from '../src/core/types.js';
import { managedJudge } from '../src/engine/managed-judge.js';
import { AdaptiveConcurrency, ModelThrottle, TokenBucket, type Clock } from '../src/engine/rate-limit.js';
import type { EngineModel } from '../src/engine/run-cases.js';
import { openStore } from '../src/store/sqlite-store.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject } from './support/project.js';

/** A clock that only moves when something sleeps on it, so bucket arithmetic is checked exactly. */
function fakeClock(): Clock & { t: number; slept: number[] } {
  const c = {
    t: 0,
    slept: [] as number[],
    now: () => c.t,
    sleep: async (ms: number) => {
      c.slept.push(ms);
      c.t += ms;
    },
  };
  return c;
}

const never = new AbortController().signal;

describe('TokenBucket', () => {
  it('lets one second of requests through at once, then paces at the per-minute rate', async () => {
    const clock = fakeClock();
    const rpm = new TokenBucket(120, clock); // 2 per second, burst 2
    for (let i = 0; i < 6; i++) await rpm.take(1, never);
    // Two free, then one every 500 ms.
    expect(clock.t).toBe(2000);
    expect(clock.slept).toEqual([500, 500, 500, 500]);
  });

  it('lets an oversized request through from a full bucket and makes the next wait off the debt', async () => {
    const clock = fakeClock();
    const tpm = new TokenBucket(6000, clock); // 100 tokens/s, capacity 100
    await tpm.take(400, never);
    expect(clock.t).toBe(0);
    expect(tpm.level).toBe(-300);
    await tpm.take(50, never);
    expect(clock.t).toBe(3500);
  });

  it('corrects an estimate with the real usage: unused tokens come back, extra ones are owed', async () => {
    const clock = fakeClock();
    const tpm = new TokenBucket(6000, clock);
    await tpm.take(80, never);
    tpm.adjust(80 - 30); // the call used 30 of the 80 estimated
    expect(tpm.level).toBe(70);
    tpm.adjust(-100); // another used 100 more than estimated
    expect(tpm.level).toBe(-30);
  });

  it('serves waiters in order and an abort frees the queue', async () => {
    const bucket = new TokenBucket(60_000); // 1 per ms, capacity 1000
    await bucket.take(1000, never);
    const ctl = new AbortController();
    const first = bucket.take(1000, ctl.signal);
    ctl.abort();
    await expect(first).rejects.toMatchObject({ kind: 'aborted' });
    await expect(bucket.take(1, never)).resolves.toBeUndefined();
  });
});

describe('AdaptiveConcurrency', () => {
  it('halves after 3 rate limits within 10 s, never below 1, and recovers one slot per 10 successes', () => {
    const clock = { now: () => 0 };
    const limit = pLimit(8);
    const adaptive = new AdaptiveConcurrency(limit, 8, {}, clock);
    adaptive.onRateLimited();
    adaptive.onRateLimited();
    expect(limit.concurrency).toBe(8);
    adaptive.onRateLimited();
    expect(limit.concurrency).toBe(4);
    for (let i = 0; i < 3 * 3; i++) adaptive.onRateLimited();
    expect(limit.concurrency).toBe(1);
    for (let i = 0; i < 9; i++) adaptive.onSuccess();
    expect(limit.concurrency).toBe(1);
    adaptive.onSuccess();
    expect(limit.concurrency).toBe(2);
    for (let i = 0; i < 100; i++) adaptive.onSuccess();
    expect(limit.concurrency).toBe(8);
  });

  it('forgets rate limits older than the window', () => {
    let now = 0;
    const limit = pLimit(8);
    const adaptive = new AdaptiveConcurrency(limit, 8, {}, { now: () => now });
    adaptive.onRateLimited();
    adaptive.onRateLimited();
    now = 10_001;
    adaptive.onRateLimited();
    expect(limit.concurrency).toBe(8);
    adaptive.onRateLimited();
    adaptive.onRateLimited();
    expect(limit.concurrency).toBe(4);
  });

  it('feeds from ModelThrottle attempts and gives back a failed attempt\'s tokens', async () => {
    const clock = fakeClock();
    const throttle = new ModelThrottle(pLimit(4), { concurrency: 4, tpm: 60_000, adaptive: true, clock });
    await throttle.beforeAttempt(600, never);
    expect(throttle.tokens!.level).toBe(400);
    throttle.afterAttempt({ rateLimited: true, estimatedTokens: 600 });
    expect(throttle.tokens!.level).toBe(1000);
    throttle.afterAttempt({ rateLimited: true, estimatedTokens: 0 });
    throttle.afterAttempt({ rateLimited: true, estimatedTokens: 0 });
    expect(throttle.limit.concurrency).toBe(2);
  });
});

describe('rpm / tpm in the config and the engine', () => {
  let server: MockLlmServer;
  beforeAll(async () => {
    server = await startMockLlmServer({ responder: arithmeticResponder() });
  });
  afterAll(() => server.close());

  it('loads rpm, tpm and adaptiveConcurrency, and rejects nonsense with the file and line', () => {
    const p = createProject(server);
    p.write(
      'evalroute.config.yaml',
      `models:\n  big: { provider: openai, model: big-1, rpm: 500, tpm: 90000, adaptiveConcurrency: false }\n`,
    );
    const m = loadConfig(p.configFile, { cwd: p.dir }).models.get('big')!;
    expect(m).toMatchObject({ rpm: 500, tpm: 90000, adaptiveConcurrency: false });
    p.write('evalroute.config.yaml', `models:\n  big:\n    provider: openai\n    model: big-1\n    rpm: 0\n`);
    expect(() => loadConfig(p.configFile, { cwd: p.dir })).toThrow(/evalroute\.config\.yaml:5 \(at models\.big\.rpm\)/);
  });

  it('paces a model to its rpm against the live mock (burst of one second, then the rate)', async () => {
    // Load the SDKs first: a first call's SDK import would delay the first requests after they were paced.
    const warm = createProject(server, { cases: 1 });
    await run({ suiteDir: warm.suiteDir, cwd: warm.dir, env: warm.env });
    server.reset();
    const p = createProject(server, { cases: 160 });
    p.write(
      'evalroute.config.yaml',
      `store: .evalroute/test.db
models:
  big:   { provider: openai, model: big-1, baseURL: ${server.openaiBaseURL}, apiKeyEnv: BIG_KEY, concurrency: 16, rpm: 2400 }
  small: { provider: anthropic, model: small-1, baseURL: ${server.anthropicBaseURL}, apiKeyEnv: SMALL_KEY, concurrency: 16 }
routing: routing.yaml
`,
    );
    const result = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env });
    expect(result.exitCode).toBe(0);
    const big = server.requests.filter((r) => r.model === 'big-1').map((r) => r.at).sort((a, b) => a - b);
    expect(big).toHaveLength(160);
    // 2400 rpm = 40/s with a burst of 40, so no window of w ms may hold more than 40 + 40·w/1000 calls
    // (plus arrival jitter: on a loaded 2-core machine calls paced over 1.3 s can land within 1 s, hence
    // the generous slack). Unpaced, the mock answers all 160 within ~0.5 s.
    // Only upper bounds are asserted: they hold however late the machine starts the first call.
    const busiest = (times: number[], windowMs: number) => {
      let worst = 0;
      for (let i = 0, j = 0; i < times.length; i++) {
        while (times[i]! - times[j]! >= windowMs) j++;
        worst = Math.max(worst, i - j + 1);
      }
      return worst;
    };
    expect(busiest(big, 1000)).toBeLessThanOrEqual(110);
    expect(busiest(big, 500)).toBeLessThanOrEqual(85);
  });
});

describe('the judge model is paced like every other model', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  function judgeWith(pacing: { rpm?: number; tpm?: number; concurrency?: number }, answer: (req: CompletionRequest) => Promise<Completion>) {
    const dir = mkdtempSync(join(tmpdir(), 'evalroute-judge-pace-'));
    dirs.push(dir);
    const store = openStore(join(dir, 'judge.db'));
    const provider: Provider = { key: 'judge', identity: 'fake|judge', complete: (req) => answer(req) };
    const clock = fakeClock();
    const model: EngineModel = {
      provider,
      concurrency: pacing.concurrency ?? 4,
      retry: { maxRetries: 5, baseDelayMs: 1, maxDelayMs: 1, sleep: async () => undefined },
      timeoutMs: 60_000,
      ...(pacing.rpm ? { rpm: pacing.rpm } : {}),
      ...(pacing.tpm ? { tpm: pacing.tpm } : {}),
    };
    return { judge: managedJudge(model, {}, store, 'refresh', clock), clock, store };
  }
  const request = (i: number, params: Record<string, unknown> = {}): CompletionRequest => ({ caseId: `c${i}`, messages: [{ role: 'user', content: `grade ${i}` }], params, repeat: 0 });
  const ok = async (): Promise<Completion> => ({ text: 'PASS', usage: { input: 10, output: 2 }, latencyMs: 1 });

  it('rpm: five judge calls at 120 rpm take two at once, then one every 500 ms', async () => {
    const { judge, clock, store } = judgeWith({ rpm: 120 }, ok);
    for (let i = 0; i < 5; i++) await judge.complete(request(i), never);
    store.close();
    expect(clock.slept).toEqual([500, 500, 500]);
  });

  it('tpm: a second judge call waits for the token budget the first one used', async () => {
    const { judge, clock, store } = judgeWith({ tpm: 6000 }, ok);
    await judge.complete(request(1, { max_tokens: 150 }), never);
    await judge.complete(request(2, { max_tokens: 150 }), never);
    store.close();
    expect(clock.slept.length).toBeGreaterThan(0);
  });

  it('adaptiveConcurrency: repeated 429s from the judge halve its calls in flight', async () => {
    let failures = 3;
    const { judge, store } = judgeWith({ concurrency: 8 }, async () => {
      if (failures-- > 0) throw new ProviderError('rate limited', { kind: 'rate_limit', retryable: true, status: 429 });
      return ok();
    });
    await judge.complete(request(1), never);
    store.close();
    expect(judge.throttle.adaptive?.reductions).toBe(1);
    expect(judge.throttle.limit.concurrency).toBe(4);
  });
});
