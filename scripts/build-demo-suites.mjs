#!/usr/bin/env node
// Regenerates the two bundled demo suites (suites/mmlu-pro-tiers, suites/gsm8k-routing) and their goldens
// from the real recorded datasets, and prints the analysis their routing files and READMEs are based on.
//
//   node scripts/build-demo-suites.mjs            # datasets from ../shared/datasets (relative to the repo root)
//   EVALROUTE_DATASETS_DIR=/path node scripts/build-demo-suites.mjs
//
// Everything written here is committed, so the output must be byte-identical on every run: no dates, no
// Map/Set iteration over unsorted input, fixed seeds. README.md and SOURCE.md are written by hand.
// No dependencies on purpose: it must run from a bare checkout with plain Node.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DATA = resolve(ROOT, process.env.EVALROUTE_DATASETS_DIR ?? '../shared/datasets');

// ───────────────────────────── helpers ─────────────────────────────

function readJsonl(file) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${err.message}\n  → set EVALROUTE_DATASETS_DIR to the folder holding the shared datasets`);
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l);
      } catch (err) {
        throw new Error(`${file}:${i + 1}: invalid JSON (${err.message})`);
      }
    });
}

function byId(rows, file) {
  const m = new Map();
  for (const r of rows) {
    if (m.has(r.id)) throw new Error(`${file}: duplicate id ${r.id}`);
    m.set(r.id, r);
  }
  return m;
}

const written = [];
function write(rel, text) {
  const file = join(ROOT, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  written.push(rel);
}
const jsonl = (rows) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
// A JSON string literal is a valid YAML double-quoted scalar, so prompts round-trip exactly.
const yamlStr = (s) => JSON.stringify(s);

const sha256 = (s) => createHash('sha256').update(s).digest('hex');
const pct = (x) => (x * 100).toFixed(1);
const signedPts = (x) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)}`;

// The suite's graders, mirrored here because this script has no dependencies (the test checks the
// committed data with the real ones in src/graders/normalize.ts). `choice-letter` = MMLU-Pro's parser
// (compute_accuracy.py): the first "answer is (X)", else the first line with "answer: X"; then, unless
// strict, the same phrase with the letter wrapped in Markdown or LaTeX ("The answer is **G**.",
// "The answer is \( \boxed{F} \)."), which MMLU-Pro misses. MMLU-Pro's third stage (last standalone
// A–J anywhere) is not used: it reads the pronoun "I" in refusals as option I (see the suite README).
const MMLU_ANSWER_IS = /answer is \(?([A-J])\)?/;
const MMLU_ANSWER_COLON = /.*[aA]nswer:\s*([A-J])/;
const LENIENT_ANSWER_IS = /answer is:?[\s*_(]*(?:\\\(|\\\[|\$)?\s*(?:\\boxed\{|\\text\{|\\textbf\{)?\s*\(?([A-J])(?![A-Za-z0-9])/;
function choiceLetter(text, { strict = false } = {}) {
  const m = MMLU_ANSWER_IS.exec(text) ?? MMLU_ANSWER_COLON.exec(text) ?? (strict ? null : LENIENT_ANSWER_IS.exec(text));
  return m ? m[1] : null;
}

// `last-number` + `number`: the last number in prose (a sign only when attached and not after an
// operand, so "90 - 144" gives 144), `$` and thousands separators dropped, compared numerically
// (so "$20.00" equals "20" and "1,000" equals "1000").
const NUMBER_IN_TEXT = /(?:(?<![\w)\]])-\$?|\$-?)?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?/g;
function lastNumber(text) {
  const all = text.match(NUMBER_IN_TEXT);
  if (!all) return null;
  const n = Number(all[all.length - 1].replace(/[$,\s]/g, ''));
  return Number.isFinite(n) ? n : null;
}
const toNumber = (s) => Number(String(s).replace(/,/g, ''));
const numbersEqual = (a, b) => a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));

// Seeded paired bootstrap of the pass-rate difference, only to show reviewers how wide the interval is
// at this sample size; the gate's own statistics live in src/stats.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function pairedBootstrap(base, cand, iters = 10000, seed = 1) {
  const n = base.length;
  const diff = base.map((b, i) => Number(cand[i]) - Number(b));
  const rnd = mulberry32(seed);
  const stats = new Float64Array(iters);
  for (let k = 0; k < iters; k++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += diff[Math.floor(rnd() * n)];
    stats[k] = s / n;
  }
  stats.sort();
  return [stats[Math.floor(0.025 * iters)], stats[Math.floor(0.975 * iters)]];
}

/** Measures one tier: pass rates of baseline and tier model on the tier's cases and the paired delta. */
function measureTier(ids, baseOk, candOk) {
  const b = ids.map((id) => baseOk.get(id));
  const c = ids.map((id) => candOk.get(id));
  const n = ids.length;
  const bp = b.filter(Boolean).length;
  const cp = c.filter(Boolean).length;
  const onlyBase = ids.filter((_, i) => b[i] && !c[i]).length;
  const onlyCand = ids.filter((_, i) => c[i] && !b[i]).length;
  return { n, bp, cp, baseRate: bp / n, rate: cp / n, delta: (cp - bp) / n, onlyBase, onlyCand, ci: pairedBootstrap(b, c) };
}

function printTier(name, model, m, gate) {
  const verdict = gate
    ? m.delta >= -gate.maxRegression && m.rate >= gate.minPassRate
      ? `PASS (needs Δ ≥ −${pct(gate.maxRegression)}, rate ≥ ${pct(gate.minPassRate)}%)`
      : `FAIL (needs Δ ≥ −${pct(gate.maxRegression)}, rate ≥ ${pct(gate.minPassRate)}%)`
    : 'baseline';
  console.log(
    `  ${name.padEnd(9)} ${model.padEnd(13)} n=${String(m.n).padStart(3)}  baseline ${m.bp}/${m.n} ${pct(m.baseRate)}%  tier ${m.cp}/${m.n} ${pct(m.rate)}%` +
      `  Δ ${signedPts(m.delta)} pts  [95% paired bootstrap ${signedPts(m.ci[0])}, ${signedPts(m.ci[1])}]` +
      `  discordant ${m.onlyBase}↓/${m.onlyCand}↑  ${verdict}`,
  );
}

// ───────────────────────────── MMLU-Pro: four models, 14 categories ─────────────────────────────

const MMLU = {
  dir: 'suites/mmlu-pro-tiers',
  name: 'mmlu-pro-tiers',
  // key → dataset file, API model id, price (USD / 1M tokens) and where the price comes from
  models: [
    { key: 'gpt-4o', file: 'gpt-4o', model: 'gpt-4o-2024-05-13', price: [5.0, 15.0],
      note: 'OpenAI list price for gpt-4o-2024-05-13 at launch, May 2024' },
    { key: 'gemini-pro', file: 'gemini-1.5-pro-002', model: 'gemini-1.5-pro-002', price: [1.25, 5.0],
      note: 'Google Gemini API list price, prompts ≤128k tokens, from the Oct 2024 price cut' },
    { key: 'gemini-flash', file: 'gemini-1.5-flash-002', model: 'gemini-1.5-flash-002', price: [0.075, 0.3],
      note: 'Google Gemini API list price, prompts ≤128k tokens, as of Oct 2024' },
    { key: 'llama-8b', file: 'llama-3.1-8b-instruct', model: 'meta-llama/Meta-Llama-3.1-8B-Instruct', price: [0.18, 0.18],
      note: 'Together AI serverless list price for Llama 3.1 8B Instruct Turbo, July 2024 (outputs were recorded on a local vLLM run; this is a hosting price proxy)' },
  ],
  system:
    'The following are multiple choice questions (with answers) about {{category}}. Think step by step and then finish your answer with "the answer is (X)" where X is the correct letter choice.',
  user: 'Question: {{question}}\nOptions: {{#each options}}{{letter @index}}. {{this}}\n{{/each}}Answer: Let\'s think step by step.',
  params: '{ temperature: 0, max_tokens: 2048 }',
  // The three routing designs the README explains, one per gate outcome. Categories were chosen from the
  // table this script prints.
  routings: [
    {
      file: 'routing.yaml',
      title: 'specialist routing the gate can vouch for (PASS, plus a trial tier too small to decide)',
      tiers: [
        { name: 'mid', model: 'gemini-pro', gate: { minPassRate: 0.6, maxRegression: 0.05 },
          rule: 'pro-safe-categories', categories: ['physics', 'engineering', 'philosophy'] },
        { name: 'cheap', model: 'gemini-flash', gate: { minPassRate: 0.6, maxRegression: 0.05, onInconclusive: 'warn' },
          rule: 'flash-trial-categories', categories: ['biology', 'economics'] },
      ],
    },
    {
      file: 'routing-specialist.yaml',
      title: 'specialist routing the suite is too small to decide (INCONCLUSIVE, exit 4)',
      tiers: [
        { name: 'cheap', model: 'gemini-flash', gate: { minPassRate: 0.6, maxRegression: 0.05 },
          rule: 'flash-safe-categories', categories: ['biology', 'economics', 'philosophy', 'physics'] },
        { name: 'mid', model: 'gemini-pro', gate: { minPassRate: 0.6, maxRegression: 0.05 },
          rule: 'pro-safe-categories', categories: ['computer science', 'engineering', 'math'] },
      ],
    },
    {
      file: 'routing-aggressive.yaml',
      title: 'the pull request the gate must stop (FAIL, exit 1)',
      tiers: [
        { name: 'cheap', model: 'gemini-flash', gate: { minPassRate: 0.6, maxRegression: 0.05 },
          rule: 'flash-categories',
          categories: ['biology', 'economics', 'philosophy', 'physics', 'law', 'chemistry', 'health', 'other'] },
        { name: 'mid', model: 'gemini-pro', gate: { minPassRate: 0.6, maxRegression: 0.05 },
          rule: 'pro-safe-categories', categories: ['computer science', 'engineering', 'math'] },
      ],
    },
  ],
};

function buildMmlu() {
  const src = join(DATA, 'mmlu_pro_recorded');
  const rows = readJsonl(join(src, 'cases.jsonl'));
  const outputs = new Map(
    MMLU.models.map((m) => {
      const file = join(src, 'outputs', `${m.file}.jsonl`);
      return [m.key, byId(readJsonl(file), file)];
    }),
  );

  const cases = rows.map((r) => ({
    id: r.id,
    vars: { question: r.question, options: r.options, category: r.category },
    task: 'multiple-choice',
    tags: [r.category],
    metadata: { category: r.category, src: r.src, question_id: r.question_id },
  }));
  const goldens = rows.map((r) => ({ id: r.id, expected: r.answer, status: 'approved' }));
  write(`${MMLU.dir}/cases.jsonl`, jsonl(cases));
  write(`goldens/${MMLU.name}.jsonl`, jsonl(goldens));

  // pass: graded as the suite grades (choice-letter); strictPass: graded with MMLU-Pro's own parser.
  const pass = new Map();
  const strictPass = new Map();
  const agreement = [];
  for (const m of MMLU.models) {
    const out = outputs.get(m.key);
    const recorded = [];
    const ok = new Map();
    const strictOk = new Map();
    const a = { key: m.key, samePred: 0, sameCorrect: 0, strictSameCorrect: 0, unparsed: 0, strictUnparsed: 0, kinds: new Map() };
    for (const r of rows) {
      const o = out.get(r.id);
      if (!o) throw new Error(`mmlu_pro_recorded: no ${m.file} output for ${r.id}`);
      recorded.push({ id: r.id, model: m.model, output: o.output });
      const pred = choiceLetter(o.output);
      const strictPred = choiceLetter(o.output, { strict: true });
      ok.set(r.id, pred === r.answer);
      strictOk.set(r.id, strictPred === r.answer);
      if (pred === null) a.unparsed++;
      if (strictPred === null) a.strictUnparsed++;
      if (pred === o.recorded_pred) a.samePred++;
      else {
        const k = `suite ${pred ?? 'none'} vs recorded ${o.recorded_pred ?? 'none'}${pred === r.answer ? ' (suite right)' : ''}`;
        a.kinds.set(k, (a.kinds.get(k) ?? 0) + 1);
      }
      if ((pred === r.answer) === o.recorded_correct) a.sameCorrect++;
      if ((strictPred === r.answer) === o.recorded_correct) a.strictSameCorrect++;
    }
    write(`${MMLU.dir}/recorded/${m.key}.jsonl`, jsonl(recorded));
    pass.set(m.key, ok);
    strictPass.set(m.key, strictOk);
    agreement.push(a);
  }

  const categories = [...new Set(rows.map((r) => r.category))].sort();
  const idsOf = (cats) => rows.filter((r) => cats.includes(r.category)).map((r) => r.id);
  const keys = MMLU.models.map((m) => m.key);

  for (const [label, graded] of [['suite grader (choice-letter)', pass], ["MMLU-Pro's strict parser", strictPass]]) {
    const acc = (key, ids) => ids.filter((id) => graded.get(key).get(id)).length;
    console.log(`\n=== mmlu-pro-tiers: per-category accuracy, ${label} (correct of n; Δ = points vs gpt-4o) ===`);
    console.log(
      `  ${'category'.padEnd(17)} ${'n'.padStart(3)}  ${keys.map((k) => k.padStart(12)).join(' ')}  ${keys.slice(1).map((k) => `Δ ${k}`.padStart(14)).join(' ')}`,
    );
    for (const cat of [...categories, 'ALL']) {
      const ids = cat === 'ALL' ? rows.map((r) => r.id) : idsOf([cat]);
      const base = acc('gpt-4o', ids);
      const cells = keys.map((k) => `${acc(k, ids)} ${pct(acc(k, ids) / ids.length).padStart(5)}%`.padStart(12));
      const deltas = keys.slice(1).map((k) => signedPts((acc(k, ids) - base) / ids.length).padStart(14));
      console.log(`  ${cat.padEnd(17)} ${String(ids.length).padStart(3)}  ${cells.join(' ')}  ${deltas.join(' ')}`);
    }
  }

  console.log("\n=== mmlu-pro-tiers: grader agreement with the dataset's recorded_pred / recorded_correct ===");
  for (const a of agreement) {
    console.log(
      `  ${a.key.padEnd(13)} suite grader: same letter ${a.samePred}/${rows.length}, same verdict ${a.sameCorrect}/${rows.length}, no letter ${a.unparsed}` +
        `  |  strict MMLU-Pro parse: same verdict ${a.strictSameCorrect}/${rows.length}, no letter ${a.strictUnparsed}`,
    );
    for (const [k, v] of [...a.kinds].sort()) console.log(`      ${v}× ${k}`);
  }

  for (const r of MMLU.routings) {
    console.log(`\n=== mmlu-pro-tiers: ${r.file} (${r.title}) ===`);
    const routed = new Set();
    for (const t of r.tiers) {
      const ids = idsOf(t.categories).filter((id) => !routed.has(id));
      ids.forEach((id) => routed.add(id));
      printTier(t.name, t.model, measureTier(ids, pass.get('gpt-4o'), pass.get(t.model)), t.gate);
      printTier('  strict', t.model, measureTier(ids, strictPass.get('gpt-4o'), strictPass.get(t.model)), t.gate);
    }
    const rest = rows.map((x) => x.id).filter((id) => !routed.has(id));
    const restCats = categories.filter((c) => idsOf([c]).some((id) => !routed.has(id)));
    printTier('frontier', 'gpt-4o', measureTier(rest, pass.get('gpt-4o'), pass.get('gpt-4o')), null);
    console.log(`  frontier categories: ${restCats.join(', ')}`);
    write(`${MMLU.dir}/${r.file}`, routingYaml(r, 'gpt-4o', 'gpt-4o', rows, pass));
  }

  write(`${MMLU.dir}/suite.yaml`, mmluSuiteYaml());
  write(`${MMLU.dir}/evalroute.config.yaml`, configYaml(MMLU.models, 'routing.yaml'));
}

function routingYaml(r, baseline, frontierModel, rows, pass) {
  const idsOf = (cats) => rows.filter((x) => cats.includes(x.category)).map((x) => x.id);
  const lines = [
    `# ${r.title} — generated by scripts/build-demo-suites.mjs; see README.md for the analysis.`,
    `# Measured on this suite (gpt-4o = baseline; graded with the suite's choice-letter extractor):`,
  ];
  const routed = new Set();
  for (const t of r.tiers) {
    const ids = idsOf(t.categories).filter((id) => !routed.has(id));
    ids.forEach((id) => routed.add(id));
    const m = measureTier(ids, pass.get(baseline), pass.get(t.model));
    lines.push(
      `#   ${t.name}: ${t.model} ${m.cp}/${m.n} (${pct(m.rate)}%) vs gpt-4o ${m.bp}/${m.n} (${pct(m.baseRate)}%), Δ ${signedPts(m.delta)} pts`,
    );
  }
  lines.push(`baseline: ${baseline}`, 'tiers:');
  const width = Math.max(...r.tiers.map((t) => t.name.length), 'frontier'.length) + 1;
  for (const t of r.tiers) {
    lines.push(
      `  ${`${t.name}:`.padEnd(width)} { model: ${t.model}, gate: { ${Object.entries(t.gate).map(([k, v]) => `${k}: ${v}`).join(', ')} } }`,
    );
  }
  lines.push(`  ${'frontier:'.padEnd(width)} { model: ${frontierModel} }`, 'rules:       # first match wins; the last rule is the default');
  for (const t of r.tiers) {
    const cats = t.categories.map((c) => (/\s/.test(c) ? yamlStr(c) : c)).join(', ');
    lines.push(`  - { name: ${t.rule}, when: { metadata: { category: [${cats}] } }, tier: ${t.name} }`);
  }
  lines.push('  - { name: everything-else, tier: frontier }');
  return lines.join('\n') + '\n';
}

function mmluSuiteYaml() {
  return [
    '# Generated by scripts/build-demo-suites.mjs (edit the script, not this file).',
    `name: ${MMLU.name}`,
    'description: >-',
    '  490 MMLU-Pro questions (35 in each of 14 categories) with the recorded chain-of-thought answers of',
    '  GPT-4o, Gemini-1.5-Pro, Gemini-1.5-Flash and Llama-3.1-8B. Shows per-category routing to cheaper',
    '  tiers that holds, and the over-eager routing PR the gate stops.',
    'cases: cases.jsonl',
    `goldens: ../../goldens/${MMLU.name}.jsonl`,
    '# The recorded outputs came from 5-shot CoT runs; this is the zero-shot form of the same instruction,',
    '# used for token estimates and for live re-runs against real APIs.',
    'prompt:',
    `  system: ${yamlStr(MMLU.system)}`,
    `  user: ${yamlStr(MMLU.user)}`,
    `params: ${MMLU.params}`,
    'graders:',
    '  - { type: exact, extract: choice-letter, normalize: [trim, case] }',
    '',
  ].join('\n');
}

function configYaml(models, routing) {
  const width = Math.max(...models.map((m) => m.key.length)) + 1;
  const lines = [
    '# Generated by scripts/build-demo-suites.mjs (edit the script, not this file).',
    '# Every model replays real recorded outputs (provider: recorded), so this suite runs offline with no API key.',
    '# Prices: USD per 1M tokens, list prices at the time the outputs were recorded:',
    ...models.map((m) => `#   ${m.key}: $${m.price[0]} in / $${m.price[1]} out — ${m.note}${m.table ? ` (from evalroute's price table: ${m.table})` : ''}`),
    'models:',
    ...models.map(
      (m) =>
        `  ${`${m.key}:`.padEnd(width)} { provider: recorded, model: ${m.model}, path: recorded/${m.key}.jsonl, price: ${m.table ? `{ table: ${m.table} }` : `{ input: ${m.price[0]}, output: ${m.price[1]} }`} }`,
    ),
    `routing: ${routing}`,
    '',
  ];
  return lines.join('\n');
}

// ───────────────────────────── GSM8K: GPT-4-Turbo vs Mixtral ─────────────────────────────

const GSM = {
  dir: 'suites/gsm8k-routing',
  name: 'gsm8k-routing',
  sample: 500,
  salt: 'evalroute-v1:gsm8k:',
  models: [
    { key: 'gpt-4-turbo', file: 'gpt-4-1106-preview', model: 'gpt-4-1106-preview', price: [10.0, 30.0], table: 'gpt-4-1106-preview',
      note: 'OpenAI list price for gpt-4-1106-preview (GPT-4 Turbo), Nov 2023 – 2024' },
    { key: 'mixtral', file: 'mixtral-8x7b-instruct-v0.1', model: 'mistralai/Mixtral-8x7B-Instruct-v0.1', price: [0.6, 0.6], table: 'mixtral-8x7b',
      note: 'Together AI serverless list price for Mixtral-8x7B-Instruct-v0.1, 2024' },
  ],
  user:
    'Solve the following math word problem. Reason step by step, then give the final answer as a plain number on the last line, in the form "#### <number>".\n\nQuestion: {{question}}\nAnswer:',
  params: '{ temperature: 0, max_tokens: 1024 }',
  // "Short word problems are easy: send them to the cheap model." Rendered prompt length, in characters.
  maxInputChars: 400,
  gate: { minPassRate: 0.8, maxRegression: 0.05 },
};

// The router measures the rendered prompt; this suite has a user message only and the template
// has a single {{question}} slot, so a plain substitution gives the same string.
const gsmRendered = (q) => GSM.user.replace('{{question}}', q);

function buildGsm8k() {
  const src = join(DATA, 'routellm_gsm8k');
  const all = readJsonl(join(src, 'cases.jsonl'));
  const rank = new Map(all.map((r) => [r.id, sha256(GSM.salt + r.id)]));
  const chosen = [...all]
    .sort((a, b) => (rank.get(a.id) < rank.get(b.id) ? -1 : rank.get(a.id) > rank.get(b.id) ? 1 : 0))
    .slice(0, GSM.sample)
    // Committed in GSM8K test order so diffs and reviews read naturally; membership is what the hash decides.
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const cases = chosen.map((r) => ({
    id: r.id,
    vars: { question: r.question },
    task: 'math-word-problem',
    metadata: { contaminated_in_routellm_train: r.contaminated_in_routellm_train },
  }));
  const goldens = chosen.map((r) => ({ id: r.id, expected: r.expected_answer, reference: r.reference_solution, status: 'approved' }));
  write(`${GSM.dir}/cases.jsonl`, jsonl(cases));
  write(`goldens/${GSM.name}.jsonl`, jsonl(goldens));

  const pass = new Map();
  console.log('\n=== gsm8k-routing: grader agreement (last-number vs RouteLLM recorded_correct) ===');
  for (const m of GSM.models) {
    const file = join(src, 'outputs', `${m.file}.jsonl`);
    const out = byId(readJsonl(file), file);
    const ok = new Map();
    const recorded = [];
    let agree = 0;
    const disagree = [];
    for (const r of chosen) {
      const o = out.get(r.id);
      if (!o) throw new Error(`${file}: no output for ${r.id}`);
      recorded.push({ id: r.id, model: m.model, output: o.output });
      const n = lastNumber(o.output);
      const correct = n !== null && numbersEqual(n, toNumber(r.expected_answer));
      ok.set(r.id, correct);
      if (correct === o.recorded_correct) agree++;
      else disagree.push(`${r.id} (gold ${r.expected_answer}, last number ${n}, RouteLLM ${o.recorded_correct})`);
    }
    write(`${GSM.dir}/recorded/${m.key}.jsonl`, jsonl(recorded));
    pass.set(m.key, ok);
    const acc = [...ok.values()].filter(Boolean).length;
    const rl = chosen.filter((r) => out.get(r.id).recorded_correct).length;
    console.log(`  ${m.key.padEnd(12)} agree ${agree}/${chosen.length}; accuracy ours ${acc}/${chosen.length}, RouteLLM ${rl}/${chosen.length}`);
    for (const d of disagree) console.log(`    ${d}`);
  }

  console.log(`\n=== gsm8k-routing: routing.yaml (maxInputChars: ${GSM.maxInputChars} → mixtral) ===`);
  const len = new Map(chosen.map((r) => [r.id, gsmRendered(r.question).length]));
  const sorted = [...len.values()].sort((a, b) => a - b);
  console.log(
    `  rendered prompt chars: min ${sorted[0]}, median ${sorted[Math.floor(sorted.length / 2)]}, max ${sorted[sorted.length - 1]}`,
  );
  for (const n of [340, 360, 380, 400, 420, 440]) {
    const ids = chosen.filter((r) => len.get(r.id) <= n).map((r) => r.id);
    const m = measureTier(ids, pass.get('gpt-4-turbo'), pass.get('mixtral'));
    console.log(`    maxInputChars ${n}: ${ids.length} cases (${pct(ids.length / chosen.length)}%), Δ ${signedPts(m.delta)} pts`);
  }
  const cheap = chosen.filter((r) => len.get(r.id) <= GSM.maxInputChars).map((r) => r.id);
  const rest = chosen.filter((r) => len.get(r.id) > GSM.maxInputChars).map((r) => r.id);
  const mc = measureTier(cheap, pass.get('gpt-4-turbo'), pass.get('mixtral'));
  printTier('cheap', 'mixtral', mc, GSM.gate);
  printTier('frontier', 'gpt-4-turbo', measureTier(rest, pass.get('gpt-4-turbo'), pass.get('gpt-4-turbo')), null);
  const whole = chosen.map((r) => r.id);
  console.log('  for reference, the whole suite:');
  printTier('all', 'mixtral', measureTier(whole, pass.get('gpt-4-turbo'), pass.get('mixtral')), null);

  write(`${GSM.dir}/suite.yaml`, [
    '# Generated by scripts/build-demo-suites.mjs (edit the script, not this file).',
    `name: ${GSM.name}`,
    'description: >-',
    `  ${GSM.sample} GSM8K test problems with the recorded answers of GPT-4-Turbo (gpt-4-1106-preview) and`,
    '  Mixtral-8x7B-Instruct from RouteLLM. Shows a plausible-looking routing PR ("short problems go to the',
    '  cheap model") that the gate stops.',
    'cases: cases.jsonl',
    `goldens: ../../goldens/${GSM.name}.jsonl`,
    '# The recorded outputs came from RouteLLM\'s 8-shot "Question: … Answer: …" prompt; this zero-shot',
    '# instruction is used for token estimates and for live re-runs against real APIs.',
    'prompt:',
    `  user: ${yamlStr(GSM.user)}`,
    `params: ${GSM.params}`,
    'graders:',
    '  - { type: exact, extract: last-number, normalize: [number] }',
    '',
  ].join('\n'));
  write(`${GSM.dir}/evalroute.config.yaml`, configYaml(GSM.models, 'routing.yaml'));
  write(`${GSM.dir}/routing.yaml`, [
    '# "Short word problems are easy, send them to the cheap model": the kind of routing PR the gate exists',
    '# to stop. Generated by scripts/build-demo-suites.mjs; see README.md for the analysis.',
    `# Measured on this suite: ${mc.n} of ${chosen.length} cases match; mixtral ${mc.cp}/${mc.n} (${pct(mc.rate)}%) vs`,
    `# gpt-4-turbo ${mc.bp}/${mc.n} (${pct(mc.baseRate)}%), Δ ${signedPts(mc.delta)} pts → the cheap tier fails its gate.`,
    'baseline: gpt-4-turbo',
    'tiers:',
    `  cheap:    { model: mixtral, gate: { minPassRate: ${GSM.gate.minPassRate}, maxRegression: ${GSM.gate.maxRegression} } }`,
    '  frontier: { model: gpt-4-turbo }',
    'rules:       # first match wins; the last rule is the default',
    `  - { name: short-word-problems, when: { maxInputChars: ${GSM.maxInputChars} }, tier: cheap }`,
    '  - { name: everything-else, tier: frontier }',
    '',
  ].join('\n'));
}

buildMmlu();
buildGsm8k();
console.log(`\nwrote ${written.length} files:\n  ${written.join('\n  ')}`);
