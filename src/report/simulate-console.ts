/**
 * Console text for `simulate`, `gate` (its base-vs-head part) and `suggest`. The shapes below are the
 * parts of the api results these tables read, declared here so report/ depends on core only.
 */
import { routingVerdict } from './base-vs-head.js';
import { OUTCOME_MARK, tierHeadline, tierOutcome } from './verdict-text.js';
import type { Outcome, TierVerdict } from '../core/types.js';
import { int, pct, pts, table, usd } from './format.js';

export interface OverallView {
  cases: number;
  /** Pass rate when each case is answered by its tier's model. */
  passRate: number;
  /** Pass rate when every case is answered by the baseline. */
  baselinePassRate: number;
  delta: number;
  /** USD per 1,000 production requests (one call per request, to the routed model); null = unpriced. */
  costPer1k: number | null;
  baselineCostPer1k: number | null;
  /** 1 − costPer1k / baselineCostPer1k; null when either is unknown. */
  savings: number | null;
}

/** A routing's verdict cell, worded as in the PR comment and the HTML report (the console's INCOMPLETE has no sign). */
function routingVerdictText(r: Pick<RoutingView, 'status' | 'outcome' | 'pass'>): string {
  return r.status === 'incomplete' ? 'INCOMPLETE' : routingVerdict(r).text;
}

export interface RoutingView {
  routingFile: string;
  baseline: string;
  tiers: TierVerdict[];
  outcome?: Outcome;
  pass: boolean;
  status: 'complete' | 'incomplete';
  overall: OverallView;
  missing: { caseId: string; model: string; reason: 'no-response' | 'no-judge-grade' }[];
}

export interface MetricsView {
  apgr: number | null;
  cpt50: number | null;
  cpt80: number | null;
  aiq: number | null;
}

export interface CurveView {
  strong: string;
  weak: string;
  orderBy: string;
  orderNote: string;
  cases: number;
  strongQuality: number;
  weakQuality: number;
  router: { metrics: MetricsView };
  random: { metrics: MetricsView };
  oracle: { metrics: MetricsView };
}

export interface MovedView {
  cases: number;
  transitions: { from: string; to: string; fromModel: string; toModel: string; cases: number; examples: string[] }[];
  /** Moved cases that passed under base and fail under head. */
  regressed: { caseId: string; from: string; to: string; fromModel: string; toModel: string }[];
  basePassRate: number;
  headPassRate: number;
  delta: number;
  baseCostPer1k: number | null;
  headCostPer1k: number | null;
  savings: number | null;
  unscored: number;
}

export interface ClassView {
  name: string;
  cases: number;
  model: string;
  baselinePassRate: number;
  candidates: { model: string; costPer1k: number | null; passRate: number; delta: number; pass: boolean }[];
  note?: string;
}

const baseName = (file: string) => file.split(/[\\/]/).pop() ?? file;
const share = (x: number | null) => (x === null ? '—' : pct(x));
const num = (x: number | null) => (x === null ? '—' : x.toFixed(3));
const savingsText = (x: number | null) => (x === null ? 'unknown' : pct(x));

function tierCell(t: TierVerdict | undefined): string {
  if (!t) return '—';
  if (t.model === t.baselineModel) return `${t.model} · ${int(t.cases)} · baseline`;
  return `${t.model} · ${int(t.cases)} · ${pct(t.passRate)} · ${pts(t.delta)} ${OUTCOME_MARK[tierOutcome(t)]}`;
}

/** Several routing files side by side: one column per file. */
export function formatSimulation(routings: readonly RoutingView[], curve?: CurveView, fillCommand?: (routingFile: string) => string): string {
  const tierNames = [...new Set(routings.flatMap((r) => r.tiers.map((t) => t.tier)))];
  const rows: string[][] = [
    ['verdict', ...routings.map(routingVerdictText)],
    ...tierNames.map((name) => [`tier ${name}`, ...routings.map((r) => tierCell(r.tiers.find((t) => t.tier === name)))]),
    ['cases scored', ...routings.map((r) => int(r.overall.cases))],
    ['pass rate (routed)', ...routings.map((r) => pct(r.overall.passRate))],
    ['pass rate (all-baseline)', ...routings.map((r) => `${pct(r.overall.baselinePassRate)} (${r.baseline})`)],
    ['quality delta', ...routings.map((r) => pts(r.overall.delta))],
    ['cost / 1k requests', ...routings.map((r) => usd(r.overall.costPer1k))],
    ['all-baseline / 1k', ...routings.map((r) => usd(r.overall.baselineCostPer1k))],
    ['savings', ...routings.map((r) => savingsText(r.overall.savings))],
    ['missing pairs', ...routings.map((r) => int(r.missing.length))],
  ];
  const out = [table(['', ...routings.map((r) => baseName(r.routingFile))], rows)];
  for (const r of routings) {
    // Every tier that is not shown to hold, with the line its verdict rests on.
    for (const t of r.tiers.filter((x) => tierOutcome(x) !== 'pass')) out.push(`  ${OUTCOME_MARK[tierOutcome(t)]} ${baseName(r.routingFile)} · ${t.tier}: ${tierHeadline(t)}`);
    out.push(...missingLines(r, fillCommand?.(r.routingFile)));
  }
  if (curve) out.push('', formatCurve(curve));
  return out.join('\n');
}

/** What is missing, by why, and the command that fills it (the missing pairs are left out of every figure). */
function missingLines(r: RoutingView, fillCommand: string | undefined): string[] {
  const name = baseName(r.routingFile);
  const lines: string[] = [];
  const list = (pairs: RoutingView['missing']) => `${pairs.slice(0, 5).map((m) => `${m.caseId}@${m.model}`).join(', ')}${pairs.length > 5 ? ', …' : ''}`;
  const answers = r.missing.filter((m) => m.reason === 'no-response');
  const grades = r.missing.filter((m) => m.reason === 'no-judge-grade');
  if (answers.length) lines.push(`  ! ${name}: ${answers.length} (case, model) pairs have no stored answer and were left out (${list(answers)})`);
  if (grades.length) {
    lines.push(
      `  ! ${name}: ${grades.length} (case, model) pairs have no stored judge grade for the judge as configured now ` +
        `(never judged, or the judge model, rubric, template or golden changed since) and were left out (${list(grades)})`,
    );
  }
  if (lines.length) lines.push(`    → fill them (calls the models and the judge for these pairs only): ${fillCommand ?? 'rerun with --fill'}`);
  return lines;
}

export function formatCurve(c: CurveView): string {
  const row = (name: string, m: MetricsView) => [name, num(m.apgr), share(m.cpt50), share(m.cpt80), num(m.aiq)];
  return [
    `Routing curve ${c.strong} (strong) / ${c.weak} (weak) over ${int(c.cases)} cases: ${pct(c.strongQuality)} vs ${pct(c.weakQuality)}`,
    `Order: ${c.orderBy} — ${c.orderNote}.`,
    table(
      ['router', 'APGR', 'CPT(50%)', 'CPT(80%)', 'AIQ'],
      [row(`by ${c.orderBy}`, c.router.metrics), row('random', c.random.metrics), row('oracle', c.oracle.metrics)],
    ),
    'APGR: average share of the quality gap recovered over 0–100% strong calls (random = 0.5; the oracle can exceed 1).',
    'CPT(x): the least share of strong calls that recovers x of the gap. AIQ: mean quality under the cost/quality hull.',
  ].join('\n');
}

/** The base-vs-head part of `evalroute gate`, printed after the head's verdict table. */
export function formatBaseVsHead(base: RoutingView, head: OverallView, moved: MovedView): string {
  const out = [`Base ${baseName(base.routingFile)} (from stored results): ${routingVerdictText(base)}`];
  out.push(
    table(
      ['', 'base', 'head'],
      [
        ['pass rate (routed)', pct(base.overall.passRate), pct(head.passRate)],
        ['cost / 1k requests', usd(base.overall.costPer1k), usd(head.costPer1k)],
        ['savings vs all-baseline', savingsText(base.overall.savings), savingsText(head.savings)],
      ],
    ),
  );
  out.push('');
  if (moved.cases === 0) {
    out.push('No case changed tier.');
  } else {
    out.push(`${int(moved.cases)} cases moved tier:`);
    out.push(
      table(
        ['base tier → head tier', 'cases', 'examples'],
        moved.transitions.map((t) => [`${t.from} (${t.fromModel}) → ${t.to} (${t.toModel})`, int(t.cases), t.examples.join(', ')]),
      ),
    );
    out.push(
      `Moved cases: pass rate ${pct(moved.basePassRate)} under base → ${pct(moved.headPassRate)} under head (${pts(moved.delta)}); ` +
        `cost / 1k ${usd(moved.baseCostPer1k)} → ${usd(moved.headCostPer1k)}${moved.savings === null ? '' : ` (saves ${pct(moved.savings)})`}.`,
    );
  }
  if (moved.unscored) out.push(`  ! ${moved.unscored} moved cases have no stored base result and are not in these figures.`);
  if (base.missing.length) out.push(`  ! base: ${base.missing.length} (case, model) pairs are not in the store and were left out.`);
  return out.join('\n');
}

/** Per class: the candidates, cheapest first, and the choice. */
export function formatSuggestion(classes: readonly ClassView[], baseline: string): string {
  return table(
    ['class', 'cases', baseline, 'candidates (cheapest first: pass rate, delta)', 'choice'],
    classes.map((c) => [
      c.name,
      int(c.cases),
      pct(c.baselinePassRate),
      c.candidates.map((v) => `${v.model} ${pct(v.passRate)} ${pts(v.delta)}${v.pass ? ' ✔' : ''}`).join(' · ') || '—',
      c.note ? `${c.model} (${c.note})` : c.model,
    ]),
  );
}

export interface HoldoutView {
  chosenOn: { cases: number };
  projected: { overall: OverallView };
  holdout?: { fraction: number; seed: number; score: Pick<RoutingView, 'tiers' | 'outcome' | 'pass' | 'status' | 'overall'> };
}

/** suggest's in-sample figure next to its held-out gate: how much of the choice was luck. */
export function formatHoldout(r: HoldoutView): string {
  const h = r.holdout;
  if (!h) {
    return `Chosen and scored on the same ${int(r.chosenOn.cases)} cases: the delta above is optimistic (selection bias); --holdout 0.5 shows a fair estimate.`;
  }
  const inSample = r.projected.overall;
  const fair = h.score.overall;
  return [
    `Chosen on ${int(r.chosenOn.cases)} cases; gated on ${int(fair.cases)} held-out cases (--holdout ${h.fraction}, seed ${h.seed}):`,
    `  quality delta ${pts(inSample.delta)} on the cases it was chosen on, ${pts(fair.delta)} held out; savings ${savingsText(fair.savings)} held out`,
    ...h.score.tiers.filter((t) => t.model !== t.baselineModel).map((t) => `  ${t.tier}: ${tierHeadline(t)}`),
    `  held-out gate: ${routingVerdictText(h.score)}`,
  ].join('\n');
}
