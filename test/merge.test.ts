import Database from 'better-sqlite3';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { run, type RunResult } from '../src/api/run.js';
import { recomputeSummary } from '../src/api/merge.js';
import { mergeCommand } from '../src/cli/merge-command.js';
import { loadStoredRouting } from '../src/config/load.js';
import { StoreError, UsageError } from '../src/core/errors.js';
import type { CaseResult } from '../src/core/types.js';
import { inShard } from '../src/engine/shard.js';
import { mergeStores } from '../src/store/merge.js';
import { storedRunResults } from './support/store-run.js';
import { openStore } from '../src/store/sqlite-store.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject, type TestProject } from './support/project.js';

const CASES = 60;
const SHARDS = 3;
// Every case goes to the cheap tier, whose model gets every 3rd hard case wrong: a failing tier with
// a non-trivial interval and p-value, so "same verdict" compares real numbers.
const RULES = '  - { name: all-cheap, when: { task: arithmetic }, tier: cheap }\n  - { tier: frontier }';

let server: MockLlmServer;
let tmp: string;
beforeAll(async () => {
  server = await startMockLlmServer();
  tmp = mkdtempSync(join(tmpdir(), 'evalroute-merge-test-'));
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  server.script(arithmeticResponder({ hardWrongEvery: 3 }));
});

/** A project whose suite holds only the cases of shard `index` of `SHARDS` (what `--shard i/n` will select). */
function shardProject(index: number): TestProject {
  const p = createProject(server, { cases: CASES, rules: RULES });
  for (const rel of ['suites/arith/cases.jsonl', 'goldens/arith.jsonl']) {
    const lines = readFileSync(join(p.dir, rel), 'utf8').trim().split('\n');
    const mine = lines.filter((l) => inShard((JSON.parse(l) as { id: string }).id, { index, count: SHARDS }));
    p.write(rel, `${mine.join('\n')}\n`);
  }
  return p;
}

async function runShards(): Promise<{ projects: TestProject[]; results: RunResult[] }> {
  const projects = Array.from({ length: SHARDS }, (_, i) => shardProject(i + 1));
  const results: RunResult[] = [];
  for (const p of projects) results.push(await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env }));
  return { projects, results };
}

const byId = (a: CaseResult, b: CaseResult) => (a.caseId < b.caseId ? -1 : 1);
const counts = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return ['runs', 'run_cases', 'responses', 'grades'].map((t) => db.prepare(`SELECT count(*) FROM ${t}`).pluck().get());
  } finally {
    db.close();
  }
};
const quietly = async <T>(fn: () => Promise<T>): Promise<T> => {
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    return await fn();
  } finally {
    spy.mockRestore();
  }
};

describe('merging shard stores', () => {
  it('gives the same verdict as one unsharded run, and merging again adds nothing', async () => {
    const full = createProject(server, { cases: CASES, rules: RULES });
    const unsharded = await run({ suiteDir: full.suiteDir, cwd: full.dir, env: full.env });
    server.reset();
    const { projects, results } = await runShards();

    // The shards split the suite: disjoint, covering, each call made once overall.
    const shardCases = results.map((r) => r.results.map((c) => c.caseId));
    expect(shardCases.every((ids) => ids.length > 0)).toBe(true);
    expect(shardCases.flat().sort()).toEqual(unsharded.results.map((r) => r.caseId).sort());
    expect(new Set(shardCases.flat()).size).toBe(CASES);
    expect(server.requests).toHaveLength(CASES * 2);

    const out = join(tmp, 'merged.db');
    const merged = mergeStores(projects.map((p) => p.dbFile), out, { expectShards: SHARDS });
    expect(merged.runsAdded).toBe(SHARDS);
    expect(merged.merged).toHaveLength(1);
    const m = merged.merged[0]!;
    expect(m).toMatchObject({ suite: 'arith', status: 'complete', cases: CASES, calls: CASES * 2, change: 'created' });
    expect(m.sources.map((s) => s.runId).sort()).toEqual(results.map((r) => r.runId).sort());

    const store = openStore(out);
    try {
      const pairs = storedRunResults(store, m.id, loadStoredRouting(store.getRun(m.id)!).tiers).sort(byId);
      const expected = [...unsharded.results].sort(byId);
      expect(pairs.map((r) => [r.caseId, r.tier, r.baseline.modelKey, r.candidate.modelKey, r.baseline.pass, r.candidate.pass])).toEqual(
        expected.map((r) => [r.caseId, r.tier, r.baseline.modelKey, r.candidate.modelKey, r.baseline.pass, r.candidate.pass]),
      );
      const summary = recomputeSummary(store, store.getRun(m.id)!);
      expect(summary.status).toBe('complete');
      const cheap = unsharded.summary.tiers.find((t) => t.tier === 'cheap')!;
      expect(cheap.pass).toBe(false);
      expect(cheap.ci).toBeDefined();
      expect(summary.pass).toBe(unsharded.summary.pass);
      expect(summary.tiers).toHaveLength(unsharded.summary.tiers.length);
      summary.tiers.forEach((t, i) => expect(t).toMatchObject(unsharded.summary.tiers[i]!));
      expect(summary.models).toEqual(unsharded.summary.models.map((u) => expect.objectContaining({ model: u.model, calls: u.calls, errors: u.errors, inputTokens: u.inputTokens, outputTokens: u.outputTokens })));
      // storedRunResults reads an ordinary run the way run() built it.
      expect(storedRunResults(store, results[0]!.runId, loadStoredRouting(store.getRun(results[0]!.runId)!).tiers).sort(byId).map((r) => r.caseId)).toEqual(shardCases[0]!.sort());
    } finally {
      store.close();
    }

    const before = counts(out);
    const again = mergeStores(projects.map((p) => p.dbFile), out);
    expect(again).toMatchObject({ runsAdded: 0, runsUpdated: 0, callsAdded: 0 });
    expect(again.merged.map((x) => [x.id, x.change])).toEqual([[m.id, 'unchanged']]);
    // The same file given twice under one command is one input.
    const twice = mergeStores([projects[0]!.dbFile, projects[0]!.dbFile, projects[1]!.dbFile, projects[2]!.dbFile], out);
    expect(twice.merged.map((x) => x.change)).toEqual(['unchanged']);
    expect(counts(out)).toEqual(before);
  });

  it('stores the recomputed verdict so `show` gates the merged run like any run', async () => {
    const { projects } = await runShards();
    const out = join(tmp, 'show.db');
    await quietly(() => mergeCommand(projects.map((p) => p.dbFile), { output: out, shards: SHARDS }));
    const store = openStore(out, { readonly: true });
    const latest = store.getRun('latest')!;
    store.close();
    expect(latest.id).toMatch(/^m\d{8}-\d{6}-[0-9a-f]{8}$/);
    expect(latest.summary).toMatchObject({ runId: latest.id, status: 'complete', pass: false });
    expect(latest.summary!.tiers.find((t) => t.tier === 'cheap')!.cases).toBe(CASES);
    const { showCommand } = await import('../src/cli/history-commands.js');
    const code = await quietly(async () => showCommand('latest', { db: out }));
    expect(code).toBe(1);
  });

  it('marks the merged run incomplete when one shard is, and fails its gate', async () => {
    const projects = Array.from({ length: SHARDS }, (_, i) => shardProject(i + 1));
    const statuses: string[] = [];
    for (const [i, p] of projects.entries()) {
      if (i === 1) server.failNext(1, 'error401');
      statuses.push((await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, maxErrorRate: 0 })).summary.status);
    }
    expect(statuses).toEqual(['complete', 'incomplete', 'complete']);
    const out = join(tmp, 'incomplete.db');
    await quietly(() => mergeCommand(projects.map((p) => p.dbFile), { output: out }));
    const store = openStore(out, { readonly: true });
    const merged = store.getRun('latest')!;
    store.close();
    expect(merged.status).toBe('incomplete');
    expect(merged.summary).toMatchObject({ status: 'incomplete', pass: false });
    expect(merged.summary!.models.reduce((n, x) => n + x.errors, 0)).toBe(1);
  });

  it('rejects overlapping shards, a missing shard and a run id whose content differs, leaving the output untouched', async () => {
    const { projects } = await runShards();
    const dbs = projects.map((p) => p.dbFile);

    const missing = join(tmp, 'missing.db');
    expect(() => mergeStores(dbs.slice(0, 2), missing, { expectShards: SHARDS })).toThrow(UsageError);
    expect(() => mergeStores(dbs.slice(0, 2), missing, { expectShards: SHARDS })).toThrow(/expected 3 shard runs, found 2/);

    // A copy of shard 1 with a second run of the full suite: its latest run overlaps the other shards.
    const whole = createProject(server, { cases: CASES, rules: RULES });
    const overlapDb = join(tmp, 'overlap-src.db');
    copyFileSync(dbs[0]!, overlapDb);
    await run({ suiteDir: whole.suiteDir, cwd: whole.dir, env: whole.env, db: overlapDb });
    const overlapOut = join(tmp, 'overlap.db');
    expect(() => mergeStores([overlapDb, dbs[1]!], overlapOut)).toThrow(StoreError);
    expect(() => mergeStores([overlapDb, dbs[1]!], overlapOut)).toThrow(/case "c\d+" is in shard runs .* must not overlap/);

    const out = join(tmp, 'conflict.db');
    mergeStores(dbs, out);
    const before = counts(out);

    // Same run id, one call answered a different request.
    const tampered = join(tmp, 'tampered.db');
    copyFileSync(dbs[0]!, tampered);
    const t = new Database(tampered);
    const row = t.prepare("SELECT run_id, case_id, model_key FROM responses WHERE model_key = 'small' LIMIT 1").get() as { run_id: string; case_id: string; model_key: string };
    t.prepare("UPDATE responses SET request_hash = 'ffffffffffffffff' WHERE run_id = ? AND case_id = ? AND model_key = ?").run(row.run_id, row.case_id, row.model_key);
    t.close();
    let err: unknown;
    try {
      mergeStores([tampered], out);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toContain(`run ${row.run_id}, case "${row.case_id}", model "small", repeat 0`);
    expect((err as Error).message).toContain('ffffffffffff');
    expect(counts(out)).toEqual(before);

    // Same run id, another routing file.
    const rerouted = join(tmp, 'rerouted.db');
    copyFileSync(dbs[1]!, rerouted);
    const r = new Database(rerouted);
    r.prepare("UPDATE runs SET routing_hash = 'abc'").run();
    r.close();
    expect(() => mergeStores([rerouted], out)).toThrow(/run r\S+ is in the inputs \(.*rerouted\.db\) and in .*conflict\.db with different content \(routing_hash differ\)/);
    expect(counts(out)).toEqual(before);
    expect(existsSync(join(tmp, 'never.db'))).toBe(false);
    expect(() => mergeStores([], join(tmp, 'never.db'))).toThrow(UsageError);
    expect(() => mergeStores([out], out)).toThrow(/both an input and the output/);
  });

  it('takes the newer state of a run that was resumed to completion in one of the inputs', async () => {
    const p = shardProject(1);
    server.failNext(2, 'error401');
    const first = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, maxErrorRate: 0 });
    expect(first.summary.status).toBe('incomplete');
    const snapshot = join(tmp, 'before-resume.db');
    copyFileSync(p.dbFile, snapshot);
    const out = join(tmp, 'resume.db');
    mergeStores([snapshot], out);

    // The interrupted run is resumed: its errored calls are redone under the same run id.
    const store = openStore(p.dbFile);
    const failed = store.getCalls(first.runId).filter((o) => o.error);
    expect(failed).toHaveLength(2);
    store.close();
    const resumed = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, maxErrorRate: 0, resume: first.runId });
    expect(resumed.runId).toBe(first.runId);
    expect(resumed.summary.status).toBe('complete');

    const merged = mergeStores([p.dbFile], out);
    expect(merged.runsUpdated).toBe(1);
    expect(merged.merged[0]).toMatchObject({ status: 'complete', change: 'updated' });
    const check = openStore(out, { readonly: true });
    try {
      expect(check.getRun(first.runId)!.status).toBe('complete');
      expect(check.getCalls(first.runId).filter((o) => o.error)).toHaveLength(0);
      expect(check.getCalls(first.runId)).toHaveLength(check.getCases(first.runId).length * 2);
    } finally {
      check.close();
    }
  });

  it('carries every input\'s cached judge answers over, so the merged store re-grades judge graders like the shards', async () => {
    const { projects } = await runShards();
    const answer = (i: number) => ({ text: `{"score": ${i}}`, usage: { input: 10, output: 3 }, latencyMs: 1 });
    projects.forEach((p, i) => {
      const store = openStore(p.dbFile);
      try {
        store.cacheCompletion(`judge-request-${i}`, answer(i));
      } finally {
        store.close();
      }
    });
    const out = join(tmp, 'judged.db');
    mergeStores(projects.map((p) => p.dbFile), out);
    const check = openStore(out, { readonly: true });
    try {
      projects.forEach((_p, i) => expect(check.findCachedCompletion(`judge-request-${i}`)).toMatchObject(answer(i)));
    } finally {
      check.close();
    }
  });
});
