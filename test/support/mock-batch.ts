/**
 * Batch endpoints for the mock LLM server: the OpenAI Files + Batch APIs and Anthropic Message Batches,
 * as the real SDKs call them. A batch is worked off by sending each item to the server's own direct
 * endpoint (marked with an `x-mock-batch` header), so batch answers are exactly the direct answers —
 * same responder, same usage — and the server's request log shows them.
 *
 * Status moves validating/in_progress → completed (OpenAI) or in_progress → ended (Anthropic) after
 * `pollsUntilDone` status requests. Faults: fail chosen custom ids (partial failure), drop ids from the
 * results silently, or expire the batch after answering its first `answered` items.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MockLlmServer } from './mock-llm-server.js';

export interface MockBatchFaults {
  /** These custom ids come back failed: OpenAI error-file line with this HTTP status, Anthropic `errored`. */
  failIds?: Iterable<string>;
  /** HTTP status of the failed items (default 500). */
  failStatus?: number;
  /** These custom ids are missing from every result file. */
  dropIds?: Iterable<string>;
  /** The batch expires instead of completing; its first `answered` items (input order) still get answers. */
  expire?: { answered?: number };
  /** OpenAI only: the batch fails validation (status `failed`, no result files). */
  failValidation?: string;
}

export interface MockBatchRecord {
  id: string;
  api: 'openai' | 'anthropic';
  /** OpenAI: the uploaded input file's parsed lines; Anthropic: the `requests` array. */
  items: Array<{ customId: string; body: Record<string, unknown>; raw: unknown }>;
  /** The create request body, as sent. */
  createBody: Record<string, unknown>;
  /** Status requests seen so far. */
  polls: number;
  status: 'in_progress' | 'completed' | 'expired' | 'failed';
  /** Batch-level metadata the OpenAI client attached, if any. */
  metadata?: unknown;
}

export interface MockUploadedFile {
  id: string;
  filename: string;
  purpose: string;
  content: string;
  contentType: string;
}

export interface MockBatchApi {
  readonly batches: Map<string, MockBatchRecord>;
  readonly files: Map<string, MockUploadedFile>;
  /** Status requests a batch needs before it ends (default 2). */
  setPollsUntilDone(n: number): void;
  /** Faults for batches created from now on. */
  setFaults(faults: MockBatchFaults): void;
  /** Forgets batches and files and clears faults. */
  reset(): void;
}

interface OpenAIOutputLine {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: unknown } | null;
  error: { code: string; message: string } | null;
}

interface BatchState {
  record: MockBatchRecord;
  faults: MockBatchFaults;
  createdAt: number;
  /** Set once the items were worked off. */
  finished?: Promise<void>;
  outputFileId?: string;
  errorFileId?: string;
  /** Anthropic: the results JSONL. */
  results?: string;
  counts: { succeeded: number; errored: number; expired: number };
  /** Forwarded to the direct endpoint so a server with an `apiKey` accepts the batch's own calls. */
  auth: Record<string, string>;
}

export function mountBatchApi(server: MockLlmServer): MockBatchApi {
  const batches = new Map<string, MockBatchRecord>();
  const files = new Map<string, MockUploadedFile>();
  const states = new Map<string, BatchState>();
  let pollsUntilDone = 2;
  let faults: MockBatchFaults = {};
  let counter = 0;
  const nextId = (prefix: string) => `${prefix}${String(++counter).padStart(6, '0')}`;

  /** Sends one item to the server's own direct endpoint: the answer a direct call would get. */
  const callDirect = async (path: string, body: unknown, batchId: string, auth: Record<string, string>) => {
    const res = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-mock-batch': batchId, ...auth },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    const requestId = res.headers.get('x-request-id') ?? res.headers.get('request-id') ?? '';
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = { error: { type: 'api_error', message: 'mock direct endpoint sent invalid JSON' } };
    }
    return { status: res.status, requestId, json };
  };

  /** Which items get an answer, which fail, which the batch never reached. */
  const plan = (s: BatchState, customId: string, index: number): 'answer' | 'fail' | 'drop' | 'expired' => {
    if (new Set(s.faults.dropIds ?? []).has(customId)) return 'drop';
    if (s.faults.expire && index >= (s.faults.expire.answered ?? 0)) return 'expired';
    if (new Set(s.faults.failIds ?? []).has(customId)) return 'fail';
    return 'answer';
  };

  const finishOpenAI = async (s: BatchState) => {
    const output: OpenAIOutputLine[] = [];
    const errors: OpenAIOutputLine[] = [];
    const failStatus = s.faults.failStatus ?? 500;
    for (const [index, item] of s.record.items.entries()) {
      const line = { id: `batch_req_${sha1(item.customId).slice(0, 12)}`, custom_id: item.customId };
      const fate = plan(s, item.customId, index);
      if (fate === 'drop') continue;
      if (fate === 'expired') {
        errors.push({ ...line, response: null, error: { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' } });
        s.counts.expired++;
        continue;
      }
      if (fate === 'fail') {
        const body = { error: { message: 'injected batch item failure', type: failStatus >= 500 ? 'server_error' : 'invalid_request_error', param: null, code: null } };
        errors.push({ ...line, response: { status_code: failStatus, request_id: `req_batchfail_${index}`, body }, error: null });
        s.counts.errored++;
        continue;
      }
      const got = await callDirect('/v1/chat/completions', item.body, s.record.id, s.auth);
      (got.status === 200 ? output : errors).push({ ...line, response: { status_code: got.status, request_id: got.requestId, body: got.json }, error: null });
      if (got.status === 200) s.counts.succeeded++;
      else s.counts.errored++;
    }
    const store = (lines: OpenAIOutputLine[], name: string) => {
      const id = nextId('file-');
      files.set(id, { id, filename: name, purpose: 'batch_output', content: jsonl(shuffled(lines, (l) => l.custom_id)), contentType: 'application/octet-stream' });
      return id;
    };
    if (output.length) s.outputFileId = store(output, `${s.record.id}_output.jsonl`);
    if (errors.length) s.errorFileId = store(errors, `${s.record.id}_error.jsonl`);
    s.record.status = s.faults.expire ? 'expired' : 'completed';
  };

  const finishAnthropic = async (s: BatchState) => {
    const lines: Array<{ custom_id: string; result: unknown }> = [];
    for (const [index, item] of s.record.items.entries()) {
      const fate = plan(s, item.customId, index);
      if (fate === 'drop') continue;
      if (fate === 'expired') {
        lines.push({ custom_id: item.customId, result: { type: 'expired' } });
        s.counts.expired++;
        continue;
      }
      if (fate === 'fail') {
        const status = s.faults.failStatus ?? 500;
        const type = status >= 500 ? 'api_error' : 'invalid_request_error';
        lines.push({ custom_id: item.customId, result: { type: 'errored', error: { type: 'error', error: { type, message: 'injected batch item failure' } } } });
        s.counts.errored++;
        continue;
      }
      const got = await callDirect('/v1/messages', item.body, s.record.id, s.auth);
      if (got.status === 200) {
        lines.push({ custom_id: item.customId, result: { type: 'succeeded', message: got.json } });
        s.counts.succeeded++;
      } else {
        lines.push({ custom_id: item.customId, result: { type: 'errored', error: got.json } });
        s.counts.errored++;
      }
    }
    s.results = jsonl(shuffled(lines, (l) => l.custom_id));
    s.record.status = s.faults.expire ? 'expired' : 'completed';
  };

  /** Counts one status request; the one that reaches `pollsUntilDone` works the batch off. */
  const advance = async (s: BatchState): Promise<void> => {
    s.record.polls++;
    if (s.record.status === 'failed') return;
    if (s.record.polls >= pollsUntilDone) await (s.finished ??= s.record.api === 'openai' ? finishOpenAI(s) : finishAnthropic(s));
  };

  const openaiBatchJson = (s: BatchState) => {
    const r = s.record;
    const total = r.items.length;
    const done = r.status === 'completed' || r.status === 'expired';
    const status = r.status === 'in_progress' ? (r.polls === 0 ? 'validating' : 'in_progress') : r.status;
    return {
      id: r.id,
      object: 'batch',
      endpoint: r.createBody.endpoint,
      errors: r.status === 'failed' ? { object: 'list', data: [{ code: 'invalid_request', line: 1, message: s.faults.failValidation ?? 'invalid', param: null }] } : null,
      input_file_id: r.createBody.input_file_id,
      completion_window: '24h',
      status,
      output_file_id: s.outputFileId ?? null,
      error_file_id: s.errorFileId ?? null,
      created_at: s.createdAt,
      expires_at: s.createdAt + 86_400,
      request_counts: done ? { total, completed: s.counts.succeeded, failed: s.counts.errored + s.counts.expired } : { total, completed: 0, failed: 0 },
      metadata: r.metadata ?? null,
    };
  };

  const anthropicBatchJson = (s: BatchState) => {
    const r = s.record;
    const ended = r.status !== 'in_progress';
    return {
      id: r.id,
      type: 'message_batch',
      processing_status: ended ? 'ended' : 'in_progress',
      request_counts: ended
        ? { processing: 0, succeeded: s.counts.succeeded, errored: s.counts.errored, canceled: 0, expired: s.counts.expired }
        : { processing: r.items.length, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
      ended_at: ended ? new Date().toISOString() : null,
      created_at: new Date(s.createdAt * 1000).toISOString(),
      expires_at: new Date((s.createdAt + 86_400) * 1000).toISOString(),
      archived_at: null,
      cancel_initiated_at: null,
      results_url: ended ? `${server.url}/v1/messages/batches/${r.id}/results` : null,
    };
  };

  const newState = (record: MockBatchRecord, req: IncomingMessage): BatchState => {
    const auth: Record<string, string> = {};
    if (req.headers.authorization) auth.authorization = req.headers.authorization;
    const xKey = req.headers['x-api-key'];
    if (typeof xKey === 'string') auth['x-api-key'] = xKey;
    return { record, faults, createdAt: Math.floor(Date.now() / 1000), counts: { succeeded: 0, errored: 0, expired: 0 }, auth };
  };

  server.addRoute(async (req, res, path) => {
    const method = req.method ?? 'GET';
    // ── OpenAI Files + Batch ──
    if (method === 'POST' && path === '/v1/files') {
      const raw = await readRaw(req);
      const form = await new Request('http://mock/v1/files', { method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '' }, body: raw }).formData();
      const file = form.get('file');
      const purpose = form.get('purpose');
      if (!(file instanceof Blob) || typeof purpose !== 'string') return sendJson(res, 400, openaiError('multipart body needs "file" and "purpose"'));
      const id = nextId('file-');
      const filename = file instanceof File ? file.name : 'upload';
      files.set(id, { id, filename, purpose, content: await file.text(), contentType: file.type });
      return sendJson(res, 200, { id, object: 'file', bytes: file.size, created_at: Math.floor(Date.now() / 1000), filename, purpose, status: 'processed' });
    }
    let m = /^\/v1\/files\/([^/]+)\/content$/.exec(path);
    if (method === 'GET' && m) {
      const f = files.get(m[1]!);
      if (!f) return sendJson(res, 404, openaiError(`no file ${m[1]}`));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': Buffer.byteLength(f.content) });
      res.end(f.content);
      return true;
    }
    if (method === 'POST' && path === '/v1/batches') {
      const body = JSON.parse((await readRaw(req)).toString('utf8')) as Record<string, unknown>;
      const input = files.get(String(body.input_file_id));
      if (!input || input.purpose !== 'batch') return sendJson(res, 400, openaiError(`input_file_id ${String(body.input_file_id)} is not an uploaded batch file`));
      if (body.endpoint !== '/v1/chat/completions' || body.completion_window !== '24h') return sendJson(res, 400, openaiError('mock supports endpoint /v1/chat/completions with completion_window 24h'));
      const items: MockBatchRecord['items'] = [];
      for (const [i, line] of input.content.split('\n').entries()) {
        if (!line.trim()) continue;
        const parsed = JSON.parse(line) as { custom_id?: unknown; method?: unknown; url?: unknown; body?: Record<string, unknown> };
        if (typeof parsed.custom_id !== 'string' || parsed.method !== 'POST' || parsed.url !== body.endpoint || !parsed.body) {
          return sendJson(res, 400, openaiError(`input line ${i + 1} is not {custom_id, method: POST, url: ${String(body.endpoint)}, body}`));
        }
        if (items.some((it) => it.customId === parsed.custom_id)) return sendJson(res, 400, openaiError(`duplicate custom_id ${parsed.custom_id}`));
        items.push({ customId: parsed.custom_id, body: parsed.body, raw: parsed });
      }
      const record: MockBatchRecord = { id: nextId('batch_'), api: 'openai', items, createBody: body, polls: 0, status: faults.failValidation ? 'failed' : 'in_progress', metadata: body.metadata };
      batches.set(record.id, record);
      const s = newState(record, req);
      states.set(record.id, s);
      return sendJson(res, 200, openaiBatchJson(s));
    }
    m = /^\/v1\/batches\/([^/]+)$/.exec(path);
    if (method === 'GET' && m) {
      const s = states.get(m[1]!);
      if (!s || s.record.api !== 'openai') return sendJson(res, 404, openaiError(`no batch ${m[1]}`));
      await advance(s);
      return sendJson(res, 200, openaiBatchJson(s));
    }
    // ── Anthropic Message Batches ──
    if (method === 'POST' && path === '/v1/messages/batches') {
      const body = JSON.parse((await readRaw(req)).toString('utf8')) as { requests?: Array<{ custom_id?: unknown; params?: Record<string, unknown> }> };
      const items: MockBatchRecord['items'] = [];
      for (const r of body.requests ?? []) {
        if (typeof r.custom_id !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(r.custom_id) || !r.params) {
          return sendJson(res, 400, anthropicError(`invalid request in batch: custom_id ${JSON.stringify(r.custom_id)}`));
        }
        if (items.some((it) => it.customId === r.custom_id)) return sendJson(res, 400, anthropicError(`duplicate custom_id ${r.custom_id}`));
        items.push({ customId: r.custom_id, body: r.params, raw: r });
      }
      if (items.length === 0) return sendJson(res, 400, anthropicError('requests: at least one request is required'));
      const record: MockBatchRecord = { id: nextId('msgbatch_'), api: 'anthropic', items, createBody: body as Record<string, unknown>, polls: 0, status: 'in_progress' };
      batches.set(record.id, record);
      const s = newState(record, req);
      states.set(record.id, s);
      return sendJson(res, 200, anthropicBatchJson(s));
    }
    m = /^\/v1\/messages\/batches\/([^/]+)(\/results)?$/.exec(path);
    if (method === 'GET' && m) {
      const s = states.get(m[1]!);
      if (!s || s.record.api !== 'anthropic') return sendJson(res, 404, anthropicError(`no message batch ${m[1]}`));
      if (m[2]) {
        if (s.results === undefined) return sendJson(res, 400, anthropicError(`batch ${m[1]} has not ended`));
        res.writeHead(200, { 'content-type': 'application/binary', 'content-length': Buffer.byteLength(s.results) });
        res.end(s.results);
        return true;
      }
      await advance(s);
      return sendJson(res, 200, anthropicBatchJson(s));
    }
    return false;
  });

  return {
    batches,
    files,
    setPollsUntilDone(n) {
      pollsUntilDone = n;
    },
    setFaults(f) {
      faults = f;
    },
    reset() {
      batches.clear();
      files.clear();
      states.clear();
      faults = {};
      pollsUntilDone = 2;
    },
  };
}

function readRaw(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, payload: unknown): true {
  const text = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-request-id': 'req_mock_batch', 'request-id': 'req_mock_batch' });
  res.end(text);
  return true;
}

function openaiError(message: string) {
  return { error: { message, type: 'invalid_request_error', param: null, code: null } };
}

function anthropicError(message: string) {
  return { type: 'error', error: { type: 'invalid_request_error', message } };
}

function jsonl(lines: unknown[]): string {
  return lines.map((l) => JSON.stringify(l)).join('\n') + (lines.length ? '\n' : '');
}

/** Results arrive in no particular order at the real APIs; a hash order makes that deterministic here. */
function shuffled<T>(items: T[], idOf: (t: T) => string): T[] {
  return [...items].sort((a, b) => (sha1(idOf(a)) < sha1(idOf(b)) ? -1 : 1));
}

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}
