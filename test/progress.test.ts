import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject } from './support/project.js';
import { CLI, ensureCliBuilt } from './support/cli.js';

const run = promisify(execFile);
const hasScript = existsSync('/usr/bin/script');
let server: MockLlmServer;

beforeAll(async () => {
  ensureCliBuilt();
  server = await startMockLlmServer({ latencyMs: 25 });
  server.script(arithmeticResponder());
});
afterAll(() => server.close());

const frames = (out: string) => out.match(/\d+\/120 calls/g) ?? [];

describe('run progress', () => {
  it.skipIf(!hasScript)('draws a live bar that updates on a terminal (pseudo-terminal via script)', async () => {
    const p = createProject(server, { cases: 80 });
    const { CI: _ci, ...rest } = process.env;
    const env = { ...rest, ...p.env, TERM: 'xterm' };
    // `script` gives the CLI a real pseudo-terminal; its transcript is what a user would see.
    const { stdout } = await run('script', ['-qfec', `node ${CLI} run ${p.suiteDir}`, '/dev/null'], { cwd: p.dir, env, maxBuffer: 1 << 24 });
    const seen = frames(stdout).map((f) => Number(f.split('/')[0]));
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen[seen.length - 1]).toBeGreaterThan(seen[0]!);
    expect(stdout).toContain('\u001b[');
    expect(stdout).toContain('GATE PASSED');
  });

  it('prints plain lines with no control characters in CI', async () => {
    const p = createProject(server, { cases: 80 });
    const { stdout, stderr } = await run('node', [CLI, 'run', p.suiteDir], { cwd: p.dir, env: { ...process.env, ...p.env, CI: 'true' } });
    // Any C0 control character but newline and tab, or DEL.
    // eslint-disable-next-line no-control-regex
    const controls = /[\u0000-\u0008\u000b-\u001f\u007f]/;
    expect(stderr).toMatch(/120\/120 calls/);
    expect(controls.test(stderr)).toBe(false);
    expect(controls.test(stdout)).toBe(false);
  });

  it('--json - writes nothing but the JSON to stdout', async () => {
    const p = createProject(server, { cases: 10 });
    const { stdout } = await run('node', [CLI, 'run', p.suiteDir, '--json', '-'], { cwd: p.dir, env: { ...process.env, ...p.env, CI: 'true' } });
    expect(JSON.parse(stdout)).toMatchObject({ suite: 'arith', pass: true });
  });
});
