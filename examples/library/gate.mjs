#!/usr/bin/env node
// Gate a suite from your own script instead of the CLI: the same run, the same results database, the
// same per-tier verdicts, but as data you can act on (post to chat, fail a deploy, compare runs).
//
//   node node_modules/evalroute/examples/library/gate.mjs [suite-dir] [--db file]
//
// With no suite it gates the bundled offline demo (recorded answers of four real models, no API key).
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EvalrouteError, run } from 'evalroute';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { db: { type: 'string' } } });
const suiteDir = positionals[0] ?? fileURLToPath(new URL('../../suites/mmlu-pro-tiers/', import.meta.url));

const pct = (x) => `${(x * 100).toFixed(1)}%`;
try {
  const { summary, exitCode, dbFile } = await run({ suiteDir, ...(values.db ? { db: values.db } : {}) });
  for (const t of summary.tiers) {
    const versus = t.model === t.baselineModel ? '(the baseline)' : `vs ${t.baselineModel} ${pct(t.baselinePassRate)}`;
    console.log(`${t.outcome.toUpperCase().padEnd(12)}  ${t.tier}: ${t.model} ${pct(t.passRate)} on ${t.cases} cases ${versus}`);
    // Each verdict's headline says what it rests on: the interval, or how many cases would decide it.
    if (t.model !== t.baselineModel) console.log(`              ${t.headline}`);
  }
  console.log(`run ${summary.runId} (${summary.status}) stored in ${dbFile}`);
  // 0 every tier shown to hold, 1 a tier failed, 3 incomplete, 4 not decided: the CLI's own exit codes.
  process.exitCode = exitCode;
} catch (err) {
  // Bad config or usage: a message that names the file and line, and exit code 2.
  if (!(err instanceof EvalrouteError)) throw err;
  console.error(err.message);
  process.exitCode = err.exitCode;
}
