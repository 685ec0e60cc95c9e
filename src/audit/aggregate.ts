/**
 * The audit: one pass over the logs into fixed-size aggregates (counts, sums, log-scale histograms),
 * so memory does not grow with the number of lines — only with the number of distinct models, use
 * cases, months and tiers.
 */
import { callCost } from '../core/cost.js';
import type { Case, ModelConfig, Price, Routing } from '../core/types.js';
import { inputTextOf, routeCase } from '../routing/match.js';
import { LogHistogram } from './histogram.js';
import type { LogFormat, LogRecord } from './log-record.js';
import type { PriceLookup } from './pricing.js';
import type { MalformedLine } from './read-logs.js';
import { signalsOf } from './signals.js';
import type { Complexity, LengthBucket } from './signals.js';
import { byCodeUnits } from '../core/compare.js';

/** How many malformed lines the report lists by location (all are counted). */
export const MALFORMED_SHOWN = 10;
const DAYS_PER_MONTH = 365.25 / 12;
const DAY_MS = 86_400_000;

export interface UsageRow {
  key: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  /** USD of the priced requests of this row. */
  costUsd: number;
  /** Requests whose model has no known price; their cost is unknown, not zero. */
  unpricedRequests: number;
}

export interface ModelRow extends UsageRow {
  /** Where the price came from (`config:<key>`, `table`), or null when unpriced. */
  priceSource: string | null;
}

export interface Percentiles {
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

export interface TierRow {
  tier: string;
  /** Model key from the config. */
  model: string;
  requests: number;
  share: number;
  inputTokens: number;
  outputTokens: number;
  /** Cost as logged (their actual models), over the requests priced both ways. */
  todayUsd: number;
  /** Cost of the same token counts at the tier model's price; null when the tier model is unpriced. */
  routedUsd: number | null;
}

export interface RoutingProjection {
  file: string;
  baseline: string;
  tiers: TierRow[];
  rules: { rule: string; tier: string; requests: number }[];
  /** Requests where both today's model and the tier model are priced: the cost comparison covers only these. */
  comparableRequests: number;
  todayUsd: number;
  routedUsd: number;
  savingsUsd: number;
  /** Relative saving (0..1; negative when routing costs more). */
  savings: number | null;
  todayMonthlyUsd: number | null;
  routedMonthlyUsd: number | null;
  assumption: string;
}

export interface AuditReport {
  files: string[];
  /** Lines read as requests. */
  requests: number;
  malformed: { count: number; first: MalformedLine[] };
  formats: Record<LogFormat, number>;
  /** Requests whose token figures were estimated from text length (no usage in the log). */
  estimatedUsage: number;
  period: { from: string | null; to: string | null; days: number | null };
  totals: UsageRow;
  /** Today's cost scaled to 30.4 days from the logged period; null when the period is under a day. */
  monthlyUsd: number | null;
  byModel: ModelRow[];
  byUseCase: UsageRow[];
  byMonth: UsageRow[];
  sizes: { input: Percentiles; output: Percentiles };
  signals: {
    length: Record<LengthBucket, number>;
    turns: { one: number; two: number; threePlus: number };
    code: number;
    structured: number;
    tools: number;
    reasoning: number;
    complexity: Record<Complexity, number>;
  };
  routing?: RoutingProjection;
}

export interface AuditOptions {
  prices: PriceLookup;
  /** With a routing file: how the traffic would split and what it would cost. */
  routing?: { routing: Routing; models: ReadonlyMap<string, ModelConfig> };
}

class Row {
  requests = 0;
  inputTokens = 0;
  outputTokens = 0;
  costUsd = 0;
  unpricedRequests = 0;
  add(r: LogRecord, cost: number | undefined): void {
    this.requests++;
    this.inputTokens += r.usage.input;
    this.outputTokens += r.usage.output;
    if (cost === undefined) this.unpricedRequests++;
    else this.costUsd += cost;
  }
  toJSON(key: string): UsageRow {
    return { key, requests: this.requests, inputTokens: this.inputTokens, outputTokens: this.outputTokens, costUsd: this.costUsd, unpricedRequests: this.unpricedRequests };
  }
}

class TierAcc {
  requests = 0;
  inputTokens = 0;
  outputTokens = 0;
  todayUsd = 0;
  routedUsd = 0;
}

const rowOf = (map: Map<string, Row>, key: string): Row => {
  let row = map.get(key);
  if (!row) map.set(key, (row = new Row()));
  return row;
};

/** A logged request as the routing rules see a case. */
export function caseOfRecord(r: LogRecord, file: string, line: number): Case {
  const c: Case = { id: `${file}:${line}`, messages: r.messages, metadata: r.metadata, origin: { file, line } };
  if (typeof r.metadata.task === 'string') c.task = r.metadata.task;
  const tags = r.metadata.tags;
  if (Array.isArray(tags)) c.tags = tags.filter((t): t is string => typeof t === 'string');
  return c;
}

export function useCaseOf(r: LogRecord): string {
  const u = r.metadata.useCase ?? r.metadata.use_case;
  return typeof u === 'string' && u ? u : 'unknown';
}

export class AuditAggregator {
  private requests = 0;
  private malformedCount = 0;
  private readonly malformedFirst: MalformedLine[] = [];
  private readonly formats: Record<LogFormat, number> = { openai: 0, anthropic: 0, generic: 0, litellm: 0, portkey: 0 };
  private estimated = 0;
  private minTs = Infinity;
  private maxTs = -Infinity;
  private readonly totals = new Row();
  private readonly byModel = new Map<string, Row>();
  private readonly byUseCase = new Map<string, Row>();
  private readonly byMonth = new Map<string, Row>();
  private readonly inputHist = new LogHistogram();
  private readonly outputHist = new LogHistogram();
  private readonly length: Record<LengthBucket, number> = { short: 0, medium: 0, long: 0, 'very-long': 0 };
  private readonly turns = { one: 0, two: 0, threePlus: 0 };
  private readonly flags = { code: 0, structured: 0, tools: 0, reasoning: 0 };
  private readonly complexity: Record<Complexity, number> = { low: 0, medium: 0, high: 0 };
  private readonly tiers = new Map<string, TierAcc>();
  private readonly rules = new Map<string, { tier: string; requests: number }>();
  private comparable = { requests: 0, today: 0, routed: 0 };

  constructor(
    private readonly files: readonly string[],
    private readonly opts: AuditOptions,
  ) {}

  addMalformed(m: MalformedLine): void {
    this.malformedCount++;
    if (this.malformedFirst.length < MALFORMED_SHOWN) this.malformedFirst.push(m);
  }

  add(r: LogRecord, file: string, line: number): void {
    this.requests++;
    this.formats[r.format]++;
    if (r.estimatedUsage) this.estimated++;
    const cost = callCost(r.usage, this.opts.prices(r.model)?.price);
    this.totals.add(r, cost);
    rowOf(this.byModel, r.model).add(r, cost);
    rowOf(this.byUseCase, useCaseOf(r)).add(r, cost);
    if (r.timestamp !== undefined) {
      if (r.timestamp < this.minTs) this.minTs = r.timestamp;
      if (r.timestamp > this.maxTs) this.maxTs = r.timestamp;
      rowOf(this.byMonth, new Date(r.timestamp).toISOString().slice(0, 7)).add(r, cost);
    } else {
      rowOf(this.byMonth, 'no timestamp').add(r, cost);
    }
    this.inputHist.add(r.usage.input);
    this.outputHist.add(r.usage.output);

    const s = signalsOf(r);
    this.length[s.length]++;
    if (s.turns <= 1) this.turns.one++;
    else if (s.turns === 2) this.turns.two++;
    else this.turns.threePlus++;
    if (s.code) this.flags.code++;
    if (s.structured) this.flags.structured++;
    if (s.tools) this.flags.tools++;
    if (s.reasoning) this.flags.reasoning++;
    this.complexity[s.complexity]++;

    if (this.opts.routing) this.route(r, file, line, cost);
  }

  private route(r: LogRecord, file: string, line: number, cost: number | undefined): void {
    const { routing, models } = this.opts.routing!;
    const match = routeCase(routing, caseOfRecord(r, file, line), inputTextOf(r.messages));
    const tierModel = routing.tiers.get(match.tier)!.model;
    const routedCost = callCost(r.usage, priceOfKey(models, tierModel));
    let t = this.tiers.get(match.tier);
    if (!t) this.tiers.set(match.tier, (t = new TierAcc()));
    t.requests++;
    t.inputTokens += r.usage.input;
    t.outputTokens += r.usage.output;
    // Both columns cover the same requests (those priced both ways), so they compare like for like.
    if (cost !== undefined && routedCost !== undefined) {
      t.todayUsd += cost;
      t.routedUsd += routedCost;
    }
    const rule = this.rules.get(match.rule);
    if (rule) rule.requests++;
    else this.rules.set(match.rule, { tier: match.tier, requests: 1 });
    if (cost !== undefined && routedCost !== undefined) {
      this.comparable.requests++;
      this.comparable.today += cost;
      this.comparable.routed += routedCost;
    }
  }

  report(): AuditReport {
    const hasPeriod = this.maxTs >= this.minTs;
    const days = hasPeriod ? (this.maxTs - this.minTs) / DAY_MS : null;
    const monthly = (usd: number): number | null => (days !== null && days >= 1 ? (usd / days) * DAYS_PER_MONTH : null);
    const sorted = (map: Map<string, Row>) =>
      [...map].map(([k, row]) => row.toJSON(k)).sort((a, b) => b.requests - a.requests || byCodeUnits(a.key, b.key));
    const report: AuditReport = {
      files: [...this.files],
      requests: this.requests,
      malformed: { count: this.malformedCount, first: [...this.malformedFirst] },
      formats: { ...this.formats },
      estimatedUsage: this.estimated,
      period: {
        from: hasPeriod ? new Date(this.minTs).toISOString() : null,
        to: hasPeriod ? new Date(this.maxTs).toISOString() : null,
        days,
      },
      totals: this.totals.toJSON('total'),
      monthlyUsd: this.totals.requests > this.totals.unpricedRequests ? monthly(this.totals.costUsd) : null,
      byModel: sorted(this.byModel).map((row) => ({ ...row, priceSource: this.opts.prices(row.key)?.source ?? null })),
      byUseCase: sorted(this.byUseCase),
      byMonth: [...this.byMonth].map(([k, row]) => row.toJSON(k)).sort((a, b) => byCodeUnits(a.key, b.key)),
      sizes: { input: percentiles(this.inputHist), output: percentiles(this.outputHist) },
      signals: {
        length: { ...this.length },
        turns: { ...this.turns },
        ...this.flags,
        complexity: { ...this.complexity },
      },
    };
    if (this.opts.routing) report.routing = this.projection(monthly);
    return report;
  }

  private projection(monthly: (usd: number) => number | null): RoutingProjection {
    const { routing, models } = this.opts.routing!;
    const tiers: TierRow[] = [...routing.tiers.values()].map((tc) => {
      const t = this.tiers.get(tc.name) ?? new TierAcc();
      const priced = priceOfKey(models, tc.model) !== undefined;
      return {
        tier: tc.name,
        model: tc.model,
        requests: t.requests,
        share: this.requests ? t.requests / this.requests : 0,
        inputTokens: t.inputTokens,
        outputTokens: t.outputTokens,
        todayUsd: t.todayUsd,
        routedUsd: priced ? t.routedUsd : null,
      };
    });
    const { today, routed, requests } = this.comparable;
    return {
      file: routing.file,
      baseline: routing.baseline,
      tiers,
      rules: [...this.rules].map(([rule, v]) => ({ rule, ...v })),
      comparableRequests: requests,
      todayUsd: today,
      routedUsd: routed,
      savingsUsd: today - routed,
      savings: today > 0 ? (today - routed) / today : null,
      todayMonthlyUsd: monthly(today),
      routedMonthlyUsd: monthly(routed),
      assumption:
        'routed cost re-prices each logged request at its tier model’s price with the same input and output token counts; a different model may answer longer or shorter and tokenises differently',
    };
  }
}

function priceOfKey(models: ReadonlyMap<string, ModelConfig>, key: string): Price | undefined {
  return models.get(key)?.price;
}

function percentiles(h: LogHistogram): Percentiles {
  return { p50: h.quantile(0.5), p90: h.quantile(0.9), p99: h.quantile(0.99) };
}
