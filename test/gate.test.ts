import { describe, expect, it } from 'vitest';
import type { CallOutcome, CaseResult, GateThresholds, TierConfig } from '../src/core/types.js';
import { ConfigError } from '../src/core/errors.js';
import { bestCaseLowerBound, decideAll, decideTier, DEFAULT_MAX_REGRESSION, DEFAULT_RULE } from '../src/gate/decide.js';
import { createRng } from '../src/stats/rng.js';

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

describe('decideTier — point rule and thresholds', () => {
  it('uses the point rule with a 5-pt margin when the gate configures nothing', () => {
    expect(DEFAULT_RULE).toBe('point');
    expect(DEFAULT_MAX_REGRESSION).toBe(0.05);
    // delta = (2 − 7)/100 = −5 pts exactly: on the margin, passes.
    const onEdge = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: results(table(80, 7, 2, 11)) });
    expect(onEdge.rule).toBe('point');
    expect(onEdge.margin).toBe(0.05);
    expect(onEdge.delta).toBeCloseTo(-0.05, 12);
    expect(onEdge.pass).toBe(true);
    // One more regression: −6 pts, fails.
    const beyond = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: results(table(79, 8, 2, 11)) });
    expect(beyond.pass).toBe(false);
    expect(beyond.reasons[0]).toMatch(/^delta −6\.0 pts \(95% CI −[\d.]+ to [+−][\d.]+\) below the −5\.0 pts margin \(8 regressed, 2 improved, McNemar p=0\.109\) \[rule: point\]/);
  });

  it('passes a delta exactly at −maxRegression despite float noise, fails just beyond', () => {
    // 3/100 regressions: 0.97 − 1.0 is not exactly −0.03 in floating point.
    const edge = decideTier({ ...FAST, tier: tier({ maxRegression: 0.03 }), baselineModel: BASE, results: results(table(97, 3, 0, 0)) });
    expect(edge.pass).toBe(true);
    expect(edge.reasons[0]).toContain('within the −3.0 pts margin');
    const over = decideTier({ ...FAST, tier: tier({ maxRegression: 0.03 }), baselineModel: BASE, results: results(table(96, 4, 0, 0)) });
    expect(over.pass).toBe(false);
  });

  it('applies minPassRate inclusively, independently of the comparison', () => {
    // 85 of 100 pass, baseline the same: passRate == minPassRate passes.
    const edge = decideTier({ ...FAST, tier: tier({ minPassRate: 0.85 }), baselineModel: BASE, results: results(table(85, 0, 0, 15)) });
    expect(edge.passRate).toBeCloseTo(0.85, 12);
    expect(edge.pass).toBe(true);
    const below = decideTier({ ...FAST, tier: tier({ minPassRate: 0.86 }), baselineModel: BASE, results: results(table(85, 0, 0, 15)) });
    expect(below.pass).toBe(false);
    expect(below.reasons).toContain('pass rate 85.0% below the minimum 86.0% (85 of 100 cases passed)');
    // The comparison alone would pass (delta 0): the failure is the floor's.
    expect(below.reasons[0]).toContain('within the −5.0 pts margin');
  });

  it('counts candidate errors as failures and says so', () => {
    const r = results(table(100, 0, 0, 0), { candidateErrors: [0, 1, 2] });
    const v = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: r });
    expect(v.errors).toBe(3);
    expect(v.passRate).toBeCloseTo(0.97, 12);
    expect(v.counts).toEqual({ a: 97, b: 3, c: 0, d: 0 });
    expect(v.reasons).toContain('3 calls errored (counted as failures)');
  });

  it('never counts an errored call as a pass even if its pass flag is wrongly set', () => {
    const r = results(table(10, 0, 0, 0));
    r[0]!.candidate = { ...r[0]!.candidate, pass: true, error: { kind: 'timeout', message: 'timed out' } };
    const v = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: r });
    expect(v.passRate).toBeCloseTo(0.9, 12);
    expect(v.reasons).toContain('1 call errored (counted as failures)');
  });

  it('reports baseline errors separately', () => {
    const r = results(table(50, 0, 0, 0), { baselineErrors: [4] });
    const v = decideTier({ ...FAST, tier: tier(), baselineModel: BASE, results: r });
    expect(v.baselineErrors).toBe(1);
    expect(v.baselinePassRate).toBeCloseTo(49 / 50, 12);
    expect(v.reasons.some((x) => x.startsWith('1 baseline call (gpt4) errored'))).toBe(true);
  });

  it('passes an empty tier with a reason', () => {
    const v = decideTier({ tier: tier({ rule: 'noninferiority', maxRegression: 0.01 }), baselineModel: BASE, results: [] });
    expect(v.pass).toBe(true);
    expect(v.cases).toBe(0);
    expect(v.reasons).toEqual(['no cases routed to this tier']);
  });

  it('rejects thresholds outside their range with a ConfigError naming the key', () => {
    expect(() => decideTier({ tier: tier({ maxRegression: 3 }), baselineModel: BASE, results: [], routingFile: 'routing.yaml' })).toThrow(ConfigError);
    expect(() => decideTier({ tier: tier({ minPassRate: -0.1 }), baselineModel: BASE, results: [] })).toThrow(/tiers\.cheap\.gate\.minPassRate/);
  });
});

describe('decideTier — interval rules', () => {
  it('noninferiority passes only when the lower bound clears the margin', () => {
    const big = results(table(380, 6, 6, 108)); // n = 500, delta 0
    const pass = decideTier({ ...FAST, tier: tier({ rule: 'noninferiority', maxRegression: 0.05 }), baselineModel: BASE, results: big });
    expect(pass.pass).toBe(true);
    expect(pass.ci![0]).toBeGreaterThanOrEqual(-0.05);
    expect(pass.reasons[0]).toMatch(/CI lower bound within the −5\.0 pts margin .*\[rule: noninferiority\]/);
    const tight = decideTier({ ...FAST, tier: tier({ rule: 'noninferiority', maxRegression: 0.01 }), baselineModel: BASE, results: big });
    expect(tight.pass).toBe(false);
    expect(tight.ci![0]).toBeLessThan(-0.01);
    // 500 cases could pass a 1-pt margin with fewer disagreements, so no "too few cases" diagnosis.
    expect(tight.reasons.some((r) => r.startsWith('too few cases'))).toBe(false);
  });

  it('noninferiority explains when n is too small to ever pass', () => {
    expect(bestCaseLowerBound(12, 0.95)).toBeLessThan(-0.03);
    const v = decideTier({ ...FAST, tier: tier({ rule: 'noninferiority', maxRegression: 0.03 }), baselineModel: BASE, results: results(table(12, 0, 0, 0)) });
    expect(v.pass).toBe(false);
    expect(v.reasons[0]).toMatch(/CI lower bound below the −3\.0 pts margin .*\[rule: noninferiority\]$/);
    expect(v.reasons[1]).toBe(
      'too few cases (n=12) for rule noninferiority with margin 3 pts: cannot pass even with no regressions; add cases or widen the margin',
    );
    // The bound is honest: a perfect-looking tier at n=12 still has a wide interval.
    expect(v.ci![0]).toBeLessThan(-0.03);
  });

  it('noninferiority can still pass a small tier that clearly improved', () => {
    const v = decideTier({ ...FAST, tier: tier({ rule: 'noninferiority', maxRegression: 0.03 }), baselineModel: BASE, results: results(table(2, 0, 10, 0)) });
    expect(v.pass).toBe(true);
  });

  it('significant fails only when the whole interval is below the margin', () => {
    const small = decideTier({ ...FAST, tier: tier({ rule: 'significant', maxRegression: 0.03 }), baselineModel: BASE, results: results(table(20, 4, 0, 6)) });
    expect(small.delta).toBeCloseTo(-4 / 30, 12);
    expect(small.pass).toBe(true); // −13 pts on 30 cases is not conclusive
    expect(small.reasons[0]).toContain('not significantly below');
    const large = decideTier({ ...FAST, tier: tier({ rule: 'significant', maxRegression: 0.03 }), baselineModel: BASE, results: results(table(200, 40, 0, 60)) });
    expect(large.pass).toBe(false);
    expect(large.ci![1]).toBeLessThan(-0.03);
    expect(large.reasons[0]).toMatch(/the whole CI is below the −3\.0 pts margin .*\[rule: significant\]/);
  });
});

describe('decideTier — verdict fields', () => {
  const r = results(table(150, 12, 5, 33));
  const input = { tier: tier({ maxRegression: 0.03, minPassRate: 0.5 }), baselineModel: BASE, results: r, resamples: 2000 };

  it('fills every field consistently', () => {
    const v = decideTier(input);
    expect(v).toMatchObject({ tier: 'cheap', model: CHEAP, baselineModel: BASE, cases: 200, errors: 0, rule: 'point', confidence: 0.95 });
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
    expect(v.pass).toBe(false); // −3.5 pts below the 3-pt margin
    expect(v.reasons[0]).toContain('12 regressed, 5 improved, McNemar p=0.143');
    expect(v.reasons[0]).toContain('the CI crosses the margin');
  });

  it('is deterministic and independent of result order', () => {
    const a = decideTier(input);
    const b = decideTier(input);
    const shuffled = decideTier({ ...input, results: [...r].reverse() });
    expect(b).toEqual(a);
    expect(shuffled).toEqual(a);
    const otherSeed = decideTier({ ...input, seed: 99 });
    expect(otherSeed.ci).toEqual(a.ci); // the decision interval does not depend on the seed
    expect(otherSeed.pass).toBe(a.pass);
  });
});

describe('decideAll', () => {
  it('gives one verdict per configured tier, baseline tier included and never failing', () => {
    const cheap = results(table(40, 10, 0, 0)); // −20 pts: fails
    const frontier = results(table(8, 0, 0, 2), { tier: 'frontier', model: BASE });
    const routing = {
      baseline: BASE,
      tiers: new Map<string, TierConfig>([
        ['cheap', tier({ maxRegression: 0.03 })],
        ['frontier', tier({ minPassRate: 0.99, rule: 'noninferiority' }, 'frontier', BASE)],
        ['mid', tier({}, 'mid', 'mixtral')],
      ]),
    };
    const verdicts = decideAll(routing, [...frontier, ...cheap], FAST);
    expect(verdicts.map((v) => v.tier)).toEqual(['cheap', 'frontier', 'mid']);
    const [c, f, m] = verdicts;
    expect(c!.pass).toBe(false);
    expect(f!.pass).toBe(true);
    expect(f!.reasons).toEqual(['is the baseline']);
    expect(f!.delta).toBe(0);
    expect(f!.cases).toBe(10);
    expect(m!.pass).toBe(true);
    expect(m!.reasons).toEqual(['no cases routed to this tier']);
  });

  it('reports tiers that appear only in the results', () => {
    const stray = results(table(5, 0, 0, 0), { tier: 'legacy', model: 'old' });
    const verdicts = decideAll({ baseline: BASE, tiers: new Map() }, stray, FAST);
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0]).toMatchObject({ tier: 'legacy', model: 'old', cases: 5, pass: true });
  });
});

describe('default rule — simulated acceptance', () => {
  /**
   * 300 paired cases per simulated suite. Each case has a latent difficulty u; the baseline passes when
   * u < 0.8. The candidate reuses u with probability 0.8 (correlated outcomes, like two models on the
   * same prompts) and otherwise draws its own, passing when below its true rate.
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

  function passShare(candidateRate: number): number {
    let passes = 0;
    for (let s = 0; s < 200; s++) {
      const v = decideTier({ tier: tier(), baselineModel: BASE, results: simulate(1000 + s, candidateRate), resamples: 2000 });
      if (v.pass) passes++;
    }
    return passes / 200;
  }

  it('passes an equal-quality tier in at least 95% of simulations', () => {
    expect(passShare(0.8)).toBeGreaterThanOrEqual(0.95);
  });

  it('fails a true 10-point regression in at least 95% of simulations', () => {
    expect(1 - passShare(0.7)).toBeGreaterThanOrEqual(0.95);
  });
});
