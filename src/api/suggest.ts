/**
 * `evalroute suggest`: for each class of cases (by task, first tag or a metadata key), the cheapest
 * model whose tier would pass the gate on that class — decided by the gate's own `decideTier`, on
 * stored results only — and the routing file that follows, as a proposal for a person to review.
 *
 * Classes with fewer than `minCases` cases stay on the frontier: a class of 8 cases can "pass" on luck
 * alone. The proposal is then scored as a whole, exactly as `simulate` would score it, so its header
 * states the projected savings and each tier's delta and interval rather than a sum of class guesses.
 * The class choices are made on the same cases that score them, so that projection is optimistic (on the
 * MMLU-Pro demo by several points: docs/statistics.md). With `holdout`, a seeded part of the cases is kept
 * out of the choice and the proposal is also gated on it alone — the fair estimate. Either way the
 * routing file records which cases it was chosen on, so `run` and `gate` can warn when they gate on them.
 */
import { confidenceLevel, pct, pts } from '../core/format.js';
import { passed } from '../core/calls.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../core/errors.js';
import type { CallOutcome, Case, CaseResult, EvalConfig, GateRule, GateThresholds } from '../core/types.js';
import { loadPortkeyRouting } from '../config/portkey.js';
import { decideTier, DEFAULT_MAX_REGRESSION, type GateVerdict } from '../gate/decide.js';
import { caseIdsHash, isHeldOut, provenanceComment, type SelectionProvenance } from '../routing/provenance.js';
import { loadProject, run } from './run.js';
import { costPer1k, openScorer, type MissingPair, type ModelAccuracy, type RoutingScore, type ScorerOptions } from './simulate.js';
import { byCodeUnits } from '../core/compare.js';

export interface SuggestOptions extends ScorerOptions {
  /** Candidate models (config keys). Default: every configured model. */
  models?: string[];
  /** `task` (default), `tag` (a case's first tag) or `metadata.<key>`. */
  by?: string;
  /** Routing file whose baseline is the frontier. Default: the config's routing file. */
  routing?: string;
  minPassRate?: number;
  /** Default: the gate's default margin (0.05). */
  maxRegression?: number;
  /** The gate rule a class must pass (and the suggested tiers get). Default: the gate's default rule. */
  rule?: GateRule;
  /** Smallest class that may leave the frontier. Default 20. */
  minCases?: number;
  /**
   * First run every candidate model on every case (normal cache: only pairs never stored are called),
   * since a class can only be judged on a model's answers to all of it.
   */
  fill?: boolean;
  /** API keys for --fill. Default: process.env. */
  env?: Record<string, string | undefined>;
  /** `yaml` (default): evalroute's routing.yaml; `portkey`: a Portkey gateway config (needs `by: metadata.<key>`). */
  format?: 'yaml' | 'portkey';
  /** Fraction of the cases (0 < h < 1) kept out of the choice and used only to gate the proposal. */
  holdout?: number;
  /** Seed of the holdout split (a case's side depends only on its id and the seed). Default 1. */
  seed?: number;
}

export interface CandidateVerdict {
  model: string;
  costPer1k: number | null;
  passRate: number;
  delta: number;
  ci?: [number, number];
  pass: boolean;
}

export interface ClassChoice {
  /** The class label (the key's value as text). */
  name: string;
  cases: number;
  /** The chosen model; the baseline when no cheaper model holds (or the class is too small). */
  model: string;
  baselinePassRate: number;
  /** Every candidate cheaper than the baseline on this class, cheapest first (unpriced last). */
  candidates: CandidateVerdict[];
  /** Why the class stays on the frontier, when it does. */
  note?: string;
}

export interface SuggestResult {
  suite: string;
  baseline: string;
  by: string;
  minCases: number;
  gate: GateThresholds;
  classes: ClassChoice[];
  /** Every candidate model (and the baseline) over all scored cases. */
  models: ModelAccuracy[];
  /** The proposal scored like `simulate` scores a routing file, on the cases it was chosen on (optimistic). */
  projected: Omit<RoutingScore, 'assignment'>;
  /** With `holdout`: the split, and the proposal gated on the held-out cases only (the fair estimate). */
  holdout?: { fraction: number; seed: number; score: Omit<RoutingScore, 'assignment'> };
  /** The cases the choices were made on, as recorded in the routing file. */
  chosenOn: SelectionProvenance;
  /** The routing file: routing.yaml with its header comment, or the Portkey config JSON (see `format`). */
  yaml: string;
  format: 'yaml' | 'portkey';
  /** The header comment alone (what the proposal projects and why), for formats without comments. */
  header: string;
  missing: MissingPair[];
}

export async function suggest(opts: SuggestOptions): Promise<SuggestResult> {
  const by = opts.by ?? 'task';
  const keyOf = classKey(by);
  const format = opts.format ?? 'yaml';
  if (format === 'portkey' && !by.startsWith('metadata.')) {
    throw new UsageError(`--format portkey needs --by metadata.<key>: Portkey conditions see request metadata and params, not a case's ${by}\n  → e.g. --by metadata.category`);
  }
  const minCases = opts.minCases ?? 20;
  const gate: GateThresholds = {
    ...(opts.minPassRate !== undefined ? { minPassRate: opts.minPassRate } : {}),
    maxRegression: opts.maxRegression ?? DEFAULT_MAX_REGRESSION,
    ...(opts.rule ? { rule: opts.rule } : {}),
  };
  const holdout = opts.holdout ?? 0;
  const seed = opts.seed ?? 1;
  if (opts.holdout !== undefined && !(holdout > 0 && holdout < 1)) {
    throw new UsageError(`--holdout ${opts.holdout}: expected a fraction strictly between 0 and 1, e.g. --holdout 0.5 (half the cases choose, the other half gate)`);
  }
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--seed ${opts.seed}: expected a non-negative integer`);
  const project = loadProject(opts);
  const baseline = project.routing.baseline;
  const candidates = opts.models ?? [...project.config.models.keys()];
  for (const m of candidates) {
    if (!project.config.models.has(m)) {
      throw new UsageError(`--models: "${m}" is not defined in ${project.config.file}\n  → known models: ${[...project.config.models.keys()].join(', ')}`);
    }
  }
  if (opts.fill) await fillModels(opts, baseline, candidates);
  // The fill above changes stored results only, so the config and suite loaded here still hold.
  const scorer = await openScorer(opts, project);
  try {
    const { byModel, missing } = await scorer.outcomesByModel(candidates, baseline);
    const base = byModel.get(baseline)!;
    // Only cases on the choosing side of the split, with a scored baseline answer, decide anything.
    const chosenOn = new Set(scorer.suite.cases.filter((c) => base.has(c.id) && !isHeldOut(c.id, holdout, seed)).map((c) => c.id));

    const classes = new Map<string, { raw: unknown; cases: Case[] }>();
    for (const c of scorer.suite.cases) {
      const raw = keyOf(c);
      const name = raw === undefined ? '(none)' : String(raw);
      const cls = classes.get(name) ?? { raw, cases: [] };
      cls.cases.push(c);
      classes.set(name, cls);
    }

    const choices: ClassChoice[] = [];
    for (const [name, cls] of [...classes].sort(([a], [b]) => byCodeUnits(a, b))) {
      const scored = cls.cases.filter((c) => chosenOn.has(c.id));
      const baselineOutcomes = scored.map((c) => base.get(c.id)!);
      const baselineCost = costPer1k(baselineOutcomes);
      const verdicts: CandidateVerdict[] = [];
      for (const model of candidates) {
        if (model === baseline) continue;
        const outcomes = byModel.get(model)!;
        const results: CaseResult[] = scored
          .filter((c) => outcomes.has(c.id))
          .map((c) => ({ caseId: c.id, tier: name, baseline: base.get(c.id)!, candidate: outcomes.get(c.id)! }));
        if (results.length === 0) continue;
        const cost = costPer1k(results.map((r) => r.candidate));
        if (cost !== null && baselineCost !== null && cost >= baselineCost) continue;
        const v: GateVerdict = decideTier({ tier: { name, model, gate }, baselineModel: baseline, results });
        verdicts.push({ model, costPer1k: cost, passRate: v.passRate, delta: v.delta, ...(v.ci ? { ci: v.ci } : {}), pass: v.pass && results.length === scored.length });
      }
      verdicts.sort((a, b) => (a.costPer1k ?? Infinity) - (b.costPer1k ?? Infinity) || byCodeUnits(a.model, b.model));
      const winner = verdicts.find((v) => v.pass);
      const choice: ClassChoice = {
        name,
        cases: scored.length,
        model: baseline,
        baselinePassRate: scored.length ? baselineOutcomes.filter(passed).length / scored.length : 0,
        candidates: verdicts,
      };
      if (cls.raw === undefined) choice.note = `cases without ${by} cannot be matched by a rule`;
      else if (!winner) choice.note = 'no cheaper model holds the bar';
      else if (scored.length < minCases) choice.note = `${winner.model} holds, but ${scored.length} cases < ${minCases}: too few to trust, kept on the frontier`;
      else choice.model = winner.model;
      choices.push(choice);
    }

    const rawOf = (name: string) => classes.get(name)!.raw;
    const body = format === 'portkey' ? portkeyJson(scorer.config, baseline, by, choices, rawOf) : routingYaml(baseline, by, gate, choices, rawOf);
    const dir = mkdtempSync(join(tmpdir(), 'evalroute-suggest-'));
    const heldOutIds = new Set(scorer.suite.cases.filter((c) => isHeldOut(c.id, holdout, seed)).map((c) => c.id));
    let projected: RoutingScore;
    let heldOut: RoutingScore | undefined;
    try {
      const file = join(dir, format === 'portkey' ? 'portkey.suggested.json' : 'routing.suggested.yaml');
      writeFileSync(file, body);
      // The proposal is scored in the format it is written in, so the projection is the file's own.
      const proposal = format === 'portkey' ? loadPortkeyRouting(file, { ...scorer.config, baseline, gate }) : scorer.loadRouting(file);
      projected = (await scorer.scoreRouting(proposal, holdout > 0 ? chosenOn : undefined)).score;
      if (holdout > 0) heldOut = (await scorer.scoreRouting(proposal, heldOutIds)).score;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const asProposal = ({ assignment: _assignment, ...score }: RoutingScore) => ({ ...score, routingFile: '(proposal)' });
    const projectedOut = asProposal(projected);
    const chosenOnRecord: SelectionProvenance = { suite: scorer.suite.name, cases: chosenOn.size, of: scorer.suite.cases.length, holdout, seed, ids: caseIdsHash(chosenOn) };
    const models = candidates.includes(baseline) ? candidates : [baseline, ...candidates];
    const accuracies = models.map((model) => accuracy(model, [...byModel.get(model)!.values()]));
    const result = {
      suite: scorer.suite.name,
      baseline,
      by,
      minCases,
      gate,
      classes: choices,
      models: accuracies,
      projected: projectedOut,
      ...(heldOut ? { holdout: { fraction: holdout, seed, score: asProposal(heldOut) } } : {}),
      chosenOn: chosenOnRecord,
      missing,
    };
    const notes = header(result);
    // A JSON config has no comments: the header (with the chosen-on record) is printed beside it instead.
    return { ...result, format, header: notes, yaml: format === 'portkey' ? body : notes + body };
  } finally {
    scorer.close();
  }
}

/** One run per candidate model with every case routed to it, through the normal response cache. */
async function fillModels(opts: SuggestOptions, baseline: string, models: string[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'evalroute-fill-'));
  try {
    for (const model of new Set(models.filter((m) => m !== baseline))) {
      const file = join(dir, `all-${model.replace(/[^A-Za-z0-9_-]/g, '_')}.yaml`);
      writeFileSync(file, `baseline: ${y(baseline)}\ntiers:\n  all: { model: ${y(model)} }\nrules:\n  - { name: all, tier: all }\n`);
      await run({
        suiteDir: opts.suiteDir,
        routing: file,
        ...(opts.config ? { config: opts.config } : {}),
        ...(opts.db ? { db: opts.db } : {}),
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
        ...(opts.allowPaths ? { allowPaths: opts.allowPaths } : {}),
        ...(opts.env ? { env: opts.env } : {}),
        cache: 'use',
        through: false,
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function accuracy(model: string, outcomes: CallOutcome[]): ModelAccuracy {
  const ok = outcomes.filter(passed).length;
  return { model, cases: outcomes.length, passed: ok, passRate: outcomes.length ? ok / outcomes.length : 0, costPer1k: costPer1k(outcomes) };
}

function classKey(by: string): (c: Case) => unknown {
  if (by === 'task') return (c) => c.task;
  if (by === 'tag') return (c) => c.tags?.[0];
  const m = /^metadata\.(.+)$/.exec(by);
  if (m) {
    const key = m[1]!;
    return (c) => {
      const v = c.metadata?.[key];
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : undefined;
    };
  }
  throw new UsageError(`--by "${by}" is not supported\n  → use task, tag or metadata.<key> (e.g. metadata.category)`);
}

/** JSON scalars are valid YAML flow scalars, so values keep their type (1 and "1" differ in rules). */
const y = (v: unknown) => JSON.stringify(v);

function routingYaml(baseline: string, by: string, gate: GateThresholds, choices: ClassChoice[], rawOf: (name: string) => unknown): string {
  const groups = new Map<string, ClassChoice[]>();
  for (const c of choices) {
    if (c.model === baseline) continue;
    groups.set(c.model, [...(groups.get(c.model) ?? []), c]);
  }
  const frontier = groups.has('frontier') ? 'frontier-baseline' : 'frontier';
  const gateText = Object.entries(gate)
    .map(([k, v]) => `${k}: ${y(v)}`)
    .join(', ');
  const lines = [`baseline: ${y(baseline)}`, 'tiers:'];
  for (const model of groups.keys()) lines.push(`  ${y(model)}: { model: ${y(model)}, gate: { ${gateText} } }`);
  lines.push(`  ${frontier}: { model: ${y(baseline)} }`, 'rules:       # first match wins; the last rule is the default');
  for (const [model, list] of groups) {
    const values = list.map((c) => y(rawOf(c.name))).join(', ');
    const when = by === 'task' ? `{ task: [${values}] }` : by === 'tag' ? `{ tags: [${values}] }` : `{ metadata: { ${y(by.slice('metadata.'.length))}: [${values}] } }`;
    lines.push(`  - { name: ${y(`to-${model}`)}, when: ${when}, tier: ${y(model)} }`);
  }
  lines.push(`  - { name: default, tier: ${frontier} }`, '');
  return lines.join('\n');
}

/**
 * The same proposal as a Portkey conditional config: one condition per chosen model over the class
 * key (`$in` its classes), the baseline as default. Targets carry the provider and model id; the
 * gateway's credentials (api_key, virtual_key) are the team's to add, never evalroute's to write.
 */
function portkeyJson(config: EvalConfig, baseline: string, by: string, choices: ClassChoice[], rawOf: (name: string) => unknown): string {
  const field = `metadata.${by.slice('metadata.'.length)}`;
  const groups = new Map<string, unknown[]>();
  for (const c of choices) if (c.model !== baseline) groups.set(c.model, [...(groups.get(c.model) ?? []), rawOf(c.name)]);
  const target = (name: string, key: string) => {
    const m = config.models.get(key)!;
    return { name, provider: m.provider, ...(m.baseURL ? { custom_host: m.baseURL } : {}), override_params: { model: m.model } };
  };
  const frontier = groups.has('frontier') ? 'frontier-baseline' : 'frontier';
  const doc = {
    strategy: {
      mode: 'conditional',
      conditions: [...groups].map(([model, values]) => ({ query: { [field]: { $in: values } }, then: model })),
      default: frontier,
    },
    targets: [...[...groups.keys()].map((model) => target(model, model)), target(frontier, baseline)],
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

const usd = (x: number | null) => (x === null ? 'unpriced' : `$${x.toFixed(x < 0.01 ? 4 : 2)}`);

function header(r: Omit<SuggestResult, 'yaml' | 'format' | 'header'>): string {
  const p = r.projected;
  const o = p.overall;
  const h = r.holdout;
  const out = [
    `# Proposed by \`evalroute suggest\` for suite ${r.suite} (classes by ${r.by}; bar: ${Object.entries(r.gate).map(([k, v]) => `${k} ${v}`).join(', ')}).`,
    h
      ? `# Chosen on ${r.chosenOn.cases} of the suite's ${r.chosenOn.of} cases; ${h.score.overall.cases} others (--holdout ${h.fraction}, seed ${h.seed}) were held out to gate it.`
      : `# Chosen on all ${r.chosenOn.cases} scored cases of the suite: nothing was held out (see --holdout).`,
    '# A proposal for a person to review, not a verdict: the figures on the cases it was chosen on are optimistic',
    '# (selection bias); gate it on cases it was not chosen on before relying on it.',
    provenanceComment(r.chosenOn),
    `# ${h ? 'On the cases it was chosen on (optimistic)' : 'Projected'} over ${o.cases} cases: pass rate ${pct(o.passRate)} vs ${pct(o.baselinePassRate)} all-${r.baseline} (${pts(o.delta)});` +
      ` cost per 1k requests ${usd(o.costPer1k)} vs ${usd(o.baselineCostPer1k)}` +
      (o.savings === null ? ' (savings unknown: a model is unpriced)' : ` (saves ${pct(o.savings)})`) + '.',
    '# Risk per tier (delta vs the baseline on its cases, with its confidence interval):',
    ...tierRisk(p),
  ];
  if (h) {
    const ho = h.score.overall;
    out.push(
      `# Held out (the fair estimate) over ${ho.cases} cases: pass rate ${pct(ho.passRate)} vs ${pct(ho.baselinePassRate)} all-${r.baseline} (${pts(ho.delta)})` +
        (ho.savings === null ? '.' : `, saves ${pct(ho.savings)}.`),
      `# Gate on the held-out cases: ${h.score.status === 'incomplete' ? 'INCOMPLETE (pairs missing)' : h.score.outcome.toUpperCase()}`,
      ...tierRisk(h.score),
    );
  }
  out.push(`# Per class (cases): choice. A class needs at least ${r.minCases} cases to leave the frontier (small classes pass on noise).`);
  for (const c of r.classes) {
    out.push(`#   ${c.name} (${c.cases}): ${c.model}${c.note ? ` — ${c.note}` : ''}`);
  }
  if (r.missing.length) out.push(`# ${r.missing.length} (case, model) pairs had no stored result and were left out.`);
  return `${out.join('\n')}\n`;
}

function tierRisk(score: Pick<RoutingScore, 'tiers'>): string[] {
  return score.tiers.map((t) => {
    if (t.model === t.baselineModel) return `#   ${t.tier}: ${t.cases} cases stay on ${t.model}`;
    const ci = t.ci ? `, ${confidenceLevel(t.confidence)} CI ${pts(t.ci[0])} … ${pts(t.ci[1])}` : '';
    return `#   ${t.tier}: ${t.cases} cases, ${pct(t.passRate)} vs ${pct(t.baselinePassRate)}, delta ${pts(t.delta)}${ci} → ${t.outcome.toUpperCase()}`;
  });
}
