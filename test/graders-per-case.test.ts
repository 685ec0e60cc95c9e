/**
 * One suite, several graders chosen per case (`when:` on a grader): classification cases graded exact,
 * extraction cases by JSON Schema with field comparison, free-text cases by a rubric judge — run end to
 * end with the real SDK clients against the mock server. And `suite sample` writes such a suite for the
 * tasks it sampled, whose graders work as written.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/api/run.js';
import type { LogRecord } from '../src/audit/log-record.js';
import { StratifiedSampler } from '../src/audit/sample.js';
import { buildSuite, writeSuite } from '../src/audit/suite-build.js';
import { loadSuite } from '../src/config/load.js';
import { ConfigError } from '../src/core/errors.js';
import type { Completion } from '../src/core/types.js';
import { createGraders, graderNeedsGolden, graderTypes } from '../src/graders/registry.js';
import { openStore } from '../src/store/sqlite-store.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { createProject, type TestProject } from './support/project.js';

const ANSWERS: Record<string, string> = {
  'I want my money back': 'Refund',
  'Where is my parcel?': 'tracking',
  'Book Paris on 2024-05-01': '```json\n{"city": "Paris", "date": "2024-05-01"}\n```',
  'Book Rome on 2024-06-02': '{"city": "Rome", "date": "2024-06-09"}', // wrong date: fails the field comparison
  'Say hello': 'Hello! How can I help you today?',
  'Say goodbye': 'Goodbye, have a nice day.',
};

let server: MockLlmServer;
let p: TestProject;

const SUITE = `name: mixed
graders:
  - { type: exact, when: { task: classification }, normalize: [trim, case] }
  - { type: schema, name: booking, schema: booking.schema.json, fields: { compare: true }, when: { task: extraction } }
  - { type: judge, mode: rubric, rubric: "Is the reply polite?", when: { task: [chat], tags: [smalltalk] } }
`;

function writeMixedSuite(suite = SUITE) {
  p.write('suites/mixed/suite.yaml', suite);
  p.write(
    'suites/mixed/booking.schema.json',
    JSON.stringify({ type: 'object', required: ['city', 'date'], properties: { city: { type: 'string' }, date: { type: 'string' } } }),
  );
  const line = (id: string, task: string, text: string, tags?: string[]) => JSON.stringify({ id, task, messages: [{ role: 'user', content: text }], ...(tags ? { tags } : {}) });
  p.write(
    'suites/mixed/cases.jsonl',
    [
      line('cls-1', 'classification', 'I want my money back'),
      line('cls-2', 'classification', 'Where is my parcel?'),
      line('ext-1', 'extraction', 'Book Paris on 2024-05-01'),
      line('ext-2', 'extraction', 'Book Rome on 2024-06-02'),
      line('chat-1', 'chat', 'Say hello', ['smalltalk']),
      line('chat-2', 'chat', 'Say goodbye', ['smalltalk']),
    ].join('\n') + '\n',
  );
  // Only the exact and schema cases have goldens: the rubric judge needs none.
  p.write(
    'goldens/mixed.jsonl',
    [
      { id: 'cls-1', expected: 'refund' },
      { id: 'cls-2', expected: 'tracking' },
      { id: 'ext-1', expected: { city: 'Paris', date: '2024-05-01' } },
      { id: 'ext-2', expected: { city: 'Rome', date: '2024-06-02' } },
    ].map((g) => JSON.stringify(g)).join('\n') + '\n',
  );
}

beforeAll(async () => {
  server = await startMockLlmServer();
  server.script((req) => (req.model === 'judge-1' ? '{"score": 9, "reasoning": "polite"}' : (ANSWERS[req.lastUserText] ?? 'unscripted')));
  p = createProject(server, { cases: 2 });
  writeFileSync(
    p.configFile,
    readFileSync(p.configFile, 'utf8').replace(
      'routing: routing.yaml',
      `  judge: { provider: openai, model: judge-1, baseURL: ${server.openaiBaseURL}, apiKeyEnv: BIG_KEY, price: { input: 3, output: 15 } }\njudge: { model: judge }\nrouting: routing.yaml`,
    ),
  );
  writeMixedSuite();
});
afterAll(() => server.close());

describe('graders chosen per case (when:)', () => {
  it('grades each case only with the graders its task selects, and calls the judge only for chat cases', async () => {
    const result = await run({ suiteDir: join(p.dir, 'suites/mixed'), cwd: p.dir, env: p.env });
    const store = openStore(result.dbFile, { readonly: true });
    const calls = store.getCalls(result.runId);
    store.close();
    const gradedBy = Object.fromEntries(calls.map((o) => [o.caseId, o.grades.map((g) => `${g.grader}:${g.pass ? 'pass' : 'fail'}`)]));
    expect(gradedBy).toEqual({
      'cls-1': ['exact:pass'],
      'cls-2': ['exact:pass'],
      'ext-1': ['booking:pass'],
      'ext-2': ['booking:fail'],
      'chat-1': ['judge:pass'],
      'chat-2': ['judge:pass'],
    });
    expect(server.requests.filter((r) => r.model === 'judge-1').map((r) => r.messages.at(-1)!.content).every((c) => /Hello!|Goodbye/.test(c))).toBe(true);
    expect(server.requests.filter((r) => r.model === 'judge-1')).toHaveLength(2);
    const frontier = result.summary.tiers.find((t) => t.tier === 'frontier')!;
    expect([frontier.cases, frontier.passRate]).toEqual([6, 5 / 6]);
  });

  it('a case no grader selects is bad input naming the case, its line and the fix', () => {
    writeMixedSuite(SUITE.replace('when: { task: [chat], tags: [smalltalk] }', 'when: { task: [chat], tags: [formal] }'));
    const err = (() => {
      try {
        loadSuite(join(p.dir, 'suites/mixed'), { graderTypes: graderTypes(), graderNeedsGolden });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(/cases\.jsonl:5.*case "chat-1" \(task "chat", tags smalltalk\) matches no grader's when:.*\(and 1 more\)/s);
    expect((err as Error).message).toContain('add a grader without when:');
  });

  it("goldens are required only for the cases a golden-needing grader selects; an empty when: is an error", () => {
    writeMixedSuite(SUITE.replace('when: { task: classification }', 'when: { task: [classification, chat] }'));
    expect(() => loadSuite(join(p.dir, 'suites/mixed'), { graderTypes: graderTypes(), graderNeedsGolden })).toThrow(/case "chat-1" has no golden .*but grader "exact" needs one/s);
    writeMixedSuite(SUITE.replace('when: { task: classification }', 'when: {}'));
    expect(() => loadSuite(join(p.dir, 'suites/mixed'), { graderTypes: graderTypes(), graderNeedsGolden })).toThrow(/graders.*0.*when.*empty when: matches every case/s);
    writeMixedSuite();
  });
});

describe('suite sample chooses graders per task', () => {
  function rec(task: string, text: string, output: string, structured = false): LogRecord {
    return {
      format: 'generic',
      model: 'gpt-4.1',
      messages: [{ role: 'user', content: text }],
      output,
      usage: { input: 50, output: 10 },
      estimatedUsage: false,
      metadata: { useCase: `uc-${task}`, task },
      structured,
      tools: false,
      toolCalls: false,
    };
  }

  it('writes exact for labels, schema (with an inferred JSON Schema) for JSON, a judge for free text; the graders pass the goldens', async () => {
    // Distinct words, not digits: the sampler skips near-duplicates that differ only in numbers.
    const word = (i: number) => `${'abcdefghij'[i % 10]}${'klmnopqrst'[Math.floor(i / 10) % 10]} ${'uvwxyz'[i % 6]}`;
    const records: LogRecord[] = [];
    const intents = ['refund', 'tracking', 'cancel'];
    for (let i = 0; i < 30; i++) records.push(rec('intent', `message ${word(i)} about an order`, intents[i % 3]!));
    for (let i = 0; i < 20; i++) records.push(rec('booking', `book ${word(i)} people`, JSON.stringify({ people: i + 1, city: i % 2 ? 'Paris' : 'Rome', note: i % 3 ? null : 'window' }), true));
    for (let i = 0; i < 20; i++) records.push(rec('reply', `write a reply ${word(i)}`, `Dear customer, thank you for message ${i}. We will get back to you within two days.`));
    const sampler = new StratifiedSampler({ size: 30, seed: 7, stratify: ['task'] });
    records.forEach((r, i) => sampler.add(r, 'logs.jsonl', i + 1));
    const built = buildSuite(sampler.result(), { name: 'sampled', redact: [], seed: 7, stratify: ['task'], logs: ['logs.jsonl'] });
    expect(built.graderChoice.map((c) => [c.key, c.kind])).toEqual([
      ['booking', 'schema'],
      ['intent', 'exact'],
      ['reply', 'judge'],
    ]);
    expect(built.cases).toHaveLength(30);
    expect(built.suiteYaml).toMatch(/- type: exact\n\s+name: exact[\s\S]*when:\n\s+task:\n\s+- intent/);

    const root = mkdtempSync(join(tmpdir(), 'evalroute-sampled-'));
    const { suiteDir } = writeSuite(join(root, 'suites/sampled'), built, 'sampled', false);
    const schema = JSON.parse(readFileSync(join(suiteDir, 'schema-booking.json'), 'utf8')) as { required: string[]; properties: Record<string, { type: unknown }> };
    expect(schema.required).toEqual(['city', 'note', 'people']);
    expect(schema.properties).toEqual({ city: { type: 'string' }, note: { type: ['null', 'string'] }, people: { type: 'integer' } });

    // Loads as written, and each case is graded only by its task's grader: the golden itself passes.
    const suite = loadSuite(suiteDir, { graderTypes: graderTypes(), graderNeedsGolden });
    const graders = await createGraders(suite);
    expect(graders.map((g) => g.name)).toEqual(['exact', 'schema-booking', 'judge']);
    const signal = new AbortController().signal;
    for (const c of suite.cases) {
      const golden = suite.goldens.get(c.id)!;
      const mine = graders.filter((g) => !g.appliesTo || g.appliesTo(c));
      expect(mine.map((g) => g.name)).toEqual([{ intent: 'exact', booking: 'schema-booking', reply: 'judge' }[c.task!]]);
      if (c.task === 'reply') continue; // the judge needs a model; the run test above covers judged cases
      const text = typeof golden.expected === 'string' ? golden.expected : JSON.stringify(golden.expected);
      const out: Completion = { text, usage: { input: 1, output: 1 }, latencyMs: 1 };
      const grade = await mine[0]!.grade(c, out, { golden, request: { caseId: c.id, messages: [], params: {}, repeat: 0 }, signal });
      expect(grade.pass, `${c.id}: ${grade.explanation ?? ''}`).toBe(true);
    }
  });
});
