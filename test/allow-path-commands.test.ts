/**
 * Every command that reads files a suite or config names confines them to the project, and takes
 * `--allow-path` to allow more, through the real CLI: gate, simulate, suggest, judge-check and golden
 * review/approve read the suite (its goldens file here lies outside the project); audit and models read the config (a recorded
 * model's outputs lie outside). `run` is covered by bad-input.test.ts; plan and merge read no file a
 * suite or config names (plan reads none at all, merge only the stores given on the command line).
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/api/run.js';
import { ensureCliBuilt, runCli } from './support/cli.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject, type TestProject } from './support/project.js';

let server: MockLlmServer;
let p: TestProject;
/** The folder outside the project holding the goldens and the recordings. */
let outside: string;

beforeAll(async () => {
  ensureCliBuilt();
  server = await startMockLlmServer({ responder: arithmeticResponder() });
  p = createProject(server, { cases: 6 });
  // A stored run first, so simulate, suggest and judge-check have outputs to read.
  expect((await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env })).exitCode).toBe(0);
  outside = mkdtempSync(join(tmpdir(), 'evalroute-outside-'));
  copyFileSync(join(p.dir, 'goldens/arith.jsonl'), join(outside, 'arith.jsonl'));
  p.write('suites/arith/suite.yaml', `goldens: ${JSON.stringify(relative(p.suiteDir, join(outside, 'arith.jsonl')))}\n${readSuite()}`);
  writeFileSync(join(outside, 'rec.jsonl'), `${JSON.stringify({ id: 'c000', output: '7' })}\n`);
  p.write('logs.jsonl', `${JSON.stringify({ input: 'What is 1 + 7?', output: '8', model: 'big-1', usage: { input: 10, output: 1 } })}\n`);
});
afterAll(() => server.close());

function readSuite(): string {
  return 'name: arith\nprompt:\n  system: "Answer with the number only."\n  user: "What is {{a}} + {{b}}?"\nparams: { temperature: 0, max_tokens: 16 }\ngraders:\n  - { type: exact, normalize: [trim, number] }\n';
}

/** The config with a recorded model whose outputs lie outside the project (for audit and models). */
function configWithOutsideRecordings(): string {
  const file = join(p.dir, 'recorded.config.yaml');
  writeFileSync(
    file,
    `models:\n  big: { provider: openai, model: big-1, baseURL: ${server.openaiBaseURL}, apiKeyEnv: BIG_KEY, price: { input: 10, output: 30 } }\n` +
      `  rec: { provider: recorded, path: ${JSON.stringify(relative(p.dir, join(outside, 'rec.jsonl')))} }\n`,
  );
  return file;
}

const suiteCommands: Array<{ name: string; args: () => string[]; allowed: (out: { status: number | null; stdout: string; stderr: string }) => void }> = [
  {
    name: 'gate',
    args: () => ['gate', p.suiteDir, '--routing', p.routingFile, '--base-routing', p.routingFile],
    allowed: (out) => expect(out.status, out.stderr).toBe(0),
  },
  {
    name: 'simulate',
    args: () => ['simulate', p.suiteDir],
    allowed: (out) => expect(out.status, out.stderr).toBe(0),
  },
  {
    name: 'suggest',
    args: () => ['suggest', p.suiteDir, '--min-cases', '1'],
    // It reads the suite and scores the stored results (exit 3: the small model has not run every case).
    allowed: (out) => {
      expect(out.status, out.stderr).toBe(3);
      expect(out.stderr).toMatch(/arithmetic +6 +100\.0%/);
      expect(out.stdout).toContain('# Proposed by `evalroute suggest`');
      // The command it offers to fill the missing pairs must pass the same confinement.
      expect(out.stderr).toContain(`evalroute suggest ${p.suiteDir} --fill --allow-path ${outside}\n`);
    },
  },
  {
    name: 'golden review --list',
    args: () => ['golden', 'review', p.suiteDir, '--list'],
    allowed: (out) => {
      expect(out.status, out.stderr).toBe(0);
      expect(out.stdout).toContain('c005');
    },
  },
  {
    name: 'judge-check',
    args: () => ['judge-check', p.suiteDir],
    // The suite has no judge grader: once its files are allowed, that is what judge-check says.
    allowed: (out) => {
      expect(out.status, out.stderr).toBe(2);
      expect(out.stderr).toContain('suite.yaml has no judge grader');
    },
  },
];

describe('--allow-path on every command that reads files a suite names', () => {
  it.each(suiteCommands)('$name: a goldens file outside the project is refused (exit 2) and allowed with --allow-path', async (cmd) => {
    const refused = await runCli(cmd.args(), { cwd: p.dir, env: p.env });
    expect(refused.status, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/suite\.yaml:1 \(at goldens\): goldens file .*arith\.jsonl is outside the project/);
    expect(refused.stderr).toContain('--allow-path');

    const allowed = await runCli([...cmd.args(), '--allow-path', outside], { cwd: p.dir, env: p.env });
    expect(allowed.stderr).not.toContain('outside the project');
    cmd.allowed(allowed);
  });
});

describe('golden approve rewrites the goldens file, so it is confined too', () => {
  it('refuses a goldens file outside the project without touching it, and approves in it with --allow-path', async () => {
    const goldens = join(outside, 'arith.jsonl');
    const before = readFileSync(goldens, 'utf8');
    const refused = await runCli(['golden', 'approve', p.suiteDir, '--cases', 'c000', '--by', 'tester'], { cwd: p.dir, env: p.env });
    expect(refused.status, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/suite\.yaml:1 \(at goldens\): goldens file .*arith\.jsonl is outside the project/);
    expect(readFileSync(goldens, 'utf8')).toBe(before);
    const allowed = await runCli(['golden', 'approve', p.suiteDir, '--cases', 'c000', '--by', 'tester', '--allow-path', outside], { cwd: p.dir, env: p.env });
    expect(allowed.status, allowed.stderr).toBe(0);
    expect(readFileSync(goldens, 'utf8')).toMatch(/"id":"c000".*"status":"approved".*"approvedBy":"tester"/);
  });
});

describe('--allow-path on the commands that read only the config', () => {
  it('models: a recorded model\'s outputs outside the project are refused (exit 2, naming the key) and listed with --allow-path', async () => {
    const config = configWithOutsideRecordings();
    const refused = await runCli(['models', '--config', config], { cwd: p.dir, env: p.env });
    expect(refused.status, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/recorded\.config\.yaml:3 \(at models\.rec\.path\): recorded outputs of model "rec" .*rec\.jsonl is outside the project/);
    const allowed = await runCli(['models', '--config', config, '--json', '--allow-path', outside], { cwd: p.dir, env: p.env });
    expect(allowed.status, allowed.stderr).toBe(0);
    expect(allowed.stdout).toContain(resolve(outside, 'rec.jsonl'));
  });

  it('audit: the same config is refused (exit 2) and read with --allow-path', async () => {
    const config = configWithOutsideRecordings();
    const refused = await runCli(['audit', 'logs.jsonl', '--config', config], { cwd: p.dir, env: p.env });
    expect(refused.status, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/at models\.rec\.path\): recorded outputs of model "rec" .*is outside the project/);
    const allowed = await runCli(['audit', 'logs.jsonl', '--config', config, '--allow-path', outside], { cwd: p.dir, env: p.env });
    expect(allowed.status, allowed.stderr).toBe(0);
    expect(allowed.stdout).toContain('big-1');
  });

  it('batch collect takes --allow-path like run (an unknown run is then the only complaint)', async () => {
    const out = await runCli(['batch', 'collect', 'nope', '--db', p.dbFile, '--allow-path', outside], { cwd: p.dir, env: p.env });
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('no run with id "nope"');
  });
});
