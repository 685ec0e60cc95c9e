/**
 * Saves a run's graded calls. A call made to the API is saved at once, in its own transaction: when the
 * store fails, the run stops before another paid call starts. Calls replayed from the response cache,
 * which cost nothing to redo, are saved in batches: every one settled in the same turn of the event
 * loop goes into one SQLite transaction. A cached rerun settles hundreds per turn, and one transaction
 * each was the largest cost of replaying 1,000 results.
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
    if (!outcome.completion?.cached) return retryWhileBusy(() => this.store.saveCall(this.runId, outcome));
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
