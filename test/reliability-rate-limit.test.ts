import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/api/run.js';
import { loadConfig } from '../src/config/load.js';
import { ProviderError } from '../src/core/errors.js';
import type { Completion, CompletionRequest, Provider } from '../src/core/types.js';
import { managedJudge } from '../src/engine/managed-judge.js';
import { AdaptiveConcurrency, ModelThrottle, Slots, TokenBucket, type Clock } from '../src/engine/rate-limit.js';
import { abortableSleep, withRetries } from '../src/engine/retry.js';
import { createRng } from '../src/stats/rng.js';
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
    const limit = new Slots(8);
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
    const limit = new Slots(8);
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

  /** Feeds `outcomes` (true = 429) one per `stepMs` and returns the lowest concurrency seen. */
  function replay(adaptive: AdaptiveConcurrency, outcomes: boolean[], clock: { t: number }, stepMs = 4): number {
    let lowest = adaptive.current;
    for (const limited of outcomes) {
      clock.t += stepMs;
      if (limited) adaptive.onRateLimited();
      else adaptive.onSuccess();
      lowest = Math.min(lowest, adaptive.current);
    }
    return lowest;
  }

  it('leaves the concurrency alone when 10 % of attempts, scattered among successes, get a 429', () => {
    // 1,100 attempts as a run of 1,000 calls at 25 in flight makes them: 250 a second, 10 % answered 429
    // at random (seeded), each with its own Retry-After. Halving here collapsed such runs to a few calls in flight.
    const clock = { t: 0 };
    const slots = new Slots(25);
    const adaptive = new AdaptiveConcurrency(slots, 25, {}, { now: () => clock.t });
    const rng = createRng(19);
    const outcomes = Array.from({ length: 1100 }, () => rng() < 0.1);
    expect(outcomes.filter(Boolean).length).toBeGreaterThan(90);
    expect(replay(adaptive, outcomes, clock)).toBe(25);
    expect(adaptive.reductions).toBe(0);
    // Every tenth attempt a 429, two of them back to back now and then: still no halving.
    const regular = Array.from({ length: 1000 }, (_, i) => i % 10 === 0 || i % 100 === 1);
    expect(replay(adaptive, regular, clock)).toBe(25);
  });

  it('halves on a burst of 429s with no success between them, even after a long run of successes', () => {
    const clock = { t: 0 };
    const slots = new Slots(24);
    const adaptive = new AdaptiveConcurrency(slots, 24, {}, { now: () => clock.t });
    replay(adaptive, Array.from({ length: 200 }, () => false), clock);
    replay(adaptive, [true, true, true, true], clock);
    expect(slots.concurrency).toBe(24);
    replay(adaptive, [true], clock);
    expect(slots.concurrency).toBe(12);
    expect(adaptive.reductions).toBe(1);
  });

  it('halves when 429s are a large share of recent attempts, even with successes between them', () => {
    const clock = { t: 0 };
    const slots = new Slots(24);
    const adaptive = new AdaptiveConcurrency(slots, 24, {}, { now: () => clock.t });
    replay(adaptive, Array.from({ length: 100 }, () => false), clock);
    // A shared limit at about half our rate: every other attempt is a 429.
    replay(adaptive, Array.from({ length: 40 }, (_, i) => i % 2 === 0), clock);
    expect(slots.concurrency).toBeLessThan(24);
  });

  it('backs a saturated provider (every attempt a 429) down to one call in flight, and recovers on successes', () => {
    const clock = { t: 0 };
    const slots = new Slots(32);
    const adaptive = new AdaptiveConcurrency(slots, 32, {}, { now: () => clock.t });
    expect(replay(adaptive, Array.from({ length: 60 }, () => true), clock)).toBe(1);
    // Recovery is additive: one slot per 10 successes, not undone by a 429 here and there.
    replay(adaptive, Array.from({ length: 100 }, (_, i) => i % 25 === 24), clock);
    expect(slots.concurrency).toBe(1 + 9);
    replay(adaptive, Array.from({ length: 500 }, () => false), clock);
    expect(slots.concurrency).toBe(32);
  });

  it('feeds from ModelThrottle attempts and gives back a failed attempt\'s tokens', async () => {
    const clock = fakeClock();
    const throttle = new ModelThrottle(new Slots(4), { concurrency: 4, tpm: 60_000, adaptive: true, clock });
    await throttle.beforeAttempt(600, never);
    expect(throttle.tokens!.level).toBe(400);
    throttle.afterAttempt({ rateLimited: true, estimatedTokens: 600 });
    expect(throttle.tokens!.level).toBe(1000);
    throttle.afterAttempt({ rateLimited: true, estimatedTokens: 0 });
    throttle.afterAttempt({ rateLimited: true, estimatedTokens: 0 });
    expect(throttle.slots.concurrency).toBe(2);
  });
});

describe('Slots: a call waiting out a Retry-After holds no concurrency slot', () => {
  const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('gives the slot to the next call during the wait, and takes one back ahead of calls not yet started', async () => {
    const throttle = new ModelThrottle(new Slots(1), { concurrency: 1 });
    const order: string[] = [];
    let wake: () => void = () => undefined;
    const policy = throttle.releasingDuringWaits({
      maxRetries: 1,
      baseDelayMs: 1,
      maxDelayMs: 1,
      sleep: () => new Promise<void>((resolve) => (wake = resolve)),
    });
    let attempts = 0;
    const a = throttle.slots.run(() =>
      withRetries(async () => {
        if (attempts++ === 0) {
          order.push('a: 429');
          throw new ProviderError('rate limited', { kind: 'rate_limit', retryable: true, status: 429, retryAfterMs: 1000 });
        }
        order.push('a: answered');
      }, policy, never),
    );
    let finishB: () => void = () => undefined;
    const b = throttle.slots.run(() => {
      order.push('b: started');
      return new Promise<void>((resolve) => (finishB = resolve));
    });
    const c = throttle.slots.run(async () => void order.push('c: started'));
    await tick();
    // a waits out its Retry-After; b has its slot, c queues.
    expect(order).toEqual(['a: 429', 'b: started']);
    expect(throttle.slots.activeCount).toBe(1);
    wake();
    await tick();
    finishB();
    await Promise.all([a, b, c]);
    expect(order).toEqual(['a: 429', 'b: started', 'a: answered', 'c: started']);
    expect(throttle.slots.activeCount).toBe(0);
  });

  it('admits queued calls in order, returning ones first, also past thousands queued', async () => {
    const slots = new Slots(1);
    const order: number[] = [];
    const held = slots.acquire();
    await held;
    // 3,000 calls queue (past the queue's compaction point); two come back from a wait meanwhile.
    const queued = Array.from({ length: 3000 }, (_, i) => slots.run(async () => void order.push(i)));
    const returning = [slots.acquire({ first: true }).then(() => { order.push(-1); slots.release(); }), slots.acquire({ first: true }).then(() => { order.push(-2); slots.release(); })];
    expect(slots.pendingCount).toBe(3002);
    slots.release();
    await Promise.all([...queued, ...returning]);
    expect(order.slice(0, 2)).toEqual([-1, -2]);
    expect(order.slice(2)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(slots.activeCount).toBe(0);
    expect(slots.pendingCount).toBe(0);
  });

  it('gives the slot back when the run stops during the wait', async () => {
    const throttle = new ModelThrottle(new Slots(2), { concurrency: 2 });
    const stop = new AbortController();
    const policy = throttle.releasingDuringWaits({ maxRetries: 3, baseDelayMs: 60_000, maxDelayMs: 60_000, sleep: abortableSleep });
    const call = throttle.slots.run(() =>
      withRetries(async () => {
        throw new ProviderError('rate limited', { kind: 'rate_limit', retryable: true, status: 429 });
      }, policy, stop.signal),
    );
    await tick();
    expect(throttle.slots.activeCount).toBe(0);
    stop.abort();
    await expect(call).rejects.toMatchObject({ kind: 'aborted' });
    expect(throttle.slots.activeCount).toBe(0);
  });

  it('admits waiting calls when the concurrency is raised, and lets calls in flight finish when it is lowered', async () => {
    const slots = new Slots(1);
    await slots.acquire();
    let admitted = 0;
    const waiting = [slots.acquire(), slots.acquire()].map((p) => p.then(() => admitted++));
    await tick();
    expect(admitted).toBe(0);
    slots.concurrency = 3;
    await Promise.all(waiting);
    expect(slots.activeCount).toBe(3);
    slots.concurrency = 1;
    slots.release();
    void slots.acquire().then(() => admitted++);
    slots.release();
    await tick();
    expect(admitted).toBe(2);
    slots.release();
    await tick();
    expect(admitted).toBe(3);
    expect(() => (slots.concurrency = 0)).toThrow(RangeError);
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
    expect(judge.throttle.slots.concurrency).toBe(4);
  });
});
