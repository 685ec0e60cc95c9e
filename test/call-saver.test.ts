/**
 * The engine's call saver against a real SQLite file: calls settled together (replayed or paid) share one
 * transaction written before the turn ends, and a failing batch still keeps every call that can be stored.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallOutcome, Case } from '../src/core/types.js';
import { CallSaver } from '../src/engine/call-saver.js';
import { openStore, type SqliteStore } from '../src/store/index.js';
import { newRun } from './support/store-run.js';

let dir: string;
let store: SqliteStore;
let runId: string;
const cases: Case[] = Array.from({ length: 20 }, (_, i) => ({ id: `c${i}`, vars: { q: `${i}` }, origin: { file: 'cases.jsonl', line: i + 1 } }));

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evalroute-saver-'));
  store = openStore(path.join(dir, 'results.db'));
  runId = store.beginRun(newRun(cases, { suiteDir: dir }));
});
afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const outcome = (i: number, cached: boolean): CallOutcome => ({
  caseId: `c${i}`,
  modelKey: 'big',
  repeat: 0,
  requestHash: `h${i}`,
  completion: { text: `${i}`, usage: { input: 1, output: 1 }, latencyMs: 1, cached },
  grades: [{ grader: 'exact', score: 1, pass: true }],
  pass: true,
  score: 1,
});

/** The store, counting the transactions it is asked for. */
function counting(s: SqliteStore) {
  const seen = { batches: [] as number[], single: 0 };
  return {
    seen,
    saveCalls: (id: string, os: readonly CallOutcome[]) => {
      seen.batches.push(os.length);
      s.saveCalls(id, os);
    },
    saveCall: (id: string, o: CallOutcome) => {
      seen.single++;
      s.saveCall(id, o);
    },
  };
}

describe('CallSaver', () => {
  it('saves the replayed calls settled in one turn in one transaction, and each resolves once stored', async () => {
    const s = counting(store);
    const saver = new CallSaver(s, runId);
    await Promise.all(Array.from({ length: 20 }, (_, i) => saver.save(outcome(i, true))));
    expect(s.seen).toEqual({ batches: [20], single: 0 });
    expect(store.getCalls(runId)).toHaveLength(20);
  });

  it('saves paid calls settled in one turn together, before the turn ends', async () => {
    const s = counting(store);
    const saver = new CallSaver(s, runId);
    const saved = [saver.save(outcome(0, false)), saver.save(outcome(1, false))];
    expect(s.seen.batches).toEqual([]);
    // Queued after the saver's own setImmediate, so it runs after the batch is written in this turn.
    await new Promise((r) => setImmediate(r));
    expect(s.seen).toEqual({ batches: [2], single: 0 });
    expect(store.getCalls(runId)).toHaveLength(2);
    await Promise.all(saved);
  });

  it('when a batch fails, keeps every call that can be stored and fails only the ones that cannot', async () => {
    const db = new Database(path.join(dir, 'results.db'));
    db.exec(`CREATE TRIGGER disk_full BEFORE INSERT ON responses WHEN (SELECT count(*) FROM responses) >= 6
             BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;`);
    db.close();
    const saver = new CallSaver(store, runId);
    const settled = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => saver.save(outcome(i, true))));
    expect(settled.map((r) => r.status)).toEqual([...Array(6).fill('fulfilled'), ...Array(4).fill('rejected')]);
    expect((settled[6] as PromiseRejectedResult).reason).toMatchObject({ message: expect.stringContaining('database or disk is full') });
    expect(store.getCalls(runId).map((c) => c.caseId)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5']);
  });
});
