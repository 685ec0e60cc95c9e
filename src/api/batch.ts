/**
 * The batch phase of `run --batch` and `batch collect`: the run's fresh calls go to the providers'
 * Batch APIs (half price, answered within 24 h), and their answers become the engine's `prefetched`
 * completions. Whatever a batch does not answer — a failed item, a model without a Batch API, a
 * gateway that rejects the submission — the engine then calls directly, so batching never loses a call.
 */
import { ProviderError } from '../core/errors.js';
import type { CallOutcome, Case, Completion, CompletionRequest, EvalConfig, Store, StoredBatch } from '../core/types.js';
import { prefetchKey, type CacheMode, type EngineModel } from '../engine/run-cases.js';
import { requestHash } from '../engine/request-hash.js';
import { awaitBatch, batchCustomId, createBatchCapable, type BatchItem, type BatchState } from '../providers/batch.js';
import { checkAttachmentLimits } from '../providers/shared.js';

export interface BatchOptions {
  /** Wait for the batches and finish the run; false submits, stores the ids and leaves the run `running`. */
  wait: boolean;
  /** First wait between status polls (default 5 s, growing to 60 s). */
  pollIntervalMs?: number;
}

/** Progress of the batch phase, for the CLI's stderr lines. `fallback` means direct calls instead. */
export type BatchStatusEvent =
  | { kind: 'submitted'; modelKey: string; batchId: string; items: number }
  | { kind: 'fallback'; modelKey: string; message: string }
  | { kind: 'status'; modelKey: string; state: BatchState }
  | { kind: 'collected'; modelKey: string; batchId: string; answered: number; failed: number };

export interface BatchPhaseContext {
  runId: string;
  store: Store;
  config: EvalConfig;
  env: Record<string, string | undefined>;
  cases: Case[];
  tierOf: Map<string, string>;
  tierModel: Map<string, string>;
  baseline: string;
  models: Map<string, EngineModel>;
  requestFor: (c: Case, modelKey: string, repeat: number) => CompletionRequest;
  repeats: number;
  cache: CacheMode;
  signal: AbortSignal;
  onStatus?: (event: BatchStatusEvent) => void;
}

/**
 * Submits one batch per batch-capable model for the calls that still need the API: not stored for this
 * run, not in the response cache (unless --no-cache), not already in a batch of this run. Each batch id
 * is stored the moment it exists. A submission that fails is reported and its calls are left to direct
 * calls. Returns the batches submitted now.
 */
export async function submitBatches(ctx: BatchPhaseContext, previous: CallOutcome[]): Promise<StoredBatch[]> {
  if (ctx.cache === 'offline') return [];
  const done = new Set(previous.filter((o) => !o.error).map((o) => prefetchKey(o.caseId, o.modelKey, o.repeat)));
  const inBatch = new Set(
    ctx.store
      .getBatches(ctx.runId)
      .filter((b) => b.status === 'submitted')
      .flatMap((b) => b.items.map((i) => prefetchKey(i.caseId, b.modelKey, i.repeat))),
  );
  const byModel = new Map<string, Array<BatchItem & { requestHash: string }>>();
  for (const c of ctx.cases) {
    const tierModel = ctx.tierModel.get(ctx.tierOf.get(c.id)!) ?? ctx.baseline;
    for (const modelKey of new Set([ctx.baseline, tierModel])) {
      const model = ctx.models.get(modelKey)!;
      for (let r = 0; r < ctx.repeats; r++) {
        const k = prefetchKey(c.id, modelKey, r);
        if (done.has(k) || inBatch.has(k)) continue;
        const request = ctx.requestFor(c, modelKey, r);
        // An attachment over the API's limits would fail its item (or the whole batch file): the direct
        // call it is left to refuses it before any request, naming the case and the file.
        if (!withinAttachmentLimits(ctx.config.models.get(modelKey)!.provider, modelKey, request)) continue;
        const hash = requestHash(model.provider, request);
        if (ctx.cache === 'use' && ctx.store.findCachedCompletion(hash)) continue;
        const list = byModel.get(modelKey) ?? [];
        list.push({ customId: batchCustomId(c.id, r), request, requestHash: hash });
        byModel.set(modelKey, list);
      }
    }
  }

  const submitted: StoredBatch[] = [];
  for (const [modelKey, items] of byModel) {
    const modelConfig = ctx.config.models.get(modelKey)!;
    const capable = await createBatchCapable(modelConfig, { env: ctx.env });
    if (!capable) continue;
    try {
      const { batchId } = await capable.submitBatch(items.map(({ customId, request }) => ({ customId, request })), ctx.signal);
      const record: StoredBatch = {
        modelKey,
        provider: modelConfig.provider,
        batchId,
        status: 'submitted',
        items: items.map((i) => ({ customId: i.customId, caseId: i.request.caseId, repeat: i.request.repeat, requestHash: i.requestHash })),
        submittedAt: new Date().toISOString(),
      };
      ctx.store.saveBatch(ctx.runId, record);
      submitted.push(record);
      ctx.onStatus?.({ kind: 'submitted', modelKey, batchId, items: items.length });
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      const message = err instanceof Error ? err.message : String(err);
      ctx.onStatus?.({ kind: 'fallback', modelKey, message: `batch submission failed, calling ${items.length} requests directly: ${message}` });
    }
  }
  return submitted;
}

/**
 * Waits for the run's submitted batches and returns their answers by `prefetchKey`. Failed items are
 * left out (the engine calls them directly); so is an item whose request changed since submission
 * (its stored request hash no longer matches), because its answer would be to a different question.
 * A batch that cannot be awaited (status requests keep failing) is reported and falls back the same way.
 */
export async function collectBatches(
  ctx: BatchPhaseContext,
  batches: StoredBatch[],
  pollIntervalMs?: number,
): Promise<Map<string, Completion>> {
  const cases = new Map(ctx.cases.map((c) => [c.id, c]));
  const prefetched = new Map<string, Completion>();
  await Promise.all(
    batches.map(async (batch) => {
      const model = ctx.models.get(batch.modelKey);
      const modelConfig = ctx.config.models.get(batch.modelKey);
      if (!model || !modelConfig) return;
      const capable = await createBatchCapable(modelConfig, { env: ctx.env });
      if (!capable) return;
      const items: Array<BatchItem & { requestHash: string }> = [];
      for (const i of batch.items) {
        const c = cases.get(i.caseId);
        if (c) items.push({ customId: i.customId, request: ctx.requestFor(c, batch.modelKey, i.repeat), requestHash: i.requestHash });
      }
      try {
        const outcomes = await awaitBatch(capable, batch.batchId, items, {
          signal: ctx.signal,
          ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}),
          onStatus: (state) => ctx.onStatus?.({ kind: 'status', modelKey: batch.modelKey, state }),
        });
        let answered = 0;
        for (const item of items) {
          const out = outcomes.get(item.customId);
          if (!out || out instanceof ProviderError) continue;
          if (requestHash(model.provider, item.request) !== item.requestHash) continue;
          prefetched.set(prefetchKey(item.request.caseId, batch.modelKey, item.request.repeat), out);
          answered++;
        }
        ctx.onStatus?.({ kind: 'collected', modelKey: batch.modelKey, batchId: batch.batchId, answered, failed: items.length - answered });
      } catch (err) {
        if (ctx.signal.aborted) return;
        const message = err instanceof Error ? err.message : String(err);
        ctx.onStatus?.({ kind: 'fallback', modelKey: batch.modelKey, message: `could not collect batch ${batch.batchId}, calling its requests directly: ${message}` });
      }
    }),
  );
  return prefetched;
}

function withinAttachmentLimits(provider: string, modelKey: string, request: CompletionRequest): boolean {
  if (provider !== 'openai' && provider !== 'anthropic') return true;
  try {
    checkAttachmentLimits(provider, modelKey, request);
    return true;
  } catch {
    return false;
  }
}
