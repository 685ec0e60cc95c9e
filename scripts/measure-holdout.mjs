#!/usr/bin/env node
// Measures the selection bias of `evalroute suggest` on the bundled MMLU-Pro demo (docs/statistics.md,
// "Selection bias and --holdout"): for each seed, choose per-category models on one half of the cases
// (`--holdout 0.5`) and compare the routed tiers' delta on that half with their delta on the held-out half.
//
//   npm run build && node scripts/measure-holdout.mjs [seeds=100] [minCases=15] [rule=noninferiority|point|significant]
//
// Offline (the demo replays recorded outputs) and deterministic: the same arguments print the same figures.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { suggest } = await import(join(ROOT, 'dist/index.js'));
const seeds = Number(process.argv[2] ?? 100);
const minCases = Number(process.argv[3] ?? 15);
const rule = process.argv[4]; // default: the gate's default rule
const suiteDir = join(ROOT, 'suites/mmlu-pro-tiers');
const dir = mkdtempSync(join(tmpdir(), 'evalroute-holdout-'));
const db = join(dir, 'results.db');

/** Delta vs the baseline over every case a cheaper tier answers (null when nothing is routed). */
function routed(score) {
  let cases = 0;
  let sum = 0;
  for (const t of score.tiers) {
    if (t.model === t.baselineModel) continue;
    cases += t.cases;
    sum += t.delta * t.cases;
  }
  return cases ? { cases, delta: sum / cases } : null;
}
const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
const pts = (x) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)} pts`;

try {
  const common = { suiteDir, db, by: 'metadata.category', ...(rule ? { rule } : {}) };
  const all = await suggest({ ...common, fill: true, minCases: 20 });
  const inSample = routed(all.projected);
  console.log(`rule ${rule ?? '(default)'}`);
  console.log(
    inSample
      ? `No holdout (all ${all.chosenOn.cases} cases, --min-cases 20): routed tiers ${pts(inSample.delta)} over ${inSample.cases} cases, gate ${all.projected.pass ? 'passes' : 'does not pass'}`
      : `No holdout (all ${all.chosenOn.cases} cases, --min-cases 20): nothing routed`,
  );

  const rows = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const r = await suggest({ ...common, holdout: 0.5, seed, minCases });
    const chosen = routed(r.projected);
    const held = routed(r.holdout.score);
    if (chosen && held) rows.push({ chosen, held, chosenPass: r.projected.pass, heldPass: r.holdout.score.pass });
  }
  console.log(`--holdout 0.5 --min-cases ${minCases}, seeds 1..${seeds} (${rows.length} routed something):`);
  if (rows.length) report(rows);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

function report(rows) {
  console.log(`  routed tiers on the half they were chosen on: ${pts(mean(rows.map((r) => r.chosen.delta)))} (mean ${mean(rows.map((r) => r.chosen.cases)).toFixed(0)} cases); gate passes in ${rows.filter((r) => r.chosenPass).length}`);
  console.log(`  the same tiers on the held-out half:          ${pts(mean(rows.map((r) => r.held.delta)))} (mean ${mean(rows.map((r) => r.held.cases)).toFixed(0)} cases); gate passes in ${rows.filter((r) => r.heldPass).length}`);
  console.log(`  optimism (chosen-on minus held-out): ${pts(mean(rows.map((r) => r.chosen.delta - r.held.delta)))} on average`);
}
