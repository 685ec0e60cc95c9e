/**
 * `golden review` and `golden approve --all-reviewed` through the real CLI: off a terminal review
 * refuses instead of seeming to review, --all-reviewed never approves drafts nobody checked, and a
 * draft rejected on a (pseudo-)terminal leaves a suite that still loads.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSuite } from '../src/config/load.js';
import { CLI, ensureCliBuilt, runCli } from './support/cli.js';

const hasScript = existsSync('/usr/bin/script');

beforeAll(() => {
  ensureCliBuilt();
});

/** A sampled suite as `suite sample` leaves it: three cases, three unreviewed drafts. */
function sampledSuite(): { root: string; dir: string; goldens: string; cases: string } {
  const root = mkdtempSync(join(tmpdir(), 'evalroute-review-'));
  const dir = join(root, 'suites', 'qa');
  mkdirSync(dir, { recursive: true });
  mkdirSync(join(root, 'goldens'));
  writeFileSync(join(dir, 'suite.yaml'), 'prompt: { user: "{{q}}" }\ngraders:\n  - { type: exact }\n');
  const cases = join(dir, 'cases.jsonl');
  writeFileSync(cases, ['a', 'b', 'c'].map((id) => JSON.stringify({ id, vars: { q: `question ${id}` } })).join('\n') + '\n');
  const goldens = join(root, 'goldens', 'qa.jsonl');
  writeFileSync(goldens, ['a', 'b', 'c'].map((id) => JSON.stringify({ id, expected: `answer ${id}`, status: 'unreviewed' })).join('\n') + '\n');
  return { root, dir, goldens, cases };
}

const load = (dir: string) => loadSuite(dir, { graderTypes: ['exact'], graderNeedsGolden: () => true });

describe('golden review and approve --all-reviewed', () => {
  it('off a terminal, review says it cannot review and changes nothing; approve --all-reviewed then approves nothing', async () => {
    const s = sampledSuite();
    const before = readFileSync(s.goldens, 'utf8');
    const review = await runCli(['golden', 'review', s.dir], { cwd: s.root });
    expect(review.status).toBe(2);
    expect(review.stderr).toContain('needs a terminal');
    expect(review.stderr).toContain('nothing was reviewed or changed');
    const approve = await runCli(['golden', 'approve', s.dir, '--all-reviewed', '--by', 'Ana'], { cwd: s.root });
    expect(approve.status).toBe(0);
    expect(approve.stdout).toContain('nothing to approve');
    expect(approve.stdout).toContain('the 3 unreviewed drafts stay drafts');
    expect(readFileSync(s.goldens, 'utf8')).toBe(before);
    // --list still works anywhere.
    const list = await runCli(['golden', 'review', s.dir, '--list'], { cwd: s.root });
    expect(list.status).toBe(0);
    expect(list.stdout).toContain('3 cases: 0 approved goldens, 3 unreviewed');
  });

  it('approves exactly the goldens a person marked "reviewed"', async () => {
    const s = sampledSuite();
    writeFileSync(s.goldens, readFileSync(s.goldens, 'utf8').replace('"answer b","status":"unreviewed"', '"answer b","status":"reviewed"'));
    const approve = await runCli(['golden', 'approve', s.dir, '--all-reviewed', '--by', 'Ana'], { cwd: s.root });
    expect(approve.stdout).toContain('approved 1: b');
    expect([...load(s.dir).goldens.values()].map((g) => [g.id, g.status])).toEqual([['a', 'unreviewed'], ['b', 'approved'], ['c', 'unreviewed']]);
  });

  it.skipIf(!hasScript)('on a terminal: approve one, reject one; the rejected draft goes with its case and the suite still loads', async () => {
    const s = sampledSuite();
    // `script` gives the CLI a real pseudo-terminal and feeds it our stdin: a (approve), r (reject), q.
    const child = execFile('script', ['-qfec', `node ${CLI} golden review ${s.dir} --by Ana`, '/dev/null'], { cwd: s.root });
    child.stdin!.end('a\nr\nq\n');
    const { stdout } = await new Promise<{ stdout: string }>((resolveRun, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('close', () => resolveRun({ stdout: out }));
    });
    expect(stdout).toContain('1 approved, 1 rejected');
    const suite = load(s.dir);
    expect(suite.cases.map((c) => c.id)).toEqual(['a', 'c']);
    expect([...suite.goldens.values()].map((g) => [g.id, g.status])).toEqual([['a', 'approved'], ['c', 'unreviewed']]);
    expect(readFileSync(s.cases, 'utf8')).not.toContain('"b"');
  });
});
