/**
 * Writes made while calls are in flight. SQLite waits for a lock synchronously, which froze every
 * in-flight HTTP call of the run for up to 5 s (their sockets are served by the same event loop); the
 * store now gives up on a held lock after a few milliseconds and this waits again asynchronously, with
 * backoff, so answers keep arriving while another process (a second run, a reader checkpointing) holds
 * the lock.
 */
import { StoreError } from '../core/errors.js';

export interface BusyRetry {
  firstDelayMs: number;
  maxDelayMs: number;
  /** Give up (the error surfaces) after waiting this long in total. */
  totalMs: number;
}

export const defaultBusyRetry: BusyRetry = { firstDelayMs: 10, maxDelayMs: 250, totalMs: 30_000 };

/** Runs `write`; while the store reports its lock busy, waits (without blocking the event loop) and tries again. */
export async function retryWhileBusy<T>(write: () => T, policy: BusyRetry = defaultBusyRetry): Promise<T> {
  let delay = policy.firstDelayMs;
  let waited = 0;
  for (;;) {
    try {
      return write();
    } catch (e) {
      if (!(e instanceof StoreError) || !e.busy || waited >= policy.totalMs) throw e;
      // Not abortable on purpose: a stopping run still saves the answers it already paid for.
      await new Promise((r) => setTimeout(r, delay));
      waited += delay;
      delay = Math.min(policy.maxDelayMs, delay * 2);
    }
  }
}
