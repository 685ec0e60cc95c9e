import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { RunIncompleteError, UsageError } from '../core/errors.js';
import type {
  CallOutcome,
  Case,
  CaseResult,
  ChatMessage,
  Completion,
  CompletionRequest,
  Golden,
  ModelConfig,
  RepeatPolicy,
  EvalConfig,
  Routing,
  RunErrorGroup,
  RunStatus,
  RunSummary,
  SequentialDesign,
  Store,
  StoredBatch,
  Suite,
} from '../core/types.js';
import { loadRouting } from '../config/load.js';
import { renderCase } from '../config/prompt.js';
import { assignTiers, gatewayRequestBody, inputTextOf } from '../routing/match.js';
import { selectionBiasWarning } from '../routing/provenance.js';
import { createProvider } from '../providers/registry.js';
import { apiKeyEnvOf } from '../providers/shared.js';
import { createGraders } from '../graders/registry.js';
import { openStore } from '../store/sqlite-store.js';
import { decideAll, DEFAULT_REPEAT_POLICY } from '../gate/decide.js';
import { concludeSummary, gateExitCode, type GateExitCode } from '../gate/outcome.js';
import { usable } from '../core/calls.js';
import { runCases, type CacheMode, type EngineModel, type EngineResult, type ProgressEvent } from '../engine/run-cases.js';
import { summarizeModels } from '../engine/summarize.js';
import { defaultRetryPolicy, type RetryPolicy, type RetryWait } from '../engine/retry.js';
import { managedJudge } from '../engine/managed-judge.js';
import { RunDeadline } from '../engine/deadline.js';
import { formatDuration } from '../core/format.js';
import { checkJudgeConfigured, graderJudgeModels, withOwnJudges } from './grader-judges.js';
import { applyCostReport, costReport } from '../gate/cost.js';
import { checkGoldensReviewed } from '../audit/goldens.js';
import { checkShard, inShard, type Shard } from '../engine/shard.js';
import { LIMITS } from '../config/limits.js';
import { flakyCases } from '../gate/repeats.js';
import { loadProjectConfig, loadProjectSuite, projectFlags, type ProjectLocation } from './project.js';
import { gatewayUrl, routeThroughGateway } from './through.js';
import { checkResumable, runFingerprint, type RunFingerprint } from './fingerprint.js';
import { collectBatches, submitBatches, type BatchOptions, type BatchStatusEvent } from './batch.js';
import { runSequentialStages, type StagedRunResult } from './sequential-run.js';
import { sequentialDesign } from '../gate/sequential.js';
import type { GateVerdict } from '../gate/decide.js';
import { byCodeUnits } from '../core/compare.js';

export interface RunOptions {
  /** Folder holding suite.yaml. */
  suiteDir: string;
  config?: string;
  routing?: string;
  db?: string;
  /** Overrides every model's concurrency. */
  concurrency?: number;
  cache?: CacheMode;
  /** Continue a stored run: its id, or `true` for the latest run of this suite. */
  resume?: string | true;
  /** Above this fraction of errored calls the run is incomplete. Default 0.02. */
  maxErrorRate?: number;
  /** Requests per month the routing file serves: enables the cost projection and budgets. */
  monthlyRequests?: number;
  /** Run only this deterministic slice of the cases (CI matrix); shard stores combine with `evalroute merge`. */
  shard?: Shard;
  /** Gate on goldens still marked `unreviewed` (drafts from `suite sample`). Default: refuse. */
  allowUnreviewed?: boolean;
  /**
   * Spending cap in USD for this run's API calls (`--max-cost`). Calls that would exceed it are not
   * made and the run ends incomplete; a later resume with a higher cap makes them. Needs every model
   * the run calls (and the judge) to have a price.
   */
  maxCostUsd?: number;
  /** Samples per (case, model); each is cached separately, so repeats are independent. Default 1. */
  repeats?: number;
  /** How the samples of a case make its verdict. Default majority. */
  repeatPolicy?: RepeatPolicy;
  /**
   * Retry backoff tuning; the defaults suit real APIs. `sleep` observes or replaces the waits;
   * `maxRetryAfterMs` caps what a provider's Retry-After may make a call wait (default 60 s, `--max-retry-wait`).
   */
  retry?: Partial<Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'sleep' | 'maxRetryAfterMs'>>;
  /**
   * How long the whole run may take, in ms (`--deadline`; from 1 s to 7 days). Every wait counts
   * against it; when it passes, or a retry would have to wait past it, the run stops making calls and
   * ends interrupted (exit 3) with the reason in its warnings; `resume` continues it.
   */
  deadlineMs?: number;
  /** Every wait before a retry, with the model key and its per-call timeout (the CLI prints the long ones). */
  onRetryWait?: (wait: RetryWait & { modelKey: string; callTimeoutMs: number }) => void;
  /** Where API keys are read from. Default: process.env. */
  env?: Record<string, string | undefined>;
  /** Working folder for default paths. Default: process.cwd(). */
  cwd?: string;
  /**
   * Folders besides the working folder (and the suite folder) that files named in the suite and the
   * config (cases, goldens, attachments, grader schemas and templates, recorded outputs) may come from.
   * Anything outside is refused (`--allow-path`).
   */
  allowPaths?: readonly string[];
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
  /**
   * Send the run's fresh calls through the providers' Batch APIs (half price, up to 24 h). With
   * `wait: false` the run is left `running` once its batches are submitted; `evalroute batch collect`
   * (or this call again with `resume`) finishes it. When no call needs the API (all cached or stored),
   * no batch is submitted and the run finishes at once either way.
   */
  batch?: BatchOptions;
  /** Progress and fallbacks of the batch phase. */
  onBatchStatus?: (event: BatchStatusEvent) => void;
  /**
   * Gateway in the loop: send every case through the gateway at this base URL (or the config's
   * `gateway.url`), attribute it to the tier whose model served it, and call only the baseline directly.
   * `false` ignores the config's gateway (runs that fill stored results for offline scoring).
   */
  through?: string | false;
  /** Gateway in the loop: called before the first request (`done` 0) and after each case's. */
  onGateway?: (event: { url: string; done: number; total: number }) => void;
  /**
   * Decide in stages (`--sequential`): each tier at up to `looks` looks on growing random subsets of its
   * cases, stopping its calls once it is decided (see gate/sequential.ts). A resume of a sequential run
   * continues with the design stored in it.
   */
  sequential?: { looks?: number };
  /**
   * Called once everything is loaded and the run is about to start. `looks` is set for a sequential
   * run, whose `calls` is then the most it can make.
   */
  onStart?: (info: { runId: string; cases: number; calls: number; dbFile: string; resumed: boolean; warnings: string[]; looks?: number }) => void;
}

export interface RunResult {
  summary: RunSummary;
  runId: string;
  results: CaseResult[];
  /** The suite's goldens, for outputs that show expectations (JUnit). */
  goldens: ReadonlyMap<string, Golden>;
  dbFile: string;
  /** 0 every tier shown to hold; 1 a tier failed; 3 incomplete or still waiting for its batches; 4 not decided. */
  exitCode: GateExitCode;
  /**
   * With `batch: { wait: false }`: the batches still to collect. The summary then has status `running`,
   * no tiers and pass false — there is no verdict until `evalroute batch collect <runId>`.
   */
  pendingBatches?: StoredBatch[];
}

export interface LoadedProject {
  config: EvalConfig;
  routing: Routing;
  suite: Suite;
}

/** Loads and cross-checks config, routing file and suite; every problem is a ConfigError (exit 2). */
export function loadProject(opts: ProjectLocation & { routing?: string }): LoadedProject {
  const { cwd, suiteDir, roots, config } = loadProjectConfig(opts);
  const routingFile = opts.routing ? resolve(cwd, opts.routing) : config.routing;
  if (!routingFile) {
    throw new UsageError(
      `no routing file: ${config.file} has no routing: key and --routing was not given\n  → add "routing: routing.yaml" to the config or pass --routing FILE`,
    );
  }
  const routing = loadRouting(routingFile, config);
  const suite = loadProjectSuite(suiteDir, roots);
  checkJudgeConfigured(config, suite);
  return { config, routing, suite };
}

/**
 * The request a model receives for a case: the rendered conversation, the model's params with the
 * suite's on top. `run`, `simulate` and `gate` must build it identically, or the cache would miss.
 */
export function requestBuilder(config: EvalConfig, suite: Suite, inputs: Map<string, ChatMessage[]>) {
  return (c: Case, modelKey: string, repeat: number): CompletionRequest => ({
    caseId: c.id,
    messages: inputs.get(c.id)!,
    params: { ...config.models.get(modelKey)!.params, ...suite.params, ...caseParams(c) },
    repeat,
  });
}

/** A case's own request params, minus what names the model or the conversation (evalroute sets those). */
function caseParams(c: Case): Record<string, unknown> {
  if (!c.params) return {};
  const { model: _model, messages: _messages, stream: _stream, ...rest } = c.params;
  return rest;
}

/** Every case's tier, as `run`, `simulate` and `gate` route them (a Portkey config's `params.*` see the gateway body). */
export function routeSuite(config: EvalConfig, routing: Routing, suite: Suite, inputs: Map<string, ChatMessage[]>) {
  const model = config.gateway?.model ?? config.models.get(routing.baseline)!.model;
  return assignTiers(
    routing,
    suite.cases,
    (c) => inputTextOf(inputs.get(c.id)!),
    (c) => gatewayRequestBody(c, inputs.get(c.id)!, suite.params, model),
  );
}

/**
 * `evalroute run` as a library call: load, route, call, grade, store, gate. Never exits the process;
 * bad input throws an EvalrouteError, a failing gate is a result.
 */
export function run(opts: RunOptions): Promise<RunResult> {
  return underDeadline(opts.deadlineMs, (deadline) => runUnder(opts, deadline));
}

/** `work` under the deadline `deadlineMs` asks for (checked first: 1 s to 7 days), cleared when it ends. */
export async function underDeadline<T>(deadlineMs: number | undefined, work: (deadline: RunDeadline | undefined) => Promise<T>): Promise<T> {
  checkDeadline(deadlineMs);
  const deadline = deadlineMs !== undefined ? new RunDeadline(deadlineMs) : undefined;
  try {
    return await work(deadline);
  } finally {
    deadline?.dispose();
  }
}

/**
 * `run` under a deadline its caller owns (`opts.deadlineMs` is ignored): `gate` runs the base rules'
 * fill and the head under one deadline, so `--deadline` bounds the whole gate. `rerun` is what the
 * run's stop messages tell the user to run to continue, when that is not `evalroute run --resume`
 * (a gate's head run is continued by running the gate again).
 */
export async function runUnder(opts: RunOptions, deadline: RunDeadline | undefined, rerun?: string): Promise<RunResult> {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const cache = opts.cache ?? 'use';
  if (opts.shard) checkShard(opts.shard, LIMITS.shards);
  // Asked first, answered while the project loads: `git` takes ~10 ms to start.
  const gitCommit = readGitCommit(cwd);
  const { config, routing, suite: loaded } = loadProject({ ...opts, cwd });
  checkGoldensReviewed(loaded, opts.allowUnreviewed === true);
  // Sharding filters after loading, so goldens and ids are still checked against the whole suite.
  const suite = opts.shard ? { ...loaded, cases: loaded.cases.filter((c) => inShard(c.id, opts.shard!)) } : loaded;
  if (opts.monthlyRequests !== undefined && !(Number.isFinite(opts.monthlyRequests) && opts.monthlyRequests > 0)) {
    throw new UsageError(`monthlyRequests must be a positive number, got ${opts.monthlyRequests}`);
  }

  checkSequential(opts);

  const inputs = new Map(suite.cases.map((c) => [c.id, renderCase(suite, c)]));
  // The caller's stop (Ctrl-C) and the deadline's, as one signal for everything the run waits on.
  const signal = deadline ? AbortSignal.any([opts.signal ?? new AbortController().signal, deadline.signal]) : (opts.signal ?? new AbortController().signal);
  const gateway = await throughGateway({ ...opts, signal }, { config, routing, suite, inputs }, env).catch((e: unknown) => {
    // Stopped in the gateway phase (before anything is stored): the stop says it was the deadline.
    if (deadline?.reason !== undefined && e instanceof RunIncompleteError) {
      throw new RunIncompleteError(`${e.message}: stopped by its --deadline of ${formatDuration(deadline.limitMs)} (${deadline.reason})`);
    }
    throw e;
  });
  const tierOf = gateway?.tierOf ?? new Map([...routeSuite(config, routing, suite, inputs)].map(([id, r]) => [id, r.tier]));
  const tierModel = new Map([...routing.tiers].map(([name, t]) => [name, t.model]));

  // Only the models this routing actually sends cases to are built, so a missing key for an
  // unused model does not block the gate.
  const used = new Set([routing.baseline, ...[...tierOf.values()].map((t) => tierModel.get(t)!)]);
  if (opts.maxCostUsd !== undefined) checkPriced(config, [...used, ...(config.judge ? [config.judge.model] : [])], opts.maxCostUsd);
  const providerEnv = cache === 'offline' ? offlineEnv(config, env) : env;
  const engineModel = (m: ModelConfig): EngineModel => ({
    provider: createProvider(m, { env: providerEnv }),
    concurrency: opts.concurrency ?? m.concurrency,
    ...(m.price ? { price: m.price } : {}),
    retry: {
      ...defaultRetryPolicy,
      ...opts.retry,
      maxRetries: m.maxRetries,
      ...(opts.onRetryWait ? { onWait: (w: RetryWait) => opts.onRetryWait!({ ...w, modelKey: m.key, callTimeoutMs: m.timeoutMs }) } : {}),
      ...(deadline ? { deadline: deadline.forModel(m.key) } : {}),
    },
    timeoutMs: m.timeoutMs,
    ...(m.rpm !== undefined ? { rpm: m.rpm } : {}),
    ...(m.tpm !== undefined ? { tpm: m.tpm } : {}),
    ...(m.adaptiveConcurrency !== undefined ? { adaptiveConcurrency: m.adaptiveConcurrency } : {}),
  });
  const models = new Map([...used].map((key) => [key, engineModel(config.models.get(key)!)]));
  // The judge is built only when a grader uses it, so an unused judge's missing key blocks nothing.
  const judgeConfig = config.judge && suite.graders.some((g) => g.type === 'judge') ? config.models.get(config.judge.model)! : undefined;
  const judgeModel = judgeConfig ? engineModel(judgeConfig) : undefined;
  const judgePrice = judgeConfig?.price;
  const builtGraders = await createGraders(suite);
  // A judge grader may name its own judge model (`model:`), overriding the config's judge for its grades.
  const graderJudges = graderJudgeModels(config, suite);

  const dbFile = opts.db ? resolve(cwd, opts.db) : config.store;
  const store = openStore(dbFile);
  try {
    const judge = judgeModel && judgeConfig ? managedJudge(judgeModel, judgeConfig.params, store, cache) : undefined;
    const graders = withOwnJudges(builtGraders, graderJudges, (m) => managedJudge(engineModel(m), m.params, store, cache));
    const fingerprint = runFingerprint({
      suite,
      config,
      models: [...used, ...(judgeConfig ? [judgeConfig.key] : []), ...[...graderJudges.values()].map((m) => m.key)],
    });
    const { runId, previous, stored } = startOrResume(store, opts.resume, {
      suite,
      routing,
      config,
      tierOf,
      inputs,
      gitCommit: await gitCommit,
      fingerprint,
    });
    const calls = (opts.repeats ?? 1) * suite.cases.reduce((n, c) => n + (tierModel.get(tierOf.get(c.id)!) === routing.baseline ? 1 : 2), 0);
    // A resumed sequential run keeps the design it started with, so its looks replay identically.
    const design = stored?.summary?.sequential ?? (opts.sequential ? sequentialDesign(opts.sequential) : undefined);
    opts.onStart?.({
      runId,
      cases: suite.cases.length,
      calls,
      dbFile,
      resumed: previous.length > 0,
      warnings: config.warnings ?? [],
      ...(design ? { looks: design.looks } : {}),
    });

    const requestFor = requestBuilder(config, suite, inputs);
    let prefetched: Map<string, Completion> | undefined = gateway?.prefetched;
    let collecting: StoredBatch[] = [];
    if (opts.batch) {
      const phase = {
        runId,
        store,
        config,
        env: providerEnv,
        cases: suite.cases,
        tierOf,
        tierModel,
        baseline: routing.baseline,
        models,
        requestFor,
        repeats: Math.max(1, opts.repeats ?? 1),
        cache,
        signal,
        ...(opts.onBatchStatus ? { onStatus: opts.onBatchStatus } : {}),
      };
      await submitBatches(phase, previous);
      collecting = store.getBatches(runId).filter((b) => b.status === 'submitted');
      if (!opts.batch.wait && collecting.length > 0) {
        // No verdict yet: the run stays `running` in the store until its batches are collected.
        const summary: RunSummary = { runId, suite: suite.name, status: 'running', pass: false, tiers: [], models: [] };
        return { summary, runId, results: [], goldens: suite.goldens, dbFile, exitCode: 3, pendingBatches: collecting };
      }
      prefetched = await collectBatches(phase, collecting, opts.batch.pollIntervalMs);
    }

    const engineOptions = {
      runId,
      goldens: suite.goldens,
      tierOf,
      tierModel,
      baseline: routing.baseline,
      models,
      requestFor,
      graders,
      ...(judge ? { judge } : {}),
      store,
      cache,
      signal,
      ...(prefetched ? { prefetched, prefetchedFrom: gateway ? ('gateway' as const) : ('batch' as const) } : {}),
      ...(opts.maxCostUsd !== undefined ? { maxCostUsd: opts.maxCostUsd } : {}),
      ...(opts.repeats !== undefined ? { repeats: opts.repeats } : {}),
      ...(judgePrice ? { judgePrice } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    };
    const staged = design
      ? await runSequentialStages({
          engine: engineOptions,
          cases: suite.cases,
          previous,
          routing,
          design,
          decide: opts.repeatPolicy ? { repeatPolicy: opts.repeatPolicy } : {},
        })
      : undefined;
    const engine = staged?.engine ?? (await runCases({ ...engineOptions, cases: suite.cases, previous }));

    const resume = rerun ?? resumeCommand(opts, suite, runId);
    if (engine.storeFailure) throw storeFailed(store, engine, resume, runId, suite);
    const summary = summarizeRun(engine, { runId, suite, routing, config, opts, resume, ...(staged && design ? { sequential: { ...staged, design } } : {}) });
    if (deadline?.reason !== undefined) summary.warnings = [...(summary.warnings ?? []), deadlineMessage(deadline, resume, store.getCalls(runId).length, calls)];
    const selectionBias = selectionBiasWarning(routing.content, suite.name, suite.cases.map((c) => c.id));
    if (selectionBias) summary.warnings = [...(summary.warnings ?? []), selectionBias];
    store.finishRun(runId, summary.status, summary);
    // Every item of a collected batch is now stored (answered) or was called directly (failed).
    if (!engine.interrupted) for (const b of collecting) store.markBatchCollected(runId, b.batchId);
    return { summary, runId, results: engine.results, goldens: suite.goldens, dbFile, exitCode: gateExitCode(summary) };
  } finally {
    store.close();
  }
}

/** `run --through`: the gateway decides each case's tier; the options that assume evalroute routes are refused. */
async function throughGateway(opts: RunOptions, project: Parameters<typeof routeThroughGateway>[0], env: Record<string, string | undefined>) {
  const url = gatewayUrl(project.config, opts.through);
  if (url === undefined) return undefined;
  const clash = opts.batch ? '--batch' : opts.sequential ? '--sequential' : (opts.repeats ?? 1) > 1 ? '--repeat' : opts.resume !== undefined ? '--resume' : opts.cache === 'offline' ? '--offline' : undefined;
  if (clash) throw new UsageError(`${clash} cannot be combined with a gateway in the loop (--through or gateway.url): the gateway answers each case once, live\n  → drop ${clash}, or run without the gateway`);
  const total = project.suite.cases.length;
  opts.onGateway?.({ url, done: 0, total });
  return routeThroughGateway(project, url, {
    env,
    signal: opts.signal ?? new AbortController().signal,
    ...(opts.onGateway ? { onCase: (done: number) => opts.onGateway!({ url, done, total }) } : {}),
  });
}

/**
 * The run's result document: per-tier verdicts, per-model usage, errors by kind, cost, and the status —
 * incomplete when too many calls errored or the cost cap stopped calls, so a gate never passes on
 * partial data.
 */
function summarizeRun(
  engine: EngineResult,
  ctx: {
    runId: string;
    suite: Suite;
    routing: Routing;
    config: EvalConfig;
    opts: RunOptions;
    /** The command that continues the run (see runUnder). */
    resume: string;
    /** A sequential run's verdicts (decided look by look) and design. */
    sequential?: Pick<StagedRunResult, 'tiers'> & { design: SequentialDesign };
  },
): RunSummary {
  const { runId, suite, routing, config, opts, resume } = ctx;
  const repeatPolicy = opts.repeatPolicy ?? DEFAULT_REPEAT_POLICY;
  const tiers: GateVerdict[] = ctx.sequential?.tiers ?? decideAll(routing, engine.results, { repeatPolicy });
  const modelUsage = summarizeModels(engine.outcomes, [routing.baseline, ...[...routing.tiers.values()].map((t) => t.model)]);
  // A grade error (no readable judge verdict) is an error like a failed call: out of the comparison, into the budget.
  const errored = engine.outcomes.filter((o) => !usable(o)).length;
  const maxErrorRate = opts.maxErrorRate ?? 0.02;
  const overErrorBudget = engine.outcomes.length > 0 && errored / engine.outcomes.length > maxErrorRate;
  const status: RunStatus = engine.interrupted
    ? 'interrupted'
    : engine.notAttempted > 0 || overErrorBudget
      ? 'incomplete'
      : 'complete';
  const summary: RunSummary = {
    runId,
    suite: suite.name,
    status,
    pass: false, // concluded with the cost report below
    tiers,
    models: modelUsage,
    ...(opts.repeats && opts.repeats > 1
      ? { repeats: { samples: opts.repeats, policy: repeatPolicy, flaky: flakyCases(engine.results) } }
      : {}),
    ...(ctx.sequential ? { sequential: ctx.sequential.design } : {}),
  };
  const errors = groupErrors(engine.outcomes);
  if (errors.length) summary.errors = errors;
  if (opts.maxCostUsd !== undefined) {
    summary.costCap = { capUsd: opts.maxCostUsd, spentUsd: engine.spentUsd, notAttempted: engine.notAttempted };
  }
  const incomplete: string[] = [];
  if (overErrorBudget) {
    const rate = ((errored / engine.outcomes.length) * 100).toFixed(1);
    incomplete.push(`run incomplete: ${errored} of ${engine.outcomes.length} calls errored or could not be graded (${rate}% > ${(maxErrorRate * 100).toFixed(1)}% allowed by --max-error-rate)`);
  }
  if (engine.notAttempted > 0) {
    incomplete.push(
      `run incomplete: --max-cost $${opts.maxCostUsd} reached after spending $${engine.spentUsd.toFixed(4)}; ` +
        `${engine.notAttempted} calls not attempted (resume with a higher --max-cost: ${resume})`,
    );
  }
  if (status === 'incomplete') summary.tiers.forEach((t) => t.reasons.push(...incomplete));
  applyCostReport(
    summary,
    costReport({
      results: engine.results,
      outcomes: engine.outcomes,
      routing,
      models: config.models,
      cases: suite.cases,
      ...(opts.monthlyRequests !== undefined ? { monthlyRequests: opts.monthlyRequests } : {}),
      ...(config.judge ? { judgeModel: config.judge.model } : {}),
    }),
  );
  return concludeSummary(summary);
}

/** Errored calls by (kind, model), most frequent first, each with one example message. */
export function groupErrors(outcomes: CallOutcome[]): RunErrorGroup[] {
  const groups = new Map<string, RunErrorGroup>();
  for (const o of outcomes) {
    const gradeError = o.error ? undefined : o.grades.find((g) => g.error);
    const error = o.error ?? (gradeError ? { kind: `grade-error (${gradeError.grader})`, message: gradeError.error! } : undefined);
    if (!error) continue;
    const k = `${error.kind}\u0000${o.modelKey}`;
    const g = groups.get(k);
    if (g) g.count++;
    else {
      const { status, url } = o.error ?? {};
      groups.set(k, { kind: error.kind, model: o.modelKey, count: 1, ...(error.message ? { example: error.message } : {}), ...(status !== undefined ? { status } : {}), ...(url ? { url } : {}) });
    }
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || byCodeUnits(a.model, b.model) || byCodeUnits(a.kind, b.kind));
}

/**
 * A save failed, so the engine stopped calling. The run stays resumable: its saved calls are kept and
 * it is marked interrupted when the store still takes that one write (else it stays `running`, which
 * resume treats the same). Exit 3 with the cause and the way back.
 */
function storeFailed(store: Store, engine: EngineResult, resume: string, runId: string, suite: Suite): RunIncompleteError {
  const cause = engine.storeFailure!;
  const saved = store.getCalls(runId).length;
  try {
    store.finishRun(runId, 'interrupted', { runId, suite: suite.name, status: 'interrupted', pass: false, tiers: [], models: [] });
  } catch {
    // The store refuses writes; the run row still says `running`, which --resume continues as well.
  }
  return new RunIncompleteError(
    `${cause.message}\n  stopped making calls at once: ${saved} calls of run ${runId} are saved; the calls in flight were abandoned and a resume makes them again\n` +
      `  → fix the store (free disk space, check permissions), then: ${resume}`,
  );
}

/** --deadline: a whole number of ms from 1 s to 7 days (Node's timers misfire past 2^31 ms). */
function checkDeadline(ms: number | undefined): void {
  if (ms === undefined) return;
  if (!Number.isSafeInteger(ms) || ms < LIMITS.minDeadlineMs || ms > LIMITS.maxDeadlineMs) {
    throw new UsageError(`--deadline must be from ${formatDuration(LIMITS.minDeadlineMs)} to ${formatDuration(LIMITS.maxDeadlineMs)}, got ${ms} ms\n  → e.g. --deadline 45m or --deadline 2h`);
  }
}

/** What the run says when its deadline stopped it: which deadline, why, what is saved, how to go on. */
function deadlineMessage(deadline: RunDeadline, resume: string, saved: number, calls: number): string {
  return (
    `run stopped by its --deadline of ${formatDuration(deadline.limitMs)}: ${deadline.reason}; ${saved} of ${calls} calls are saved, none was made after the stop ` +
    `(continue with: ${resume}, with a longer --deadline if needed)`
  );
}

/**
 * The command that resumes `runId`: with the flags that found its project and store, or the resume
 * would load another config or routing (and be refused) or look in another results file.
 */
function resumeCommand(opts: RunOptions, suite: Suite, runId: string): string {
  return ['evalroute run', suite.dir, '--resume', runId, ...projectFlags(opts)].join(' ');
}

/** --max-cost can only bound what has a price; an unpriced model would make the cap meaningless. */
function checkPriced(config: EvalConfig, keys: string[], cap: number): void {
  if (!(cap > 0) || !Number.isFinite(cap)) throw new UsageError(`--max-cost must be a positive amount in USD, got ${cap}`);
  for (const key of new Set(keys)) {
    if (!config.models.get(key)?.price) {
      throw new UsageError(
        `model "${key}" has no price; --max-cost cannot bound it\n  → add price: { input: …, output: … } (USD per 1M tokens) to models.${key} in ${config.file}, or run without --max-cost`,
      );
    }
  }
}

/**
 * The run to make calls for — a new one, or the stored one `resume` names when nothing that decides its
 * results changed — locked for this process until the store is closed.
 */
function startOrResume(
  store: Store,
  resume: string | true | undefined,
  ctx: {
    suite: Suite;
    routing: Routing;
    config: EvalConfig;
    tierOf: Map<string, string>;
    inputs: Map<string, ChatMessage[]>;
    gitCommit: string | undefined;
    fingerprint: RunFingerprint;
  },
) {
  if (resume !== undefined) {
    const run = resume === true ? store.listRuns(200).find((r) => r.suite === ctx.suite.name) : store.getRun(resume);
    if (!run) throw new UsageError(`no run to resume${resume === true ? ` for suite "${ctx.suite.name}"` : ` with id "${resume}"`}\n  → list runs with: evalroute runs`);
    if (run.routingHash !== ctx.routing.hash) {
      throw new UsageError(`run ${run.id} used a different routing file (hash ${run.routingHash.slice(0, 12)}); resume with the same routing file or start a new run`);
    }
    if (run.status === 'complete') throw new UsageError(`run ${run.id} is already complete; start a new run instead of --resume`);
    checkResumable(run.id, run.fingerprint, ctx.fingerprint);
    // Locked before its calls are read: a second resume must not start from the same list.
    store.lockRun(run.id);
    return { runId: run.id, previous: store.getCalls(run.id), stored: run };
  }
  const { gitCommit } = ctx;
  const runId = store.beginRun({
    suite: ctx.suite.name,
    suiteDir: ctx.suite.dir,
    configContent: ctx.config.content,
    routingFile: ctx.routing.file,
    routingContent: ctx.routing.content,
    routingHash: ctx.routing.hash,
    ...(gitCommit ? { gitCommit } : {}),
    cases: ctx.suite.cases,
    assignment: ctx.tierOf,
    baseline: ctx.routing.baseline,
    goldens: ctx.suite.goldens,
    inputs: ctx.inputs,
    fingerprint: JSON.stringify(ctx.fingerprint),
  });
  store.lockRun(runId);
  return { runId, previous: [], stored: undefined };
}

/**
 * Sequential looks decide on whole tiers: a shard sees only part of each tier, and a batch round trip
 * per look would take up to a day each.
 */
function checkSequential(opts: RunOptions): void {
  if (!opts.sequential) return;
  const looks = opts.sequential.looks;
  if (looks !== undefined && !(Number.isInteger(looks) && looks >= 2 && looks <= 10)) {
    throw new UsageError(`--looks must be a whole number from 2 to 10, got ${looks}`);
  }
  if (opts.shard) throw new UsageError('--sequential cannot be combined with --shard: each look decides on whole tiers\n  → run the sequential gate unsharded, or drop --sequential');
  if (opts.batch) throw new UsageError('--sequential cannot be combined with --batch: every look would wait for a batch round trip\n  → drop one of the two');
}

/** The commit checked out in `cwd`, or undefined outside a git work tree (or without git). */
function readGitCommit(cwd: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', ['rev-parse', 'HEAD'], { cwd }, (err, stdout) => resolve(err ? undefined : stdout.trim() || undefined));
  });
}

/**
 * In --offline mode no call is made, so keys are not needed; placeholder values let providers be built
 * (their identity, which keys the cache, never includes the key).
 */
export function offlineEnv(config: EvalConfig, env: Record<string, string | undefined>): Record<string, string | undefined> {
  const filled = { ...env };
  for (const m of config.models.values()) {
    const name = apiKeyEnvOf(m);
    if (!name) continue;
    filled[name] ??= 'offline-no-key';
  }
  return filled;
}
