/**
 * `run --sequential` end to end: the real CLI, the real SDKs against the mock LLM server, a real SQLite
 * store. A clear regression stops at the first look, an equal tier passes before its last look, fewer
 * calls are made than by the fixed run, the verdicts agree with the fixed run's, and the stored results
 * replay to the same verdicts.
 */
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary, TierVerdict } from '../src/core/types.js';
import { run } from '../src/api/run.js';
import { replayLooks, sequentialOrder } from '../src/gate/sequential.js';
import { loadRouting, loadConfig } from '../src/config/load.js';
import { openStore } from '../src/store/sqlite-store.js';
import { storedRunResults } from './support/store-run.js';
import { ensureCliBuilt, runCli } from './support/cli.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject, type TestProject } from './support/project.js';

let server: MockLlmServer;

beforeAll(async () => {
  ensureCliBuilt();
  // The small model is right on easy (even) cases and wrong on every hard (odd) one.
  server = await startMockLlmServer({ responder: arithmeticResponder() });
}, 180_000);
afterAll(async () => {
  await server.close();
});

/** 400 cases: easy ones go to `cheap` (equal to the baseline), hard ones to `risky` (−100 pts). */
function project(): TestProject {
  const p = createProject(server, { cases: 400 });
  p.write(
    'routing.yaml',
    `baseline: big
tiers:
  cheap: { model: small }
  risky: { model: small }
  frontier: { model: big }
rules:
  - { name: easy, when: { tags: [easy] }, tier: cheap }
  - { name: hard, when: { tags: [hard] }, tier: risky }
  - { tier: frontier }
`,
  );
  return p;
}

const tier = (s: RunSummary, name: string): TierVerdict => s.tiers.find((t) => t.tier === name)!;

describe('run --sequential (real CLI, mock API)', () => {
  it('stops each tier once decided, makes fewer calls than the fixed run, and agrees with its verdicts', async () => {
    const fixed = project();
    const before = server.requests.length;
    const fixedRun = await runCli(['run', fixed.suiteDir, '--json', join(fixed.dir, 'out.json')], { cwd: fixed.dir, env: fixed.env });
    const fixedCalls = server.requests.length - before;
    expect(fixedCalls).toBe(800);

    const seq = project();
    const start = server.requests.length;
    const seqRun = await runCli(['run', seq.suiteDir, '--sequential', '--json', join(seq.dir, 'out.json')], { cwd: seq.dir, env: seq.env });
    const seqCalls = server.requests.length - start;
    const summary = JSON.parse(readFileSync(join(seq.dir, 'out.json'), 'utf8')) as RunSummary;
    const fixedSummary = JSON.parse(readFileSync(join(fixed.dir, 'out.json'), 'utf8')) as RunSummary;

    const risky = tier(summary, 'risky');
    const cheap = tier(summary, 'cheap');
    // −100 pts: FAIL at the first of 5 looks, on 40 of the 200 hard cases.
    expect(risky.sequential).toEqual({ look: 1, looks: 5, casesUsed: 40, casesRouted: 200 });
    expect(risky.outcome).toBe('fail');
    expect(risky.headline).toMatch(/\(stopped at look 1 of 5, on 40 of 200 cases\)$/);
    expect(risky.reasons.join('\n')).toMatch(/stopped early at look 1 of 5, on 40 of 200 routed cases/);
    // Equal to the baseline: PASS before the last look.
    expect(cheap.outcome).toBe('pass');
    expect(cheap.sequential!.look).toBeLessThan(5);
    expect(cheap.cases).toBe(cheap.sequential!.casesUsed);
    // Every call made is one the looks needed: two per case used (baseline + tier model).
    expect(seqCalls).toBe(2 * (risky.sequential!.casesUsed + cheap.sequential!.casesUsed));
    expect(seqCalls).toBeLessThanOrEqual(fixedCalls / 2);
    expect(seqRun.stderr).toMatch(/400 cases, up to 800 calls in 5 looks/);
    expect(summary.sequential).toMatchObject({ looks: 5, passBoundary: 'obrien-fleming', failBoundary: 'pocock' });

    // The same conclusions as the fixed run, and the same exit code.
    expect(seqRun.status).toBe(fixedRun.status);
    expect(seqRun.status).toBe(1);
    expect(summary.outcome).toBe(fixedSummary.outcome);
    for (const name of ['cheap', 'risky']) expect(tier(summary, name).outcome).toBe(tier(fixedSummary, name).outcome);

    // Re-deciding the stored results with the stored design gives the stored verdicts.
    const store = openStore(join(seq.dir, '.evalroute/test.db'));
    try {
      const stored = store.getRun(summary.runId)!;
      const routing = loadRouting(seq.routingFile, loadConfig(seq.configFile, { cwd: seq.dir }));
      const results = storedRunResults(store, summary.runId, routing.tiers);
      const cases = store.getCases(summary.runId);
      const order = sequentialOrder(
        cases.map((c) => c.caseId),
        new Map(cases.map((c) => [c.caseId, c.tier])),
        stored.summary!.sequential!.seed,
      );
      const replay = replayLooks({ routing, design: stored.summary!.sequential!, order, results });
      expect(replay.pending).toEqual([]);
      for (const v of replay.verdicts) {
        const s = tier(summary, v.tier);
        expect({ outcome: v.outcome, headline: v.headline, sequential: v.sequential, ci: v.ci, reasons: v.reasons }).toEqual({
          outcome: s.outcome,
          headline: s.headline,
          sequential: s.sequential,
          ci: s.ci,
          reasons: s.reasons,
        });
      }
    } finally {
      store.close();
    }
  }, 120_000);

  it('an interrupted sequential run resumes with its stored design, repeats no call, and reaches the same verdicts', async () => {
    const reference = project();
    const refResult = await run({ suiteDir: reference.suiteDir, cwd: reference.dir, env: reference.env, sequential: {} });

    const p = project();
    const controller = new AbortController();
    let seen = 0;
    const first = await run({
      suiteDir: p.suiteDir,
      cwd: p.dir,
      env: p.env,
      sequential: {},
      concurrency: 1,
      signal: controller.signal,
      // Stop in the middle of the first stage.
      onProgress: () => {
        if (++seen === 30) controller.abort();
      },
    });
    expect(first.summary.status).toBe('interrupted');
    expect(first.exitCode).toBe(3);
    const madeBefore = storedPairs(p);
    expect(madeBefore.length).toBeGreaterThan(0);

    const start = server.requests.length;
    // No --sequential on the resume: the stored design is used.
    const resumed = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, resume: true });
    // (A request the abort cut off may reach the mock's log late, so calls are compared by (case, model).)
    const resumedPairs = server.requests.slice(start).map((r) => `c${/What is (\d+) \+/.exec(r.messages.at(-1)?.content ?? '')?.[1]?.padStart(3, '0')}|${r.model.replace(/-1$/, '')}`);
    expect(resumed.summary.status).toBe('complete');
    expect(resumed.summary.sequential).toEqual(refResult.summary.sequential);
    expect(resumedPairs.filter((pair) => madeBefore.includes(pair))).toEqual([]);
    expect(storedPairs(p).sort()).toEqual(storedPairs(reference).sort());
    const view = (s: RunSummary) => s.tiers.map((t) => ({ tier: t.tier, outcome: t.outcome, ci: t.ci, sequential: t.sequential }));
    expect(view(resumed.summary)).toEqual(view(refResult.summary));
  }, 120_000);

  it('refuses --sequential with --shard or --batch, before any call (exit 2)', async () => {
    const p = project();
    const start = server.requests.length;
    const sharded = await runCli(['run', p.suiteDir, '--sequential', '--shard', '1/2'], { cwd: p.dir, env: p.env });
    expect(sharded.status).toBe(2);
    expect(sharded.stderr).toMatch(/--sequential cannot be combined with --shard/);
    const batched = await runCli(['run', p.suiteDir, '--sequential', '--batch'], { cwd: p.dir, env: p.env });
    expect(batched.status).toBe(2);
    expect(batched.stderr).toMatch(/--sequential cannot be combined with --batch/);
    const looks = await runCli(['run', p.suiteDir, '--sequential', '--looks', '1'], { cwd: p.dir, env: p.env });
    expect(looks.status).toBe(2);
    expect(looks.stderr).toMatch(/--looks must be a whole number from 2 to 10, got 1/);
    expect(server.requests.length).toBe(start);
  }, 60_000);
});

/** `c017|big` for every call stored with an answer. */
function storedPairs(p: TestProject): string[] {
  const db = new Database(join(p.dir, '.evalroute/test.db'), { readonly: true });
  try {
    const rows = db.prepare('select case_id, model_key from responses where text is not null').all() as { case_id: string; model_key: string }[];
    return rows.map((r) => `${r.case_id}|${r.model_key}`);
  } finally {
    db.close();
  }
}
