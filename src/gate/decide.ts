/**
 * The per-tier verdict: pure, seeded, and the same for the same stored results.
 *
 * Default rule — `noninferiority`, margin 5 pts, 95% intervals (copy for the README):
 *
 * A routed tier is compared with the frontier baseline on the cases the rules send to it, case by
 * case. The verdict has three outcomes and says only what the data support:
 *   PASS          the whole 95% interval of the paired delta lies above −margin: the tier is shown to
 *                 lose at most `maxRegression` (and its pass rate clears `minPassRate`);
 *   FAIL          the whole interval lies below −margin (shown to regress), or the pass rate misses
 *                 `minPassRate`;
 *   INCONCLUSIVE  the interval straddles −margin: the cases cannot tell; the verdict says how many
 *                 cases would decide it. By default an inconclusive tier blocks the gate (exit 4);
 *                 `onInconclusive: warn` lets it through with a warning.
 * At exactly −margin the rule passes at most 2.5% of the time (one-sided α of a 95% interval); the
 * operating characteristics at the tier sizes teams have are in docs/statistics.md.
 *
 * `point` (pass when the point estimate is within the margin) and `significant` (fail only when the
 * interval is wholly below the margin) remain selectable as labelled screening rules: they always
 * decide, so their PASS never claims the tier is shown to hold.
 *
 * When a tier's gate configures nothing, it is still compared with the baseline with a 5-pt margin: a
 * routed tier with no quality bar at all is the mistake this tool exists to catch. Set
 * `maxRegression: 1` to opt a tier out of the comparison.
 *
 * Errors are neither passes nor failures: a case whose baseline or tier call errored, or whose output a
 * grader (the judge) could not grade, is left out of the paired table and counted in the error figures
 * (and the run's error budget).
 *
 * Intervals: pass/fail outcomes per case form a paired 2×2 table, for which Newcombe's hybrid score
 * interval (method 10) is the decision interval `ci`: it keeps its coverage at small n and stays honest
 * when no case disagrees. With repeated samples (`--repeat N`) and the default `per-call` policy every
 * sample pair enters the table, and the counts are divided by the design effect — the variance of the
 * case-clustered delta over the variance as if all pairs were independent, between 1 and the samples per
 * case (Rao–Scott) — so repeats of one case never pass for independent evidence. A seeded percentile
 * bootstrap over cases is reported as `bootstrapCi`, the cross-check; with no or few discordant cases it
 * is too narrow, which is why it does not decide.
 */
import { ConfigError } from '../core/errors.js';
import type { CaseResult, GateRule, InconclusivePolicy, Outcome, RepeatPolicy, Routing, TierConfig, TierVerdict } from '../core/types.js';
import { compareCase, flakyCases, type Exclusion } from './repeats.js';
import { pairedBootstrap } from '../stats/bootstrap.js';
import { mcnemarExact } from '../stats/mcnemar.js';
import { newcombeBounds, pairedCounts, type PairedCounts } from '../stats/newcombe.js';
import { bestCaseLowerBound, pairedCasesToDecide, pairedNonInferiorityCases } from '../stats/sample-size.js';
import { confidenceLevel, int, pct, plainPts, pts } from '../core/format.js';
import { byCodeUnits } from '../core/compare.js';

export { bestCaseLowerBound } from '../stats/sample-size.js';

export const DEFAULT_RULE: GateRule = 'noninferiority';
export const DEFAULT_MAX_REGRESSION = 0.05;
export const DEFAULT_CONFIDENCE = 0.95;
export const DEFAULT_ON_INCONCLUSIVE: InconclusivePolicy = 'fail';
export const DEFAULT_REPEAT_POLICY: RepeatPolicy = 'per-call';
/** Power the cases-needed figures plan for. */
export const PLANNED_POWER = 0.8;
/** Seed of the bootstrap stream. Fixed so that re-deciding stored results reproduces the verdict. */
export const DEFAULT_SEED = 0x5eed;
export const DEFAULT_RESAMPLES = 10_000;

/** Comparisons at a threshold tolerate float noise: delta == −margin and rate == minimum pass. */
const EPS = 1e-12;

/** A TierVerdict with the figures the report and JSON consumers need to explain it. */
export interface GateVerdict extends TierVerdict {
  /**
   * Paired table: a both pass, b regressions (baseline pass, candidate fail), c improvements, d both
   * fail. Per sample pair under `per-call` repeats (then divide by `designEffect` for the evidence).
   */
  counts: PairedCounts;
  /** The margin m the rule used (maxRegression or the default). */
  margin: number;
  confidence: number;
  /** Seeded paired percentile bootstrap of delta over cases: a cross-check of `ci`, not the decision interval. */
  bootstrapCi?: [number, number];
  /** Calls of the baseline model on these cases that errored (their cases are left out). */
  baselineErrors: number;
  /** With repeats under `per-call`: how much less the sample pairs say than as many independent cases (≥ 1). */
  designEffect?: number;
}

export interface DecideOptions {
  /** How repeated samples enter the comparison (runs with `--repeat N`); default per-call. */
  repeatPolicy?: RepeatPolicy;
  /** Bootstrap seed; default DEFAULT_SEED. */
  seed?: number;
  /** Bootstrap resamples; default DEFAULT_RESAMPLES. */
  resamples?: number;
  /** Routing file, so threshold errors can name it. */
  routingFile?: string;
}

export interface DecideTierInput extends DecideOptions {
  tier: TierConfig;
  baselineModel: string;
  /** Cases routed to this tier. */
  results: CaseResult[];
  /**
   * Compute the bootstrap cross-check (`bootstrapCi`); default true. It never changes the outcome, so a
   * sequential replay skips it at the looks it only tries and computes it for the verdict it reports.
   */
  crossCheck?: boolean;
}

export function decideTier(input: DecideTierInput): GateVerdict {
  const { tier, baselineModel } = input;
  const gate = resolveGate(tier, input.routingFile);
  // Sorting makes the bootstrap independent of the order the engine finished the calls in.
  const results = [...input.results].sort((x, y) => byCodeUnits(x.caseId, y.caseId));
  const policy = input.repeatPolicy ?? DEFAULT_REPEAT_POLICY;
  const candidateCalls = results.flatMap((r) => r.repeats?.candidate ?? [r.candidate]);
  const baselineCalls = results.flatMap((r) => r.repeats?.baseline ?? [r.baseline]);
  const isBaseline = tier.model === baselineModel;
  const errors = candidateCalls.filter((o) => o.error).length;
  const baselineErrors = isBaseline ? errors : baselineCalls.filter((o) => o.error).length;

  const compared = results.map((r) => compareCase(r, policy));
  const excluded = new Map<Exclusion, number>();
  const cases: Array<Array<{ baseline: boolean; candidate: boolean }>> = [];
  for (const c of compared) {
    if ('excluded' in c) excluded.set(c.excluded, (excluded.get(c.excluded) ?? 0) + 1);
    else cases.push(c.pairs);
  }
  const gradeErrors = excluded.get('grade-error') ?? 0;
  const counts = pairedCounts(cases.flat());
  const pairsTotal = counts.a + counts.b + counts.c + counts.d;
  const n = cases.length;
  const passRate = pairsTotal ? (counts.a + counts.c) / pairsTotal : 0;
  const baselinePassRate = pairsTotal ? (counts.a + counts.b) / pairsTotal : 0;
  const delta = pairsTotal ? (counts.c - counts.b) / pairsTotal : 0;

  const verdict: GateVerdict = {
    tier: tier.name,
    model: tier.model,
    baselineModel,
    cases: results.length,
    compared: n,
    passRate,
    baselinePassRate,
    delta,
    errors,
    outcome: 'pass',
    pass: true,
    headline: '',
    reasons: [],
    counts,
    margin: gate.margin,
    confidence: gate.confidence,
    baselineErrors,
    onInconclusive: gate.onInconclusive,
    ...(gradeErrors ? { gradeErrors } : {}),
  };
  const errorNote = exclusionReason(excluded, results.length, baselineModel);

  if (isBaseline) {
    verdict.headline = results.length ? 'baseline — the model every tier is compared with' : 'baseline — no cases routed to this tier';
    verdict.reasons.push(n || !results.length ? 'is the baseline' : 'is the baseline; every call errored');
    if (errorNote) verdict.reasons.push(errorNote);
    return verdict;
  }
  if (results.length === 0 || n === 0) {
    setOutcome(verdict, 'inconclusive');
    if (results.length) verdict.undecided = 'all-errored';
    verdict.headline =
      results.length === 0
        ? 'NO CASES — no case of the suite is routed to this tier, so nothing is known about it'
        : `NOT DECIDED — all ${results.length} cases errored; nothing left to compare`;
    verdict.reasons.push(results.length === 0 ? 'no cases routed to this tier: add cases its rules match' : `every case of this tier errored`);
    if (errorNote) verdict.reasons.push(errorNote);
    return verdict;
  }

  // Repeats of one case are not independent evidence: shrink the table by the design effect.
  const designEffect = policy === 'per-call' && pairsTotal > n ? clusterDesignEffect(cases, delta) : 1;
  if (designEffect !== 1) verdict.designEffect = designEffect;
  const eff = (x: number) => x / designEffect;
  const ci = newcombeBounds(eff(counts.a), eff(counts.b), eff(counts.c), eff(counts.d), gate.confidence);
  verdict.ci = ci;
  verdict.pValue = mcnemarExact(Math.round(eff(counts.b)), Math.round(eff(counts.c)));
  verdict.rule = gate.rule;
  const caseDiffs = Float64Array.from(cases, (pairs) => pairs.reduce((s, p) => s + Number(p.candidate) - Number(p.baseline), 0) / pairs.length);
  if (input.crossCheck !== false) {
    verdict.bootstrapCi = pairedBootstrap(caseDiffs, {
      seed: input.seed ?? DEFAULT_SEED,
      resamples: input.resamples ?? DEFAULT_RESAMPLES,
      confidence: gate.confidence,
    }).ci;
  }

  const m = gate.margin;
  const level = confidenceLevel(gate.confidence);
  const interval = `${level} CI ${pts(ci[0]).replace(' pts', '')} to ${pts(ci[1])}`;
  const evidence = `${fmtCount(eff(counts.b))} regressed, ${fmtCount(eff(counts.c))} improved${designEffect !== 1 ? ' (effective)' : ''}, McNemar p${formatP(verdict.pValue)}`;
  const margin = `margin ${plainPts(m)}`;
  const missesFloor = gate.minPassRate !== undefined && passRate < gate.minPassRate - EPS;
  const showsRegression = ci[1] < -m - EPS;
  const showsHolding = ci[0] >= -m - EPS;
  const floorText = () => `pass rate ${pct(passRate)} below the minimum ${pct(gate.minPassRate!)} (${fmtCount(passRate * n)} of ${n} cases)`;

  let outcome: Outcome;
  if (gate.rule === 'noninferiority') {
    outcome = missesFloor || showsRegression ? 'fail' : showsHolding ? 'pass' : 'inconclusive';
    if (outcome === 'pass') verdict.headline = `PASS — at worst ${pts(ci[0])} at ${level} confidence, ${margin}`;
    else if (showsRegression) verdict.headline = `FAIL — regressed: at best ${pts(ci[1])} at ${level} confidence, beyond the ${margin}`;
    else if (missesFloor) verdict.headline = `FAIL — ${floorText()}`;
    else verdict.headline = `INCONCLUSIVE — between ${pts(ci[0])} and ${pts(ci[1])}, ${margin}`;
    verdict.reasons.push(`delta ${pts(delta)} (${interval}; ${evidence}) [rule: noninferiority, ${margin}]`);
    if (showsRegression && missesFloor) verdict.reasons.push(floorText());
  } else {
    // Screening rules always decide; their PASS is a screen, never evidence that the tier holds.
    const ok = gate.rule === 'point' ? delta >= -m - EPS : !showsRegression;
    outcome = ok && !missesFloor ? 'pass' : 'fail';
    const what = gate.rule === 'point' ? 'point estimate' : 'fails only a significant regression';
    const regressed = ci[1] < -EPS ? 'regressed: ' : '';
    verdict.headline = ok
      ? `PASS (screening: ${what}) — delta ${pts(delta)}, ${margin}; not shown to hold: the interval reaches ${pts(ci[0])}`
      : `FAIL (screening: ${what}) — ${regressed}delta ${pts(delta)} beyond the ${margin}${regressed ? '' : '; the interval does not show a regression'}`;
    if (ok && missesFloor) verdict.headline = `FAIL — ${floorText()}`;
    verdict.reasons.push(`delta ${pts(delta)} (${interval}; ${evidence}) [rule: ${gate.rule}, ${margin}]`);
  }
  setOutcome(verdict, outcome);

  if (outcome === 'inconclusive') {
    const discordance = (eff(counts.b) + eff(counts.c)) / eff(pairsTotal);
    const plan = { margin: m, discordance, confidence: gate.confidence, power: PLANNED_POWER, baselinePassRate };
    const atObservedDelta = pairedCasesToDecide({ ...plan, delta });
    const atZeroDelta = pairedNonInferiorityCases(plan)!;
    verdict.casesNeeded = { atObservedDelta, atZeroDelta, power: PLANNED_POWER };
    verdict.headline += `; ${casesNeededText(verdict.casesNeeded, n)}`;
    if (gate.onInconclusive === 'warn') verdict.reasons.push('onInconclusive: warn — this tier does not block the gate');
    if (bestCaseLowerBound(n, gate.confidence) < -m - EPS) {
      verdict.reasons.push(`too few cases (n=${n}) for a ${plainPts(m)}-pt margin: even with no disagreement at all the interval would cross it`);
    }
  }
  if (errorNote) verdict.reasons.push(errorNote);
  if (results.some((r) => r.repeats)) {
    if (designEffect !== 1) verdict.reasons.push(`repeats: ${pairsTotal} sample pairs over ${n} cases; design effect ${designEffect.toFixed(2)} (repeats of one case are not independent)`);
    if (policy === 'pass@k') {
      verdict.reasons.push(
        `warning: pass@k counts a case as passed when any sample passes, which hides per-call regressions (per-call delta ${pts(perCallDelta(results))}); gate on per-call unless the product really retries`,
      );
    }
    const flaky = flakyCases(results);
    verdict.flaky = flaky.length;
    if (flaky.length) {
      const meanFlip = flaky.reduce((sum, f) => sum + f.flipRate, 0) / flaky.length;
      verdict.reasons.push(
        `${flaky.length} flaky (case, model) pair${flaky.length === 1 ? '' : 's'}: the outcome flipped across repeats (mean flip rate ${pct(meanFlip)}); counted ${policy}`,
      );
    }
  }
  return verdict;
}

/**
 * One verdict per configured tier (in routing order), then per tier that only appears in the results.
 * Tiers whose model is the baseline are included so the table is complete; they always pass.
 */
export function decideAll(
  routing: Pick<Routing, 'baseline' | 'tiers'> & { file?: string },
  results: CaseResult[],
  opts: DecideOptions = {},
): GateVerdict[] {
  const byTier = new Map<string, CaseResult[]>();
  for (const r of results) {
    const list = byTier.get(r.tier);
    if (list) list.push(r);
    else byTier.set(r.tier, [r]);
  }
  const tiers: TierConfig[] = [...routing.tiers.values()];
  for (const [name, list] of byTier) {
    if (!routing.tiers.has(name)) tiers.push({ name, model: list[0]!.candidate.modelKey, gate: {} });
  }
  const routingFile = opts.routingFile ?? routing.file;
  return tiers.map((tier) =>
    decideTier({
      ...opts,
      ...(routingFile !== undefined ? { routingFile } : {}),
      tier,
      baselineModel: routing.baseline,
      results: byTier.get(tier.name) ?? [],
    }),
  );
}

/** "~400 more cases would decide it (…)", the line every report prints under an undecided tier. */
export function casesNeededText(needed: NonNullable<TierVerdict['casesNeeded']>, have: number): string {
  const more = (total: number) => Math.max(1, total - have);
  const zero = `${int(more(needed.atZeroDelta))} more if the models are truly equal`;
  if (needed.atObservedDelta === null) return `the observed delta sits on the margin, so more cases may not decide it (${zero})`;
  return `~${int(more(needed.atObservedDelta))} more cases would decide it at the observed delta (${zero})`;
}

function setOutcome(verdict: GateVerdict, outcome: Outcome): void {
  verdict.outcome = outcome;
  verdict.pass = outcome === 'pass';
}

/**
 * Design effect of repeated samples: Var(delta) with cases as clusters (ratio estimator) over Var(delta)
 * as if every sample pair were an independent case. Clamped to [1, mean samples per case]: never more
 * evidence than independent pairs, never less than one pair per case. With no disagreement at all it
 * cannot be estimated, and the conservative end is used.
 */
function clusterDesignEffect(cases: Array<Array<{ baseline: boolean; candidate: boolean }>>, delta: number): number {
  const total = cases.reduce((s, p) => s + p.length, 0);
  const maxEffect = total / cases.length;
  let within = 0;
  let clustered = 0;
  for (const pairs of cases) {
    let sum = 0;
    for (const p of pairs) {
      const d = Number(p.candidate) - Number(p.baseline);
      sum += d;
      within += (d - delta) ** 2;
    }
    clustered += (sum - pairs.length * delta) ** 2;
  }
  if (within === 0) return maxEffect;
  const k = cases.length;
  const varClustered = (clustered * k) / Math.max(1, k - 1) / (total * total);
  const varIndependent = within / (total * total);
  return Math.min(maxEffect, Math.max(1, varClustered / varIndependent));
}

function perCallDelta(results: CaseResult[]): number {
  let diff = 0;
  let pairs = 0;
  for (const r of results) {
    const c = compareCase(r, 'per-call');
    if ('excluded' in c) continue;
    for (const p of c.pairs) diff += Number(p.candidate) - Number(p.baseline);
    pairs += c.pairs.length;
  }
  return pairs ? diff / pairs : 0;
}

function exclusionReason(excluded: Map<Exclusion, number>, total: number, baselineModel: string): string | undefined {
  const parts: string[] = [];
  const add = (kind: Exclusion, text: string) => {
    const k = excluded.get(kind);
    if (k) parts.push(`${k} ${text}`);
  };
  add('baseline-error', `with a baseline (${baselineModel}) call error`);
  add('candidate-error', 'with a tier-model call error');
  add('grade-error', 'whose output a grader could not grade (e.g. no readable judge verdict)');
  if (!parts.length) return undefined;
  const k = [...excluded.values()].reduce((s, v) => s + v, 0);
  return `${k} of ${total} case${total === 1 ? '' : 's'} left out of the comparison (${parts.join('; ')}): errors count as neither pass nor fail`;
}

interface ResolvedGate {
  rule: GateRule;
  margin: number;
  confidence: number;
  onInconclusive: InconclusivePolicy;
  minPassRate?: number;
}

function resolveGate(tier: TierConfig, routingFile = 'routing file'): ResolvedGate {
  const g = tier.gate;
  const where = (key: string) => ({ file: routingFile, path: `tiers.${tier.name}.gate.${key}` });
  const check = (key: string, v: number | undefined, ok: (v: number) => boolean, want: string) => {
    if (v !== undefined && !(Number.isFinite(v) && ok(v))) {
      throw new ConfigError(where(key), `${key} is ${v}, expected ${want}`, `fix tier "${tier.name}" in the routing file`);
    }
  };
  check('maxRegression', g.maxRegression, (v) => v >= 0 && v <= 1, 'a fraction between 0 and 1 (0.03 = 3 points)');
  check('minPassRate', g.minPassRate, (v) => v >= 0 && v <= 1, 'a fraction between 0 and 1 (0.85 = 85%)');
  check('confidence', g.confidence, (v) => v > 0 && v < 1, 'a level strictly between 0 and 1, e.g. 0.95');
  return {
    rule: g.rule ?? DEFAULT_RULE,
    margin: g.maxRegression ?? DEFAULT_MAX_REGRESSION,
    confidence: g.confidence ?? DEFAULT_CONFIDENCE,
    onInconclusive: g.onInconclusive ?? DEFAULT_ON_INCONCLUSIVE,
    ...(g.minPassRate !== undefined ? { minPassRate: g.minPassRate } : {}),
  };
}

function fmtCount(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

function formatP(p: number): string {
  return p < 0.001 ? ' < 0.001' : `=${p.toFixed(3)}`;
}
