/**
 * Saves a run's graded calls in batches: every call settled in the same turn of the event loop goes into
 * one SQLite transaction, written before that turn ends (`setImmediate`: after the turn's I/O callbacks
 * and microtasks, before any timer or later answer is handled).
 *
 * A failed save stops the run as soon as it did when each call was saved at once: the engine grades a
 * short answer in the turn it arrives (engine/run-cases.ts), so its batch is written in that same turn,
 * and a failure aborts the calls in flight before any later answer or timer is handled.
 *
 * The store's contract is kept: `save` resolves only once its call is stored. When a batch fails for
 * any reason but a held lock, its calls are saved again one by one, so each call that can be stored is
 * and each failure belongs to the call it stopped.
 */
import { StoreError } from '../core/errors.js';
import type { CallOutcome, Store } from '../core/types.js';
import { retryWhileBusy } from './store-retry.js';

interface Pending {
  outcome: CallOutcome;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class CallSaver {
  #queue: Pending[] = [];
  #scheduled = false;

  constructor(
    private readonly store: Pick<Store, 'saveCall' | 'saveCalls'>,
    private readonly runId: string,
  ) {}

  /** Resolves once the call is stored; rejects with the store's error when it cannot be. */
  save(outcome: CallOutcome): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ outcome, resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      // After the current turn's I/O callbacks and microtasks, so the calls settled alongside join in.
      setImmediate(() => void this.#flush());
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#queue;
    this.#queue = [];
    this.#scheduled = false;
    try {
      await retryWhileBusy(() => this.store.saveCalls(this.runId, batch.map((p) => p.outcome)));
      for (const p of batch) p.resolve();
      return;
    } catch (err) {
      // A lock held past the busy wait would hold for each call alike: fail them together.
      if (batch.length === 1 || (err instanceof StoreError && err.busy)) {
        for (const p of batch) p.reject(err);
        return;
      }
    }
    for (const p of batch) {
      try {
        await retryWhileBusy(() => this.store.saveCall(this.runId, p.outcome));
        p.resolve();
      } catch (err) {
        p.reject(err);
      }
    }
  }
}
