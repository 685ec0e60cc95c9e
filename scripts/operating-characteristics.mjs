// Measures the default gate rule's operating characteristics by seeded simulation and prints the tables
// docs/statistics.md quotes: P(PASS) / P(FAIL) / P(INCONCLUSIVE) per tier size and true delta.
//   npm run build && node scripts/operating-characteristics.mjs [trials]
// The model: baseline pass rate 80%; on a share ψ of cases the two models disagree (regressions at rate
// (ψ − δ)/2, improvements at (ψ + δ)/2); the remaining cases are concordant, split so the baseline stays
// at 80%. test/sample-size.test.ts re-measures a subset with fewer trials and asserts it.
import { measureOutcomes } from '../dist/gate/operating-characteristics.js';

const trials = Number(process.argv[2] ?? 2000);
const sizes = [100, 140, 300, 500];
const deltas = [0, -0.05, -0.08, -0.1];
const pct = (x) => `${(x * 100).toFixed(1)}%`;
for (const discordance of [0.1, 0.2]) {
  console.log(`\nbaseline 80%, disagreement ${discordance * 100}%, margin 5 pts, ${trials} seeded trials per cell: P(PASS) / P(FAIL) / P(INCONCLUSIVE)`);
  console.log(`| n | ${deltas.map((d) => `δ = ${(d * 100).toFixed(0)} pts`).join(' | ')} |`);
  console.log(`| --: | ${deltas.map(() => ':--').join(' | ')} |`);
  for (const n of sizes) {
    const cells = deltas.map((delta) => {
      const p = measureOutcomes({ n, baselinePassRate: 0.8, discordance, delta, trials });
      return `${pct(p.pass)} / ${pct(p.fail)} / ${pct(p.inconclusive)}`;
    });
    console.log(`| ${n} | ${cells.join(' | ')} |`);
  }
}
