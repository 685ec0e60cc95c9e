/**
 * Provider Batch APIs (OpenAI Batch, Anthropic Message Batches): the same calls at half the price,
 * answered within 24 hours instead of seconds. A batch-capable model gets a `BatchCapable` beside its
 * `Provider`; the engine submits the run's fresh calls as one batch per model, waits (or detaches and
 * collects later by batch id), and makes direct calls only for the items the batch did not answer.
 *
 * Every item of a batch comes back as a Completion or a ProviderError, never as a missing key: an item
 * the provider errored, expired, cancelled or silently dropped is a ProviderError, so "which calls still
 * need a direct call" is simply "which outcomes are errors".
 */
import { createHash } from 'node:crypto';
import { ProviderError } from '../core/errors.js';
import type { Completion, CompletionRequest, ModelConfig, ProviderContext } from '../core/types.js';
import { providerError } from './shared.js';

export { BATCH_PRICE_FACTOR, batchPrice } from '../core/cost.js';

export interface BatchItem {
  /** Unique within the batch; see `batchCustomId`. */
  customId: string;
  request: CompletionRequest;
}

/** Normalised over both APIs. `in_progress` covers OpenAI's validating/finalizing/cancelling too. */
export type BatchStatus = 'in_progress' | 'completed' | 'failed' | 'expired' | 'cancelled';

export interface BatchCounts {
  total: number;
  succeeded: number;
  failed: number;
  /** Items not yet answered. */
  pending: number;
}

export interface BatchState {
  batchId: string;
  status: BatchStatus;
  counts?: BatchCounts;
  /** The provider's own status word and any batch-level error text, for progress lines and errors. */
  detail?: string;
}

export type BatchOutcome = Completion | ProviderError;

/**
 * A model that can take its calls as a batch. Instances hold no per-batch state: a fresh instance
 * (another process, `evalroute batch collect`) can poll and fetch any batch by its id.
 *
 * Completions come back with `latencyMs: 0` (a batch has no per-item latency) and without `costUsd`:
 * the engine costs them with `batchPrice(model.price)`.
 */
export interface BatchCapable {
  /** The model key from the config. */
  readonly key: string;
  submitBatch(items: BatchItem[], signal: AbortSignal): Promise<{ batchId: string }>;
  pollBatch(batchId: string, signal: AbortSignal): Promise<BatchState>;
  /**
   * Results by custom id of a batch in a terminal state. Only items the provider reported are in the
   * map; `requests` (by custom id), when given, lets usage be estimated for results that carry none.
   */
  fetchResults(batchId: string, signal: AbortSignal, requests?: ReadonlyMap<string, CompletionRequest>): Promise<Map<string, BatchOutcome>>;
}

export type BatchFactory = (model: ModelConfig, ctx: ProviderContext) => BatchCapable;

/**
 * The batch side of a model, or undefined when its provider type has no Batch API (recorded, azure —
 * whose batch deployments are a different product —, custom types): the engine calls those directly.
 * The modules load on demand, so a run without --batch never pays for them; like providers, it throws
 * MissingKeyError here, before any call, when the key is unset.
 */
export async function createBatchCapable(model: ModelConfig, ctx: ProviderContext): Promise<BatchCapable | undefined> {
  if (model.provider === 'openai') return new (await import('./openai-batch.js')).OpenAIBatch(model, ctx);
  if (model.provider === 'anthropic') return new (await import('./anthropic-batch.js')).AnthropicBatch(model, ctx);
  return undefined;
}

export const TERMINAL_STATUSES: ReadonlySet<BatchStatus> = new Set(['completed', 'failed', 'expired', 'cancelled']);

const CUSTOM_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A custom id both APIs accept (Anthropic: `^[a-zA-Z0-9_-]{1,64}$`) that is deterministic, so a later
 * process can match results to (case, repeat) without storing a mapping: a readable prefix of the case
 * id for provider dashboards, plus a hash of the exact id so distinct cases never collide.
 */
export function batchCustomId(caseId: string, repeat: number): string {
  const readable = caseId.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 40);
  const hash = createHash('sha256').update(`${caseId}\u0000${repeat}`).digest('hex').slice(0, 16);
  return `${readable}-r${repeat}-${hash}`.slice(-64);
}

/** Rejects what the APIs would reject for the whole batch, before anything is uploaded. */
export function checkBatchItems(modelKey: string, items: readonly BatchItem[]): void {
  if (items.length === 0) throw new Error(`internal: empty batch for model "${modelKey}"`);
  const seen = new Set<string>();
  for (const { customId } of items) {
    if (!CUSTOM_ID.test(customId)) throw new Error(`internal: batch custom id "${customId}" is not 1–64 of [A-Za-z0-9_-]; build it with batchCustomId`);
    if (seen.has(customId)) throw new Error(`internal: batch custom id "${customId}" appears twice in the batch for model "${modelKey}"`);
    seen.add(customId);
  }
}

export interface AwaitBatchOptions {
  signal: AbortSignal;
  /** First wait between polls; grows ×1.5 per poll up to `maxPollIntervalMs`. Default 5 s. */
  pollIntervalMs?: number;
  /** Default 60 s: batches take minutes to hours, polling faster only spends rate limit. */
  maxPollIntervalMs?: number;
  /** Poll errors (429, 5xx, network) tolerated in a row before giving up on the batch. Default 5. */
  maxPollFailures?: number;
  /** Called after every poll with the batch's state. */
  onStatus?: (state: BatchState) => void;
  /** Injected by tests; defaults to an abortable timer. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface RunBatchOptions extends AwaitBatchOptions {
  /** Called once the batch exists, before any waiting: persist the id here so a crash can collect it. */
  onSubmitted?: (batchId: string) => void;
}

/**
 * Submit, wait until the batch is terminal, fetch and map the results: every item comes back, as a
 * Completion or as a ProviderError saying why the batch did not answer it. A submission failure throws
 * (nothing was batched; the caller makes direct calls or stops).
 */
export async function runBatch(capable: BatchCapable, items: BatchItem[], opts: RunBatchOptions): Promise<Map<string, BatchOutcome>> {
  const { batchId } = await capable.submitBatch(items, opts.signal);
  opts.onSubmitted?.(batchId);
  return awaitBatch(capable, batchId, items, opts);
}

/**
 * Waits for a submitted batch (possibly submitted by another process) and maps its results onto
 * `items`. Aborting stops waiting, never the batch: it keeps running at the provider and can be
 * collected later by id, which the thrown `aborted` error says.
 */
export async function awaitBatch(
  capable: BatchCapable,
  batchId: string,
  items: readonly BatchItem[],
  opts: AwaitBatchOptions,
): Promise<Map<string, BatchOutcome>> {
  const sleep = opts.sleep ?? sleepFor;
  const maxInterval = opts.maxPollIntervalMs ?? 60_000;
  let interval = Math.min(opts.pollIntervalMs ?? 5_000, maxInterval);
  let failures = 0;
  let state: BatchState;
  for (;;) {
    if (opts.signal.aborted) throw stoppedWaiting(capable.key, batchId);
    try {
      state = await capable.pollBatch(batchId, opts.signal);
      failures = 0;
    } catch (err) {
      if (opts.signal.aborted) throw stoppedWaiting(capable.key, batchId);
      // A batch outlives any one failed status request; only a run of them (or a 401/404) ends the wait.
      if (!(err instanceof ProviderError) || !err.retryable || ++failures > (opts.maxPollFailures ?? 5)) throw err;
      await sleep(Math.max(interval, err.retryAfterMs ?? 0), opts.signal).catch(() => undefined);
      continue;
    }
    opts.onStatus?.(state);
    if (TERMINAL_STATUSES.has(state.status)) break;
    await sleep(interval, opts.signal).catch(() => undefined);
    interval = Math.min(Math.round(interval * 1.5), maxInterval);
  }

  const requests = new Map(items.map((i) => [i.customId, i.request]));
  // A failed batch (rejected at validation) has no result files; an expired or cancelled one may hold
  // the items it finished before the window closed.
  const results = state.status === 'failed' ? new Map<string, BatchOutcome>() : await capable.fetchResults(batchId, opts.signal, requests);
  const out = new Map<string, BatchOutcome>();
  for (const { customId, request } of items) {
    out.set(customId, results.get(customId) ?? missingResult(capable.key, request.caseId, state));
  }
  return out;
}

/** The batch ended without an answer for this item: a direct call may still get one. */
function missingResult(modelKey: string, caseId: string, state: BatchState): ProviderError {
  const why =
    state.status === 'failed'
      ? `batch ${state.batchId} failed${state.detail ? ` (${state.detail})` : ''}`
      : state.status === 'completed'
        ? `batch ${state.batchId} completed without a result for this item`
        : `batch ${state.batchId} ${state.status} before answering this item`;
  return providerError(modelKey, caseId, `${why}; evalroute makes a direct call instead`, {
    kind: state.status === 'expired' ? 'timeout' : 'server',
    retryable: true,
  });
}

function stoppedWaiting(modelKey: string, batchId: string): ProviderError {
  return new ProviderError(
    `call aborted: stopped waiting for batch ${batchId} of model "${modelKey}"; the batch keeps running at the provider\n` +
      '  → collect it later with: evalroute batch collect <run-id>',
    { kind: 'aborted', retryable: false },
  );
}

/** Resolves early (without throwing) on abort: the poll loop checks the signal itself. */
function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
