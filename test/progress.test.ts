import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject } from './support/project.js';
import { CLI, ensureCliBuilt } from './support/cli.js';
import { ETA_MIN_DONE, PLAIN_LINE_EVERY_MS, etaSeconds, plainLineDue } from '../src/cli/progress.js';

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
    // A line per tenth of the run at most (the run takes well under 30 s), not one every two seconds.
    expect(frames(stderr).length).toBeLessThanOrEqual(11);
    expect(controls.test(stderr)).toBe(false);
    expect(controls.test(stdout)).toBe(false);
  });

  it('--json - writes nothing but the JSON to stdout', async () => {
    const p = createProject(server, { cases: 10 });
    const { stdout } = await run('node', [CLI, 'run', p.suiteDir, '--json', '-'], { cwd: p.dir, env: { ...process.env, ...p.env, CI: 'true' } });
    expect(JSON.parse(stdout)).toMatchObject({ suite: 'arith', pass: true });
  });
});

describe('progress arithmetic', () => {
  it('gives no ETA until enough calls finished, then the remaining calls at the rate so far', () => {
    // One slow first call (SDK start-up) out of 120 must not promise "ETA 720s" for a 2-second run.
    expect(etaSeconds(1, 120, 6000)).toBeUndefined();
    expect(etaSeconds(ETA_MIN_DONE - 1, 120, 1000)).toBeUndefined();
    expect(etaSeconds(ETA_MIN_DONE, 120, 1000)).toBe(11);
    // On a long run the sample must also be 5% of it.
    expect(etaSeconds(20, 1000, 4000)).toBeUndefined();
    expect(etaSeconds(50, 1000, 10_000)).toBe(190);
    expect(etaSeconds(120, 120, 2000)).toBeUndefined();
  });

  it('off a terminal prints when the run enters a new tenth, after 30 s of silence, and at the end', () => {
    const last = { done: 12, atMs: 0 };
    expect(plainLineDue({ done: 13, total: 100 }, last, 2000)).toBe(false);
    expect(plainLineDue({ done: 20, total: 100 }, last, 2000)).toBe(true);
    expect(plainLineDue({ done: 13, total: 100 }, last, PLAIN_LINE_EVERY_MS)).toBe(true);
    expect(plainLineDue({ done: 100, total: 100 }, { done: 99, atMs: 0 }, 1)).toBe(true);
    // Over a whole run of 1,000 calls arriving 2 ms apart: 10 lines, one per tenth.
    const at = { done: 0, atMs: 0 };
    let lines = 0;
    for (let done = 1; done <= 1000; done++) {
      if (plainLineDue({ done, total: 1000 }, at, done * 2)) {
        lines++;
        Object.assign(at, { done, atMs: done * 2 });
      }
    }
    expect(lines).toBe(10);
  });
});
