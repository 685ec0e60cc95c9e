import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/core/errors.js';
import type { Budget, CallOutcome, Case, CaseResult, CostProjection, Grade, ModelConfig, Price, RunSummary, TierConfig, TokenUsage } from '../src/core/types.js';
import { applyCostReport, budgetsFailGate, costReport, evaluateBudgets, useCaseOf } from '../src/gate/cost.js';
import { concludeSummary } from '../src/gate/outcome.js';
import type { CostReportInput } from '../src/gate/cost.js';
import { formatRunSummary } from '../src/report/console.js';

const PRICES: Record<string, Price | undefined> = {
  big: { input: 10, output: 30 },
  small: { input: 1, output: 2, cachedInput: 0.5 },
  mystery: undefined,
  judge: { input: 5, output: 15 },
};
const models = new Map<string, Pick<ModelConfig, 'price'>>(
  Object.entries(PRICES).map(([k, price]) => [k, price ? { price } : {}]),
);

function call(caseId: string, modelKey: string, usage: TokenUsage | 'error', grades: Grade[] = []): CallOutcome {
  const base = { caseId, modelKey, repeat: 0, requestHash: `${caseId}/${modelKey}`, grades, score: 0, pass: false };
  if (usage === 'error') return { ...base, error: { kind: 'server', message: 'boom' } };
  // The stored cost is deliberately wrong: costs must come from the configured price, not the cache.
  return { ...base, completion: { text: 'x', usage, latencyMs: 1, costUsd: 99 } };
}

function result(caseId: string, tier: string, baseline: CallOutcome, candidate?: CallOutcome): CaseResult {
  return { caseId, tier, baseline, candidate: candidate ?? baseline };
}

const tiers = (t: Record<string, string>) => new Map<string, TierConfig>(Object.entries(t).map(([name, model]) => [name, { name, model, gate: {} }]));

/**
 * Hand-computed (USD per 1M tokens; big 10/30, small 1/2 with cached input 0.5):
 *   c1 cheap:    small 1000 in (400 cached) + 500 out = (600·1 + 400·0.5 + 500·2)/1e6 = 0.0018; big 1000/500 = 0.025
 *   c2 cheap:    small 2000 in + 100 out (estimated)   = (2000 + 200)/1e6            = 0.0022; big 2000/100 = 0.023
 *   c3 frontier: big 500 in + 1000 out                 = (5000 + 30000)/1e6          = 0.035
 */
function scenario(extra: Partial<CostReportInput> = {}, budgets: Budget[] = []): CostReportInput {
  const c1b = call('c1', 'big', { input: 1000, output: 500 });
  const c2b = call('c2', 'big', { input: 2000, output: 100 });
  const c3b = call('c3', 'big', { input: 500, output: 1000 });
  const c1s = call('c1', 'small', { input: 1000, output: 500, cachedInput: 400 });
  const c2s = call('c2', 'small', { input: 2000, output: 100, estimated: true });
  const results = [result('c1', 'cheap', c1b, c1s), result('c2', 'cheap', c2b, c2s), result('c3', 'frontier', c3b)];
  const cases: Pick<Case, 'id' | 'task' | 'metadata'>[] = [
    { id: 'c1', task: 'ignored', metadata: { useCase: 'support' } },
    { id: 'c2', task: 'billing' },
    { id: 'c3', metadata: { useCase: 'support' } },
  ];
  return {
    results,
    outcomes: [c1b, c2b, c3b, c1s, c2s],
    routing: { baseline: 'big', tiers: tiers({ cheap: 'small', frontier: 'big' }), budgets },
    models,
    cases,
    ...extra,
  };
}

function summaryFor(report: ReturnType<typeof costReport>, pass = true): RunSummary {
  const verdict = (tier: string, model: string, cases: number) => ({
    tier, model, baselineModel: 'big', cases, passRate: 1, baselinePassRate: 1, delta: 0, errors: 0,
    outcome: (pass ? 'pass' : 'fail') as 'pass' | 'fail', pass, headline: pass ? 'PASS' : 'FAIL', reasons: [],
  });
  return concludeSummary(applyCostReport(
    {
      runId: 'r1',
      suite: 's',
      status: 'complete',
      pass,
      tiers: [...report.tiers.values()].map((t) => verdict(t.tier, t.model, t.cases)),
      models: [
        { model: 'big', calls: 3, errors: 0, inputTokens: 3500, outputTokens: 1600, costUsd: 297 },
        { model: report.tiers.get('cheap')!.model, calls: 2, errors: 0, inputTokens: 3000, outputTokens: 600, costUsd: 198 },
      ],
    },
    report,
  ));
}

describe('cost per tier and routed vs all-frontier', () => {
  const report = costReport(scenario());

  it('prices each tier per 1k requests against the baseline on the same cases, cached input included', () => {
    const cheap = report.tiers.get('cheap')!;
    expect(cheap.costPer1k).toBeCloseTo(1000 * ((0.0018 + 0.0022) / 2), 12);
    expect(cheap.baselineCostPer1k).toBeCloseTo(1000 * ((0.025 + 0.023) / 2), 12);
    expect(cheap.savings).toBeCloseTo(1 - 2 / 24, 12);
    expect(cheap.estimatedTokens).toBe(true);
    const frontier = report.tiers.get('frontier')!;
    expect(frontier.costPer1k).toBeCloseTo(35, 12);
    expect(frontier.baselineCostPer1k).toBeCloseTo(35, 12);
    expect(frontier.savings).toBeCloseTo(0, 12);
    expect(frontier.estimatedTokens).toBe(false);
  });

  it('sums the routed and the all-frontier configuration over the suite', () => {
    const o = report.overall;
    expect(o.cases).toBe(3);
    expect(o.routedUsd).toBeCloseTo(0.0018 + 0.0022 + 0.035, 12);
    expect(o.allFrontierUsd).toBeCloseTo(0.025 + 0.023 + 0.035, 12);
    expect(o.savedUsd).toBeCloseTo(0.044, 12);
    expect(o.savings).toBeCloseTo(0.044 / 0.083, 12);
    expect(o.routedPer1k).toBeCloseTo((0.039 / 3) * 1000, 12);
    expect(o.unpricedModels).toEqual([]);
    expect(o.estimatedTokens).toBe(true);
    expect(o.projection).toBeUndefined();
  });

  it('recomputes per-model cost at the configured price and flags estimated tokens', () => {
    expect(report.models.get('big')!.costUsd).toBeCloseTo(0.083, 12);
    expect(report.models.get('small')).toEqual({ costUsd: expect.closeTo(0.004, 12), estimatedTokens: true });
    const s = summaryFor(report);
    expect(s.models[0]).toMatchObject({ model: 'big', costUsd: expect.closeTo(0.083, 12) });
    expect(s.models[0]!.estimatedTokens).toBeUndefined();
    expect(s.models[1]!.estimatedTokens).toBe(true);
    expect(s.tiers[0]).toMatchObject({ tier: 'cheap', costPer1k: expect.closeTo(2, 12), baselineCostPer1k: expect.closeTo(24, 12) });
    expect(s.cost).toBe(report.overall);
    expect(s.pass).toBe(true);
  });

  it('counts an errored call at the mean of the same model on the tier, not as free', () => {
    const input = scenario();
    const c4b = call('c4', 'big', { input: 1000, output: 0 }); // 0.01
    const c4s = call('c4', 'small', 'error');
    input.results.push(result('c4', 'cheap', c4b, c4s));
    input.outcomes.push(c4b, c4s);
    const r = costReport(input);
    expect(r.tiers.get('cheap')!.costPer1k).toBeCloseTo(2, 12);
    expect(r.tiers.get('cheap')!.baselineCostPer1k).toBeCloseTo(1000 * (0.058 / 3), 12);
    expect(r.overall.routedUsd).toBeCloseTo(0.039 + 0.002, 12);
    expect(r.overall.allFrontierUsd).toBeCloseTo(0.093, 12);
  });

  it('never counts an unpriced model as free', () => {
    const input = scenario();
    input.routing = { ...input.routing, tiers: tiers({ cheap: 'mystery', frontier: 'big' }) };
    input.results = input.results.map((r) => (r.tier === 'cheap' ? { ...r, candidate: { ...r.candidate, modelKey: 'mystery' } } : r));
    input.outcomes = input.outcomes.map((o) => (o.modelKey === 'small' ? { ...o, modelKey: 'mystery' } : o));
    const r = costReport({ ...input, monthlyRequests: 3000 });
    const cheap = r.tiers.get('cheap')!;
    expect(cheap.costPer1k).toBeNull();
    expect(cheap.baselineCostPer1k).toBeCloseTo(24, 12);
    expect(cheap.savings).toBeNull();
    expect(r.overall.routedUsd).toBeNull();
    expect(r.overall.savings).toBeNull();
    expect(r.overall.allFrontierUsd).toBeCloseTo(0.083, 12);
    expect(r.overall.unpricedModels).toEqual(['mystery']);
    expect(r.models.get('mystery')!.costUsd).toBeNull();
    expect(r.overall.projection!.routedUsdPerMonth).toBeNull();

    const text = formatRunSummary(summaryFor(r), { color: false });
    const cheapRow = text.split('\n').find((l) => l.startsWith('cheap') && l.includes('unpriced'))!;
    expect(cheapRow).toMatch(/mystery\s+2\s+unpriced\s+~\$24\.00\s+unpriced/);
    expect(text).toMatch(/unpriced: mystery/);
    expect(text).not.toMatch(/mystery.*\$0\b/);
  });

  it('rejects a non-positive request volume', () => {
    expect(() => costReport(scenario({ monthlyRequests: 0 }))).toThrow(UsageError);
    expect(() => costReport(scenario({ monthlyRequests: Number.NaN }))).toThrow(/--monthly-requests/);
  });
});

describe('judge cost', () => {
  const judged = (usage: Grade['judgeUsage']): Grade => ({ grader: 'judge', score: 1, pass: true, ...(usage ? { judgeUsage: usage } : {}) });

  it('is reported apart from the routed cost, using the grader figures when all are present', () => {
    const input = scenario({ judgeModel: 'judge' });
    input.outcomes[3] = { ...input.outcomes[3]!, grades: [judged({ calls: 2, inputTokens: 1000, outputTokens: 200, costUsd: 0.01 })] };
    input.outcomes[4] = { ...input.outcomes[4]!, grades: [judged({ calls: 1, inputTokens: 500, outputTokens: 100, costUsd: 0.005 })] };
    const r = costReport(input);
    expect(r.overall.judge).toEqual({ model: 'judge', calls: 3, inputTokens: 1500, outputTokens: 300, costUsd: expect.closeTo(0.015, 12) });
    expect(r.overall.routedUsd).toBeCloseTo(0.039, 12);
  });

  it('falls back to the judge price over the token totals, and to null without one', () => {
    const input = scenario({ judgeModel: 'judge' });
    input.outcomes[3] = { ...input.outcomes[3]!, grades: [judged({ calls: 2, inputTokens: 1000, outputTokens: 200 })] };
    expect(costReport(input).overall.judge!.costUsd).toBeCloseTo((1000 * 5 + 200 * 15) / 1e6, 12);
    expect(costReport({ ...input, judgeModel: 'mystery' }).overall.judge!.costUsd).toBeNull();
    expect(costReport(scenario()).overall.judge).toBeUndefined();
  });
});

describe('monthly projection', () => {
  it('scales the suite to the monthly volume and splits frontier tokens by use case', () => {
    const p = costReport(scenario({ monthlyRequests: 300_000 })).overall.projection!;
    // 3 cases → each stands for 100,000 requests.
    expect(p.routedUsdPerMonth).toBeCloseTo(3900, 8);
    expect(p.allFrontierUsdPerMonth).toBeCloseTo(8300, 8);
    expect(p.savedUsdPerMonth).toBeCloseTo(4400, 8);
    expect(p.useCases).toEqual([
      // c1 goes to the cheap tier, so only c3's 1,500 tokens stay on the frontier.
      { useCase: 'support', cases: 2, requestsPerMonth: 200_000, frontierTokensPerMonth: 150_000_000, usdPerMonth: expect.closeTo(3680, 8) },
      { useCase: 'billing', cases: 1, requestsPerMonth: 100_000, frontierTokensPerMonth: 0, usdPerMonth: expect.closeTo(220, 8) },
    ]);
  });

  it('takes the use case from metadata.useCase, else the task, else default', () => {
    expect(useCaseOf({ task: 't', metadata: { useCase: 'u' } })).toBe('u');
    expect(useCaseOf({ task: 't', metadata: { useCase: 3 } })).toBe('t');
    expect(useCaseOf({})).toBe('default');
  });
});

describe('budgets', () => {
  const projection = (frontierTokensPerMonth: number, usdPerMonth: number | null = 100): CostProjection => ({
    monthlyRequests: 1000,
    routedUsdPerMonth: usdPerMonth,
    allFrontierUsdPerMonth: 1000,
    savedUsdPerMonth: null,
    useCases: [{ useCase: 'support', cases: 10, requestsPerMonth: 1000, frontierTokensPerMonth, usdPerMonth }],
  });
  const tokens = (alertAt = 0.7): Budget[] => [{ useCase: 'support', frontierTokensPerMonth: 1_000_000, alertAt }];

  it('warns at 71% of a budget with a 70% alert and fails at 101%', () => {
    const [ok] = evaluateBudgets(tokens(), projection(500_000));
    expect(ok).toMatchObject({ status: 'ok', used: 0.5 });
    const [warn] = evaluateBudgets(tokens(), projection(710_000));
    expect(warn).toMatchObject({ status: 'warn', used: 0.71, projected: 710_000, limit: 1_000_000 });
    expect(warn!.message).toMatch(/71\.0% of the 1,000,000 frontier tokens\/month budget: at or above the 70\.0% alert level/);
    const [fail] = evaluateBudgets(tokens(), projection(1_010_000));
    expect(fail).toMatchObject({ status: 'fail', used: expect.closeTo(1.01, 12) });
    expect(fail!.message).toMatch(/over budget/);
    expect(budgetsFailGate({ budgets: [warn!] })).toBe(false);
    expect(budgetsFailGate({ budgets: [warn!, fail!] })).toBe(true);
  });

  it('treats exactly 100% as a warning and exactly the alert level as a warning', () => {
    expect(evaluateBudgets(tokens(), projection(1_000_000))[0]!.status).toBe('warn');
    expect(evaluateBudgets(tokens(0.5), projection(500_000))[0]!.status).toBe('warn');
  });

  it('checks a USD budget against the use case\'s routed cost, and both limits when both are given', () => {
    const both: Budget[] = [{ useCase: 'support', frontierTokensPerMonth: 1_000_000, usdPerMonth: 80, alertAt: 0.9 }];
    const [t, u] = evaluateBudgets(both, projection(100_000, 100));
    expect(t).toMatchObject({ metric: 'frontierTokensPerMonth', status: 'ok' });
    expect(u).toMatchObject({ metric: 'usdPerMonth', status: 'fail', used: 1.25 });
  });

  it('is not evaluated, and never fails the gate, without traffic, an unknown use case or an unpriced model', () => {
    const [none] = evaluateBudgets(tokens(), undefined);
    expect(none).toMatchObject({ status: 'not-evaluated', used: null });
    expect(none!.message).toMatch(/--monthly-requests/);
    const [unknown] = evaluateBudgets([{ useCase: 'sales', frontierTokensPerMonth: 1, alertAt: 0.7 }], projection(5));
    expect(unknown!.message).toMatch(/no case of the suite has this use case/);
    const [unpriced] = evaluateBudgets([{ useCase: 'support', usdPerMonth: 1, alertAt: 0.7 }], projection(5, null), ['mystery']);
    expect(unpriced).toMatchObject({ status: 'not-evaluated' });
    expect(unpriced!.message).toMatch(/unpriced model: mystery/);
    expect(budgetsFailGate({ budgets: [none!, unknown!, unpriced!] })).toBe(false);
  });

  it('fails the run summary with its own reason when a projected budget is over 100%', () => {
    const budgets: Budget[] = [
      { useCase: 'support', frontierTokensPerMonth: 200_000_000, alertAt: 0.7 }, // 150M → 75%: warn
      { useCase: 'billing', usdPerMonth: 200, alertAt: 0.7 }, // $220 → 110%: fail
    ];
    const report = costReport(scenario({ monthlyRequests: 300_000 }, budgets));
    expect(report.budgets.map((b) => [b.useCase, b.status])).toEqual([['support', 'warn'], ['billing', 'fail']]);
    const s = summaryFor(report);
    expect(s.pass).toBe(false);
    expect(s.budgets).toHaveLength(2);
    const text = formatRunSummary(s, { color: false });
    expect(text).toMatch(/support\s+200,000,000 tok\s+~150,000,000 tok\s+75\.0%\s+WARN/);
    expect(text).toMatch(/billing\s+\$200\s+~\$220\s+110\.0%\s+FAIL/);
    expect(text).toMatch(/GATE FAILED: over budget: billing\./);

    const unprojected = summaryFor(costReport(scenario({}, budgets)));
    expect(unprojected.pass).toBe(true);
    expect(unprojected.budgets!.every((b) => b.status === 'not-evaluated')).toBe(true);
  });
});

describe('console cost section', () => {
  it('shows cost per 1k requests vs baseline, savings and routed vs all-frontier, with ~ for estimates', () => {
    const text = formatRunSummary(summaryFor(costReport(scenario({ monthlyRequests: 300_000 }))), { color: false });
    expect(text).toMatch(/cheap\s+small\s+2\s+~\$2\.00\s+~\$24\.00\s+91\.7%/);
    expect(text).toMatch(/frontier\s+big\s+1\s+\$35\.00\s+\$35\.00\s+—/);
    expect(text).toMatch(/Routed vs all-frontier \(big\) on 3 cases: ~\$0\.04 vs ~\$0\.08, saves ~\$0\.04 \(53\.0%\)/);
    expect(text).toMatch(/Projection at 300,000 requests\/month: routed ~\$3,900\/month vs all-frontier ~\$8,300\/month, saves ~\$4,400\/month/);
    expect(text).toMatch(/small\s+2\s+0\s+~3,000\s+~600\s+~\$0\.0040/);
    expect(text).not.toMatch(/price table/);
  });

  it('names the price table date when a model is priced from it', () => {
    const table = { input: 10, output: 30, table: 'gpt-4-turbo', asOf: '2025-11-30', tableAsOf: '2025-11-30', source: 'https://x' };
    const input = scenario();
    input.models = new Map([...models, ['big', { price: table }]]);
    const report = costReport(input);
    expect(report.priceTableDate).toBe('2025-11-30');
    expect(report.overall.tablePrices).toEqual([{ model: 'big', table: 'gpt-4-turbo', asOf: '2025-11-30' }]);
    const s = summaryFor(report);
    expect(s.priceTableDate).toBe('2025-11-30');
    expect(formatRunSummary(s, { color: false })).toMatch(/list prices from the price table of 2025-11-30 for big/);
  });
});
