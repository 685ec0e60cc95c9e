// Measures the default gate rule's operating characteristics by seeded simulation and prints the tables
// docs/statistics.md quotes: P(PASS) / P(FAIL) / P(INCONCLUSIVE) per tier size and true delta.
//   npm run build && node scripts/operating-characteristics.mjs [trials]
// The model: baseline pass rate 80%; on a share ψ of cases the two models disagree (regressions at rate
// (ψ − δ)/2, improvements at (ψ + δ)/2); the remaining cases are concordant, split so the baseline stays
// at 80%. test/operating-characteristics.test.ts re-measures a subset with fewer trials and asserts it.
import { decideTier } from '../dist/gate/decide.js';
import { simulatePairedTable } from '../dist/stats/simulate-paired.js';

const trials = Number(process.argv[2] ?? 2000);
const sizes = [100, 140, 300, 500];
const deltas = [0, -0.05, -0.08, -0.1];
for (const discordance of [0.1, 0.2]) {
  console.log(`\nbaseline 80%, disagreement ${discordance * 100}%, margin 5 pts, ${trials} seeded trials per cell: P(PASS) / P(FAIL) / P(INCONCLUSIVE)`);
  console.log(`| n | ${deltas.map((d) => `δ = ${(d * 100).toFixed(0)} pts`).join(' | ')} |`);
  console.log(`| --: | ${deltas.map(() => ':--').join(' | ')} |`);
  for (const n of sizes) {
    const cells = deltas.map((delta) => {
      const tally = { pass: 0, fail: 0, inconclusive: 0 };
      for (let t = 0; t < trials; t++) {
        const table = simulatePairedTable({ n, baselinePassRate: 0.8, discordance, delta, seed: 1_000_003 * t + n });
        tally[decideTier({ tier: { name: 'cheap', model: 'cheap', gate: {} }, baselineModel: 'frontier', results: caseResults(table), resamples: 1 }).outcome]++;
      }
      const p = (k) => `${((tally[k] / trials) * 100).toFixed(1)}%`;
      return `${p('pass')} / ${p('fail')} / ${p('inconclusive')}`;
    });
    console.log(`| ${n} | ${cells.join(' | ')} |`);
  }
}

/** The paired table as the case results the gate reads. */
function caseResults({ a, b, c, d }) {
  const out = [];
  const call = (id, modelKey, pass) => ({ caseId: id, modelKey, repeat: 0, requestHash: '', grades: [], pass, score: pass ? 1 : 0 });
  const push = (count, base, cand) => {
    for (let i = 0; i < count; i++) {
      const id = `c${out.length}`;
      out.push({ caseId: id, tier: 'cheap', baseline: call(id, 'frontier', base), candidate: call(id, 'cheap', cand) });
    }
  };
  push(a, true, true);
  push(b, true, false);
  push(c, false, true);
  push(d, false, false);
  return out;
}
