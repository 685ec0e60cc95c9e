/**
 * What a routing PR changed, for the reports that reviewers read (PR comment, step summary, HTML): the
 * base routing's figures next to the head's, the cases that moved tier, and the cases that regressed,
 * each linkable into the HTML report by a stable anchor. Pure; the shapes are the parts of the gate's
 * result these reports read.
 */
import { passed } from '../core/calls.js';
import type { CaseResult, Outcome, TierVerdict } from '../core/types.js';
import type { MovedView, OverallView, RoutingView } from './simulate-console.js';
import { OUTCOME_MARK, summaryOutcome } from './verdict-text.js';

/** `evalroute gate`'s comparison: base scored from the store, the head's overall figures, the moved cases. */
export interface GateComparison {
  base: RoutingView;
  head: OverallView;
  moved: MovedView;
}

/** One routing's gate in the base-vs-head table: "✔ PASS", "✘ FAIL", "? INCONCLUSIVE" or "⚠ INCOMPLETE". */
export function routingVerdict(r: { status: string; pass: boolean; outcome?: Outcome }): { tone: 'pass' | 'fail' | 'warn'; text: string } {
  if (r.status !== 'complete') return { tone: 'warn', text: '⚠ INCOMPLETE' };
  const outcome = summaryOutcome(r);
  return { tone: outcome === 'inconclusive' ? 'warn' : outcome, text: `${OUTCOME_MARK[outcome]} ${outcome.toUpperCase()}` };
}

/** A case a reviewer should open: it fails where it used to pass (under the baseline or the base routing). */
export interface RegressedCase {
  id: string;
  tier: string;
  model: string;
  baselineModel: string;
  /** Set when the routing change moved it here and it passed where base routed it. */
  movedFrom?: { tier: string; model: string };
  /** The baseline model passes it (a regression against the frontier). */
  baselinePasses: boolean;
}

/** The HTML element id of a case's row: `case-` + the URI-encoded id, so any id makes a valid fragment. */
export function caseAnchor(id: string): string {
  return `case-${encodeURIComponent(id)}`;
}

/** Link to a case in the HTML report at `reportUrl` (its fragment is replaced). */
export function caseHref(reportUrl: string, id: string): string {
  return `${reportUrl.replace(/#.*$/, '')}#${caseAnchor(id)}`;
}

/**
 * The cases to look at first (failed, not errored): those the routing change broke (moved, passed under base, fail now), then
 * the head's regressions against the baseline in failing tiers, then in passing tiers; suite order within
 * each. A case appears once.
 */
export function topRegressed(results: readonly CaseResult[], tiers: readonly TierVerdict[], moved?: Pick<MovedView, 'regressed'>): RegressedCase[] {
  const failing = new Set(tiers.filter((t) => !t.pass).map((t) => t.tier));
  const movedFrom = new Map((moved?.regressed ?? []).map((m) => [m.caseId, { tier: m.from, model: m.fromModel }]));
  const out: { c: RegressedCase; rank: number; order: number }[] = [];
  results.forEach((r, order) => {
    const from = movedFrom.get(r.caseId);
    const baselinePasses = passed(r.baseline);
    // An errored call is no evidence either way: it is left out of the comparison, so not listed here.
    const vsBaseline = r.candidate.modelKey !== r.baseline.modelKey && baselinePasses && !r.candidate.error && !r.candidate.pass;
    if (!from && !vsBaseline) return;
    const c: RegressedCase = { id: r.caseId, tier: r.tier, model: r.candidate.modelKey, baselineModel: r.baseline.modelKey, baselinePasses };
    if (from) c.movedFrom = from;
    out.push({ c, rank: from ? 0 : failing.has(r.tier) ? 1 : 2, order });
  });
  return out.sort((a, b) => a.rank - b.rank || a.order - b.order).map((x) => x.c);
}
