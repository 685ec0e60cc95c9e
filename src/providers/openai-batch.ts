/**
 * OpenAI Batch API over the real SDK: the calls go up as one JSONL file (Files API, purpose `batch`),
 * `POST /v1/batches` runs them against `/v1/chat/completions` within 24 h, and the answers come back as
 * two JSONL files: `output_file_id` (answered lines) and `error_file_id` (lines that failed).
 * Request bodies are built exactly as the direct provider builds them, so a batch answer and a direct
 * answer to the same request are interchangeable (same cache identity).
 */
import type OpenAI from 'openai';
import type * as OpenAISdk from 'openai';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { Batch } from 'openai/resources/batches';
import { ProviderError } from '../core/errors.js';
import type { Completion, CompletionRequest, ModelConfig, ProviderContext } from '../core/types.js';
import { withChildSignal } from '../core/abort.js';
import { checkBatchItems, type BatchCapable, type BatchCounts, type BatchFactory, type BatchItem, type BatchOutcome, type BatchState, type BatchStatus } from './batch.js';
import { DEFAULT_OPENAI_BASE_URL } from './openai.js';
import { estimateUsage, kindForStatus, mapSdkError, openaiContent, providerError, readApiKey } from './shared.js';

let sdkModule: Promise<typeof OpenAISdk> | undefined;
const loadSdk = () => (sdkModule ??= import('openai'));

const ENDPOINT = '/v1/chat/completions';

/** One line of the input file, as the Batch API documents it. */
export interface OpenAIBatchLine {
  custom_id: string;
  method: 'POST';
  url: typeof ENDPOINT;
  body: Record<string, unknown>;
}

/** One line of the output or error file. */
interface OpenAIResultLine {
  id?: string;
  custom_id?: unknown;
  response?: { status_code?: number; request_id?: string; body?: unknown } | null;
  error?: { code?: string; message?: string } | null;
}

/** The chat completion body the direct OpenAI provider sends for this request. */
export function openaiChatBody(model: ModelConfig, req: CompletionRequest): Record<string, unknown> {
  const { stream: _stream, ...params } = req.params;
  return { ...params, model: model.model, messages: req.messages.map((m) => ({ role: m.role, content: openaiContent(m) })) };
}

const STATUS: Record<Batch['status'], BatchStatus> = {
  validating: 'in_progress',
  in_progress: 'in_progress',
  finalizing: 'in_progress',
  cancelling: 'in_progress',
  completed: 'completed',
  failed: 'failed',
  expired: 'expired',
  cancelled: 'cancelled',
};

export class OpenAIBatch implements BatchCapable {
  readonly key: string;
  readonly #apiKey: string;
  #client: OpenAI | undefined;

  constructor(
    private readonly model: ModelConfig,
    ctx: ProviderContext,
  ) {
    this.key = model.key;
    this.#apiKey = readApiKey(model, ctx);
  }

  async submitBatch(items: BatchItem[], signal: AbortSignal): Promise<{ batchId: string }> {
    checkBatchItems(this.key, items);
    const lines = items.map((i): OpenAIBatchLine => ({ custom_id: i.customId, method: 'POST', url: ENDPOINT, body: openaiChatBody(this.model, i.request) }));
    const jsonl = lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
    return this.#call(`batch of ${items.length} calls`, signal, async (client, sdk, callSignal) => {
      const file = await client.files.create(
        { file: await sdk.toFile(Buffer.from(jsonl, 'utf8'), 'batch.jsonl', { type: 'application/jsonl' }), purpose: 'batch' },
        { signal: callSignal },
      );
      const batch = await client.batches.create(
        { input_file_id: file.id, endpoint: ENDPOINT, completion_window: '24h', metadata: { evalroute_model: this.key } },
        { signal: callSignal },
      );
      return { batchId: batch.id };
    });
  }

  async pollBatch(batchId: string, signal: AbortSignal): Promise<BatchState> {
    const batch = await this.#call(`batch ${batchId}`, signal, (client, _sdk, callSignal) => client.batches.retrieve(batchId, { signal: callSignal }));
    return describe(batch);
  }

  async fetchResults(batchId: string, signal: AbortSignal, requests?: ReadonlyMap<string, CompletionRequest>): Promise<Map<string, BatchOutcome>> {
    const where = `batch ${batchId}`;
    return this.#call(where, signal, async (client, _sdk, callSignal) => {
      const batch = await client.batches.retrieve(batchId, { signal: callSignal });
      const out = new Map<string, BatchOutcome>();
      // The error file first: should a line appear in both, the answer wins.
      for (const fileId of [batch.error_file_id, batch.output_file_id]) {
        if (!fileId) continue;
        const text = await (await client.files.content(fileId, { signal: callSignal })).text();
        for (const line of text.split('\n')) {
          if (!line.trim()) continue;
          let parsed: OpenAIResultLine;
          try {
            parsed = JSON.parse(line) as OpenAIResultLine;
          } catch {
            continue; // an unreadable line names no item; that item shows up as missing and is called directly
          }
          if (typeof parsed.custom_id !== 'string') continue;
          const caseId = requests?.get(parsed.custom_id)?.caseId ?? parsed.custom_id;
          out.set(parsed.custom_id, await this.#outcome(parsed, caseId, batchId, requests?.get(parsed.custom_id)));
        }
      }
      return out;
    });
  }

  async #outcome(line: OpenAIResultLine, caseId: string, batchId: string, request: CompletionRequest | undefined): Promise<BatchOutcome> {
    const res = line.response;
    const requestId = res?.request_id;
    const ids = requestId ? { requestId } : {};
    if (!res || line.error) {
      const code = line.error?.code ?? 'no_response';
      return providerError(this.key, caseId, `batch ${batchId} did not answer this item (${code}: ${line.error?.message ?? 'no response'})`, {
        kind: code === 'batch_expired' ? 'timeout' : 'server',
        retryable: true,
        ...ids,
      });
    }
    const status = res.status_code ?? 0;
    if (status !== 200) {
      const body = res.body as { error?: { message?: unknown; type?: unknown } } | undefined;
      const message = typeof body?.error?.message === 'string' ? body.error.message : `HTTP ${status}`;
      const type = typeof body?.error?.type === 'string' ? `${body.error.type}: ` : '';
      return providerError(this.key, caseId, `${type}${message} (in batch ${batchId})`, { ...kindForStatus(status), status, ...ids });
    }
    const completion = res.body as Partial<ChatCompletion> | undefined;
    const choice = completion?.choices?.[0]?.message;
    const text = choice?.content;
    const id = requestId ?? completion?.id;
    if (typeof text !== 'string') {
      const why = choice?.refusal ? `the model refused: ${choice.refusal}` : 'the response has no text content';
      return providerError(this.key, caseId, `${why} (in batch ${batchId})`, { kind: 'malformed_response', retryable: false, ...(id ? { requestId: id } : {}) });
    }
    let usage: Completion['usage'];
    if (completion?.usage) {
      const cached = completion.usage.prompt_tokens_details?.cached_tokens;
      usage = { input: completion.usage.prompt_tokens, output: completion.usage.completion_tokens, ...(cached ? { cachedInput: cached } : {}) };
    } else if (request) {
      usage = await estimateUsage(request.messages, text);
    } else {
      // Without usage or the request to estimate it from, the call would look free; a direct call reports usage.
      return providerError(this.key, caseId, `the batch result has no usage (in batch ${batchId})`, { kind: 'malformed_response', retryable: true });
    }
    return {
      text,
      usage,
      latencyMs: 0,
      ...(id ? { requestId: id } : {}),
      ...(completion?.model ? { model: completion.model } : {}),
    };
  }

  /** Runs SDK calls with a throwaway child signal (the SDK never removes its listener) and maps errors. */
  async #call<T>(what: string, signal: AbortSignal, work: (client: OpenAI, sdk: typeof OpenAISdk, callSignal: AbortSignal) => Promise<T>): Promise<T> {
    const sdk = await loadSdk();
    // maxRetries 0 and an explicit base URL, for the same reasons as the direct provider.
    this.#client ??= new sdk.default({
      apiKey: this.#apiKey,
      maxRetries: 0,
      timeout: this.model.timeoutMs,
      baseURL: this.model.baseURL ?? DEFAULT_OPENAI_BASE_URL,
    });
    try {
      const client = this.#client;
      return await withChildSignal([signal], (callSignal) => work(client, sdk, callSignal));
    } catch (err) {
      if (err instanceof ProviderError) throw err;
      throw mapSdkError(err, sdk, this.key, what, signal);
    }
  }
}

function describe(batch: Batch): BatchState {
  const status = STATUS[batch.status] ?? 'in_progress';
  const rc = batch.request_counts;
  const counts: BatchCounts | undefined = rc
    ? { total: rc.total, succeeded: rc.completed, failed: rc.failed, pending: Math.max(0, rc.total - rc.completed - rc.failed) }
    : undefined;
  const errors = (batch.errors?.data ?? []).map((e) => `${e.code ?? 'error'}${e.line != null ? ` at line ${e.line}` : ''}: ${e.message ?? ''}`);
  return {
    batchId: batch.id,
    status,
    ...(counts ? { counts } : {}),
    detail: [batch.status, ...errors].join('; '),
  };
}

export const createOpenAIBatch: BatchFactory = (model, ctx) => new OpenAIBatch(model, ctx);
