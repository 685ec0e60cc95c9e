/**
 * One production request, whatever shape the gateway logged it in. Five shapes are recognised per
 * line (a log file may mix them): OpenAI Chat Completions request/response pairs, Anthropic Messages
 * pairs, a generic `{input|messages, output, model, usage, metadata}` record, a LiteLLM spend-log row
 * (the proxy's LiteLLM_SpendLogs table, as `/spend/logs` returns it) and a Portkey log export line.
 * docs/formats.md lists the fields read from each.
 */
import type { ChatMessage } from '../core/types.js';

export type LogFormat = 'openai' | 'anthropic' | 'generic' | 'litellm' | 'portkey';

export interface LogRecord {
  format: LogFormat;
  /** The model that answered (response model, else request model). */
  model: string;
  /** The conversation as the model saw it, system message first when there is one. */
  messages: ChatMessage[];
  /** The logged answer (text; tool calls rendered as `[tool call] name(args)`). */
  output: string;
  usage: { input: number; output: number };
  /** True when the token figures were estimated from characters (the log had no usage). */
  estimatedUsage: boolean;
  metadata: Record<string, unknown>;
  /** Milliseconds since the epoch, when the line had a readable timestamp. */
  timestamp?: number;
  /** The request asked for structured output (response_format / JSON schema). */
  structured: boolean;
  /** The request offered tools. */
  tools: boolean;
  /** The response called a tool. */
  toolCalls: boolean;
  /** The name the application requested when a gateway served it under another (LiteLLM `model_group`). */
  requestedModel?: string;
  /** What the gateway logged the request cost, in USD (LiteLLM `spend`). */
  loggedCostUsd?: number;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** Rough token estimate when a log has no usage: about 4 characters per token for English text. */
export const estimateTokens = (chars: number): number => Math.ceil(chars / 4);

/**
 * Normalises one parsed log line. Returns a string saying what is wrong when the line is not a
 * request/response pair evalroute understands.
 */
export function normaliseLogLine(value: unknown): LogRecord | string {
  if (!isObj(value)) return `expected a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`;
  // Gateway exports first: a Portkey line also carries request/response bodies.
  if (isLiteLlmSpendRow(value)) return fromLiteLlmSpendRow(value);
  if (isPortkeyExportRow(value)) return fromPortkeyExportRow(value);
  const req = value.request;
  const res = value.response;
  if (isObj(req) && isObj(res)) {
    if (Array.isArray(res.choices)) return fromOpenAi(value, req, res);
    if (Array.isArray(res.content) || res.type === 'message') return fromAnthropic(value, req, res);
    return 'request/response pair with neither OpenAI "choices" nor Anthropic "content" in the response';
  }
  if (req !== undefined || res !== undefined) return 'a request/response log line needs both "request" and "response" objects';
  if (value.input !== undefined || value.messages !== undefined) return fromGeneric(value);
  return 'unrecognised log line: expected {request, response} (OpenAI or Anthropic) or {input|messages, output, model}';
}

function common(line: Obj): { metadata: Obj; timestamp?: number } {
  const metadata = isObj(line.metadata) ? line.metadata : {};
  const ts = parseTimestamp(line.timestamp ?? line.created_at ?? line.time);
  return { metadata, ...(ts !== undefined ? { timestamp: ts } : {}) };
}

/** ISO strings, epoch seconds or epoch milliseconds. */
export function parseTimestamp(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v < 1e11 ? v * 1000 : v;
  if (typeof v === 'string' && v) {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

/** Text of OpenAI/Anthropic content: a string, or an array of parts of which the text ones count. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const parts: string[] = [];
  for (const p of content) {
    if (typeof p === 'string') parts.push(p);
    else if (isObj(p)) {
      if (typeof p.text === 'string') parts.push(p.text);
      else if (p.type === 'tool_use') parts.push(`[tool call] ${String(p.name)}(${JSON.stringify(p.input ?? {})})`);
      else if (p.type === 'tool_result') parts.push(`[tool result] ${contentText(p.content)}`);
      else if (p.type === 'image_url' || p.type === 'image') parts.push('[image]');
    }
  }
  return parts.join('\n');
}

function toolCallText(calls: unknown): string {
  if (!Array.isArray(calls)) return '';
  return calls
    .map((c) => (isObj(c) && isObj(c.function) ? `[tool call] ${String(c.function.name)}(${String(c.function.arguments ?? '')})` : ''))
    .filter(Boolean)
    .join('\n');
}

/** Chat messages of any role evalroute does not model (tool, function, developer) folded into the three it does. */
function chatMessages(raw: unknown): ChatMessage[] | string {
  if (!Array.isArray(raw) || raw.length === 0) return '"messages" must be a non-empty array';
  const out: ChatMessage[] = [];
  for (const m of raw) {
    if (!isObj(m) || typeof m.role !== 'string') return 'every message needs a "role"';
    let text = contentText(m.content);
    const calls = toolCallText(m.tool_calls);
    if (calls) text = text ? `${text}\n${calls}` : calls;
    if (m.role === 'system' || m.role === 'developer') out.push({ role: 'system', content: text });
    else if (m.role === 'assistant') out.push({ role: 'assistant', content: text });
    else if (m.role === 'tool' || m.role === 'function') out.push({ role: 'user', content: `[tool result] ${text}` });
    else out.push({ role: 'user', content: text });
  }
  return out;
}

const JSON_INSTRUCTION = /\b(?:respond|answer|reply|return|output)\b[^.\n]{0,40}\bjson\b|\bjson (?:object|format|schema)\b/i;

function asksForJson(messages: readonly ChatMessage[]): boolean {
  return messages.some((m) => m.role !== 'assistant' && JSON_INSTRUCTION.test(m.content));
}

function usageOf(input: unknown, output: unknown, messages: ChatMessage[], text: string): { usage: LogRecord['usage']; estimated: boolean } {
  const i = num(input);
  const o = num(output);
  if (i !== undefined && o !== undefined) return { usage: { input: i, output: o }, estimated: false };
  const chars = messages.reduce((n, m) => n + m.content.length, 0);
  return { usage: { input: i ?? estimateTokens(chars), output: o ?? estimateTokens(text.length) }, estimated: true };
}

function fromOpenAi(line: Obj, req: Obj, res: Obj): LogRecord | string {
  const messages = chatMessages(req.messages);
  if (typeof messages === 'string') return `OpenAI request: ${messages}`;
  const choice = (res.choices as unknown[])[0];
  const msg = isObj(choice) && isObj(choice.message) ? choice.message : undefined;
  const calls = toolCallText(msg?.tool_calls);
  const body = contentText(msg?.content);
  const output = [body, calls].filter(Boolean).join('\n');
  const model = str(res.model) ?? str(req.model);
  if (!model) return 'OpenAI log line has no model (response.model or request.model)';
  const u = isObj(res.usage) ? res.usage : {};
  const { usage, estimated } = usageOf(u.prompt_tokens, u.completion_tokens, messages, output);
  return {
    format: 'openai',
    model,
    messages,
    output,
    usage,
    estimatedUsage: estimated,
    ...common(line),
    structured: req.response_format !== undefined || asksForJson(messages),
    tools: Array.isArray(req.tools) && req.tools.length > 0,
    toolCalls: calls.length > 0,
  };
}

function fromAnthropic(line: Obj, req: Obj, res: Obj): LogRecord | string {
  const conv = chatMessages(req.messages);
  if (typeof conv === 'string') return `Anthropic request: ${conv}`;
  const system = contentText(req.system);
  const messages: ChatMessage[] = system ? [{ role: 'system', content: system }, ...conv] : conv;
  const output = contentText(res.content);
  const model = str(res.model) ?? str(req.model);
  if (!model) return 'Anthropic log line has no model (response.model or request.model)';
  const u = isObj(res.usage) ? res.usage : {};
  const { usage, estimated } = usageOf(u.input_tokens, u.output_tokens, messages, output);
  return {
    format: 'anthropic',
    model,
    messages,
    output,
    usage,
    estimatedUsage: estimated,
    ...common(line),
    structured: req.output_format !== undefined || asksForJson(messages),
    tools: Array.isArray(req.tools) && req.tools.length > 0,
    toolCalls: Array.isArray(res.content) && res.content.some((p) => isObj(p) && p.type === 'tool_use'),
  };
}

function fromGeneric(line: Obj): LogRecord | string {
  let messages: ChatMessage[] | string;
  if (line.messages !== undefined) messages = chatMessages(line.messages);
  else if (typeof line.input === 'string') messages = [{ role: 'user', content: line.input }];
  else messages = chatMessages(line.input);
  if (typeof messages === 'string') return `generic log line: ${messages}`;
  const model = str(line.model);
  if (!model) return 'generic log line has no "model"';
  const output = typeof line.output === 'string' ? line.output : line.output === undefined ? '' : JSON.stringify(line.output);
  const u = isObj(line.usage) ? line.usage : {};
  const { usage, estimated } = usageOf(u.input ?? u.input_tokens ?? u.prompt_tokens, u.output ?? u.output_tokens ?? u.completion_tokens, messages, output);
  return {
    format: 'generic',
    model,
    messages,
    output,
    usage,
    estimatedUsage: estimated,
    ...common(line),
    structured: line.response_format !== undefined || asksForJson(messages),
    tools: Array.isArray(line.tools) && line.tools.length > 0,
    toolCalls: output.includes('[tool call]'),
  };
}

/** A field that exports hold either as JSON or as JSON text (CSV-born exports, Postgres json columns dumped as text). */
function jsonField(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const t = v.trim();
  if (!(t.startsWith('{') || t.startsWith('['))) return v;
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return v;
  }
}

/** LiteLLM_SpendLogs: `request_id`, `spend`, token counts and `startTime` are always there. */
function isLiteLlmSpendRow(v: Obj): boolean {
  return typeof v.request_id === 'string' && typeof v.spend === 'number' && (v.startTime !== undefined || v.prompt_tokens !== undefined);
}

/**
 * A LiteLLM spend-log row. Use-case metadata is what the application sent as `metadata` (LiteLLM keeps
 * it under `metadata.requester_metadata` and `metadata.spend_logs_metadata`); `request_tags` become tags.
 * Messages and response are only present when the proxy stores prompts (`store_prompts_in_spend_logs`).
 */
function fromLiteLlmSpendRow(line: Obj): LogRecord | string {
  const model = str(line.model) ?? str(line.model_group);
  if (!model) return 'LiteLLM spend-log row has no "model"';
  const meta = jsonField(line.metadata);
  const m = isObj(meta) ? meta : {};
  const nested = (k: string): Obj => {
    const inner = jsonField(m[k]);
    return isObj(inner) ? inner : {};
  };
  const tagsField = jsonField(line.request_tags);
  const tags = Array.isArray(tagsField) ? tagsField.filter((t): t is string => typeof t === 'string') : [];
  const metadata: Obj = { ...nested('requester_metadata'), ...nested('spend_logs_metadata'), ...(tags.length ? { tags } : {}) };
  const tagged = tags.map((t) => /^use_?case:(.+)$/i.exec(t)?.[1]).find((u) => u !== undefined);
  if (metadata.useCase === undefined && metadata.use_case === undefined && tagged) metadata.useCase = tagged;
  const rawMessages = jsonField(line.messages);
  const messages = Array.isArray(rawMessages) && rawMessages.length ? chatMessages(rawMessages) : [];
  const response = jsonField(line.response);
  const choice = isObj(response) && Array.isArray(response.choices) ? response.choices[0] : undefined;
  const output = isObj(choice) && isObj(choice.message) ? contentText(choice.message.content) : '';
  const ts = parseTimestamp(line.startTime);
  const group = str(line.model_group);
  return {
    format: 'litellm',
    model,
    messages: typeof messages === 'string' ? [] : messages,
    output,
    usage: { input: num(line.prompt_tokens) ?? 0, output: num(line.completion_tokens) ?? 0 },
    estimatedUsage: false,
    metadata,
    ...(ts !== undefined ? { timestamp: ts } : {}),
    structured: false,
    tools: false,
    toolCalls: false,
    ...(group && group !== model ? { requestedModel: group } : {}),
    loggedCostUsd: line.spend as number,
  };
}

/** A Portkey log export line: `ai_model` and `req_units`/`res_units` are Portkey's own names. */
function isPortkeyExportRow(v: Obj): boolean {
  return v.ai_model !== undefined || v.req_units !== undefined;
}

/**
 * A Portkey export line: the request/response bodies when exported (OpenAI format), else only the
 * model, units and metadata. Portkey's `cost` is not read: its unit is not documented with the export,
 * so spend is priced from tokens like any other log.
 */
function fromPortkeyExportRow(line: Obj): LogRecord | string {
  const req = jsonField(line.request);
  const res = jsonField(line.response);
  const meta = jsonField(line.metadata);
  const base: Obj = { ...line, metadata: isObj(meta) ? meta : {} };
  const fromBodies = isObj(req) && isObj(res) && Array.isArray(res.choices) ? fromOpenAi(base, req, res) : undefined;
  if (typeof fromBodies === 'string') return `Portkey export: ${fromBodies}`;
  const model = str(line.ai_model) ?? fromBodies?.model;
  if (!model) return 'Portkey export line has no "ai_model"';
  const input = num(line.req_units) ?? fromBodies?.usage.input;
  const output = num(line.res_units) ?? fromBodies?.usage.output;
  if (input === undefined || output === undefined) return 'Portkey export line has neither req_units/res_units nor a response with usage';
  const { metadata, timestamp } = common(base);
  return {
    format: 'portkey',
    model,
    messages: fromBodies?.messages ?? [],
    output: fromBodies?.output ?? '',
    usage: { input, output },
    estimatedUsage: fromBodies?.estimatedUsage ?? false,
    metadata,
    ...(timestamp !== undefined ? { timestamp } : {}),
    structured: fromBodies?.structured ?? false,
    tools: fromBodies?.tools ?? false,
    toolCalls: fromBodies?.toolCalls ?? false,
  };
}
