import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError, UsageError } from '../src/core/errors.js';
import type { CallOutcome, Case, NewRun, RunSummary } from '../src/core/types.js';
import { isSqliteFile, openStore, STORE_SCHEMA_VERSION } from '../src/store/index.js';
import type { SqliteStore } from '../src/store/index.js';

let dir: string;
const open: SqliteStore[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evalroute-store-'));
});
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function store(file = path.join(dir, 'nested', 'results.db'), opts: { readonly?: boolean } = {}): SqliteStore {
  const s = openStore(file, opts);
  open.push(s);
  return s;
}

function cases(n: number): Case[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `c${i}`,
    vars: { q: `question ${i}` },
    task: i % 2 ? 'classification' : 'qa',
    origin: { file: 'cases.jsonl', line: i + 1 },
  }));
}

function newRun(cs: Case[], over: Partial<NewRun> = {}): NewRun {
  return {
    suite: 'support',
    suiteDir: '/suites/support',
    configContent: 'models: {}\n',
    routingFile: '/repo/routing.yaml',
    routingContent: 'baseline: gpt4\n',
    routingHash: 'abc123',
    cases: cs,
    assignment: new Map(cs.map((c, i) => [c.id, i % 3 === 0 ? 'frontier' : 'cheap'])),
    baseline: 'gpt4',
    ...over,
  };
}

function ok(caseId: string, modelKey: string, over: Partial<CallOutcome> = {}): CallOutcome {
  return {
    caseId,
    modelKey,
    repeat: 0,
    requestHash: `h-${caseId}-${modelKey}`,
    completion: { text: `answer ${caseId} ${modelKey}`, usage: { input: 10, output: 5 }, latencyMs: 120, costUsd: 0.0012, requestId: 'req_1', model: 'gpt-4.1', attempts: 1 },
    grades: [
      { grader: 'exact', score: 1, pass: true },
      { grader: 'judge', score: 0.5, pass: false, explanation: 'partly right' },
    ],
    pass: false,
    score: 0.75,
    ...over,
  };
}

function failed(caseId: string, modelKey: string, requestHash: string): CallOutcome {
  return {
    caseId,
    modelKey,
    repeat: 0,
    requestHash,
    error: { kind: 'rate_limit', message: '429 Too Many Requests', status: 429, requestId: 'req_err' },
    grades: [],
    pass: false,
    score: 0,
  };
}

const summary = (runId: string): RunSummary => ({ runId, suite: 'support', status: 'complete', pass: true, tiers: [], models: [] });

function countRows(file: string, table: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
  } finally {
    db.close();
  }
}

describe('opening and migrations', () => {
  it('creates parent folders, sets WAL and the schema version, and survives close + reopen', () => {
    const file = path.join(dir, 'a', 'b', 'results.db');
    const s = store(file);
    const id = s.beginRun(newRun(cases(3)));
    s.saveCall(id, ok('c0', 'gpt4'));
    s.finishRun(id, 'complete', summary(id));
    s.close();

    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(STORE_SCHEMA_VERSION);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();

    const again = store(file);
    const run = again.getRun(id);
    expect(run?.status).toBe('complete');
    expect(run?.summary).toEqual(summary(id));
    expect(run?.finishedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(again.getCalls(id)).toHaveLength(1);
    expect(again.getCases(id).map((c) => c.caseId)).toEqual(['c0', 'c1', 'c2']);
    again.close();
    // Re-running migration 1 would have failed (tables exist) or duplicated the marker row.
    expect(countRows(file, 'evalroute_meta')).toBe(1);
  });

  it('rejects a file that is not SQLite and leaves it byte-identical', () => {
    const file = path.join(dir, 'notes.db');
    fs.writeFileSync(file, 'these are my notes, not a database\n');
    const before = fs.readFileSync(file);
    expect(isSqliteFile(file)).toBe(false);
    const err = (() => {
      try {
        openStore(file);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(/not an evalroute results database.*not an SQLite file/);
    expect((err as Error).message).toContain('--db');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['notes.db']);
  });

  it.each(['delete', 'wal'])('rejects a newer schema (%s journal) without touching the file', (mode) => {
    const file = path.join(dir, 'newer.db');
    const s = openStore(file);
    s.close();
    const db = new Database(file);
    db.pragma(`journal_mode = ${mode}`);
    db.pragma(`user_version = ${STORE_SCHEMA_VERSION + 1}`);
    db.close();
    const before = fs.readFileSync(file);
    const mtime = fs.statSync(file).mtimeMs;
    const listing = fs.readdirSync(dir).sort();

    expect(() => openStore(file)).toThrow(StoreError);
    expect(() => openStore(file)).toThrow(
      `created by a newer evalroute (schema v${STORE_SCHEMA_VERSION + 1}, this version knows v${STORE_SCHEMA_VERSION}); upgrade evalroute or use another --db`,
    );
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.statSync(file).mtimeMs).toBe(mtime);
    expect(fs.readdirSync(dir).sort()).toEqual(listing);
  });

  it('rejects an SQLite database that belongs to another program', () => {
    const file = path.join(dir, 'other.db');
    const db = new Database(file);
    db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)');
    db.close();
    const before = fs.readFileSync(file);
    expect(isSqliteFile(file)).toBe(true);
    expect(() => openStore(file)).toThrow(/SQLite database but not an evalroute results database \(tables: users\)/);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(countRows(file, 'sqlite_schema')).toBe(1);
  });

  it('adopts an empty file, and refuses a missing one when read-only', () => {
    const empty = path.join(dir, 'empty.db');
    fs.writeFileSync(empty, '');
    const s = store(empty);
    expect(s.listRuns()).toEqual([]);
    expect(() => openStore(path.join(dir, 'missing.db'), { readonly: true })).toThrow(/no results database exists here/);
    expect(fs.existsSync(path.join(dir, 'missing.db'))).toBe(false);
  });

  it('a read-only store reads but refuses writes with a StoreError', () => {
    const file = path.join(dir, 'ro.db');
    const w = store(file);
    const id = w.beginRun(newRun(cases(1)));
    w.saveCall(id, ok('c0', 'gpt4'));
    const r = store(file, { readonly: true });
    expect(r.getCalls(id)).toHaveLength(1);
    expect(() => r.saveCall(id, ok('c0', 'flash'))).toThrow(/opened read-only/);
  });
});

describe('saving calls', () => {
  it('replaces an earlier save of the same call: no duplicate rows, grades replaced', () => {
    const s = store();
    const id = s.beginRun(newRun(cases(2)));
    s.saveCall(id, failed('c0', 'flash', 'h-c0-flash'));
    s.saveCall(id, ok('c0', 'flash'));
    s.saveCall(id, ok('c0', 'flash', { grades: [{ grader: 'exact', score: 1, pass: true }], pass: true, score: 1 }));
    s.saveCall(id, ok('c0', 'flash', { repeat: 1 }));

    expect(countRows(s.file, 'responses')).toBe(2);
    expect(countRows(s.file, 'grades')).toBe(1 + 2);
    const calls = s.getCalls(id);
    const first = calls.find((c) => c.repeat === 0)!;
    expect(first.error).toBeUndefined();
    expect(first.grades).toEqual([{ grader: 'exact', score: 1, pass: true }]);
    expect(first.pass).toBe(true);
    expect(first.score).toBe(1);
  });

  it('round-trips a completion and an error exactly, keeping unpriced cost NULL (not 0)', () => {
    const s = store();
    const id = s.beginRun(newRun(cases(2)));
    const priced = ok('c0', 'gpt4', {
      completion: { text: '', usage: { input: 7, output: 0, cachedInput: 3, estimated: true }, latencyMs: 88.5, costUsd: 0, attempts: 2, cached: false },
    });
    const unpriced = ok('c1', 'mixtral', { completion: { text: 'x', usage: { input: 1, output: 1 }, latencyMs: 5 } });
    const err = failed('c1', 'flash', 'h-err');
    for (const o of [priced, unpriced, err]) s.saveCall(id, o);

    const calls = s.getCalls(id);
    expect(calls).toEqual([priced, err, unpriced]); // suite order, then model key
    expect(calls[2]!.completion).not.toHaveProperty('costUsd');
    const db = new Database(s.file, { readonly: true });
    expect(db.prepare(`SELECT cost_usd FROM responses WHERE model_key = 'mixtral'`).pluck().get()).toBeNull();
    expect(db.prepare(`SELECT cost_usd FROM responses WHERE model_key = 'gpt4'`).pluck().get()).toBe(0);
    db.close();
  });

  it('stores a 1 MB output intact', () => {
    const s = store();
    const id = s.beginRun(newRun(cases(1)));
    const big = 'ö€x'.repeat(350_000) + '\u0000end';
    s.saveCall(id, ok('c0', 'gpt4', { completion: { text: big, usage: { input: 1, output: 300_000 }, latencyMs: 1 } }));
    expect(s.getCalls(id)[0]!.completion!.text).toBe(big);
    expect(s.findCachedCompletion('h-c0-gpt4')!.text).toBe(big);
  });

  it('refuses a call for an unknown run and duplicate grader names, writing nothing', () => {
    const s = store();
    expect(() => s.saveCall('r-nope', ok('c0', 'gpt4'))).toThrow(/run "r-nope" does not exist/);
    const id = s.beginRun(newRun(cases(1)));
    const dup = ok('c0', 'gpt4', { grades: [{ grader: 'g', score: 1, pass: true }, { grader: 'g', score: 0, pass: false }] });
    expect(() => s.saveCall(id, dup)).toThrow(StoreError);
    expect(countRows(s.file, 'responses')).toBe(0);
  });

  it('is visible to a second connection as soon as saveCall returns', () => {
    const file = path.join(dir, 'shared.db');
    const writer = store(file);
    const reader = store(file);
    const id = writer.beginRun(newRun(cases(2)));
    expect(reader.getRun(id)?.status).toBe('running');
    writer.saveCall(id, ok('c1', 'flash'));
    expect(reader.getCalls(id).map((c) => c.caseId)).toEqual(['c1']);
    expect(reader.findCachedCompletion('h-c1-flash')?.text).toBe('answer c1 flash');
  });
});

describe('response cache', () => {
  it('returns the newest success for a hash from any run, marked cached, never an error', () => {
    const s = store();
    const a = s.beginRun(newRun(cases(1)));
    const b = s.beginRun(newRun(cases(1)));
    const hash = 'shared-hash';
    s.saveCall(a, ok('c0', 'gpt4', { requestHash: hash, completion: { text: 'old', usage: { input: 1, output: 1 }, latencyMs: 10, costUsd: 0.5, requestId: 'req_old' } }));
    s.saveCall(b, ok('c0', 'gpt4', { requestHash: hash, completion: { text: 'new', usage: { input: 2, output: 3 }, latencyMs: 20, costUsd: 0.7, requestId: 'req_new' } }));
    s.saveCall(b, failed('c0', 'flash', hash));

    expect(s.findCachedCompletion(hash)).toEqual({ text: 'new', usage: { input: 2, output: 3 }, latencyMs: 20, costUsd: 0.7, requestId: 'req_new', cached: true });
    expect(s.findCachedCompletion('only-error')).toBeUndefined();
    s.saveCall(b, failed('c0', 'mixtral', 'only-error'));
    expect(s.findCachedCompletion('only-error')).toBeUndefined();
  });

  it('prefers a real call over a later copy that was itself served from the cache', () => {
    const s = store();
    const a = s.beginRun(newRun(cases(1)));
    const b = s.beginRun(newRun(cases(1)));
    s.saveCall(a, ok('c0', 'gpt4', { requestHash: 'h', completion: { text: 't', usage: { input: 1, output: 1 }, latencyMs: 10, costUsd: 0.5 } }));
    s.saveCall(b, ok('c0', 'gpt4', { requestHash: 'h', completion: { text: 't', usage: { input: 1, output: 1 }, latencyMs: 0, costUsd: 0, cached: true } }));
    expect(s.findCachedCompletion('h')).toMatchObject({ latencyMs: 10, costUsd: 0.5, cached: true });
  });
});

describe('runs and cases', () => {
  it('lists newest first and finds runs by id, unique prefix and "latest"', () => {
    const s = store();
    const ids = [1, 2, 3].map(() => s.beginRun(newRun(cases(1))));
    for (const id of ids) expect(id).toMatch(/^r\d{8}-\d{6}-[0-9a-f]{4}$/);
    expect(s.listRuns().map((r) => r.id)).toEqual([...ids].reverse());
    expect(s.listRuns(2)).toHaveLength(2);
    expect(s.getRun('latest')?.id).toBe(ids[2]);
    expect(s.getRun(ids[0]!)?.id).toBe(ids[0]);
    expect(() => s.getRun('r')).toThrow(UsageError);
    expect(s.getRun('x-unknown')).toBeUndefined();
    expect(s.getRun('r*')).toBeUndefined();
  });

  it('resolves a unique prefix', () => {
    const s = store();
    const id = s.beginRun(newRun(cases(1)));
    expect(s.getRun(id.slice(0, 5))?.id).toBe(id);
    expect(s.getRun('latest')?.routingHash).toBe('abc123');
  });

  it('stores run metadata, cases in suite order with tier, golden and rendered input, without origin', () => {
    const s = store();
    const cs = cases(4);
    const id = s.beginRun(
      newRun(cs, {
        gitCommit: 'deadbeef',
        goldens: new Map([['c1', { id: 'c1', expected: ['a', 'b'], origin: { file: 'g.jsonl', line: 2 } }]]),
        inputs: new Map([['c2', [{ role: 'user', content: 'hi' }]]]),
      }),
    );
    const run = s.getRun(id)!;
    expect(run).toMatchObject({ suite: 'support', suiteDir: '/suites/support', status: 'running', gitCommit: 'deadbeef', baseline: 'gpt4', routingFile: '/repo/routing.yaml' });
    expect(run).not.toHaveProperty('finishedAt');
    const stored = s.getCases(id);
    expect(stored.map((c) => [c.caseId, c.tier])).toEqual([
      ['c0', 'frontier'],
      ['c1', 'cheap'],
      ['c2', 'cheap'],
      ['c3', 'frontier'],
    ]);
    expect(stored[0]!.case).toEqual({ id: 'c0', vars: { q: 'question 0' }, task: 'qa' });
    expect(stored[1]!.golden).toEqual({ id: 'c1', expected: ['a', 'b'] });
    expect(stored[2]!.input).toEqual([{ role: 'user', content: 'hi' }]);
    expect(stored[0]).not.toHaveProperty('golden');
  });

  it('refuses a case without a tier and an unknown run on finish', () => {
    const s = store();
    const cs = cases(2);
    expect(() => s.beginRun(newRun(cs, { assignment: new Map([['c0', 'cheap']]) }))).toThrow(/case "c1" has no tier/);
    expect(s.listRuns()).toEqual([]);
    expect(() => s.finishRun('r-missing', 'complete', summary('r-missing'))).toThrow(StoreError);
  });

  it('getCalls groups grades with their own call across many rows', () => {
    const s = store();
    const cs = cases(2000);
    const id = s.beginRun(newRun(cs));
    const models = ['gpt4', 'flash', 'mixtral'];
    for (const c of cs) {
      for (const [m, model] of models.entries()) {
        const n = Number(c.id.slice(1));
        s.saveCall(id, {
          caseId: c.id,
          modelKey: model,
          repeat: 0,
          requestHash: `${c.id}/${model}`,
          completion: { text: `${c.id}:${model}`, usage: { input: n, output: m }, latencyMs: 1 },
          grades: [
            { grader: 'exact', score: (n % 2) as 0 | 1, pass: n % 2 === 1, explanation: `${c.id}:${model}:exact` },
            { grader: 'judge', score: m / 2, pass: m > 0, explanation: `${c.id}:${model}:judge` },
          ],
          pass: n % 2 === 1 && m > 0,
          score: (n % 2 + m / 2) / 2,
        });
      }
    }
    const calls = s.getCalls(id);
    expect(calls).toHaveLength(6000);
    expect(calls.slice(0, 3).map((c) => `${c.caseId}/${c.modelKey}`)).toEqual(['c0/flash', 'c0/gpt4', 'c0/mixtral']);
    for (const call of calls) {
      expect(call.grades.map((g) => g.grader)).toEqual(['exact', 'judge']);
      for (const g of call.grades) expect(g.explanation).toBe(`${call.caseId}:${call.modelKey}:${g.grader}`);
      expect(call.completion!.text).toBe(`${call.caseId}:${call.modelKey}`);
    }
  });
});
