/** Small command-line contracts: what a mistyped suite path says, and -q on the gating commands. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  it('`run nope` in a folder with no config names the missing suite folder, not the config (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evalroute-usage-'));
    const r = await runCli(['run', 'nope'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^evalroute: no suite folder nope \(looked at .*nope\)\n {2}→ pass the folder that holds suite\.yaml/);
    expect(r.stderr).not.toContain('evalroute.config.yaml');
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
});
