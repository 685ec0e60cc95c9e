/**
 * A 429 asking to wait a day must not stall a run silently: the wait is capped (`--max-retry-wait`,
 * default 60 s) and each long or capped wait is printed while the run goes on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../src/core/errors.js';
import { backoffDelay, defaultRetryPolicy, withRetries, type RetryWait } from '../src/engine/retry.js';
import { ensureCliBuilt, runCli } from './support/cli.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject } from './support/project.js';

const DAY_MS = 86_400_000;
const askDay = () => new ProviderError('429', { kind: 'rate_limit', retryable: true, status: 429, retryAfterMs: DAY_MS });

describe('Retry-After is capped', () => {
  it('waits at most maxRetryAfterMs, 60 s by default, and still honours shorter requests', () => {
    const policy = { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.5 };
    expect(backoffDelay(1, askDay(), policy)).toBe(60_000);
    expect(backoffDelay(1, askDay(), defaultRetryPolicy)).toBe(60_000);
    expect(backoffDelay(1, askDay(), { ...policy, maxRetryAfterMs: 250 })).toBe(250);
    const short = new ProviderError('429', { kind: 'rate_limit', retryable: true, status: 429, retryAfterMs: 2_500 });
    expect(backoffDelay(1, short, policy)).toBe(2_500);
  });

  it('reports every wait, saying when the provider asked for more than the cap', async () => {
    const waits: RetryWait[] = [];
    const slept: number[] = [];
    let calls = 0;
    const result = await withRetries(
      async () => {
        if (++calls < 3) throw askDay();
        return 'ok';
      },
      { maxRetries: 4, baseDelayMs: 10, maxDelayMs: 20, maxRetryAfterMs: 300, sleep: async (ms) => void slept.push(ms), onWait: (w) => waits.push(w) },
      new AbortController().signal,
    );
    expect(result.attempts).toBe(3);
    expect(slept).toEqual([300, 300]);
    expect(waits.map((w) => ({ attempt: w.attempt, delayMs: w.delayMs, askedMs: w.askedMs, capped: w.capped }))).toEqual([
      { attempt: 1, delayMs: 300, askedMs: DAY_MS, capped: true },
      { attempt: 2, delayMs: 300, askedMs: DAY_MS, capped: true },
    ]);
  });
});

describe('evalroute run against an API that asks to wait a day', () => {
  let server: MockLlmServer;
  beforeAll(async () => {
    ensureCliBuilt();
    server = await startMockLlmServer({ responder: arithmeticResponder(), faults: { seed: 1, rate429: 1, retryAfterMs: DAY_MS } });
  }, 180_000);
  afterAll(() => server.close());

  it('waits only --max-retry-wait, prints each capped wait, and ends incomplete (exit 3)', async () => {
    const p = createProject(server, { cases: 2 });
    const out = await runCli(['run', p.suiteDir, '--max-retry-wait', '0.2'], { cwd: p.dir, env: p.env });
    expect(out.status, out.stderr).toBe(3);
    // Three calls (big on both cases, small on the easy one), each tried 4 times (the project's maxRetries: 3).
    expect(server.requests).toHaveLength(12);
    expect(out.stderr).toMatch(/waiting 0\.[0-5] s before retry 1 of case "c00[01]" on model "big": rate_limit \(429\); the API asked for 86400 s, cut to --max-retry-wait 0\.2/);
    expect(out.stderr.match(/waiting [0-9.]+ s before retry .*cut to --max-retry-wait 0\.2/g)?.length).toBe(9);
  }, 60_000);
});
