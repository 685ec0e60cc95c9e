/**
 * Anthropic Message Batches over the real SDK: `POST /v1/messages/batches` takes the requests inline,
 * the batch ends within 24 h, and its results are a JSONL stream at `results_url`, one line per item
 * (`succeeded`, `errored`, `canceled` or `expired`). Params are built exactly as the direct provider
 * builds them, so a batch answer and a direct answer to the same request are interchangeable.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type * as AnthropicSdk from '@anthropic-ai/sdk';
import type { Message } from '@anthropic-ai/sdk/resources/messages/messages';
import type { MessageBatch, MessageBatchIndividualResponse } from '@anthropic-ai/sdk/resources/messages/batches';
import { ProviderError, type ProviderErrorKind } from '../core/errors.js';
import type { Completion, CompletionRequest, ModelConfig, ProviderContext } from '../core/types.js';
import { withChildSignal } from '../core/abort.js';
import { DEFAULT_ANTHROPIC_BASE_URL, DEFAULT_ANTHROPIC_MAX_TOKENS } from './anthropic.js';
import { checkBatchItems, type BatchCapable, type BatchFactory, type BatchItem, type BatchOutcome, type BatchState, type BatchStatus } from './batch.js';
import { anthropicContent, mapSdkError, providerError, readApiKey } from './shared.js';

let sdkModule: Promise<typeof AnthropicSdk> | undefined;
const loadSdk = () => (sdkModule ??= import('@anthropic-ai/sdk'));

/** The Messages API params the direct Anthropic provider sends for this request. */
export function anthropicMessageParams(model: ModelConfig, req: CompletionRequest): Record<string, unknown> {
  const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content);
  const { stream: _stream, ...params } = req.params;
  return {
    max_tokens: DEFAULT_ANTHROPIC_MAX_TOKENS,
    ...params,
    model: model.model,
    ...(system.length ? { system: system.join('\n\n') } : {}),
    messages: req.messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role, content: anthropicContent(m) })),
  };
}

/** Anthropic error types (https://docs.anthropic.com/en/api/errors) onto the kinds direct calls use. */
const ERROR_KIND: Record<string, { kind: ProviderErrorKind; retryable: boolean }> = {
  invalid_request_error: { kind: 'bad_request', retryable: false },
  authentication_error: { kind: 'auth', retryable: false },
  permission_error: { kind: 'auth', retryable: false },
  billing_error: { kind: 'auth', retryable: false },
  not_found_error: { kind: 'not_found', retryable: false },
  request_too_large: { kind: 'bad_request', retryable: false },
  rate_limit_error: { kind: 'rate_limit', retryable: true },
  timeout_error: { kind: 'timeout', retryable: true },
  api_error: { kind: 'server', retryable: true },
  overloaded_error: { kind: 'server', retryable: true },
};

export class AnthropicBatch implements BatchCapable {
  readonly key: string;
  readonly #apiKey: string;
  #client: Anthropic | undefined;

  constructor(
    private readonly model: ModelConfig,
    ctx: ProviderContext,
  ) {
    this.key = model.key;
    this.#apiKey = readApiKey(model, ctx);
  }

  async submitBatch(items: BatchItem[], signal: AbortSignal): Promise<{ batchId: string }> {
    checkBatchItems(this.key, items);
    const requests = items.map((i) => ({ custom_id: i.customId, params: anthropicMessageParams(this.model, i.request) }));
    return this.#call(`batch of ${items.length} calls`, signal, async (client, callSignal) => {
      const batch = await client.messages.batches.create(
        { requests } as unknown as Parameters<Anthropic['messages']['batches']['create']>[0],
        { signal: callSignal },
      );
      return { batchId: batch.id };
    });
  }

  async pollBatch(batchId: string, signal: AbortSignal): Promise<BatchState> {
    const batch = await this.#call(`batch ${batchId}`, signal, (client, callSignal) => client.messages.batches.retrieve(batchId, {}, { signal: callSignal }));
    return describe(batch);
  }

  async fetchResults(batchId: string, signal: AbortSignal, requests?: ReadonlyMap<string, CompletionRequest>): Promise<Map<string, BatchOutcome>> {
    return this.#call(`batch ${batchId}`, signal, async (client, callSignal) => {
      const out = new Map<string, BatchOutcome>();
      // results() looks the batch up and streams its results_url line by line.
      const stream = await client.messages.batches.results(batchId, {}, { signal: callSignal });
      for await (const line of stream) {
        if (typeof line?.custom_id !== 'string') continue;
        const caseId = requests?.get(line.custom_id)?.caseId ?? line.custom_id;
        out.set(line.custom_id, this.#outcome(line, caseId, batchId));
      }
      return out;
    });
  }

  #outcome(line: MessageBatchIndividualResponse, caseId: string, batchId: string): BatchOutcome {
    const result = line.result;
    switch (result?.type) {
      case 'succeeded':
        return this.#completion(result.message, caseId, batchId);
      case 'errored': {
        // `error` is the API's error envelope `{type: 'error', error: {type, message}}`.
        const inner = (result.error as { error?: { type?: unknown; message?: unknown } } | undefined)?.error;
        const type = typeof inner?.type === 'string' ? inner.type : 'api_error';
        const message = typeof inner?.message === 'string' ? inner.message : 'no message';
        return providerError(this.key, caseId, `${type}: ${message} (in batch ${batchId})`, ERROR_KIND[type] ?? { kind: 'server', retryable: true });
      }
      case 'expired':
        return providerError(this.key, caseId, `batch ${batchId} expired before answering this item; evalroute makes a direct call instead`, { kind: 'timeout', retryable: true });
      case 'canceled':
        return providerError(this.key, caseId, `batch ${batchId} was cancelled before answering this item; evalroute makes a direct call instead`, { kind: 'server', retryable: true });
      default:
        return providerError(this.key, caseId, `unknown batch result type ${JSON.stringify((result as { type?: unknown } | undefined)?.type)} (in batch ${batchId})`, {
          kind: 'malformed_response',
          retryable: true,
        });
    }
  }

  #completion(res: Message, caseId: string, batchId: string): BatchOutcome {
    const blocks = Array.isArray(res?.content) ? res.content : [];
    const texts = blocks.flatMap((b) => (b.type === 'text' ? [b.text] : []));
    const requestId = res?.id;
    if (texts.length === 0) {
      return providerError(this.key, caseId, `the response has no text content (stop_reason ${String(res?.stop_reason)}, in batch ${batchId})`, {
        kind: 'malformed_response',
        retryable: false,
        ...(requestId ? { requestId } : {}),
      });
    }
    // input_tokens excludes cache reads and writes; all three are input the model processed.
    const cacheRead = res.usage?.cache_read_input_tokens ?? 0;
    const cacheWrite = res.usage?.cache_creation_input_tokens ?? 0;
    const completion: Completion = {
      text: texts.join(''),
      usage: {
        input: (res.usage?.input_tokens ?? 0) + cacheRead + cacheWrite,
        output: res.usage?.output_tokens ?? 0,
        ...(cacheRead ? { cachedInput: cacheRead } : {}),
      },
      latencyMs: 0,
      ...(requestId ? { requestId } : {}),
      ...(res.model ? { model: res.model } : {}),
    };
    return completion;
  }

  async #call<T>(what: string, signal: AbortSignal, work: (client: Anthropic, callSignal: AbortSignal) => Promise<T>): Promise<T> {
    const sdk = await loadSdk();
    // maxRetries 0 and an explicit base URL, for the same reasons as the direct provider.
    this.#client ??= new sdk.default({
      apiKey: this.#apiKey,
      maxRetries: 0,
      timeout: this.model.timeoutMs,
      baseURL: this.model.baseURL ?? DEFAULT_ANTHROPIC_BASE_URL,
    });
    try {
      const client = this.#client;
      return await withChildSignal([signal], (callSignal) => work(client, callSignal));
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      throw mapSdkError(err, sdk, this.key, what, signal);
    }
  }
}

function describe(batch: MessageBatch): BatchState {
  const rc = batch.request_counts;
  const failed = rc.errored + rc.canceled + rc.expired;
  const total = rc.processing + rc.succeeded + failed;
  // Anthropic has one terminal status, `ended`; how it ended is told by the counts.
  let status: BatchStatus = 'in_progress';
  if (batch.processing_status === 'ended') {
    status = batch.cancel_initiated_at ? 'cancelled' : rc.expired > 0 ? 'expired' : 'completed';
  }
  return {
    batchId: batch.id,
    status,
    counts: { total, succeeded: rc.succeeded, failed, pending: rc.processing },
    detail: `${batch.processing_status}; ${rc.succeeded} succeeded, ${rc.errored} errored, ${rc.expired} expired, ${rc.canceled} canceled`,
  };
}

export const createAnthropicBatch: BatchFactory = (model, ctx) => new AnthropicBatch(model, ctx);
