/**
 * Seeded stratified sampling of logged requests, in one streaming pass and bounded memory.
 *
 * Each request gets a priority = hash(seed, dedupe key). Within a stratum the sample is the requests
 * with the lowest priorities (a "bottom-k" sample: uniform, and independent of the order of the log
 * lines, so the same seed gives the same cases however the logs were concatenated). Only the lowest
 * `cap` candidates per stratum are kept while reading.
 *
 * Near-duplicates: the dedupe key hashes the conversation after lower-casing, collapsing whitespace
 * and replacing every digit run by `0`, so "Where is order 1234?" and "where is  order 98765?" are the
 * same case. Identical keys get identical priorities, so duplicates collide in the kept set and only
 * the first logged one survives. This catches templated and retried requests, not paraphrases.
 *
 * Allocation is proportional to each stratum's traffic (requests, duplicates included — the suite
 * should weigh use cases as production does), rounded by largest remainder; a stratum with fewer
 * distinct requests than its share gives the rest to the others.
 */
import { createHash } from 'node:crypto';
import type { ChatMessage } from '../core/types.js';
import { UsageError } from '../core/errors.js';
import { useCaseOf } from './aggregate.js';
import type { LogRecord } from './log-record.js';
import { signalsOf } from './signals.js';

export function normaliseForDedupe(messages: readonly ChatMessage[]): string {
  return messages
    .map((m) => `${m.role}:${m.content.toLowerCase().replace(/\d+/g, '0').replace(/\s+/g, ' ').trim()}`)
    .join('\n');
}

export function dedupeKey(messages: readonly ChatMessage[]): string {
  return createHash('sha1').update(normaliseForDedupe(messages)).digest('hex');
}

/** Uniform in [0, 1), a pure function of seed and key. */
export function priorityOf(seed: number, key: string): number {
  const h = createHash('sha1').update(`${seed}\0${key}`).digest();
  return (h.readUInt32BE(0) * 2 ** 21 + (h.readUInt32BE(4) >>> 11)) / 2 ** 53;
}

export const STRATIFY_DIMENSIONS = ['useCase', 'complexity', 'length', 'model', 'format', 'task'] as const;

/** The value of a stratification dimension for a request; any other name reads `metadata.<name>`. */
export function dimensionValue(r: LogRecord, dim: string): string {
  switch (dim) {
    case 'useCase':
      return useCaseOf(r);
    case 'complexity':
      return signalsOf(r).complexity;
    case 'length':
      return signalsOf(r).length;
    case 'model':
      return r.model;
    case 'format':
      return r.format;
    default: {
      const v = r.metadata[dim];
      return v === undefined || v === null || v === '' ? 'unknown' : String(v);
    }
  }
}

export function parseStratify(spec: string): string[] {
  const dims = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (!dims.length) throw new UsageError(`--stratify needs at least one dimension, e.g. useCase,complexity (built in: ${STRATIFY_DIMENSIONS.join(', ')}; any other name reads metadata.<name>)`);
  return [...new Set(dims)];
}

export interface Candidate {
  key: string;
  priority: number;
  stratum: string;
  record: LogRecord;
  file: string;
  line: number;
}

export interface StratumAllocation {
  stratum: string;
  /** Requests of this stratum in the logs (duplicates included). */
  requests: number;
  /** Exact proportional share of the sample size. */
  share: number;
  selected: number;
}

export interface SampleResult {
  /** Chosen requests, ordered by stratum, then priority. */
  selected: Candidate[];
  strata: StratumAllocation[];
  /** Requests considered (after the filter). */
  population: number;
  /** Near-duplicate requests that collided with a kept candidate. */
  duplicatesSeen: number;
}

export interface SamplerOptions {
  size: number;
  seed: number;
  stratify: readonly string[];
  /** Only requests passing this are considered (e.g. a model filter). */
  filter?: (r: LogRecord) => boolean;
}

class Stratum {
  requests = 0;
  /** dedupe key → candidate; never more than 2 × cap entries. */
  readonly kept = new Map<string, Candidate>();
  /** Priority above which nothing can enter the bottom-cap any more. */
  threshold = Infinity;
  constructor(private readonly cap: number) {}
  offer(c: Candidate): 'kept' | 'duplicate' | 'dropped' {
    if (c.priority > this.threshold) return 'dropped';
    if (this.kept.has(c.key)) return 'duplicate';
    this.kept.set(c.key, c);
    if (this.kept.size >= 2 * this.cap) this.prune();
    return 'kept';
  }
  prune(): void {
    const sorted = this.sorted();
    for (const c of sorted.slice(this.cap)) this.kept.delete(c.key);
    this.threshold = sorted[this.cap - 1]!.priority;
  }
  sorted(): Candidate[] {
    return [...this.kept.values()].sort((a, b) => a.priority - b.priority || (a.key < b.key ? -1 : 1));
  }
}

export class StratifiedSampler {
  private readonly strata = new Map<string, Stratum>();
  private readonly cap: number;
  private population = 0;
  private duplicates = 0;

  constructor(private readonly opts: SamplerOptions) {
    if (!Number.isInteger(opts.size) || opts.size < 1) throw new UsageError(`--size must be a positive integer, got ${opts.size}`);
    // Headroom for candidates lost to duplicates across strata at the end.
    this.cap = opts.size + Math.ceil(opts.size / 10) + 5;
  }

  add(record: LogRecord, file: string, line: number): void {
    if (this.opts.filter && !this.opts.filter(record)) return;
    this.population++;
    const stratum = this.opts.stratify.map((d) => dimensionValue(record, d)).join(' / ');
    let s = this.strata.get(stratum);
    if (!s) this.strata.set(stratum, (s = new Stratum(this.cap)));
    s.requests++;
    const key = dedupeKey(record.messages);
    if (s.offer({ key, priority: priorityOf(this.opts.seed, key), stratum, record, file, line }) === 'duplicate') this.duplicates++;
  }

  result(): SampleResult {
    const names = [...this.strata.keys()].sort();
    const claimed = new Set<string>();
    const pools = new Map<string, Candidate[]>();
    for (const name of names) {
      // A request text seen in two strata belongs to the first (by name), so it is never sampled twice.
      const pool = this.strata.get(name)!.sorted().filter((c) => !claimed.has(c.key));
      for (const c of pool) claimed.add(c.key);
      pools.set(name, pool);
    }
    const counts = new Map(names.map((n) => [n, this.strata.get(n)!.requests]));
    const caps = new Map(names.map((n) => [n, pools.get(n)!.length]));
    const alloc = allocate(counts, this.opts.size, caps);
    const selected: Candidate[] = [];
    const strata: StratumAllocation[] = [];
    for (const name of names) {
      const n = alloc.get(name) ?? 0;
      selected.push(...pools.get(name)!.slice(0, n));
      strata.push({ stratum: name, requests: counts.get(name)!, share: this.population ? (this.opts.size * counts.get(name)!) / this.population : 0, selected: n });
    }
    return { selected, strata, population: this.population, duplicatesSeen: this.duplicates };
  }
}

/**
 * Proportional allocation of `size` over strata by largest remainder (Hamilton): floors of the exact
 * shares, then one more to the largest fractional parts (ties by stratum name). With `caps`, a stratum
 * never gets more than it has; the surplus is re-allocated over the others the same way.
 */
export function allocate(counts: ReadonlyMap<string, number>, size: number, caps?: ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map<string, number>([...counts.keys()].map((k) => [k, 0]));
  let open = [...counts.keys()].filter((k) => (counts.get(k) ?? 0) > 0 && (caps?.get(k) ?? Infinity) > 0);
  let remaining = Math.min(size, [...open].reduce((s, k) => s + Math.min(counts.get(k)!, caps?.get(k) ?? Infinity), 0));
  while (remaining > 0 && open.length > 0) {
    const total = open.reduce((s, k) => s + counts.get(k)!, 0);
    const shares = open.map((k) => ({ k, exact: (remaining * counts.get(k)!) / total }));
    const given = new Map(shares.map((s) => [s.k, Math.floor(s.exact)]));
    let left = remaining - [...given.values()].reduce((a, b) => a + b, 0);
    const byRemainder = [...shares].sort((a, b) => b.exact - Math.floor(b.exact) - (a.exact - Math.floor(a.exact)) || (a.k < b.k ? -1 : 1));
    for (const s of byRemainder) {
      if (left <= 0) break;
      given.set(s.k, given.get(s.k)! + 1);
      left--;
    }
    let surplus = 0;
    const full: string[] = [];
    for (const [k, n] of given) {
      const room = (caps?.get(k) ?? Infinity) - out.get(k)!;
      const take = Math.min(n, room);
      out.set(k, out.get(k)! + take);
      surplus += n - take;
      if (take >= room) full.push(k);
    }
    remaining = surplus;
    open = open.filter((k) => !full.includes(k));
  }
  return out;
}
