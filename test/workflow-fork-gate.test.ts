/**
 * The shipped routing-gate workflow on a pull request without API keys (a fork): evalroute gates with
 * --offline from what main's warm-cache job stored, and the workflow's "Explain a gate run without API
 * keys" step puts the outcome at the top of the PR comment. Runs that step's own script on a real
 * gate.json and gate.md written by the CLI.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MARKDOWN_MARKER } from '../src/report/markdown.js';
import { ensureCliBuilt, runCli } from './support/cli.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject, type TestProject } from './support/project.js';

interface WorkflowStep {
  name?: string;
  run?: string;
}

const workflow = parse(readFileSync('examples/github/routing-gate.yml', 'utf8')) as { jobs: { gate: { steps: WorkflowStep[] } } };
const explain = workflow.jobs.gate.steps.find((s) => s.name === 'Explain a gate run without API keys')!.run!;

let server: MockLlmServer;
let project: TestProject;

beforeAll(async () => {
  ensureCliBuilt();
  server = await startMockLlmServer();
  server.script(arithmeticResponder());
  project = createProject(server, { cases: 20 });
  // main's warm-cache job: the base rules send easy cases to the cheap model, hard ones to the frontier.
  const warm = await runCli(['run', project.suiteDir, '--quiet'], { cwd: project.dir, env: project.env });
  expect(warm.status, warm.stderr).toBe(0);
});
afterAll(() => server.close());

/** The fork PR's gate: no keys, so --offline, as the workflow's Gate step does. */
async function forkGate(headRules: string) {
  const head = project.write('head-routing.yaml', readFileSync(project.routingFile, 'utf8').replace(/^rules:[\s\S]*$/m, `rules:\n${headRules}`));
  const called = server.requests.length;
  const r = await runCli(
    ['gate', project.suiteDir, '--routing', head, '--base-routing', project.routingFile, '--offline', '--json', 'gate.json', '--markdown', 'gate.md'],
    { cwd: project.dir },
  );
  expect(server.requests.length, 'an --offline gate must not call a model').toBe(called);
  const summary = join(project.dir, 'step-summary.md');
  writeFileSync(summary, '');
  execFileSync('bash', ['-e', '-c', explain], { cwd: project.dir, env: { PATH: process.env.PATH ?? '', CODE: String(r.status), GITHUB_STEP_SUMMARY: summary } });
  return { status: r.status, comment: readFileSync(join(project.dir, 'gate.md'), 'utf8'), summary: readFileSync(summary, 'utf8') };
}

describe('routing-gate workflow on a fork pull request (no API keys)', () => {
  it('a change that moves cases to a model main never ran on them: exit 3, and the comment says which calls were skipped and that this is no verdict', async () => {
    // Every case to the cheap tier: the 10 hard cases were never answered by the cheap model on main.
    const { status, comment, summary } = await forkGate('  - { tier: cheap }\n');
    expect(status).toBe(3);
    expect(comment.startsWith(`${MARKDOWN_MARKER}\n> **No API keys`)).toBe(true);
    expect(comment).toContain('**10 calls had no cached answer** and count as errors: 10 on small');
    expect(comment).toContain('not a verdict on the change');
    // The marker appears once, so the comment step keeps finding and updating the same comment.
    expect(comment.split(MARKDOWN_MARKER)).toHaveLength(2);
    // The gate's own Markdown follows the note; the job summary (what fork PRs see) gets the note too.
    expect(comment.length).toBeGreaterThan(comment.indexOf('not a verdict') + 200);
    expect(summary).toContain('10 calls had no cached answer');
  });

  it('a change main already covers: every answer is cached, the verdict stands and the comment says it is complete', async () => {
    const { status, comment } = await forkGate('  - { name: easy-to-cheap, when: { tags: [easy] }, tier: cheap }\n  - { tier: frontier }\n');
    expect(status).toBe(0);
    expect(comment).toContain('Every call was answered from the cache, so the verdict below is complete.');
    expect(comment).not.toContain('not a verdict');
  });
});
