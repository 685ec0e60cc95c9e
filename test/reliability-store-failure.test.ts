/**
 * When the store stops taking writes (disk full, read-only file, any save error), every further call
 * would be paid for and lost. The run must stop calling at once and end resumable, saying why.
 * The failure is real: an SQLite trigger in the results file makes inserts fail after a few calls.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/api/run.js';
import { RunIncompleteError } from '../src/core/errors.js';
import { openStore } from '../src/store/sqlite-store.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject } from './support/project.js';

let server: MockLlmServer;
beforeAll(async () => {
  server = await startMockLlmServer({ latencyMs: 20, responder: arithmeticResponder() });
});
afterAll(() => server.close());

const SAVED_BEFORE_FULL = 6;

describe('a store that fails to save', () => {
  it('stops new calls at once, ends the run interrupted with the cause, and a resume finishes it', async () => {
    const p = createProject(server, { cases: 40 }); // 60 calls, 4 in flight per model
    openStore(p.dbFile).close();
    const db = new Database(p.dbFile);
    db.exec(`CREATE TRIGGER disk_full BEFORE INSERT ON responses WHEN (SELECT count(*) FROM responses) >= ${SAVED_BEFORE_FULL}
             BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;`);
    db.close();

    const err = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env }).catch((e: unknown) => e);
    // Calls made: the saved ones, the one that failed to save and at most those already in flight
    // (4 per model) — not the remaining 50-odd.
    expect(server.requests.length).toBeLessThanOrEqual(SAVED_BEFORE_FULL + 1 + 8);
    expect(err).toBeInstanceOf(RunIncompleteError);
    expect((err as RunIncompleteError).exitCode).toBe(3);
    const message = (err as Error).message;
    expect(message).toContain(p.dbFile);
    expect(message).toContain('database or disk is full');
    expect(message).toMatch(new RegExp(`stopped making calls at once: ${SAVED_BEFORE_FULL} calls of run (\\S+) are saved`));
    const runId = /--resume (\S+)/.exec(message)![1]!;


    const check = new Database(p.dbFile);
    expect(check.prepare('select status from runs where id = ?').get(runId)).toEqual({ status: 'interrupted' });
    check.exec('DROP TRIGGER disk_full');
    check.close();

    const resumed = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, resume: runId });
    expect(resumed.summary.status).toBe('complete');
    expect(resumed.results).toHaveLength(40);
  });
});
