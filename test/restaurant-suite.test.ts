/**
 * The shipped restaurant-booking suite, end to end through `run()`: its own suite.yaml, schema.json,
 * cases, goldens and routing file, copied into a temp project whose two models are served by the mock
 * LLM server through the real OpenAI and Anthropic SDKs. The scripted frontier model answers each
 * golden's JSON; the scripted cheap model wraps it in a code fence or prose and gets a known set of
 * fields wrong, so every figure the gate prints can be computed by hand.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProject, run, type RunResult } from '../src/api/run.js';
import { createGraders } from '../src/graders/registry.js';
import { SchemaGrader } from '../src/graders/schema.js';
import { startMockLlmServer, type MockLlmServer, type MockRequest } from './support/mock-llm-server.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const SUITE = join(REPO, 'suites/restaurant-booking');

interface Booking {
  date: string | null;
  time: string | null;
  people: number | null;
  first_name: string | null;
  last_name: string | null;
}

const readJsonl = <T>(file: string): T[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);

const cases = readJsonl<{ id: string; vars: { text: string; asked: string } }>(join(SUITE, 'cases.jsonl'));
const goldens = new Map(readJsonl<{ id: string; expected: Booking }>(join(REPO, 'goldens/restaurant-booking.jsonl')).map((g) => [g.id, g.expected]));

// The user message exactly as suite.yaml's template renders it, to recognise the case in a request.
const userMessage = (v: { text: string; asked: string }) => `${v.asked ? `The assistant just asked for: ${v.asked}.\n` : ''}Customer: ${v.text}`;
const caseByMessage = new Map(cases.map((c, i) => [userMessage(c.vars), { id: c.id, index: i }]));

// Cheap-model script, by the case's position i in cases.jsonl:
//   i % 3 == 0 → JSON in a ```json fence; i % 3 == 1 → a sentence of prose before the JSON; else bare JSON.
//   i % 10 == 7 → people off by one (a required field): fails.
//   i % 10 == 3 → a wrong first_name (not required, 4 of 5 fields still match = threshold 0.8): passes.
//   i % 10 == 5 → the date in capitals (normalize: case): passes.
const peopleWrong = (i: number) => i % 10 === 7;
const nameWrong = (i: number) => i % 10 === 3;
const shouted = (i: number) => i % 10 === 5;
const wrapping = (i: number): 'fenced' | 'prose' | 'bare' => (i % 3 === 0 ? 'fenced' : i % 3 === 1 ? 'prose' : 'bare');

function cheapAnswer(expected: Booking, i: number): string {
  const b = { ...expected };
  if (peopleWrong(i)) b.people = (b.people ?? 1) + 1;
  if (nameWrong(i)) b.first_name = 'Zebulon';
  if (shouted(i) && b.date) b.date = b.date.toUpperCase();
  const json = JSON.stringify(b);
  const form = wrapping(i);
  if (form === 'fenced') return `\`\`\`json\n${JSON.stringify(b, null, 2)}\n\`\`\``;
  if (form === 'prose') return `Here are the booking details I found in the message:\n${json}`;
  return json;
}

function responder(req: MockRequest): string {
  const hit = caseByMessage.get(req.lastUserText);
  if (!hit) return 'I cannot help with that.';
  const expected = goldens.get(hit.id)!;
  return req.model === 'frontier-mock' ? JSON.stringify(expected) : cheapAnswer(expected, hit.index);
}

let server: MockLlmServer;
let project: string;
let result: RunResult;

beforeAll(async () => {
  server = await startMockLlmServer({ responder });
  project = mkdtempSync(join(tmpdir(), 'evalroute-restaurant-'));
  const suiteDir = join(project, 'suites/restaurant-booking');
  mkdirSync(suiteDir, { recursive: true });
  mkdirSync(join(project, 'goldens'));
  for (const f of ['suite.yaml', 'schema.json', 'cases.jsonl', 'routing.yaml']) copyFileSync(join(SUITE, f), join(suiteDir, f));
  copyFileSync(join(REPO, 'goldens/restaurant-booking.jsonl'), join(project, 'goldens/restaurant-booking.jsonl'));
  // The shipped config names real models; this one keeps the keys and prices but points them at the mock.
  writeFileSync(
    join(suiteDir, 'evalroute.config.yaml'),
    `store: ../../.evalroute/test.db
models:
  frontier: { provider: openai, model: frontier-mock, baseURL: ${server.openaiBaseURL}, apiKeyEnv: FRONTIER_KEY, price: { table: gpt-4.1 }, concurrency: 16, timeoutMs: 60000, maxRetries: 0 }
  cheap:    { provider: anthropic, model: cheap-mock, baseURL: ${server.anthropicBaseURL}, apiKeyEnv: CHEAP_KEY, price: { table: gpt-4.1-mini }, concurrency: 16, timeoutMs: 60000, maxRetries: 0 }
routing: routing.yaml
`,
  );
  result = await run({ suiteDir, cwd: project, env: { FRONTIER_KEY: 'sk-test-frontier-000001', CHEAP_KEY: 'sk-ant-test-cheap-000002' } });
}, 60_000);
afterAll(() => server.close());

describe('restaurant-booking suite, end to end', () => {
  it('ships 300 cases, each with a golden, recognisable from its rendered prompt', () => {
    expect(cases).toHaveLength(300);
    expect(caseByMessage.size).toBe(300);
    expect(cases.every((c) => goldens.has(c.id))).toBe(true);
    expect([...goldens.values()].every((g) => g.people === null || Number.isInteger(g.people))).toBe(true);
    // The shipped config and routing load as they are: priced from the table, baseline frontier.
    const shipped = loadProject({ suiteDir: SUITE, cwd: REPO });
    expect(shipped.routing.baseline).toBe('frontier');
    expect(shipped.config.models.get('cheap')!.price).toBeDefined();
  });

  it('routes every case to the cheap tier, calls each model once per case and stores a complete run', () => {
    expect(result.summary.status).toBe('complete');
    expect(server.requests.filter((r) => r.model === 'frontier-mock')).toHaveLength(300);
    expect(server.requests.filter((r) => r.model === 'cheap-mock')).toHaveLength(300);
    expect(result.results.every((r) => r.tier === 'cheap')).toBe(true);
  });

  it('computes pass rates and delta exactly from the scripted errors, and the gate stops the tier', () => {
    const wrong = cases.filter((_, i) => peopleWrong(i)).length;
    expect(wrong).toBe(30);
    const cheap = result.summary.tiers.find((t) => t.tier === 'cheap')!;
    expect(cheap.baselinePassRate).toBe(1);
    expect(cheap.passRate).toBeCloseTo((300 - wrong) / 300, 12);
    expect(cheap.delta).toBeCloseTo(-wrong / 300, 12);
    expect(cheap.errors).toBe(0);
    // 90% meets minPassRate 0.9, but −10 points is far beyond maxRegression 0.03.
    expect(cheap.pass).toBe(false);
    expect(result.exitCode).toBe(1);
    const failed = result.results.filter((r) => !r.candidate.pass).map((r) => r.caseId);
    expect(failed).toEqual(cases.filter((_, i) => peopleWrong(i)).map((c) => c.id));
  });

  it('grades fenced and prose-wrapped JSON on its content', () => {
    const byId = new Map(result.results.map((r) => [r.caseId, r.candidate]));
    for (const form of ['fenced', 'prose'] as const) {
      const clean = cases.filter((_, i) => wrapping(i) === form && !peopleWrong(i));
      expect(clean.length).toBeGreaterThan(60);
      for (const c of clean) expect(byId.get(c.id)!.pass, `${form} ${c.id}: ${byId.get(c.id)!.grades[0]?.explanation}`).toBe(true);
    }
    expect(byId.get(cases[0]!.id)!.completion!.text.startsWith('```json')).toBe(true);
  });

  it('lets a wrong optional field pass at threshold 0.8 and explains the mismatch', () => {
    const i = cases.findIndex((_, k) => nameWrong(k));
    const g = result.results.find((r) => r.caseId === cases[i]!.id)!.candidate.grades[0]!;
    expect(g.pass).toBe(true);
    expect(g.score).toBeCloseTo(0.8, 12);
    expect(g.explanation).toContain('fields: 4/5 match');
    expect(g.explanation).toContain('first_name: expected');
    const failedGrade = result.results.find((r) => r.caseId === cases[7]!.id)!.candidate.grades[0]!;
    expect(failedGrade.explanation).toMatch(/required field wrong: people/);
  });
});

describe('nlupp-banking suite: the same schema grader on nested JSON', () => {
  it('accepts every golden as an answer, intents in any order, and fails an invented slot or a missing intent', async () => {
    const { suite } = loadProject({ suiteDir: join(REPO, 'suites/nlupp-banking'), cwd: REPO });
    const [grader] = await createGraders(suite);
    expect(grader).toBeInstanceOf(SchemaGrader);
    const g = grader as SchemaGrader;
    type Nlu = { intents: string[]; slots: Record<string, string | null> };
    const all = [...suite.goldens.values()].map((x) => x.expected as Nlu);
    expect(all.length).toBeGreaterThanOrEqual(200);
    for (const e of all) expect(g.check(JSON.stringify(e), e).pass).toBe(true);

    const e = all.find((x) => x.intents.length > 1 && Object.values(x.slots).some((v) => v !== null))!;
    expect(g.check(JSON.stringify({ ...e, intents: [...e.intents].reverse() }), e).pass).toBe(true);
    expect(g.check(JSON.stringify({ ...e, intents: e.intents.slice(1) }), e).explanation).toMatch(/required field wrong: intents/);
    const empty = Object.keys(e.slots).filter((k) => e.slots[k] === null);
    const invented = { ...e, slots: { ...e.slots, [empty[0]!]: 'x', [empty[1]!]: 'y' } };
    expect(g.check(JSON.stringify(invented), e).pass).toBe(false);
  });
});
