import pLimit from 'p-limit';
import { callCost } from '../core/cost.js';
import { EvalrouteError, ProviderError } from '../core/errors.js';
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
import { requestHash } from './request-hash.js';
import { type RetryPolicy, toProviderError, withRetries } from './retry.js';

/** How the response cache is used: normal, bypassed for reads (`--no-cache`), or the only source (`--offline`). */
export type CacheMode = 'use' | 'refresh' | 'offline';

export interface EngineModel {
  provider: Provider;
  concurrency: number;
  price?: Price;
  retry: RetryPolicy;
  /** Hard per-call deadline, a safety net over the SDK's own timeout so a stuck socket cannot hang a run. */
  timeoutMs: number;
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
  /** Calls already stored for this run (resume): they are reused, never repeated. */
  previous?: CallOutcome[];
  onProgress?: (event: ProgressEvent) => void;
}

export interface EngineResult {
  results: CaseResult[];
  outcomes: CallOutcome[];
  interrupted: boolean;
}

const key = (caseId: string, modelKey: string, repeat: number) => `${caseId}\u0000${modelKey}\u0000${repeat}`;

/**
 * Calls, grades and persists every (case, model) pair the routing needs: the baseline model for every
 * case, plus the case's tier model when it differs. Each outcome is saved as soon as it is graded, so a
 * killed run loses at most the calls in flight.
 */
export async function runCases(opts: EngineOptions): Promise<EngineResult> {
  const limits = new Map([...opts.models].map(([k, m]) => [k, pLimit(Math.max(1, m.concurrency))]));
  const previous = new Map((opts.previous ?? []).map((o) => [key(o.caseId, o.modelKey, o.repeat), o]));
  const needsBaseline = opts.graders.some((g) => g.needsBaseline);
  const baselineCompletions = new Map<string, Promise<Completion | undefined>>();
  const progress: ProgressEvent = { done: 0, total: 0, errors: 0, cached: 0, costUsd: 0 };

  const settle = (outcome: CallOutcome): CallOutcome => {
    progress.done++;
    if (outcome.error) progress.errors++;
    if (outcome.completion?.cached) progress.cached++;
    progress.costUsd += outcome.completion?.costUsd ?? 0;
    opts.onProgress?.({ ...progress, last: outcome });
    return outcome;
  };

  const callAndGrade = async (c: Case, modelKey: string): Promise<CallOutcome> => {
    const prior = previous.get(key(c.id, modelKey, 0));
    if (prior && !prior.error) return settle(prior);
    const model = opts.models.get(modelKey);
    if (!model) throw new Error(`internal: model ${modelKey} has no provider`);
    const request = opts.requestFor(c, modelKey, 0);
    const hash = requestHash(model.provider, request);
    const base = { caseId: c.id, modelKey, repeat: 0, requestHash: hash };

    let completion: Completion;
    try {
      completion = await limits.get(modelKey)!(() => obtainCompletion(model, request, hash, opts));
    } catch (err) {
      if (err instanceof EvalrouteError && !(err instanceof ProviderError)) throw err;
      const error = toProviderError(err);
      if (error.kind === 'aborted' && opts.signal.aborted) throw error;
      const outcome: CallOutcome = { ...base, error: describeError(error), grades: [], pass: false, score: 0 };
      opts.store.saveCall(opts.runId, outcome);
      return settle(outcome);
    }

    const baseline =
      needsBaseline && modelKey !== opts.baseline ? await baselineCompletions.get(c.id) : undefined;
    const grades = await gradeAll(opts, c, completion, request, baseline);
    const pass = grades.length > 0 && grades.every((g) => g.pass && !g.error);
    const score = grades.length ? grades.reduce((s, g) => s + g.score, 0) / grades.length : 0;
    const outcome: CallOutcome = { ...base, completion, grades, pass, score };
    opts.store.saveCall(opts.runId, outcome);
    return settle(outcome);
  };

  const pending: Array<Promise<{ c: Case; tier: string; baseline: CallOutcome; candidate: CallOutcome }>> = [];
  for (const c of opts.cases) {
    const tier = opts.tierOf.get(c.id);
    if (tier === undefined) throw new Error(`internal: case ${c.id} has no tier`);
    const tierModel = opts.tierModel.get(tier) ?? opts.baseline;
    const baselineCall = callAndGrade(c, opts.baseline);
    baselineCompletions.set(
      c.id,
      baselineCall.then((o) => o.completion, () => undefined),
    );
    const candidateCall = tierModel === opts.baseline ? baselineCall : callAndGrade(c, tierModel);
    progress.total += tierModel === opts.baseline ? 1 : 2;
    pending.push(Promise.all([baselineCall, candidateCall]).then(([b, cand]) => ({ c, tier, baseline: b, candidate: cand })));
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
      throw s.reason;
    }
    const { c, tier, baseline, candidate } = s.value;
    results.push({ caseId: c.id, tier, baseline, candidate });
    outcomes.push(baseline);
    if (candidate !== baseline) outcomes.push(candidate);
  }
  return { results, outcomes, interrupted: interrupted || opts.signal.aborted };
}

async function obtainCompletion(
  model: EngineModel,
  request: CompletionRequest,
  hash: string,
  opts: EngineOptions,
): Promise<Completion> {
  if (opts.cache !== 'refresh') {
    const hit = opts.store.findCachedCompletion(hash);
    if (hit) return hit;
    if (opts.cache === 'offline') {
      throw new ProviderError(
        `no cached response for case "${request.caseId}" on model "${model.provider.key}" and --offline forbids calls; ` +
          'run once with network access (and keys) to fill the cache',
        { kind: 'offline_miss', retryable: false },
      );
    }
  }
  const { value, attempts } = await withRetries(
    () => {
      const deadline = AbortSignal.timeout(model.timeoutMs + 5_000);
      return model.provider.complete(request, AbortSignal.any([opts.signal, deadline]));
    },
    model.retry,
    opts.signal,
  );
  const cost = callCost(value.usage, model.price);
  return { ...value, attempts, cached: false, ...(cost === undefined ? {} : { costUsd: cost }) };
}

async function gradeAll(
  opts: EngineOptions,
  c: Case,
  completion: Completion,
  request: CompletionRequest,
  baseline: Completion | undefined,
): Promise<Grade[]> {
  const golden = opts.goldens.get(c.id);
  const ctx = {
    request,
    signal: opts.signal,
    ...(golden ? { golden } : {}),
    ...(baseline ? { baseline } : {}),
    ...(opts.judge ? { judge: opts.judge } : {}),
  };
  const grades: Grade[] = [];
  for (const grader of opts.graders) {
    try {
      grades.push(await grader.grade(c, completion, ctx));
    } catch (err) {
      const message = redact(err instanceof Error ? err.message : String(err));
      grades.push({ grader: grader.name, score: 0, pass: false, error: message, explanation: `grader error: ${message}` });
    }
  }
  return grades;
}

function describeError(error: ProviderError): CallOutcome['error'] & object {
  return {
    kind: error.kind,
    message: redact(error.message),
    ...(error.requestId ? { requestId: error.requestId } : {}),
    ...(error.status !== undefined ? { status: error.status } : {}),
  };
}
