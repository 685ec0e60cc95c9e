// Measures sequential runs against the fixed design by seeded simulation and prints the table
// docs/statistics.md ("Sequential runs") quotes.
//   npm run build && node scripts/sequential-characteristics.mjs [trials]
// Baseline pass rate 80%, margin 5 pts; r is the share of cases on which the two models disagree (the
// 15-pt regression uses r = max(r, 20%)). "vs fixed" compares mean cases with the fixed-design n that has
// the same P(PASS) on equal tiers. test/sequential.test.ts re-measures the n = 900 row and asserts it.
import { fixedDesign, fixedNForPower, sequentialDesign, simulate } from '../dist/gate/sequential-characteristics.js';
import { groupSequentialBoundaries } from '../dist/stats/sequential.js';

const trials = Number(process.argv[2] ?? 6000);
const designs = [
  ['OBF PASS + Pocock FAIL, K = 5 (default)', 'obrien-fleming', 'pocock', 5],
  ['OBF PASS + Pocock FAIL, K = 3', 'obrien-fleming', 'pocock', 3],
  ['OBF both sides, K = 3', 'obrien-fleming', 'obrien-fleming', 3],
];
const f = (x, d = 3) => x.toFixed(d);
console.log(`${trials} seeded tiers per cell: P(PASS) equal | P(PASS) at −5 | P(FAIL) at −10 | P(FAIL) at −15 | cases, equal tiers (vs fixed, same power) | cases at −15`);
for (const [discordance, n] of [[0.2, 200], [0.2, 600], [0.2, 900], [0.1, 200], [0.1, 400]]) {
  const at = (delta, r = discordance) => ({ baselinePassRate: 0.8, discordance: r, delta, margin: 0.05 });
  const row = (name, design) => {
    const equal = simulate(design, at(0), trials, 1);
    const onMargin = simulate(design, at(-0.05), trials, 2);
    const minus10 = simulate(design, at(-0.1), trials, 5);
    const minus15 = simulate(design, at(-0.15, Math.max(discordance, 0.2)), trials, 3);
    const nFixed = design.sizes.length > 1 ? fixedNForPower(at(0), equal.pass, Math.round(trials * 2 / 3), 4, n + 50) : n;
    const fewer = (m) => `${((1 - m / nFixed) * 100).toFixed(0)}% fewer`;
    console.log(`| r = ${discordance * 100}%, n = ${n} | ${name} | ${f(equal.pass)} | ${f(onMargin.pass, 4)} | ${f(minus10.fail)} | ${f(minus15.fail)} | ${f(equal.meanCases, 0)} of ${nFixed} (${fewer(equal.meanCases)}) | ${f(minus15.meanCases, 0)} (${fewer(minus15.meanCases)}) |`);
  };
  row('fixed', fixedDesign(n));
  for (const [name, pass, fail, looks] of designs) {
    row(name, sequentialDesign(n, groupSequentialBoundaries({ shape: pass, looks }), groupSequentialBoundaries({ shape: fail, looks })));
  }
}
