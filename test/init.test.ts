import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/api/run.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';

const cli = join(process.cwd(), 'bin/evalroute.js');
let server: MockLlmServer;

beforeAll(async () => {
  server = await startMockLlmServer();
  // Both scaffolded models answer with the golden label of the message they are shown.
  const labels = new Map<string, string>();
  const cases = readFileSync('src/cli/init-assets/cases.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; vars: { message: string } });
  const goldens = readFileSync('src/cli/init-assets/goldens.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; expected: string });
  for (const c of cases) labels.set(c.vars.message, goldens.find((g) => g.id === c.id)!.expected);
  server.script((req) => labels.get(req.lastUserText) ?? 'unknown');
});
afterAll(() => server.close());

describe('evalroute init', () => {
  it('scaffolds a project whose example suite runs and passes against a live endpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evalroute-init-'));
    const out = execFileSync('node', [cli, 'init', dir, '--base-url', server.openaiBaseURL, '--api-key-env', 'INIT_TEST_KEY'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toContain('created routing.yaml');
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toContain('.evalroute/');
    expect(readFileSync(join(dir, 'routing.yaml'), 'utf8')).toMatch(/^# yaml-language-server: \$schema=/);

    const result = await run({ suiteDir: join(dir, 'suites/support-intents'), cwd: dir, env: { INIT_TEST_KEY: 'sk-test-init-0000000001' } });
    expect(result.exitCode).toBe(0);
    const cheap = result.summary.tiers.find((t) => t.tier === 'cheap')!;
    // 21 agreeing cases cannot show a 5-point margin: undecided, says how many cases would, and only warns.
    expect(cheap).toMatchObject({ cases: 21, passRate: 1, baselinePassRate: 1, outcome: 'inconclusive', onInconclusive: 'warn' });
    expect(cheap.casesNeeded!.atZeroDelta).toBeGreaterThan(21);
    expect(server.requests.length).toBe(42);
  });

  it('refuses to overwrite existing files without --force (exit 2)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evalroute-init-'));
    execFileSync('node', [cli, 'init', dir], { stdio: 'ignore' });
    const again = spawnSync('node', [cli, 'init', dir], { encoding: 'utf8' });
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('already exist');
    expect(again.stderr).toContain('--force');
    expect(spawnSync('node', [cli, 'init', dir, '--force'], { encoding: 'utf8' }).status).toBe(0);
  });
});
