/**
 * A team's running LLM gateway (Portkey, LiteLLM proxy, or any OpenAI-compatible router such as
 * OpenRouter auto) called as a black box: one chat request per case, carrying the case's metadata the
 * way that gateway expects, answered with the completion and whatever the gateway says about the model
 * that served it. The real `openai` client makes the call, so headers come back with the body.
 */
import type * as OpenAISdk from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { ChatMessage, Completion, GatewayKind } from '../core/types.js';
import { withCallSignal } from '../core/abort.js';
import { httpFetch } from './http-fetch.js';
import { elapsedSince, estimateUsage, mapSdkError, openaiContent, providerError } from './shared.js';

let sdkModule: Promise<typeof OpenAISdk> | undefined;
const loadSdk = () => (sdkModule ??= import('openai'));

export interface GatewayClientOptions {
  /** OpenAI-compatible base URL (…/v1). */
  url: string;
  type: GatewayKind;
  /** Portkey: the config JSON sent in `x-portkey-config` with every request. */
  portkeyConfig?: string;
  apiKey?: string;
  timeoutMs: number;
}

export interface GatewayRequest {
  caseId: string;
  /** OpenAI-format body without messages (model and params). */
  body: Record<string, unknown>;
  messages: readonly ChatMessage[];
  metadata?: Record<string, unknown>;
  tags?: readonly string[];
}

/** Which model served a request, as far as the gateway tells. */
export interface ServedBy {
  /** The response's `model`. */
  model?: string;
  /** Portkey: `x-portkey-last-used-option-index`, e.g. `config.targets[1]`. */
  portkeyTarget?: string;
  /** LiteLLM: `x-litellm-model-id` (the deployment's model_info.id). */
  litellmModelId?: string;
  /** LiteLLM: `x-litellm-model-api-base`. */
  litellmApiBase?: string;
}

export interface GatewayReply {
  completion: Completion;
  servedBy: ServedBy;
}

export interface GatewayClient {
  send(req: GatewayRequest, signal: AbortSignal): Promise<GatewayReply>;
}

/** Error messages and stored rows name the gateway by this key, never by its URL's credentials. */
export const GATEWAY_KEY = 'gateway';

export function createGatewayClient(opts: GatewayClientOptions): GatewayClient {
  let client: OpenAISdk.OpenAI | undefined;
  return {
    async send(req, signal) {
      const sdk = await loadSdk();
      client ??= new sdk.default({ apiKey: opts.apiKey ?? 'no-key', baseURL: opts.url, maxRetries: 2, timeout: opts.timeoutMs, fetch: httpFetch });
      const headers: Record<string, string> = {};
      const body: Record<string, unknown> = { ...req.body, messages: req.messages.map((m) => ({ role: m.role, content: openaiContent(m) })) };
      if (opts.type === 'portkey') {
        if (opts.portkeyConfig !== undefined) headers['x-portkey-config'] = opts.portkeyConfig;
        headers['x-portkey-metadata'] = JSON.stringify(req.metadata ?? {});
      } else if (opts.type === 'litellm') {
        // LiteLLM reads request metadata and tag-routing tags from the body.
        if (req.metadata) body.metadata = req.metadata;
        if (req.tags?.length) body.tags = [...req.tags];
      }
      const start = performance.now();
      const sdkClient = client;
      let data: OpenAISdk.OpenAI.Chat.Completions.ChatCompletion;
      let response: Response;
      try {
        // As the providers do: the SDK does not always remove its abort listener (see withCallSignal).
        ({ data, response } = await withCallSignal(signal, (callSignal) =>
          sdkClient.chat.completions.create(body as unknown as ChatCompletionCreateParamsNonStreaming, { headers, signal: callSignal }).withResponse(),
        ));
      } catch (err) {
        throw mapSdkError(err, sdk, GATEWAY_KEY, req.caseId, signal);
      }
      const latencyMs = elapsedSince(start);
      const text = data.choices?.[0]?.message?.content;
      const requestId = response.headers.get('x-request-id') ?? data.id;
      if (typeof text !== 'string') {
        throw providerError(GATEWAY_KEY, req.caseId, 'the gateway response has no text content', { kind: 'malformed_response', retryable: false, ...(requestId ? { requestId } : {}) });
      }
      const usage = data.usage ? { input: data.usage.prompt_tokens, output: data.usage.completion_tokens } : await estimateUsage(req.messages, text);
      const header = (name: string) => response.headers.get(name) ?? undefined;
      const servedBy: ServedBy = {};
      if (data.model) servedBy.model = data.model;
      const target = header('x-portkey-last-used-option-index');
      if (target) servedBy.portkeyTarget = target;
      const modelId = header('x-litellm-model-id');
      if (modelId) servedBy.litellmModelId = modelId;
      const apiBase = header('x-litellm-model-api-base');
      if (apiBase) servedBy.litellmApiBase = apiBase;
      return {
        completion: { text, usage, latencyMs, ...(requestId ? { requestId } : {}), ...(data.model ? { model: data.model } : {}) },
        servedBy,
      };
    },
  };
}
