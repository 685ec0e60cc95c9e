import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../src/api/run.js';
import { ConfigError, MissingKeyError } from '../src/core/errors.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject } from './support/project.js';

let server: MockLlmServer;
beforeAll(async () => {
  server = await startMockLlmServer();
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  server.script(arithmeticResponder());
});

describe('evalroute run, end to end through both real SDKs', () => {
  it('routes easy cases to the cheap tier, gates it, stores everything and passes', async () => {
    const p = createProject(server);
    const result = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env });

    expect(result.exitCode).toBe(0);
    expect(result.summary.pass).toBe(true);
    const cheap = result.summary.tiers.find((t) => t.tier === 'cheap')!;
    expect(cheap).toMatchObject({ model: 'small', baselineModel: 'big', cases: 20, passRate: 1, baselinePassRate: 1, delta: 0, errors: 0, pass: true });
    // 40 baseline calls + 20 cheap-tier calls, each exactly once.
    expect(server.requests.filter((r) => r.api === 'openai')).toHaveLength(40);
    expect(server.requests.filter((r) => r.api === 'anthropic')).toHaveLength(20);
    const big = result.summary.models.find((m) => m.model === 'big')!;
    expect(big.calls).toBe(40);
    expect(big.inputTokens).toBeGreaterThan(0);
    // Cost arithmetic: mock usage is word counts; $10/$30 per 1M tokens.
    expect(big.costUsd).toBeCloseTo((big.inputTokens * 10 + big.outputTokens * 30) / 1e6, 12);

    const db = new Database(result.dbFile, { readonly: true });
    expect(db.prepare('select count(*) n from responses').get()).toEqual({ n: 60 });
    expect(db.prepare('select count(*) n from grades').get()).toEqual({ n: 60 });
    db.close();
  });

  it('fails the tier (exit 1) when the cheap model regresses on the cases routed to it', async () => {
    const p = createProject(server, { rules: '  - { name: all-cheap, when: { task: arithmetic }, tier: cheap }\n  - { tier: frontier }' });
    const result = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env });
    const cheap = result.summary.tiers.find((t) => t.tier === 'cheap')!;
    expect(result.exitCode).toBe(1);
    expect(cheap.passRate).toBe(0.5);
    expect(cheap.delta).toBe(-0.5);
    expect(cheap.pass).toBe(false);
    expect(cheap.reasons.join(' ')).toMatch(/pass rate|delta|margin/i);
  });

  it('replays an unchanged suite from the response cache with zero API calls', async () => {
    const p = createProject(server);
    const first = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env });
    server.reset();
    const second = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env });
    expect(server.requests).toHaveLength(0);
    expect(second.runId).not.toBe(first.runId);
    expect(second.summary.tiers).toEqual(first.summary.tiers.map((t) => ({ ...t })));
    const offline = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: {}, cache: 'offline' });
    expect(offline.exitCode).toBe(0);
    expect(server.requests).toHaveLength(0);
  });

  it('counts errored calls as failures and reports the run incomplete above the error budget', async () => {
    const p = createProject(server, { cases: 10 });
    server.failNext(1, 'error401');
    const result = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, maxErrorRate: 0.01 });
    expect(result.exitCode).toBe(3);
    expect(result.summary.status).toBe('incomplete');
    const errors = result.summary.models.reduce((s, m) => s + m.errors, 0);
    expect(errors).toBe(1);
  });

  it('rejects a missing API key before any call is made', async () => {
    const p = createProject(server);
    await expect(run({ suiteDir: p.suiteDir, cwd: p.dir, env: { BIG_KEY: 'sk-test-present-0000001' } })).rejects.toBeInstanceOf(MissingKeyError);
    expect(server.requests).toHaveLength(0);
  });

  it('rejects a routing file naming an unknown model, with file and line', async () => {
    const p = createProject(server);
    p.write('routing.yaml', readFileSync(p.routingFile, 'utf8').replace('model: small', 'model: smol'));
    const err = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/routing\.yaml:3/);
    expect((err as Error).message).toContain('smol');
  });

  it('never stores an API key', async () => {
    const p = createProject(server);
    const result = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env });
    const bytes = readFileSync(result.dbFile).toString('latin1');
    for (const key of Object.values(p.env)) expect(bytes).not.toContain(key);
  });
});
