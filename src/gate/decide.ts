/**
 * The per-tier verdict: pure, seeded, and the same for the same stored results.
 *
 * Default rule — `point`, margin 5 pts, 95% intervals (copy for the README):
 *
 * A routed tier passes when its pass rate on the cases routed to it is at most the margin below the
 * frontier baseline's pass rate on the same cases (delta ≥ −maxRegression, default 5 pts). The 95%
 * interval and McNemar's exact p-value are printed beside every verdict but do not decide it. A gate
 * runs on every routing PR with 30–500 cases per tier, and the two interval rules each put the whole
 * burden of proof on one side. `noninferiority` (pass only when the whole interval clears the margin)
 * cannot pass at all below about 1.96/margin cases even with zero disagreements (65 cases for a 3-pt
 * margin), and in our simulations (baseline 80%, correlated outcomes, 5-pt margin) it passed a truly
 * equal tier only 4% of the time at 30 cases and 49% at 100 — so teams widen margins until the gate
 * means nothing. `significant` (fail only when the whole interval lies below the margin) lets real
 * regressions ship: a true 10-pt drop passed 80% of the time at 100 cases and 39% at 300. The point rule
 * errs equally in both directions at the margin, reads plainly ("lost more than 5 points"), and at 300
 * cases passed 100% of equal tiers and failed 98.5% of 10-pt regressions. Its weakness is small tiers,
 * where any single estimate is noisy; so when the interval crosses the margin the verdict says that more
 * cases could change it, and teams that must prove non-inferiority can set `rule: noninferiority`.
 *
 * When a tier's gate configures nothing, it is still compared with the baseline under the default rule
 * with a 5-pt margin: a routed tier with no quality bar at all is the mistake this tool exists to catch.
 * Set `maxRegression: 1` to opt a tier out of the comparison.
 *
 * Intervals: pass/fail outcomes per case form a paired 2×2 table, for which Newcombe's hybrid score
 * interval (method 10) is the decision interval `ci`: it keeps its coverage at small n and stays honest
 * when no case disagrees. A seeded paired percentile bootstrap of the per-case differences is reported as
 * `bootstrapCi`, the cross-check (and the interval that generalises to scores and repeats); with no or
 * few discordant cases it is too narrow, which is why it does not decide.
 */
import { ConfigError } from '../core/errors.js';
import type { CaseResult, GateRule, RepeatPolicy, Routing, TierConfig, TierVerdict } from '../core/types.js';
import { casePassed, flakyCases } from './repeats.js';
import { pairedBootstrap } from '../stats/bootstrap.js';
import { mcnemarExact } from '../stats/mcnemar.js';
import { newcombePairedInterval, pairedCounts, type PairedCounts } from '../stats/newcombe.js';

export const DEFAULT_RULE: GateRule = 'point';
export const DEFAULT_MAX_REGRESSION = 0.05;
export const DEFAULT_CONFIDENCE = 0.95;
/** Seed of the bootstrap stream. Fixed so that re-deciding stored results reproduces the verdict. */
export const DEFAULT_SEED = 0x5eed;
export const DEFAULT_RESAMPLES = 10_000;

/** Comparisons at a threshold tolerate float noise: delta == −margin and rate == minimum pass. */
const EPS = 1e-12;

/** A TierVerdict with the figures the report and JSON consumers need to explain it. */
export interface GateVerdict extends TierVerdict {
  /** Paired table: a both pass, b regressions (baseline pass, candidate fail), c improvements, d both fail. */
  counts: PairedCounts;
  /** The margin m the rule used (maxRegression or the default). */
  margin: number;
  confidence: number;
  /** Seeded paired percentile bootstrap of delta: a cross-check of `ci`, not the decision interval. */
  bootstrapCi?: [number, number];
  /** Calls of the baseline model on these cases that errored (counted as baseline failures). */
  baselineErrors: number;
}

export interface DecideOptions {
  /** How repeated samples make one per-case verdict (runs with `--repeat N`); default majority. */
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
}

/**
 * Whether a call counts as a pass. This is the one place a case's outcome is read: when repeats arrive,
 * a case's outcome becomes the share of passing repeats, the differences become real-valued, and the
 * bootstrap (which already handles real differences) takes over as the decision interval.
 */

export function decideTier(input: DecideTierInput): GateVerdict {
  const { tier, baselineModel } = input;
  const gate = resolveGate(tier, input.routingFile);
  // Sorting makes the bootstrap independent of the order the engine finished the calls in.
  const results = [...input.results].sort((x, y) => (x.caseId < y.caseId ? -1 : x.caseId > y.caseId ? 1 : 0));
  const n = results.length;
  const policy = input.repeatPolicy ?? 'majority';
  const passes = results.map((r) => ({ baseline: casePassed(r, 'baseline', policy), candidate: casePassed(r, 'candidate', policy) }));
  const counts = pairedCounts(passes);
  const errors = results.filter((r) => r.candidate.error).length;
  const baselineErrors = results.filter((r) => r.baseline.error).length;
  const passRate = n ? (counts.a + counts.c) / n : 0;
  const baselinePassRate = n ? (counts.a + counts.b) / n : 0;

  const verdict: GateVerdict = {
    tier: tier.name,
    model: tier.model,
    baselineModel,
    cases: n,
    passRate,
    baselinePassRate,
    delta: n ? (counts.c - counts.b) / n : 0,
    errors,
    pass: true,
    reasons: [],
    counts,
    margin: gate.margin,
    confidence: gate.confidence,
    baselineErrors,
  };

  if (tier.model === baselineModel) {
    verdict.reasons.push(n ? 'is the baseline' : 'is the baseline; no cases routed to this tier');
    if (errors) verdict.reasons.push(errorReason(errors, 'calls errored (counted as failures)'));
    return verdict;
  }
  if (n === 0) {
    verdict.reasons.push('no cases routed to this tier');
    return verdict;
  }

  const ci = newcombePairedInterval(counts.a, counts.b, counts.c, counts.d, gate.confidence);
  verdict.ci = ci;
  verdict.pValue = mcnemarExact(counts.b, counts.c);
  verdict.rule = gate.rule;
  const diffs = new Int8Array(n);
  passes.forEach((p, i) => (diffs[i] = Number(p.candidate) - Number(p.baseline)));
  verdict.bootstrapCi = pairedBootstrap(Float64Array.from(diffs), {
    seed: input.seed ?? DEFAULT_SEED,
    resamples: input.resamples ?? DEFAULT_RESAMPLES,
    confidence: gate.confidence,
  }).ci;

  const m = gate.margin;
  const summary = `delta ${pts(verdict.delta)} (${Math.round(gate.confidence * 1000) / 10}% CI ${signed(ci[0])} to ${signed(ci[1])})`;
  const evidence = `${counts.b} regressed, ${counts.c} improved, McNemar p${formatP(verdict.pValue)}`;
  const marginText = `the ${pts(-m)} margin`;
  const tag = `[rule: ${gate.rule}]`;
  const crosses = ci[0] < -m - EPS && ci[1] >= -m - EPS;

  if (gate.rule === 'point') {
    const ok = verdict.delta >= -m - EPS;
    verdict.pass &&= ok;
    const caveat = crosses ? '; the CI crosses the margin, so more cases could change this verdict' : '';
    verdict.reasons.push(`${summary} ${ok ? 'within' : 'below'} ${marginText} (${evidence}) ${tag}${caveat}`);
  } else if (gate.rule === 'noninferiority') {
    const ok = ci[0] >= -m - EPS;
    verdict.pass &&= ok;
    verdict.reasons.push(`${summary}: CI lower bound ${ok ? 'within' : 'below'} ${marginText} (${evidence}) ${tag}`);
    // A clear improvement can still pass a small tier, so the diagnosis is only given on failure.
    if (!ok && bestCaseLowerBound(n, gate.confidence) < -m - EPS) {
      verdict.reasons.push(
        `too few cases (n=${n}) for rule noninferiority with margin ${plainPts(m)} pts: cannot pass even with no regressions; add cases or widen the margin`,
      );
    }
  } else {
    const ok = !(ci[1] < -m - EPS);
    verdict.pass &&= ok;
    verdict.reasons.push(
      ok
        ? `${summary}: not significantly below ${marginText} (${evidence}) ${tag}`
        : `${summary}: the whole CI is below ${marginText} (${evidence}) ${tag}`,
    );
  }

  if (gate.minPassRate !== undefined && passRate < gate.minPassRate - EPS) {
    verdict.pass = false;
    verdict.reasons.push(`pass rate ${pct(passRate)} below the minimum ${pct(gate.minPassRate)} (${counts.a + counts.c} of ${n} cases passed)`);
  }
  if (errors) verdict.reasons.push(errorReason(errors, 'calls errored (counted as failures)'));
  if (baselineErrors) {
    verdict.reasons.push(
      errorReason(baselineErrors, `baseline calls (${baselineModel}) errored (counted as baseline failures, which flatters this tier)`),
    );
  }
  if (results.some((r) => r.repeats)) {
    const flaky = flakyCases(results);
    verdict.flaky = flaky.length;
    if (flaky.length) {
      const meanFlip = flaky.reduce((sum, f) => sum + f.flipRate, 0) / flaky.length;
      verdict.reasons.push(
        `${flaky.length} flaky (case, model) pair${flaky.length === 1 ? '' : 's'}: the outcome flipped across repeats (mean flip rate ${pct(meanFlip)}); each case counted by ${policy}`,
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

/**
 * The highest lower bound any result without a single disagreement could reach at this n (all cases
 * concordant, delta 0, best split between both-pass and both-fail). If even that is below −margin, the
 * noninferiority rule cannot pass whatever the models do.
 */
export function bestCaseLowerBound(n: number, confidence: number): number {
  let best = -1;
  for (let a = 0; a <= n; a++) best = Math.max(best, newcombePairedInterval(a, 0, 0, n - a, confidence)[0]);
  return best;
}

interface ResolvedGate {
  rule: GateRule;
  margin: number;
  confidence: number;
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
    ...(g.minPassRate !== undefined ? { minPassRate: g.minPassRate } : {}),
  };
}

/** Signed percentage points, e.g. −4.1 / +0.6 (typographic minus, as in the report). */
function signed(x: number): string {
  const v = Math.round(x * 1000) / 10;
  if (v === 0) return '0.0';
  return `${v > 0 ? '+' : '−'}${Math.abs(v).toFixed(1)}`;
}

function pts(x: number): string {
  return `${signed(x)} pts`;
}

function plainPts(x: number): string {
  return String(Math.round(x * 1000) / 10);
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function formatP(p: number): string {
  return p < 0.001 ? ' < 0.001' : `=${p.toFixed(3)}`;
}

function errorReason(count: number, text: string): string {
  return `${count} ${count === 1 ? text.replace(/^calls/, 'call').replace(/^baseline calls/, 'baseline call') : text}`;
}
