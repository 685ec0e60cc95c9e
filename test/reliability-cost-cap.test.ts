/** `--max-cost`: the cap holds before calls are made, unmade calls stay unmade (not errors) and resume. */
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/api/run.js';
import { UsageError } from '../src/core/errors.js';
import type { RunSummary } from '../src/core/types.js';
import { estimateRequestTokens, maxOutputTokens } from '../src/engine/cost-cap.js';
import { ensureCliBuilt, runCli } from './support/cli.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject } from './support/project.js';

let server: MockLlmServer;
beforeAll(async () => {
  ensureCliBuilt();
  server = await startMockLlmServer({ responder: arithmeticResponder() });
});
afterAll(() => server.close());

function pairsIn(dbFile: string): string[] {
  const db = new Database(dbFile, { readonly: true });
  const rows = db.prepare('select case_id, model_key, error_kind from responses').all() as { case_id: string; model_key: string; error_kind: string | null }[];
  db.close();
  expect(rows.filter((r) => r.error_kind !== null)).toEqual([]);
  return rows.map((r) => `${r.case_id}|${r.model_key}`);
}

const pairOf = (r: MockLlmServer['requests'][number]) =>
  `c${String(/What is (\d+) \+/.exec(r.messages.at(-1)?.content ?? '')?.[1]).padStart(3, '0')}|${r.model.replace(/-1$/, '')}`;

describe('cost estimates', () => {
  it('bounds output by max_completion_tokens / max_tokens, else 1024, and counts prompt tokens', async () => {
    expect(maxOutputTokens({ max_tokens: 16 })).toBe(16);
    expect(maxOutputTokens({ max_completion_tokens: 64, max_tokens: 16 })).toBe(64);
    expect(maxOutputTokens({ temperature: 0 })).toBe(1024);
    const est = await estimateRequestTokens({ caseId: 'x', repeat: 0, params: {}, messages: [{ role: 'user', content: 'hello world, how are you today?' }] });
    expect(est.input).toBeGreaterThan(6);
    expect(est.input).toBeLessThan(20);
    expect(est.output).toBe(1024);
  });
});

describe('--max-cost', () => {
  it('stops before the cap, stores nothing for unmade calls, and a resume with a higher cap finishes the run', async () => {
    server.reset();
    const p = createProject(server, { cases: 60 });
    const cap = 0.004;
    const capped = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, maxCostUsd: cap });

    expect(capped.exitCode).toBe(3);
    expect(capped.summary.status).toBe('incomplete');
    const c = capped.summary.costCap!;
    expect(c.capUsd).toBe(cap);
    expect(c.spentUsd).toBeGreaterThan(0);
    expect(c.spentUsd).toBeLessThanOrEqual(cap);
    expect(c.notAttempted).toBeGreaterThan(0);
    expect(capped.summary.tiers[0]!.reasons.join(' ')).toMatch(/--max-cost \$0\.004 reached after spending \$0\.00\d+; \d+ calls not attempted/);

    // Exactly the calls that were made are stored (none as errors); the API never saw the others.
    const stored = pairsIn(capped.dbFile);
    const requested = server.requests.map(pairOf);
    expect(new Set(requested)).toEqual(new Set(stored));
    expect(stored.length + c.notAttempted).toBe(90);
    // The spend the summary reports is what the stored calls cost.
    const db = new Database(capped.dbFile, { readonly: true });
    const sum = (db.prepare('select sum(cost_usd) s from responses').get() as { s: number }).s;
    db.close();
    expect(c.spentUsd).toBeCloseTo(sum, 12);

    const before = server.requests.length;
    const resumed = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, resume: capped.runId, maxCostUsd: 1 });
    expect(resumed.runId).toBe(capped.runId);
    expect(resumed.exitCode).toBe(0);
    expect(resumed.summary.costCap).toMatchObject({ capUsd: 1, notAttempted: 0 });
    const made = server.requests.slice(before).map(pairOf);
    expect(made.filter((x) => stored.includes(x))).toEqual([]);
    expect(made.length).toBe(c.notAttempted);
    expect(pairsIn(capped.dbFile)).toHaveLength(90);
  });

  it('through the CLI: exit 3, the summary states spent and cap; an unpriced model refuses to start (exit 2)', async () => {
    server.reset();
    const p = createProject(server, { cases: 30 });
    const out = await runCli(['run', p.suiteDir, '--max-cost', '0.002', '--json', 'out.json'], { cwd: p.dir, env: p.env });
    expect(out.status).toBe(3);
    expect(out.stdout).toMatch(/Cost cap: spent \$0\.00\d+ of \$0\.0020; \d+ calls not attempted/);
    const json = JSON.parse(readFileSync(`${p.dir}/out.json`, 'utf8')) as RunSummary;
    expect(json.costCap!.spentUsd).toBeLessThanOrEqual(0.002);
    expect(json.status).toBe('incomplete');

    p.write('evalroute.config.yaml', readFileSync(p.configFile, 'utf8').replace(', price: { input: 0.5, output: 1.5 }', ''));
    server.reset();
    const unpriced = await runCli(['run', p.suiteDir, '--max-cost', '5'], { cwd: p.dir, env: p.env });
    expect(unpriced.status).toBe(2);
    expect(unpriced.stderr).toContain('model "small" has no price; --max-cost cannot bound it');
    expect(server.requests).toHaveLength(0);
    await expect(run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, maxCostUsd: 5 })).rejects.toBeInstanceOf(UsageError);
  });
});
