/**
 * A local LLM API for tests and benchmarks: a real HTTP server on 127.0.0.1 that speaks the OpenAI Chat
 * Completions and Anthropic Messages wire formats, so the real SDK clients run end to end without a
 * network. Answers and token counts are deterministic; faults (429, 500, dropped sockets, slow or broken
 * responses) are injected either by seeded probabilities or exactly with `failNext`.
 *
 * It sits in the hot path of a 1,000-call benchmark, so per-request work stays small: one body parse,
 * one short hash, one log entry holding references (no copies).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type MockApi = 'openai' | 'anthropic';

export interface MockMessage {
  role: string;
  /** Text of the message (text parts joined), whatever form the API used. */
  content: string;
  /** The raw content parts as sent, when the message carried images, files or documents. */
  parts?: unknown[];
}

/** Parts are kept only when some part is not text, so text sent as `[{type:'text'}]` still logs as plain text. */
const withParts = (role: unknown, content: unknown): MockMessage =>
  Array.isArray(content) && content.some((p: { type?: unknown } | null) => p?.type !== 'text')
    ? { role: String(role), content: textOf(content), parts: content }
    : { role: String(role), content: textOf(content) };

export interface MockRequest {
  api: MockApi;
  model: string;
  /** Normalised conversation; the system prompt (Anthropic `system` param) comes first. */
  messages: MockMessage[];
  body: Record<string, unknown>;
  lastUserText: string;
}

export interface MockReply {
  text: string;
  /** Overrides the word-count usage. */
  usage?: { input: number; output: number };
  /** Extra delay before this answer is sent. */
  delayMs?: number;
}

export type MockResponder = (req: MockRequest) => string | MockReply | Promise<string | MockReply>;

export interface MockLogEntry {
  api: MockApi;
  model: string;
  messages: MockMessage[];
  body: Record<string, unknown>;
  /** Kept for assertions (e.g. which key was sent); never echoed in any response. */
  headers: IncomingHttpHeaders;
  /** HTTP status sent, or 0 when the connection was dropped / the client left first. */
  status: number;
  /** The injected fault, when one was. */
  fault?: FaultKind;
  /** Date.now() when the request arrived. */
  at: number;
}

export type FaultKind =
  | 'rate429'
  | 'error500'
  | 'dropConnection'
  | 'slow'
  | 'malformedJson'
  /** 200 with valid JSON but no text content (OpenAI `content: null`, Anthropic `content: []`). */
  | 'noContent'
  | 'error400'
  | 'error401'
  | 'error404';

export interface MockFaults {
  /** Seed of the fault PRNG; the same seed and the same requests give the same faults. */
  seed?: number;
  /** Probabilities (0..1) per request. */
  rate429?: number;
  error500?: number;
  dropConnection?: number;
  malformedJson?: number;
  /** Probability of a slow answer; `slowMs` says how slow. */
  slow?: number;
  slowMs?: number;
  /** What a 429 asks the client to wait; sent as `retry-after-ms` and (rounded up) `retry-after` seconds. */
  retryAfterMs?: number;
}

/** An extra endpoint mounted by a test helper (e.g. mock-batch.ts); returns true when it handled the request. */
export type MockRoute = (req: IncomingMessage, res: ServerResponse, path: string) => boolean | Promise<boolean>;

export interface MockLlmServerOptions {
  /** Fixed delay before every answer. */
  latencyMs?: number;
  faults?: MockFaults;
  responder?: MockResponder;
  /** When set, requests must carry this key (Bearer or x-api-key) or get a 401. */
  apiKey?: string;
}

export interface MockLlmServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Base URL for the OpenAI SDK (`${url}/v1`). */
  readonly openaiBaseURL: string;
  /** Base URL for the Anthropic SDK, which appends `/v1/messages` itself. */
  readonly anthropicBaseURL: string;
  readonly requests: MockLogEntry[];
  script(fn: MockResponder): void;
  setFaults(faults: MockFaults): void;
  setLatency(ms: number): void;
  /** The next `n` requests (any API) get this fault, before any probabilistic one. */
  failNext(n: number, kind: FaultKind): void;
  /** Mounts extra endpoints, tried in order before the chat routes; the route reads the body itself. */
  addRoute(route: MockRoute): void;
  /** Empties the request log and the pending `failNext` queue. */
  reset(): void;
  close(): Promise<void>;
}

/** The default answer: names the model and a hash of the question, so tests can predict it exactly. */
export function defaultMockAnswer(model: string, lastUserText: string): string {
  return `mock:${model}:${sha1(lastUserText).slice(0, 8)}`;
}

/** The key the mock counts sightings of a request body under (see `seededFault`). */
export function mockBodyKey(rawBody: string): string {
  return sha1(rawBody);
}

/**
 * The seeded fault (if any) the mock gives the `occurrence`-th sighting (1-based, counted since the last
 * `setFaults` or `reset`) of the request body whose `mockBodyKey` is `bodyKey`: a pure function, so the
 * benchmark can compute a run's whole fault pattern, retries included, from the bodies it sent.
 */
export function seededFault(faults: MockFaults, bodyKey: string, occurrence: number): FaultKind | undefined {
  const u = mulberry32(((faults.seed ?? 1) ^ fnv1a(`${bodyKey}#${occurrence}`)) >>> 0)();
  let edge = 0;
  for (const kind of ['rate429', 'error500', 'dropConnection', 'malformedJson', 'slow'] as const) {
    edge += faults[kind] ?? 0;
    if (u < edge) return kind;
  }
  return undefined;
}

export function countWords(text: string): number {
  let n = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const space = c === 32 || (c >= 9 && c <= 13) || c === 160;
    if (!space && !inWord) n++;
    inWord = !space;
  }
  return n;
}

export async function startMockLlmServer(opts: MockLlmServerOptions = {}): Promise<MockLlmServer> {
  const requests: MockLogEntry[] = [];
  const pendingFaults: FaultKind[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const seen = new Map<string, number>();
  const routes: MockRoute[] = [];
  let responder: MockResponder = opts.responder ?? ((r) => defaultMockAnswer(r.model, r.lastUserText));
  let faults: MockFaults = opts.faults ?? {};
  let latencyMs = opts.latencyMs ?? 0;
  let counter = 0;

  const wait = (ms: number, res: ServerResponse): Promise<boolean> =>
    new Promise((resolve) => {
      if (ms <= 0) return resolve(!res.destroyed);
      const timer = setTimeout(() => {
        timers.delete(timer);
        res.off('close', onClose);
        resolve(!res.destroyed);
      }, ms);
      // The client gave up (timeout, abort): stop waiting so no timer outlives the request.
      const onClose = () => {
        clearTimeout(timer);
        timers.delete(timer);
        resolve(false);
      };
      timers.add(timer);
      res.once('close', onClose);
    });

  /**
   * Faults are drawn from a PRNG seeded by (seed, request body, how often this body was seen), not by
   * arrival order, so the same requests fail the same way whatever the concurrency — and a retry of a
   * failed request (second sighting) gets a fresh draw.
   */
  const drawFault = (raw: string): FaultKind | undefined => {
    const queued = pendingFaults.shift();
    if (queued) return queued;
    const total = (faults.rate429 ?? 0) + (faults.error500 ?? 0) + (faults.dropConnection ?? 0) + (faults.malformedJson ?? 0) + (faults.slow ?? 0);
    if (total <= 0) return undefined;
    const bodyKey = mockBodyKey(raw);
    const occurrence = (seen.get(bodyKey) ?? 0) + 1;
    seen.set(bodyKey, occurrence);
    return seededFault(faults, bodyKey, occurrence);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const at = Date.now();
    const path = (req.url ?? '').split('?')[0];
    // Azure OpenAI puts the deployment in the path: /openai/deployments/<name>/chat/completions?api-version=…
    const api: MockApi | undefined =
      path === '/v1/chat/completions' || /^\/openai\/deployments\/[^/]+\/chat\/completions$/.test(path ?? '')
        ? 'openai'
        : path === '/v1/messages'
          ? 'anthropic'
          : undefined;
    for (const route of routes) if (await route(req, res, path ?? '')) return;
    const raw = await readBody(req);
    const id = `req_mock_${String(++counter).padStart(6, '0')}`;
    const send = (status: number, payload: string, extra: Record<string, string> = {}) => {
      if (res.destroyed) return;
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
        [api === 'anthropic' ? 'request-id' : 'x-request-id']: id,
        ...extra,
      });
      res.end(payload);
    };

    if (req.method !== 'POST' || !api) {
      return send(404, JSON.stringify({ error: { message: `no route ${req.method} ${path}`, type: 'not_found' } }));
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return send(400, errorBody(api, 400, 'request body is not JSON'));
    }
    const model = typeof body.model === 'string' ? body.model : '';
    const messages = api === 'openai' ? normaliseOpenAI(body) : normaliseAnthropic(body);
    const entry: MockLogEntry = { api, model, messages, body, headers: req.headers, status: 0, at };
    requests.push(entry);
    const reply = (status: number, payload: string, extra?: Record<string, string>) => {
      entry.status = res.destroyed ? 0 : status;
      send(status, payload, extra);
    };

    if (opts.apiKey !== undefined && presentedKey(req.headers) !== opts.apiKey) {
      return reply(401, errorBody(api, 401, 'invalid api key provided'));
    }
    const fault = drawFault(raw);
    if (fault) entry.fault = fault;
    if (latencyMs > 0 && !(await wait(latencyMs, res))) return;

    switch (fault) {
      case 'rate429': {
        const ms = faults.retryAfterMs ?? 1000;
        return reply(429, errorBody(api, 429, 'rate limit exceeded, slow down'), {
          'retry-after': String(Math.ceil(ms / 1000)),
          'retry-after-ms': String(ms),
        });
      }
      case 'error500':
        return reply(500, errorBody(api, 500, 'internal server error'));
      case 'error400':
        return reply(400, errorBody(api, 400, 'invalid request: bad parameter'));
      case 'error401':
        return reply(401, errorBody(api, 401, 'invalid api key provided'));
      case 'error404':
        return reply(404, errorBody(api, 404, `model ${model} does not exist`));
      case 'dropConnection':
        entry.status = 0;
        req.socket.destroy();
        return;
      case 'slow':
        if (!(await wait(faults.slowMs ?? 60_000, res))) return;
        break;
      case 'malformedJson':
        return reply(200, '{"id": "broken", "choices": [{"message": {"content": "trunc');
      default:
        break;
    }

    const lastUserText = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    const got = await responder({ api, model, messages, body, lastUserText });
    const answer: MockReply = typeof got === 'string' ? { text: got } : got;
    if (answer.delayMs && !(await wait(answer.delayMs, res))) return;
    const usage = answer.usage ?? {
      input: messages.reduce((n, m) => n + countWords(m.content), 0),
      output: countWords(answer.text),
    };
    const empty = fault === 'noContent';
    reply(200, api === 'openai' ? openaiResponse(id, model, answer.text, usage, empty) : anthropicResponse(id, model, answer.text, usage, empty));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `mock server bug: ${String(err)}`, type: 'server_error' } }));
      }
    });
  });
  // Benchmarks open many keep-alive connections at once; the default backlog is fine, timeouts are not.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    openaiBaseURL: `${url}/v1`,
    anthropicBaseURL: url,
    requests,
    script(fn) {
      responder = fn;
    },
    setFaults(f) {
      faults = f;
      seen.clear();
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    addRoute(route) {
      routes.push(route);
    },
    failNext(n, kind) {
      for (let i = 0; i < n; i++) pendingFaults.push(kind);
    },
    reset() {
      requests.length = 0;
      pendingFaults.length = 0;
      seen.clear();
    },
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  const key = headers['x-api-key'];
  return Array.isArray(key) ? key[0] : key;
}

/** Text of a string or of content-part arrays (`[{type:'text', text}]`), as both APIs allow. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const part of content as Array<{ type?: unknown; text?: unknown }>) {
    if (part && part.type === 'text' && typeof part.text === 'string') out += part.text;
  }
  return out;
}

function normaliseOpenAI(body: Record<string, unknown>): MockMessage[] {
  const list = Array.isArray(body.messages) ? (body.messages as Array<{ role?: unknown; content?: unknown }>) : [];
  return list.map((m) => withParts(m.role, m.content));
}

function normaliseAnthropic(body: Record<string, unknown>): MockMessage[] {
  const out: MockMessage[] = [];
  if (body.system !== undefined) out.push({ role: 'system', content: textOf(body.system) });
  const list = Array.isArray(body.messages) ? (body.messages as Array<{ role?: unknown; content?: unknown }>) : [];
  for (const m of list) out.push(withParts(m.role, m.content));
  return out;
}

function errorBody(api: MockApi, status: number, message: string): string {
  if (api === 'openai') {
    const type = status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error';
    return JSON.stringify({ error: { message, type, param: null, code: null } });
  }
  const type =
    status === 429 ? 'rate_limit_error'
    : status === 401 ? 'authentication_error'
    : status === 404 ? 'not_found_error'
    : status >= 500 ? 'api_error'
    : 'invalid_request_error';
  return JSON.stringify({ type: 'error', error: { type, message } });
}

function openaiResponse(id: string, model: string, text: string, usage: { input: number; output: number }, empty: boolean): string {
  return JSON.stringify({
    id: `chatcmpl-${id}`,
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: empty ? null : text, refusal: null }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output },
  });
}

function anthropicResponse(id: string, model: string, text: string, usage: { input: number; output: number }, empty: boolean): string {
  return JSON.stringify({
    id: `msg_${id}`,
    type: 'message',
    role: 'assistant',
    content: empty ? [] : [{ type: 'text', text }],
    model,
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: usage.input, output_tokens: usage.output },
  });
}

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
