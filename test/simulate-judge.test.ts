import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/api/run.js';
import { simulate } from '../src/api/simulate.js';
import { formatSimulation } from '../src/report/simulate-console.js';
import { startMockLlmServer, type MockLlmServer, type MockRequest } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject, type TestProject } from './support/project.js';

// simulate re-grades judge graders from the judge answers the store cached, so a grade is reproduced
// only when everything that decides it (judge model, rubric, template, golden, output) is unchanged.
// Changing any of them must never hand the old grade to the new grading: the pair is missing instead.
let server: MockLlmServer;
let p: TestProject;
const suiteFile = () => `${p.suiteDir}/suite.yaml`;
const edit = (file: string, from: string, to: string) => {
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
};
const judgeCalls = () => server.requests.filter((r) => r.model.startsWith('judge-')).length;

// judge-1 passes every answer under the lenient rubric and fails all under the strict one; judge-2 fails all.
const answer = arithmeticResponder();
function responder(req: MockRequest): string {
  if (req.model === 'judge-1') return /STRICT/.test(req.lastUserText) ? '{"reasoning": "too terse", "score": 2}' : '{"reasoning": "right number", "score": 9}';
  if (req.model === 'judge-2') return '{"reasoning": "not convinced", "score": 3}';
  return answer(req);
}

beforeAll(async () => {
  server = await startMockLlmServer();
  server.script(responder);
  p = createProject(server, { cases: 8 });
  const judgeModel = (n: number) => `  judge${n}: { provider: openai, model: judge-${n}, baseURL: ${server.openaiBaseURL}, apiKeyEnv: BIG_KEY }\n`;
  edit(p.configFile, 'routing: routing.yaml', `${judgeModel(1)}${judgeModel(2)}judge: { model: judge1 }\nrouting: routing.yaml`);
  edit(suiteFile(), 'graders:\n', 'graders:\n  - { type: judge, name: quality, rubric: "The answer is the correct number." }\n');
});
afterAll(() => server.close());

const sim = (fill = false) => simulate({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, ...(fill ? { fill: true } : {}) });

describe('simulate with a judge grader', () => {
  it('reproduces the run\'s judge grades from the store with no call at all', async () => {
    const first = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env });
    expect(first.exitCode).toBe(0);
    expect(judgeCalls()).toBeGreaterThan(0);
    server.reset();
    server.script(responder);

    const r = await sim();
    expect(server.requests).toHaveLength(0);
    expect(r.exitCode).toBe(0);
    const score = r.routings[0]!;
    expect(score.missing).toEqual([]);
    expect(score.tiers.map((t) => [t.tier, t.cases, t.passRate])).toEqual(first.summary.tiers.map((t) => [t.tier, t.cases, t.passRate]));
  });

  it('does not reuse a grade once the rubric changed: missing (exit 3) until filled, then the new judge\'s grade', async () => {
    edit(suiteFile(), 'rubric: "The answer is the correct number."', 'rubric: "STRICT: the answer shows its working."');
    const stale = await sim();
    expect(server.requests).toHaveLength(0);
    expect(stale.exitCode).toBe(3);
    const score = stale.routings[0]!;
    // 8 baseline answers + 4 cheap-tier answers, every one judged under the old rubric only.
    expect(score.missing).toHaveLength(12);
    expect(new Set(score.missing.map((m) => m.reason))).toEqual(new Set(['no-judge-grade']));
    expect(score.overall.cases).toBe(0);

    const text = formatSimulation(stale.routings, undefined, (f) => `evalroute simulate suites/arith --routing ${f} --fill`);
    expect(text).toMatch(/12 \(case, model\) pairs have no stored judge grade for the judge as configured now/);
    expect(text).toMatch(/judge model, rubric, template or golden changed/);
    expect(text).toContain('→ fill them (calls the models and the judge for these pairs only): evalroute simulate suites/arith --routing');

    const filled = await sim(true);
    expect(judgeCalls()).toBeGreaterThan(0);
    expect(filled.exitCode).toBe(0);
    // The strict rubric fails every answer: the lenient rubric's passes were not carried over.
    expect(filled.routings[0]!.overall).toMatchObject({ cases: 8, passRate: 0, baselinePassRate: 0 });
  });

  it('does not reuse a grade once the judge model changed (config judge, then a grader\'s own model)', async () => {
    edit(suiteFile(), 'rubric: "STRICT: the answer shows its working."', 'rubric: "The answer is the correct number."');
    server.reset();
    server.script(responder);
    // Back to the first rubric: its judge answers are still cached, so nothing is missing.
    const back = await sim();
    expect(back.exitCode).toBe(0);
    expect(back.routings[0]!.overall).toMatchObject({ cases: 8, passRate: 1 });

    edit(p.configFile, 'judge: { model: judge1 }', 'judge: { model: judge2 }');
    const otherJudge = await sim();
    expect(otherJudge.exitCode).toBe(3);
    expect(otherJudge.routings[0]!.missing).toHaveLength(12);
    edit(p.configFile, 'judge: { model: judge2 }', 'judge: { model: judge1 }');

    edit(suiteFile(), 'name: quality,', 'name: quality, model: judge2,');
    const ownJudge = await sim();
    expect(ownJudge.exitCode).toBe(3);
    expect(ownJudge.routings[0]!.missing.every((m) => m.reason === 'no-judge-grade')).toBe(true);
    expect(server.requests).toHaveLength(0);
    edit(suiteFile(), 'name: quality, model: judge2,', 'name: quality,');
  });

  it('does not reuse a grade once the template changed, and applies a new pass threshold without any judge call', async () => {
    p.write('suites/arith/judge.hbs', 'Rate this answer to {{input}}: {{output}} against {{rubric}} from {{scaleMin}} to {{scaleMax}}. JSON {"reasoning", "score"}.');
    edit(suiteFile(), 'name: quality,', 'name: quality, template: ./judge.hbs,');
    const newTemplate = await sim();
    expect(newTemplate.exitCode).toBe(3);
    expect(newTemplate.routings[0]!.missing).toHaveLength(12);
    edit(suiteFile(), 'name: quality, template: ./judge.hbs,', 'name: quality,');

    // The judge's answer (9/10) is unchanged; only how it is read changes, so it is re-graded offline.
    edit(suiteFile(), 'name: quality,', 'name: quality, passThreshold: 0.95,');
    const stricter = await sim();
    expect(server.requests).toHaveLength(0);
    expect(stricter.exitCode).toBe(0);
    expect(stricter.routings[0]!.overall).toMatchObject({ cases: 8, passRate: 0 });
  });

  it('does not reuse a grade once the golden it was judged against changed, and only for that case', async () => {
    edit(suiteFile(), 'name: quality, passThreshold: 0.95,', 'name: quality, mode: reference,');
    expect((await sim()).exitCode).toBe(3); // reference mode asks the judge something new: nothing stored yet
    expect((await sim(true)).exitCode).toBe(0);
    server.reset();
    server.script(responder);

    edit(join(p.dir, 'goldens/arith.jsonl'), '{"id":"c000","expected":"7"}', '{"id":"c000","expected":"seven"}');
    const r = await sim();
    expect(server.requests).toHaveLength(0);
    expect(r.exitCode).toBe(3);
    // c000 is an easy case: the baseline's and the cheap tier's answers were both judged against the old golden.
    expect(r.routings[0]!.missing).toEqual([
      { caseId: 'c000', model: 'big', reason: 'no-judge-grade' },
      { caseId: 'c000', model: 'small', reason: 'no-judge-grade' },
    ]);
    expect(r.routings[0]!.overall.cases).toBe(7);
  });
});
