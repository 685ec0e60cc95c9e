/**
 * Anthropic Messages API. Like the OpenAI provider, the SDK is imported on the first call so start-up
 * stays fast for commands that never call a model.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type * as AnthropicSdk from '@anthropic-ai/sdk';
import type { Message, MessageCreateParamsNonStreaming } from '@anthropic-ai/sdk/resources/messages/messages';
import type { Completion, CompletionRequest, ModelConfig, Provider, ProviderContext, ProviderFactory } from '../core/types.js';
import { withCallSignal } from '../core/abort.js';
import { httpFetch } from './http-fetch.js';
import { anthropicContent, checkAttachmentLimits, elapsedSince, endpointUrl, mapSdkError, providerError, providerIdentity, readApiKey } from './shared.js';


let sdkModule: Promise<typeof AnthropicSdk> | undefined;
const loadSdk = () => (sdkModule ??= import('@anthropic-ai/sdk'));

export const DEFAULT_ANTHROPIC_BASE_URL = 'https://api.anthropic.com';
/** The Messages API requires max_tokens; this applies when neither the model nor the suite sets it. */
export const DEFAULT_ANTHROPIC_MAX_TOKENS = 1024;

export class AnthropicProvider implements Provider {
  readonly key: string;
  readonly identity: string;
  readonly #apiKey: string;
  #client: Anthropic | undefined;

  constructor(
    private readonly model: ModelConfig,
    ctx: ProviderContext,
  ) {
    this.key = model.key;
    this.#apiKey = readApiKey(model, ctx);
    this.identity = providerIdentity('anthropic', model, DEFAULT_ANTHROPIC_BASE_URL);
  }

  async complete(req: CompletionRequest, signal: AbortSignal): Promise<Completion> {
    checkAttachmentLimits('anthropic', this.key, req);
    const sdk = await loadSdk();
    this.#client ??= new sdk.default({
      apiKey: this.#apiKey,
      maxRetries: 0, // the engine owns retries
      timeout: this.model.timeoutMs,
      // Explicit even by default: the SDK would otherwise read a base URL from the environment, which
      // only the CLI may do and which the cache identity would not see.
      baseURL: this.model.baseURL ?? DEFAULT_ANTHROPIC_BASE_URL,
      fetch: httpFetch, // CPU per call: see http-fetch.ts
    });
    // The Messages API takes the system prompt as a parameter, not as a message.
    const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content);
    const { stream: _stream, ...params } = req.params;
    const body = {
      max_tokens: DEFAULT_ANTHROPIC_MAX_TOKENS,
      ...params,
      model: this.model.model,
      ...(system.length ? { system: system.join('\n\n') } : {}),
      messages: req.messages
        .filter((m) => m.role !== 'system')
        .map((m) => ({ role: m.role as 'user' | 'assistant', content: anthropicContent(m) })),
    } as MessageCreateParamsNonStreaming;

    // The SDKs do not always remove their abort listener: withCallSignal keeps a long-lived signal (a
    // library caller's) from collecting one per call, and adds nothing to the engine's per-attempt signal.
    const client = this.#client;
    const start = performance.now();
    let res: Message & { _request_id?: string | null };
    try {
      res = await withCallSignal(signal, (callSignal) => client.messages.create(body, { signal: callSignal }));
    } catch (err) {
      throw mapSdkError(err, sdk, this.key, req.caseId, signal, endpointUrl(this.model.baseURL ?? DEFAULT_ANTHROPIC_BASE_URL, '/v1/messages'));
    }
    const latencyMs = elapsedSince(start);
    const requestId = res._request_id ?? res.id;
    const blocks = Array.isArray(res.content) ? res.content : [];
    const texts = blocks.flatMap((b) => (b.type === 'text' ? [b.text] : []));
    if (texts.length === 0) {
      throw providerError(this.key, req.caseId, `the response has no text content (stop_reason ${String(res.stop_reason)})`, {
        kind: 'malformed_response',
        retryable: false,
        ...(requestId ? { requestId } : {}),
      });
    }
    // input_tokens excludes cache reads and writes; all three are input the model processed.
    const cacheRead = res.usage?.cache_read_input_tokens ?? 0;
    const cacheWrite = res.usage?.cache_creation_input_tokens ?? 0;
    return {
      text: texts.join(''),
      usage: {
        input: (res.usage?.input_tokens ?? 0) + cacheRead + cacheWrite,
        output: res.usage?.output_tokens ?? 0,
        ...(cacheRead ? { cachedInput: cacheRead } : {}),
      },
      latencyMs,
      ...(requestId ? { requestId } : {}),
      ...(res.model ? { model: res.model } : {}),
    };
  }
}

export const createAnthropicProvider: ProviderFactory = (model, ctx) => new AnthropicProvider(model, ctx);
