import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { run } from '../src/api/run.js';
import { askAll, workflowForKey, type InitFlags } from '../src/cli/init-command.js';
import { loadConfig } from '../src/config/load.js';
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
    expect(out).not.toContain('overwrote');
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
    const forced = spawnSync('node', [cli, 'init', dir, '--force'], { encoding: 'utf8' });
    expect(forced.status).toBe(0);
    // Every file was there before: each is reported as overwritten, none as created.
    expect(forced.stdout).toContain('overwrote evalroute.config.yaml');
    expect(forced.stdout).toContain('overwrote suites/support-intents/cases.jsonl');
    expect(forced.stdout).not.toMatch(/^\s+created /m);
  });

  it('prices the models the bundled table knows, and says how to price one it does not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evalroute-init-'));
    execFileSync('node', [cli, 'init', dir, '--baseline-model', 'gpt-4.1', '--cheap-model', 'my-finetune-v2'], { stdio: 'ignore' });
    const text = readFileSync(join(dir, 'evalroute.config.yaml'), 'utf8');
    expect(text).toContain('"my-finetune-v2" is not in the bundled price table');
    const config = loadConfig(join(dir, 'evalroute.config.yaml'), { cwd: dir });
    expect(config.models.get('frontier')!.price).toMatchObject({ input: 2, output: 8, table: 'gpt-4.1' });
    expect(config.models.get('cheap')!.price).toBeUndefined();
  });

  it('writes a workflow that passes exactly the key variable the config names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evalroute-init-'));
    const out = execFileSync('node', [cli, 'init', dir, '--base-url', 'https://gw.example.com/v1', '--api-key-env', 'GATEWAY_KEY'], { encoding: 'utf8' });
    expect(out).toContain('add GATEWAY_KEY as a repository secret');
    const wf = readFileSync(join(dir, '.github/workflows/routing-gate.yml'), 'utf8');
    const doc = parse(wf) as { jobs: Record<string, { steps: { id?: string; env?: Record<string, string>; run?: string }[] }> };
    const gate = doc.jobs.gate!.steps.find((s) => s.id === 'gate')!;
    expect(gate.env).toEqual({ GATEWAY_KEY: '${{ secrets.GATEWAY_KEY }}' });
    expect(gate.run).toContain('if [ -z "${GATEWAY_KEY:-}" ]; then');
    const warm = doc.jobs['warm-cache']!.steps.find((s) => s.id === 'warm')!;
    expect(warm.env).toEqual({ GATEWAY_KEY: '${{ secrets.GATEWAY_KEY }}' });
    expect(wf).not.toMatch(/OPENAI_API_KEY|ANTHROPIC_API_KEY/);
    expect(readFileSync(join(dir, 'evalroute.config.yaml'), 'utf8')).toContain('apiKeyEnv: GATEWAY_KEY');
  });

  it('rewrites every key mapping of the shipped workflow, and fails loudly if the workflow changes shape', () => {
    const shipped = readFileSync('examples/github/routing-gate.yml', 'utf8');
    const anthropic = workflowForKey(shipped, 'ANTHROPIC_API_KEY');
    expect(anthropic).not.toContain('OPENAI_API_KEY');
    expect(() => workflowForKey('jobs: {}\n', 'X')).toThrow(/no longer has the key mapping/);
  });

  it('rejects a URL given as a model id and a key given as a variable name (exit 2)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evalroute-init-'));
    const url = spawnSync('node', [cli, 'init', dir, '--cheap-model', 'https://api.example.com/v1'], { encoding: 'utf8' });
    expect(url.status).toBe(2);
    expect(url.stderr).toContain('--cheap-model "https://api.example.com/v1": this is a URL, not a model id');
    const key = spawnSync('node', [cli, 'init', dir, '--api-key-env', 'sk-abc 123'], { encoding: 'utf8' });
    expect(key.status).toBe(2);
    expect(key.stderr).toContain('is not an environment variable name');
    expect(existsSync(join(dir, 'evalroute.config.yaml'))).toBe(false);
  });

  it('on a terminal asks for the base URL and key variable too, and asks again after a URL given as a model id', async () => {
    const flags: InitFlags = { provider: 'openai', baselineModel: 'gpt-4.1', cheapModel: 'gpt-4.1-mini' };
    const answers = ['', 'not a url', 'https://gw.example.com/v1', 'GW_KEY', 'https://gw.example.com/v1/models/big', 'big-model', ''];
    const asked: string[] = [];
    const said: string[] = [];
    const got = await askAll(flags, async (q) => (asked.push(q), answers.shift() ?? ''), (l) => said.push(l));
    expect(got).toEqual({ provider: 'openai', baseUrl: 'https://gw.example.com/v1', apiKeyEnv: 'GW_KEY', baselineModel: 'big-model', cheapModel: 'gpt-4.1-mini' });
    expect(asked.some((q) => q.startsWith('API base URL'))).toBe(true);
    expect(asked.some((q) => q.startsWith('Environment variable that holds the API key'))).toBe(true);
    expect(said.join('\n')).toMatch(/not a URL[\s\S]*this is a URL, not a model id/);
  });

  it('the SOURCE.md it writes counts the intents right and points at a public source', () => {
    const source = readFileSync('src/cli/init-assets/SOURCE.md', 'utf8');
    const goldens = readFileSync('src/cli/init-assets/goldens.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { expected: string });
    const intents = new Set(goldens.map((g) => g.expected)).size;
    const words = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
    expect(source).toContain(`The ${goldens.length} customer messages`);
    expect(source).toContain(`for each of ${words[intents]} intents`);
    expect(source).not.toContain('../shared');
    expect(source).toContain('https://github.com/PolyAI-LDN/task-specific-datasets');
  });
});
