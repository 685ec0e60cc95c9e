/**
 * `judgeCheck` against the mock LLM server through the real SDKs: a run stores the models' outputs, then
 * judge-check re-judges the stored outputs of the human-labelled cases with a scripted judge that agrees
 * with the humans on most cases and disagrees on a known set. Agreement, kappa and the confusion counts
 * are computed by hand below; only the judge may be called.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/api/run.js';
import { judgeCheck, kappaBand, kappaVerdict } from '../src/api/judge-check.js';
import { UsageError } from '../src/core/errors.js';
import { formatJudgeCheck } from '../src/report/judge-check-console.js';
import { startMockLlmServer, type MockLlmServer, type MockRequest } from './support/mock-llm-server.js';

const ENV = { BIG_KEY: 'sk-test-big-0000000001', SMALL_KEY: 'sk-ant-test-small-000002', JUDGE_KEY: 'sk-test-judge-000000003' };

function writeProject(server: MockLlmServer, o: { grader: string; rules: string; goldens: object[]; cases: number }) {
  const dir = mkdtempSync(join(tmpdir(), 'evalroute-judge-check-'));
  const write = (rel: string, text: string) => {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
  };
  write(
    'evalroute.config.yaml',
    `store: .evalroute/test.db
models:
  big:   { provider: openai, model: big-1, baseURL: ${server.openaiBaseURL}, apiKeyEnv: BIG_KEY, concurrency: 4, timeoutMs: 60000, maxRetries: 0 }
  small: { provider: anthropic, model: small-1, baseURL: ${server.anthropicBaseURL}, apiKeyEnv: SMALL_KEY, concurrency: 4, timeoutMs: 60000, maxRetries: 0 }
  judge: { provider: openai, model: judge-1, baseURL: ${server.openaiBaseURL}, apiKeyEnv: JUDGE_KEY, price: { input: 1, output: 2 }, concurrency: 4, timeoutMs: 60000, maxRetries: 0 }
judge: { model: judge }
routing: routing.yaml
`,
  );
  write('routing.yaml', `baseline: big\ntiers:\n  cheap: { model: small }\n  frontier: { model: big }\nrules:\n${o.rules}\n`);
  write('suites/qa/suite.yaml', `name: qa\nprompt:\n  user: "Question {{n}}"\ngraders:\n  - ${o.grader}\n`);
  const ids = Array.from({ length: o.cases }, (_, i) => `c${String(i).padStart(2, '0')}`);
  write('suites/qa/cases.jsonl', ids.map((id, i) => JSON.stringify({ id, vars: { n: i } })).join('\n') + '\n');
  write('goldens/qa.jsonl', o.goldens.map((g) => JSON.stringify(g)).join('\n') + '\n');
  return { dir, suiteDir: join(dir, 'suites/qa') };
}

const section = (text: string, name: string) => new RegExp(`\\[The Start of ${name}\\]\\n([\\s\\S]*?)\\n\\[The End of ${name}\\]`).exec(text)?.[1];
const models = (server: MockLlmServer) => [...new Set(server.requests.map((r) => r.model))];

let server: MockLlmServer;
beforeAll(async () => {
  server = await startMockLlmServer();
});
afterAll(() => server.close());

describe('judge-check with a rubric judge and human pass/fail labels', () => {
  // c00–c11 humans passed, c12–c19 humans failed, c20–c23 carry no human verdict.
  // The judge disagrees on c02 and c05 (fails what humans passed) and c13 (passes what humans failed);
  // on c19 it answers garbage twice while `garbage` is on: a judge error, never counted.
  const humanPass = (i: number) => i < 12;
  const judgeDisagrees = new Set([2, 5, 13]);
  let garbage = true;
  let project: { dir: string; suiteDir: string };

  function respond(req: MockRequest): string {
    if (req.model === 'big-1') return `answer-${/Question (\d+)/.exec(req.lastUserText)![1]}`;
    if (req.model !== 'judge-1') return 'unexpected model';
    const i = Number(/answer-(\d+)/.exec(section(req.messages[1]!.content, 'Response') ?? '')![1]);
    if (i === 19 && garbage) return 'I would rather not say.';
    const pass = humanPass(i) !== judgeDisagrees.has(i);
    return JSON.stringify({ reasoning: `scripted verdict for ${i}`, score: pass ? 9 : 2 });
  }

  beforeAll(async () => {
    server.script(respond);
    const goldens = Array.from({ length: 24 }, (_, i) => ({
      id: `c${String(i).padStart(2, '0')}`,
      rubric: 'The answer names the right number.',
      ...(i < 20 ? { human: { pass: humanPass(i) } } : {}),
    }));
    project = writeProject(server, { grader: '{ type: judge, mode: rubric }', rules: '  - { tier: frontier }', goldens, cases: 24 });
    await run({ suiteDir: project.suiteDir, cwd: project.dir, env: ENV });
  });

  it('measures agreement, kappa and the confusion counts on the stored baseline outputs, calling only the judge', async () => {
    server.reset();
    garbage = true;
    const r = await judgeCheck({ suiteDir: project.suiteDir, cwd: project.dir, env: ENV });
    // 20 labelled cases: 19 verdicts read at once, c19's answer is retried once, then recorded as an error.
    expect(models(server)).toEqual(['judge-1']);
    expect(server.requests).toHaveLength(21);
    const g = r.graders[0]!;
    expect(g).toMatchObject({ grader: 'judge', mode: 'rubric', labelKind: 'pass', labelled: 20, n: 19, labels: ['fail', 'pass'] });
    // human pass: judge pass 10, fail 2 (c02, c05); human fail: judge pass 1 (c13), fail 6 (c12, c14–c18).
    expect(g.confusion).toEqual({ pass: { pass: 10, fail: 2 }, fail: { pass: 1, fail: 6 } });
    expect(g.agreement).toBeCloseTo(16 / 19, 12);
    // pe = (12·11 + 7·8) / 19² = 188/361; kappa = (16/19 − 188/361) / (1 − 188/361) = 116/173.
    expect(g.kappa).toBeCloseTo(116 / 173, 12);
    expect(g.band).toBe('substantial');
    expect(g.verdict).toBe('kappa 0.67: substantial agreement — fit for gating; keep reviewing the disagreements (only 19 labelled cases: a rough estimate)');
    expect(g.disagreements.map((d) => [d.caseId, d.human, d.judge])).toEqual([
      ['c02', 'pass', 'fail'],
      ['c05', 'pass', 'fail'],
      ['c13', 'fail', 'pass'],
    ]);
    expect(g.errors.map((e) => e.caseId)).toEqual(['c19']);
    expect(r.usage.calls).toBe(21);
    // The judge is priced at $1 / $2 per 1M tokens; the mock counts words.
    expect(r.usage.costUsd).toBeCloseTo((r.usage.inputTokens * 1 + r.usage.outputTokens * 2) / 1e6, 15);
    expect(r.exitCode).toBe(3);

    const text = formatJudgeCheck(r);
    expect(text).toContain('agreement 84.2% (16/19) · kappa 0.67: substantial agreement');
    expect(text).toMatch(/human pass\s+10\s+2\n\s+human fail\s+1\s+6/);
    expect(text).toContain('judge errors (not counted): 1, e.g. c19');
  });

  it('exits 1 below --min-kappa and 0 above it once every labelled case is judged', async () => {
    garbage = false;
    server.reset();
    const low = await judgeCheck({ suiteDir: project.suiteDir, cwd: project.dir, env: ENV, minKappa: 0.8 });
    const g = low.graders[0]!;
    // c19 now counts as human fail / judge fail: po 17/20, pe (12·11 + 8·9)/400 = 0.51, kappa 0.34/0.49.
    expect(g.n).toBe(20);
    expect(g.confusion).toEqual({ pass: { pass: 10, fail: 2 }, fail: { pass: 1, fail: 7 } });
    expect(g.kappa).toBeCloseTo(0.34 / 0.49, 12);
    expect(low.exitCode).toBe(1);
    const ok = await judgeCheck({ suiteDir: project.suiteDir, cwd: project.dir, env: ENV, minKappa: 0.6 });
    expect(ok.exitCode).toBe(0);
    expect(models(server)).toEqual(['judge-1']);
    expect(server.requests).toHaveLength(40);
  });

  it('judges another model\'s stored outputs with --model, and says when it has none', async () => {
    const r = await judgeCheck({ suiteDir: project.suiteDir, cwd: project.dir, env: ENV, model: 'small' });
    // small was never called (every case went to the frontier tier): nothing to judge.
    expect(r.graders[0]!.n).toBe(0);
    expect(r.graders[0]!.skipped).toHaveLength(20);
    expect(r.graders[0]!.skipped.every((s) => s.reason === 'no-output')).toBe(true);
    expect(r.graders[0]!.verdict).toBe('kappa undefined: no case could be compared');
    expect(r.exitCode).toBe(3);
  });
});

describe('judge-check with a pairwise judge and human preferences', () => {
  // Every case goes to the cheap tier. Humans prefer the candidate on c00–c04, the baseline on c05–c08,
  // call c09–c11 a tie. The judge agrees except: c04 → tie, c08 → candidate. c12–c13 are not labelled.
  const human = (i: number) => (i < 5 ? 'candidate' : i < 9 ? 'baseline' : 'tie');
  const judgeSays = (i: number) => (i === 4 ? 'tie' : i === 8 ? 'candidate' : human(i));

  it('compares candidate-vs-baseline preferences on three labels, judging both orders', async () => {
    server.script((req) => {
      const n = /Question (\d+)/.exec(req.lastUserText)?.[1];
      if (req.model === 'big-1') return `big answer ${n}`;
      if (req.model === 'small-1') return `small answer ${n}`;
      const prompt = req.messages[1]!.content;
      const a = section(prompt, 'Response A')!;
      const i = Number(/answer (\d+)/.exec(a)![1]);
      const verdict = judgeSays(i);
      const candidateIsA = a.startsWith('small');
      const winner = verdict === 'tie' ? 'tie' : (verdict === 'candidate') === candidateIsA ? 'A' : 'B';
      return JSON.stringify({ reasoning: 'scripted', winner });
    });
    const goldens = Array.from({ length: 14 }, (_, i) => ({ id: `c${String(i).padStart(2, '0')}`, ...(i < 12 ? { human: { preference: human(i) } } : {}) }));
    const p = writeProject(server, { grader: '{ type: judge, mode: pairwise, rubric: "The better answer wins." }', rules: '  - { tier: cheap }', goldens, cases: 14 });
    await run({ suiteDir: p.suiteDir, cwd: p.dir, env: ENV });
    server.reset();

    const r = await judgeCheck({ suiteDir: p.suiteDir, cwd: p.dir, env: ENV });
    expect(models(server)).toEqual(['judge-1']);
    expect(server.requests).toHaveLength(24); // 12 labelled cases × both orders
    const g = r.graders[0]!;
    expect(g.labelKind).toBe('preference');
    expect(g.confusion).toEqual({
      baseline: { baseline: 3, candidate: 1, tie: 0 },
      candidate: { baseline: 0, candidate: 4, tie: 1 },
      tie: { baseline: 0, candidate: 0, tie: 3 },
    });
    // po = 10/12; human 5 candidate / 4 baseline / 3 tie, judge 5 / 3 / 4:
    // pe = (5·5 + 4·3 + 3·4)/144 = 49/144; kappa = (120/144 − 49/144)/(95/144) = 71/95.
    expect(g.agreement).toBeCloseTo(10 / 12, 12);
    expect(g.kappa).toBeCloseTo(71 / 95, 12);
    expect(r.exitCode).toBe(0);
  });
});

describe('judge-check input and bands', () => {
  it('refuses a suite without human verdicts, naming what to add', async () => {
    const p = writeProject(server, { grader: '{ type: judge, mode: rubric, rubric: "ok" }', rules: '  - { tier: frontier }', goldens: [{ id: 'c00' }], cases: 1 });
    const err = await judgeCheck({ suiteDir: p.suiteDir, cwd: p.dir, env: ENV }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain('"human": {"pass": true|false}');
  });

  it('reads kappa in Landis & Koch bands at two decimals', () => {
    expect([-0.1, 0.2, 0.204, 0.21, 0.4, 0.41, 0.6, 0.8, 0.81, 1].map(kappaBand)).toEqual([
      'poor', 'slight', 'slight', 'fair', 'fair', 'moderate', 'moderate', 'substantial', 'almost perfect', 'almost perfect',
    ]);
    expect(kappaVerdict(0.41, 100)).toBe('kappa 0.41: moderate agreement — spot-check before gating on it');
    expect(kappaVerdict(NaN, 12)).toMatch(/^kappa undefined: humans and judge gave one and the same label/);
  });
});
