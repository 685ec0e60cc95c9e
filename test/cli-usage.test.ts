/** Small command-line contracts: a mistyped suite path, -q on gate, why suggest is incomplete, price dates. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRICE_STALE_AFTER_DAYS, lookupPrice, priceAgeDays } from '../src/config/prices.js';
import { ensureCliBuilt, runCli } from './support/cli.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject } from './support/project.js';

let server: MockLlmServer;
beforeAll(async () => {
  ensureCliBuilt();
  server = await startMockLlmServer();
  server.script(arithmeticResponder());
});
afterAll(() => server.close());

describe('the command line', () => {
  it('`run nope`, `simulate nope` and `judge-check nope` in a folder with no config name the missing suite folder, not the config (exit 2; one project loader)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evalroute-usage-'));
    for (const command of ['run', 'simulate', 'judge-check']) {
      const r = await runCli([command, 'nope'], { cwd: dir });
      expect(r.status, command).toBe(2);
      expect(r.stderr).toMatch(/^evalroute: no suite folder nope \(looked at .*nope\)\n {2}→ pass the folder that holds suite\.yaml/);
      expect(r.stderr).not.toContain('evalroute.config.yaml');
    }
  });

  it('gate -q prints the verdict table and base vs head, and nothing on stderr', async () => {
    const p = createProject(server, { cases: 10 });
    const args = ['gate', p.suiteDir, '--routing', p.routingFile, '--base-routing', p.routingFile];
    const loud = await runCli(args, { cwd: p.dir, env: p.env });
    expect(loud.status).toBe(0);
    expect(loud.stderr).toContain('Head run');
    const quiet = await runCli([...args, '-q'], { cwd: p.dir, env: p.env });
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toContain('GATE PASSED');
  });

  it('suggest with results missing says which (model, count, example), exits 3, and the command it prints fills them', async () => {
    const p = createProject(server, { cases: 10 });
    // The routing sends only the 5 easy cases to the small model: its answers on the 5 hard ones are missing.
    expect((await runCli(['run', p.suiteDir, '-q'], { cwd: p.dir, env: p.env })).status).toBe(0);
    const r = await runCli(['suggest', p.suiteDir, '--min-cases', '1'], { cwd: p.dir, env: p.env });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/incomplete \(exit 3\): 5 \(case, model\) results are not in the store/);
    expect(r.stderr).toMatch(/^ {2}small: 5 cases with no stored response \(e\.g\. case c\d+\)$/m);
    const fill = /→ fill them .*: evalroute (suggest .*)$/m.exec(r.stderr)?.[1];
    expect(fill).toBe(`suggest ${p.suiteDir} --fill`);
    const filled = await runCli([...fill!.split(' '), '--min-cases', '1'], { cwd: p.dir, env: p.env });
    expect(filled.status, filled.stderr).toBe(0);
    expect(filled.stderr).not.toContain('incomplete');
  });

  it('suggest --json - keeps stdout to the JSON: refused (exit 2) while the proposal is printed there, the table on stderr with -o FILE', async () => {
    const p = createProject(server, { cases: 10 });
    expect((await runCli(['run', p.suiteDir, '-q'], { cwd: p.dir, env: p.env })).status).toBe(0);
    const clash = await runCli(['suggest', p.suiteDir, '--min-cases', '1', '--json', '-'], { cwd: p.dir, env: p.env });
    expect(clash.status).toBe(2);
    expect(clash.stderr).toContain('--json - and --output - both claim stdout\n  → write one of them to a file');
    const r = await runCli(['suggest', p.suiteDir, '--min-cases', '1', '--json', '-', '-o', 'proposed.yaml'], { cwd: p.dir, env: p.env });
    expect(r.status, r.stderr).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ baseline: 'big' });
    expect(r.stderr).toContain('Proposed routing written to proposed.yaml');
  });

  it('models shows the date of each list price and flags one older than 90 days', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evalroute-models-'));
    writeFileSync(
      join(dir, 'evalroute.config.yaml'),
      'models:\n  big: { provider: openai, model: gpt-4.1, price: { table: gpt-4.1 } }\n  own: { provider: openai, model: x-1, price: { input: 1, output: 2 } }\n  free: { provider: openai, model: x-2 }\n',
    );
    const asOf = lookupPrice('gpt-4.1')!.entry.asOf;
    const age = priceAgeDays(asOf, new Date());
    const r = await runCli(['models'], { cwd: dir, env: { OPENAI_API_KEY: 'unused' } });
    expect(r.status, r.stderr).toBe(0);
    const line = (key: string) => r.stdout.split('\n').find((l) => l.startsWith(`${key} `))!;
    expect(line('big')).toContain(age > PRICE_STALE_AFTER_DAYS ? `${asOf} ⚠ ${age} days old` : asOf);
    expect(line('own')).toMatch(/\$1 \/ \$2\s+config\s/);
    expect(line('free')).toMatch(/unpriced\s+—\s/);
    if (age > PRICE_STALE_AFTER_DAYS) expect(r.stdout).toContain(`list prices older than ${PRICE_STALE_AFTER_DAYS} days (big) may have changed`);
    const json = JSON.parse((await runCli(['models', '--json'], { cwd: dir })).stdout) as { key: string; priceAsOf?: string; priceAgeDays?: number; priceStale?: boolean }[];
    expect(json.find((m) => m.key === 'big')).toMatchObject({ priceAsOf: asOf, priceAgeDays: age, priceStale: age > PRICE_STALE_AFTER_DAYS });
    expect(json.find((m) => m.key === 'own')!.priceAsOf).toBeUndefined();
  });
});
