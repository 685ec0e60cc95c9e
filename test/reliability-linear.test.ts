/**
 * Hostile text: model outputs and case inputs of any size must be matched and graded in time linear in
 * their length, with user regexes on a linear-time engine, and grading must leave the event loop to the
 * calls in flight. The time bounds below are ~100× what linear code needs on a loaded machine and far
 * below what the quadratic/exponential versions took (tens of seconds).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/api/run.js';
import { ConfigError } from '../src/core/errors.js';
import { compileSafePattern, UnsafePatternError } from '../src/core/safe-regex.js';
import type { Case, Routing } from '../src/core/types.js';
import { createGrader, registerGrader } from '../src/graders/registry.js';
import { compareScalar, extract, normalizeText } from '../src/graders/normalize.js';
import { extractJson } from '../src/graders/json-extract.js';
import { routeCase } from '../src/routing/match.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject } from './support/project.js';

const N = 60_000;
/** The inputs that took seconds each before: long runs that a backtracking pattern rescans. */
const HOSTILE = [
  `-${' '.repeat(N)}x`,
  `$${' '.repeat(N)}x`,
  `${'.'.repeat(N)}x`,
  `${'*'.repeat(N)}x`,
  `"${'."'.repeat(N / 2)}x`,
  `answer${' '.repeat(N)}x`,
  `answer: ${' '.repeat(N)}`,
  `answer is ${' '.repeat(N)}x`,
  `answer: ${'*'.repeat(N)}x`,
  '`'.repeat(N),
  `\`\`\`${' '.repeat(N)}`,
  `\`\`\`json\n${'{'.repeat(N)}`,
];

function timed<T>(work: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = work();
  return { value, ms: performance.now() - start };
}

describe('exact grader normalisers and extractors are linear in the output', () => {
  it('every normaliser and extractor finishes each 60 KB hostile output quickly', () => {
    for (const text of HOSTILE) {
      const { ms } = timed(() => {
        compareScalar(text, '42', ['trim', 'whitespace', 'case', 'punctuation', 'number']);
        compareScalar(text, '42', ['number']);
        normalizeText(text, ['punctuation']);
        for (const e of ['last-number', 'hash-marker', 'answer-line', 'choice-letter'] as const) extract(text, e);
        extract(text, { type: 'choice-letter', guess: true });
        extractJson(text);
      });
      expect(ms, `${JSON.stringify(text.slice(0, 12))}… took ${ms.toFixed(0)} ms`).toBeLessThan(2_000);
    }
  });

  it('keeps what the normalisers and extractors meant', () => {
    expect(normalizeText('  **"Paris."**  ', ['punctuation'])).toBe('Paris');
    expect(normalizeText('"a", "b".', ['punctuation'])).toBe('a", "b');
    expect(normalizeText('.5', ['punctuation'])).toBe('.5');
    expect(compareScalar('- $ 20', '-20', ['trim', 'number']).equal).toBe(true);
    expect(compareScalar('$ -3', '-3', ['trim', 'number']).equal).toBe(true);
    expect(compareScalar('-   20', '-20', ['number']).equal).toBe(true);
    expect(compareScalar(`-${' '.repeat(N)}x`, '-20', ['trim', 'number'])).toMatchObject({ equal: false, mode: 'text' });
    expect(extract('so the **final answer:** **42**  ', 'answer-line')).toBe('42');
    expect(extract('Answer is: 7', 'answer-line')).toBe('7');
    expect(extract('The answer is \\( \\boxed{F} \\)', 'choice-letter')).toBe('F');
    expect(extract('The answer is **(E) proximity**', 'choice-letter')).toBe('E');
    expect(extractJson('see\n```json {"x":1}\n{"a": 2}\n``` and ```\n[1]\n```')).toEqual({ ok: true, value: { a: 2 }, source: 'fenced' });
  });

  it('a grade of a huge output hands the event loop back before the next grader runs', async () => {
    // Two graders: the first schedules a macrotask, the second checks it ran. Grading the graders
    // back to back in one microtask chain (the old engine) starves timers and sockets of calls in flight.
    let ticked = false;
    const seen: boolean[] = [];
    registerGrader('test-schedules-tick', {
      needsGolden: () => false,
      create: () => ({
        name: 'schedules-tick',
        needsGolden: false,
        grade: async () => {
          ticked = false;
          setImmediate(() => (ticked = true));
          return { grader: 'schedules-tick', score: 1, pass: true };
        },
      }),
    });
    registerGrader('test-sees-tick', {
      needsGolden: () => false,
      create: () => ({
        name: 'sees-tick',
        needsGolden: false,
        grade: async () => {
          seen.push(ticked);
          return { grader: 'sees-tick', score: 1, pass: true };
        },
      }),
    });
    const p = createProject(server, { cases: 4 });
    p.write(
      'suites/arith/suite.yaml',
      `name: arith
prompt: { user: "What is {{a}} + {{b}}?" }
graders:
  - { type: test-schedules-tick }
  - { type: test-sees-tick }
`,
    );
    const result = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env });
    expect(result.summary.status).toBe('complete');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every(Boolean)).toBe(true);
  });
});

describe('user regexes run on a linear-time engine', () => {
  const hostileInput = `${'a'.repeat(34)}!`;

  it('a routing rule with a catastrophic pattern routes a hostile case at once', () => {
    const routing = routingWith('(a+)+$');
    const c: Case = { id: 'evil', vars: {}, origin: { file: 'cases.jsonl', line: 1 } };
    const { value, ms } = timed(() => routeCase(routing, c, hostileInput));
    expect(value.tier).toBe('frontier');
    expect(routeCase(routing, c, 'aaaa').tier).toBe('cheap');
    expect(ms).toBeLessThan(2_000);
  });

  it('a grader extract.regex with a catastrophic pattern grades a hostile output at once', async () => {
    const grader = await createGrader(
      { type: 'exact', extract: { regex: '(a+)+$', group: 1 } },
      { location: { file: 'suite.yaml', path: 'graders[0]' }, suiteDir: '.' },
    );
    const { ms } = timed(() => extract(hostileInput, { regex: '(a+)+$', group: 1 }));
    expect(extract('xaaa', { regex: '(a+)+$', group: 1 })).toBe('aaa');
    expect(ms).toBeLessThan(2_000);
    const grade = await grader.grade({ id: 'c', vars: {}, origin: { file: 'f', line: 1 } }, { text: hostileInput, usage: { input: 1, output: 1 }, latencyMs: 1 }, {
      request: { caseId: 'c', messages: [], params: {}, repeat: 0 },
      signal: new AbortController().signal,
      golden: { id: 'c', expected: 'a', origin: { file: 'g', line: 1 } },
    });
    expect(grade.pass).toBe(false);
  });

  it('refuses backreferences and lookaround with the file, the path and why', async () => {
    for (const pattern of ['(a)\\1', 'a(?=b)', '(?<!x)a']) {
      expect(() => compileSafePattern(pattern)).toThrow(UnsafePatternError);
      const err = await createGrader(
        { type: 'exact', extract: { regex: pattern } },
        { location: { file: 'suites/x/suite.yaml', path: 'graders[0]' }, suiteDir: '.' },
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message).toContain('suites/x/suite.yaml (at graders[0].extract.regex)');
      expect((err as ConfigError).message).toMatch(/linear-time engine \(RE2\)/);
    }
    const p = createProject(server, { rules: '  - { when: { match: "(\\\\w)\\\\1" }, tier: cheap }\n  - { tier: frontier }' });
    const err = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain(`${p.routingFile}`);
    expect((err as ConfigError).message).toContain('rules[0].when.match');
    expect((err as ConfigError).exitCode).toBe(2);
  });

  it('keeps flags and the (?i) prefix', () => {
    expect(compileSafePattern('(?i)refund').test('REFUND please')).toBe(true);
    expect(compileSafePattern('refund').test('REFUND please')).toBe(false);
    expect(compileSafePattern('^b', 'm').test('a\nb')).toBe(true);
    expect(compileSafePattern('b', 'y').test('ab')).toBe(false);
    expect(compileSafePattern('a(b)?c').exec('xac')).toEqual(['ac', undefined]);
  });
});

let server: MockLlmServer;
beforeAll(async () => {
  server = await startMockLlmServer({ responder: arithmeticResponder() });
});
afterAll(() => server.close());

function routingWith(match: string): Routing {
  return {
    file: 'routing.yaml',
    content: '',
    hash: 'h',
    baseline: 'big',
    tiers: new Map([
      ['cheap', { model: 'small' }],
      ['frontier', { model: 'big' }],
    ]),
    rules: [
      { name: 'evil', when: { match }, tier: 'cheap' },
      { name: 'default', tier: 'frontier' },
    ],
  } as unknown as Routing;
}
