import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { applyApproval, applyRejection, checkGoldensReviewed, readSuiteGoldens, withoutCaseLines, writeGoldens } from '../src/audit/goldens.js';
import { goldenApproveCommand } from '../src/cli/golden-command.js';
import { loadSuite } from '../src/config/load.js';
import type { GoldenLine } from '../src/config/schemas.js';
import { ConfigError, UsageError } from '../src/core/errors.js';
import type { Golden, Suite } from '../src/core/types.js';
import { openStore } from '../src/store/sqlite-store.js';
import { newRun } from './support/store-run.js';

const tmp = mkdtempSync(join(tmpdir(), 'evalroute-golden-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const CASE_IDS = ['a', 'b', 'c', 'd'];
const APPROVED_A: GoldenLine = { id: 'a', expected: 'paris', reference: 'Paris is the capital.', human: { pass: true }, status: 'approved', approvedBy: 'Ana', approvedAt: '2025-01-01T00:00:00.000Z' };
const GOLDENS: GoldenLine[] = [APPROVED_A, { id: 'b', expected: 'draft b', status: 'unreviewed' }, { id: 'c', expected: { x: 1 }, status: 'unreviewed' }];
const at = '2025-06-01T12:00:00.000Z';

describe('applyApproval', () => {
  it('refuses unknown case ids, naming them (exit code 2)', () => {
    let err: unknown;
    try {
      applyApproval(CASE_IDS, GOLDENS, { ids: ['b', 'zz', 'yy'], by: 'Bo', at });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(/unknown case id\(s\): "zz", "yy"/);
  });

  it('approves only the targeted drafts and never touches an existing approved golden', () => {
    const { goldens, approved } = applyApproval(CASE_IDS, GOLDENS, { ids: ['c'], by: 'Bo', at });
    expect(approved).toEqual(['c']);
    expect(goldens).toEqual([APPROVED_A, GOLDENS[1], { id: 'c', expected: { x: 1 }, status: 'approved', approvedBy: 'Bo', approvedAt: at }]);
  });

  it('--all-reviewed approves only goldens a person marked reviewed, never an unreviewed draft', () => {
    // Nobody reviewed anything: nothing is approved.
    expect(applyApproval(CASE_IDS, GOLDENS, { allReviewed: true, by: 'Bo', at }).approved).toEqual([]);
    const marked: GoldenLine[] = [APPROVED_A, { ...GOLDENS[1]!, status: 'reviewed' }, GOLDENS[2]!];
    const { goldens, approved } = applyApproval(CASE_IDS, marked, { allReviewed: true, by: 'Bo', at });
    expect(approved).toEqual(['b']);
    expect(goldens.map((g) => [g.id, g.status])).toEqual([['a', 'approved'], ['b', 'approved'], ['c', 'unreviewed']]);
    expect(goldens[0]).toEqual(APPROVED_A);
    expect(goldens[1]).toMatchObject({ approvedBy: 'Bo', approvedAt: at });
  });

  it('refuses a case without a golden unless outputs come from a run', () => {
    expect(() => applyApproval(CASE_IDS, GOLDENS, { ids: ['d'], by: 'Bo', at })).toThrow(/"d" have no golden to approve[\s\S]*--run/);
    expect(() => applyApproval(CASE_IDS, GOLDENS, { by: 'Bo', at })).toThrow(/--cases .* or --all-reviewed/);
  });

  it('from a run: the outputs become the expected values; JSON stays JSON; unanswered cases are refused', () => {
    const outputs = new Map([
      ['c', '{"x": 2}'],
      ['d', 'new d'],
      ['a', 'lyon'],
    ]);
    const r = applyApproval(CASE_IDS, GOLDENS, { ids: ['c', 'd'], outputs, by: 'Bo', at });
    expect(r.approved).toEqual(['c', 'd']);
    expect(r.goldens.map((g) => [g.id, g.expected, g.status])).toEqual([
      ['a', 'paris', 'approved'],
      ['b', 'draft b', 'unreviewed'],
      ['c', { x: 2 }, 'approved'],
      ['d', 'new d', 'approved'],
    ]);
    // Named explicitly, an approved golden is updated (snapshot update), keeping its other fields.
    const explicit = applyApproval(CASE_IDS, GOLDENS, { ids: ['a'], outputs, by: 'Bo', at });
    expect(explicit.goldens[0]).toEqual({ ...APPROVED_A, expected: 'lyon', approvedBy: 'Bo', approvedAt: at });
    expect(() => applyApproval(CASE_IDS, GOLDENS, { ids: ['b'], outputs, outputsFrom: 'run R model m', by: 'Bo', at })).toThrow(/run R model m has no output for case\(s\) "b"/);
  });

  it('rejection drops drafts only', () => {
    expect(applyRejection(GOLDENS, ['b']).map((g) => g.id)).toEqual(['a', 'c']);
    expect(() => applyRejection(GOLDENS, ['a'])).toThrow(/"a" are approved/);
  });

  it('a rejected draft takes its case line with it; every other line stays byte for byte', () => {
    const text = '{"id": "a", "vars": {"q": 1}}\n{"id":"b","vars":{"q":2}}\n\n{"id": "c", "vars": {"q": 3}}\n';
    expect(withoutCaseLines(text, ['b'])).toBe('{"id": "a", "vars": {"q": 1}}\n\n{"id": "c", "vars": {"q": 3}}\n');
    expect(withoutCaseLines(text, [])).toBe(text);
  });
});

function writeSuiteFolder(root: string): string {
  const dir = join(root, 'suites', 'qa');
  mkdirSync(dir, { recursive: true });
  mkdirSync(join(root, 'goldens'), { recursive: true });
  writeFileSync(join(dir, 'suite.yaml'), 'graders:\n  - { type: exact }\n');
  writeFileSync(join(dir, 'cases.jsonl'), CASE_IDS.map((id) => JSON.stringify({ id, messages: [{ role: 'user', content: `q ${id}` }] })).join('\n') + '\n');
  // Out of case order on purpose: rewriting sorts by case order.
  writeFileSync(join(root, 'goldens', 'qa.jsonl'), [GOLDENS[2], GOLDENS[0], GOLDENS[1]].map((g) => JSON.stringify(g)).join('\n') + '\n');
  return dir;
}

describe('golden files', () => {
  it('writes stably ordered JSONL atomically, and the loader accepts approvedBy/approvedAt', () => {
    const root = join(tmp, 'files');
    const dir = writeSuiteFolder(root);
    const s = readSuiteGoldens(dir);
    expect(s.goldensFile).toBe(join(root, 'goldens', 'qa.jsonl'));
    const { goldens } = applyApproval(s.cases.map((c) => c.id), s.goldens, { ids: ['b'], by: 'Bo', at });
    writeGoldens(s.goldensFile, goldens);
    const lines = readFileSync(s.goldensFile, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as GoldenLine).id)).toEqual(['a', 'b', 'c']);
    expect(lines[0]).toBe(JSON.stringify(APPROVED_A));
    expect(lines[1]).toBe('{"id":"b","expected":"draft b","status":"approved","approvedBy":"Bo","approvedAt":"2025-06-01T12:00:00.000Z"}');
    expect(readdirSync(join(root, 'goldens'))).toEqual(['qa.jsonl']);
    const suite = loadSuite(dir, { graderTypes: ['exact'], graderNeedsGolden: () => false });
    expect(suite.goldens.get('b')?.status).toBe('approved');
  });

  describe('golden approve --run --model', () => {
    let out: ReturnType<typeof vi.spyOn>;
    beforeEach(() => {
      out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    });
    afterEach(() => out.mockRestore());

    it('takes the model\'s stored outputs as the new expected, only for the named cases', () => {
      const root = join(tmp, 'run');
      const dir = writeSuiteFolder(root);
      const db = join(root, 'results.db');
      const store = openStore(db);
      const cases = CASE_IDS.map((id, i) => ({ id, messages: [{ role: 'user' as const, content: `q ${id}` }], origin: { file: 'cases.jsonl', line: i + 1 } }));
      const runId = store.beginRun(newRun(cases, { suite: 'qa', suiteDir: dir }));
      for (const id of CASE_IDS) {
        store.saveCall(runId, {
          caseId: id,
          modelKey: 'big',
          repeat: 0,
          requestHash: `h-${id}`,
          completion: { text: `big says ${id}`, usage: { input: 1, output: 1 }, latencyMs: 1 },
          grades: [],
          pass: true,
          score: 1,
        });
      }
      store.close();

      expect(() => goldenApproveCommand(dir, { run: runId, model: 'small', cases: 'd', db, by: 'Cy' })).toThrow(/no successful output of model "small"[\s\S]*big/);
      expect(() => goldenApproveCommand(dir, { run: runId, model: 'big', cases: 'd,nope', db, by: 'Cy' })).toThrow(/unknown case id\(s\): "nope"/);
      expect(goldenApproveCommand(dir, { run: runId.slice(0, 12), model: 'big', cases: 'd', db, by: 'Cy' })).toBe(0);
      const after = readSuiteGoldens(dir).goldens;
      expect(after.map((g) => g.id)).toEqual(['a', 'b', 'c', 'd']);
      expect(after[0]).toEqual(APPROVED_A);
      expect(after[3]).toMatchObject({ id: 'd', expected: 'big says d', status: 'approved', approvedBy: 'Cy' });
    });
  });
});

describe('checkGoldensReviewed', () => {
  const golden = (id: string, status?: Golden['status']): Golden => ({ id, ...(status ? { status } : {}), origin: { file: '/p/goldens/s.jsonl', line: CASE_IDS.indexOf(id) + 1 } });
  const suite = (goldens: Golden[]): Suite => ({
    name: 's',
    dir: '/p/suites/s',
    file: '/p/suites/s/suite.yaml',
    prompt: {},
    graders: [],
    params: {},
    cases: [],
    goldens: new Map(goldens.map((g) => [g.id, g])),
    casesFile: '/p/suites/s/cases.jsonl',
    goldensFile: '/p/goldens/s.jsonl',
  });

  it('refuses unreviewed goldens, naming the file, the count and the first ids, with the way out', () => {
    const s = suite([golden('a', 'approved'), golden('b', 'unreviewed'), golden('c', 'unreviewed'), golden('d')]);
    let err: unknown;
    try {
      checkGoldensReviewed(s, false);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^\/p\/goldens\/s\.jsonl:2: 2 of 4 goldens are unreviewed \("b", "c"\)/);
    expect(msg).toMatch(/evalroute golden review \/p\/suites\/s/);
    expect(msg).toMatch(/--allow-unreviewed/);
  });

  it('passes when allowed, when everything is approved, and for goldens without a status', () => {
    expect(() => checkGoldensReviewed(suite([golden('a', 'unreviewed')]), true)).not.toThrow();
    expect(() => checkGoldensReviewed(suite([golden('a', 'approved'), golden('b')]), false)).not.toThrow();
  });
});
