/**
 * The gate result as GitHub-flavoured Markdown: the PR comment and the job's step summary. Pure: the CLI
 * decides where it goes. The figures are rendered with the same helpers as the console and JUnit
 * outputs, so a reviewer sees the same interval and p-value everywhere.
 */
import type { BudgetStatus, RunSummary, TierVerdict } from '../core/types.js';
import { escapeMarkdown } from './escape.js';
import { caseHref, routingVerdict, type GateComparison, type RegressedCase } from './base-vs-head.js';
import { failureCause, type FailureCause } from './failure-cause.js';
import { approx, int, modelUsageRows, pct, pts, usd } from './format.js';
import {
  BASE_VS_HEAD_NOT_COMPARED,
  casesText,
  deltaText,
  gateHeadline,
  intervalColumn,
  isBaselineTier,
  pValueText,
  tierHeadline,
  VERDICT_MARK,
  verdictLabel,
  type GateTone,
  type VerdictLabel,
} from './verdict-text.js';

/** First line of the comment; workflows find (and update) their earlier comment by it. */
export const MARKDOWN_MARKER = '<!-- evalroute-gate -->';

export interface MarkdownOptions {
  /** Link to the full HTML report (e.g. the workflow run's artifact page). */
  reportUrl?: string;
  /** The run of the base routing (target branch), for a base → head comparison. */
  baseSummary?: RunSummary;
  /** `evalroute gate`: the base routing scored from the store, and the cases that moved tier. */
  gate?: GateComparison;
  /** Cases to open first (see topRegressed), linked into the report when `reportUrl` is set. */
  regressed?: readonly RegressedCase[];
}

// GitHub renders the emoji question mark; a bare "?" reads like a typo in a PR comment.
const MARK: Record<VerdictLabel, string> = { ...VERDICT_MARK, INCONCLUSIVE: '❔' };

/** "✔ PASS", "✘ FAIL", "❔ INCONCLUSIVE", "· NO CASES", "· BASELINE", "… NOT DECIDED". */
export function verdictText(t: TierVerdict): string {
  const label = verdictLabel(t);
  return `${MARK[label]} ${label}`;
}

const TONE_ICON: Record<GateTone, string> = { pass: '✅', fail: '❌', inconclusive: '❔', incomplete: '⚠️' };

// ───────────────────────────── Markdown ─────────────────────────────

export { escapeMarkdown };

/** Parentheses and spaces would end a Markdown link target early. */
function linkTarget(url: string): string {
  return url.replace(/[()\s]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** Cells are escaped unless `escaped` says they already are (cells holding links). */
function mdTable(header: string[], align: ('l' | 'r')[], rows: string[][], escaped = false): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(align.map((a) => (a === 'r' ? '--:' : ':--'))), ...rows.map((r) => line(escaped ? r : r.map(escapeMarkdown)))].join('\n');
}

export function formatMarkdown(summary: RunSummary, opts: MarkdownOptions = {}): string {
  const out: string[] = [MARKDOWN_MARKER];
  const gate = gateHeadline(summary);
  out.push(`## ${TONE_ICON[gate.tone]} evalroute: ${escapeMarkdown(gate.text)}`);
  out.push('');
  const cause = failureCause(summary);
  if (cause) out.push(...failureLines(cause), '');
  const cases = summary.tiers.reduce((n, t) => n + t.cases, 0);
  const baseline = summary.tiers[0]?.baselineModel;
  const meta = [
    `Suite **${escapeMarkdown(summary.suite)}**`,
    `run \`${summary.runId.replace(/`/g, '')}\``,
    `${int(cases)} cases`,
    ...(baseline ? [`baseline \`${baseline.replace(/`/g, '')}\``] : []),
  ];
  if (opts.reportUrl) meta.push(`[full report](${linkTarget(opts.reportUrl)})`);
  out.push(meta.join(' · '));
  if (cause?.noVerdict) {
    // As on the console: with nothing to compare, a verdict table on errors would only mislead.
    if (summary.warnings?.length) out.push('', ...warningLines(summary.warnings));
    if (opts.gate || opts.baseSummary) out.push('', escapeMarkdown(BASE_VS_HEAD_NOT_COMPARED));
  } else {
    out.push('', tierTable(summary));
    // Each tier: its headline in the list, the figures behind it nested below.
    const reasons = summary.tiers.flatMap((t) => [
      `- ${MARK[verdictLabel(t)]} **${escapeMarkdown(t.tier)}**: ${escapeMarkdown(tierHeadline(t))}`,
      ...t.reasons.map((r) => `  - ${escapeMarkdown(r)}`),
    ]);
    if (reasons.length) out.push('', ...reasons);
    if (summary.warnings?.length) out.push('', ...warningLines(summary.warnings));

    const cost = costLine(summary);
    if (cost) out.push('', cost);
    const budgets = budgetLines(summary.budgets ?? []);
    if (budgets.length) out.push('', '**Budgets**', '', ...budgets);
    if (opts.baseSummary) out.push('', baseComparison(opts.baseSummary, summary));
    if (opts.gate) out.push('', gateComparisonMarkdown(opts.gate, summary, opts.reportUrl));
    if (opts.regressed?.length) out.push('', regressedMarkdown(opts.regressed, opts.reportUrl));
  }

  out.push('', '<details><summary>Model usage</summary>', '');
  out.push(
    mdTable(
      ['model', 'calls', 'errors', 'input tokens', 'output tokens', 'cost'],
      ['l', 'r', 'r', 'r', 'r', 'r'],
      modelUsageRows(summary.models),
    ),
  );
  out.push('', '</details>', '');
  return out.join('\n');
}

const warningLines = (warnings: readonly string[]) => warnings.map((w) => `> ⚠️ ${escapeMarkdown(w)}`);

/** When most calls failed, the cause, the URL tried and the likely fix come before any table. */
function failureLines(cause: FailureCause): string[] {
  return [
    `> [!CAUTION]`,
    `> ${escapeMarkdown(cause.headline)}`,
    ...cause.causes.flatMap((c) => [
      `>`,
      `> **${escapeMarkdown(c.model)}** (${int(c.calls)} calls): ${escapeMarkdown(c.what)}`,
      ...(c.url ? [`> URL tried: \`${c.url.replace(/`/g, '')}\``] : []),
      `> Likely fix: ${escapeMarkdown(c.fix)}`,
    ]),
  ];
}

function tierTable(summary: RunSummary): string {
  const estimated = new Set(summary.models.filter((m) => m.estimatedTokens).map((m) => m.model));
  const interval = intervalColumn(summary.tiers);
  return mdTable(
    ['tier', 'model', 'cases', 'pass rate', 'baseline', 'delta', interval.header, 'p', 'rule', 'verdict', 'cost / 1k', 'baseline / 1k', 'savings'],
    ['l', 'l', 'r', 'r', 'r', 'r', 'l', 'r', 'l', 'l', 'r', 'r', 'r'],
    summary.tiers.map((t) => {
      const est = estimated.has(t.model) || estimated.has(t.baselineModel);
      return [
        t.tier,
        t.model,
        casesText(t),
        pct(t.passRate),
        pct(t.baselinePassRate),
        deltaText(t),
        interval.cell(t),
        pValueText(t.pValue),
        t.rule ?? '—',
        verdictText(t),
        money(t, t.costPer1k, est),
        money(t, t.baselineCostPer1k, est),
        savingsText(t),
      ];
    }),
  );
}

/** null = a model without a price ("unpriced", never free); absent = not computed for this run. */
function money(t: TierVerdict, x: number | null | undefined, estimated: boolean): string {
  if (t.cases === 0 || x === undefined) return '—';
  return approx(estimated, usd(x));
}

function savingsText(t: TierVerdict): string {
  if (t.cases === 0 || isBaselineTier(t)) return '—';
  if (t.savings !== null && t.savings !== undefined) return pct(t.savings);
  return t.costPer1k === null || t.baselineCostPer1k === null ? 'unpriced' : '—';
}

function costLine(summary: RunSummary): string {
  const cost = summary.cost;
  if (!cost) return '';
  const est = cost.estimatedTokens;
  const saved =
    cost.savings === null || cost.savedUsd === null
      ? cost.unpricedModels.length
        ? `savings unknown (unpriced: ${cost.unpricedModels.map(escapeMarkdown).join(', ')})`
        : 'no savings figure'
      : `saves **${approx(est, usd(cost.savedUsd))} (${pct(cost.savings)})**`;
  const per1k = cost.routedPer1k !== null && cost.allFrontierPer1k !== null ? ` · per 1k requests ${approx(est, usd(cost.routedPer1k))} vs ${approx(est, usd(cost.allFrontierPer1k))}` : '';
  return escapeMarkdown(`Routed vs all-frontier on ${int(cost.cases)} cases: ${approx(est, usd(cost.routedUsd))} vs ${approx(est, usd(cost.allFrontierUsd))}, `) + saved + escapeMarkdown(per1k);
}

function budgetLines(budgets: BudgetStatus[]): string[] {
  return budgets.map((b) => {
    const mark = b.status === 'fail' ? '✘' : b.status === 'warn' ? '⚠' : b.status === 'ok' ? '✔' : '·';
    return `- ${mark} **${escapeMarkdown(b.useCase)}** (${b.status}): ${escapeMarkdown(b.message)}`;
  });
}

/** Base routing → head routing, tier by tier (matched by tier name). */
function baseComparison(base: RunSummary, head: RunSummary): string {
  const names = [...new Set([...base.tiers.map((t) => t.tier), ...head.tiers.map((t) => t.tier)])];
  const arrow = (a: string, b: string) => (a === b ? a : `${a} → ${b}`);
  const rows = names.map((name) => {
    const b = base.tiers.find((t) => t.tier === name);
    const h = head.tiers.find((t) => t.tier === name);
    return [
      name,
      arrow(b ? int(b.cases) : '—', h ? int(h.cases) : '—'),
      arrow(b ? pct(b.passRate) : '—', h ? pct(h.passRate) : '—'),
      arrow(b ? deltaText(b) : '—', h ? deltaText(h) : '—'),
      arrow(b ? verdictText(b) : '—', h ? verdictText(h) : '—'),
    ];
  });
  const out = ['**Base routing → this change**', '', mdTable(['tier', 'cases', 'pass rate', 'delta', 'verdict'], ['l', 'r', 'r', 'r', 'l'], rows)];
  if (base.cost && head.cost) {
    const b = base.cost.routedPer1k;
    const h = head.cost.routedPer1k;
    const change = b !== null && h !== null && b > 0 ? ` (${h <= b ? '−' : '+'}${pct(Math.abs(h - b) / b)})` : '';
    out.push('', escapeMarkdown(`Routed cost per 1k requests: ${usd(b)} → ${usd(h)}${change}`));
  }
  return out.join('\n');
}

// ───────────────────── base routing vs head, moved and regressed cases ─────────────────────

/** Cases listed in the comment; the HTML report has them all. */
export const MARKDOWN_CASES_SHOWN = 10;

/** A case id as Markdown: a link to its row in the HTML report when there is one, else code. */
function caseRef(id: string, reportUrl: string | undefined): string {
  if (!reportUrl) return `\`${id.replace(/`/g, "'")}\``;
  return `[${escapeMarkdown(id).replace(/[[\]]/g, '\\$&')}](${linkTarget(caseHref(reportUrl, id))})`;
}

const savingsOf = (x: number | null) => (x === null ? 'unknown' : pct(x));

/** `evalroute gate`: base vs head side by side, then which cases moved tier and what that did. */
export function gateComparisonMarkdown(gate: GateComparison, head: RunSummary, reportUrl?: string): string {
  const { base, moved } = gate;
  const baseFile = base.routingFile.split(/[\\/]/).pop() ?? base.routingFile;
  const out = [
    `**Base routing → this change** (base \`${baseFile.replace(/`/g, '')}\` scored from stored results)`,
    '',
    mdTable(
      ['', 'base', 'head'],
      ['l', 'r', 'r'],
      [
        ['verdict', routingVerdict(base).text, routingVerdict(head).text],
        ['pass rate (routed)', pct(base.overall.passRate), pct(gate.head.passRate)],
        ['cost / 1k requests', usd(base.overall.costPer1k), usd(gate.head.costPer1k)],
        ['savings vs all-baseline', savingsOf(base.overall.savings), savingsOf(gate.head.savings)],
      ],
    ),
    '',
  ];
  if (moved.cases === 0) {
    out.push('No case changed tier.');
  } else {
    const saves = moved.savings === null ? '' : ` (saves ${pct(moved.savings)})`;
    out.push(
      escapeMarkdown(`${int(moved.cases)} cases moved tier: pass rate ${pct(moved.basePassRate)} under base → ${pct(moved.headPassRate)} under head (${pts(moved.delta)}); `) +
        escapeMarkdown(`cost / 1k ${usd(moved.baseCostPer1k)} → ${usd(moved.headCostPer1k)}${saves}; ${int(moved.regressed.length)} of them passed before and fail now.`),
      '',
      mdTable(
        ['base tier → head tier', 'cases', 'examples'],
        ['l', 'r', 'l'],
        moved.transitions.map((t) => [
          escapeMarkdown(`${t.from} (${t.fromModel}) → ${t.to} (${t.toModel})`),
          int(t.cases),
          t.examples.map((id) => caseRef(id, reportUrl)).join(', '),
        ]),
        true,
      ),
    );
  }
  const notes: string[] = [];
  if (moved.unscored) notes.push(`${int(moved.unscored)} moved cases have no stored base result and are not in these figures.`);
  if (base.missing.length) notes.push(`base: ${int(base.missing.length)} (case, model) pairs are not in the store and were left out.`);
  if (notes.length) out.push('', ...notes.map((n) => `- ⚠ ${escapeMarkdown(n)}`));
  return out.join('\n');
}

/** The cases to open first, linked into the HTML report. */
export function regressedMarkdown(cases: readonly RegressedCase[], reportUrl?: string): string {
  const shown = cases.slice(0, MARKDOWN_CASES_SHOWN);
  const where = reportUrl ? `; all in the [HTML report](${linkTarget(reportUrl)})` : '';
  const title = `**Top regressed cases** (${shown.length < cases.length ? `${shown.length} of ${int(cases.length)}` : int(cases.length)}${where})`;
  const why = (c: RegressedCase) =>
    c.movedFrom
      ? `moved from ${c.movedFrom.tier} (${c.movedFrom.model}), where it passed${c.baselinePasses ? '' : '; the baseline fails it too'}`
      : `baseline ${c.baselineModel} passes, ${c.model} fails`;
  return [
    title,
    '',
    mdTable(['case', 'tier', 'model', 'why'], ['l', 'l', 'l', 'l'], shown.map((c) => [caseRef(c.id, reportUrl), escapeMarkdown(c.tier), escapeMarkdown(c.model), escapeMarkdown(why(c))]), true),
  ].join('\n');
}
