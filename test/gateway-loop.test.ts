/**
 * The gateway in the loop with gateways other than Portkey: a LiteLLM-style router and a plain
 * OpenAI-compatible one, mounted on the mock LLM server. They pick the model themselves; evalroute must
 * send the case's metadata/tags the way each expects, attribute each case to the tier of the model that
 * answered, and call the baseline directly. (End to end against the real Portkey gateway:
 * portkey-gateway.test.ts.)
 */
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../src/api/run.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, RunIncompleteError, UsageError } from '../src/core/errors.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject, type TestProject } from './support/project.js';

interface RouterCall {
  body: Record<string, unknown>;
  authorization: string | undefined;
}

let server: MockLlmServer;
let project: TestProject;
const routerCalls: RouterCall[] = [];
const answer = arithmeticResponder();
/** What the router answers instead of the model's own answer, when a test sets it. */
let routerOverride: string | undefined;

const readJson = (req: IncomingMessage) =>
  new Promise<Record<string, unknown>>((resolve) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => resolve(JSON.parse(raw) as Record<string, unknown>));
  });

beforeAll(async () => {
  server = await startMockLlmServer({ responder: answer });
  // A router in front of the models: easy-tagged (LiteLLM tags) or metadata.size=small cases go to
  // small-1, the rest to big-1. It says which deployment answered the way LiteLLM does.
  server.addRoute(async (req, res, path) => {
    if (path.startsWith('/broken/')) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'no route for this request', type: 'invalid_request_error' } }));
      return true;
    }
    // A gateway that never answers: only a stop ends the wait (the server closes the socket at the end).
    if (path.startsWith('/hang/')) return true;
    if (!path.startsWith('/router/')) return false;
    const body = await readJson(req);
    routerCalls.push({ body, authorization: req.headers.authorization });
    const tags = Array.isArray(body.tags) ? body.tags : [];
    const metadata = (body.metadata ?? {}) as Record<string, unknown>;
    const model = tags.includes('easy') || metadata.size === 'small' || body.model === 'always-small' ? 'small-1' : 'big-1';
    const messages = body.messages as { role: string; content: string }[];
    const lastUserText = messages.filter((m) => m.role === 'user').at(-1)!.content;
    const text = routerOverride ?? answer({ api: 'openai', model, messages, body, lastUserText });
    res.writeHead(200, { 'content-type': 'application/json', 'x-litellm-model-id': `deployment-${model}`, 'x-litellm-model-api-base': server.openaiBaseURL });
    res.end(
      JSON.stringify({
        id: `chatcmpl-${routerCalls.length}`,
        object: 'chat.completion',
        created: 0,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 12, completion_tokens: 2, total_tokens: 14 },
      }),
    );
    return true;
  });
  project = createProject(server, { cases: 20 });
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  routerCalls.length = 0;
  routerOverride = undefined;
});

const withGateway = (gateway: string) => {
  const base = `store: .evalroute/test.db
models:
  big:   { provider: openai, model: big-1, baseURL: ${server.openaiBaseURL}, apiKeyEnv: BIG_KEY, price: { input: 10, output: 30 }, concurrency: 4, timeoutMs: 5000, maxRetries: 2 }
  small: { provider: anthropic, model: small-1, baseURL: ${server.anthropicBaseURL}, apiKeyEnv: SMALL_KEY, price: { input: 0.5, output: 1.5 }, concurrency: 4, timeoutMs: 5000, maxRetries: 2 }
routing: routing.yaml
gateway: ${gateway}
`;
  return project.write(`gw-${routerCalls.length}-${Math.random().toString(36).slice(2)}.yaml`, base);
};

describe('gateway in the loop, LiteLLM-style and plain OpenAI-compatible', () => {
  it('litellm: sends the case tags in the body and the key as a Bearer token; each case lands in the tier of the model that answered', async () => {
    const config = withGateway(`{ url: "${server.url}/router/v1", type: litellm, model: support-router, apiKeyEnv: GATEWAY_KEY }`);
    const result = await run({ suiteDir: project.suiteDir, config, cwd: project.dir, env: { ...project.env, GATEWAY_KEY: 'sk-gateway-test-key-0001' }, db: 'litellm.db' });
    expect(routerCalls).toHaveLength(20);
    for (const call of routerCalls) {
      expect(call.body.model).toBe('support-router');
      expect(call.body.tags).toEqual([expect.stringMatching(/^(easy|hard)$/)]);
      expect(call.authorization).toBe('Bearer sk-gateway-test-key-0001');
    }
    // The router sent easy cases to small-1: those are the cheap tier's; the rest stayed on the frontier.
    for (const r of result.results) expect(r.tier, r.caseId).toBe(Number(r.caseId.slice(1)) % 2 === 0 ? 'cheap' : 'frontier');
    // The cheap tier's answers came from the gateway; the anthropic endpoint was never called directly.
    expect(server.requests.filter((q) => q.api === 'anthropic')).toHaveLength(0);
    expect(server.requests.filter((q) => q.model === 'big-1')).toHaveLength(20);
    expect(result.summary.tiers.find((t) => t.tier === 'cheap')!.cases).toBe(10);
    // Gateway answers are costed at the model's list price (12 input + 2 output tokens each), not a batch discount.
    for (const r of result.results.filter((x) => x.tier === 'cheap')) expect(r.candidate.completion!.costUsd).toBeCloseTo((12 * 0.5 + 2 * 1.5) / 1e6, 12);
    expect(result.exitCode).toBe(0); // small-1 is right on every easy case
  });

  it("gates the gateway's own answers even when the model's direct answers are cached, and never caches them as the model's", async () => {
    const config = withGateway(`{ url: "${server.url}/router/v1", type: litellm, model: support-router }`);
    const db = 'gateway-cache.db';
    // A direct run first (no gateway): small-1's right answers to the easy cases are in the cache.
    const direct = await run({ suiteDir: project.suiteDir, config, cwd: project.dir, env: project.env, db, through: false });
    expect(direct.exitCode).toBe(0);
    // Now the gateway answers wrongly: the gate must see its answers, not the cached direct ones.
    routerOverride = '0';
    const through = await run({ suiteDir: project.suiteDir, config, cwd: project.dir, env: project.env, db });
    const cheap = through.results.filter((r) => r.tier === 'cheap');
    expect(cheap).toHaveLength(10);
    for (const r of cheap) expect(r.candidate.completion!.text, r.caseId).toBe('0');
    expect(through.exitCode).toBe(1);
    // And a later direct run does not get the gateway's answers from the cache: small-1's own, again.
    const again = await run({ suiteDir: project.suiteDir, config, cwd: project.dir, env: project.env, db, through: false });
    const smallCalls = again.results.filter((r) => r.candidate.modelKey === 'small');
    expect(smallCalls.length).toBeGreaterThan(0);
    for (const r of smallCalls) expect(r.candidate.completion!.text, r.caseId).not.toBe('0');
    expect(again.exitCode).toBe(0);
  });

  it('openai: a plain router gets no metadata fields; the response model alone attributes the case', async () => {
    const config = withGateway(`{ url: "${server.url}/router/v1", model: always-small }`);
    const result = await run({ suiteDir: project.suiteDir, config, cwd: project.dir, env: project.env, db: 'openai.db' });
    for (const call of routerCalls) {
      expect(call.body).not.toHaveProperty('tags');
      expect(call.body).not.toHaveProperty('metadata');
      expect(call.authorization).toBe('Bearer no-key');
    }
    expect(new Set(result.results.map((r) => r.tier))).toEqual(new Set(['cheap']));
    // Hard cases routed to small-1 are wrong: the gate catches the router's choice.
    expect(result.exitCode).toBe(1);
  });

  it('refuses options that assume evalroute routes, and a gateway key that is not set, before any call', async () => {
    const config = withGateway(`{ url: "${server.url}/router/v1", apiKeyEnv: GATEWAY_KEY }`);
    await expect(run({ suiteDir: project.suiteDir, config, cwd: project.dir, env: project.env, repeats: 3 })).rejects.toThrow(/--repeat cannot be combined with a gateway in the loop/);
    await expect(run({ suiteDir: project.suiteDir, config, cwd: project.dir, env: project.env })).rejects.toThrow(UsageError);
    expect(routerCalls).toHaveLength(0);
    // --through false (simulate/suggest fills, gate's base) ignores the configured gateway.
    const offline = await run({ suiteDir: project.suiteDir, config, cwd: project.dir, env: project.env, through: false, db: 'direct.db' });
    expect(routerCalls).toHaveLength(0);
    expect(offline.results.length).toBe(20);
  });

  it('failed gateway requests make the run incomplete (exit 3) before anything is stored, listing the cases', async () => {
    const config = withGateway(`{ url: "${server.url}/broken/v1" }`);
    const err = await run({ suiteDir: project.suiteDir, config, cwd: project.dir, env: project.env, db: 'broken.db' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunIncompleteError);
    expect((err as RunIncompleteError).exitCode).toBe(3);
    expect((err as Error).message).toMatch(/^20 of 20 requests to the gateway at .*\/broken\/v1 failed, so those cases have no tier; nothing was stored\n {2}case "c\d+": .*no route for this request/);
    expect(existsSync(join(project.dir, 'broken.db'))).toBe(false);
    expect(server.requests).toHaveLength(0); // the baseline was not called either
  });

  it('--deadline passing while cases are sent through the gateway ends the run incomplete, saying it was the deadline', async () => {
    const config = withGateway(`{ url: "${server.url}/hang/v1" }`);
    const err = await run({ suiteDir: project.suiteDir, config, cwd: project.dir, env: project.env, db: 'hang.db', deadlineMs: 1_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunIncompleteError);
    expect((err as Error).message).toBe(
      'interrupted while sending cases through the gateway; nothing was stored: stopped by its --deadline of 1 s (it passed while calls were in flight or waiting)',
    );
    expect(existsSync(join(project.dir, 'hang.db'))).toBe(false);
  });

  it('a gateway that answers with a model no tier uses is a ConfigError naming the case and request', async () => {
    const config = withGateway(`{ url: "${server.url}/router/v1", model: always-small }`);
    project.write('big-only.yaml', 'baseline: big\ntiers:\n  frontier: { model: big }\nrules:\n  - { tier: frontier }\n');
    const err = await run({ suiteDir: project.suiteDir, config, routing: 'big-only.yaml', cwd: project.dir, env: project.env, db: 'none.db' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/served case "c\d+" \(request chatcmpl-\d+\) with model "small-1", x-litellm-model-id deployment-small-1, .*which no tier of this routing file uses/);
  });
});
