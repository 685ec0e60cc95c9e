import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type HandlebarsNs from 'handlebars';
import { caseAnchor, routingVerdict, type GateComparison } from './base-vs-head.js';
import type { Outcome, ReportCase, ReportData, ReportMessage, ReportSide, ReportTier } from './report-data.js';
import { OUTCOME_LABELS } from './report-data.js';
import { int, pct, pts, usd } from './format.js';
import { paretoChart, passRateChart } from './svg-charts.js';
import { casesText, confidenceText, deltaText, intervalText, pValueText, tierHeadline, VERDICT_MARK, verdictLabel, type GateTone, type VerdictLabel } from './verdict-text.js';
import { handlebars } from '../core/handlebars.js';
import { readTemplate } from './page.js';

const PARTIALS = ['summary', 'tier-cards', 'charts', 'cases', 'run-vs-run', 'base-vs-head', 'failure', 'warnings', 'styles', 'script'] as const;
const PARTIAL_FILES: Record<(typeof PARTIALS)[number], string> = {
  summary: 'summary.hbs',
  'tier-cards': 'tier-cards.hbs',
  charts: 'charts.hbs',
  cases: 'cases.hbs',
  'run-vs-run': 'run-vs-run.hbs',
  'base-vs-head': 'base-vs-head.hbs',
  failure: 'failure.hbs',
  warnings: 'warnings.hbs',
  styles: 'styles.css',
  script: 'script.js.hbs',
};

interface Compiled {
  layout: HandlebarsNs.TemplateDelegate;
  /** CSP hash of the inline script, so the page runs our script and nothing injected. */
  scriptHash: string;
}
let compiled: Compiled | undefined;

/** Handlebars is only needed when a report is written, so it is loaded then (synchronously: see core/handlebars). */
function templates(): Compiled {
  if (compiled) return compiled;
  const hbs = handlebars().create();
  const text = Object.fromEntries(PARTIALS.map((name) => [name, readTemplate(PARTIAL_FILES[name])])) as Record<(typeof PARTIALS)[number], string>;
  for (const name of PARTIALS) hbs.registerPartial(name, text[name]);
  hbs.registerHelper('jsonData', (value: unknown) => new hbs.SafeString(scriptSafeJson(value)));
  hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  const script = hbs.compile(text.script, { strict: true })({});
  compiled = {
    layout: hbs.compile(readTemplate('report.hbs'), { strict: false }),
    scriptHash: `sha256-${createHash('sha256').update(script, 'utf8').digest('base64')}`,
  };
  return compiled;
}

/**
 * JSON that is safe inside `<script type="application/json">`: `<` (so `</script>` and `<!--` cannot
 * end or alter the element), `>` and `&` are escaped, and U+2028/2029 (so the text stays valid JS too).
 */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function renderHtmlReport(data: ReportData): string {
  const t = templates();
  return t.layout({ ...viewModel(data), scriptHash: t.scriptHash });
}

export function writeHtmlReport(file: string, data: ReportData): void {
  const html = renderHtmlReport(data);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, html, 'utf8');
}

const short = (s: string | undefined, n: number) => (s === undefined ? undefined : s.slice(0, n));
const fmtDate = (iso: string | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC') : undefined);
const RVR_LIST_MAX = 300;
const PLURAL: Record<Outcome, string> = {
  regression: 'Regressions',
  improvement: 'Improvements',
  'both-fail': 'Both fail',
  missing: 'No result',
  'both-pass': 'Both pass',
  baseline: 'Baseline tier',
};
function duration(start: string, end: string | undefined): string | undefined {
  const ms = end ? Date.parse(end) - Date.parse(start) : NaN;
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}
const sign = (x: number | null) => (x === null ? '' : x > 0 ? 'good' : x < 0 ? 'bad' : '');

function viewModel(data: ReportData) {
  const { meta, cost } = data;
  // The exit code is for CI logs; the page says the outcome.
  const gate = { ...GATE_TONE[meta.gate.tone], label: meta.gate.label.replace(/ \(exit \d\)$/, ''), detail: meta.gate.detail };
  return {
    meta: {
      ...meta,
      routingHashShort: short(meta.routingHash, 12),
      gitCommitShort: short(meta.gitCommit, 10),
      started: fmtDate(meta.startedAt),
      duration: duration(meta.startedAt, meta.finishedAt),
      models: meta.models.map((m) => ({
        ...m,
        isBaseline: m.model === meta.baseline,
        callsText: int(m.calls),
        tokensText: `${int(m.inputTokens)} in · ${int(m.outputTokens)} out`,
        costText: usd(m.costUsd),
      })),
    },
    gate,
    tiers: data.tiers.map(tierView),
    cost: {
      ...cost,
      routedText: usd(cost.routedUsd),
      frontierText: usd(cost.allFrontierUsd),
      routedPer1kText: usd(cost.routedPer1k),
      frontierPer1kText: usd(cost.allFrontierPer1k),
      savedText: cost.savedUsd === null ? 'unpriced' : usd(cost.savedUsd),
      savedAbsText: cost.savedUsd === null ? 'unpriced' : usd(Math.abs(cost.savedUsd)),
      savedPctText: cost.savedFraction === null ? '—' : pct(Math.abs(cost.savedFraction)),
      savedCls: sign(cost.savedUsd),
      unpricedText: cost.unpricedModels.join(', '),
    },
    // Empty groups are noise, but "0 regressions" is the news a reviewer hopes for.
    groups: data.groups.filter((g) => g.count > 0 || g.outcome === 'regression').map((g) => ({ ...g, plural: PLURAL[g.outcome], countText: int(g.count) })),
    totalCases: int(data.cases.length),
    charts: { passRate: passRateChart(data.tiers), pareto: paretoChart(data.models) },
    filters: data.filters,
    outcomeOptions: data.groups.filter((g) => g.count > 0 || g.outcome === 'regression').map((g) => ({ value: g.outcome, label: g.label })),
    runVsRun: data.runVsRun && {
      ...data.runVsRun,
      // Past a few hundred rows a list stops being reviewable; the case table has them all.
      newlyFailingShown: data.runVsRun.newlyFailing.slice(0, RVR_LIST_MAX),
      newlyPassingShown: data.runVsRun.newlyPassing.slice(0, RVR_LIST_MAX),
      newlyFailingMore: Math.max(0, data.runVsRun.newlyFailing.length - RVR_LIST_MAX),
      newlyPassingMore: Math.max(0, data.runVsRun.newlyPassing.length - RVR_LIST_MAX),
      baseStarted: fmtDate(data.runVsRun.baseStartedAt),
      baseRoutingHashShort: short(data.runVsRun.baseRoutingHash, 12),
      baseGitCommitShort: short(data.runVsRun.baseGitCommit, 10),
      sameRouting: data.runVsRun.baseRoutingHash === meta.routingHash,
    },
    baseVsHead: data.baseVsHead && baseVsHeadView(data.baseVsHead, data.meta),
    failure: data.failure && { ...data.failure, causes: data.failure.causes.map((c) => ({ ...c, callsText: int(c.calls) })) },
    warnings: data.warnings,
    payload: clientPayload(data),
  };
}

const GATE_TONE: Record<GateTone, { cls: string; icon: string }> = {
  pass: { cls: 'pass', icon: '✔' },
  fail: { cls: 'fail', icon: '✘' },
  inconclusive: { cls: 'warn', icon: '?' },
  incomplete: { cls: 'warn', icon: '⚠' },
};
const LABEL_CLASS: Record<VerdictLabel, string> = { PASS: 'pass', FAIL: 'fail', INCONCLUSIVE: 'warn', 'NO CASES': 'warn', BASELINE: 'pass', 'NOT DECIDED': 'warn' };

/** The gate's base-routing-vs-head section: figures side by side, transitions, and the cases the change broke. */
function baseVsHeadView(c: GateComparison, meta: ReportData['meta']) {
  const link = (id: string) => ({ id, anchor: caseAnchor(id) });
  const savings = (x: number | null) => (x === null ? 'unknown' : pct(x));
  const { moved } = c;
  const head = routingVerdict({ status: meta.status, pass: meta.pass, ...(meta.gate.tone !== 'incomplete' ? { outcome: meta.gate.tone } : {}) });
  const base = routingVerdict(c.base);
  return {
    baseFile: c.base.routingFile.split(/[\\/]/).pop() ?? c.base.routingFile,
    headFile: meta.routingFile.split(/[\\/]/).pop() ?? meta.routingFile,
    rows: [
      { label: 'Verdict', base: base.text, head: head.text, baseCls: base.tone, headCls: head.tone },
      { label: 'Pass rate (routed)', base: pct(c.base.overall.passRate), head: pct(c.head.passRate) },
      { label: 'Cost / 1k requests', base: usd(c.base.overall.costPer1k), head: usd(c.head.costPer1k) },
      { label: 'Savings vs all-baseline', base: savings(c.base.overall.savings), head: savings(c.head.savings) },
    ],
    moved: {
      cases: moved.cases,
      casesText: int(moved.cases),
      basePassRateText: pct(moved.basePassRate),
      headPassRateText: pct(moved.headPassRate),
      deltaText: pts(moved.delta),
      deltaCls: sign(moved.delta),
      baseCostText: usd(moved.baseCostPer1k),
      headCostText: usd(moved.headCostPer1k),
      savingsText: moved.savings === null ? undefined : pct(moved.savings),
      transitions: moved.transitions.map((t) => ({ ...t, casesText: int(t.cases), examples: t.examples.map(link) })),
      regressed: moved.regressed.slice(0, RVR_LIST_MAX).map((m) => ({ ...m, ...link(m.caseId) })),
      regressedCount: moved.regressed.length,
      regressedMore: Math.max(0, moved.regressed.length - RVR_LIST_MAX),
      unscored: moved.unscored,
    },
    baseMissing: c.base.missing.length,
  };
}

function tierView(t: ReportTier) {
  const label = verdictLabel(t);
  return {
    ...t,
    verdictCls: LABEL_CLASS[label],
    verdictIcon: VERDICT_MARK[label],
    verdictText: label,
    headlineText: tierHeadline(t),
    casesText: casesText(t),
    passRateText: pct(t.passRate),
    baselinePassRateText: pct(t.baselinePassRate),
    deltaText: deltaText(t),
    deltaCls: t.isBaselineTier ? '' : sign(t.delta),
    ciText: t.ci ? intervalText(t) : undefined,
    confidenceText: confidenceText(t),
    pText: t.pValue === undefined ? undefined : pValueText(t.pValue),
    costText: t.costPer1k === null || t.costPer1k === undefined ? 'unpriced' : usd(t.costPer1k),
    baselineCostText: t.baselineCostPer1k === null || t.baselineCostPer1k === undefined ? 'unpriced' : usd(t.baselineCostPer1k),
    savedText: t.savedPer1k === null ? '—' : `${usd(t.savedPer1k)} per 1k`,
    savedPctText: t.savedFraction === null ? undefined : pct(t.savedFraction),
    savedCls: sign(t.savedPer1k),
    errorsText: int(t.errors),
  };
}

/**
 * What the page's script needs, in short keys: 5,000 cases must stay a few MB. Output texts are left out
 * whenever the word diff rebuilds them exactly.
 */
function clientPayload(data: ReportData) {
  return {
    labels: OUTCOME_LABELS,
    plurals: PLURAL,
    baseline: data.meta.baseline,
    cases: data.cases.map((c: ReportCase) => {
      const row: Record<string, unknown> = { id: c.id, t: c.tier, o: c.outcome, g: c.tags };
      if (c.task !== undefined) row.k = c.task;
      if (c.input) row.in = c.input.map((m) => (m.attachments?.length ? [m.role, m.content, m.attachments.map(attachment)] : [m.role, m.content]));
      else if (c.vars !== undefined) row.v = c.vars;
      if (c.golden) row.gd = c.golden;
      if (c.diff) row.d = c.diff;
      if (c.baseline) row.b = side(c.baseline, c.diff !== null);
      if (c.candidate && !c.sameModel) row.c = side(c.candidate, c.diff !== null);
      if (c.sameModel) row.s = 1;
      return row;
    }),
  };
}

/**
 * Only small images carry their bytes (as a data URL, see THUMBNAIL_MAX_BYTES); PDFs and large images go by
 * name, type and size, so a receipt never bloats the report.
 */
function attachment(a: NonNullable<ReportMessage['attachments']>[number]) {
  const out: Record<string, unknown> = { n: a.name, k: a.kind, mt: a.mediaType, by: a.bytes };
  if (a.width !== undefined) out.w = a.width;
  if (a.height !== undefined) out.h = a.height;
  if (a.dataUrl !== undefined) out.u = a.dataUrl;
  return out;
}

function side(s: ReportSide, textInDiff: boolean) {
  const out: Record<string, unknown> = {
    m: s.model,
    p: s.pass ? 1 : 0,
    sc: Math.round(s.score * 1000) / 1000,
    gr: s.grades.map((g) => [g.grader, g.pass ? 1 : 0, Math.round(g.score * 1000) / 1000, g.explanation ?? '', g.error ?? '']),
  };
  if (!textInDiff && s.text !== null) out.x = s.text;
  if (s.error) out.e = s.error;
  if (s.inputTokens !== null) out.ti = s.inputTokens;
  if (s.outputTokens !== null) out.to = s.outputTokens;
  if (s.latencyMs !== null) out.l = Math.round(s.latencyMs);
  if (s.costUsd !== null) out.$ = s.costUsd;
  if (s.cached) out.ca = 1;
  if (s.requestId !== undefined) out.r = s.requestId;
  return out;
}
