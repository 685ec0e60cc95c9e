/**
 * A run's deadline (`run --deadline`): how long the whole run may take. Every wait counts against it —
 * backoff, a provider's Retry-After, rate pacing, the calls themselves. When it passes, calls in flight
 * are aborted and no new one starts; a retry whose wait would end past it is not waited for at all, the
 * run stops at once instead. Either way the run ends as an interrupted run does: completed calls are
 * saved and `--resume` continues it.
 */
import { formatDuration } from '../core/format.js';
import type { RetryWait, WaitBudget } from './retry.js';

export class RunDeadline {
  readonly #stop = new AbortController();
  readonly #endsAt: number;
  readonly #timer: NodeJS.Timeout;
  #reason: string | undefined;

  constructor(
    /** The whole run's allowance, in ms. */
    readonly limitMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#endsAt = now() + limitMs;
    this.#timer = setTimeout(() => this.#reach('it passed while calls were in flight or waiting'), limitMs);
  }

  /** Aborts when the deadline stops the run. */
  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  /** Why the deadline stopped the run; undefined while it has not. */
  get reason(): string | undefined {
    return this.#reason;
  }

  /** Milliseconds left (never negative). */
  remainingMs(): number {
    return Math.max(0, this.#endsAt - this.now());
  }

  /** The deadline as one model's retries see it: a wait it cannot cover stops the run instead. */
  forModel(modelKey: string): WaitBudget {
    return {
      covers: (waitMs) => this.now() + waitMs <= this.#endsAt,
      exceeded: (wait) => this.#reach(describeWait(wait, modelKey, this.remainingMs())),
    };
  }

  /** Clears the timer; call when the run is over. */
  dispose(): void {
    clearTimeout(this.#timer);
  }

  #reach(reason: string): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    clearTimeout(this.#timer);
    this.#stop.abort(new Error(`deadline: ${reason}`));
  }
}

function describeWait(w: RetryWait, modelKey: string, leftMs: number): string {
  const asked = w.askedMs !== undefined ? ' (the API\'s Retry-After)' : ' (backoff)';
  const target = `${w.caseId !== undefined ? `case "${w.caseId}" on ` : ''}model "${modelKey}"`;
  return `retry ${w.attempt} of ${target} had to wait ${formatDuration(w.delayMs)}${asked}, more than the ${formatDuration(leftMs)} left`;
}
