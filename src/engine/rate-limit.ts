/**
 * Client-side pacing per model: requests per minute and tokens per minute (token buckets), and an
 * adaptive cap on calls in flight that backs off when the API keeps answering 429. Pacing below the
 * provider's limits costs a little wall time; hitting them costs retries, Retry-After waits and, past
 * maxRetries, errored cases that make a run incomplete.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import { ProviderError } from '../core/errors.js';
import type { Completion } from '../core/types.js';
import { abortableSleep } from './retry.js';

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

export interface AdaptiveOptions {
  /** 429s within `windowMs` that halve the concurrency. Default 3. */
  threshold?: number;
  windowMs?: number;
  /** Consecutive successes that give one slot back. Default 10. */
  recoverAfter?: number;
}

/**
 * Halves a model's calls in flight after repeated 429s (default: 3 within 10 s), down to 1, and gives
 * one slot back per `recoverAfter` successes up to the configured concurrency (AIMD, as TCP does):
 * a rate limit shared with other traffic is found without configuration, and lost again gently.
 */
export class AdaptiveConcurrency {
  readonly #threshold: number;
  readonly #windowMs: number;
  readonly #recoverAfter: number;
  #recent: number[] = [];
  #successes = 0;
  /** How often the concurrency was halved, for progress lines and tests. */
  reductions = 0;

  constructor(
    private readonly limit: Pick<LimitFunction, 'concurrency'>,
    readonly max: number,
    opts: AdaptiveOptions = {},
    private readonly clock: Pick<Clock, 'now'> = systemClock,
  ) {
    this.#threshold = opts.threshold ?? 3;
    this.#windowMs = opts.windowMs ?? 10_000;
    this.#recoverAfter = opts.recoverAfter ?? 10;
  }

  get current(): number {
    return this.limit.concurrency;
  }

  onRateLimited(): void {
    const now = this.clock.now();
    this.#successes = 0;
    this.#recent = this.#recent.filter((t) => now - t < this.#windowMs);
    this.#recent.push(now);
    if (this.#recent.length < this.#threshold) return;
    // Start counting afresh: the next halving needs as many new 429s at the reduced level.
    this.#recent = [];
    if (this.limit.concurrency > 1) {
      this.limit.concurrency = Math.max(1, Math.floor(this.limit.concurrency / 2));
      this.reductions++;
    }
  }

  onSuccess(): void {
    if (this.limit.concurrency >= this.max) return;
    if (++this.#successes < this.#recoverAfter) return;
    this.#successes = 0;
    this.limit.concurrency = Math.min(this.max, this.limit.concurrency + 1);
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
  return new ModelThrottle(pLimit(concurrency), {
    concurrency,
    ...(m.rpm ? { rpm: m.rpm } : {}),
    ...(m.tpm ? { tpm: m.tpm } : {}),
    adaptive: m.adaptiveConcurrency ?? true,
    ...(clock ? { clock } : {}),
  });
}

/** Everything that paces one model's calls; `run` holds a concurrency slot, `beforeAttempt` the rate. */
export class ModelThrottle {
  readonly requests: TokenBucket | undefined;
  readonly tokens: TokenBucket | undefined;
  readonly adaptive: AdaptiveConcurrency | undefined;

  constructor(
    readonly limit: LimitFunction,
    opts: ThrottleOptions,
  ) {
    const clock = opts.clock ?? systemClock;
    this.requests = opts.rpm ? new TokenBucket(opts.rpm, clock) : undefined;
    this.tokens = opts.tpm ? new TokenBucket(opts.tpm, clock) : undefined;
    this.adaptive = opts.adaptive
      ? new AdaptiveConcurrency(limit, opts.concurrency, opts.adaptive === true ? {} : opts.adaptive, clock)
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

  /** After an attempt: feed the adaptive limit and correct the token estimate with the real usage. */
  afterAttempt(outcome: { rateLimited: boolean; estimatedTokens: number; usedTokens?: number }): void {
    if (outcome.rateLimited) this.adaptive?.onRateLimited();
    else if (outcome.usedTokens !== undefined) this.adaptive?.onSuccess();
    // A failed attempt used (almost) no tokens; give its reservation back.
    this.tokens?.adjust(outcome.estimatedTokens - (outcome.usedTokens ?? 0));
  }
}
