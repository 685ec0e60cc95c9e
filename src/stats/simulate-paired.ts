import { createRng } from './rng.js';
import type { PairedCounts } from './newcombe.js';

export interface PairedScenario {
  /** Cases in the tier. */
  n: number;
  /** Baseline pass rate (0..1). */
  baselinePassRate: number;
  /** Share of cases where the two models disagree. */
  discordance: number;
  /** True delta, candidate − baseline. */
  delta: number;
  seed: number;
}

/**
 * One simulated paired table: each case independently a regression with probability (ψ − δ)/2, an
 * improvement with (ψ + δ)/2, else concordant — both pass or both fail, split so the baseline's pass
 * rate is the one given. Used to measure the gate's operating characteristics and to check the
 * sample-size formula; seeded, so every figure in docs/statistics.md can be reproduced.
 */
export function simulatePairedTable(s: PairedScenario): PairedCounts {
  const regress = (s.discordance - s.delta) / 2;
  const improve = (s.discordance + s.delta) / 2;
  const bothPass = s.baselinePassRate - regress;
  if (regress < 0 || improve < 0 || bothPass < 0 || bothPass + regress + improve > 1) {
    throw new RangeError(`simulatePairedTable: no table has baseline ${s.baselinePassRate}, discordance ${s.discordance} and delta ${s.delta}`);
  }
  const rng = createRng(s.seed);
  const t: PairedCounts = { a: 0, b: 0, c: 0, d: 0 };
  for (let i = 0; i < s.n; i++) {
    const u = rng();
    if (u < regress) t.b++;
    else if (u < regress + improve) t.c++;
    else if (u < regress + improve + bothPass) t.a++;
    else t.d++;
  }
  return t;
}
