import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { collectRun } from '../src/api/batch-collect.js';
import type { BatchStatusEvent } from '../src/api/batch.js';
import { run, type RunResult } from '../src/api/run.js';
import type { RunSummary } from '../src/core/types.js';
import { batchCustomId } from '../src/providers/batch.js';
import { ensureCliBuilt, runCli } from './support/cli.js';
import { mountBatchApi, type MockBatchApi } from './support/mock-batch.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { png } from './support/png.js';
import { arithmeticResponder, createProject, type TestProject } from './support/project.js';

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
  server.script(arithmeticResponder({ hardWrongEvery: 3 }));
});

const CASES = 12;
const fast = { wait: true, pollIntervalMs: 1 };
/** Chat requests the engine made itself, not the mock batch worker answering batch items. */
const directCalls = (s: MockLlmServer) => s.requests.filter((r) => r.headers['x-mock-batch'] === undefined && (r.api === 'openai' || r.api === 'anthropic'));
const batchWorkerCalls = (s: MockLlmServer) => s.requests.filter((r) => r.headers['x-mock-batch'] !== undefined);

function caseOf(entry: { messages: Array<{ content: unknown }> }): string {
  const text = entry.messages.map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content))).join(' ');
  const a = /What is (\d+) \+ 7\?/.exec(text);
  if (!a) throw new Error(`unexpected request: ${text}`);
  return `c${a[1]!.padStart(3, '0')}`;
}

const verdicts = (r: RunResult) => r.summary.tiers.map((t) => ({ tier: t.tier, pass: t.pass, passRate: t.passRate, baselinePassRate: t.baselinePassRate, cases: t.cases }));

/**
 * What the run was billed for a model's calls, from the stored per-call cost. (The summary's model costs
 * are the routing's list-price projection — production traffic is not batched — so they do not halve.)
 */
function billedOf(r: RunResult, model: string): number {
  const db = new Database(r.dbFile, { readonly: true });
  const row = db.prepare('select sum(cost_usd) c, count(cost_usd) n from responses where run_id = ? and model_key = ?').get(r.runId, model) as { c: number; n: number };
  db.close();
  expect(row.n).toBe(CASES);
  return row.c;
}

/** Every case goes to the cheap model, which misses some hard ones: a verdict with a failing tier. */
const ALL_CHEAP = '  - { name: all-cheap, when: { task: arithmetic }, tier: cheap }\n  - { tier: frontier }';

async function directRun(): Promise<RunResult> {
  const p = createProject(server, { cases: CASES, rules: ALL_CHEAP });
  return run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, db: p.dbFile });
}

function batchRun(p: TestProject, extra: Partial<Parameters<typeof run>[0]> = {}) {
  return run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, db: p.dbFile, batch: fast, ...extra });
}

describe('run --batch', () => {
  it('sends every call of both providers through their Batch APIs at half the price, with the direct verdict', async () => {
    const direct = await directRun();
    server.reset();

    const p = createProject(server, { cases: CASES, rules: ALL_CHEAP });
    const events: BatchStatusEvent[] = [];
    const batched = await batchRun(p, { onBatchStatus: (e) => events.push(e), maxCostUsd: 100 });

    expect(directCalls(server)).toHaveLength(0);
    // 12 baseline calls on big (OpenAI format), the same 12 cases on small (Anthropic format).
    expect([...api.batches.values()].map((b) => [b.api, b.items.length]).sort()).toEqual([
      ['anthropic', 12],
      ['openai', 12],
    ]);
    expect(batchWorkerCalls(server)).toHaveLength(24);
    expect(events.filter((e) => e.kind === 'submitted')).toHaveLength(2);

    expect(direct.exitCode).toBe(1);
    expect(batched.exitCode).toBe(direct.exitCode);
    expect(batched.summary.status).toBe('complete');
    expect(verdicts(batched)).toEqual(verdicts(direct));
    expect(verdicts(batched).some((v) => v.passRate < 1)).toBe(true);
    for (const model of ['big', 'small']) {
      expect(billedOf(direct, model)).toBeGreaterThan(0);
      expect(billedOf(batched, model)).toBeCloseTo(billedOf(direct, model) / 2, 12);
    }
    // Batch answers count against --max-cost at what they were billed.
    expect(batched.summary.costCap!.spentUsd).toBeCloseTo(billedOf(batched, 'big') + billedOf(batched, 'small'), 12);
    // The routing's cost projection stays at list price.
    expect(batched.summary.cost).toEqual(direct.summary.cost);

    const db = new Database(batched.dbFile, { readonly: true });
    expect(db.prepare('select status, count(*) n from batches group by status').all()).toEqual([{ status: 'collected', n: 2 }]);
    expect(db.prepare('select count(*) n from responses where attempts = 1 and cached = 0').get()).toEqual({ n: 24 });
    db.close();
  });

  it('keeps an item over the API\'s attachment limits out of the batch: its direct call refuses it before any request', async () => {
    const p = createProject(server, { cases: CASES, rules: ALL_CHEAP });
    // c000 carries a 5 MB image: within OpenAI's 20 MB, over Anthropic's 5 MB (small is Anthropic-format).
    writeFileSync(join(p.suiteDir, 'huge.png'), Buffer.concat([png(30, 20), Buffer.alloc(5 * 1024 * 1024)]));
    p.write('suites/arith/cases.jsonl', readFileSync(join(p.suiteDir, 'cases.jsonl'), 'utf8').replace('"id":"c000",', '"id":"c000","attachments":["huge.png"],'));
    const batched = await batchRun(p);

    const items = (model: 'openai' | 'anthropic') => [...api.batches.values()].filter((b) => b.api === model).flatMap((b) => b.items.map((i) => i.customId));
    expect(items('openai')).toContain(batchCustomId('c000', 0));
    expect(items('anthropic')).not.toContain(batchCustomId('c000', 0));
    expect(items('anthropic')).toHaveLength(CASES - 1);
    // Nor was it sent directly: the provider refused it with the reason, as a direct run would.
    expect(directCalls(server)).toHaveLength(0);
    const small = batched.results.find((r) => r.caseId === 'c000')!.candidate;
    expect(small.error).toMatchObject({ kind: 'bad_request', message: expect.stringMatching(/attachment huge\.png is 5\.0 MB, over the anthropic limit of 5\.0 MB per image/) });
  });

  it('calls exactly the items a batch failed directly afterwards, losing nothing', async () => {
    const failed = ['c001', 'c004', 'c010'];
    api.setFaults({ failIds: failed.map((id) => batchCustomId(id, 0)) });
    const p = createProject(server, { cases: CASES });
    const result = await batchRun(p);

    const direct = directCalls(server);
    // c004 and c010 are easy: failed on both models' batches; c001 is hard: baseline only.
    expect(direct.map((r) => `${r.model}:${caseOf(r)}`).sort()).toEqual(['big-1:c001', 'big-1:c004', 'big-1:c010', 'small-1:c004', 'small-1:c010']);
    expect(result.summary.status).toBe('complete');
    expect(result.summary.errors).toBeUndefined();
    expect(result.results).toHaveLength(CASES);
    const db = new Database(result.dbFile, { readonly: true });
    expect(db.prepare('select count(*) n from responses where error_kind is null').get()).toEqual({ n: 18 });
    db.close();
  });

  it('--no-wait leaves the run running without a verdict; batch collect finishes it with the same verdict', async () => {
    const direct = await directRun();
    server.reset();

    const p = createProject(server, { cases: CASES, rules: ALL_CHEAP });
    const detached = await batchRun(p, { batch: { wait: false } });
    expect(detached.exitCode).toBe(3);
    expect(detached.summary).toMatchObject({ status: 'running', pass: false, tiers: [] });
    expect(detached.pendingBatches?.map((b) => b.modelKey).sort()).toEqual(['big', 'small']);
    expect(directCalls(server)).toHaveLength(0);
    let db = new Database(detached.dbFile, { readonly: true });
    expect(db.prepare('select status from runs where id = ?').get(detached.runId)).toEqual({ status: 'running' });
    expect(db.prepare('select count(*) n from responses').get()).toEqual({ n: 0 });
    db.close();

    const collected = await collectRun({ runId: detached.runId, db: p.dbFile, cwd: p.dir, env: p.env, pollIntervalMs: 1 });
    expect(collected.runId).toBe(detached.runId);
    expect(collected.summary.status).toBe('complete');
    expect(verdicts(collected)).toEqual(verdicts(direct));
    expect(collected.exitCode).toBe(direct.exitCode);
    expect(directCalls(server)).toHaveLength(0);
    expect(api.batches.size).toBe(2);
    db = new Database(detached.dbFile, { readonly: true });
    expect(db.prepare("select count(*) n from batches where status = 'collected'").get()).toEqual({ n: 2 });
    db.close();

    await expect(collectRun({ runId: detached.runId, db: p.dbFile, cwd: p.dir, env: p.env })).rejects.toThrow(/already complete/);
  });

  it('a rerun after a batch run is served from the cache: no batch, no call', async () => {
    const p = createProject(server, { cases: CASES });
    const first = await batchRun(p);
    server.reset();
    api.reset();
    const second = await batchRun(p);
    expect(server.requests).toHaveLength(0);
    expect(api.batches.size).toBe(0);
    expect(verdicts(second)).toEqual(verdicts(first));
  });

  it('falls back to direct calls when the endpoint has no Batch API', async () => {
    const plain = await startMockLlmServer();
    try {
      plain.script(arithmeticResponder({ hardWrongEvery: 3 }));
      const p = createProject(plain, { cases: CASES });
      const events: BatchStatusEvent[] = [];
      const result = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, db: p.dbFile, batch: fast, onBatchStatus: (e) => events.push(e) });
      expect(events.filter((e) => e.kind === 'fallback').map((e) => e.modelKey).sort()).toEqual(['big', 'small']);
      expect(result.summary.status).toBe('complete');
      expect(directCalls(plain)).toHaveLength(18);
    } finally {
      await plain.close();
    }
  });
});

describe('the CLI: run --batch --no-wait, then batch collect', () => {
  beforeAll(() => {
    ensureCliBuilt();
  }, 120_000);

  it('exits 3 with the collect command, then collect exits with the verdict and writes the JSON', async () => {
    const p = createProject(server, { cases: CASES, rules: ALL_CHEAP });
    // --allow-path (harmless here) must be carried into the collect command printed, which resumes the run.
    const first = await runCli(['run', p.suiteDir, '--db', p.dbFile, '--batch', '--no-wait', '--allow-path', p.dir], { cwd: p.dir, env: p.env });
    expect(first.status).toBe(3);
    const runId = /evalroute batch collect (\S+)/.exec(first.stderr)?.[1];
    expect(runId, first.stderr).toBeDefined();
    expect(first.stderr).toContain(`collect within 24 h with: evalroute batch collect ${runId} --db ${p.dbFile} --allow-path ${p.dir}\n`);
    expect(first.stderr).toMatch(/batch \S+ submitted for model "big": 12 requests/);
    expect(directCalls(server)).toHaveLength(0);

    const out = join(p.dir, 'out.json');
    const second = await runCli(['batch', 'collect', runId!, '--db', p.dbFile, '--json', out, '--poll-interval', '1'], { cwd: p.dir, env: p.env });
    expect(second.status, second.stderr).toBe(1);
    expect(second.stderr).toMatch(/collected for model "small": 12 answered/);
    const summary = JSON.parse(readFileSync(out, 'utf8')) as RunSummary;
    expect(summary).toMatchObject({ runId, status: 'complete', pass: false });
    expect(directCalls(server)).toHaveLength(0);
  }, 60_000);
});
