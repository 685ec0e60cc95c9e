/**
 * A results database in a folder the user cannot write (a downloaded CI artifact, a read-only mount):
 * read commands still read it; write commands say what is wrong (exit 2). The folder is made read-only
 * for the CLI by permissions, or — when the tests run as root, whom permissions do not stop — by running
 * the CLI as the unprivileged user `nobody`.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/api/run.js';
import { CLI, ensureCliBuilt } from './support/cli.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject, type TestProject } from './support/project.js';

const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

let server: MockLlmServer;
let p: TestProject;
let runId: string;
let outDir: string;

function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: p.dir, env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', ...p.env }, ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}) },
      (err, stdout, stderr) => resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  ensureCliBuilt();
  server = await startMockLlmServer({ responder: arithmeticResponder() });
  p = createProject(server, { cases: 4 });
  const first = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env });
  expect(first.exitCode).toBe(0);
  runId = first.runId;
  // Readable and traversable by everyone, writable by no one but root.
  for (const d of [p.dir, join(p.dir, '.evalroute')]) chmodSync(d, 0o555);
  chmodSync(p.dbFile, 0o444);
  outDir = mkdtempSync(join(tmpdir(), 'evalroute-ro-out-'));
  chmodSync(outDir, 0o777);
}, 120_000);
afterAll(async () => {
  for (const d of [p.dir, join(p.dir, '.evalroute')]) chmodSync(d, 0o755);
  await server.close();
});

describe('a store in a read-only folder', () => {
  it('runs, show and report read it, and leave no file behind', async () => {
    const before = readdirSync(join(p.dir, '.evalroute')).sort();
    const runs = await cli(['runs', '--db', p.dbFile]);
    expect(runs.stderr).toBe('');
    expect(runs.status).toBe(0);
    expect(runs.stdout).toContain(runId);
    const show = await cli(['show', 'latest', '--db', p.dbFile]);
    expect(show.status, show.stderr).toBe(0);
    expect(show.stdout).toContain('cheap');
    const report = await cli(['report', 'latest', '--db', p.dbFile, '-o', join(outDir, 'r.html')]);
    expect(report.status, report.stderr).toBe(0);
    expect(readdirSync(join(p.dir, '.evalroute')).sort()).toEqual(before);
  });

  it('a write command says the folder is read-only (exit 2), not that the file is not a database', async () => {
    const out = await cli(['run', p.suiteDir, '--db', p.dbFile]);
    expect(out.status, out.stderr).toBe(2);
    expect(out.stderr).toMatch(/read-only/);
    expect(out.stderr).not.toMatch(/not an SQLite|cannot be read as an SQLite database|internal error/);
  });
});
