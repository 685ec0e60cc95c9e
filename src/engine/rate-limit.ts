/**
 * Client-side pacing per model: requests per minute and tokens per minute (token buckets), and an
 * adaptive cap on calls in flight that backs off when the API keeps answering 429. Pacing below the
 * provider's limits costs a little wall time; hitting them costs retries, Retry-After waits and, past
 * maxRetries, errored cases that make a run incomplete.
 */
import Queue from 'yocto-queue';
import { ProviderError } from '../core/errors.js';
import type { Completion } from '../core/types.js';
import { abortableSleep, type RetryPolicy } from './retry.js';

export interface Clock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = { now: () => performance.now(), sleep: abortableSleep };

/**
 * A bucket refilled continuously at `perMinute / 60_000` units per ms. It holds at most one second's
 * worth (never less than 1) so a run starts smoothly instead of spending a whole minute's quota in its
 * first instant, which is what trips providers that enforce limits over shorter windows.
 *
 * A request larger than the bucket is let through once the bucket is full and leaves it in debt, so a
 * big prompt under a small tpm waits its turn instead of waiting forever.
 */
export class TokenBucket {
  readonly capacity: number;
  readonly #perMs: number;
  #level: number;
  #updated: number;
  /** Waiters are served in arrival order, so a large request is not starved by small ones. */
  #queue: Promise<void> = Promise.resolve();

  constructor(
    readonly perMinute: number,
    private readonly clock: Clock = systemClock,
  ) {
    if (!(perMinute > 0)) throw new RangeError(`rate must be positive, got ${perMinute}`);
    this.#perMs = perMinute / 60_000;
    this.capacity = Math.max(1, perMinute / 60);
    this.#level = this.capacity;
    this.#updated = clock.now();
  }

  /** Current level (may be negative after an oversized request or a usage correction). */
  get level(): number {
    this.#refill();
    return this.#level;
  }

  /** Waits until `amount` can be taken, then takes it. */
  take(amount: number, signal: AbortSignal): Promise<void> {
    const turn = this.#queue.then(() => this.#takeNow(amount, signal));
    // A rejected (aborted) waiter must not block the ones behind it.
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  /** Corrects an estimate after the fact: positive gives units back, negative takes more (debt). */
  adjust(delta: number): void {
    this.#refill();
    this.#level = Math.min(this.capacity, this.#level + delta);
  }

  async #takeNow(amount: number, signal: AbortSignal): Promise<void> {
    const need = Math.min(amount, this.capacity);
    for (;;) {
      this.#refill();
      if (this.#level >= need) {
        this.#level -= amount;
        return;
      }
      await this.clock.sleep(Math.max(1, Math.ceil((need - this.#level) / this.#perMs)), signal);
    }
  }

  #refill(): void {
    const now = this.clock.now();
    this.#level = Math.min(this.capacity, this.#level + (now - this.#updated) * this.#perMs);
    this.#updated = now;
  }
}

/**
 * A model's calls in flight: a counting semaphore whose size the adaptive limit changes while calls
 * run. Unlike a plain task limiter, a holder can give its slot up for a while (a retry's wait) and
 * take one back ahead of the queue, since it was already admitted once.
 */
export class Slots {
  #concurrency: number;
  #active = 0;
  // Linked queues (O(1) dequeue): a run queues every call of a model up front (60,000 for a 20,000-case
  // suite of three models), where Array#shift would move them all each time.
  /** Calls coming back from a retry's wait, admitted before `#waiting`. */
  readonly #returning = new Queue<() => void>();
  readonly #waiting = new Queue<() => void>();

  constructor(concurrency: number) {
    this.#concurrency = Slots.#valid(concurrency);
  }

  get concurrency(): number {
    return this.#concurrency;
  }

  /** Lowering it lets the calls in flight finish; raising it admits waiting calls at once. */
  set concurrency(n: number) {
    this.#concurrency = Slots.#valid(n);
    this.#admit();
  }

  get activeCount(): number {
    return this.#active;
  }

  get pendingCount(): number {
    return this.#returning.size + this.#waiting.size;
  }

  /** Resolves once a slot is held; `first` jumps the queue (a call coming back from a retry's wait). */
  acquire(opts: { first?: boolean } = {}): Promise<void> {
    if (this.#active < this.#concurrency && this.pendingCount === 0) {
      this.#active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      (opts.first ? this.#returning : this.#waiting).enqueue(resolve);
    });
  }

  release(): void {
    this.#active--;
    this.#admit();
  }

  /** Runs `work` holding a slot. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  #admit(): void {
    while (this.#active < this.#concurrency && this.pendingCount > 0) {
      this.#active++;
      (this.#returning.dequeue() ?? this.#waiting.dequeue())!();
    }
  }

  static #valid(n: number): number {
    if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`concurrency must be a whole number of at least 1, got ${n}`);
    return n;
  }
}

export interface AdaptiveOptions {
  /** 429s in a row, with no success between them, that halve the concurrency. Default 5. */
  consecutive?: number;
  /** Fewest 429s among the recent attempts that can halve the concurrency by their share. Default 3. */
  threshold?: number;
  /** Outcomes older than this are forgotten. Default 10 s. */
  windowMs?: number;
  /** How many of the latest attempt outcomes are weighed. Default 40. */
  windowSize?: number;
  /** Share of the weighed outcomes that must be 429s to halve. Default 1/3. */
  share?: number;
  /** Successes, counted since the last halving, that give one slot back. Default 10. */
  recoverAfter?: number;
}

/**
 * Halves a model's calls in flight when the API keeps answering 429, down to 1, and gives one slot
 * back per `recoverAfter` successes up to the configured concurrency (AIMD, as TCP does): a rate limit
 * shared with other traffic is found without configuration, and lost again gently.
 *
 * "Keeps answering 429" means either `consecutive` 429s with no success between them, or 429s being at
 * least `share` (and at least `threshold`) of the latest `windowSize` attempt outcomes within
 * `windowMs`. So a burst of 429s halves at once, while 429s scattered among successes (a provider
 * shedding a random 10 % of requests, each with its own Retry-After) leave the concurrency alone: the
 * Retry-After paces the call that got it, and the rest of the pool keeps working. Each halving starts
 * the count afresh, so the next one needs new evidence at the reduced level.
 */
export class AdaptiveConcurrency {
  readonly #consecutive: number;
  readonly #threshold: number;
  readonly #windowMs: number;
  readonly #windowSize: number;
  readonly #share: number;
  readonly #recoverAfter: number;
  /** Recent outcomes, oldest first: when each came and whether it was a 429. */
  #recent: Array<{ at: number; limited: boolean }> = [];
  #limitedInWindow = 0;
  #limitedInARow = 0;
  #successes = 0;
  /** How often the concurrency was halved, for progress lines and tests. */
  reductions = 0;

  constructor(
    private readonly slots: { concurrency: number },
    readonly max: number,
    opts: AdaptiveOptions = {},
    private readonly clock: Pick<Clock, 'now'> = systemClock,
  ) {
    this.#consecutive = Math.max(1, opts.consecutive ?? 5);
    this.#threshold = Math.max(1, opts.threshold ?? 3);
    this.#windowMs = opts.windowMs ?? 10_000;
    this.#windowSize = Math.max(this.#threshold, opts.windowSize ?? 40);
    this.#share = opts.share ?? 1 / 3;
    this.#recoverAfter = opts.recoverAfter ?? 10;
  }

  get current(): number {
    return this.slots.concurrency;
  }

  onRateLimited(): void {
    this.#record(true);
    this.#limitedInARow++;
    const inARow = this.#limitedInARow >= this.#consecutive;
    const largeShare = this.#limitedInWindow >= this.#threshold && this.#limitedInWindow >= this.#share * this.#recent.length;
    if (!inARow && !largeShare) return;
    this.#recent = [];
    this.#limitedInWindow = 0;
    this.#limitedInARow = 0;
    this.#successes = 0;
    if (this.slots.concurrency > 1) {
      this.slots.concurrency = Math.max(1, Math.floor(this.slots.concurrency / 2));
      this.reductions++;
    }
  }

  onSuccess(): void {
    this.#record(false);
    this.#limitedInARow = 0;
    if (this.slots.concurrency >= this.max) return;
    if (++this.#successes < this.#recoverAfter) return;
    this.#successes = 0;
    this.slots.concurrency = Math.min(this.max, this.slots.concurrency + 1);
  }

  #record(limited: boolean): void {
    const now = this.clock.now();
    this.#recent.push({ at: now, limited });
    if (limited) this.#limitedInWindow++;
    let drop = 0;
    while (
      drop < this.#recent.length &&
      (this.#recent.length - drop > this.#windowSize || now - this.#recent[drop]!.at >= this.#windowMs)
    ) {
      if (this.#recent[drop]!.limited) this.#limitedInWindow--;
      drop++;
    }
    if (drop) this.#recent.splice(0, drop);
  }
}

export interface ThrottleOptions {
  concurrency: number;
  rpm?: number;
  tpm?: number;
  adaptive?: boolean | AdaptiveOptions;
  clock?: Clock;
}

/** The pacing settings of a model as the config gives them. */
export interface PacedModel {
  concurrency: number;
  rpm?: number;
  tpm?: number;
  /** Default true. */
  adaptiveConcurrency?: boolean;
}

/** The throttle a model's settings ask for; the run's calls and the judge's calls both pace through one of these. */
export function throttleFor(m: PacedModel, clock?: Clock): ModelThrottle {
  const concurrency = Math.max(1, m.concurrency);
  return new ModelThrottle(new Slots(concurrency), {
    concurrency,
    ...(m.rpm ? { rpm: m.rpm } : {}),
    ...(m.tpm ? { tpm: m.tpm } : {}),
    adaptive: m.adaptiveConcurrency ?? true,
    ...(clock ? { clock } : {}),
  });
}

/** Everything that paces one model's calls: `attempt` holds a concurrency slot and waits for the rate. */
export class ModelThrottle {
  readonly requests: TokenBucket | undefined;
  readonly tokens: TokenBucket | undefined;
  readonly adaptive: AdaptiveConcurrency | undefined;

  constructor(
    readonly slots: Slots,
    opts: ThrottleOptions,
  ) {
    const clock = opts.clock ?? systemClock;
    this.requests = opts.rpm ? new TokenBucket(opts.rpm, clock) : undefined;
    this.tokens = opts.tpm ? new TokenBucket(opts.tpm, clock) : undefined;
    this.adaptive = opts.adaptive
      ? new AdaptiveConcurrency(slots, opts.concurrency, opts.adaptive === true ? {} : opts.adaptive, clock)
      : undefined;
  }

  get needsTokenEstimate(): boolean {
    return this.tokens !== undefined;
  }

  /** Waits for the request and token budget of one attempt (every retry is a new request to the API). */
  async beforeAttempt(estimatedTokens: number, signal: AbortSignal): Promise<void> {
    await this.requests?.take(1, signal);
    await this.tokens?.take(estimatedTokens, signal);
  }

  /** One attempt of a call, paced: waits for the rate budget, then reports the outcome back. */
  async attempt(estimatedTokens: number, signal: AbortSignal, call: () => Promise<Completion>): Promise<Completion> {
    await this.beforeAttempt(estimatedTokens, signal);
    try {
      const completion = await call();
      this.afterAttempt({ rateLimited: false, estimatedTokens, usedTokens: completion.usage.input + completion.usage.output });
      return completion;
    } catch (err) {
      this.afterAttempt({ rateLimited: err instanceof ProviderError && err.kind === 'rate_limit', estimatedTokens });
      throw err;
    }
  }

  /**
   * The retry policy with its waits made outside the call's concurrency slot: a call waiting out a
   * Retry-After (or a backoff) gives its slot to the next call, and takes one back, ahead of calls
   * not yet started, when the wait is over. So a provider's Retry-After paces the call that got it,
   * not the whole pool.
   */
  releasingDuringWaits(policy: RetryPolicy): RetryPolicy {
    const sleep = policy.sleep ?? abortableSleep;
    return {
      ...policy,
      sleep: async (ms, signal) => {
        this.slots.release();
        try {
          await sleep(ms, signal);
        } finally {
          await this.slots.acquire({ first: true });
        }
      },
    };
  }

  /** After an attempt: feed the adaptive limit and correct the token estimate with the real usage. */
  afterAttempt(outcome: { rateLimited: boolean; estimatedTokens: number; usedTokens?: number }): void {
    if (outcome.rateLimited) this.adaptive?.onRateLimited();
    else if (outcome.usedTokens !== undefined) this.adaptive?.onSuccess();
    // A failed attempt used (almost) no tokens; give its reservation back.
    this.tokens?.adjust(outcome.estimatedTokens - (outcome.usedTokens ?? 0));
  }
}
