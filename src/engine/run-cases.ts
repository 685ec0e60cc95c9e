import { batchPrice, callCost } from '../core/cost.js';
import { EvalrouteError, ProviderError, stoppedError } from '../core/errors.js';
import { withChildSignal } from '../core/abort.js';
import { redact } from '../core/redact.js';
import type {
  CallOutcome,
  Case,
  CaseResult,
  Completion,
  CompletionRequest,
  Golden,
  Grade,
  Grader,
  Price,
  Provider,
  Store,
} from '../core/types.js';
import { CallSaver } from './call-saver.js';
import { CostBudget, CallSkipped, estimateRequestTokens, type TokenEstimate } from './cost-cap.js';
import { type ModelThrottle, throttleFor } from './rate-limit.js';
import { gatewayAnswerHash, requestHash } from './request-hash.js';
import { type RetryPolicy, type RetryWait, toProviderError, withRetries } from './retry.js';

/** How the response cache is used: normal, bypassed for reads (`--no-cache`), or the only source (`--offline`). */
export type CacheMode = 'use' | 'refresh' | 'offline';

export interface EngineModel {
  provider: Provider;
  concurrency: number;
  price?: Price;
  retry: RetryPolicy;
  /** Hard per-call deadline, a safety net over the SDK's own timeout so a stuck socket cannot hang a run. */
  timeoutMs: number;
  /** Requests / tokens per minute to pace this model to. */
  rpm?: number;
  tpm?: number;
  /** Halve calls in flight on repeated 429s, recover gradually. Default true. */
  adaptiveConcurrency?: boolean;
}

export interface ProgressEvent {
  done: number;
  total: number;
  errors: number;
  cached: number;
  /** Spend so far on priced models, USD. */
  costUsd: number;
  last?: CallOutcome;
}

export interface EngineOptions {
  runId: string;
  cases: Case[];
  goldens: Map<string, Golden>;
  /** caseId → tier. */
  tierOf: Map<string, string>;
  /** tier → model key. */
  tierModel: Map<string, string>;
  baseline: string;
  models: Map<string, EngineModel>;
  /** Builds the request a model receives for a case (rendering lives in config, not here). */
  requestFor: (c: Case, modelKey: string, repeat: number) => CompletionRequest;
  graders: Grader[];
  judge?: Provider;
  store: Store;
  cache: CacheMode;
  signal: AbortSignal;
  /** Samples per (case, model), each with its own repeat index (and so its own cache entry). Default 1. */
  repeats?: number;
  /** Calls already stored for this run (resume): they are reused, never repeated. */
  previous?: CallOutcome[];
  /**
   * Spending cap in USD (`--max-cost`) over this run's API calls, judge calls included. A call whose
   * estimate would take spent + in-flight estimates over it is not made (nor any call after it); such
   * calls are not stored, so a resume with a higher cap makes them. Every model needs a price.
   */
  maxCostUsd?: number;
  /** Price of the judge model, so judge calls count against `maxCostUsd`. */
  judgePrice?: Price;
  onProgress?: (event: ProgressEvent) => void;
  /**
   * Answers already given for some calls, by `caseId\0modelKey\0repeat`, standing in for the API call
   * (counted against `maxCostUsd`). Calls without an entry are made directly, as usual.
   */
  prefetched?: ReadonlyMap<string, Completion>;
  /**
   * Where `prefetched` came from. `batch` (default): the model's own answers through its Batch API —
   * a cache hit still wins, they cost the batch price and are stored as the model's answers.
   * `gateway`: what the team's gateway answered in this run (`run --through`) — they win over the
   * cache (the gate is about what the gateway did), cost the list price, and are stored under a
   * request hash of their own, so a later direct call of the model never gets the gateway's answer
   * from the cache.
   */
  prefetchedFrom?: 'batch' | 'gateway';
}

/** The `prefetched` key of a call. */
export const prefetchKey = (caseId: string, modelKey: string, repeat: number): string => `${caseId}\u0000${modelKey}\u0000${repeat}`;

export interface EngineResult {
  results: CaseResult[];
  outcomes: CallOutcome[];
  interrupted: boolean;
  /** Calls not made because of `maxCostUsd` (their cases are left out of `results`). */
  notAttempted: number;
  /** USD this run has spent on API calls (fresh calls only, earlier invocations of a resumed run included). */
  spentUsd: number;
  /**
   * Set when saving a call failed (disk full, read-only file…): the engine stopped making calls at once
   * and aborted those in flight, so nothing more is paid for that cannot be stored. `interrupted` is true.
   */
  storeFailure?: Error;
}

const key = (caseId: string, modelKey: string, repeat: number) => `${caseId}\u0000${modelKey}\u0000${repeat}`;

/**
 * Calls, grades and persists every (case, model) pair the routing needs: the baseline model for every
 * case, plus the case's tier model when it differs. Each outcome is saved as soon as it is graded (in
 * one transaction with the others graded in the same turn of the event loop), so a killed run loses at
 * most the calls in flight.
 */
export async function runCases(input: EngineOptions): Promise<EngineResult> {
  // A failed save stops the run like a Ctrl-C: no new call starts, calls in flight are aborted.
  const halt = new AbortController();
  const opts: EngineOptions = { ...input, signal: AbortSignal.any([input.signal, halt.signal]) };
  let storeFailure: Error | undefined;
  const saver = new CallSaver(opts.store, opts.runId);
  const persist = async (outcome: CallOutcome): Promise<void> => {
    try {
      await saver.save(outcome);
    } catch (err) {
      storeFailure ??= err instanceof Error ? err : new Error(String(err));
      halt.abort();
      throw stoppedError();
    }
  };
  const throttles = new Map([...opts.models].map(([k, m]) => [k, throttleFor(m)]));
  const previous = new Map((opts.previous ?? []).map((o) => [key(o.caseId, o.modelKey, o.repeat), o]));
  const budget = opts.maxCostUsd === undefined ? undefined : new CostBudget(opts.maxCostUsd);
  for (const o of previous.values()) if (o.completion && !o.completion.cached) budget?.spend(o.completion.costUsd ?? 0);
  const judge = opts.judge && budget ? budget.track(opts.judge, opts.judgePrice) : opts.judge;
  const ctx: CallContext = { opts, budget, ...(judge ? { judge } : {}) };
  const needsBaseline = opts.graders.some((g) => g.needsBaseline);
  const baselineCompletions = new Map<string, Promise<Completion | undefined>>();
  const progress: ProgressEvent = { done: 0, total: 0, errors: 0, cached: 0, costUsd: 0 };
  let notAttempted = 0;
  const candidateModel = (c: Case): string => {
    const tier = opts.tierOf.get(c.id);
    if (tier === undefined) throw new Error(`internal: case ${c.id} has no tier`);
    return opts.tierModel.get(tier) ?? opts.baseline;
  };

  const settle = (outcome: CallOutcome): CallOutcome => {
    progress.done++;
    if (outcome.error) progress.errors++;
    if (outcome.completion?.cached) progress.cached++;
    progress.costUsd += outcome.completion?.costUsd ?? 0;
    opts.onProgress?.({ ...progress, last: outcome });
    return outcome;
  };

  const callAndGrade = async (c: Case, modelKey: string, repeat: number): Promise<CallOutcome> => {
    const model = opts.models.get(modelKey);
    if (!model) throw new Error(`internal: model ${modelKey} has no provider`);
    const request = opts.requestFor(c, modelKey, repeat);
    const callKey = key(c.id, modelKey, repeat);
    const prefetched = opts.prefetched?.get(callKey);
    const fromGateway = prefetched !== undefined && opts.prefetchedFrom === 'gateway';
    const directHash = requestHash(model.provider, request);
    const hash = fromGateway ? gatewayAnswerHash(directHash) : directHash;
    // A stored call is reused only for the very request it answered; anything else is asked again.
    const prior = previous.get(callKey);
    if (prior && !prior.error && prior.requestHash === hash) return settle(prior);
    const base = { caseId: c.id, modelKey, repeat, requestHash: hash };

    let completion: Completion;
    const throttle = throttles.get(modelKey)!;
    try {
      completion = fromGateway
        ? prefetchedAnswer(prefetched, model.price, ctx)
        : await throttle.slots.run(() => obtainCompletion(model, throttle, request, hash, ctx, prefetched));
    } catch (err) {
      if (err instanceof CallSkipped) {
        notAttempted++;
        throw err;
      }
      if (err instanceof EvalrouteError && !(err instanceof ProviderError)) throw err;
      // Whatever fails once the run is stopping is a consequence of stopping: not stored, redone on resume.
      if (opts.signal.aborted) throw stoppedError();
      const error = toProviderError(err);
      const outcome: CallOutcome = { ...base, error: describeError(error), grades: [], pass: false, score: 0 };
      await persist(outcome);
      return settle(outcome);
    }

    const baseline =
      needsBaseline && modelKey !== opts.baseline ? await baselineCompletions.get(key(c.id, opts.baseline, repeat)) : undefined;
    const grades = await gradeAll(ctx, c, completion, request, baseline);
    // A judge cut off by the stop gave no verdict: keep the call out of the store so a resume grades it
    // again instead of reusing a grade error.
    if (opts.signal.aborted && grades.some((g) => g.error)) throw stoppedError();
    const pass = grades.length > 0 && grades.every((g) => g.pass && !g.error);
    const score = grades.length ? grades.reduce((s, g) => s + g.score, 0) / grades.length : 0;
    const outcome: CallOutcome = { ...base, completion, grades, pass, score };
    await persist(outcome);
    return settle(outcome);
  };

  const repeats = Math.max(1, opts.repeats ?? 1);
  const pending: Array<Promise<{ c: Case; tier: string; baseline: CallOutcome[]; candidate: CallOutcome[] }>> = [];
  // Counted up front: stored calls of a resumed run settle synchronously, before the loop below ends.
  progress.total = repeats * opts.cases.reduce((n, c) => n + (candidateModel(c) === opts.baseline ? 1 : 2), 0);
  for (const c of opts.cases) {
    const tier = opts.tierOf.get(c.id)!;
    const tierModel = candidateModel(c);
    const baselineCalls: Array<Promise<CallOutcome>> = [];
    const candidateCalls: Array<Promise<CallOutcome>> = [];
    for (let r = 0; r < repeats; r++) {
      const baselineCall = callAndGrade(c, opts.baseline, r);
      baselineCompletions.set(
        key(c.id, opts.baseline, r),
        baselineCall.then((o) => o.completion, () => undefined),
      );
      baselineCalls.push(baselineCall);
      candidateCalls.push(tierModel === opts.baseline ? baselineCall : callAndGrade(c, tierModel, r));
    }
    pending.push(
      Promise.all([Promise.all(baselineCalls), Promise.all(candidateCalls)]).then(([b, cand]) => ({ c, tier, baseline: b, candidate: cand })),
    );
  }

  const settled = await Promise.allSettled(pending);
  const results: CaseResult[] = [];
  const outcomes: CallOutcome[] = [];
  let interrupted = false;
  for (const s of settled) {
    if (s.status === 'rejected') {
      if (s.reason instanceof ProviderError && s.reason.kind === 'aborted') {
        interrupted = true;
        continue;
      }
      if (s.reason instanceof CallSkipped) continue;
      throw s.reason;
    }
    const { c, tier, baseline, candidate } = s.value;
    results.push({
      caseId: c.id,
      tier,
      baseline: baseline[0]!,
      candidate: candidate[0]!,
      ...(repeats > 1 ? { repeats: { baseline, candidate } } : {}),
    });
    outcomes.push(...baseline);
    if (candidate[0] !== baseline[0]) outcomes.push(...candidate);
  }
  return {
    results,
    outcomes,
    interrupted: interrupted || opts.signal.aborted,
    notAttempted,
    spentUsd: budget?.spent ?? progressSpend(outcomes),
    ...(storeFailure ? { storeFailure } : {}),
  };
}

interface CallContext {
  opts: EngineOptions;
  budget: CostBudget | undefined;
  /** The judge as graders see it: wrapped to count its spend when there is a cost cap. */
  judge?: Provider;
}

function progressSpend(outcomes: CallOutcome[]): number {
  return outcomes.reduce((s, o) => s + (o.completion && !o.completion.cached ? (o.completion.costUsd ?? 0) : 0), 0);
}

/**
 * Extra time the engine gives a call beyond the model's timeoutMs before it stops waiting on its own:
 * the SDK's timeout should fire first (with its own message), this catches a provider that ignores it.
 * At least a second, because a provider's first call also loads its SDK, which the SDK's timer does
 * not count.
 */
function hardDeadlineMs(timeoutMs: number): number {
  return timeoutMs + Math.max(1_000, Math.min(5_000, timeoutMs));
}

/**
 * Runs one attempt under a hard deadline. The provider is asked to stop through the signal; if it does
 * not, the engine stops waiting anyway and reports a timeout, so no provider can hang a run.
 */
function withDeadline<T>(
  work: (signal: AbortSignal) => Promise<T>,
  ms: number,
  outer: AbortSignal,
  describe: () => string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  // One signal for the attempt: aborted by the run's stop or by the deadline, made for this call alone.
  const attempt = withChildSignal(
    [outer],
    (signal, abort) => {
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          abort(new DOMException(`deadline of ${ms} ms passed`, 'TimeoutError'));
          reject(new ProviderError(`timeout: ${describe()} gave no answer within ${ms} ms; the engine stopped waiting`, { kind: 'timeout', retryable: true }));
        }, ms);
      });
      const call = work(signal);
      // Whichever loses the race must not surface later as an unhandled rejection.
      call.catch(() => undefined);
      expired.catch(() => undefined);
      return Promise.race([call, expired]);
    },
    { singleCall: true },
  );
  return attempt.finally(() => clearTimeout(timer));
}

/**
 * One API call to `model` as every call of a run (the judge's included) is made: each attempt waits for
 * the model's rate budget and runs under the hard deadline; retries follow `policy`, waiting outside the
 * call's concurrency slot. The caller holds that slot. The answer carries its attempts and its cost.
 * `estimate` (the caller's, when it made one for a cost cap) paces a tokens-per-minute limit; without
 * one, the call makes its own when the limit needs it.
 */
export async function pacedCall(
  model: EngineModel,
  throttle: ModelThrottle,
  request: CompletionRequest,
  policy: RetryPolicy,
  signal: AbortSignal,
  describe: () => string,
  estimate?: TokenEstimate,
): Promise<Completion> {
  const tokens = estimate ?? (throttle.needsTokenEstimate ? await estimateRequestTokens(request) : undefined);
  const estimatedTokens = tokens ? tokens.input + tokens.output : 0;
  const { value, attempts } = await withRetries(
    () =>
      throttle.attempt(estimatedTokens, signal, () =>
        withDeadline((s) => model.provider.complete(request, s), hardDeadlineMs(model.timeoutMs), signal, describe),
      ),
    throttle.releasingDuringWaits(policy),
    signal,
  );
  const cost = callCost(value.usage, model.price);
  return { ...value, attempts, ...(cost === undefined ? {} : { costUsd: cost }) };
}

/**
 * The response cache as `cache` allows it: the stored answer to `hash`, or undefined when the API is to
 * be asked. Under --offline a miss is an `offline_miss` error (`missing` says which call).
 */
export function cachedAnswer(store: Pick<Store, 'findCachedCompletion'>, cache: CacheMode, hash: string, missing: () => string): Completion | undefined {
  if (cache === 'refresh') return undefined;
  const hit = store.findCachedCompletion(hash);
  if (hit || cache !== 'offline') return hit;
  throw new ProviderError(missing(), { kind: 'offline_miss', retryable: false });
}

async function obtainCompletion(
  model: EngineModel,
  throttle: ModelThrottle,
  request: CompletionRequest,
  hash: string,
  ctx: CallContext,
  prefetched?: Completion,
): Promise<Completion> {
  const { opts, budget } = ctx;
  if (opts.signal.aborted) throw stoppedError();
  const hit = cachedAnswer(
    opts.store,
    opts.cache,
    hash,
    () =>
      `no cached response for case "${request.caseId}" on model "${model.provider.key}" and --offline forbids calls; ` +
      'run once with network access (and keys) to fill the cache',
  );
  if (hit) return hit;
  if (prefetched) return prefetchedAnswer(prefetched, batchPrice(model.price), ctx);
  // A cost cap reserves the estimate before the call; pacedCall reuses it for a tokens-per-minute limit.
  const estimate = budget ? await estimateRequestTokens(request) : undefined;
  const reservation = budget?.reserve(estimate!, model.price, request.caseId, model.provider.key);
  const describe = () => `model "${model.provider.key}", case "${request.caseId}"`;
  try {
    const completion = await pacedCall(model, throttle, request, withCase(model.retry, request.caseId), opts.signal, describe, estimate);
    budget?.spend(completion.costUsd ?? 0);
    return { ...completion, cached: false };
  } finally {
    if (reservation !== undefined) budget?.release(reservation);
  }
}

/** A prefetched answer as the call's completion, costed at `price` and counted against the budget. */
function prefetchedAnswer(prefetched: Completion, price: Price | undefined, { budget }: CallContext): Completion {
  const cost = callCost(prefetched.usage, price);
  budget?.spend(cost ?? 0);
  return { ...prefetched, attempts: 1, cached: false, ...(cost === undefined ? {} : { costUsd: cost }) };
}

async function gradeAll(
  ctx: CallContext,
  c: Case,
  completion: Completion,
  request: CompletionRequest,
  baseline: Completion | undefined,
): Promise<Grade[]> {
  const { opts, judge } = ctx;
  const golden = opts.goldens.get(c.id);
  const gradeCtx = {
    request,
    signal: opts.signal,
    ...(golden ? { golden } : {}),
    ...(baseline ? { baseline } : {}),
    ...(judge ? { judge } : {}),
  };
  const grades: Grade[] = [];
  for (const grader of opts.graders) {
    if (grader.appliesTo && !grader.appliesTo(c)) continue; // chosen per case in suite.yaml (when:)
    // Grading is synchronous work on outputs of any size: hand the event loop back before each grader so
    // responses of calls in flight are read (and their timers do not fire on a busy loop and re-send them).
    // Not before the first grader of a short output, which takes microseconds: the call is then graded in
    // the turn its answer arrived, and saved in the batch of that turn (engine/call-saver.ts).
    if (grades.length > 0 || completion.text.length > SHORT_OUTPUT_CHARS) await yieldToEventLoop();
    try {
      grades.push(await grader.grade(c, completion, gradeCtx));
    } catch (err) {
      const message = redact(err instanceof Error ? err.message : String(err));
      grades.push({ grader: grader.name, score: 0, pass: false, error: message, explanation: `grader error: ${message}` });
    }
  }
  return grades;
}

/** The policy with its wait reports (and a deadline's) naming the case. */
function withCase(policy: RetryPolicy, caseId: string): RetryPolicy {
  const { onWait, deadline } = policy;
  return {
    ...policy,
    ...(onWait ? { onWait: (w: RetryWait) => onWait({ ...w, caseId }) } : {}),
    ...(deadline ? { deadline: { covers: (ms: number) => deadline.covers(ms), exceeded: (w: RetryWait) => deadline.exceeded({ ...w, caseId }) } } : {}),
  };
}

/** Outputs up to this long are graded without first handing the event loop back (see gradeAll). */
const SHORT_OUTPUT_CHARS = 16 * 1024;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function describeError(error: ProviderError): CallOutcome['error'] & object {
  // withRetries tags the error it gives up with with the attempts it made.
  const attempts = (error as { attempts?: unknown }).attempts;
  return {
    kind: error.kind,
    message: redact(error.message),
    ...(error.requestId ? { requestId: error.requestId } : {}),
    ...(error.status !== undefined ? { status: error.status } : {}),
    ...(error.url !== undefined ? { url: error.url } : {}),
    ...(typeof attempts === 'number' ? { attempts } : {}),
  };
}
