import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../src/api/run.js';
import { ConfigError } from '../src/core/errors.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject } from './support/project.js';
import { png } from './support/png.js';

// A run whose suite has a reference judge next to the exact grader: the judge goes through the engine's
// response cache and retry policy, and its cost is reported as the judge's, not the tier's.
let server: MockLlmServer;
beforeAll(async () => {
  server = await startMockLlmServer();
});
afterAll(() => server.close());
beforeEach(() => server.reset());

function projectWithJudge() {
  const p = createProject(server, { cases: 6 });
  const config = readFileSync(p.configFile, 'utf8').replace(
    'routing: routing.yaml',
    `  judge: { provider: openai, model: judge-1, baseURL: ${server.openaiBaseURL}, apiKeyEnv: BIG_KEY, price: { input: 3, output: 15 }, maxRetries: 2 }\njudge: { model: judge }\nrouting: routing.yaml`,
  );
  writeFileSync(p.configFile, config);
  const suite = readFileSync(`${p.suiteDir}/suite.yaml`, 'utf8').replace(
    'graders:\n',
    'graders:\n  - { type: judge, mode: reference }\n',
  );
  writeFileSync(`${p.suiteDir}/suite.yaml`, suite);
  return p;
}

describe('judge calls inside a run', () => {
  it('are cached (zero judge calls on rerun), retried on 429, and costed as the judge', async () => {
    const answer = arithmeticResponder();
    server.script((req) => (req.model === 'judge-1' ? '{"score": 9, "reasoning": "matches the reference number"}' : answer(req)));
    const p = projectWithJudge();
    server.failNext(1, 'rate429');

    const first = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, retry: { baseDelayMs: 1, maxDelayMs: 5 } });
    const judgeCalls = server.requests.filter((r) => r.model === 'judge-1' && r.status === 200);
    // 9 graded outputs (6 baseline + 3 cheap tier); the cheap model's answers equal the baseline's, so
    // their judge requests are identical and usually come from the cache (unless both are in flight at once).
    expect(judgeCalls.length).toBeGreaterThanOrEqual(6);
    expect(judgeCalls.length).toBeLessThanOrEqual(9);
    expect(server.requests.filter((r) => r.status === 429)).toHaveLength(1);
    expect(first.exitCode).toBe(0);
    const judge = first.summary.cost!.judge!;
    expect(judge).toMatchObject({ model: 'judge', calls: 9 });
    expect(judge.costUsd).toBeCloseTo((judge.inputTokens * 3 + judge.outputTokens * 15) / 1e6, 12);
    // The judge's spend is not in the tier models' usage.
    expect(first.summary.models.map((m) => m.model).sort()).toEqual(['big', 'small']);

    server.reset();
    const second = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env });
    expect(server.requests).toHaveLength(0);
    expect(second.summary.tiers).toEqual(first.summary.tiers);
  });

  it('use a grader\'s own judge model when it names one, and reject an unknown one with the suite path', async () => {
    server.script((req) => (req.model === 'small-1' ? '{"score": 2, "reasoning": "wrong"}' : req.model === 'judge-1' ? '{"score": 9, "reasoning": "ok"}' : arithmeticResponder()(req)));
    const p = projectWithJudge();
    const suiteFile = `${p.suiteDir}/suite.yaml`;
    writeFileSync(suiteFile, readFileSync(suiteFile, 'utf8').replace('{ type: judge, mode: reference }', '{ type: judge, mode: reference, model: small }'));
    const result = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env });
    // The small model, asked as the judge, scores every answer 2/10: every case fails on that grader.
    expect(result.summary.tiers.find((t) => t.tier === 'frontier')!.passRate).toBe(0);
    expect(server.requests.some((r) => r.model === 'judge-1')).toBe(false);

    writeFileSync(suiteFile, readFileSync(suiteFile, 'utf8').replace('model: small }', 'model: nope }'));
    await expect(run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env })).rejects.toThrow(/suite\.yaml.*graders\[0\]\.model[\s\S]*"nope"/);
  });

  it('leave a case with no readable judge verdict out of the comparison, into the error budget', async () => {
    const answer = arithmeticResponder();
    // The judge cannot be read for the cheap model's answer to case 0 (a passing answer) and for the
    // baseline's answer to case 2: neither may move a pass rate.
    // The judge cannot be read whenever it judges the answer "7" (case 0) or "11" (case 4), both cheap-tier
    // cases where both models answer right, even after the grader asks it again.
    server.script((req) => {
      if (req.model !== 'judge-1') return answer(req);
      const judged = /\[The Start of Response\]\n(.*)\n\[The End of Response\]/.exec(req.messages.map((m) => m.content).join('\n'))?.[1];
      return judged === '7' || judged === '11' ? 'I refuse to score this.' : '{"score": 9, "reasoning": "ok"}';
    });
    const p = projectWithJudge();
    const result = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, maxErrorRate: 1 });
    const cheap = result.summary.tiers.find((t) => t.tier === 'cheap')!;
    const judged = server.requests.filter((r) => r.model === 'judge-1');
    expect(judged.length).toBeGreaterThan(0);
    // Every graded output that the judge could read passed; the unreadable ones are neither pass nor fail.
    expect(cheap.passRate).toBe(1);
    expect(cheap.baselinePassRate).toBe(1);
    expect(cheap.cases).toBe(3);
    expect(cheap.gradeErrors).toBe(2);
    expect(cheap.compared).toBe(1);
    expect(cheap.reasons.join(' ')).toContain('whose output a grader could not grade');
    expect(result.summary.errors!.some((e) => e.kind.startsWith('grade-error'))).toBe(true);
    // With the default 2% error budget the same run is incomplete (exit 3), never a verdict.
    const strict = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env });
    expect(strict.exitCode).toBe(3);
  });

  it('refuse a judge grader with no judge model before any call (exit 2)', async () => {
    server.script(arithmeticResponder());
    const p = createProject(server, { cases: 6 });
    const suiteFile = `${p.suiteDir}/suite.yaml`;
    writeFileSync(suiteFile, readFileSync(suiteFile, 'utf8').replace('graders:\n', 'graders:\n  - { type: judge, mode: reference }\n'));
    const err = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(/suite\.yaml \(at graders\[0\]\): the judge grader "judge" has no judge model[\s\S]*add judge: \{ model: <model key> \}/);
    expect(server.requests).toHaveLength(0);
  });

  it('sends the judge the image a case attaches, and only for that case', async () => {
    const answer = arithmeticResponder();
    server.script((req) => (req.model === 'judge-1' ? '{"score": 9, "reasoning": "matches the reference number"}' : answer(req)));
    const p = projectWithJudge();
    const image = png(30, 20);
    mkdirSync(join(p.suiteDir, 'receipts'));
    writeFileSync(join(p.suiteDir, 'receipts/r1.png'), image);
    const lines = readFileSync(join(p.suiteDir, 'cases.jsonl'), 'utf8').trim().split('\n');
    lines[0] = JSON.stringify({ ...JSON.parse(lines[0]!), attachments: ['receipts/r1.png'] });
    writeFileSync(join(p.suiteDir, 'cases.jsonl'), `${lines.join('\n')}\n`);

    const result = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env });
    expect(result.exitCode).toBe(0);
    const judged = server.requests.filter((r) => r.model === 'judge-1');
    // The judge's question quotes the graded conversation: the requests about case c000 ask "What is 0 + 7?".
    const aboutC000 = judged.filter((r) => r.messages.at(-1)!.content.includes('What is 0 + 7?'));
    expect(aboutC000.length).toBeGreaterThanOrEqual(1);
    for (const r of aboutC000) {
      const question = r.messages.at(-1)!;
      expect(question.parts).toHaveLength(2); // the image, then the prompt text
      expect((question.parts![0] as { image_url: { url: string } }).image_url.url).toBe(`data:image/png;base64,${image.toString('base64')}`);
      expect(question.content).toContain('[attached: image "receipts/r1.png"]');
    }
    const others = judged.filter((r) => !aboutC000.includes(r));
    expect(others.length).toBeGreaterThan(0);
    expect(others.filter((r) => r.messages.at(-1)!.parts !== undefined || r.messages.at(-1)!.content.includes('[attached'))).toEqual([]);
  });
});
