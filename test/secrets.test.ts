/**
 * API keys never leave evalroute, even when an API echoes them back: here a server answers every call
 * with a 401 whose body quotes the Authorization / x-api-key header it received (as some gateways and
 * proxies do). The key must appear nowhere: not in the database file, the JSON result, the HTML
 * report, stdout or stderr.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, runCli } from './support/cli.js';
import { startLocalServer, type LocalServer } from './support/http-server.js';
import { startMockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject } from './support/project.js';

const OPENAI_KEY = 'sk-test-PLANTED-0123456789abcdef';
const ANTHROPIC_KEY = 'sk-ant-test-PLANTED-fedcba9876543210';
/** A key in no known key format: only the registered-secret list can catch it. */
const GATEWAY_KEY = 'gw_PLANTED_7f3a9c1e5b2d4f60';

let echo: LocalServer;
let url: string;
const seen: string[] = [];

beforeAll(async () => {
  ensureCliBuilt();
  echo = await startLocalServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const presented = [req.headers.authorization, req.headers['x-api-key']].filter(Boolean).join(' ');
      seen.push(presented);
      const body = req.url?.startsWith('/v1/messages')
        ? { type: 'error', error: { type: 'authentication_error', message: `invalid x-api-key: ${presented}` } }
        : { error: { message: `Incorrect API key provided: ${presented}. Header was "Authorization: ${presented}"`, type: 'invalid_request_error', code: 'invalid_api_key' } };
      res.writeHead(401, { 'content-type': 'application/json', 'x-echo-key': presented.replace(/^Bearer /, '') });
      res.end(JSON.stringify(body));
    });
  });
  url = echo.url;
});
afterAll(() => echo.close());

describe('secrets', () => {
  it('a key echoed back by the API appears in no output: store, JSON, HTML report, stdout, stderr', async () => {
    const mock = await startMockLlmServer();
    const p = createProject(mock, { cases: 6 });
    await mock.close();
    p.write(
      'evalroute.config.yaml',
      `store: .evalroute/test.db
models:
  big:   { provider: openai, model: big-1, baseURL: ${url}/v1, apiKeyEnv: BIG_KEY, price: { input: 10, output: 30 }, maxRetries: 0 }
  small: { provider: anthropic, model: small-1, baseURL: ${url}, apiKeyEnv: SMALL_KEY, price: { input: 0.5, output: 1.5 }, maxRetries: 0 }
  gw:    { provider: openai, model: gw-1, baseURL: ${url}/v1, apiKeyEnv: GW_KEY, maxRetries: 0 }
routing: routing.yaml
`,
    );
    p.write(
      'routing.yaml',
      `baseline: big
tiers:
  cheap: { model: small }
  gateway: { model: gw }
  frontier: { model: big }
rules:
  - { name: easy, when: { tags: [easy] }, tier: cheap }
  - { name: gw, when: { metadata: { via: gw } }, tier: gateway }
  - { tier: frontier }
`,
    );
    p.write('suites/arith/cases.jsonl', readFileSync(join(p.suiteDir, 'cases.jsonl'), 'utf8').replace('"id":"c001"', '"id":"c001","metadata":{"via":"gw"}'));
    const env = { BIG_KEY: OPENAI_KEY, SMALL_KEY: ANTHROPIC_KEY, GW_KEY: GATEWAY_KEY };
    const out = await runCli(
      ['run', p.suiteDir, '--json', 'out.json', '--report', 'out.html', '--markdown', 'out.md', '--junit', 'out.xml'],
      { cwd: p.dir, env: { ...env, GITHUB_STEP_SUMMARY: join(p.dir, 'step-summary.md') } },
    );

    // Every call failed with the echoing 401, so the run is incomplete — and the echo really happened.
    expect(out.status, out.stderr).toBe(3);
    expect(seen).toContain(`Bearer ${OPENAI_KEY}`);
    expect(seen.some((h) => h.includes(ANTHROPIC_KEY))).toBe(true);
    expect(seen).toContain(`Bearer ${GATEWAY_KEY}`);
    expect(out.stdout).toContain('auth');

    const outputs: Record<string, string> = {
      stdout: out.stdout,
      stderr: out.stderr,
      json: readFileSync(join(p.dir, 'out.json'), 'latin1'),
      markdown: readFileSync(join(p.dir, 'out.md'), 'latin1'),
      junit: readFileSync(join(p.dir, 'out.xml'), 'latin1'),
      stepSummary: readFileSync(join(p.dir, 'step-summary.md'), 'latin1'),
      store: readFileSync(p.dbFile).toString('latin1'),
    };
    for (const side of ['-wal', '-shm']) if (existsSync(p.dbFile + side)) outputs[`store${side}`] = readFileSync(p.dbFile + side).toString('latin1');
    if (existsSync(join(p.dir, 'out.html'))) outputs.html = readFileSync(join(p.dir, 'out.html'), 'latin1');
    expect(Object.keys(outputs)).toContain('html');

    // The error messages are there, redacted: the store keeps what went wrong, not the key.
    expect(outputs.store).toContain('[REDACTED]');
    for (const [where, text] of Object.entries(outputs)) {
      for (const key of Object.values(env)) {
        expect(text.includes(key), `${where} contains ${key}`).toBe(false);
        expect(text.includes(key.slice(0, 20)), `${where} contains a prefix of ${key}`).toBe(false);
      }
    }
  });

  it('credentials written in the config (URL password, key in a comment) reach neither the store bytes nor `models`', async () => {
    const mock = await startMockLlmServer({ responder: arithmeticResponder() });
    try {
      const p = createProject(mock, { cases: 4 });
      const password = 'PlantedUrlPass0123';
      const commented = 'sk-proj-COMMENTEDkey0123456789';
      const withUserinfo = (u: string) => u.replace('http://', `http://alice:${password}@`);
      p.write(
        'evalroute.config.yaml',
        readFileSync(p.configFile, 'utf8')
          .replace(mock.openaiBaseURL, withUserinfo(mock.openaiBaseURL))
          .replace(mock.anthropicBaseURL, withUserinfo(mock.anthropicBaseURL))
          .concat(`# old key, do not use: ${commented}\n`),
      );
      const out = await runCli(['run', p.suiteDir], { cwd: p.dir, env: p.env });
      expect(out.status, out.stderr).toBe(0);
      const models = await runCli(['models', '--config', p.configFile], { cwd: p.dir, env: p.env });
      const modelsJson = await runCli(['models', '--config', p.configFile, '--json'], { cwd: p.dir, env: p.env });
      expect(models.stdout).toContain('[REDACTED]@127.0.0.1');

      const texts: Record<string, string> = { stdout: out.stdout, stderr: out.stderr, models: models.stdout, modelsJson: modelsJson.stdout };
      for (const side of ['', '-wal', '-shm']) if (existsSync(p.dbFile + side)) texts[`store${side}`] = readFileSync(p.dbFile + side).toString('latin1');
      expect(texts.store).toContain('[REDACTED]@127.0.0.1');
      for (const [where, text] of Object.entries(texts)) {
        expect(text.includes(password), `${where} contains the URL password`).toBe(false);
        expect(text.includes(commented), `${where} contains the commented key`).toBe(false);
      }
    } finally {
      await mock.close();
    }
  });

  it.each([
    ['a key in model params', (c: string) => c.replace('timeoutMs: 2000', 'params: { api_key: sk-proj-PARAMkey0123456789 }, timeoutMs: 2000'), 'sk-proj-PARAMkey0123456789', 'models.big.params.api_key'],
    ['a password in nested params', (c: string) => c.replace('timeoutMs: 2000', 'params: { extra_body: { password: hunter2hunter2 } }, timeoutMs: 2000'), 'hunter2hunter2', 'models.big.params.extra_body.password'],
    ['a key pasted into apiKeyEnv', (c: string) => c.replace('apiKeyEnv: BIG_KEY', 'apiKeyEnv: AKIAPASTEDKEY0123456789'), 'AKIAPASTEDKEY0123456789', 'models.big.apiKeyEnv'],
    ['a mixed-case token pasted into apiKeyEnv', (c: string) => c.replace('apiKeyEnv: BIG_KEY', 'apiKeyEnv: q8Xf3LmZ2vR9tY1wK7bN4'), 'q8Xf3LmZ2vR9tY1wK7bN4', 'models.big.apiKeyEnv'],
  ])('%s is refused (exit 2, the path named, the value never echoed) before any call', async (_name, edit, secret, path) => {
    const mock = await startMockLlmServer();
    try {
      const p = createProject(mock, { cases: 2 });
      p.write('evalroute.config.yaml', edit(readFileSync(p.configFile, 'utf8')));
      const out = await runCli(['run', p.suiteDir], { cwd: p.dir, env: p.env });
      expect(out.status, out.stderr).toBe(2);
      expect(out.stderr).toContain('evalroute.config.yaml:');
      expect(out.stderr).toContain(path);
      expect(out.stdout + out.stderr).not.toContain(secret);
      expect(mock.requests.length).toBe(0);
      expect(existsSync(p.dbFile)).toBe(false);
    } finally {
      await mock.close();
    }
  });

  it('a key in the suite params is refused too', async () => {
    const mock = await startMockLlmServer();
    try {
      const p = createProject(mock, { cases: 2 });
      const suiteFile = join(p.suiteDir, 'suite.yaml');
      p.write('suites/arith/suite.yaml', readFileSync(suiteFile, 'utf8').replace('params: { temperature: 0', 'params: { access_token: ghp_PLANTEDsuiteToken0123, temperature: 0'));
      const out = await runCli(['run', p.suiteDir], { cwd: p.dir, env: p.env });
      expect(out.status, out.stderr).toBe(2);
      expect(out.stderr).toContain('suite.yaml:');
      expect(out.stderr).toContain('params.access_token');
      expect(out.stderr).not.toContain('ghp_PLANTEDsuiteToken0123');
    } finally {
      await mock.close();
    }
  });
});
