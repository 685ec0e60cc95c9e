/**
 * `run --shard i/n` in n jobs, then `merge`, must give the verdict one unsharded run gives: the same
 * tiers (all repeats counted, with the same repeat policy), the same budgets (from the routing file and
 * the shards' --monthly-requests) and the same exit code from `show`. Everything through the real CLI.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../src/core/types.js';
import { ensureCliBuilt, runCli } from './support/cli.js';
import { startMockLlmServer, type MockLlmServer, type MockRequest } from './support/mock-llm-server.js';
import { createProject } from './support/project.js';

const SHARDS = 3;

/**
 * The big model is always right; the small one gets the first sample of each question wrong and the
 * later ones right. With --repeat 3 and the majority policy every small-model case passes; a verdict
 * that read only repeat 0 would fail them all. Calls are made one at a time per model
 * (--concurrency 1), so a question's first sample is its repeat 0.
 */
function firstSampleWrong() {
  const seen = new Map<string, number>();
  return {
    reset: () => seen.clear(),
    respond: (req: MockRequest): string => {
      const m = /What is (\d+) \+ (\d+)\?/.exec(req.lastUserText);
      if (!m) return 'I do not know';
      const sum = Number(m[1]) + Number(m[2]);
      const key = `${req.model}|${req.lastUserText}`;
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      return String(req.model === 'small-1' && n === 1 ? sum + 1 : sum);
    },
  };
}

let server: MockLlmServer;
const answers = firstSampleWrong();
beforeAll(async () => {
  ensureCliBuilt();
  server = await startMockLlmServer({ responder: answers.respond });
}, 180_000);
afterAll(() => server.close());

const verdictOf = (s: RunSummary) => ({
  status: s.status,
  pass: s.pass,
  tiers: s.tiers,
  budgets: s.budgets,
  // The merged run lists its cases shard by shard; the flaky list follows case order, so compare it as a set.
  repeats: s.repeats && { ...s.repeats, flaky: [...s.repeats.flaky].sort((a, b) => a.caseId.localeCompare(b.caseId)) },
  projection: s.cost?.projection,
});

describe('run --shard + merge', () => {
  it('gives the unsharded verdict, budgets and repeats included, and the same exit code', async () => {
    const p = createProject(server, { cases: 24 });
    // A budget the routed traffic exceeds: the gate must fail on it, sharded or not.
    p.write('routing.yaml', `${readFileSync(p.routingFile, 'utf8')}budgets:\n  - { useCase: arithmetic, usdPerMonth: 1 }\n`);
    const flags = ['--repeat', '3', '--concurrency', '1', '--monthly-requests', '1000000'];
    const out = mkdtempSync(join(tmpdir(), 'evalroute-shard-cli-'));

    answers.reset();
    const whole = await runCli(['run', p.suiteDir, ...flags, '--db', join(out, 'whole.db'), '--json', join(out, 'whole.json')], { cwd: p.dir, env: p.env });
    expect(whole.status, whole.stderr).toBe(1);
    const unsharded = JSON.parse(readFileSync(join(out, 'whole.json'), 'utf8')) as RunSummary;
    expect(unsharded.budgets?.some((b) => b.status === 'fail')).toBe(true);
    // Every small-model case flipped across its samples: the verdict depends on reading all of them.
    expect(unsharded.repeats?.flaky.filter((f) => f.model === 'small')).toHaveLength(12);

    answers.reset();
    const shardDbs: string[] = [];
    for (let i = 1; i <= SHARDS; i++) {
      const db = join(out, `shard-${i}.db`);
      shardDbs.push(db);
      const shard = await runCli(['run', p.suiteDir, ...flags, '--shard', `${i}/${SHARDS}`, '--db', db], { cwd: p.dir, env: p.env });
      expect([0, 1], shard.stderr).toContain(shard.status);
    }
    const merged = await runCli(['merge', ...shardDbs, '-o', join(out, 'merged.db'), '--shards', String(SHARDS), '--json'], { cwd: p.dir, env: p.env });
    expect(merged.status, merged.stderr).toBe(0);
    const mergedResult = JSON.parse(merged.stdout) as { merged: { id: string; cases: number }[]; summaries: RunSummary[] };
    expect(mergedResult.merged).toHaveLength(1);
    expect(mergedResult.merged[0]!.cases).toBe(24);

    const show = await runCli(['show', mergedResult.merged[0]!.id, '--db', join(out, 'merged.db'), '--json'], { cwd: p.dir, env: p.env });
    const mergedSummary = JSON.parse(show.stdout) as RunSummary;
    expect(verdictOf(mergedSummary)).toEqual(verdictOf(unsharded));
    expect(show.status).toBe(whole.status);
  }, 240_000);
});
