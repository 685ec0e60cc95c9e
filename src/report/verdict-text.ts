/**
 * The words every report (console, Markdown, JUnit, HTML) uses for an outcome, so a reviewer reads the
 * same conclusion everywhere. A PASS is only called "shown to hold" when the rule that decided it
 * proves non-inferiority; screening rules say what they are.
 */
import { confidenceLevel, int, pts } from '../core/format.js';
import type { Outcome, RunSummary, TierVerdict } from '../core/types.js';

export type VerdictLabel = 'PASS' | 'FAIL' | 'INCONCLUSIVE' | 'NO CASES' | 'BASELINE' | 'NOT DECIDED';

/** The mark beside each label in text reports and the HTML cards (verdicts are read as text, not colour). */
export const VERDICT_MARK: Readonly<Record<VerdictLabel, string>> = { PASS: '✔', FAIL: '✘', INCONCLUSIVE: '?', 'NO CASES': '·', BASELINE: '·', 'NOT DECIDED': '…' };

/** The same marks by outcome, for views that have no baseline or empty tiers (simulate). */
export const OUTCOME_MARK: Readonly<Record<Outcome, string>> = { pass: VERDICT_MARK.PASS, fail: VERDICT_MARK.FAIL, inconclusive: VERDICT_MARK.INCONCLUSIVE };

/** Outcome of a tier, also for summaries stored before outcomes existed (they only had `pass`). */
export function tierOutcome(t: Pick<TierVerdict, 'pass'> & { outcome?: Outcome }): Outcome {
  return t.outcome ?? (t.pass ? 'pass' : 'fail');
}

/** Outcome of the gate, also for summaries stored before outcomes existed. */
export function summaryOutcome(s: Pick<RunSummary, 'pass' | 'outcome'>): Outcome {
  return s.outcome ?? (s.pass ? 'pass' : 'fail');
}

export function verdictLabel(t: TierVerdict): VerdictLabel {
  if (t.model === t.baselineModel) return 'BASELINE';
  if (t.cases === 0) return 'NO CASES';
  if (t.undecided) return 'NOT DECIDED';
  return ({ pass: 'PASS', fail: 'FAIL', inconclusive: 'INCONCLUSIVE' } as const)[tierOutcome(t)];
}

export const isBaselineTier = (t: Pick<TierVerdict, 'model' | 'baselineModel'>): boolean => t.model === t.baselineModel;

/** The paired delta, or "—" for the baseline's own tier (it is not compared with itself). */
export function deltaText(t: Pick<TierVerdict, 'model' | 'baselineModel' | 'delta'>): string {
  return isBaselineTier(t) ? '—' : pts(t.delta);
}

/** "−28.5 pts … −15.8 pts", or "—" when the tier has no interval (baseline tier, no cases). */
export function intervalText(t: Pick<TierVerdict, 'ci'>): string {
  return t.ci ? `${pts(t.ci[0])} … ${pts(t.ci[1])}` : '—';
}

/** The level of a tier's interval, e.g. "95%" (summaries stored before the level was kept used 95%). */
export function confidenceText(t: Pick<TierVerdict, 'confidence'>): string {
  return confidenceLevel(t.confidence ?? 0.95);
}

/**
 * The interval column of a tier table: the header names the confidence level when every interval shares
 * one (the usual case), otherwise each cell names its own — a tier gated at 90% is never labelled 95%.
 */
export function intervalColumn(tiers: readonly TierVerdict[]): { header: string; cell: (t: TierVerdict) => string } {
  const levels = new Set(tiers.filter((t) => t.ci).map(confidenceText));
  if (levels.size <= 1) return { header: `${[...levels][0] ?? confidenceText({})} CI`, cell: intervalText };
  return { header: 'CI', cell: (t) => (t.ci ? `${intervalText(t)} (${confidenceText(t)})` : intervalText(t)) };
}

/** McNemar's exact p: "<0.001", "0.042", or "—". */
export function pValueText(p: number | undefined): string {
  if (p === undefined) return '—';
  return p < 0.001 ? '<0.001' : p.toFixed(3);
}

/** Routed cases, and how many of them entered the comparison when errors left some out. */
export function casesText(t: Pick<TierVerdict, 'cases' | 'compared'>): string {
  return t.compared !== undefined && t.compared !== t.cases ? `${int(t.compared)} of ${int(t.cases)}` : int(t.cases);
}

/** The one line a tier's verdict rests on; older stored summaries fall back to their first reason. */
export function tierHeadline(t: TierVerdict): string {
  return t.headline || `${verdictLabel(t)} — ${t.reasons[0] ?? ''}`;
}

export type GateTone = 'pass' | 'fail' | 'inconclusive' | 'incomplete';

/**
 * The gate's closing line and its tone (for colour): what the exit code means, in words. `label` is the
 * verdict ("GATE FAILED"), `detail` the why; `text` is the two joined, the line the text reports print.
 */
export interface GateHeadline {
  tone: GateTone;
  label: string;
  detail: string;
  text: string;
}

export function gateHeadline(summary: RunSummary): GateHeadline {
  const line = (tone: GateTone, label: string, detail: string): GateHeadline => ({ tone, label, detail, text: `${label}: ${detail}` });
  if (summary.status !== 'complete') {
    return line('incomplete', `RUN ${summary.status.toUpperCase()}`, 'not enough data to gate on (exit 3); no tier is decided.');
  }
  const routed = summary.tiers.filter((t) => t.model !== t.baselineModel);
  const outcome = summaryOutcome(summary);
  if (outcome === 'fail') {
    const why: string[] = [];
    const failed = routed.filter((t) => tierOutcome(t) === 'fail');
    const regressed = failed.filter((t) => /regressed/.test(t.headline ?? '')).map((t) => t.tier);
    const other = failed.filter((t) => !regressed.includes(t.tier)).map((t) => t.tier);
    if (regressed.length) why.push(`${regressed.join(', ')} regressed`);
    if (other.length) why.push(`${other.join(', ')} failed ${other.length === 1 ? 'its' : 'their'} bar`);
    const over = (summary.budgets ?? []).filter((b) => b.status === 'fail').map((b) => b.useCase);
    if (over.length) why.push(`over budget: ${[...new Set(over)].join(', ')}`);
    return line('fail', 'GATE FAILED', `${why.join('; ') || 'see the reasons above'}.`);
  }
  const undecided = routed.filter((t) => tierOutcome(t) === 'inconclusive');
  if (outcome === 'inconclusive') {
    const blocking = undecided.filter((t) => t.onInconclusive !== 'warn').map((t) => t.tier);
    return line(
      'inconclusive',
      'GATE INCONCLUSIVE (exit 4)',
      `no tier failed, but ${blocking.join(', ')} ${blocking.length === 1 ? 'is' : 'are'} not decided — see the cases needed above.`,
    );
  }
  const screening = routed.filter((t) => tierOutcome(t) === 'pass' && t.rule && t.rule !== 'noninferiority');
  const warned = undecided.length ? `; not decided (onInconclusive: warn): ${undecided.map((t) => t.tier).join(', ')}` : '';
  if (screening.length) {
    return line(
      'pass',
      `GATE PASSED on screening rules (${[...new Set(screening.map((t) => t.rule))].join(', ')}: ${screening.map((t) => t.tier).join(', ')})`,
      `no tier is beyond its margin, which is not the same as shown to hold${warned}.`,
    );
  }
  const held = routed.filter((t) => tierOutcome(t) === 'pass').map((t) => t.tier);
  if (!held.length) return line('pass', 'GATE PASSED', `no routed tier to decide${warned}.`);
  if (warned) return line('pass', 'GATE PASSED with warnings', `${held.join(', ')} shown to hold its margin${warned}.`);
  const levels = [...new Set(routed.filter((t) => tierOutcome(t) === 'pass').map(confidenceText))];
  const at = levels.length === 1 ? `${levels[0]} confidence` : 'each at its own confidence level';
  return line('pass', 'GATE PASSED', `every routed tier is shown to hold its margin against the baseline (${at}).`);
}

/** `gate` when the head run has no verdict (every call, or every baseline call, failed): figures on errors compare nothing. */
export const BASE_VS_HEAD_NOT_COMPARED = 'Base routing vs this change: not compared — the head run has no verdict (see the cause above).';
