/**
 * A child abort signal for one piece of work, unlinked from its parents when the work settles.
 *
 * Why not `AbortSignal.any()`: on Node 20 every call to it registers the new signal for cross-realm
 * transfer and keeps weak references to it in each parent, which cost measurable CPU per model call
 * and are collected late (see bench/RESULTS.md). A plain controller with one listener per parent,
 * removed in `finally`, does the same job: the child aborts with the first parent's reason, and no
 * listener outlives the work — so a long-lived signal (a run's) never collects one per call, even
 * when an SDK never removes the listener it adds to the child.
 */
import { setMaxListeners } from 'node:events';

export async function withChildSignal<T>(
  parents: readonly AbortSignal[],
  work: (signal: AbortSignal, abort: (reason: unknown) => void) => Promise<T>,
  { singleCall = false }: { singleCall?: boolean } = {},
): Promise<T> {
  const child = new AbortController();
  if (singleCall) singleCallSignals.add(child.signal);
  const fired = parents.find((p) => p.aborted);
  if (fired) child.abort(fired.reason);
  const unlinks: Array<() => void> = [];
  if (!fired) {
    for (const parent of parents) {
      // One listener per call in flight on a run's signal is by design (each is removed when its call
      // settles); without this Node would warn of a leak past 10 concurrent calls.
      setMaxListeners(0, parent);
      const onAbort = () => child.abort(parent.reason);
      parent.addEventListener('abort', onAbort, { once: true });
      unlinks.push(() => parent.removeEventListener('abort', onAbort));
    }
  }
  try {
    return await work(child.signal, (reason) => child.abort(reason));
  } finally {
    for (const unlink of unlinks) unlink();
  }
}

/** Signals made for exactly one provider call (the engine's, one per attempt). */
const singleCallSignals = new WeakSet<AbortSignal>();

/**
 * Runs one provider call under `signal`, or under a throwaway child of it unless `signal` was made for
 * this call alone (`singleCall`): an SDK's leftover listener must not pile up on a signal that outlives
 * the call, and a child per call is CPU a run of thousands of calls should not pay twice.
 */
export function withCallSignal<T>(signal: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  return singleCallSignals.has(signal) ? work(signal) : withChildSignal([signal], work);
}
