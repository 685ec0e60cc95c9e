import { EvalrouteError, ProviderError, stoppedError } from '../core/errors.js';

export interface RetryPolicy {
  maxRetries: number;
  /** First backoff ceiling; doubles per attempt (full jitter picks uniformly below it). */
  baseDelayMs: number;
  maxDelayMs: number;
  /**
   * Longest wait a provider's Retry-After may impose before a retry. A 429 asking for a day would
   * otherwise stall the run silently; above the cap we wait the cap and try again (the retry budget
   * still bounds the total). Default 60 s.
   */
  maxRetryAfterMs?: number;
  /** Injected for tests; defaults to Math.random. Jitter never affects results, only timing. */
  random?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Told of every wait before a retry (the CLI prints the long ones). */
  onWait?: (wait: RetryWait) => void;
  /** The run's deadline: a wait it cannot cover is not made; the run stops instead (see engine/deadline.ts). */
  deadline?: WaitBudget;
}

/** What a deadline tells the retries: whether a wait ends in time, and whom to tell when it does not. */
export interface WaitBudget {
  /** True when a wait of `ms` from now still ends before the deadline. */
  covers(ms: number): boolean;
  /** Called instead of a wait the deadline cannot cover; it stops the run (aborts its signal). */
  exceeded(wait: RetryWait): void;
}

export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

export const defaultRetryPolicy: RetryPolicy = { maxRetries: 4, baseDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: DEFAULT_MAX_RETRY_AFTER_MS };

/** A wait before a retry, for progress output: long silent waits look like a hung run. */
export interface RetryWait {
  attempt: number;
  delayMs: number;
  /** What the provider's Retry-After asked for, when it did. */
  askedMs?: number;
  /** True when the provider asked for longer than `maxRetryAfterMs` and the wait was cut to it. */
  capped: boolean;
  error: ProviderError;
  /** The case the call was for, when the caller knows it. */
  caseId?: string;
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(stoppedError());
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(stoppedError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Delay before retry number `attempt` (1-based): the provider's Retry-After wins when it asks for
 * longer, up to `maxRetryAfterMs`.
 */
export function backoffDelay(attempt: number, error: ProviderError, policy: RetryPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = (policy.random ?? Math.random)() * ceiling;
  return Math.max(jittered, Math.min(error.retryAfterMs ?? 0, retryAfterCap(policy)));
}

function retryAfterCap(policy: RetryPolicy): number {
  return policy.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
}

/**
 * Runs `call` until it succeeds, fails with a non-retryable error, or runs out of retries.
 * Returns the result and the number of attempts, so the store can show what each answer cost in retries.
 */
export async function withRetries<T>(
  call: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  signal: AbortSignal,
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
      const wait: RetryWait = {
        attempt,
        delayMs: delay,
        ...(error.retryAfterMs !== undefined ? { askedMs: error.retryAfterMs } : {}),
        capped: (error.retryAfterMs ?? 0) > retryAfterCap(policy),
        error,
      };
      // Sleeping into the deadline would only end in the same stop, later: stop now.
      if (policy.deadline && !policy.deadline.covers(delay)) {
        policy.deadline.exceeded(wait);
        throw Object.assign(stoppedError(), { attempts: attempt });
      }
      policy.onWait?.(wait);
      await sleep(delay, signal);
    }
  }
}

export function toProviderError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError(message, { kind: 'connection', retryable: false });
}
