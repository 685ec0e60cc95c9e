import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { ensureCliBuilt } from './support/cli.js';

// A new team's path, with the commands copied from docs/getting-started.md: scaffold in an empty folder
// against a local OpenAI-compatible server, gate a routing pull request, and read the PR comment.
const cli = join(process.cwd(), 'bin/evalroute.js');
let server: MockLlmServer;
const WRONG = new Set<string>();

/** The shell lines of the first ```sh block under `heading` in docs/getting-started.md. */
function docCommands(heading: string): string[] {
  const doc = readFileSync('docs/getting-started.md', 'utf8');
  const section = doc.slice(doc.indexOf(heading));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  return block.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
}

beforeAll(async () => {
  ensureCliBuilt();
  server = await startMockLlmServer();
  // Both models answer with the golden label; the cheap model gets eight messages wrong.
  const labels = new Map<string, string>();
  const cases = readFileSync('src/cli/init-assets/cases.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; vars: { message: string } });
  const goldens = readFileSync('src/cli/init-assets/goldens.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; expected: string });
  cases.forEach((c, i) => {
    labels.set(c.vars.message, goldens.find((g) => g.id === c.id)!.expected);
    if (i < 8) WRONG.add(c.vars.message);
  });
  server.script((req) => (req.model === 'gpt-4.1-mini' && WRONG.has(req.lastUserText) ? 'lost_or_stolen_card' : (labels.get(req.lastUserText) ?? 'unknown')));
}, 180_000);
afterAll(() => server.close());

describe('docs/getting-started.md, walked in an empty folder', () => {
  it('ends in a PR comment that shows base vs head, the moved cases and the regressed ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evalroute-walk-'));
    const env = { ...process.env, WALK_KEY: 'sk-test-walkthrough-0000001', GITHUB_STEP_SUMMARY: '' };
    // Asynchronous, so the mock server in this process keeps answering the CLI.
    const sh = (line: string) =>
      new Promise<{ status: number | null; stderr: string }>((done) => {
        const child = spawn('bash', ['-c', line.replace(/^npx evalroute /, `node ${JSON.stringify(cli)} `)], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        child.on('close', (status) => done({ status, stderr }));
      });

    // 1. Scaffold (the documented init, pointed at the local server with the documented flags).
    const init = docCommands('## 1. Install and scaffold').find((l) => l.startsWith('npx evalroute init'))!;
    expect((await sh(`${init} --base-url ${server.openaiBaseURL} --api-key-env WALK_KEY --yes`)).status).toBe(0);

    // The target branch routes everything to the frontier; the PR sends classification to the cheap tier.
    execFileSync('git', ['init', '-q'], { cwd: dir });
    const head = readFileSync(join(dir, 'routing.yaml'), 'utf8');
    writeFileSync(join(dir, 'routing.yaml'), head.replace(/ {2}- \{ name: intent-classification[^\n]*\n/, ''));
    execFileSync('git', ['add', '-A'], { cwd: dir });
    execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'base'], { cwd: dir });
    execFileSync('git', ['update-ref', 'refs/remotes/origin/main', 'HEAD'], { cwd: dir });
    writeFileSync(join(dir, 'routing.yaml'), head);

    // 2. The documented routing-PR commands, verbatim.
    const [showBase, gate] = docCommands('### A routing pull request, base vs head');
    expect((await sh(showBase!)).status).toBe(0);
    const gated = await sh(gate!);
    // The cheap tier now misses several cases the baseline gets right: shown to regress, exit 1.
    expect(gated.status, gated.stderr).toBe(1);

    const md = readFileSync(join(dir, 'gate.md'), 'utf8');
    expect(md).toContain('GATE FAILED: cheap regressed.');
    expect(md).toMatch(/21 cases moved tier: pass rate 100\.0% under base → \d+\.\d% under head .*\d+ of them passed before and fail now/);
    expect(md).toContain('**Top regressed cases**');
    expect(md).toContain('banking77-test-0005');
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('Base routing vs this change');
  });
});
