import { describe, expect, it } from 'vitest';
import type { CallOutcome, CaseResult, GateThresholds, TierConfig } from '../src/core/types.js';
import { ConfigError } from '../src/core/errors.js';
import { bestCaseLowerBound, decideAll, decideTier, DEFAULT_MAX_REGRESSION, DEFAULT_RULE } from '../src/gate/decide.js';
import { concludeSummary, gateExitCode, gateOutcome } from '../src/gate/outcome.js';
import type { RunSummary } from '../src/core/types.js';
import { createRng } from '../src/stats/rng.js';
import { verdictLabel } from '../src/report/verdict-text.js';

const BASE = 'gpt4';
const CHEAP = 'flash';

function outcome(caseId: string, modelKey: string, pass: boolean, error = false): CallOutcome {
  const o: CallOutcome = {
    caseId,
    modelKey,
    repeat: 0,
    requestHash: `${modelKey}:${caseId}`,
    grades: [],
    pass: pass && !error,
    score: pass && !error ? 1 : 0,
  };
  if (error) o.error = { kind: 'server', message: 'HTTP 500' };
  else o.completion = { text: pass ? 'ok' : 'wrong', usage: { input: 10, output: 2 }, latencyMs: 5 };
  return o;
}

/** Case results from a compact spec: each pair is [baseline passes, candidate passes]. */
function results(pairs: [boolean, boolean][], opts: { tier?: string; model?: string; candidateErrors?: number[]; baselineErrors?: number[] } = {}): CaseResult[] {
  const tier = opts.tier ?? 'cheap';
  const model = opts.model ?? CHEAP;
  return pairs.map(([b, c], i) => {
    const id = `case-${String(i).padStart(4, '0')}`;
    const baseline = outcome(id, BASE, b, opts.baselineErrors?.includes(i));
    const candidate = model === BASE ? baseline : outcome(id, model, c, opts.candidateErrors?.includes(i));
    return { caseId: id, tier, baseline, candidate };
  });
}

/** a both pass, b regressions, c improvements, d both fail, in that order. */
function table(a: number, b: number, c: number, d: number): [boolean, boolean][] {
  return [
    ...Array.from({ length: a }, () => [true, true] as [boolean, boolean]),
    ...Array.from({ length: b }, () => [true, false] as [boolean, boolean]),
    ...Array.from({ length: c }, () => [false, true] as [boolean, boolean]),
    ...Array.from({ length: d }, () => [false, false] as [boolean, boolean]),
  ];
}

function tier(gate: GateThresholds = {}, name = 'cheap', model = CHEAP): TierConfig {
  return { name, model, gate };
}

const FAST = { resamples: 500 };

describe('decideTier — the default rule: PASS / FAIL / INCONCLUSIVE', () => {
  it('is non-inferiority with a 5-pt margin when the gate configures nothing', () => {
    expect(DEFAULT_RULE).toBe('noninferiority');
    expect(DEFAULT_MAX_REGRESSION).toBe(0.05);
    // n = 500, delta 0, 12 disagreements: the whole interval clears −5 pts.
    const v = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: results(table(380, 6, 6, 108)) });
    expect(v.rule).toBe('noninferiority');
    expect(v.outcome).toBe('pass');
    expect(v.pass).toBe(true);
    expect(v.ci![0]).toBeGreaterThanOrEqual(-0.05);
    expect(v.headline).toMatch(/^PASS — at worst −[\d.]+ pts at 95% confidence, margin 5$/);
    expect(v.casesNeeded).toBeUndefined();
  });

  it('is INCONCLUSIVE when the interval straddles the margin, with the cases that would decide it', () => {
    // The bundled MMLU-Pro cheap tier: 140 cases, 11 regressed, 7 improved: −2.9 pts, CI −9.1 … +3.3.
    const v = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: results(table(99, 11, 7, 23)) });
    expect(v.outcome).toBe('inconclusive');
    expect(v.pass).toBe(false);
    expect(v.ci![0]).toBeCloseTo(-0.091, 3);
    expect(v.ci![1]).toBeCloseTo(0.033, 3);
    expect(v.headline).toMatch(/^INCONCLUSIVE — between −9\.1 pts and \+3\.3 pts, margin 5; ~[\d,]+ more cases would decide it at the observed delta \([\d,]+ more if the models are truly equal\)$/);
    // Paired formula, 80% power, discordance 18/140: equal models need ~400 cases in all.
    const needed = v.casesNeeded!;
    expect(needed.power).toBe(0.8);
    expect(needed.atZeroDelta).toBeGreaterThan(380);
    expect(needed.atZeroDelta).toBeLessThan(420);
    expect(needed.atObservedDelta!).toBeGreaterThan(needed.atZeroDelta);
  });

  it('FAILs only when the whole interval is below −margin, and says "regressed" only then', () => {
    const v = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: results(table(166, 74, 14, 16)) });
    expect(v.outcome).toBe('fail');
    expect(v.ci![1]).toBeLessThan(-0.05);
    expect(v.headline).toMatch(/^FAIL — regressed: at best −[\d.]+ pts at 95% confidence, beyond the margin 5$/);
    // −6 pts on 100 cases: beyond the margin as a point estimate, but not shown: INCONCLUSIVE, not "regressed".
    const unclear = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: results(table(79, 8, 2, 11)) });
    expect(unclear.delta).toBeCloseTo(-0.06, 12);
    expect(unclear.outcome).toBe('inconclusive');
    expect(unclear.headline).not.toContain('regressed');
  });

  it('FAILs a tier whose pass rate misses minPassRate on the point estimate, inclusively, and says so', () => {
    const edge = decideTier({ ...FAST, tier: tier({ minPassRate: 0.85 }), baselineModel: BASE, results: results(table(850, 0, 0, 150)) });
    expect(edge.passRate).toBeCloseTo(0.85, 12);
    expect(edge.outcome).toBe('pass');
    const below = decideTier({ ...FAST, tier: tier({ minPassRate: 0.86 }), baselineModel: BASE, results: results(table(850, 0, 0, 150)) });
    expect(below.outcome).toBe('fail');
    expect(below.headline).toBe('FAIL — pass rate 85.0% below the minimum 86.0% (850 of 1000 cases)');
    expect(below.headline).not.toContain('regressed');
  });

  it('passes at exactly −margin in at most 2.5% of tables (one-sided α of the 95% interval)', () => {
    // Enumerate all tables with n = 300 and 30 disagreements whose true delta is exactly −5 pts:
    // at the boundary the rule must pass rarely. Simulated: b ~ Binomial(30, p) with E[c − b] = −15.
    const rng = createRng(7);
    let passes = 0;
    const trials = 400;
    for (let t = 0; t < trials; t++) {
      let b = 0;
      let c = 0;
      for (let i = 0; i < 300; i++) {
        const u = rng();
        if (u < 0.075) b++; // regressions 7.5%
        else if (u < 0.1) c++; // improvements 2.5%: true delta −5 pts
      }
      const a = Math.round((300 - b - c) * 0.8);
      const v = decideTier({ resamples: 10, tier: tier(), baselineModel: BASE, results: results(table(a, b, c, 300 - a - b - c)) });
      if (v.outcome === 'pass') passes++;
    }
    expect(passes / trials).toBeLessThanOrEqual(0.025 + 0.02);
  });

  it('onInconclusive: warn keeps an undecided tier from blocking; the gate is otherwise inconclusive (exit 4)', () => {
    const undecided = results(table(99, 11, 7, 23));
    const blocking = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: undecided });
    const warned = decideTier({ ...FAST, tier: tier({ onInconclusive: 'warn' }), baselineModel: BASE, results: undecided });
    expect(gateOutcome([blocking])).toBe('inconclusive');
    expect(gateOutcome([warned])).toBe('pass');
    expect(warned.reasons).toContain('onInconclusive: warn — this tier does not block the gate');
    const failed = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: results(table(166, 74, 14, 16)) });
    expect(gateOutcome([blocking, failed])).toBe('fail');
    const summary = (tiers: RunSummary['tiers'], status: RunSummary['status'] = 'complete'): RunSummary =>
      concludeSummary({ runId: 'r', suite: 's', status, pass: false, tiers, models: [] });
    expect(gateExitCode(summary([blocking]))).toBe(4);
    expect(gateExitCode(summary([warned]))).toBe(0);
    expect(gateExitCode(summary([failed]))).toBe(1);
    // An interrupted run decides nothing: no PASS can show above "RUN INTERRUPTED".
    const passed = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: results(table(380, 6, 6, 108)) });
    const interrupted = summary([passed], 'interrupted');
    expect(gateExitCode(interrupted)).toBe(3);
    expect(interrupted.tiers[0]!.outcome).toBe('inconclusive');
    expect(interrupted.tiers[0]!.headline).toMatch(/^NOT DECIDED — run interrupted; on the results so far: PASS/);
    expect(verdictLabel(interrupted.tiers[0]!)).toBe('NOT DECIDED');
    // Concluding twice (resume, merge) does not stack the prefix.
    expect(concludeSummary(interrupted).tiers[0]!.headline).toBe(interrupted.tiers[0]!.headline);
  });

  it('marks a tier whose every call errored NOT DECIDED by its state, not by its wording', () => {
    const allErrored = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: results(table(3, 0, 0, 0), { candidateErrors: [0, 1, 2] }) });
    expect(allErrored.undecided).toBe('all-errored');
    expect(verdictLabel(allErrored)).toBe('NOT DECIDED');
    expect(verdictLabel({ ...allErrored, headline: 'reworded' })).toBe('NOT DECIDED');
    const decided = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: results(table(380, 6, 6, 108)) });
    expect(verdictLabel({ ...decided, headline: 'NOT DECIDED — a headline alone decides nothing' })).toBe('PASS');
  });

  it('rejects thresholds outside their range with a ConfigError naming the key', () => {
    expect(() => decideTier({ tier: tier({ maxRegression: 3 }), baselineModel: BASE, results: [], routingFile: 'routing.yaml' })).toThrow(ConfigError);
    expect(() => decideTier({ tier: tier({ minPassRate: -0.1 }), baselineModel: BASE, results: [] })).toThrow(/tiers\.cheap\.gate\.minPassRate/);
  });

  it('calls a tier with no cases NO CASES and leaves it undecided', () => {
    const v = decideTier({ tier: tier({ maxRegression: 0.01 }), baselineModel: BASE, results: [] });
    expect(v.outcome).toBe('inconclusive');
    expect(v.cases).toBe(0);
    expect(v.headline).toMatch(/^NO CASES — /);
    expect(v.reasons).toEqual(['no cases routed to this tier: add cases its rules match']);
  });

  it('explains when n is too small to ever pass the margin', () => {
    expect(bestCaseLowerBound(12, 0.95)).toBeLessThan(-0.03);
    const v = decideTier({ ...FAST, tier: tier({ maxRegression: 0.03 }), baselineModel: BASE, results: results(table(12, 0, 0, 0)) });
    expect(v.outcome).toBe('inconclusive');
    expect(v.reasons).toContain('too few cases (n=12) for a 3-pt margin: even with no disagreement at all the interval would cross it');
    // A small tier that clearly improved can still pass.
    const better = decideTier({ ...FAST, tier: tier({ maxRegression: 0.03 }), baselineModel: BASE, results: results(table(2, 0, 10, 0)) });
    expect(better.outcome).toBe('pass');
  });
});

describe('decideTier — errors are neither pass nor fail', () => {
  it('leaves cases with an errored tier call out of the paired table and says so', () => {
    const r = results(table(100, 0, 0, 0), { candidateErrors: [0, 1, 2] });
    const v = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: r });
    expect(v.errors).toBe(3);
    expect(v.cases).toBe(100);
    expect(v.compared).toBe(97);
    expect(v.passRate).toBe(1);
    expect(v.counts).toEqual({ a: 97, b: 0, c: 0, d: 0 });
    expect(v.reasons).toContain('3 of 100 cases left out of the comparison (3 with a tier-model call error): errors count as neither pass nor fail');
  });

  it('never counts an errored call as a pass even if its pass flag is wrongly set', () => {
    const r = results(table(9, 0, 0, 1));
    r[0]!.candidate = { ...r[0]!.candidate, pass: true, error: { kind: 'timeout', message: 'timed out' } };
    const v = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: r });
    expect(v.compared).toBe(9);
    expect(v.passRate).toBeCloseTo(8 / 9, 12);
  });

  it('does not let a baseline error flatter the tier', () => {
    // Baseline errored on a case the tier failed: counted as a baseline failure it would look like a tie.
    const r = results(table(50, 0, 0, 0));
    r[4]!.candidate = outcome(r[4]!.caseId, CHEAP, false);
    r[4]!.baseline = outcome(r[4]!.caseId, BASE, false, true);
    const v = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: r });
    expect(v.baselineErrors).toBe(1);
    expect(v.compared).toBe(49);
    expect(v.passRate).toBe(1);
    expect(v.baselinePassRate).toBe(1);
    expect(v.reasons.some((x) => x.includes('1 with a baseline (gpt4) call error'))).toBe(true);
  });

  it('treats a grade error (no readable judge verdict) like an errored call, on either side', () => {
    const r = results(table(20, 0, 0, 0));
    r[0]!.candidate = { ...r[0]!.candidate, pass: false, grades: [{ grader: 'judge', score: 0, pass: false, error: 'no verdict' }] };
    r[1]!.baseline = { ...r[1]!.baseline, pass: false, grades: [{ grader: 'judge', score: 0, pass: false, error: 'no verdict' }] };
    const v = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: r });
    expect(v.compared).toBe(18);
    expect(v.gradeErrors).toBe(2);
    expect(v.passRate).toBe(1);
    expect(v.baselinePassRate).toBe(1);
  });
});

describe('decideTier — repeats (per-call, the default)', () => {
  /** n cases × k samples; `fails(i, r)` says whether the candidate fails sample r of case i. */
  function repeated(n: number, k: number, fails: (i: number, r: number) => boolean): CaseResult[] {
    return Array.from({ length: n }, (_, i) => {
      const id = `case-${String(i).padStart(4, '0')}`;
      const baseline = Array.from({ length: k }, (_, r) => ({ ...outcome(id, BASE, true), repeat: r }));
      const candidate = Array.from({ length: k }, (_, r) => ({ ...outcome(id, CHEAP, !fails(i, r)), repeat: r }));
      return { caseId: id, tier: 'cheap', baseline: baseline[0]!, candidate: candidate[0]!, repeats: { baseline, candidate } };
    });
  }

  it('counts every call, and never lets k samples of one case pass for k independent cases', () => {
    // 100 cases × 3 samples; cases 0–9 fail every sample: fully clustered, design effect 3.
    const clustered = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: repeated(100, 3, (i) => i < 10) });
    expect(clustered.passRate).toBeCloseTo(0.9, 12);
    expect(clustered.designEffect).toBeCloseTo(3, 6);
    // …so its interval is the one of 100 single-sample cases, not of 300.
    const single = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: results(table(90, 10, 0, 0)) });
    expect(clustered.ci![0]).toBeCloseTo(single.ci![0], 6);
    expect(clustered.ci![1]).toBeCloseTo(single.ci![1], 6);
    // The same 30 failed calls spread one per case carry more information: no inflation.
    const spread = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: repeated(100, 3, (i, r) => i < 30 && r === 0) });
    expect(spread.designEffect ?? 1).toBe(1);
    expect(spread.ci![1] - spread.ci![0]).toBeLessThan(clustered.ci![1] - clustered.ci![0]);
  });

  it('warns when pass@k hides a per-call regression', () => {
    const flaky = repeated(100, 3, (i, r) => i < 60 && r === 0); // −20 pts per call, 0 pts under pass@k
    const v = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: flaky, repeatPolicy: 'pass@k' });
    expect(v.delta).toBe(0);
    expect(v.reasons.join(' ')).toContain('per-call delta −20.0 pts');
    const perCall = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: flaky });
    expect(perCall.delta).toBeCloseTo(-0.2, 12);
    expect(perCall.outcome).toBe('fail');
  });
});

describe('decideTier — screening rules', () => {
  it('point decides on the estimate and never claims the tier holds', () => {
    const onEdge = decideTier({ ...FAST, tier: tier({ rule: 'point' }), baselineModel: BASE, results: results(table(80, 7, 2, 11)) });
    expect(onEdge.delta).toBeCloseTo(-0.05, 12);
    expect(onEdge.outcome).toBe('pass');
    expect(onEdge.headline).toMatch(/^PASS \(screening: point estimate\) — delta −5\.0 pts, margin 5; not shown to hold/);
    const beyond = decideTier({ ...FAST, tier: tier({ rule: 'point' }), baselineModel: BASE, results: results(table(79, 8, 2, 11)) });
    expect(beyond.outcome).toBe('fail');
    expect(beyond.headline).toContain('the interval does not show a regression');
  });

  it('significant fails only when the whole interval is below the margin', () => {
    const small = decideTier({ ...FAST, tier: tier({ rule: 'significant', maxRegression: 0.03 }), baselineModel: BASE, results: results(table(20, 4, 0, 6)) });
    expect(small.outcome).toBe('pass');
    const large = decideTier({ ...FAST, tier: tier({ rule: 'significant', maxRegression: 0.03 }), baselineModel: BASE, results: results(table(200, 40, 0, 60)) });
    expect(large.outcome).toBe('fail');
    expect(large.ci![1]).toBeLessThan(-0.03);
    expect(large.headline).toMatch(/^FAIL \(screening: fails only a significant regression\) — regressed: /);
  });
});

describe('decideTier — verdict fields', () => {
  const r = results(table(150, 12, 5, 33));
  const input = { tier: tier({ maxRegression: 0.03, minPassRate: 0.5 }), baselineModel: BASE, results: r, resamples: 2000 };

  it('fills every field consistently', () => {
    const v = decideTier(input);
    expect(v).toMatchObject({ tier: 'cheap', model: CHEAP, baselineModel: BASE, cases: 200, compared: 200, errors: 0, rule: 'noninferiority', confidence: 0.95 });
    expect(v.passRate).toBeCloseTo(155 / 200, 12);
    expect(v.baselinePassRate).toBeCloseTo(162 / 200, 12);
    expect(v.delta).toBeCloseTo(v.passRate - v.baselinePassRate, 12);
    expect(v.ci![0]).toBeLessThanOrEqual(v.delta);
    expect(v.ci![1]).toBeGreaterThanOrEqual(v.delta);
    expect(v.bootstrapCi![0]).toBeLessThanOrEqual(v.delta);
    expect(v.bootstrapCi![1]).toBeGreaterThanOrEqual(v.delta);
    // The two intervals are different methods for the same quantity: they agree to about a point here.
    expect(Math.abs(v.ci![0] - v.bootstrapCi![0])).toBeLessThan(0.015);
    expect(Math.abs(v.ci![1] - v.bootstrapCi![1])).toBeLessThan(0.015);
    expect(v.pValue).toBeGreaterThan(0.1);
    expect(v.pValue).toBeLessThan(0.2); // McNemar exact, 12 vs 5: p = 0.1435
    expect(v.outcome).toBe('inconclusive');
    expect(v.reasons[0]).toContain('12 regressed, 5 improved, McNemar p=0.143');
  });

  it('is deterministic and independent of result order', () => {
    const a = decideTier(input);
    const b = decideTier(input);
    const shuffled = decideTier({ ...input, results: [...r].reverse() });
    expect(b).toEqual(a);
    expect(shuffled).toEqual(a);
    const otherSeed = decideTier({ ...input, seed: 99 });
    expect(otherSeed.ci).toEqual(a.ci); // the decision interval does not depend on the seed
    expect(otherSeed.outcome).toBe(a.outcome);
  });
});

describe('decideAll', () => {
  it('gives one verdict per configured tier, baseline tier included and never failing', () => {
    const cheap = results(table(40, 10, 0, 0)); // −20 pts on 50 cases: shown to regress
    const frontier = results(table(8, 0, 0, 2), { tier: 'frontier', model: BASE });
    const routing = {
      baseline: BASE,
      tiers: new Map<string, TierConfig>([
        ['cheap', tier({ maxRegression: 0.03 })],
        ['frontier', tier({ minPassRate: 0.99 }, 'frontier', BASE)],
        ['mid', tier({}, 'mid', 'mixtral')],
      ]),
    };
    const verdicts = decideAll(routing, [...frontier, ...cheap], FAST);
    expect(verdicts.map((v) => v.tier)).toEqual(['cheap', 'frontier', 'mid']);
    const [c, f, m] = verdicts;
    expect(c!.outcome).toBe('fail');
    expect(f!.outcome).toBe('pass');
    expect(f!.reasons).toEqual(['is the baseline']);
    expect(f!.delta).toBe(0);
    expect(f!.cases).toBe(10);
    expect(m!.outcome).toBe('inconclusive');
    expect(m!.headline).toMatch(/^NO CASES/);
  });

  it('reports tiers that appear only in the results', () => {
    const stray = results(table(5, 0, 0, 0), { tier: 'legacy', model: 'old' });
    const verdicts = decideAll({ baseline: BASE, tiers: new Map() }, stray, FAST);
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0]).toMatchObject({ tier: 'legacy', model: 'old', cases: 5 });
  });
});

describe('default rule — simulated operating characteristics (n = 300, baseline 80%)', () => {
  /**
   * Each case has a latent difficulty u; the baseline passes when u < 0.8. The candidate reuses u with
   * probability 0.8 (correlated outcomes, like two models on the same prompts) and otherwise draws its
   * own, passing when below its true rate.
   */
  function simulate(seed: number, candidateRate: number): CaseResult[] {
    const rng = createRng(seed);
    const pairs: [boolean, boolean][] = [];
    for (let i = 0; i < 300; i++) {
      const u = rng();
      const v = rng() < 0.8 ? u : rng();
      pairs.push([u < 0.8, v < candidateRate]);
    }
    return results(pairs);
  }

  function outcomes(candidateRate: number): Record<string, number> {
    const tally: Record<string, number> = { pass: 0, fail: 0, inconclusive: 0 };
    for (let s = 0; s < 200; s++) tally[decideTier({ tier: tier(), baselineModel: BASE, results: simulate(1000 + s, candidateRate), resamples: 10 }).outcome]!++;
    return tally;
  }

  it('passes an equal-quality tier in most simulations and never fails it', () => {
    const t = outcomes(0.8);
    expect(t.fail).toBe(0);
    expect(t.pass! / 200).toBeGreaterThanOrEqual(0.8);
  });

  it("never passes a true 10-point regression and fails more than half of them", () => {
    const t = outcomes(0.7);
    expect(t.pass).toBe(0);
    expect(t.fail! / 200).toBeGreaterThanOrEqual(0.5); // measured 59%: the rest stay INCONCLUSIVE, never PASS
  });
});
