/**
 * OpenAI Chat Completions, and any OpenAI-compatible API through `baseURL`; `provider: azure` uses the
 * SDK's Azure client (deployment = model id, endpoint = baseURL). The SDK is imported on the
 * first call, not at start-up: loading it costs tens of milliseconds that commands which never call a
 * model (report, history, --offline runs) should not pay.
 */
import type OpenAI from 'openai';
import type * as OpenAISdk from 'openai';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { Completion, CompletionRequest, ModelConfig, Provider, ProviderContext, ProviderFactory } from '../core/types.js';
import { withCallSignal } from '../core/abort.js';
import { httpFetch } from './http-fetch.js';
import { checkAttachmentLimits, elapsedSince, endpointUrl, estimateUsage, mapSdkError, openaiContent, providerError, providerIdentity, readApiKey } from './shared.js';


let sdkModule: Promise<typeof OpenAISdk> | undefined;
const loadSdk = () => (sdkModule ??= import('openai'));

export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';
/** Azure OpenAI's GA data-plane API version at the time of writing; `apiVersion` on the model overrides it. */
export const AZURE_DEFAULT_API_VERSION = '2024-10-21';

export class OpenAIProvider implements Provider {
  readonly key: string;
  readonly identity: string;
  readonly #apiKey: string;
  #client: OpenAI | undefined;

  constructor(
    private readonly model: ModelConfig,
    ctx: ProviderContext,
  ) {
    this.key = model.key;
    this.#apiKey = readApiKey(model, ctx);
    this.identity = providerIdentity(model.provider, model, DEFAULT_OPENAI_BASE_URL);
  }

  async complete(req: CompletionRequest, signal: AbortSignal): Promise<Completion> {
    checkAttachmentLimits('openai', this.key, req);
    const sdk = await loadSdk();
    // maxRetries 0: the engine owns retries, so backoff and attempt counts are decided in one place.
    // The base URL is explicit even by default: the SDK would otherwise read one from the environment,
    // which only the CLI may do and which the cache identity would not see.
    this.#client ??=
      this.model.provider === 'azure'
        ? new sdk.AzureOpenAI({
            apiKey: this.#apiKey,
            maxRetries: 0,
            timeout: this.model.timeoutMs,
            endpoint: this.model.baseURL ?? '',
            deployment: this.model.model,
            apiVersion: this.model.apiVersion ?? AZURE_DEFAULT_API_VERSION,
            fetch: httpFetch, // CPU per call: see http-fetch.ts
          })
        : new sdk.default({
            apiKey: this.#apiKey,
            maxRetries: 0,
            timeout: this.model.timeoutMs,
            baseURL: this.model.baseURL ?? DEFAULT_OPENAI_BASE_URL,
            fetch: httpFetch,
          });
    // `stream` would change the response shape; model and messages are ours to set.
    const { stream: _stream, ...params } = req.params;
    const body = {
      ...params,
      model: this.model.model,
      messages: req.messages.map((m) => ({ role: m.role, content: openaiContent(m) })),
    } as ChatCompletionCreateParamsNonStreaming;

    // The SDKs do not always remove their abort listener: withCallSignal keeps a long-lived signal (a
    // library caller's) from collecting one per call, and adds nothing to the engine's per-attempt signal.
    const client = this.#client;
    const start = performance.now();
    let res: ChatCompletion & { _request_id?: string | null };
    try {
      res = await withCallSignal(signal, (callSignal) => client.chat.completions.create(body, { signal: callSignal }));
    } catch (err) {
      throw mapSdkError(err, sdk, this.key, req.caseId, signal, this.#endpoint());
    }
    const latencyMs = elapsedSince(start);
    const requestId = res._request_id ?? res.id;
    const text = res.choices?.[0]?.message?.content;
    if (typeof text !== 'string') {
      const why = res.choices?.[0]?.message?.refusal ? `the model refused: ${res.choices[0].message.refusal}` : 'the response has no text content';
      throw providerError(this.key, req.caseId, why, { kind: 'malformed_response', retryable: false, ...(requestId ? { requestId } : {}) });
    }
    const cached = res.usage?.prompt_tokens_details?.cached_tokens;
    // Some OpenAI-compatible servers omit usage; an estimate beats a call that looks free.
    const usage = res.usage
      ? { input: res.usage.prompt_tokens, output: res.usage.completion_tokens, ...(cached ? { cachedInput: cached } : {}) }
      : await estimateUsage(req.messages, text);
    return {
      text,
      usage,
      latencyMs,
      ...(requestId ? { requestId } : {}),
      ...(res.model ? { model: res.model } : {}),
    };
  }

  /** Where the SDK sends the call, for error messages. */
  #endpoint(): string {
    if (this.model.provider === 'azure') {
      return endpointUrl(this.model.baseURL ?? '', `/openai/deployments/${encodeURIComponent(this.model.model)}/chat/completions`);
    }
    return endpointUrl(this.model.baseURL ?? DEFAULT_OPENAI_BASE_URL, '/chat/completions');
  }
}

export const createOpenAIProvider: ProviderFactory = (model, ctx) => new OpenAIProvider(model, ctx);
