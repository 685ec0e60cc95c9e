import { describe, expect, it } from 'vitest';
import { ProviderError } from '../src/core/errors.js';
import { backoffDelay, withRetries, type RetryPolicy } from '../src/engine/retry.js';

const rateLimited = (retryAfterMs?: number) =>
  new ProviderError('429', { kind: 'rate_limit', retryable: true, status: 429, ...(retryAfterMs ? { retryAfterMs } : {}) });

function recordingPolicy(maxRetries: number, random = () => 0.5): RetryPolicy & { slept: number[] } {
  const slept: number[] = [];
  return { maxRetries, baseDelayMs: 100, maxDelayMs: 1000, random, slept, sleep: async (ms) => void slept.push(ms) };
}

describe('retry policy', () => {
  it('backs off exponentially with full jitter, capped at maxDelayMs', () => {
    const policy = recordingPolicy(10, () => 0.999999);
    const delays = [1, 2, 3, 4, 5, 6].map((a) => Math.round(backoffDelay(a, rateLimited(), policy)));
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(3, rateLimited(), { ...policy, random: () => 0 })).toBe(0);
  });

  it('never retries earlier than the provider asked (Retry-After)', () => {
    const policy = recordingPolicy(3, () => 0.1);
    expect(backoffDelay(1, rateLimited(2500), policy)).toBe(2500);
  });

  it('retries retryable errors and reports the attempts it took', async () => {
    const policy = recordingPolicy(4);
    let calls = 0;
    const result = await withRetries(
      async () => {
        calls++;
        if (calls < 3) throw rateLimited(700);
        return 'ok';
      },
      policy,
      new AbortController().signal,
    );
    expect(result).toEqual({ value: 'ok', attempts: 3 });
    expect(policy.slept).toEqual([700, 700]);
  });

  it('fails fast on non-retryable errors', async () => {
    const policy = recordingPolicy(4);
    let calls = 0;
    const auth = new ProviderError('401 bad key', { kind: 'auth', retryable: false, status: 401 });
    await expect(
      withRetries(async () => {
        calls++;
        throw auth;
      }, policy, new AbortController().signal),
    ).rejects.toBe(auth);
    expect(calls).toBe(1);
  });

  it('gives up after maxRetries and rethrows the last error', async () => {
    const policy = recordingPolicy(2);
    let calls = 0;
    await expect(
      withRetries(async () => {
        calls++;
        throw rateLimited();
      }, policy, new AbortController().signal),
    ).rejects.toMatchObject({ kind: 'rate_limit', attempts: 3 });
    expect(calls).toBe(3);
  });
});
