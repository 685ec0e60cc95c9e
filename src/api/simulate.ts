/**
 * Counterfactual scoring: once each (case, model) pair has been called and stored, any routing file
 * can be scored for free. `Scorer` reuses the same building blocks as `run()` — the same rendering,
 * tier assignment, request hashing (through the engine), graders and `decideAll` — with the engine in
 * `offline` cache mode over a read-only store. So the per-tier verdicts are exactly those a `run` of
 * the same routing file would give, and no provider is ever asked to complete anything.
 *
 * Pairs the store lacks surface as the engine's `offline_miss` errors; they are listed as missing and
 * their cases left out of the figures (never counted as failures), so a partial store cannot make a
 * tier look worse — or better — than it is. `--fill` runs the routing file once (normal cache) first.
 *
 * Judge grades are re-graded, not looked up: every judge grader runs as in `run()`, against the same
 * judge models, with the judge's answers served from the store's response cache (`offline`, so nothing
 * is called). A judge answer is cached under its exact request — judge model identity and params, the
 * rendered template with rubric, golden and output(s) — so a grade is only reproduced when everything
 * that decides it is unchanged; a changed rubric, template, judge model or golden misses the cache, and
 * that pair is listed as missing (`no-judge-grade`) rather than given a grade the current judge never
 * gave. Grading settings applied after the judge answers (pass threshold, scale) take effect as edited.
 */
import { passed } from '../core/calls.js';
import type { OverallView } from '../report/simulate-console.js';
import { resolve } from 'node:path';
import { ProviderError, UsageError } from '../core/errors.js';
import type {
  CallOutcome,
  Case,
  CaseResult,
  ChatMessage,
  Completion,
  EvalConfig,
  Grade,
  GradeContext,
  Grader,
  ModelConfig,
  Outcome,
  Provider,
  Routing,
  Store,
  Suite,
} from '../core/types.js';
import { loadRouting } from '../config/load.js';
import { renderCase } from '../config/prompt.js';
import { createProvider } from '../providers/registry.js';
import { createGraders, withGrade } from '../graders/registry.js';
import { openStore, type SqliteStore } from '../store/sqlite-store.js';
import { decideAll, type GateVerdict } from '../gate/decide.js';
import { gateOutcome } from '../gate/outcome.js';
import { runCases, type EngineModel } from '../engine/run-cases.js';
import { defaultRetryPolicy } from '../engine/retry.js';
import { managedJudge } from '../engine/managed-judge.js';
import { inputTextOf } from '../routing/match.js';
import { offlineEnv, requestBuilder, routeSuite, run } from './run.js';
import { loadProjectConfig, loadProjectSuite } from './project.js';
import { graderJudgeModels, withOwnJudges } from './grader-judges.js';
import {
  oracleCurve,
  randomCurve,
  rankedCurve,
  routerMetrics,
  type PairedOutcome,
  type RouterCurve,
  type RouterMetrics,
} from '../stats/router-metrics.js';

export interface ScorerOptions {
  /** Folder holding suite.yaml. */
  suiteDir: string;
  config?: string;
  db?: string;
  /** Working folder for relative paths. Default: process.cwd(). */
  cwd?: string;
  /** Folders besides the working folder that files the suite and config name may come from (`--allow-path`). */
  allowPaths?: readonly string[];
}

export interface MissingPair {
  caseId: string;
  model: string;
  /**
   * Why it could not be scored: no stored response, or (judge suites) no stored judge answer for the
   * grading the suite asks now — never judged, or the judge model, rubric, template or golden changed.
   */
  reason: 'no-response' | 'no-judge-grade';
}

export interface ModelAccuracy {
  model: string;
  /** Cases this model was scored on. */
  cases: number;
  passed: number;
  passRate: number;
  /** USD per 1,000 requests from stored costs; null when unpriced. */
  costPer1k: number | null;
}

/** Quality and cost of a routed configuration over every scored case, against all-frontier. */
export type OverallScore = OverallView;

export interface RoutingScore {
  routingFile: string;
  routingHash: string;
  baseline: string;
  /** Verdicts exactly as the gate would give them, plus per-tier cost per 1k and savings. */
  tiers: GateVerdict[];
  /** The gate's outcome on these stored results (as `run` would decide it), when nothing is missing. */
  outcome: Outcome;
  /** Every tier shown to hold (or warn-only undecided) and nothing is missing. */
  pass: boolean;
  /** `incomplete` when some pairs are missing from the store (their cases are left out). */
  status: 'complete' | 'incomplete';
  overall: OverallScore;
  models: ModelAccuracy[];
  missing: MissingPair[];
  /** caseId → tier for every case of the suite (scored or not). */
  assignment: Record<string, string>;
}

/** A scored routing with its per-case results, for callers that compare routings case by case. */
export interface ScoredRouting {
  score: RoutingScore;
  results: CaseResult[];
}

const MISSING_JUDGE = 'evalroute:no-stored-judge-grade';

/**
 * Loaded suite and config, a read-only store, and providers built only for their cache identity.
 * Open with `openScorer`, close when done.
 */
export class Scorer {
  readonly #providers = new Map<string, Provider>();
  #graders?: Grader[];
  #judge?: Provider | undefined;

  constructor(
    readonly config: EvalConfig,
    readonly suite: Suite,
    readonly store: SqliteStore,
    readonly dbFile: string,
    readonly inputs: Map<string, ChatMessage[]>,
    readonly cwd: string,
  ) {}

  loadRouting(file?: string): Routing {
    const path = file ? resolve(this.cwd, file) : this.config.routing;
    if (!path) {
      throw new UsageError(`no routing file: ${this.config.file} has no routing: key and --routing was not given\n  → pass --routing FILE`);
    }
    return loadRouting(path, this.config);
  }

  /** caseId → tier, as `run()` routes them. */
  route(routing: Routing): Map<string, string> {
    const routed = routeSuite(this.config, routing, this.suite, this.inputs);
    return new Map([...routed].map(([id, r]) => [id, r.tier]));
  }

  inputText(caseId: string): string {
    return inputTextOf(this.inputs.get(caseId) ?? []);
  }

  /**
   * Grades the stored answers the given assignment needs (baseline for every case, plus the tier's
   * model), through the engine in offline mode. Returns one result per case, missing pairs flagged.
   */
  async evaluate(tierOf: Map<string, string>, tierModel: Map<string, string>, baseline: string): Promise<{ results: CaseResult[]; missing: MissingPair[] }> {
    const used = new Set([baseline, ...[...tierOf.values()].map((t) => tierModel.get(t) ?? baseline)]);
    const models = new Map<string, EngineModel>();
    for (const key of used) {
      const m = this.config.models.get(key);
      if (!m) throw new UsageError(`model "${key}" is not defined in ${this.config.file}\n  → known models: ${[...this.config.models.keys()].join(', ')}`);
      // Concurrency only bounds store lookups here: nothing is called.
      models.set(key, { provider: this.#provider(key), concurrency: 64, retry: { ...defaultRetryPolicy, maxRetries: 0 }, timeoutMs: m.timeoutMs });
    }
    const engine = await runCases({
      runId: 'simulate',
      cases: this.suite.cases.filter((c) => tierOf.has(c.id)),
      goldens: this.suite.goldens,
      tierOf,
      tierModel,
      baseline,
      models,
      requestFor: requestBuilder(this.config, this.suite, this.inputs),
      graders: await this.#gradersFor(),
      ...(this.#defaultJudge() ? { judge: this.#defaultJudge()! } : {}),
      store: new ReadThroughStore(this.store),
      cache: 'offline',
      signal: new AbortController().signal,
    });
    const missing: MissingPair[] = [];
    const seen = new Set<string>();
    const flag = (o: CallOutcome): boolean => {
      const reason = o.error?.kind === 'offline_miss' ? 'no-response' : o.grades.some((g) => g.error === MISSING_JUDGE) ? 'no-judge-grade' : undefined;
      if (!reason) return false;
      const k = `${o.caseId}\u0000${o.modelKey}`;
      if (!seen.has(k)) {
        seen.add(k);
        missing.push({ caseId: o.caseId, model: o.modelKey, reason });
      }
      return true;
    };
    const results = engine.results.filter((r) => {
      const baselineMissing = flag(r.baseline);
      const candidateMissing = flag(r.candidate);
      return !baselineMissing && !candidateMissing;
    });
    return { results, missing };
  }

  /**
   * Scores one routing file from the store: per-tier verdicts, overall quality and cost, missing pairs.
   * `only` restricts it to those cases (e.g. the held-out part of `suggest --holdout`).
   */
  async scoreRouting(routing: Routing, only?: ReadonlySet<string>): Promise<ScoredRouting> {
    const routed = this.route(routing);
    const tierOf = only ? new Map([...routed].filter(([id]) => only.has(id))) : routed;
    const tierModel = new Map([...routing.tiers].map(([name, t]) => [name, t.model]));
    const { results, missing } = await this.evaluate(tierOf, tierModel, routing.baseline);
    const tiers = decideAll(routing, results).map((v) => withCosts(v, results.filter((r) => r.tier === v.tier)));
    return {
      results,
      score: {
        routingFile: routing.file,
        routingHash: routing.hash,
        baseline: routing.baseline,
        tiers,
        outcome: gateOutcome(tiers),
        pass: missing.length === 0 && gateOutcome(tiers) === 'pass',
        status: missing.length ? 'incomplete' : 'complete',
        overall: overallScore(results),
        models: modelAccuracies(results),
        missing,
        assignment: Object.fromEntries(tierOf),
      },
    };
  }

  /** Each listed model's stored outcome on every case (the baseline's too), for class-level analyses. */
  async outcomesByModel(models: string[], baseline: string): Promise<{ byModel: Map<string, Map<string, CallOutcome>>; missing: MissingPair[] }> {
    const byModel = new Map<string, Map<string, CallOutcome>>();
    const missing: MissingPair[] = [];
    const seen = new Set<string>();
    const tierOf = new Map(this.suite.cases.map((c) => [c.id, 'all']));
    for (const model of new Set([baseline, ...models])) {
      // Cases whose baseline answer is missing drop out too: every figure here is paired with it.
      const { results, missing: m } = await this.evaluate(tierOf, new Map([['all', model]]), baseline);
      byModel.set(model, new Map(results.map((r) => [r.caseId, r.candidate])));
      for (const p of m) {
        const k = `${p.caseId}\u0000${p.model}`;
        if (!seen.has(k)) missing.push(p);
        seen.add(k);
      }
    }
    return { byModel, missing };
  }

  close(): void {
    this.store.close();
  }

  #provider(key: string): Provider {
    let p = this.#providers.get(key);
    if (!p) {
      p = createProvider(this.config.models.get(key)!, { env: offlineEnv(this.config, {}) });
      this.#providers.set(key, p);
    }
    return p;
  }

  async #gradersFor(): Promise<Grader[]> {
    if (!this.#graders) {
      const built = (await createGraders(this.suite)).map(flagMissingJudgeAnswers);
      this.#graders = withOwnJudges(built, graderJudgeModels(this.config, this.suite), (m) => this.#offlineJudge(m));
    }
    return this.#graders;
  }

  /** The config's judge, when some grader may use it; built once. */
  #defaultJudge(): Provider | undefined {
    if (this.#judge === undefined && this.config.judge) {
      this.#judge = this.#offlineJudge(this.config.models.get(this.config.judge.model)!);
    }
    return this.#judge;
  }

  /** A judge that answers only from the store's response cache, as `run()` asks it (same params). */
  #offlineJudge(m: ModelConfig): Provider {
    const model: EngineModel = { provider: this.#provider(m.key), concurrency: 64, retry: { ...defaultRetryPolicy, maxRetries: 0 }, timeoutMs: m.timeoutMs };
    return managedJudge(model, m.params, new ReadThroughStore(this.store), 'offline');
  }
}

/**
 * A grader whose judge had no cached answer gives the missing-pair marker instead of its own judge
 * error, so the pair is listed as missing (fillable) rather than counted as a grade.
 */
function flagMissingJudgeAnswers(inner: Grader): Grader {
  return withGrade(inner, async (c: Case, output: Completion, ctx: GradeContext): Promise<Grade> => {
    if (!ctx.judge) return inner.grade(c, output, ctx);
    let missed = false;
    const judge = ctx.judge;
    const watched: Provider = {
      key: judge.key,
      identity: judge.identity,
      complete: async (req, signal) => {
        try {
          return await judge.complete(req, signal);
        } catch (err) {
          if (err instanceof ProviderError && err.kind === 'offline_miss') missed = true;
          throw err;
        }
      },
    };
    const grade = await inner.grade(c, output, { ...ctx, judge: watched });
    return missed ? { grader: inner.name, score: 0, pass: false, error: MISSING_JUDGE } : grade;
  });
}

/**
 * Loads config and suite and opens the store read-only (it must exist: scoring never writes). A caller
 * that loaded them already for the same options (`suggest`, `gate`) passes them as `loaded`, so they are read once.
 */
export async function openScorer(opts: ScorerOptions, loaded?: { config: EvalConfig; suite: Suite }): Promise<Scorer> {
  const cwd = opts.cwd ?? process.cwd();
  const { config, suite } = loaded ?? loadScorerProject(opts);
  const inputs = new Map(suite.cases.map((c) => [c.id, renderCase(suite, c)]));
  const dbFile = opts.db ? resolve(cwd, opts.db) : config.store;
  const store = openStore(dbFile, { readonly: true });
  return new Scorer(config, suite, store, dbFile, inputs, cwd);
}

function loadScorerProject(opts: ScorerOptions): { config: EvalConfig; suite: Suite } {
  const { suiteDir, roots, config } = loadProjectConfig(opts);
  return { config, suite: loadProjectSuite(suiteDir, roots) };
}

// ───────────────────────────── simulate ─────────────────────────────

export interface CurveOptions {
  strong: string;
  weak: string;
  /** `input-length` (default): longest inputs go to the strong model first; or `metadata.<key>`. */
  orderBy?: string;
  /** APGR grid intervals; default 10. */
  steps?: number;
}

export interface CurveSeries {
  points: RouterCurve['points'];
  metrics: RouterMetrics;
}

export interface CurveReport {
  strong: string;
  weak: string;
  orderBy: string;
  /** How the order was obtained, for the reader (e.g. in-sample class gaps). */
  orderNote: string;
  cases: number;
  strongQuality: number;
  weakQuality: number;
  router: CurveSeries;
  random: CurveSeries;
  oracle: CurveSeries;
  missing: MissingPair[];
}

export interface SimulateOptions extends ScorerOptions {
  /** Routing files to score; none = the config's routing file. */
  routings?: string[];
  /** Run each routing file once with the normal cache first, so only missing pairs are called. */
  fill?: boolean;
  /** API keys for --fill. Default: process.env. */
  env?: Record<string, string | undefined>;
  curve?: CurveOptions;
  /** Called before each --fill run. */
  onFill?: (routingFile: string) => void;
}

export interface SimulateResult {
  suite: string;
  dbFile: string;
  routings: RoutingScore[];
  curve?: CurveReport;
  /** 0 everything scored; 3 some pairs are missing from the store. Simulate never gates. */
  exitCode: 0 | 3;
}

/** `evalroute simulate`: scores routing files (and optionally a two-model curve) from stored results. */
export async function simulate(opts: SimulateOptions): Promise<SimulateResult> {
  const files = opts.routings?.length ? opts.routings : [undefined];
  if (opts.fill) {
    for (const file of files) {
      opts.onFill?.(file ?? '(config routing)');
      await run({
        suiteDir: opts.suiteDir,
        ...(opts.config ? { config: opts.config } : {}),
        ...(file ? { routing: file } : {}),
        ...(opts.db ? { db: opts.db } : {}),
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
        ...(opts.allowPaths ? { allowPaths: opts.allowPaths } : {}),
        ...(opts.env ? { env: opts.env } : {}),
        cache: 'use',
        through: false,
      });
    }
  }
  const scorer = await openScorer(opts);
  try {
    const routings: RoutingScore[] = [];
    for (const file of files) routings.push((await scorer.scoreRouting(scorer.loadRouting(file))).score);
    const curve = opts.curve ? await frontierCurve(scorer, opts.curve) : undefined;
    const incomplete = routings.some((r) => r.missing.length) || (curve?.missing.length ?? 0) > 0;
    return { suite: scorer.suite.name, dbFile: scorer.dbFile, routings, ...(curve ? { curve } : {}), exitCode: incomplete ? 3 : 0 };
  } finally {
    scorer.close();
  }
}

/** The strong/weak family's curve under a score order, with the random and oracle references. */
export async function frontierCurve(scorer: Scorer, opts: CurveOptions): Promise<CurveReport> {
  const orderBy = opts.orderBy ?? 'input-length';
  if (orderBy !== 'input-length' && !/^metadata\.[^.]+$/.test(orderBy)) {
    throw new UsageError(`--order-by "${orderBy}" is not supported\n  → use input-length or metadata.<key> (e.g. metadata.category)`);
  }
  const { byModel, missing } = await scorer.outcomesByModel([opts.weak], opts.strong);
  const strong = byModel.get(opts.strong)!;
  const weak = byModel.get(opts.weak)!;
  const cases = scorer.suite.cases.filter((c) => strong.has(c.id) && weak.has(c.id));
  if (cases.length === 0) {
    throw new UsageError(`no case has stored results for both ${opts.strong} and ${opts.weak} in ${scorer.dbFile}\n  → run a routing that uses both models first (e.g. simulate --fill)`);
  }
  const pairs: PairedOutcome[] = cases.map((c) => {
    const s = strong.get(c.id)!;
    const w = weak.get(c.id)!;
    return { strong: passed(s) ? 1 : 0, weak: passed(w) ? 1 : 0, strongCost: s.completion?.costUsd ?? null, weakCost: w.completion?.costUsd ?? null };
  });

  let scores: number[];
  let orderNote: string;
  if (orderBy === 'input-length') {
    scores = cases.map((c) => scorer.inputText(c.id).length);
    orderNote = 'longest rendered inputs go to the strong model first';
  } else {
    const key = orderBy.slice('metadata.'.length);
    const values = cases.map((c) => c.metadata?.[key]);
    if (values.every((v) => typeof v === 'number')) {
      scores = values as number[];
      orderNote = `highest ${orderBy} goes to the strong model first`;
    } else {
      // A class-level rule can only move whole classes; ordering them by their measured gap is the best
      // such rule family, measured on these same cases (in-sample, so optimistic).
      const gap = new Map<string, number[]>();
      values.forEach((v, i) => {
        const k = String(v);
        const g = gap.get(k) ?? [0, 0];
        g[0]! += pairs[i]!.strong - pairs[i]!.weak;
        g[1]! += 1;
        gap.set(k, g);
      });
      scores = values.map((v) => {
        const g = gap.get(String(v))!;
        return g[0]! / g[1]!;
      });
      orderNote = `whole ${key} classes move together, those where ${opts.strong} leads ${opts.weak} most go to it first (gaps measured on these cases: in-sample, optimistic)`;
    }
  }
  const router = rankedCurve(pairs, scores);
  // AIQ of every series over the same cost range, weak-only to strong-only, so they compare.
  const strongOnly = router.points[router.points.length - 1]!.costPer1k ?? undefined;
  const series = (curve: RouterCurve): CurveSeries => ({ points: curve.points, metrics: routerMetrics(curve, opts.steps, strongOnly) });
  return {
    strong: opts.strong,
    weak: opts.weak,
    orderBy,
    orderNote,
    cases: cases.length,
    strongQuality: router.strongQuality,
    weakQuality: router.weakQuality,
    router: series(router),
    random: series(randomCurve(pairs, opts.steps)),
    oracle: series(oracleCurve(pairs)),
    missing,
  };
}

// ───────────────────────────── figures ─────────────────────────────

/** Mean stored cost per case × 1000; null as soon as one call is unpriced. */
export function costPer1k(outcomes: readonly CallOutcome[]): number | null {
  if (outcomes.length === 0) return null;
  let total = 0;
  for (const o of outcomes) {
    const c = o.completion?.costUsd;
    if (c === undefined) return null;
    total += c;
  }
  return (total / outcomes.length) * 1000;
}

export function savingsOf(cost: number | null, baselineCost: number | null): number | null {
  return cost === null || baselineCost === null || baselineCost <= 0 ? null : 1 - cost / baselineCost;
}

function withCosts(v: GateVerdict, results: CaseResult[]): GateVerdict {
  const cost = costPer1k(results.map((r) => r.candidate));
  const baselineCost = costPer1k(results.map((r) => r.baseline));
  return { ...v, costPer1k: cost, baselineCostPer1k: baselineCost, savings: savingsOf(cost, baselineCost) };
}

export function overallScore(results: readonly CaseResult[]): OverallScore {
  const n = results.length;
  const passRate = n ? results.filter((r) => passed(r.candidate)).length / n : 0;
  const baselinePassRate = n ? results.filter((r) => passed(r.baseline)).length / n : 0;
  const cost = costPer1k(results.map((r) => r.candidate));
  const baselineCost = costPer1k(results.map((r) => r.baseline));
  return {
    cases: n,
    passRate,
    baselinePassRate,
    delta: passRate - baselinePassRate,
    costPer1k: cost,
    baselineCostPer1k: baselineCost,
    savings: savingsOf(cost, baselineCost),
  };
}

/** Per model, over the cases it was scored on (baseline on all, each tier model on its tier's cases). */
export function modelAccuracies(results: readonly CaseResult[]): ModelAccuracy[] {
  const byModel = new Map<string, Map<string, CallOutcome>>();
  for (const r of results) {
    for (const o of [r.baseline, r.candidate]) {
      const m = byModel.get(o.modelKey) ?? new Map<string, CallOutcome>();
      m.set(o.caseId, o);
      byModel.set(o.modelKey, m);
    }
  }
  return [...byModel].map(([model, m]) => {
    const list = [...m.values()];
    const ok = list.filter(passed).length;
    return { model, cases: list.length, passed: ok, passRate: list.length ? ok / list.length : 0, costPer1k: costPer1k(list) };
  });
}

// ───────────────────────────── plumbing ─────────────────────────────

/**
 * The engine's view of the store while scoring: cached responses come from the real (read-only)
 * store; outcomes are not saved, because scoring is not a run.
 */
class ReadThroughStore implements Store {
  constructor(private readonly inner: Store) {}
  findCachedCompletion(requestHash: string): Completion | undefined {
    return this.inner.findCachedCompletion(requestHash);
  }
  saveCall(): void {}
  saveCalls(): void {}
  cacheCompletion(): void {}
  beginRun(): string {
    throw new Error('internal: scoring never starts a run');
  }
  finishRun(): void {
    throw new Error('internal: scoring never finishes a run');
  }
  listRuns(limit?: number) {
    return this.inner.listRuns(limit);
  }
  getRun(runId: string) {
    return this.inner.getRun(runId);
  }
  getCases(runId: string) {
    return this.inner.getCases(runId);
  }
  getCalls(runId: string) {
    return this.inner.getCalls(runId);
  }
  saveBatch(): void {
    throw new Error('internal: scoring never submits a batch');
  }
  getBatches(runId: string) {
    return this.inner.getBatches(runId);
  }
  markBatchCollected(): void {
    throw new Error('internal: scoring never collects a batch');
  }
  lockRun(): void {
    throw new Error('internal: scoring never locks a run');
  }
  unlockRun(): void {}
  close(): void {}
}

