import { getEventListeners } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countTokens } from 'gpt-tokenizer';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, MissingKeyError, ProviderError, UsageError } from '../src/core/errors.js';
import type { CompletionRequest, ModelConfig, Provider } from '../src/core/types.js';
import { AnthropicProvider } from '../src/providers/anthropic.js';
import { OpenAIProvider } from '../src/providers/openai.js';
import { RecordedProvider } from '../src/providers/recorded.js';
import { createProvider, providerTypes, registerProvider } from '../src/providers/registry.js';
import { parseRetryAfter } from '../src/providers/shared.js';
import { startLocalServer } from './support/http-server.js';
import { defaultMockAnswer, startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';

const KEY = 'sk-test-SECRETKEY123456';
const env = { OPENAI_API_KEY: KEY, ANTHROPIC_API_KEY: KEY };
const never = new AbortController().signal;

let server: MockLlmServer;
beforeAll(async () => {
  server = await startMockLlmServer();
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  server.setFaults({});
  server.script((r) => defaultMockAnswer(r.model, r.lastUserText));
});

function model(over: Partial<ModelConfig> & Pick<ModelConfig, 'provider'>): ModelConfig {
  const baseURL = over.provider === 'anthropic' ? server.anthropicBaseURL : server.openaiBaseURL;
  return { key: 'm1', model: 'test-model', params: {}, concurrency: 4, timeoutMs: 5_000, maxRetries: 0, baseURL, ...over };
}

function request(over: Partial<CompletionRequest> = {}): CompletionRequest {
  return {
    caseId: 'case-1',
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'What is two plus two?' },
    ],
    params: {},
    repeat: 0,
    ...over,
  };
}

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  const pe = err as ProviderError;
  expect(pe.message).not.toContain(KEY);
  return pe;
}

describe('openai provider over the real SDK', () => {
  it('returns text, usage, request id and model, sending the system prompt as the first message', async () => {
    const p = new OpenAIProvider(model({ provider: 'openai' }), { env });
    const out = await p.complete(request({ params: { temperature: 0.2, max_tokens: 50, seed: 7 } }), never);
    expect(out.text).toBe(defaultMockAnswer('test-model', 'What is two plus two?'));
    // Mock usage = whitespace words: 3 + 5 in, 1 out.
    expect(out.usage).toEqual({ input: 8, output: 1 });
    expect(out.requestId).toMatch(/^req_mock_\d+$/);
    expect(out.model).toBe('test-model');
    expect(out.latencyMs).toBeGreaterThanOrEqual(0);

    expect(server.requests).toHaveLength(1);
    const logged = server.requests[0]!;
    expect(logged.api).toBe('openai');
    expect(logged.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(logged.messages).toEqual([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'What is two plus two?' },
    ]);
    expect(logged.body).toMatchObject({ model: 'test-model', temperature: 0.2, max_tokens: 50, seed: 7 });
    expect(logged.body.stream).toBeUndefined();
  });

  it('leaves no abort listeners behind on a long-lived signal', async () => {
    const p = new OpenAIProvider(model({ provider: 'openai' }), { env });
    const runSignal = new AbortController().signal;
    for (let i = 0; i < 3; i++) await p.complete(request(), runSignal);
    expect(getEventListeners(runSignal, 'abort')).toHaveLength(0);
  });

  it('uses the key from the model\'s apiKeyEnv', async () => {
    const p = new OpenAIProvider(model({ provider: 'openai', apiKeyEnv: 'FLASH_KEY' }), { env: { FLASH_KEY: 'flash-key-12345' } });
    await p.complete(request(), never);
    expect(server.requests[0]!.headers.authorization).toBe('Bearer flash-key-12345');
  });

  it('falls back to estimated usage when an OpenAI-compatible server omits it', async () => {
    // A raw server without a usage block, as some compatible gateways answer.
    const bare = await startLocalServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'x1', object: 'chat.completion', model: 'g', choices: [{ index: 0, message: { role: 'assistant', content: 'four' } }] }));
    });
    try {
      const p = new OpenAIProvider(model({ provider: 'openai', baseURL: `${bare.url}/v1` }), { env });
      const out = await p.complete(request(), never);
      expect(out.usage.estimated).toBe(true);
      expect(out.usage.output).toBe(countTokens('four'));
      expect(out.usage.input).toBeGreaterThan(0);
    } finally {
      await bare.close();
    }
  });
});

describe('anthropic provider over the real SDK', () => {
  it('puts system messages in the system param and defaults max_tokens to 1024', async () => {
    const p = new AnthropicProvider(model({ provider: 'anthropic' }), { env });
    const out = await p.complete(request({ params: { temperature: 0 } }), never);
    expect(out.text).toBe(defaultMockAnswer('test-model', 'What is two plus two?'));
    expect(out.usage).toEqual({ input: 8, output: 1 });
    expect(out.requestId).toMatch(/^req_mock_\d+$/);

    const logged = server.requests[0]!;
    expect(logged.api).toBe('anthropic');
    // This SDK generation sends the key as a Bearer token; older ones used x-api-key.
    expect(logged.headers['x-api-key'] ?? logged.headers.authorization?.replace(/^Bearer /, '')).toBe(KEY);
    expect(logged.body.system).toBe('You are terse.');
    expect(logged.body.messages).toEqual([{ role: 'user', content: 'What is two plus two?' }]);
    expect(logged.body).toMatchObject({ max_tokens: 1024, temperature: 0, model: 'test-model' });
    // The log puts the system prompt first, like the OpenAI side.
    expect(logged.messages[0]).toEqual({ role: 'system', content: 'You are terse.' });
  });

  it('passes max_tokens from params and omits system when there is none', async () => {
    const p = new AnthropicProvider(model({ provider: 'anthropic' }), { env });
    await p.complete(request({ messages: [{ role: 'user', content: 'hi' }], params: { max_tokens: 77 } }), never);
    const body = server.requests[0]!.body;
    expect(body.max_tokens).toBe(77);
    expect('system' in body).toBe(false);
  });

  it('uses usage and text exactly as the responder scripts them', async () => {
    server.script(() => ({ text: 'scripted answer', usage: { input: 123, output: 45 } }));
    const p = new AnthropicProvider(model({ provider: 'anthropic' }), { env });
    const out = await p.complete(request(), never);
    expect(out).toMatchObject({ text: 'scripted answer', usage: { input: 123, output: 45 } });
  });
});

const flavours = [
  ['openai', (m: ModelConfig) => new OpenAIProvider(m, { env })],
  ['anthropic', (m: ModelConfig) => new AnthropicProvider(m, { env })],
] as const;

describe.each(flavours)('%s error mapping', (provider, make) => {
  const build = (over: Partial<ModelConfig> = {}): Provider => make(model({ provider, ...over }));

  it('429 → rate_limit, retryable, retryAfterMs from retry-after-ms, one request only (SDK retries off)', async () => {
    server.setFaults({ retryAfterMs: 1500 });
    server.failNext(1, 'rate429');
    const err = await failure(build().complete(request(), never));
    expect(err).toMatchObject({ kind: 'rate_limit', retryable: true, status: 429, retryAfterMs: 1500 });
    expect(err.requestId).toMatch(/^req_mock_/);
    // The API's own words, not the SDK's raw JSON dump of the body.
    expect(err.message).toContain('rate limit exceeded, slow down');
    expect(err.message).not.toContain('{"');
    expect(server.requests).toHaveLength(1);
  });

  it('500 → server, retryable, one request only', async () => {
    server.failNext(1, 'error500');
    const err = await failure(build().complete(request(), never));
    expect(err).toMatchObject({ kind: 'server', retryable: true, status: 500 });
    expect(server.requests).toHaveLength(1);
  });

  it('401 → auth, not retryable, message names model, case, status and request id', async () => {
    server.failNext(1, 'error401');
    const err = await failure(build().complete(request(), never));
    expect(err).toMatchObject({ kind: 'auth', retryable: false, status: 401 });
    expect(err.requestId).toBeDefined();
    expect(err.message).toContain(err.requestId!);
    expect(err.message).toContain('model "m1"');
    expect(err.message).toContain('case "case-1"');
    expect(err.message).toContain('401');
    expect(server.requests).toHaveLength(1);
  });

  it('400 → bad_request and 404 → not_found, neither retryable', async () => {
    server.failNext(1, 'error400');
    server.failNext(1, 'error404');
    const p = build();
    expect(await failure(p.complete(request(), never))).toMatchObject({ kind: 'bad_request', retryable: false });
    expect(await failure(p.complete(request(), never))).toMatchObject({ kind: 'not_found', retryable: false });
  });

  it('a 200 with a broken JSON body → malformed_response', async () => {
    server.failNext(1, 'malformedJson');
    const err = await failure(build().complete(request(), never));
    expect(err.kind).toBe('malformed_response');
    expect(server.requests).toHaveLength(1);
  });

  it('a response without text content → malformed_response, not retryable', async () => {
    server.failNext(1, 'noContent');
    const err = await failure(build().complete(request(), never));
    expect(err).toMatchObject({ kind: 'malformed_response', retryable: false });
    expect(err.requestId).toBeDefined();
  });

  it('a dropped connection → connection, retryable, one request only', async () => {
    server.failNext(1, 'dropConnection');
    const err = await failure(build().complete(request(), never));
    expect(err).toMatchObject({ kind: 'connection', retryable: true });
    expect(server.requests).toHaveLength(1);
  });

  it('an answer slower than timeoutMs → timeout, retryable, one request only', async () => {
    server.setFaults({ slowMs: 60_000 });
    server.failNext(1, 'slow');
    const started = Date.now();
    const err = await failure(build({ timeoutMs: 150 }).complete(request(), never));
    expect(err).toMatchObject({ kind: 'timeout', retryable: true });
    // It gave up long before the 60 s answer (a loose bound: CI machines are slow, not that slow).
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(server.requests).toHaveLength(1);
  });

  it('the caller aborting → aborted, not retryable', async () => {
    server.setFaults({ slowMs: 5_000 });
    server.failNext(1, 'slow');
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 50);
    const err = await failure(build().complete(request(), ctl.signal));
    expect(err).toMatchObject({ kind: 'aborted', retryable: false });
  });

  it('a deadline signal firing → timeout, retryable (the engine\'s backstop deadline)', async () => {
    server.setFaults({ slowMs: 5_000 });
    server.failNext(1, 'slow');
    const err = await failure(build().complete(request(), AbortSignal.timeout(80)));
    expect(err).toMatchObject({ kind: 'timeout', retryable: true });
  });

  it('a missing key → MissingKeyError at construction, naming the variable', () => {
    expect(() => make(model({ provider, apiKeyEnv: 'NOPE_KEY' }))).toThrow(MissingKeyError);
    expect(() => make(model({ provider, apiKeyEnv: 'NOPE_KEY' }))).toThrow(/NOPE_KEY/);
  });
});

describe('missing keys with default variable names', () => {
  it('openai reads OPENAI_API_KEY and anthropic ANTHROPIC_API_KEY', () => {
    expect(() => new OpenAIProvider(model({ provider: 'openai' }), { env: { ANTHROPIC_API_KEY: KEY } })).toThrow(/OPENAI_API_KEY/);
    expect(() => new AnthropicProvider(model({ provider: 'anthropic' }), { env: { OPENAI_API_KEY: KEY } })).toThrow(/ANTHROPIC_API_KEY/);
    expect(() => new OpenAIProvider(model({ provider: 'openai' }), { env: { OPENAI_API_KEY: '' } })).toThrow(MissingKeyError);
  });
});

describe('keys never leak into error messages', () => {
  it('redacts a key that the API echoes back in its error body', async () => {
    // Real APIs echo (part of) a wrong key in 401 bodies; this one echoes all of it.
    const echo = await startLocalServer((req, res) => {
      const presented = String(req.headers.authorization ?? req.headers['x-api-key'] ?? '');
      res.writeHead(401, { 'content-type': 'application/json', 'x-request-id': 'req_echo_1', 'request-id': 'req_echo_1' });
      res.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${presented}`, type: 'invalid_request_error' } }));
    });
    try {
      const base = echo.url;
      for (const p of [
        new OpenAIProvider(model({ provider: 'openai', baseURL: `${base}/v1` }), { env }),
        new AnthropicProvider(model({ provider: 'anthropic', baseURL: base }), { env }),
      ]) {
        const err = await failure(p.complete(request(), never));
        expect(err.kind).toBe('auth');
        expect(err.message).toContain('Incorrect API key provided');
        expect(err.message).toContain('[REDACTED]');
        expect(err.message).toContain('req_echo_1');
      }
    } finally {
      await echo.close();
    }
  });

  it('the mock server rejects a wrong key without echoing it', async () => {
    const guarded = await startMockLlmServer({ apiKey: 'the-right-key-000' });
    try {
      const p = new OpenAIProvider(model({ provider: 'openai', baseURL: guarded.openaiBaseURL }), { env });
      const err = await failure(p.complete(request(), never));
      expect(err.kind).toBe('auth');
      expect(guarded.requests[0]!.status).toBe(401);
    } finally {
      await guarded.close();
    }
  });
});

describe('identity', () => {
  it('depends on type, base URL, model id and params (in any key order), never on the key', () => {
    const a = new OpenAIProvider(model({ provider: 'openai', params: { temperature: 0, max_tokens: 5 } }), { env });
    const b = new OpenAIProvider(model({ provider: 'openai', params: { max_tokens: 5, temperature: 0 } }), { env: { OPENAI_API_KEY: 'another-key-999' } });
    const c = new OpenAIProvider(model({ provider: 'openai', params: { temperature: 1, max_tokens: 5 } }), { env });
    const d = new OpenAIProvider(model({ provider: 'openai', baseURL: 'http://127.0.0.1:1/v1' }), { env });
    const e = new AnthropicProvider(model({ provider: 'anthropic', params: { temperature: 0, max_tokens: 5 } }), { env });
    expect(a.identity).toBe(b.identity);
    expect(a.identity).not.toBe(c.identity);
    expect(a.identity).not.toBe(d.identity);
    expect(a.identity).not.toBe(e.identity);
    expect(a.identity).not.toContain(KEY);
    expect(a.identity).toContain('test-model');
    const defaulted = new OpenAIProvider({ ...model({ provider: 'openai' }), baseURL: undefined } as unknown as ModelConfig, { env });
    expect(defaulted.identity).toContain('https://api.openai.com/v1');
  });
});

describe('parseRetryAfter', () => {
  const h = (o: Record<string, string>) => new Headers(o);
  it('prefers retry-after-ms, then seconds, then an HTTP date', () => {
    expect(parseRetryAfter(h({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
    expect(parseRetryAfter(h({ 'retry-after': '3' }))).toBe(3000);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter(h({ 'retry-after': 'Wed, 01 Jan 2025 00:00:05 GMT' }), now)).toBe(5000);
    expect(parseRetryAfter(h({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(parseRetryAfter(h({}))).toBeUndefined();
  });
});

describe('recorded provider', () => {
  let dir: string;
  let file: string;
  const recorded = (path: string) => new RecordedProvider(model({ provider: 'recorded', key: 'mixtral', model: 'mixtral-8x7b', path }));

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'evalroute-recorded-'));
    file = join(dir, 'mixtral.jsonl');
    writeFileSync(
      file,
      [
        JSON.stringify({ id: 'q1', output: 'The answer is 4.', usage: { input: 12, output: 5 }, latency_ms: 840, extra: 'ignored' }),
        '',
        JSON.stringify({ id: 'q2', output: 'Paris is the capital of France.' }),
      ].join('\n'),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('replays a recording with its usage and latency, without any key', async () => {
    const p = recorded(file);
    const out = await p.complete(request({ caseId: 'q1' }), never);
    expect(out).toEqual({ text: 'The answer is 4.', usage: { input: 12, output: 5 }, latencyMs: 840, model: 'mixtral-8x7b' });
    expect(p.identity).toBe(`recorded|${file}|mixtral-8x7b`);
  });

  it('estimates usage with the tokenizer when the recording has none', async () => {
    const req = request({ caseId: 'q2' });
    const out = await recorded(file).complete(req, never);
    expect(out.text).toBe('Paris is the capital of France.');
    expect(out.latencyMs).toBe(0);
    expect(out.usage).toEqual({
      input: countTokens('You are terse.') + countTokens('What is two plus two?'),
      output: countTokens('Paris is the capital of France.'),
      estimated: true,
    });
  });

  it('a case without a recording → missing_recording naming case, model and file', async () => {
    const err = await failure(recorded(file).complete(request({ caseId: 'q404' }), never));
    expect(err).toMatchObject({ kind: 'missing_recording', retryable: false });
    expect(err.message).toContain('"q404"');
    expect(err.message).toContain('"mixtral"');
    expect(err.message).toContain(file);
    expect(err.message).toMatch(/record/);
  });

  it('loads the file once, on first use', async () => {
    const own = join(dir, 'once.jsonl');
    writeFileSync(own, JSON.stringify({ id: 'a', output: 'first' }) + '\n');
    const p = recorded(own);
    const [x, y] = await Promise.all([p.complete(request({ caseId: 'a' }), never), p.complete(request({ caseId: 'a' }), never)]);
    writeFileSync(own, JSON.stringify({ id: 'a', output: 'changed' }) + '\n');
    const z = await p.complete(request({ caseId: 'a' }), never);
    expect([x.text, y.text, z.text]).toEqual(['first', 'first', 'first']);
  });

  it('a malformed line → ConfigError with file:line', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, [JSON.stringify({ id: 'a', output: 'ok' }), '', '{"id": "b", "output": '].join('\n'));
    const err = await recorded(bad).complete(request({ caseId: 'a' }), never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain(`${bad}:3`);
  });

  it('rejects lines without a string output, bad usage, or duplicate ids, naming the line', async () => {
    const cases: Array<[string, RegExp]> = [
      [JSON.stringify({ id: 'a', output: 3 }), /:1: "output" must be a string/],
      [JSON.stringify({ id: 'a', output: 'x', usage: { input: 'many' } }), /:1: "usage"/],
      [[JSON.stringify({ id: 'a', output: 'x' }), JSON.stringify({ id: 'a', output: 'y' })].join('\n'), /:2: case "a" is recorded twice \(first on line 1\)/],
    ];
    for (const [content, pattern] of cases) {
      const f = join(dir, 'invalid.jsonl');
      writeFileSync(f, content);
      const err = await recorded(f).complete(request({ caseId: 'a' }), never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(pattern);
    }
  });

  it('a missing file → ConfigError naming it', async () => {
    const err = await recorded(join(dir, 'nope.jsonl')).complete(request(), never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/nope\.jsonl: recordings file not found/);
  });
});

describe('provider registry', () => {
  it('has the built-in types and builds providers by type', async () => {
    expect(providerTypes()).toEqual(expect.arrayContaining(['openai', 'anthropic', 'recorded']));
    const p = createProvider(model({ provider: 'openai' }), { env });
    expect(p).toBeInstanceOf(OpenAIProvider);
    expect(createProvider(model({ provider: 'anthropic' }), { env })).toBeInstanceOf(AnthropicProvider);
    expect((await p.complete(request(), never)).text).toMatch(/^mock:test-model:/);
  });

  it('checks keys at construction, before any call', () => {
    expect(() => createProvider(model({ provider: 'anthropic' }), { env: {} })).toThrow(MissingKeyError);
    expect(server.requests).toHaveLength(0);
  });

  it('an unknown type → UsageError listing the known types', () => {
    const err = (() => {
      try {
        createProvider(model({ provider: 'gemini' }), { env });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/provider "gemini".*known: openai, azure, anthropic, recorded/);
  });

  it('accepts custom provider types', async () => {
    registerProvider('constant', (m) => ({
      key: m.key,
      identity: `constant|${m.model}`,
      complete: async () => ({ text: 'always', usage: { input: 0, output: 1 }, latencyMs: 0 }),
    }));
    expect(providerTypes()).toContain('constant');
    const p = createProvider(model({ provider: 'constant' }), { env: {} });
    expect((await p.complete(request(), never)).text).toBe('always');
    expect(() => registerProvider('bad name!', () => p)).toThrow(UsageError);
  });
});
