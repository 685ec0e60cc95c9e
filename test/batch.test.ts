import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MissingKeyError, ProviderError } from '../src/core/errors.js';
import { callCost } from '../src/core/cost.js';
import type { Completion, CompletionRequest, ModelConfig } from '../src/core/types.js';
import { AnthropicProvider } from '../src/providers/anthropic.js';
import { AnthropicBatch } from '../src/providers/anthropic-batch.js';
import {
  awaitBatch,
  batchCustomId,
  batchPrice,
  createBatchCapable,
  runBatch,
  type BatchCapable,
  type BatchItem,
  type BatchOutcome,
  type BatchState,
} from '../src/providers/batch.js';
import { OpenAIProvider } from '../src/providers/openai.js';
import { OpenAIBatch } from '../src/providers/openai-batch.js';
import { mountBatchApi, type MockBatchApi } from './support/mock-batch.js';
import { defaultMockAnswer, startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';

const KEY = 'sk-test-BATCHKEY123456';
const env = { OPENAI_API_KEY: KEY, ANTHROPIC_API_KEY: KEY };
const never = new AbortController().signal;
const fast = { signal: never, pollIntervalMs: 1, maxPollIntervalMs: 2 };

let server: MockLlmServer;
let api: MockBatchApi;
beforeAll(async () => {
  server = await startMockLlmServer();
  api = mountBatchApi(server);
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  api.reset();
  server.script((r) => defaultMockAnswer(r.model, r.lastUserText));
});

function model(provider: 'openai' | 'anthropic', over: Partial<ModelConfig> = {}): ModelConfig {
  const baseURL = provider === 'anthropic' ? server.anthropicBaseURL : server.openaiBaseURL;
  return { key: 'm1', provider, model: 'batch-model', params: {}, concurrency: 4, timeoutMs: 5_000, maxRetries: 0, baseURL, ...over };
}

const QUESTIONS = ['What is two plus two?', 'Name a prime number.', 'Spell cat backwards.', 'Capital of France?', 'Is water wet?', 'Count to three.'];

function items(n = QUESTIONS.length, params: Record<string, unknown> = { temperature: 0, max_tokens: 40 }): BatchItem[] {
  return QUESTIONS.slice(0, n).map((q, i) => {
    const request: CompletionRequest = {
      caseId: `case/${i}`,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: q },
      ],
      params,
      repeat: 0,
    };
    return { customId: batchCustomId(request.caseId, 0), request };
  });
}

function completion(out: BatchOutcome | undefined): Completion {
  if (!(out && !(out instanceof ProviderError))) throw new Error(`expected a completion, got ${out instanceof Error ? out.message : String(out)}`);
  return out;
}

function failure(out: BatchOutcome | undefined): ProviderError {
  expect(out).toBeInstanceOf(ProviderError);
  const e = out as ProviderError;
  expect(e.message).not.toContain(KEY);
  return e;
}

/** Items sent by the batch worker to the direct endpoint vs by the tests' own direct calls. */
const directCalls = () => server.requests.filter((r) => r.headers['x-mock-batch'] === undefined);

describe('custom ids and price', () => {
  it('builds deterministic custom ids both APIs accept, distinct even when case ids sanitise alike', () => {
    const ids = ['a/b', 'a.b', 'a b', 'x'.repeat(200), 'ünïcode-case'].map((c) => batchCustomId(c, 0));
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect(batchCustomId('a/b', 0)).toBe(ids[0]);
    expect(batchCustomId('a/b', 1)).not.toBe(ids[0]);
    expect(batchCustomId('intent-42', 0)).toMatch(/^intent-42-r0-/);
  });

  it('halves every rate, so a batch call costs half the direct one', () => {
    const price = { input: 2, output: 8, cachedInput: 0.5 };
    const usage = { input: 1000, output: 500, cachedInput: 200 };
    expect(batchPrice(price)).toEqual({ input: 1, output: 4, cachedInput: 0.25 });
    expect(callCost(usage, batchPrice(price))).toBeCloseTo(callCost(usage, price)! / 2, 12);
    expect(batchPrice(undefined)).toBeUndefined();
  });
});

describe('openai batch over the real SDK', () => {
  it('uploads one JSONL line per item with the exact body a direct call sends', async () => {
    const its = items(3);
    const { batchId } = await new OpenAIBatch(model('openai'), { env }).submitBatch(its, never);

    const batch = api.batches.get(batchId)!;
    expect(batch.createBody).toMatchObject({ endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { evalroute_model: 'm1' } });
    const file = api.files.get(String(batch.createBody.input_file_id))!;
    expect(file).toMatchObject({ purpose: 'batch', filename: 'batch.jsonl' });
    const lines = file.content.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.custom_id)).toEqual(its.map((i) => i.customId));
    for (const l of lines) expect(l).toMatchObject({ method: 'POST', url: '/v1/chat/completions' });

    // The direct provider's body for the same request, as the server received it.
    await new OpenAIProvider(model('openai'), { env }).complete(its[1]!.request, never);
    expect(lines[1]!.body).toEqual(directCalls()[0]!.body);
    expect(lines[1]!.body).toMatchObject({ model: 'batch-model', temperature: 0, max_tokens: 40, messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: QUESTIONS[1] }] });
  });

  it('polls until completed and maps shuffled results back by custom id, with the direct answer and usage', async () => {
    const its = items();
    const states: BatchState[] = [];
    api.setPollsUntilDone(3);
    const results = await runBatch(new OpenAIBatch(model('openai'), { env }), its, { ...fast, onStatus: (s) => states.push(s) });

    expect(states.map((s) => s.status)).toEqual(['in_progress', 'in_progress', 'completed']);
    expect(states.at(-1)!.counts).toEqual({ total: 6, succeeded: 6, failed: 0, pending: 0 });
    const [batch] = [...api.batches.values()];
    const output = [...api.files.values()].find((f) => f.purpose === 'batch_output')!;
    const order = output.content.trimEnd().split('\n').map((l) => (JSON.parse(l) as { custom_id: string }).custom_id);
    expect(order).not.toEqual(its.map((i) => i.customId));
    expect(batch!.status).toBe('completed');

    const direct = await new OpenAIProvider(model('openai'), { env }).complete(its[4]!.request, never);
    expect(results.size).toBe(6);
    its.forEach((it, i) => {
      const c = completion(results.get(it.customId));
      expect(c.text).toBe(defaultMockAnswer('batch-model', QUESTIONS[i]!));
      expect(c.latencyMs).toBe(0);
      expect(c.requestId).toMatch(/^req_mock_/);
      expect(c.model).toBe('batch-model');
    });
    expect(completion(results.get(its[4]!.customId)).usage).toEqual(direct.usage);
  });

  it('returns the failed items of a partial failure as retryable ProviderErrors and the rest as answers', async () => {
    const its = items();
    api.setFaults({ failIds: [its[1]!.customId, its[4]!.customId] });
    const results = await runBatch(new OpenAIBatch(model('openai'), { env }), its, fast);

    for (const i of [1, 4]) {
      const e = failure(results.get(its[i]!.customId));
      expect(e).toMatchObject({ kind: 'server', retryable: true, status: 500 });
      expect(e.message).toContain(`case "case/${i}"`);
      expect(e.message).toContain('injected batch item failure');
    }
    for (const i of [0, 2, 3, 5]) expect(completion(results.get(its[i]!.customId)).text).toBe(defaultMockAnswer('batch-model', QUESTIONS[i]!));
    // No item was answered directly by evalroute itself: only the batch worker hit the chat endpoint.
    expect(directCalls()).toHaveLength(0);
  });

  it('maps a per-item error the API returned onto the direct-call kinds (400 is not retryable)', async () => {
    const its = items(3);
    server.failNext(1, 'error400'); // the batch worker's first item
    const results = await runBatch(new OpenAIBatch(model('openai'), { env }), its, fast);
    expect(failure(results.get(its[0]!.customId))).toMatchObject({ kind: 'bad_request', retryable: false, status: 400 });
    expect(completion(results.get(its[1]!.customId)).text).toBe(defaultMockAnswer('batch-model', QUESTIONS[1]!));
  });

  it('turns items a completed batch left out into errors, so none is lost', async () => {
    const its = items(3);
    api.setFaults({ dropIds: [its[2]!.customId] });
    const results = await runBatch(new OpenAIBatch(model('openai'), { env }), its, fast);
    expect(results.size).toBe(3);
    const e = failure(results.get(its[2]!.customId));
    expect(e).toMatchObject({ kind: 'server', retryable: true });
    expect(e.message).toMatch(/completed without a result for this item/);
  });

  it('keeps the answers of an expired batch and errors the items it never reached', async () => {
    const its = items(4);
    api.setFaults({ expire: { answered: 1 } });
    const states: BatchState[] = [];
    const results = await runBatch(new OpenAIBatch(model('openai'), { env }), its, { ...fast, onStatus: (s) => states.push(s) });
    expect(states.at(-1)!.status).toBe('expired');
    expect(completion(results.get(its[0]!.customId)).text).toBe(defaultMockAnswer('batch-model', QUESTIONS[0]!));
    for (const it of its.slice(1)) {
      const e = failure(results.get(it.customId));
      expect(e).toMatchObject({ kind: 'timeout', retryable: true });
      expect(e.message).toContain('batch_expired');
    }
  });

  it('errors every item of a batch that expired with no answers', async () => {
    const its = items(3);
    api.setFaults({ expire: {} });
    const results = await runBatch(new OpenAIBatch(model('openai'), { env }), its, fast);
    expect([...results.values()].every((r) => r instanceof ProviderError && r.kind === 'timeout' && r.retryable)).toBe(true);
  });

  it('errors every item, with the API\'s reason, when the batch fails validation', async () => {
    const its = items(2);
    api.setFaults({ failValidation: 'model batch-model does not support batch' });
    const results = await runBatch(new OpenAIBatch(model('openai'), { env }), its, fast);
    for (const it of its) expect(failure(results.get(it.customId)).message).toMatch(/failed \(failed; invalid_request at line 1: model batch-model does not support batch\)/);
  });

  it('detaches after submission and lets a fresh instance collect by batch id', async () => {
    const its = items(3);
    const { batchId } = await new OpenAIBatch(model('openai'), { env }).submitBatch(its, never);
    expect(api.batches.get(batchId)!.polls).toBe(0);

    // Another process: a new instance, only the id and the items rebuilt from the store.
    const later = new OpenAIBatch(model('openai'), { env });
    const first = await later.pollBatch(batchId, never);
    expect(first.status).toBe('in_progress');
    const results = await awaitBatch(later, batchId, its, fast);
    its.forEach((it, i) => expect(completion(results.get(it.customId)).text).toBe(defaultMockAnswer('batch-model', QUESTIONS[i]!)));
  });

  it('maps an unknown batch id to a not_found ProviderError', async () => {
    const e = await new OpenAIBatch(model('openai'), { env }).pollBatch('batch_nope', never).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(ProviderError);
    expect(e).toMatchObject({ kind: 'not_found', status: 404 });
    expect((e as Error).message).toContain('batch batch_nope');
  });

  it('needs the key before any call', async () => {
    expect(() => new OpenAIBatch(model('openai'), { env: {} })).toThrow(MissingKeyError);
    await expect(createBatchCapable(model('anthropic'), { env: {} })).rejects.toBeInstanceOf(MissingKeyError);
  });

  it('has a batch side only for provider types with a Batch API', async () => {
    expect(await createBatchCapable(model('openai'), { env })).toBeInstanceOf(OpenAIBatch);
    expect(await createBatchCapable(model('anthropic'), { env })).toBeInstanceOf(AnthropicBatch);
    expect(await createBatchCapable(model('openai', { provider: 'azure' }), { env: { AZURE_OPENAI_API_KEY: KEY } })).toBeUndefined();
    expect(await createBatchCapable(model('openai', { provider: 'recorded' }), { env })).toBeUndefined();
  });
});

describe('anthropic message batches over the real SDK', () => {
  it('sends one request per item with the exact params a direct call sends', async () => {
    const its = items(3, { temperature: 0 });
    const { batchId } = await new AnthropicBatch(model('anthropic'), { env }).submitBatch(its, never);
    expect(batchId).toMatch(/^msgbatch_/);
    const batch = api.batches.get(batchId)!;
    expect(batch.items.map((i) => i.customId)).toEqual(its.map((i) => i.customId));

    await new AnthropicProvider(model('anthropic'), { env }).complete(its[2]!.request, never);
    expect(batch.items[2]!.body).toEqual(directCalls()[0]!.body);
    expect(batch.items[2]!.body).toEqual({
      max_tokens: 1024,
      temperature: 0,
      model: 'batch-model',
      system: 'You are terse.',
      messages: [{ role: 'user', content: QUESTIONS[2] }],
    });
  });

  it('polls until ended and maps the shuffled results stream by custom id, with the direct usage', async () => {
    const its = items();
    server.script((r) => ({ text: `answer to ${r.lastUserText}`, usage: { input: 11, output: 7 } }));
    const states: BatchState[] = [];
    const results = await runBatch(new AnthropicBatch(model('anthropic'), { env }), its, { ...fast, onStatus: (s) => states.push(s) });
    expect(states.map((s) => s.status)).toEqual(['in_progress', 'completed']);
    expect(states[0]!.counts).toEqual({ total: 6, succeeded: 0, failed: 0, pending: 6 });
    its.forEach((it, i) => {
      const c = completion(results.get(it.customId));
      expect(c).toMatchObject({ text: `answer to ${QUESTIONS[i]}`, usage: { input: 11, output: 7 }, latencyMs: 0, model: 'batch-model' });
      expect(c.requestId).toMatch(/^msg_req_mock_/);
    });
  });

  it('returns errored items as retryable ProviderErrors and keeps the others', async () => {
    const its = items(4);
    api.setFaults({ failIds: [its[0]!.customId] });
    const results = await runBatch(new AnthropicBatch(model('anthropic'), { env }), its, fast);
    const e = failure(results.get(its[0]!.customId));
    expect(e).toMatchObject({ kind: 'server', retryable: true });
    expect(e.message).toContain('api_error: injected batch item failure');
    for (const it of its.slice(1)) expect(completion(results.get(it.customId)).text).toMatch(/^mock:batch-model:/);
  });

  it('maps an errored item\'s API error type (invalid request → bad_request, not retryable)', async () => {
    const its = items(2);
    server.failNext(1, 'error400');
    const results = await runBatch(new AnthropicBatch(model('anthropic'), { env }), its, fast);
    expect(failure(results.get(its[0]!.customId))).toMatchObject({ kind: 'bad_request', retryable: false });
    expect(completion(results.get(its[1]!.customId)).text).toBe(defaultMockAnswer('batch-model', QUESTIONS[1]!));
  });

  it('reports an expired batch and errors every expired item as a retryable timeout', async () => {
    const its = items(3);
    api.setFaults({ expire: {} });
    const states: BatchState[] = [];
    const results = await runBatch(new AnthropicBatch(model('anthropic'), { env }), its, { ...fast, onStatus: (s) => states.push(s) });
    expect(states.at(-1)).toMatchObject({ status: 'expired', counts: { total: 3, succeeded: 0, failed: 3, pending: 0 } });
    for (const it of its) expect(failure(results.get(it.customId))).toMatchObject({ kind: 'timeout', retryable: true });
  });

  it('detaches after submission and lets a fresh instance collect by batch id', async () => {
    const its = items(2);
    const { batchId } = await new AnthropicBatch(model('anthropic'), { env }).submitBatch(its, never);
    const results = await awaitBatch(new AnthropicBatch(model('anthropic'), { env }), batchId, its, fast);
    its.forEach((it, i) => expect(completion(results.get(it.customId)).text).toBe(defaultMockAnswer('batch-model', QUESTIONS[i]!)));
  });
});

describe('awaitBatch', () => {
  /** A scripted BatchCapable: poll answers in order, then the given results. */
  function scripted(polls: Array<BatchState | ProviderError>, results: Map<string, BatchOutcome> = new Map()): BatchCapable & { polled: number } {
    return {
      key: 'fake',
      polled: 0,
      submitBatch: () => Promise.resolve({ batchId: 'b1' }),
      pollBatch(): Promise<BatchState> {
        const next = polls[Math.min(this.polled++, polls.length - 1)]!;
        return next instanceof ProviderError ? Promise.reject(next) : Promise.resolve(next);
      },
      fetchResults: () => Promise.resolve(results),
    };
  }
  const serverError = () => new ProviderError('server (HTTP 503)', { kind: 'server', retryable: true, status: 503 });
  const done: BatchState = { batchId: 'b1', status: 'completed' };

  it('rides out transient poll errors and backs off between polls', async () => {
    const waits: number[] = [];
    const busy: BatchState = { batchId: 'b1', status: 'in_progress' };
    const fake = scripted([serverError(), busy, busy, busy, done]);
    const out = await awaitBatch(fake, 'b1', items(1), {
      signal: never,
      pollIntervalMs: 100,
      maxPollIntervalMs: 200,
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    });
    expect(fake.polled).toBe(5);
    expect(waits).toEqual([100, 100, 150, 200]);
    // The fake returned no result for the item: it comes back as an error, never as a gap.
    expect(failure(out.get(items(1)[0]!.customId)).kind).toBe('server');
  });

  it('gives up after too many poll errors in a row, and at once on a non-retryable one', async () => {
    const opts = { ...fast, maxPollFailures: 2 };
    await expect(awaitBatch(scripted([serverError()]), 'b1', items(1), opts)).rejects.toMatchObject({ kind: 'server' });
    const auth = new ProviderError('auth (HTTP 401)', { kind: 'auth', retryable: false, status: 401 });
    const fake = scripted([auth, done]);
    await expect(awaitBatch(fake, 'b1', items(1), opts)).rejects.toBe(auth);
    expect(fake.polled).toBe(1);
  });

  it('stops waiting on abort without cancelling the batch, naming it for a later collect', async () => {
    const stop = new AbortController();
    const fake = scripted([{ batchId: 'b1', status: 'in_progress' }]);
    const waiting = awaitBatch(fake, 'b1', items(1), { signal: stop.signal, pollIntervalMs: 60_000, onStatus: () => stop.abort() });
    const err = await waiting.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ kind: 'aborted' });
    expect((err as Error).message).toMatch(/batch b1 .*keeps running.*evalroute batch collect/s);
  });
});
