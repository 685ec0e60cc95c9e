import type { BudgetStatus, RunSummary } from '../core/types.js';
import { failureCause, formatFailureCause } from './failure-cause.js';
import { approx, int, modelUsageRows, pct, table, usd, usdLarge } from './format.js';
import { casesText, deltaText, gateHeadline, intervalColumn, pValueText, tierHeadline, VERDICT_MARK, verdictLabel, type GateTone, type VerdictLabel } from './verdict-text.js';

export interface ConsoleStyle {
  color: boolean;
}

const paint = (on: boolean, code: number, s: string) => (on ? `\u001b[${code}m${s}\u001b[0m` : s);

/** The per-tier verdict table and per-model usage printed at the end of `evalroute run` / `show`. */
export function formatRunSummary(summary: RunSummary, style: ConsoleStyle): string {
  const out: string[] = [];
  out.push(`Run ${summary.runId} · suite ${summary.suite} · ${summary.status}`);
  out.push('');
  // When most calls failed the cause comes first; when nothing can be compared, a verdict table would only mislead.
  const failure = failureCause(summary);
  if (failure) out.push(paint(style.color, 31, formatFailureCause(failure)), '');
  if (failure?.noVerdict) return [...out, table(['model', 'calls', 'errors', 'input tok', 'output tok', 'cost'], modelUsageRows(summary.models)), '', gateVerdict(summary, style)].join('\n');
  const interval = intervalColumn(summary.tiers);
  out.push(
    table(
      ['tier', 'model', 'cases', 'pass rate', 'baseline', 'delta', interval.header, 'p', 'errors', 'verdict'],
      summary.tiers.map((t) => [
        t.tier,
        t.model,
        casesText(t),
        pct(t.passRate),
        pct(t.baselinePassRate),
        deltaText(t),
        interval.cell(t),
        pValueText(t.pValue),
        int(t.errors),
        labelCell(verdictLabel(t), style),
      ]),
    ),
  );
  // Each tier: its headline (the outcome and what it rests on), then the figures and warnings behind it.
  const reasons = summary.tiers.flatMap((t) => [`  ${VERDICT_MARK[verdictLabel(t)]} ${t.tier}: ${tierHeadline(t)}`, ...t.reasons.map((r) => `      ${r}`)]);
  if (reasons.length) out.push('', ...reasons);
  out.push('');
  out.push(
    table(
      ['model', 'calls', 'errors', 'input tok', 'output tok', 'cost'],
      modelUsageRows(summary.models),
    ),
  );
  const cost = formatCostSection(summary, style);
  if (cost) out.push('', cost);
  const reliability = formatReliabilitySection(summary, style);
  if (reliability) out.push('', reliability);
  if (summary.warnings?.length) out.push('', ...summary.warnings.map((w) => `  ⚠ ${w}`));
  out.push('');
  out.push(gateVerdict(summary, style));
  return out.join('\n');
}

/** Errors by kind and model, and the --max-cost outcome: what made a run incomplete, at a glance. */
export function formatReliabilitySection(summary: RunSummary, style: ConsoleStyle): string {
  const out: string[] = [];
  const errors = summary.errors ?? [];
  if (errors.length) {
    out.push(paint(style.color, 33, `Errors (${int(errors.reduce((n, e) => n + e.count, 0))} calls; their cases are left out of the comparison, never counted as pass or fail)`));
    out.push(table(['kind', 'model', 'calls', 'example'], errors.map((e) => [e.kind, e.model, int(e.count), oneLine(e.example ?? '')])));
  }
  const cap = summary.costCap;
  if (cap) {
    if (out.length) out.push('');
    const left = cap.notAttempted > 0 ? `; ${int(cap.notAttempted)} calls not attempted (resume with a higher --max-cost)` : '';
    out.push(`Cost cap: spent ${usd(cap.spentUsd)} of ${usd(cap.capUsd)}${left}`);
  }
  return out.join('\n');
}

function oneLine(text: string, max = 100): string {
  const first = text.split('\n')[0] ?? '';
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}

const LABEL_COLOR: Record<VerdictLabel, number> = { PASS: 32, FAIL: 31, INCONCLUSIVE: 33, 'NO CASES': 33, BASELINE: 2, 'NOT DECIDED': 33 };
const TONE_COLOR: Record<GateTone, number> = { pass: 32, fail: 31, inconclusive: 33, incomplete: 33 };

function labelCell(label: VerdictLabel, style: ConsoleStyle): string {
  return paint(style.color, LABEL_COLOR[label], `${VERDICT_MARK[label]} ${label}`);
}

function gateVerdict(summary: RunSummary, style: ConsoleStyle): string {
  const { tone, text } = gateHeadline(summary);
  return paint(style.color, TONE_COLOR[tone], text);
}

/**
 * Cost per 1k requests of each tier vs the baseline on the same cases, routed vs all-frontier, the judge,
 * the monthly projection and budgets. Empty when the summary carries no cost (older stored runs).
 */
export function formatCostSection(summary: RunSummary, style: ConsoleStyle): string {
  const cost = summary.cost;
  if (!cost) return '';
  const out: string[] = [];
  const estimated = new Set(summary.models.filter((m) => m.estimatedTokens).map((m) => m.model));
  const notes = [cost.estimatedTokens ? '~ = from estimated token counts' : ''];
  if (cost.tablePrices?.length) {
    const date = summary.priceTableDate ?? cost.tablePrices[0]!.asOf;
    const older = cost.tablePrices.filter((p) => p.asOf !== date).map((p) => `${p.model} as of ${p.asOf}`);
    notes.push(`list prices from the price table of ${date} for ${cost.tablePrices.map((p) => p.model).join(', ')}${older.length ? ` (${older.join(', ')})` : ''}`);
  }
  const head = notes.filter(Boolean);
  out.push(`Cost at configured prices${head.length ? ` (${head.join('; ')})` : ''}`);

  const baseline = summary.tiers[0]?.baselineModel;
  out.push(
    table(
      ['tier', 'model', 'cases', 'cost / 1k req', 'baseline / 1k', 'savings'],
      summary.tiers.map((t) => {
        const est = estimated.has(t.model) || estimated.has(t.baselineModel);
        const money = (x: number | null | undefined) => (t.cases === 0 ? '—' : approx(est, usd(x)));
        const savings =
          t.cases === 0 || t.model === t.baselineModel ? '—' : t.savings === null || t.savings === undefined ? (t.costPer1k === null || t.baselineCostPer1k === null ? 'unpriced' : '—') : pct(t.savings);
        return [t.tier, t.model, int(t.cases), money(t.costPer1k), money(t.baselineCostPer1k), savings];
      }),
    ),
  );

  const est = cost.estimatedTokens;
  const saved =
    cost.savings === null || cost.savedUsd === null ? (cost.unpricedModels.length ? 'savings unknown' : 'no savings figure') : `saves ${approx(est, usd(cost.savedUsd))} (${pct(cost.savings)})`;
  out.push('');
  out.push(
    `Routed vs all-frontier${baseline ? ` (${baseline})` : ''} on ${int(cost.cases)} cases: ${approx(est, usd(cost.routedUsd))} vs ${approx(est, usd(cost.allFrontierUsd))}, ${saved}`,
  );
  if (cost.unpricedModels.length) {
    out.push(paint(style.color, 33, `  unpriced: ${cost.unpricedModels.join(', ')} (add price: to the model in the config; unpriced never counts as free)`));
  }
  if (cost.judge) {
    const j = cost.judge;
    out.push(
      `Judge${j.model ? ` (${j.model})` : ''}: ${int(j.calls)} calls, ${int(j.inputTokens)} in / ${int(j.outputTokens)} out tokens, ${usd(j.costUsd)} (evaluation cost, not in the routed figures)`,
    );
  }

  const p = cost.projection;
  if (p) {
    const savedMonth = p.savedUsdPerMonth === null ? 'savings unknown' : `saves ${approx(est, usdLarge(p.savedUsdPerMonth))}/month`;
    out.push('');
    out.push(
      `Projection at ${int(p.monthlyRequests)} requests/month: routed ${approx(est, usdLarge(p.routedUsdPerMonth))}/month vs all-frontier ${approx(est, usdLarge(p.allFrontierUsdPerMonth))}/month, ${savedMonth}`,
    );
    out.push(
      table(
        ['use case', 'cases', 'requests/month', 'frontier tok/month', 'routed cost/month'],
        p.useCases.map((u) => [u.useCase, int(u.cases), int(Math.round(u.requestsPerMonth)), approx(est, int(Math.round(u.frontierTokensPerMonth))), approx(est, usdLarge(u.usdPerMonth))]),
      ),
    );
  }

  const budgets = summary.budgets ?? [];
  if (budgets.length) {
    out.push('');
    out.push('Budgets');
    out.push(
      table(
        ['use case', 'limit / month', 'projected', 'used', 'status'],
        budgets.map((b) => [
          b.useCase,
          b.metric === 'usdPerMonth' ? usdLarge(b.limit) : `${int(b.limit)} tok`,
          b.projected === null ? '—' : b.metric === 'usdPerMonth' ? approx(est, usdLarge(b.projected)) : `${approx(est, int(Math.round(b.projected)))} tok`,
          b.used === null ? '—' : pct(b.used),
          budgetLabel(b, style),
        ]),
      ),
    );
    const lines = budgets.filter((b) => b.status !== 'ok').map((b) => `  ${b.status === 'fail' ? '✘' : '·'} ${b.useCase}: ${b.message}`);
    if (lines.length) out.push(...lines);
  }
  return out.join('\n');
}

function budgetLabel(b: BudgetStatus, style: ConsoleStyle): string {
  if (b.status === 'fail') return paint(style.color, 31, 'FAIL');
  if (b.status === 'warn') return paint(style.color, 33, 'WARN');
  if (b.status === 'ok') return paint(style.color, 32, 'ok');
  return paint(style.color, 2, 'not evaluated');
}
