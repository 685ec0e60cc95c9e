/**
 * `evalroute judge-check`: how far the suite's LLM judge agrees with the people who labelled the goldens.
 *
 * A golden's `human` verdict says what a person concluded about an output, but a golden does not carry
 * that output (its `expected`/`reference` is the validated answer, which a judge would pass trivially).
 * So the outputs come from the store: the latest run of the suite (or `run`), the baseline model's
 * outputs by default (`model` picks another). Pairwise judges compare the case's routed candidate output
 * (or `model`'s) with the baseline's, against `human.preference`.
 *
 * Only the judge is called; model outputs are never regenerated. Each judge grader of the suite is
 * built exactly as a run builds it (same spec, same template, the judge model's params and price), so
 * the agreement measured here is the agreement of the judge that gates.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import pLimit from 'p-limit';
import { caseMatches } from '../core/case-condition.js';
import { UsageError } from '../core/errors.js';
import type { Case, CallOutcome, CaseCondition, ChatMessage, Completion, Golden, GraderSpec, Provider, RunRecord, StoredCase } from '../core/types.js';
import { renderCase } from '../config/prompt.js';
import { createProvider } from '../providers/registry.js';
import { buildJudgeGrader, type JudgeGrader, type JudgeMode } from '../graders/judge.js';
import { graderContext } from '../graders/registry.js';
import { openStore } from '../store/sqlite-store.js';
import { loadProjectConfig, loadProjectSuite } from './project.js';
import { agreement } from '../stats/agreement.js';

export interface JudgeCheckOptions {
  /** Folder holding suite.yaml. */
  suiteDir: string;
  config?: string;
  db?: string;
  /** Stored run whose outputs are judged: id, unique prefix or "latest". Default: the latest run of this suite. */
  run?: string;
  /**
   * Model whose stored outputs are judged. Rubric/reference judges: default the run's baseline.
   * Pairwise judges: the candidate compared with the baseline; default each case's routed tier model.
   */
  model?: string;
  /** Exit code 1 when a judge's kappa is below this (or undefined). */
  minKappa?: number;
  /** Where the judge's API key is read from. Default: process.env. */
  env?: Record<string, string | undefined>;
  /** Working folder for relative paths. Default: process.cwd(). */
  cwd?: string;
  /** Folders besides the working folder that files the suite and config name may come from (`--allow-path`). */
  allowPaths?: readonly string[];
  signal?: AbortSignal;
  /** Called after each judged case. */
  onProgress?: (done: number, total: number) => void;
}

export type KappaBand = 'undefined' | 'poor' | 'slight' | 'fair' | 'moderate' | 'substantial' | 'almost perfect';

export interface JudgeCheckPair {
  caseId: string;
  human: string;
  judge: string;
  explanation?: string;
}

/** Why a labelled case could not be compared. `baseline-only` (pairwise, case routed to the baseline) is expected, not a gap. */
export type SkipReason = 'not-in-run' | 'no-output' | 'no-baseline-output' | 'baseline-only';

export interface JudgeCheckGrader {
  grader: string;
  mode: JudgeMode;
  /** `pass`: pass/fail against `human.pass`; `preference`: candidate/baseline/tie against `human.preference`. */
  labelKind: 'pass' | 'preference';
  /** Cases with this kind of human label. */
  labelled: number;
  /** Pairs compared (labelled minus skipped minus judge errors). */
  n: number;
  agreement: number;
  kappa: number;
  band: KappaBand;
  /** One line for people: the kappa, its Landis & Koch band and what to do about it. */
  verdict: string;
  /** confusion[human][judge] = count. */
  confusion: Record<string, Record<string, number>>;
  labels: string[];
  disagreements: JudgeCheckPair[];
  errors: { caseId: string; error: string }[];
  skipped: { caseId: string; reason: SkipReason }[];
}

export interface JudgeCheckResult {
  suite: string;
  dbFile: string;
  runId: string;
  baseline: string;
  /** The `model` option, when given. */
  model?: string;
  judgeModel: string;
  graders: JudgeCheckGrader[];
  usage: { calls: number; inputTokens: number; outputTokens: number; costUsd: number | null };
  /** 0 checked; 1 a kappa below `minKappa`; 3 some labelled cases could not be checked (judge errors, missing outputs). */
  exitCode: 0 | 1 | 3;
}

const BANDS: Array<[number, KappaBand, string]> = [
  [0.2, 'slight', 'do not gate on it: fix the rubric or use a stronger judge'],
  [0.4, 'fair', 'do not gate on it yet: read the disagreements, sharpen the rubric, or use a stronger judge'],
  [0.6, 'moderate', 'spot-check before gating on it'],
  [0.8, 'substantial', 'fit for gating; keep reviewing the disagreements'],
  [1, 'almost perfect', 'fit for gating'],
];

/** Landis & Koch (1977) band of a kappa, read at the two decimals people see. */
export function kappaBand(kappa: number): KappaBand {
  if (Number.isNaN(kappa)) return 'undefined';
  const k = Math.round(kappa * 100) / 100;
  if (k < 0) return 'poor';
  return BANDS.find(([upper]) => k <= upper)?.[1] ?? 'almost perfect';
}

/** "kappa 0.41: moderate agreement — spot-check before gating on it", plus a warning for small samples. */
export function kappaVerdict(kappa: number, n: number): string {
  const band = kappaBand(kappa);
  let line: string;
  if (band === 'undefined') {
    line = n === 0
      ? 'kappa undefined: no case could be compared'
      : 'kappa undefined: humans and judge gave one and the same label throughout, so agreement says nothing — label cases of every verdict';
  } else if (band === 'poor') {
    line = `kappa ${kappa.toFixed(2)}: poor agreement (worse than chance) — the judge does not measure what the humans judged; do not gate on it`;
  } else {
    line = `kappa ${kappa.toFixed(2)}: ${band} agreement — ${BANDS.find(([, b]) => b === band)![2]}`;
  }
  if (n > 0 && n < 30) line += ` (only ${n} labelled case${n === 1 ? '' : 's'}: a rough estimate)`;
  return line;
}

interface Item {
  c: Case;
  golden: Golden;
  human: string;
  input: ChatMessage[];
  output: Completion;
  baseline?: Completion;
}

const PREFERENCE_OF_SCORE: Record<number, string> = { 1: 'candidate', 0.5: 'tie', 0: 'baseline' };

/** Grades the stored outputs of human-labelled cases with the suite's judge graders and measures agreement. */
export async function judgeCheck(opts: JudgeCheckOptions): Promise<JudgeCheckResult> {
  const { cwd, suiteDir, roots, config } = loadProjectConfig(opts);
  const suite = loadProjectSuite(suiteDir, roots);

  const specs = suite.graders.map((spec, i) => ({ spec, i })).filter(({ spec }) => spec.type === 'judge');
  if (specs.length === 0) {
    throw new UsageError(`${suite.file} has no judge grader; judge-check measures an LLM judge against human labels\n  → add a grader { type: judge, … } to the suite`);
  }
  const labelledPass = [...suite.goldens.values()].filter((g) => g.human?.pass !== undefined).length;
  const labelledPref = [...suite.goldens.values()].filter((g) => g.human?.preference !== undefined).length;
  if (labelledPass + labelledPref === 0) {
    throw new UsageError(
      `no golden of ${suite.goldensFile ?? suite.name} carries a human verdict\n` +
        '  → add "human": {"pass": true|false} (rubric/reference judges) or "human": {"preference": "candidate"|"baseline"|"tie"} (pairwise) to the goldens people checked',
    );
  }

  const dbFile = opts.db ? resolve(cwd, opts.db) : config.store;
  if (!existsSync(dbFile)) throw new UsageError(`no results database at ${dbFile}\n  → run the suite first (evalroute run ${opts.suiteDir}) so there are outputs to judge, or pass --db FILE`);
  const store = openStore(dbFile, { readonly: true });
  let run: RunRecord;
  let storedCases: StoredCase[];
  let calls: CallOutcome[];
  try {
    const found = opts.run !== undefined ? store.getRun(opts.run) : store.listRuns(Infinity).find((r) => r.suite === suite.name);
    if (!found) {
      throw new UsageError(
        opts.run !== undefined
          ? `no run "${opts.run}" in ${dbFile}\n  → list runs with: evalroute runs --db ${dbFile}`
          : `no stored run of suite "${suite.name}" in ${dbFile}\n  → run it first: evalroute run ${opts.suiteDir}`,
      );
    }
    if (found.suite !== suite.name) throw new UsageError(`run ${found.id} is a run of suite "${found.suite}", not "${suite.name}"\n  → pass a run of this suite with --run`);
    run = found;
    storedCases = store.getCases(run.id);
    calls = store.getCalls(run.id).filter((o) => o.repeat === 0);
  } finally {
    store.close();
  }
  if (opts.model !== undefined && !config.models.has(opts.model)) {
    throw new UsageError(`model "${opts.model}" is not defined in ${config.file}\n  → known models: ${[...config.models.keys()].join(', ')}`);
  }

  // Each judge grader may name its own judge model; otherwise the config's judge, as in a run.
  const judges = new Map<string, Provider>();
  const env = opts.env ?? process.env;
  const judgeFor = (key: string): Provider => {
    let p = judges.get(key);
    if (!p) {
      p = createProvider(config.models.get(key)!, { env });
      judges.set(key, p);
    }
    return p;
  };
  const graders: Array<{ grader: JudgeGrader; judgeKey: string; when?: CaseCondition }> = [];
  for (const { spec, i } of specs) {
    const judgeKey = typeof spec.model === 'string' ? spec.model : config.judge?.model;
    if (judgeKey === undefined) throw new UsageError(`no judge model configured for ${suite.file} (graders.${i})\n  → add judge: { model: <key> } to ${config.file}`);
    const m = config.models.get(judgeKey);
    if (!m) throw new UsageError(`judge model "${judgeKey}" (graders.${i} of ${suite.file}) is not defined in ${config.file}\n  → known models: ${[...config.models.keys()].join(', ')}`);
    const { when, ...options } = spec;
    const grader = await buildJudgeGrader(options as GraderSpec, graderContext(suite, i), { params: m.params, ...(m.price ? { price: m.price } : {}) });
    graders.push({ grader, judgeKey, ...(when ? { when } : {}) });
    judgeFor(judgeKey);
  }

  const storedById = new Map(storedCases.map((s) => [s.caseId, s]));
  const callOf = new Map(calls.map((o) => [`${o.caseId}\u0000${o.modelKey}`, o]));
  const output = (caseId: string, model: string) => callOf.get(`${caseId}\u0000${model}`)?.completion;
  const caseById = new Map(suite.cases.map((c) => [c.id, c]));
  const signal = opts.signal ?? new AbortController().signal;

  // Gather every (grader, case) job first, so progress has a total.
  const plans = graders.map(({ grader, judgeKey, when }) => {
    const labelKind: 'pass' | 'preference' = grader.mode === 'pairwise' ? 'preference' : 'pass';
    const items: Item[] = [];
    const skipped: JudgeCheckGrader['skipped'] = [];
    for (const golden of suite.goldens.values()) {
      const label = labelKind === 'pass' ? golden.human?.pass : golden.human?.preference;
      if (label === undefined) continue;
      const human = typeof label === 'boolean' ? (label ? 'pass' : 'fail') : label;
      const stored = storedById.get(golden.id);
      const c = caseById.get(golden.id);
      if (!stored || !c) {
        skipped.push({ caseId: golden.id, reason: 'not-in-run' });
        continue;
      }
      if (when && !caseMatches(when, c)) continue; // this judge does not grade that case in a run either
      const input = stored.input ?? renderCase(suite, c);
      if (labelKind === 'pass') {
        const out = output(c.id, opts.model ?? run.baseline);
        if (out) items.push({ c, golden, human, input, output: out });
        else skipped.push({ caseId: c.id, reason: 'no-output' });
        continue;
      }
      const candidateKey = opts.model ?? calls.find((o) => o.caseId === c.id && o.modelKey !== run.baseline)?.modelKey;
      if (candidateKey === undefined || candidateKey === run.baseline) {
        skipped.push({ caseId: c.id, reason: 'baseline-only' });
        continue;
      }
      const out = output(c.id, candidateKey);
      const base = output(c.id, run.baseline);
      if (!out) skipped.push({ caseId: c.id, reason: 'no-output' });
      else if (!base) skipped.push({ caseId: c.id, reason: 'no-baseline-output' });
      else items.push({ c, golden, human, input, output: out, baseline: base });
    }
    return { grader, judge: judgeFor(judgeKey), judgeKey, labelKind, items, skipped };
  });

  const total = plans.reduce((n, p) => n + p.items.length, 0);
  let done = 0;
  const usage = { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 as number | null };
  const results: JudgeCheckGrader[] = [];
  for (const plan of plans) {
    const limit = pLimit(Math.max(1, config.models.get(plan.judgeKey)!.concurrency));
    const graded = await Promise.all(
      plan.items.map((item) =>
        limit(async () => {
          const grade = await plan.grader.grade(item.c, item.output, {
            golden: item.golden,
            request: { caseId: item.c.id, messages: item.input, params: {}, repeat: 0 },
            judge: plan.judge,
            signal,
            ...(item.baseline ? { baseline: item.baseline } : {}),
          });
          opts.onProgress?.(++done, total);
          return { item, grade };
        }),
      ),
    );
    const pairs: JudgeCheckPair[] = [];
    const errors: JudgeCheckGrader['errors'] = [];
    for (const { item, grade } of graded) {
      usage.calls += grade.judgeUsage.calls;
      usage.inputTokens += grade.judgeUsage.inputTokens;
      usage.outputTokens += grade.judgeUsage.outputTokens;
      if (usage.costUsd !== null) usage.costUsd = grade.judgeUsage.costUsd === undefined ? null : usage.costUsd + grade.judgeUsage.costUsd;
      if (grade.error !== undefined) {
        errors.push({ caseId: item.c.id, error: grade.error });
        continue;
      }
      const judge = plan.labelKind === 'pass' ? (grade.pass ? 'pass' : 'fail') : (PREFERENCE_OF_SCORE[grade.score] ?? 'tie');
      pairs.push({ caseId: item.c.id, human: item.human, judge, ...(grade.explanation !== undefined ? { explanation: grade.explanation } : {}) });
    }
    const a = agreement(pairs.map((p) => [p.human, p.judge] as const));
    results.push({
      grader: plan.grader.name,
      mode: plan.grader.mode,
      labelKind: plan.labelKind,
      labelled: plan.items.length + plan.skipped.length,
      n: a.n,
      agreement: a.agreement,
      kappa: a.kappa,
      band: kappaBand(a.kappa),
      verdict: kappaVerdict(a.kappa, a.n),
      confusion: a.confusion,
      labels: a.labels,
      disagreements: pairs.filter((p) => p.human !== p.judge),
      errors,
      skipped: plan.skipped,
    });
  }
  // Unpriced judge: no made-up zero. A priced judge that was never called cost exactly nothing.
  const priced = graders.every(({ judgeKey }) => config.models.get(judgeKey)!.price !== undefined);
  if (!priced) usage.costUsd = null;

  const gaps = results.some((r) => r.errors.length > 0 || r.skipped.some((s) => s.reason !== 'baseline-only'));
  const belowBar = opts.minKappa !== undefined && results.some((r) => !(r.kappa >= opts.minKappa!));
  return {
    suite: suite.name,
    dbFile,
    runId: run.id,
    baseline: run.baseline,
    ...(opts.model !== undefined ? { model: opts.model } : {}),
    judgeModel: [...new Set(graders.map((g) => g.judgeKey))].join(', '),
    graders: results,
    usage,
    exitCode: gaps ? 3 : belowBar ? 1 : 0,
  };
}
