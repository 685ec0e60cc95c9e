/**
 * Cost of a routing file: per tier, routed vs all-frontier, the judge, a monthly projection and budgets.
 * Pure: the same stored results and prices always give the same figures.
 *
 * Prices are applied here from the configured models (not read from the stored `costUsd`), because a
 * completion served from the response cache carries the cost at the price of the run that made it.
 *
 * An unpriced model is never free: every figure it enters is `null`. An errored call was not billed and
 * says nothing about what a served request costs, so inside a tier it is counted at the mean of the
 * same model's completed calls on that tier's cases; otherwise a flaky cheap model would look cheaper.
 *
 * Budgets need a traffic figure. The suite is a representative sample, so with `monthlyRequests` each
 * use case gets the share of traffic it has in the suite; without it budgets are reported as not
 * evaluated and never decide the gate (a budget that cannot be measured must not pass or fail silently).
 */
import { callCost, sumCosts } from '../core/cost.js';
import { int, pct, usd } from '../core/format.js';
import { UsageError } from '../core/errors.js';
import type {
  Budget,
  BudgetStatus,
  CallOutcome,
  Case,
  CaseResult,
  CostProjection,
  CostSummary,
  ModelConfig,
  Price,
  Routing,
  RunSummary,
  UseCaseProjection,
} from '../core/types.js';
import { byCodeUnits } from '../core/compare.js';

/** Float noise at a threshold (71.0000001% of a 70% alert) must not flip a budget's state. */
const EPS = 1e-12;

export interface CostReportInput {
  /** One entry per case: its tier and the baseline and tier-model calls (repeat 0). */
  results: CaseResult[];
  /** Every call of the run (repeats included), for per-model totals and judge usage. */
  outcomes: CallOutcome[];
  routing: Pick<Routing, 'baseline' | 'tiers' | 'budgets'>;
  /** Configured models: their prices are the authority. A model missing here falls back to the stored cost. */
  models: Map<string, Pick<ModelConfig, 'price'>>;
  /** The suite's cases, for use cases (`metadata.useCase`, else `task`, else `default`). */
  cases?: Pick<Case, 'id' | 'task' | 'metadata'>[];
  /** Requests per month the routing file serves; enables the projection and budgets. */
  monthlyRequests?: number;
  /** Model key of the judge, to price judge usage and name it. */
  judgeModel?: string;
}

export interface TierCost {
  tier: string;
  model: string;
  baselineModel: string;
  cases: number;
  /** 1000 × mean cost of the tier model's call on the tier's cases; null when unpriced or no case. */
  costPer1k: number | null;
  /** The same for the baseline model's calls on the same cases. */
  baselineCostPer1k: number | null;
  /** 1 − costPer1k / baselineCostPer1k; null when either is unknown or the baseline is free. */
  savings: number | null;
  estimatedTokens: boolean;
}

export interface ModelCost {
  /** Σ cost of the model's completed calls at the configured price; null when unpriced. */
  costUsd: number | null;
  estimatedTokens: boolean;
}

export interface CostReport {
  tiers: Map<string, TierCost>;
  overall: CostSummary;
  models: Map<string, ModelCost>;
  budgets: BudgetStatus[];
  /** The bundled price table's date, when some used model is priced from it. */
  priceTableDate?: string;
}

/** The use case a case counts under, for projections and budgets. */
export function useCaseOf(c: Pick<Case, 'task' | 'metadata'> | undefined): string {
  const fromMeta = c?.metadata?.useCase;
  if (typeof fromMeta === 'string' && fromMeta !== '') return fromMeta;
  return c?.task ?? 'default';
}

export function costReport(input: CostReportInput): CostReport {
  const { results, routing, models } = input;
  if (input.monthlyRequests !== undefined && !(Number.isFinite(input.monthlyRequests) && input.monthlyRequests > 0)) {
    throw new UsageError(`--monthly-requests must be a positive number, got ${input.monthlyRequests}`);
  }
  const priceOf = (key: string): Price | undefined | null => (models.has(key) ? models.get(key)!.price : null);
  /** number = cost; null = unpriced; undefined = no completion (not billed). */
  const costOf = (o: CallOutcome): number | null | undefined => {
    if (!o.completion) return undefined;
    const price = priceOf(o.modelKey);
    // null: the model is not configured (results replayed without its config); trust the stored figure.
    if (price === null) return o.completion.costUsd ?? null;
    return callCost(o.completion.usage, price) ?? null;
  };
  const tokensOf = (o: CallOutcome): number | undefined => (o.completion ? o.completion.usage.input + o.completion.usage.output : undefined);
  const estimated = (o: CallOutcome) => o.completion?.usage.estimated === true;

  const byTier = new Map<string, CaseResult[]>();
  for (const r of results) byTier.set(r.tier, [...(byTier.get(r.tier) ?? []), r]);
  const tierNames = [...new Set([...routing.tiers.keys(), ...byTier.keys()])];

  // Per case: the call costs the routed and the all-frontier configurations pay, and the frontier tokens.
  const routedCost = new Map<string, number | null | undefined>();
  const frontierCost = new Map<string, number | null | undefined>();
  const frontierTokens = new Map<string, number>();
  const tiers = new Map<string, TierCost>();
  const unpriced = new Set<string>();
  let anyEstimated = false;

  for (const name of tierNames) {
    const list = byTier.get(name) ?? [];
    const model = routing.tiers.get(name)?.model ?? list[0]?.candidate.modelKey ?? '';
    const candMean = meanCost(list.map((r) => costOf(r.candidate)));
    const baseMean = meanCost(list.map((r) => costOf(r.baseline)));
    const baseTokenMean = mean(list.map((r) => tokensOf(r.baseline)));
    const onFrontier = model === routing.baseline;
    for (const r of list) {
      const cand = costOf(r.candidate);
      const base = costOf(r.baseline);
      if (cand === null) unpriced.add(r.candidate.modelKey);
      if (base === null) unpriced.add(r.baseline.modelKey);
      routedCost.set(r.caseId, cand === undefined ? candMean : cand);
      frontierCost.set(r.caseId, base === undefined ? baseMean : base);
      frontierTokens.set(r.caseId, onFrontier ? (tokensOf(r.baseline) ?? baseTokenMean ?? 0) : 0);
    }
    const tierEstimated = list.some((r) => estimated(r.candidate) || estimated(r.baseline));
    anyEstimated ||= tierEstimated;
    const costPer1k = per1k(candMean);
    const baselineCostPer1k = per1k(baseMean);
    tiers.set(name, {
      tier: name,
      model,
      baselineModel: routing.baseline,
      cases: list.length,
      costPer1k,
      baselineCostPer1k,
      savings: savingsOf(costPer1k, baselineCostPer1k),
      estimatedTokens: tierEstimated,
    });
  }

  const n = results.length;
  const routedUsd = n ? sumCosts(results.map((r) => routedCost.get(r.caseId))) : null;
  const allFrontierUsd = n ? sumCosts(results.map((r) => frontierCost.get(r.caseId))) : null;
  const overall: CostSummary = {
    cases: n,
    routedUsd,
    allFrontierUsd,
    savedUsd: routedUsd !== null && allFrontierUsd !== null ? allFrontierUsd - routedUsd : null,
    savings: savingsOf(routedUsd, allFrontierUsd),
    routedPer1k: routedUsd === null ? null : (routedUsd / n) * 1000,
    allFrontierPer1k: allFrontierUsd === null ? null : (allFrontierUsd / n) * 1000,
    unpricedModels: [...unpriced].sort(),
    estimatedTokens: anyEstimated,
  };

  const modelCosts = new Map<string, ModelCost>();
  for (const o of input.outcomes) {
    const m = modelCosts.get(o.modelKey) ?? { costUsd: priceOf(o.modelKey) === undefined ? null : 0, estimatedTokens: false };
    const c = costOf(o);
    if (c !== undefined) m.costUsd = m.costUsd === null || c === null ? null : m.costUsd + c;
    m.estimatedTokens ||= estimated(o);
    modelCosts.set(o.modelKey, m);
  }

  const usedModels = new Set([routing.baseline, ...[...tiers.values()].filter((t) => t.cases > 0).map((t) => t.model)]);
  if (input.judgeModel) usedModels.add(input.judgeModel);
  const tablePrices = [...usedModels].flatMap((key) => {
    const p = tableInfo(models.get(key)?.price);
    return p ? [{ model: key, table: p.table, asOf: p.asOf, tableAsOf: p.tableAsOf }] : [];
  });
  if (tablePrices.length) overall.tablePrices = tablePrices.map(({ model, table, asOf }) => ({ model, table, asOf }));

  const judge = judgeUsage(input.outcomes, input.judgeModel, input.judgeModel ? priceOf(input.judgeModel) : undefined);
  if (judge) overall.judge = judge;

  const useCase = new Map((input.cases ?? []).map((c) => [c.id, useCaseOf(c)]));
  if (input.monthlyRequests !== undefined && n > 0) {
    overall.projection = project(input.monthlyRequests, results, (id) => useCase.get(id) ?? 'default', routedCost, frontierCost, frontierTokens);
  }
  const budgets = evaluateBudgets(routing.budgets, overall.projection, overall.unpricedModels);

  const report: CostReport = { tiers, overall, models: modelCosts, budgets };
  const tableDate = tablePrices.map((p) => p.tableAsOf).sort().at(-1);
  if (tableDate) report.priceTableDate = tableDate;
  return report;
}

function project(
  monthlyRequests: number,
  results: CaseResult[],
  useCaseOfId: (id: string) => string,
  routedCost: Map<string, number | null | undefined>,
  frontierCost: Map<string, number | null | undefined>,
  frontierTokens: Map<string, number>,
): CostProjection {
  // Each case stands for monthlyRequests / n requests of the same kind.
  const scale = monthlyRequests / results.length;
  const scaled = (x: number | null) => (x === null ? null : x * scale);
  const routed = scaled(sumCosts(results.map((r) => routedCost.get(r.caseId))));
  const frontier = scaled(sumCosts(results.map((r) => frontierCost.get(r.caseId))));
  const groups = new Map<string, CaseResult[]>();
  for (const r of results) {
    const u = useCaseOfId(r.caseId);
    groups.set(u, [...(groups.get(u) ?? []), r]);
  }
  const useCases: UseCaseProjection[] = [...groups]
    .map(([useCase, list]) => ({
      useCase,
      cases: list.length,
      requestsPerMonth: list.length * scale,
      frontierTokensPerMonth: list.reduce((s, r) => s + (frontierTokens.get(r.caseId) ?? 0), 0) * scale,
      usdPerMonth: scaled(sumCosts(list.map((r) => routedCost.get(r.caseId)))),
    }))
    .sort((a, b) => b.cases - a.cases || byCodeUnits(a.useCase, b.useCase));
  return {
    monthlyRequests,
    routedUsdPerMonth: routed,
    allFrontierUsdPerMonth: frontier,
    savedUsdPerMonth: routed !== null && frontier !== null ? frontier - routed : null,
    useCases,
  };
}

/**
 * Each budget limit against the projection: at or above `alertAt` warns, above 100% fails the gate.
 * A budget given both limits yields two statuses.
 */
export function evaluateBudgets(budgets: Budget[], projection: CostProjection | undefined, unpricedModels: string[] = []): BudgetStatus[] {
  if (!projection) return notEvaluated(budgets, 'budgets need a monthly traffic figure: pass --monthly-requests N');
  return judgeBudgets(budgets, {
    figuresOf: (useCase) => {
      const u = projection.useCases.find((p) => p.useCase === useCase);
      return u && { usd: u.usdPerMonth, frontierTokens: u.frontierTokensPerMonth };
    },
    measured: (figure) => `projected ${figure} at ${formatCount(projection.monthlyRequests)} requests/month`,
    unit: '/month',
    missing: `no case of the suite has this use case (a case's use case is metadata.useCase, else its task)`,
    unpriced: `unpriced model${unpricedModels.length === 1 ? '' : 's'}: ${unpricedModels.join(', ') || 'unknown'}`,
  });
}

/** What a use case spent or is projected to spend: USD (null when unpriced) and tokens on the frontier model. */
export interface BudgetFigures {
  usd: number | null;
  frontierTokens: number;
}

export interface BudgetBasis {
  /** The figures of a use case; undefined when nothing was measured for it. */
  figuresOf: (useCase: string) => BudgetFigures | undefined;
  /** Phrases the measured figure, e.g. `projected $12/month at 10,000 requests/month` or `month-to-date $3`. */
  measured: (figure: string, useCase: string) => string;
  /** Appended to measured figures: `/month` for a projection, empty for month-to-date sums. */
  unit: string;
  /** Why a budget whose use case has no figures is not evaluated. */
  missing: string;
  /** Why a USD budget whose figures are unpriced is not evaluated. */
  unpriced: string;
}

/**
 * Each budget limit against measured figures, whatever measured them (the suite's projection, a
 * gateway's month-to-date logs): at or above `alertAt` warns, above 100% fails. A budget given both
 * limits yields two statuses.
 */
export function judgeBudgets(budgets: Budget[], basis: BudgetBasis): BudgetStatus[] {
  const out: BudgetStatus[] = [];
  for (const b of budgets) {
    for (const [metric, limit] of budgetLimits(b)) {
      const base = { useCase: b.useCase, metric, limit, alertAt: b.alertAt };
      const what = budgetWhat(metric, limit);
      const skip = (why: string): BudgetStatus => ({ ...base, projected: null, used: null, status: 'not-evaluated', message: `budget ${what} not evaluated — ${why}` });
      const u = basis.figuresOf(b.useCase);
      if (!u) {
        out.push(skip(basis.missing));
        continue;
      }
      const projected = metric === 'usdPerMonth' ? u.usd : u.frontierTokens;
      if (projected === null) {
        out.push(skip(basis.unpriced));
        continue;
      }
      const used = projected / limit;
      const status = used > 1 + EPS ? 'fail' : used >= b.alertAt - EPS ? 'warn' : 'ok';
      const figure = metric === 'usdPerMonth' ? `${usd(projected)}${basis.unit}` : `${formatCount(projected)} frontier tokens${basis.unit}`;
      const verdict =
        status === 'fail'
          ? 'over budget'
          : status === 'warn'
            ? `at or above the ${pct(b.alertAt)} alert level`
            : 'within budget';
      out.push({ ...base, projected, used, status, message: `${basis.measured(figure, b.useCase)} is ${pct(used)} of the ${what} budget: ${verdict}` });
    }
  }
  return out;
}

function budgetLimits(b: Budget): [BudgetStatus['metric'], number][] {
  const limits: [BudgetStatus['metric'], number][] = [];
  if (b.frontierTokensPerMonth !== undefined) limits.push(['frontierTokensPerMonth', b.frontierTokensPerMonth]);
  if (b.usdPerMonth !== undefined) limits.push(['usdPerMonth', b.usdPerMonth]);
  return limits;
}

function budgetWhat(metric: BudgetStatus['metric'], limit: number): string {
  return metric === 'usdPerMonth' ? `${usd(limit)}/month` : `${formatCount(limit)} frontier tokens/month`;
}

function notEvaluated(budgets: Budget[], why: string): BudgetStatus[] {
  return budgets.flatMap((b) =>
    budgetLimits(b).map(([metric, limit]) => ({
      useCase: b.useCase,
      metric,
      limit,
      alertAt: b.alertAt,
      projected: null,
      used: null,
      status: 'not-evaluated' as const,
      message: `budget ${budgetWhat(metric, limit)} not evaluated — ${why}`,
    })),
  );
}

/** True when a budget is over 100%: the gate fails with the budget's own message. */
export function budgetsFailGate(report: Pick<CostReport, 'budgets'>): boolean {
  return report.budgets.some((b) => b.status === 'fail');
}

/**
 * Writes the report into the run summary: tier cost columns, per-model cost at the configured prices and
 * estimate flags, `cost`, `budgets`, `priceTableDate`. The caller concludes the summary afterwards
 * (`concludeSummary`), where a budget over 100% fails the gate like a regressed tier.
 */
export function applyCostReport(summary: RunSummary, report: CostReport): RunSummary {
  for (const t of summary.tiers) {
    const c = report.tiers.get(t.tier);
    if (!c) continue;
    t.costPer1k = c.costPer1k;
    t.baselineCostPer1k = c.baselineCostPer1k;
    t.savings = c.savings;
  }
  for (const m of summary.models) {
    const c = report.models.get(m.model);
    if (!c) continue;
    m.costUsd = c.costUsd;
    if (c.estimatedTokens) m.estimatedTokens = true;
  }
  summary.cost = report.overall;
  if (report.budgets.length) summary.budgets = report.budgets;
  if (report.priceTableDate) summary.priceTableDate = report.priceTableDate;
  return summary;
}

function judgeUsage(outcomes: CallOutcome[], judgeModel: string | undefined, price: Price | undefined | null): CostSummary['judge'] | undefined {
  let found = false;
  let calls = 0;
  let inputTokens = 0;
  let outputTokens = 0;
  const graderCosts: (number | undefined)[] = [];
  for (const o of outcomes) {
    for (const g of o.grades) {
      const u = g.judgeUsage;
      if (!u || typeof u !== 'object') continue;
      found = true;
      calls += u.calls;
      inputTokens += u.inputTokens;
      outputTokens += u.outputTokens;
      graderCosts.push(u.costUsd);
    }
  }
  if (!found) return undefined;
  // The grader's own figure counts cached input exactly; recomputing from the totals is the fallback.
  const fromGrader = graderCosts.every((c) => c !== undefined) ? graderCosts.reduce((s: number, c) => s + c!, 0) : undefined;
  const costUsd = fromGrader ?? (price ? (callCost({ input: inputTokens, output: outputTokens }, price) ?? null) : null);
  return { ...(judgeModel ? { model: judgeModel } : {}), calls, inputTokens, outputTokens, costUsd: calls === 0 ? 0 : costUsd };
}

/** Mean of the known costs; null as soon as one is unpriced or none is known. */
function meanCost(costs: (number | null | undefined)[]): number | null {
  if (costs.some((c) => c === null)) return null;
  return mean(costs as (number | undefined)[]) ?? null;
}

function mean(xs: (number | undefined)[]): number | undefined {
  const known = xs.filter((x): x is number => x !== undefined);
  return known.length ? known.reduce((s, x) => s + x, 0) / known.length : undefined;
}

const per1k = (x: number | null) => (x === null ? null : x * 1000);

function savingsOf(cost: number | null, baseline: number | null): number | null {
  return cost === null || baseline === null || baseline <= 0 ? null : 1 - cost / baseline;
}

function tableInfo(price: Price | undefined): { table: string; asOf: string; tableAsOf: string } | undefined {
  // Table prices are plain objects with extra fields (config/prices.ts); gate may not import config.
  const p = price as (Price & { table?: unknown; asOf?: unknown; tableAsOf?: unknown }) | undefined;
  if (!p || typeof p.table !== 'string' || typeof p.asOf !== 'string') return undefined;
  return { table: p.table, asOf: p.asOf, tableAsOf: typeof p.tableAsOf === 'string' ? p.tableAsOf : p.asOf };
}

const formatCount = (x: number) => int(Math.round(x));
