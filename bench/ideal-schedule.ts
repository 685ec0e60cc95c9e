/**
 * The best wall time any client could reach under the mock's 429 faults, for scenario (f): computed
 * from the mock's own deterministic fault function (`seededFault`) and the request bodies a run sent,
 * so "≤ 1.3 × the fault-free floor" can be judged against what the fault pattern allows at all.
 *
 * The mock draws a body's fault from (seed, body, how often it has seen the body), and answers a 429
 * only after its latency wait. So a body that draws k 429s before its answer is a chain of k + 1
 * attempts of `latencyMs` each, with a `retryAfterMs` wait after each 429 — whatever the client does.
 */
import { createHash } from 'node:crypto';
import { mockBodyKey, seededFault, type MockFaults } from '../test/support/mock-llm-server.js';
import type { ServedRequest } from './mock-process.js';

export interface FaultPattern {
  /** 429s before the first answer, per distinct request body (from the fault function, not the log). */
  retriesPerBody: number[];
  /** Logged requests whose fault `seededFault` does not reproduce: 0 means the pattern is the mock's. */
  mismatches: number;
}

/** A run's fault pattern: the log replayed through the mock's fault function, then each body's chain. */
export function faultPattern(log: ServedRequest[], faults: MockFaults): FaultPattern {
  const seen = new Map<string, number>();
  let mismatches = 0;
  for (const r of log) {
    const key = mockBodyKey(r.body);
    const occurrence = (seen.get(key) ?? 0) + 1;
    seen.set(key, occurrence);
    if (seededFault(faults, key, occurrence) !== r.fault) mismatches++;
  }
  const retriesPerBody: number[] = [];
  for (const key of seen.keys()) {
    let k = 0;
    // Bounded: at a 10 % rate a chain of 100 has probability 1e-100.
    while (k < 100 && seededFault(faults, key, k + 1) === 'rate429') k++;
    retriesPerBody.push(k);
  }
  return { retriesPerBody, mismatches };
}

export interface IdealOptions {
  /** Requests in flight at once. */
  slots: number;
  latencyMs: number;
  retryAfterMs: number;
}

export interface IdealSchedule {
  /** Greedy schedule with foresight, a waiting call gives its slot back: what a client with zero CPU reaches. */
  slotFreedMs: number;
  /**
   * The same client without foresight (it cannot know which requests will get a 429): a retry goes out
   * as soon as it is due, otherwise the next request in the order the run sent them. One natural
   * policy on this one pattern, not a bound over every policy that lacks foresight.
   */
  noForesightMs: number;
  /** Greedy schedule, a waiting call keeps its slot (a limiter wrapped around the retries). */
  slotHeldMs: number;
  /** No schedule can beat this: max(longest chain, ceil(attempts / slots) × latency). */
  lowerBoundMs: number;
  attempts: number;
  longestChainMs: number;
}

const chainMs = (k: number, o: IdealOptions) => (k + 1) * o.latencyMs + k * o.retryAfterMs;

/**
 * Zero client CPU, every retry sent the moment its Retry-After has passed, and slots handed out
 * greedily, longest remaining chain first (list scheduling; not proven optimal, hence the lower bound
 * beside it — when the two agree it is optimal).
 */
export function idealSchedule(retriesPerBody: number[], o: IdealOptions): IdealSchedule {
  if (o.retryAfterMs % o.latencyMs !== 0) throw new Error('idealSchedule: retryAfterMs must be a multiple of latencyMs (the schedule steps by latency)');
  const attempts = retriesPerBody.reduce((n, k) => n + k + 1, 0);
  const longestChainMs = Math.max(0, ...retriesPerBody.map((k) => chainMs(k, o)));
  const lowerBoundMs = Math.max(longestChainMs, Math.ceil(attempts / o.slots) * o.latencyMs);

  // Longest remaining chain first (a chain's remaining length grows with its attempts left), or, with no
  // foresight, due retries first (earliest due first) and then fresh requests in their order.
  const slotFreedMs = stepSchedule(retriesPerBody, o, (a, b) => b.left - a.left);
  const noForesightMs = stepSchedule(retriesPerBody, o, (a, b) => Number(b.started) - Number(a.started) || (a.started ? a.readyAt - b.readyAt : a.index - b.index));

  // Slot held while waiting: each chain is one job of its whole length; longest first onto the slot
  // that frees first (LPT).
  const slotHeldMs = listScheduleMs(
    retriesPerBody.map((k) => chainMs(k, o)).sort((a, b) => b - a),
    o.slots,
  );
  return { slotFreedMs, noForesightMs, slotHeldMs, lowerBoundMs, attempts, longestChainMs };
}

interface Chain {
  /** Position of the request in the order the run first sent it. */
  index: number;
  /** Attempts still to make (a 429 adds none: the chain's length is known to the schedule). */
  left: number;
  /** The step from which its next attempt may go out. */
  readyAt: number;
  started: boolean;
}

/**
 * A waiting call gives its slot back. Every attempt takes exactly one step of `latencyMs` (and a wait
 * a whole number of steps), so the schedule steps through time: at each step the free slots go to the
 * ready chains first in `priority` order. Returns the wall time when the last chain ends.
 */
function stepSchedule(retriesPerBody: number[], o: IdealOptions, priority: (a: Chain, b: Chain) => number): number {
  const chains: Chain[] = retriesPerBody.map((k, index) => ({ index, left: k + 1, readyAt: 0, started: false }));
  const waitSteps = o.retryAfterMs / o.latencyMs;
  let step = 0;
  let done = 0;
  let endMs = 0;
  while (done < chains.length) {
    const ready = chains.filter((c) => c.left > 0 && c.readyAt <= step).sort(priority);
    for (const c of ready.slice(0, o.slots)) {
      c.started = true;
      c.left--;
      if (c.left === 0) {
        done++;
        endMs = (step + 1) * o.latencyMs;
      } else c.readyAt = step + 1 + waitSteps;
    }
    step++;
  }
  return endMs;
}

/**
 * The floor of a fault-free run: the wall time of a zero-CPU client that sends the requests in the
 * given order, each as soon as one of `slots` is free, where request i takes `latenciesMs[i]`. With
 * equal latencies it is ceil(n / slots) × latency.
 */
export function listScheduleMs(latenciesMs: readonly number[], slots: number): number {
  const free = new Array<number>(Math.min(slots, latenciesMs.length)).fill(0);
  let end = 0;
  for (const latency of latenciesMs) {
    // The slot that frees first takes the next request (slots ≤ 64: a scan beats a heap here).
    let k = 0;
    for (let j = 1; j < free.length; j++) if (free[j]! < free[k]!) k = j;
    free[k]! += latency;
    end = Math.max(end, free[k]!);
  }
  return end;
}

/**
 * The extra latency a request body gets when the mock's latency is jittered: 0 ≤ jitter < `spreadMs`,
 * spread evenly and decided by the body alone, so the bench can compute each logged request's latency
 * (and from them the floor) from the bodies it sent.
 */
export function jitterOf(body: string, spreadMs: number): number {
  return Math.floor((createHash('sha1').update(body).digest().readUInt32BE(0) / 2 ** 32) * spreadMs);
}
