/**
 * `--resume` continues exactly the run it names, or refuses: it never mixes outputs graded against an
 * old suite with new ones, and two processes never make the same run's calls.
 */
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/api/run.js';
import { StoreError, UsageError } from '../src/core/errors.js';
import { ensureCliBuilt, runCli, startCli } from './support/cli.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject, type TestProject } from './support/project.js';

/** Holds answers while `hold()` is on, until `release()`: a run that is surely still running. */
const gate = {
  waiting: 0,
  open: Promise.resolve(),
  release: () => undefined as void,
  hold() {
    this.open = new Promise<void>((resolve) => (this.release = resolve));
  },
};
const answer = arithmeticResponder();

let server: MockLlmServer;
let held: MockLlmServer;
beforeAll(async () => {
  server = await startMockLlmServer({ responder: answer });
  held = await startMockLlmServer({
    responder: async (req) => {
      gate.waiting++;
      await gate.open;
      return answer(req);
    },
  });
}, 60_000);
afterAll(async () => {
  gate.release();
  await server.close();
  await held.close();
});

/** `case|model|repeat` → attempts, of every stored call. */
function storedAttempts(dbFile: string): Map<string, number> {
  const db = new Database(dbFile, { readonly: true });
  try {
    const rows = db.prepare('select case_id, model_key, repeat, attempts from responses').all() as { case_id: string; model_key: string; repeat: number; attempts: number }[];
    return new Map(rows.map((r) => [`${r.case_id}|${r.model_key}|${r.repeat}`, r.attempts]));
  } finally {
    db.close();
  }
}

function responseRows(dbFile: string): number {
  const db = new Database(dbFile, { readonly: true });
  try {
    return (db.prepare('select count(*) n from responses').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Starts a run and stops it after `calls` settled calls: an interrupted run to resume. */
async function interruptedRun(p: TestProject, calls: number): Promise<string> {
  const stop = new AbortController();
  const r = await run({
    suiteDir: p.suiteDir,
    cwd: p.dir,
    env: p.env,
    concurrency: 1,
    signal: stop.signal,
    onProgress: (e) => {
      if (e.done >= calls) stop.abort();
    },
  });
  expect(r.summary.status).toBe('interrupted');
  return r.runId;
}

const edit = (file: string, change: (text: string) => string) => writeFileSync(file, change(readFileSync(file, 'utf8')));

describe('resume refuses to mix suite versions', () => {
  it('names the prompt, the goldens and the model that changed, makes no call and writes nothing', async () => {
    const p = createProject(server, { cases: 20 });
    const runId = await interruptedRun(p, 6);
    const rows = responseRows(p.dbFile);

    const suiteFile = join(p.suiteDir, 'suite.yaml');
    const goldensFile = join(p.dir, 'goldens/arith.jsonl');
    const suiteBefore = readFileSync(suiteFile, 'utf8');
    const goldensBefore = readFileSync(goldensFile, 'utf8');
    edit(suiteFile, (t) => t.replace('Answer with the number only.', 'Answer with the number only, no words.'));
    edit(goldensFile, (t) => t.replace('{"id":"c003","expected":"10"}', '{"id":"c003","expected":"11"}').replace('{"id":"c015","expected":"22"}', '{"id":"c015","expected":"0"}'));
    edit(p.configFile, (t) => t.replace('model: small-1,', 'model: small-1, params: { temperature: 0.5 },'));

    const err = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, resume: runId }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    const message = (err as Error).message;
    expect(message).toContain(`cannot resume run ${runId}`);
    expect(message).toContain('the prompt or the suite params changed');
    expect(message).toContain('goldens changed: "c003", "c015"');
    expect(message).toContain('models changed: "small"');
    expect(message).not.toContain('cases changed');
    // No call: any would carry the edited prompt. (Not a count of the server's log: the call in flight
    // when the first run was stopped may reach the server after that run returned.)
    expect(server.requests.filter((r) => JSON.stringify(r.messages).includes('no words'))).toEqual([]);
    expect(responseRows(p.dbFile)).toBe(rows);

    // Restored files resume; the result is the uninterrupted one.
    writeFileSync(suiteFile, suiteBefore);
    writeFileSync(goldensFile, goldensBefore);
    edit(p.configFile, (t) => t.replace('model: small-1, params: { temperature: 0.5 },', 'model: small-1,'));
    const resumed = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, resume: runId });
    expect(resumed.runId).toBe(runId);
    expect(resumed.summary.status).toBe('complete');
  });

  it('reports changed case inputs and grader options by name', async () => {
    const p = createProject(server, { cases: 10 });
    const runId = await interruptedRun(p, 3);
    edit(join(p.suiteDir, 'cases.jsonl'), (t) => t.replace('"a":4,', '"a":40,'));
    edit(join(p.suiteDir, 'suite.yaml'), (t) => t.replace('normalize: [trim, number]', 'normalize: [trim]'));
    const err = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, resume: runId }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('cases changed: "c004"');
    expect((err as Error).message).toContain('the graders (or a file they use, or the judge) changed');
    expect((err as Error).message).not.toContain('prompt');
  });
});

describe('one process at a time makes a run\'s calls', () => {
  it('a second --resume while the first process runs exits 2 naming the holder, and no call is made twice', async () => {
    ensureCliBuilt();
    const p = createProject(held, { cases: 20 });
    // Answers wait for the test's go-ahead, so the first process is surely mid-run; no timeout meanwhile.
    edit(p.configFile, (t) => t.replaceAll('timeoutMs: 2000', 'timeoutMs: 120000'));
    const runId = await interruptedRun(p, 2);
    const before = storedAttempts(p.dbFile);
    // The call in flight when the run stopped may still be read by the server (same process): let it land.
    for (let seen = -1; seen !== held.requests.length; ) {
      seen = held.requests.length;
      await new Promise((r) => setTimeout(r, 300));
    }
    held.reset();
    gate.waiting = 0;
    gate.hold();
    const first = startCli(['run', p.suiteDir, '--resume', runId, '--concurrency', '1'], { cwd: p.dir, env: p.env });
    for (let i = 0; gate.waiting === 0; i++) {
      if (i > 1200) throw new Error('the first resume never called the API');
      await new Promise((r) => setTimeout(r, 50));
    }
    const secondRun = runCli(['run', p.suiteDir, '--resume', runId], { cwd: p.dir, env: p.env });
    // A second process that (wrongly) calls the API waits at the gate too: let both finish after a while.
    await Promise.race([secondRun, new Promise((r) => setTimeout(r, 30_000))]);
    gate.release();
    const second = await secondRun;
    const done = await first.done;
    expect(second.status, second.stderr).toBe(2);
    expect(second.stderr).toContain(`run ${runId} is being run by another evalroute process (pid ${first.child.pid} on host ${hostname()}`);
    expect(second.stderr).not.toContain('Resuming run');
    expect(done.status, done.stderr).toBe(0);
    // Every request the API saw was an attempt of the first process's calls: none came from the second.
    const after = storedAttempts(p.dbFile);
    const made = [...after].filter(([k]) => !before.has(k)).reduce((n, [, attempts]) => n + attempts, 0);
    expect(after.size).toBe(30);
    const requests = held.requests;
    const asked = requests.map((r) => `${r.model}|${r.messages.at(-1)?.content}`);
    expect(asked.filter((a, i) => asked.indexOf(a) !== i)).toEqual([]);
    expect(requests.length).toBe(made);
  }, 120_000);

  it('takes over the lock of a process that died, and refuses a live one in the same process', async () => {
    const p = createProject(server, { cases: 6 });
    const runId = await interruptedRun(p, 2);
    const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid!;
    const db = new Database(p.dbFile);
    db.prepare('INSERT INTO run_locks (run_id, pid, host, token, started_at) VALUES (?, ?, ?, ?, ?)').run(runId, dead, hostname(), 'gone', new Date().toISOString());
    db.close();
    const resumed = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, resume: runId });
    expect(resumed.summary.status).toBe('complete');
    // Released at the end: no lock is left behind.
    const check = new Database(p.dbFile, { readonly: true });
    expect(check.prepare('select count(*) n from run_locks').get()).toEqual({ n: 0 });
    check.close();

    // Two resumes in one process: the second is refused while the first holds the lock.
    const q = createProject(held, { cases: 10 });
    const qRun = await interruptedRun(q, 2);
    gate.hold();
    let started!: () => void;
    const aStarted = new Promise<void>((r) => (started = r));
    const a = run({ suiteDir: q.suiteDir, cwd: q.dir, env: q.env, resume: qRun, concurrency: 1, onStart: () => started() });
    await aStarted;
    const b = await run({ suiteDir: q.suiteDir, cwd: q.dir, env: q.env, resume: qRun }).catch((e: unknown) => e);
    gate.release();
    expect(b).toBeInstanceOf(StoreError);
    expect((b as Error).message).toContain(`pid ${process.pid}`);
    expect((await a).summary.status).toBe('complete');
  }, 60_000);
});
