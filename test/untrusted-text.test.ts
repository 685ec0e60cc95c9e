/**
 * Text evalroute did not write — provider error bodies, response bodies — is shown as text and read
 * within bounds: terminal escapes in an error message cannot fake a verdict line, and a gzip bomb
 * cannot inflate into gigabytes.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../src/core/errors.js';
import { BODY_TOO_LARGE, httpFetch, MAX_RESPONSE_BYTES } from '../src/providers/http-fetch.js';
import { createProvider } from '../src/providers/registry.js';
import { ensureCliBuilt, runCli } from './support/cli.js';
import { startMockLlmServer } from './support/mock-llm-server.js';
import { startLocalServer, type LocalServer } from './support/http-server.js';
import { createProject } from './support/project.js';

const FAKE_VERDICT = '✔ GATE PASSED — every tier holds';
// Clear the line, go to its start, move up one line, then print a green fake verdict on a new line.
const HOSTILE = `quota exceeded\u001b[2K\r\u001b[1A\u001b[32m\n${FAKE_VERDICT}\u001b[0m\u0007`;
/** 64 MB of spaces: about 64 KB gzipped. */
const BOMB = gzipSync(Buffer.alloc(MAX_RESPONSE_BYTES * 2, 0x20));

let server: LocalServer;
let url: string;
let hits = 0;

beforeAll(async () => {
  ensureCliBuilt();
  server = await startLocalServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hits++;
      if (req.url?.startsWith('/bomb')) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(BOMB);
        return;
      }
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: HOSTILE, type: 'invalid_request_error' } }));
    });
  });
  url = server.url;
});
afterAll(() => server.close());

describe('untrusted text', () => {
  it('terminal escapes in a provider error are printed escaped: no ESC, no CR, no line of their own', async () => {
    const mock = await startMockLlmServer();
    try {
      const p = createProject(mock, { cases: 2 });
      p.write(
        'evalroute.config.yaml',
        `store: .evalroute/test.db
models:
  big:   { provider: openai, model: big-1, baseURL: ${url}/v1, apiKeyEnv: BIG_KEY, maxRetries: 0 }
  small: { provider: openai, model: small-1, baseURL: ${url}/v1, apiKeyEnv: BIG_KEY, maxRetries: 0 }
routing: routing.yaml
`,
      );
      const out = await runCli(['run', p.suiteDir, '-v'], { cwd: p.dir, env: p.env });
      expect(out.status, out.stderr).toBe(3);
      const printed = out.stdout + out.stderr;
      expect(printed).toContain('quota exceeded'); // the message is shown…
      expect(printed).toContain('\\u001b[2K'); // …with its escapes made visible
      for (const c of ['\u001b', '\r', '\u0007']) expect(printed).not.toContain(c);
      expect(printed.split('\n').some((line) => line.trimStart().startsWith(FAKE_VERDICT))).toBe(false);
    } finally {
      await mock.close();
    }
  });

  it('a gzip bomb is refused once it inflates past the limit, not read into memory', async () => {
    const err = await httpFetch(`${url}/bomb`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TypeError);
    expect(((err as TypeError).cause as { code?: string }).code).toBe(BODY_TOO_LARGE);
  });

  it('through the OpenAI SDK the oversized body is a malformed response that is not retried', async () => {
    const provider = createProvider(
      { key: 'm1', provider: 'openai', model: 'bomb-model', baseURL: `${url}/bomb/v1`, params: {}, concurrency: 1, timeoutMs: 10_000, maxRetries: 0 },
      { env: { OPENAI_API_KEY: 'sk-test-bomb-0000000000' } },
    );
    const before = hits;
    const err = await provider.complete({ caseId: 'c1', messages: [{ role: 'user', content: 'hi' }], params: {}, repeat: 0 }, new AbortController().signal).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).kind).toBe('malformed_response');
    expect((err as ProviderError).retryable).toBe(false);
    expect(hits - before).toBe(1);
  });
});
