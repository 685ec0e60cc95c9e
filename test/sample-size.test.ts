import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { plan } from '../src/api/plan.js';
import { measureOutcomes } from '../src/gate/operating-characteristics.js';
import { minimumCasesWithoutDisagreement, pairedCasesToDecide, pairedNonInferiorityCases, perTierPower } from '../src/stats/sample-size.js';
import { ensureCliBuilt } from './support/cli.js';

/** Share of seeded simulated tiers with each outcome under the default rule (5-pt margin, 95%). */
const outcomes = (n: number, discordance: number, delta: number, trials: number) => measureOutcomes({ n, baselinePassRate: 0.8, discordance, delta, trials });

describe('paired non-inferiority sample size', () => {
  it('matches the formula n = (z₀.₉₇₅ + z₀.₈)² (ψ − δ²) / (δ + m)² at known values', () => {
    // (1.959964 + 0.841621)² = 7.848893: ψ = 0.1, δ = 0, m = 0.05 → 313.96 → 314.
    expect(pairedNonInferiorityCases({ margin: 0.05, discordance: 0.1 })).toBe(314);
    // ψ = 0.2, δ = +0.02: 7.848893 × 0.1996 / 0.0049 = 319.7 → 320.
    expect(pairedNonInferiorityCases({ margin: 0.05, discordance: 0.2, delta: 0.02 })).toBe(320);
    // 90% power: (1.959964 + 1.281552)² × 0.1 / 0.0025 = 420.3 → 421.
    expect(pairedNonInferiorityCases({ margin: 0.05, discordance: 0.1, power: 0.9 })).toBe(421);
    // A true delta at or below −margin can never be shown non-inferior.
    expect(pairedNonInferiorityCases({ margin: 0.05, discordance: 0.1, delta: -0.05 })).toBeNull();
    // …but a regression beyond the margin can be shown: the same formula from the other side.
    expect(pairedCasesToDecide({ margin: 0.05, discordance: 0.2, delta: -0.1 })).toBe(Math.ceil((7.848893 * (0.2 - 0.01)) / 0.0025));
  });

  it('never plans fewer cases than a tier with no disagreement needs to clear the margin', () => {
    expect(minimumCasesWithoutDisagreement(0.05)).toBe(58);
    expect(pairedNonInferiorityCases({ margin: 0.05, discordance: 0.001 })).toBe(58);
    expect(perTierPower(0.8, 3)).toBeCloseTo(0.928318, 6);
  });

  it('gives the gate its planned power at the planned size (seeded simulation of the real rule)', () => {
    const n = pairedNonInferiorityCases({ margin: 0.05, discordance: 0.1 })!;
    const p = outcomes(n, 0.1, 0, 600).pass;
    expect(p).toBeGreaterThan(0.72);
    expect(p).toBeLessThan(0.88);
  });
});

describe('the default rule — operating characteristics (docs/statistics.md)', () => {
  it('passes a tier whose true delta is exactly −margin at most 2.5% of the time (+ simulation noise)', () => {
    for (const [n, psi] of [[140, 0.1], [300, 0.1], [300, 0.2]] as const) {
      // 800 trials: one standard error of a 2.5% rate is 0.55 pts; allow two.
      expect(outcomes(n, psi, -0.05, 800).pass, `n=${n} ψ=${psi}`).toBeLessThanOrEqual(0.025 + 0.011);
    }
  });

  it('never fails an equal tier, never passes a 10-point regression, and decides large tiers', () => {
    const equal = outcomes(500, 0.1, 0, 400);
    expect(equal.fail).toBe(0);
    expect(equal.pass).toBeGreaterThan(0.88); // 93.8% measured at 2,000 trials
    const regressed = outcomes(500, 0.1, -0.1, 400);
    expect(regressed.pass).toBe(0);
    expect(regressed.fail).toBeGreaterThan(0.94); // 98.2% measured
    // At the bundled demo's tier size most tiers stay undecided: that is the honest answer.
    expect(outcomes(140, 0.2, 0, 400).inconclusive).toBeGreaterThan(0.6);
  });
});

describe('evalroute plan', () => {
  // The CLI runs the compiled dist/, rebuilt here when sources changed (slow on a loaded machine).
  beforeAll(() => ensureCliBuilt(), 180_000);

  it('plans each of K tiers at power (1−β)^(1/K) and prints the cases needed', () => {
    const one = plan({ disagreement: 0.1 });
    expect(one.casesPerTier).toBe(314);
    const three = plan({ disagreement: 0.1, tiers: 3 });
    expect(three.perTierPower).toBeCloseTo(0.928318, 6);
    expect(three.casesPerTier).toBe(pairedNonInferiorityCases({ margin: 0.05, discordance: 0.1, power: three.perTierPower }));
    expect(three.casesPerTier!).toBeGreaterThan(one.casesPerTier!);
    expect(three.totalCases).toBe(3 * three.casesPerTier!);
    expect(() => plan({ disagreement: 0.05, expectedDelta: -0.1 })).toThrow(/--expected-delta/);
  });

  it('runs from the CLI: text and JSON, exit 0; bad input exit 2', () => {
    const cli = resolve('bin/evalroute.js');
    const text = spawnSync('node', [cli, 'plan', '--disagreement', '0.1', '--tiers', '3'], { encoding: 'utf8' });
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/→ [\d,]+ cases per tier \([\d,]+ routed cases in all\) give the gate 80% power to PASS/);
    const json = spawnSync('node', [cli, 'plan', '--disagreement', '0.1', '--json'], { encoding: 'utf8' });
    expect(JSON.parse(json.stdout)).toMatchObject({ casesPerTier: 314, tiers: 1, margin: 0.05 });
    const bad = spawnSync('node', [cli, 'plan', '--margin', '7'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
  });
});
