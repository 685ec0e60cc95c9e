/**
 * What the HTTP providers have in common: reading the key, the cache identity, and turning the SDKs'
 * errors into `ProviderError`s. Both SDKs (openai, @anthropic-ai/sdk) share one error hierarchy design,
 * so one mapping serves both; the classes are passed in because the SDKs are imported lazily.
 */
import { tokensOf } from '../core/tokens.js';
import { MissingKeyError, ProviderError, type ProviderErrorKind } from '../core/errors.js';
import { escapeControl } from '../core/control-chars.js';
import { BODY_TOO_LARGE } from './http-fetch.js';
import { redact, redactUrl, registerSecret } from '../core/redact.js';
import { basename } from 'node:path';
import { ATTACHMENT_LIMITS, ANTHROPIC_REQUEST_LIMIT, IMAGE_MAX_EDGE, imageTokens } from '../core/media.js';
import type { Attachment, ChatMessage, CompletionRequest, ModelConfig, ProviderContext } from '../core/types.js';
import type * as GptTokenizer from 'gpt-tokenizer';
import { canonicalJson } from '../core/canonical-json.js';

/** Reads and registers the model's API key; throws before any call when it is missing. */
/** The environment variable each built-in provider reads its key from when the model sets no apiKeyEnv. */
export const DEFAULT_API_KEY_ENV: Readonly<Record<string, string>> = {
  openai: 'OPENAI_API_KEY',
  azure: 'AZURE_OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
};

/** The variable a model's key is read from; undefined for providers that need none (recorded). */
export function apiKeyEnvOf(model: Pick<ModelConfig, 'provider' | 'apiKeyEnv'>): string | undefined {
  return model.apiKeyEnv ?? DEFAULT_API_KEY_ENV[model.provider];
}

export function readApiKey(model: ModelConfig, ctx: ProviderContext): string {
  const envVar = apiKeyEnvOf(model) ?? 'OPENAI_API_KEY';
  const key = ctx.env[envVar];
  if (!key) throw new MissingKeyError(model.key, envVar);
  registerSecret(key);
  return key;
}

export function providerIdentity(type: string, model: ModelConfig, defaultBaseURL: string): string {
  return `${type}|${model.baseURL ?? defaultBaseURL}|${model.model}|${canonicalJson(model.params)}`;
}

interface HeaderBag {
  get(name: string): string | null;
}

/** `retry-after-ms` wins (more precise); `retry-after` may be seconds or an HTTP date. */
export function parseRetryAfter(headers: HeaderBag | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '') {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return n;
  }
  const after = headers.get('retry-after');
  if (after === null || after.trim() === '') return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The SDK error classes the mapping needs; both SDKs export these names. */
export interface SdkErrorClasses {
  APIError: abstract new (...args: never[]) => Error;
  APIUserAbortError: abstract new (...args: never[]) => Error;
  APIConnectionError: abstract new (...args: never[]) => Error;
  APIConnectionTimeoutError: abstract new (...args: never[]) => Error;
}

interface ApiErrorShape {
  status?: number;
  headers?: HeaderBag;
  requestID?: string | null;
  /** The parsed error body: OpenAI's `error` object, or Anthropic's whole `{type, error}` envelope. */
  error?: { message?: unknown; type?: unknown; error?: { message?: unknown; type?: unknown } };
  message: string;
}

/** The API's own explanation, without the SDK's "429 {json}" wrapping. */
function apiMessage(e: ApiErrorShape): string {
  const inner = e.error?.error ?? e.error;
  if (inner && typeof inner.message === 'string') {
    return typeof inner.type === 'string' ? `${inner.type}: ${inner.message}` : inner.message;
  }
  return e.message;
}

/** "Connection error." alone says nothing; the cause chain holds e.g. ECONNREFUSED or "other side closed". */
function withCauses(err: Error): string {
  const parts = [err.message];
  let cause: unknown = (err as { cause?: unknown }).cause;
  for (let depth = 0; cause instanceof Error && depth < 4; depth++) {
    const code = (cause as { code?: unknown }).code;
    parts.push(typeof code === 'string' && !cause.message.includes(code) ? `${cause.message} [${code}]` : cause.message);
    cause = (cause as { cause?: unknown }).cause;
  }
  return parts.map((p) => p.replace(/\.$/, '')).join(': ');
}

export function kindForStatus(status: number): { kind: ProviderErrorKind; retryable: boolean } {
  if (status === 429) return { kind: 'rate_limit', retryable: true };
  if (status === 408 || status === 409 || status >= 500) return { kind: 'server', retryable: true };
  if (status === 401 || status === 403) return { kind: 'auth', retryable: false };
  if (status === 404) return { kind: 'not_found', retryable: false };
  return { kind: 'bad_request', retryable: false };
}

const NEXT_STEP: Partial<Record<ProviderErrorKind, string>> = {
  rate_limit: 'lower the model\'s concurrency or wait; evalroute retries with the delay the API asked for',
  server: 'the API failed on its side; evalroute retries, re-run later if it persists',
  timeout: 'raise the model\'s timeoutMs or lower its concurrency',
  connection: 'check baseURL and the network',
  auth: 'check the API key in the model\'s apiKeyEnv variable and its permissions',
  not_found: 'check the model id and baseURL in the config',
  bad_request: 'check the model\'s params in the config',
  malformed_response: 'the API (or a proxy in front of it) sent an unusable answer; check baseURL',
};

/** A ProviderError whose message names model, case, status and request id, with secrets removed. */
export function providerError(
  modelKey: string,
  caseId: string,
  detail: string,
  opts: { kind: ProviderErrorKind; retryable: boolean; status?: number; requestId?: string; retryAfterMs?: number; url?: string },
): ProviderError {
  const where = [`model "${modelKey}"`, `case "${caseId}"`];
  if (opts.status !== undefined) where.push(`HTTP ${opts.status}`);
  if (opts.requestId) where.push(`request id ${opts.requestId}`);
  if (opts.url) where.push(`POST ${opts.url}`);
  const next = NEXT_STEP[opts.kind];
  // The detail quotes the API's answer: one line, no control characters, so it cannot pose as our output.
  const message = redact(`${opts.kind.replace('_', ' ')} (${where.join(', ')}): ${escapeControl(detail, { singleLine: true })}${next ? `\n  → ${next}` : ''}`);
  return new ProviderError(message, opts);
}

/**
 * Maps anything the SDK call threw. The abort signal is checked first: once it fired, whatever the SDK
 * reports is a consequence of it. A signal fired by a deadline (`AbortSignal.timeout`) is a timeout the
 * caller may retry; any other abort means the run is stopping.
 */
export function mapSdkError(err: unknown, sdk: SdkErrorClasses, modelKey: string, caseId: string, signal: AbortSignal, endpoint?: string): ProviderError {
  if (err instanceof ProviderError) return err;
  // Connection and HTTP failures name the endpoint: a base URL missing /v1 is then obvious.
  const at = endpoint === undefined ? {} : { url: redactUrl(endpoint) };
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof Error && reason.name === 'TimeoutError') {
      return providerError(modelKey, caseId, 'the call exceeded its deadline', { kind: 'timeout', retryable: true });
    }
    return providerError(modelKey, caseId, 'call aborted: the run is stopping', { kind: 'aborted', retryable: false });
  }
  if (err instanceof sdk.APIConnectionTimeoutError) {
    return providerError(modelKey, caseId, 'no response within the model\'s timeoutMs', { kind: 'timeout', retryable: true });
  }
  if (err instanceof sdk.APIUserAbortError) {
    return providerError(modelKey, caseId, 'call aborted', { kind: 'aborted', retryable: false });
  }
  if (err instanceof sdk.APIConnectionError) {
    // An oversized body would be as oversized again: not worth paying for a retry.
    if (hasCauseCode(err, BODY_TOO_LARGE)) return providerError(modelKey, caseId, withCauses(err), { kind: 'malformed_response', retryable: false, ...at });
    return providerError(modelKey, caseId, withCauses(err), { kind: 'connection', retryable: true, ...at });
  }
  if (err instanceof sdk.APIError) {
    const e = err as unknown as ApiErrorShape;
    if (typeof e.status === 'number') {
      const { kind, retryable } = kindForStatus(e.status);
      const retryAfterMs = parseRetryAfter(e.headers);
      return providerError(modelKey, caseId, apiMessage(e), {
        kind,
        retryable,
        status: e.status,
        ...(e.requestID ? { requestId: e.requestID } : {}),
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        ...at,
      });
    }
  }
  // A body that is not JSON surfaces as the parser's SyntaxError; a truncating proxy is often transient.
  if (err instanceof SyntaxError) {
    return providerError(modelKey, caseId, `response body is not valid JSON (${err.message})`, { kind: 'malformed_response', retryable: true, ...at });
  }
  // Anything else is not a transport failure the SDK recognised; retrying would likely repeat it.
  const message = err instanceof Error ? err.message : String(err);
  return providerError(modelKey, caseId, message, { kind: 'connection', retryable: false });
}

function hasCauseCode(err: unknown, code: string): boolean {
  for (let e: unknown = err; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === code) return true;
  }
  return false;
}

/** The URL a request goes to: the SDKs append `path` to the base URL after dropping its trailing slashes. */
export function endpointUrl(baseURL: string, path: string): string {
  return `${baseURL.replace(/\/+$/, '')}${path}`;
}

export function elapsedSince(start: number): number {
  return Math.round(performance.now() - start);
}

let tokenizer: Promise<typeof GptTokenizer> | undefined;

/**
 * Token counts for when the API (or a recording) gives none. o200k is only exact for recent OpenAI
 * models, so callers mark the usage `estimated`. The tokenizer is loaded on first use: it is large.
 */
export async function estimateUsage(messages: ReadonlyArray<Pick<ChatMessage, 'content' | 'attachments'>>, output: string): Promise<{ input: number; output: number; estimated: true }> {
  const { countTokens } = await (tokenizer ??= import('gpt-tokenizer'));
  // Special-token strings in user text are counted as plain text instead of throwing.
  const opts = { disallowedSpecial: new Set<string>() };
  const count = (text: string) => tokensOf(text, (t) => countTokens(t, opts));
  let input = 0;
  for (const m of messages) {
    input += count(m.content);
    // Images by Anthropic's width × height / 750; PDFs have no size-only estimate and count as 0.
    for (const a of m.attachments ?? []) if (a.kind === 'image') input += imageTokens(a.width ?? IMAGE_MAX_EDGE, a.height ?? IMAGE_MAX_EDGE);
  }
  return { input, output: count(output), estimated: true };
}


/**
 * Attached files are checked against the API's documented per-file limit before the call, so an
 * oversized receipt fails at once with its case and file named instead of as an opaque HTTP 400.
 */
export function checkAttachmentLimits(api: 'openai' | 'anthropic', modelKey: string, req: CompletionRequest): void {
  const limits = ATTACHMENT_LIMITS[api];
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  let encoded = 0;
  for (const m of req.messages) {
    for (const a of m.attachments ?? []) {
      encoded += Math.ceil(a.bytes / 3) * 4;
      const limit = limits[a.kind];
      if (a.bytes > limit) {
        throw providerError(modelKey, req.caseId, `attachment ${a.name} is ${mb(a.bytes)}, over the ${api} limit of ${mb(limit)} per ${a.kind === 'pdf' ? 'PDF' : 'image'}`, {
          kind: 'bad_request',
          retryable: false,
        });
      }
    }
  }
  // Anthropic also caps the whole request body, and base64 makes every file a third larger.
  if (api === 'anthropic' && encoded > ANTHROPIC_REQUEST_LIMIT) {
    throw providerError(modelKey, req.caseId, `attachments take ${mb(encoded)} as base64, over anthropic's ${mb(ANTHROPIC_REQUEST_LIMIT)} request limit`, {
      kind: 'bad_request',
      retryable: false,
    });
  }
}

const dataUrl = (a: Attachment): string => `data:${a.mediaType};base64,${a.data.toString('base64')}`;

/** OpenAI Chat Completions content: the plain string when nothing is attached, else parts with the text last. */
export function openaiContent(m: ChatMessage): string | Array<Record<string, unknown>> {
  if (!m.attachments?.length) return m.content;
  const parts: Array<Record<string, unknown>> = m.attachments.map((a) =>
    a.kind === 'pdf'
      ? { type: 'file', file: { filename: basename(a.name === 'data-url' ? `${a.sha256.slice(0, 12)}.pdf` : a.name), file_data: dataUrl(a) } }
      : { type: 'image_url', image_url: { url: dataUrl(a) } },
  );
  if (m.content !== '') parts.push({ type: 'text', text: m.content });
  return parts;
}

/** Anthropic Messages content: the plain string when nothing is attached, else image/document blocks then the text. */
export function anthropicContent(m: ChatMessage): string | Array<Record<string, unknown>> {
  if (!m.attachments?.length) return m.content;
  const blocks: Array<Record<string, unknown>> = m.attachments.map((a) => ({
    type: a.kind === 'pdf' ? 'document' : 'image',
    source: { type: 'base64', media_type: a.mediaType, data: a.data.toString('base64') },
  }));
  if (m.content !== '') blocks.push({ type: 'text', text: m.content });
  return blocks;
}
