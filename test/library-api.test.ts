/**
 * The public library entry, used the way teams use it: from vitest, on the bundled GSM8K demo (real
 * recorded GPT-4-Turbo and Mixtral outputs, offline). Everything is imported from src/index.ts only,
 * so an export dropped from the entry fails here.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { agreement, ConfigError, defineConfig, run, simulate, suggest, type RunResult } from '../src/index.js';

const SUITE = 'suites/gsm8k-routing';
const dir = mkdtempSync(join(tmpdir(), 'evalroute-lib-'));
const db = join(dir, 'results.db');
let exitSpy: ReturnType<typeof vi.spyOn>;
let result: RunResult;

beforeAll(async () => {
  exitSpy = vi.spyOn(process, 'exit').mockImplementation((code) => {
    throw new Error(`process.exit(${String(code)}) called by the library`);
  });
  result = await run({ suiteDir: SUITE, db });
});
afterEach(() => {
  expect(exitSpy).not.toHaveBeenCalled();
});
afterAll(() => {
  exitSpy.mockRestore();
  rmSync(dir, { recursive: true, force: true });
});

describe('run() from the library', () => {
  it('returns the per-tier verdicts a test can assert on, without exiting', () => {
    expect(result.exitCode).toBe(1);
    expect(result.summary.status).toBe('complete');
    expect(result.summary.pass).toBe(false);
    expect(result.summary.tiers.map((t) => t.tier)).toEqual(['cheap', 'frontier']);

    const cheap = result.summary.tiers.find((t) => t.tier === 'cheap')!;
    // The README's measured figures: 270 short word problems, Mixtral 180/270 vs GPT-4-Turbo 240/270.
    expect(cheap).toMatchObject({ model: 'mixtral', baselineModel: 'gpt-4-turbo', cases: 270, errors: 0, pass: false, outcome: 'fail', rule: 'noninferiority' });
    expect(cheap.passRate).toBeCloseTo(180 / 270, 12);
    expect(cheap.baselinePassRate).toBeCloseTo(240 / 270, 12);
    expect(cheap.delta).toBeLessThan(-0.05);
    expect(cheap.ci![1]).toBeLessThan(0);
    expect(cheap.headline).toMatch(/^FAIL — regressed/);

    const frontier = result.summary.tiers.find((t) => t.tier === 'frontier')!;
    expect(frontier).toMatchObject({ model: 'gpt-4-turbo', cases: 230, pass: true });
    expect(result.results).toHaveLength(500);
    expect(result.dbFile).toBe(resolve(db));
    expect(existsSync(db)).toBe(true);
  });

  it('records the commit checked out where it ran (read while the project loads)', () => {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const stored = new Database(db, { readonly: true });
    try {
      expect(stored.prepare('select git_commit from runs where id = ?').get(result.runId)).toEqual({ git_commit: head });
    } finally {
      stored.close();
    }
  });

  it('rejects a bad routing file with a ConfigError naming file and line, and writes nothing', async () => {
    const bad = join(dir, 'bad-routing.yaml');
    writeFileSync(bad, 'baseline: gpt-4-turbo\ntiers:\n  cheap: { model: mixtral, gate: { minPassRate: 1.5 } }\nrules:\n  - { tier: cheap }\n');
    const otherDb = join(dir, 'never-created.db');
    const err = await run({ suiteDir: SUITE, routing: bad, db: otherDb }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CONFIG_INVALID');
    expect((err as ConfigError).exitCode).toBe(2);
    expect((err as ConfigError).message).toContain(`${bad}:3`);
    expect((err as ConfigError).message).toContain('tiers.cheap.gate.minPassRate');
    expect(existsSync(otherDb)).toBe(false);
  });

  it('simulate() scores the same routing from the stored results to the same verdicts', async () => {
    const sim = await simulate({ suiteDir: SUITE, db });
    expect(sim.exitCode).toBe(0);
    const [scored] = sim.routings;
    expect(scored!.missing).toEqual([]);
    expect(scored!.tiers.map((t) => [t.tier, t.cases, t.pass])).toEqual(result.summary.tiers.map((t) => [t.tier, t.cases, t.pass]));
    expect(scored!.overall.savings).toBeGreaterThan(0);
  });

  it('suggest() keeps the suite on the frontier when the cheap model fails the whole class', async () => {
    // Every GSM8K case is one class (task "math-word-problem"): Mixtral is far below the 5-point margin.
    const s = await suggest({ suiteDir: SUITE, db: join(dir, 'suggest.db'), fill: true, minCases: 20 });
    expect(s.baseline).toBe('gpt-4-turbo');
    expect(s.classes.map((c) => [c.name, c.cases, c.model])).toEqual([['math-word-problem', 500, 'gpt-4-turbo']]);
    expect(s.classes[0]!.candidates).toMatchObject([{ model: 'mixtral', pass: false }]);
    expect(s.classes[0]!.note).toBe('no cheaper model holds the bar');
    expect(s.yaml).toMatch(/^baseline: "gpt-4-turbo"$/m);
  });
});

describe('judge calibration recipe (docs/library.md)', () => {
  it('pairs human verdicts from the goldens with the grader verdicts and measures agreement and kappa', async () => {
    // A copy of the demo whose goldens carry human verdicts on 60 cases: equal to the grader's verdict
    // on 54 of them and the opposite on 6, so the recipe must find exactly 90% agreement.
    const project = join(dir, 'calibration');
    cpSync(resolve(SUITE), join(project, SUITE), { recursive: true });
    mkdirSync(join(project, 'goldens'));
    const labelled = [...result.results].sort((a, b) => a.caseId.localeCompare(b.caseId)).slice(0, 60);
    const human = new Map(labelled.map((r, i) => [r.caseId, i < 6 ? !r.candidate.pass : r.candidate.pass]));
    const goldens = readFileSync('goldens/gsm8k-routing.jsonl', 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => {
        const g = JSON.parse(l) as { id: string; human?: { pass: boolean } };
        const pass = human.get(g.id);
        return JSON.stringify(pass === undefined ? g : { ...g, human: { pass } });
      });
    writeFileSync(join(project, 'goldens/gsm8k-routing.jsonl'), `${goldens.join('\n')}\n`);

    // The recipe, as documented (with the suite's grader, `exact`, in place of `judge`).
    const GRADER = 'exact';
    const calibrated = await run({ suiteDir: join(project, SUITE), db });
    const pairs: [string, string][] = [];
    for (const r of calibrated.results) {
      const humanPass = calibrated.goldens.get(r.caseId)?.human?.pass;
      const graded = r.candidate.grades.find((g) => g.grader === GRADER);
      if (humanPass === undefined || !graded || graded.error) continue;
      pairs.push([String(humanPass), String(graded.pass)]);
    }
    const { n, agreement: agreed, kappa } = agreement(pairs);

    expect(n).toBe(60);
    expect(agreed).toBeCloseTo(0.9, 12);
    expect(kappa).toBeGreaterThan(0.5);
    expect(kappa).toBeLessThan(0.9);
  });
});

describe('defineConfig()', () => {
  it('returns its argument, and the config it types loads and runs', async () => {
    const suiteAbs = resolve(SUITE);
    const config = defineConfig({
      models: {
        frontier: { provider: 'recorded', model: 'gpt-4-1106-preview', path: join(suiteAbs, 'recorded/gpt-4-turbo.jsonl'), price: { input: 10, output: 30 } },
        cheap: { provider: 'recorded', model: 'mistralai/Mixtral-8x7B-Instruct-v0.1', path: join(suiteAbs, 'recorded/mixtral.jsonl'), price: { input: 0.6, output: 0.6 } },
      },
      routing: 'routing.yaml',
    });
    expect(defineConfig(config)).toBe(config);

    const configFile = join(dir, 'evalroute.config.yaml');
    writeFileSync(configFile, stringify(config));
    writeFileSync(
      join(dir, 'routing.yaml'),
      'baseline: frontier\ntiers:\n  cheap: { model: cheap, gate: { maxRegression: 0.05 } }\n  big: { model: frontier }\nrules:\n  - { name: long, when: { minInputChars: 400 }, tier: cheap }\n  - { tier: big }\n',
    );
    const r = await run({ suiteDir: SUITE, config: configFile, db: join(dir, 'generated.db') });
    expect(r.summary.status).toBe('complete');
    expect(r.summary.tiers.map((t) => t.tier)).toEqual(['cheap', 'big']);
    // Complement of the demo's rule (≤ 400 chars → 270 cases): the long problems.
    expect(r.summary.tiers.find((t) => t.tier === 'cheap')!.cases).toBe(230);
  });

  it('rejects keys the config schema does not know, at compile time', () => {
    // Checked by `tsc -p tsconfig.json` (test/ is type-checked): an unused @ts-expect-error fails it.
    // @ts-expect-error — misspelt top-level key
    defineConfig({ store: 'x.db', modles: {} });
    // @ts-expect-error — misspelt model key
    defineConfig({ models: { m: { provider: 'openai', modle: 'gpt-4o' } } });
    // @ts-expect-error — wrong type
    defineConfig({ models: { m: { provider: 'openai', concurrency: 'high' } } });
    // Free-form request params stay free-form.
    const ok = defineConfig({ models: { m: { provider: 'openai', model: 'gpt-4o', params: { temperature: 0, response_format: { type: 'json_object' } } } } });
    expect(ok.models.m.model).toBe('gpt-4o');
  });
});
