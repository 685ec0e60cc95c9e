import { EvalrouteError, ProviderError } from '../core/errors.js';

export interface RetryPolicy {
  maxRetries: number;
  /** First backoff ceiling; doubles per attempt (full jitter picks uniformly below it). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Injected for tests; defaults to Math.random. Jitter never affects results, only timing. */
  random?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export const defaultRetryPolicy: RetryPolicy = { maxRetries: 4, baseDelayMs: 500, maxDelayMs: 30_000 };

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError());
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(): ProviderError {
  return new ProviderError('call aborted: the run is stopping', { kind: 'aborted', retryable: false });
}

/** Delay before retry number `attempt` (1-based): the provider's Retry-After wins when it asks for longer. */
export function backoffDelay(attempt: number, error: ProviderError, policy: RetryPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = (policy.random ?? Math.random)() * ceiling;
  return Math.max(jittered, error.retryAfterMs ?? 0);
}

/**
 * Runs `call` until it succeeds, fails with a non-retryable error, or runs out of retries.
 * Returns the result and the number of attempts, so the store can show what each answer cost in retries.
 */
export async function withRetries<T>(
  call: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  signal: AbortSignal,
  onRetry?: (error: ProviderError, attempt: number, delayMs: number) => void,
): Promise<{ value: T; attempts: number }> {
  const sleep = policy.sleep ?? abortableSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await call(attempt), attempts: attempt };
    } catch (err) {
      // Config-level failures (a malformed recording file…) are not the call's fault: no retry, end the run.
      if (err instanceof EvalrouteError && !(err instanceof ProviderError)) throw err;
      const error = toProviderError(err);
      if (!error.retryable || attempt > policy.maxRetries || signal.aborted) {
        throw Object.assign(error, { attempts: attempt });
      }
      const delay = backoffDelay(attempt, error, policy);
      onRetry?.(error, attempt, delay);
      await sleep(delay, signal);
    }
  }
}

export function toProviderError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError(message, { kind: 'connection', retryable: false });
}
