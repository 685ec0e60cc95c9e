/**
 * Judge maths against published numbers. The recorded verdicts of real judges (AlpacaEval 2.0's
 * GPT-4-Turbo pairwise preferences; MT-Bench GPT-4 1–10 scores) are replayed through the real judge
 * grader — real SDK, real HTTP, the local mock server answering with the recorded verdict — and the
 * aggregates must come out as published. AlpacaEval data is CC BY-NC: read here at test time only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Case, ChatMessage, Completion, GradeContext, Golden, Provider } from '../src/core/types.js';
import { buildJudgeGrader, type JudgeGrade } from '../src/graders/judge.js';
import { normaliseScore } from '../src/graders/judge-verdict.js';
import { createProvider } from '../src/providers/registry.js';
import { agreement, outcomeScore, winRate } from '../src/stats/agreement.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';

const DATA = fileURLToPath(new URL('../../shared/datasets/', import.meta.url));
const ALPACA = `${DATA}alpaca_eval_judged/`;
const MT_BENCH = `${DATA}routellm_mt_bench/`;
const haveAlpaca = existsSync(`${ALPACA}judgments.jsonl`);
const haveMtBench = existsSync(`${MT_BENCH}judgments.jsonl`);
if (!haveAlpaca || !haveMtBench) {
  console.warn(`\n!!! judge-calibration: datasets missing under ${DATA} — the recorded-verdict calibration tests are SKIPPED !!!\n`);
}

const readJsonl = <T>(file: string): T[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);

const env = { CALIBRATION_JUDGE_KEY: 'sk-calibration-judge' };
const never = new AbortController().signal;
const factoryCtx = { suiteDir: '/nonexistent', location: { file: 'suite.yaml', path: 'graders.0' } };
const completion = (text: string): Completion => ({ text, usage: { input: 1, output: 1 }, latencyMs: 1 });

function section(text: string, name: string): string | undefined {
  const m = new RegExp(`\\[The Start of ${name}\\]\\n([\\s\\S]*?)\\n\\[The End of ${name}\\]`).exec(text);
  return m?.[1];
}

let server: MockLlmServer;
let judge: Provider;
beforeAll(async () => {
  server = await startMockLlmServer();
  judge = createProvider(
    { key: 'recorded-judge', provider: 'openai', model: 'gpt-4-recorded', baseURL: server.openaiBaseURL, apiKeyEnv: 'CALIBRATION_JUDGE_KEY', params: {}, concurrency: 32, timeoutMs: 10_000, maxRetries: 0 },
    { env },
  );
});
afterAll(() => server.close());

describe('Cohen kappa and agreement', () => {
  it('matches the textbook 2×2 example (a=20, b=5, c=10, d=15 → po 0.7, pe 0.5, kappa 0.4)', () => {
    const pairs: Array<[string, string]> = [
      ...Array<[string, string]>(20).fill(['yes', 'yes']),
      ...Array<[string, string]>(5).fill(['yes', 'no']),
      ...Array<[string, string]>(10).fill(['no', 'yes']),
      ...Array<[string, string]>(15).fill(['no', 'no']),
    ];
    const r = agreement(pairs);
    expect(r.n).toBe(50);
    expect(r.agreement).toBeCloseTo(0.7, 12);
    expect(r.kappa).toBeCloseTo(0.4, 12);
    expect(r.confusion).toEqual({ no: { no: 15, yes: 10 }, yes: { no: 5, yes: 20 } });
    expect(r.labels).toEqual(['no', 'yes']);
  });

  it('handles three labels, perfect agreement, and the undefined cases', () => {
    // A 3×3 table worked by hand: po = 0.7, marginals 30/40/30 on both sides → pe = 0.34, kappa = 0.5454…
    const table: Array<[string, string, number]> = [
      ['a', 'a', 25], ['a', 'b', 5], ['a', 'c', 0],
      ['b', 'a', 5], ['b', 'b', 25], ['b', 'c', 10],
      ['c', 'a', 0], ['c', 'b', 10], ['c', 'c', 20],
    ];
    const pairs = table.flatMap(([h, j, n]) => Array<[string, string]>(n).fill([h, j]));
    const r = agreement(pairs);
    const pe = (30 * 30 + 40 * 40 + 30 * 30) / 100 ** 2;
    expect(r.agreement).toBeCloseTo(0.7, 12);
    expect(r.kappa).toBeCloseTo((0.7 - pe) / (1 - pe), 12);
    expect(agreement([['x', 'x'], ['y', 'y']]).kappa).toBe(1);
    expect(agreement([['x', 'x'], ['x', 'x']]).kappa).toBeNaN();
    expect(agreement([]).agreement).toBeNaN();
    // A judge that never agrees beyond chance: kappa 0 or below.
    expect(agreement([['p', 'p'], ['p', 'f'], ['f', 'p'], ['f', 'f']]).kappa).toBeCloseTo(0, 12);
  });

  it('win rate counts ties half and reports the standard error', () => {
    const r = winRate(['win', 'loss', 'tie', 'win']);
    expect(r).toMatchObject({ n: 4, winRate: 0.625, wins: 2, ties: 1, losses: 1 });
    expect(r.standardError).toBeCloseTo(Math.sqrt((0.140625 * 2 + 0.390625 + 0.015625) / 3 / 4), 12);
    expect(outcomeScore('tie')).toBe(0.5);
  });
});

interface AlpacaJudgment {
  id: string;
  model: string;
  preference: number;
}
interface AlpacaRow {
  id: string;
  output?: string;
  instruction?: string;
}

describe.skipIf(!haveAlpaca)('AlpacaEval 2.0: recorded GPT-4-Turbo preferences vs gpt-4-1106-preview', () => {
  const published = { 'claude-2.1': 15.73, 'claude-instant-1.2': 16.13, 'gpt-3.5-turbo-1106': 9.18 } as const;
  type Model = keyof typeof published;
  const load = () => {
    const judgments = readJsonl<AlpacaJudgment>(`${ALPACA}judgments.jsonl`);
    const csv = readFileSync(`${ALPACA}leaderboard_rows.csv`, 'utf8').trim().split('\n');
    const header = csv[0]!.split(',');
    const board = new Map(csv.slice(1).map((line) => {
      const cells = line.split(',');
      return [cells[0]!, Object.fromEntries(header.map((h, i) => [h, Number(cells[i])]))] as const;
    }));
    return { judgments, board };
  };

  it('mean preference − 1 reproduces the published win rates and standard errors', () => {
    const { judgments, board } = load();
    for (const model of Object.keys(published) as Model[]) {
      const prefs = judgments.filter((j) => j.model === model).map((j) => j.preference - 1);
      expect(prefs).toHaveLength(805);
      const r = winRate(prefs);
      expect(r.winRate * 100).toBeCloseTo(published[model], 2);
      const row = board.get(model)!;
      expect(r.winRate * 100).toBeCloseTo(row.win_rate!, 9);
      expect(r.standardError * 100).toBeCloseTo(row.standard_error!, 9);
      expect([r.wins, r.losses, r.ties]).toEqual([row.n_wins, row.n_wins_base, row.n_draws]);
    }
  });

  it('the pairwise grader, replaying the recorded verdicts in both orders, reproduces the discrete win rates', async () => {
    const { judgments, board } = load();
    const cases = readJsonl<AlpacaRow>(`${ALPACA}cases.jsonl`);
    const baseline = new Map(readJsonl<AlpacaRow>(`${ALPACA}outputs/gpt-4-1106-preview.jsonl`).map((r) => [r.id, r.output!]));
    const grader = await buildJudgeGrader({ type: 'judge', mode: 'pairwise' }, factoryCtx);
    const limit = pLimit(32);

    // One model keeps the file fast (~1,600 HTTP calls); the others differ only in data, and their
    // discrete tallies are checked against the leaderboard in the test above.
    for (const model of ['claude-2.1'] as const) {
      const candidate = new Map(readJsonl<AlpacaRow>(`${ALPACA}outputs/${model}.jsonl`).map((r) => [r.id, r.output!]));
      const pref = new Map(judgments.filter((j) => j.model === model).map((j) => [j.id, j.preference]));
      // instruction → what the recorded judge preferred, found again from the prompt the grader sends.
      const byInstruction = new Map(cases.map((c) => [c.instruction!, { output: candidate.get(c.id)!, preference: pref.get(c.id)! }]));
      server.reset();
      server.script((r) => {
        const rec = byInstruction.get(section(r.lastUserText, 'Conversation') ?? '');
        const a = section(r.lastUserText, 'Response A');
        if (!rec) return 'unknown case';
        const candidateIsA = a === rec.output;
        const winner = rec.preference === 1.5 ? 'tie' : (rec.preference > 1.5) === candidateIsA ? 'A' : 'B';
        return JSON.stringify({ reasoning: `recorded preference ${rec.preference}`, winner });
      });

      const grades = await Promise.all(
        cases.map((c) =>
          limit(async () => {
            const caseRow: Case = { id: c.id, origin: { file: 'cases.jsonl', line: 1 } };
            const gctx: GradeContext = {
              request: { caseId: c.id, messages: [{ role: 'user', content: c.instruction! }], params: {}, repeat: 0 },
              baseline: completion(baseline.get(c.id)!),
              judge,
              signal: never,
            };
            return (await grader.grade(caseRow, completion(candidate.get(c.id)!), gctx)) as JudgeGrade;
          }),
        ),
      );
      expect(grades.filter((g) => g.error)).toEqual([]);
      const r = winRate(grades.map((g) => g.score));
      const row = board.get(model)!;
      expect(r.winRate * 100).toBeCloseTo(row.discrete_win_rate!, 9);
      expect([r.wins, r.losses, r.ties]).toEqual([row.n_wins, row.n_wins_base, row.n_draws]);
      // AlpacaEval's draws are exactly the cases where both models wrote the same text: the grader
      // calls them ties without asking the judge.
      expect(server.requests).toHaveLength(2 * (805 - row.n_draws!));
      expect(grades.reduce((n, g) => n + g.judgeUsage.calls, 0)).toBe(server.requests.length);
    }
  });
});

interface MtJudgment {
  question_id: number;
  model: string;
  turn: number;
  score: number;
}
interface MtCase {
  question_id: number;
  turns: string[];
  reference_answers?: string[];
}
interface MtOutput {
  question_id: number;
  model: string;
  turns: string[];
}

describe.skipIf(!haveMtBench)('MT-Bench: recorded GPT-4 1–10 scores, GPT-4-Turbo vs Mixtral', () => {
  it('the scored grader reproduces the recorded scores, pass counts and the kappa between the two models', async () => {
    const cases = readJsonl<MtCase>(`${MT_BENCH}cases.jsonl`);
    const judgments = readJsonl<MtJudgment>(`${MT_BENCH}judgments.jsonl`);
    const outputs = ['gpt-4-1106-preview', 'mixtral-8x7b-instruct-v0.1'].flatMap((f) => readJsonl<MtOutput>(`${MT_BENCH}outputs/${f}.jsonl`));
    const scoreOf = new Map(judgments.map((j) => [`${j.model}|${j.question_id}|${j.turn}`, j.score]));
    // Every recorded answer is distinct, so the mock judge finds the verdict from the response alone.
    const verdictByAnswer = new Map<string, { score: number; reference?: string }>();
    const caseById = new Map(cases.map((c) => [c.question_id, c]));
    for (const o of outputs) {
      o.turns.forEach((answer, i) => {
        const reference = caseById.get(o.question_id)!.reference_answers?.[i];
        verdictByAnswer.set(answer, { score: scoreOf.get(`${o.model}|${o.question_id}|${i + 1}`)!, ...(reference ? { reference } : {}) });
      });
    }
    expect(verdictByAnswer.size).toBe(320);
    server.reset();
    server.script((r) => {
      const v = verdictByAnswer.get(section(r.lastUserText, 'Response') ?? '');
      // The reference must reach the judge in reference mode; a prompt without it gets an unusable answer.
      if (!v || (v.reference !== undefined && section(r.lastUserText, 'Reference Answer') !== v.reference)) return 'cannot judge';
      return JSON.stringify({ reasoning: 'recorded verdict', score: v.score });
    });

    const passAt7 = normaliseScore(7, [1, 10]);
    const rubric = await buildJudgeGrader({ type: 'judge', mode: 'rubric', rubric: 'Helpfulness, relevance, accuracy, depth, creativity and detail.', passThreshold: passAt7 }, factoryCtx);
    const reference = await buildJudgeGrader({ type: 'judge', mode: 'reference', passThreshold: passAt7 }, factoryCtx);
    const limit = pLimit(32);
    const graded = await Promise.all(
      outputs.flatMap((o) =>
        o.turns.map((answer, i) =>
          limit(async () => {
            const c = caseById.get(o.question_id)!;
            const messages: ChatMessage[] = [{ role: 'user', content: c.turns[0]! }];
            if (i === 1) messages.push({ role: 'assistant', content: o.turns[0]! }, { role: 'user', content: c.turns[1]! });
            const ref = c.reference_answers?.[i];
            const golden: Golden | undefined = ref ? { id: String(c.question_id), reference: ref, origin: { file: 'goldens.jsonl', line: 1 } } : undefined;
            const grade = await (ref ? reference : rubric).grade({ id: `${c.question_id}-t${i + 1}`, origin: { file: 'cases.jsonl', line: 1 } }, completion(answer), {
              request: { caseId: String(c.question_id), messages, params: {}, repeat: 0 },
              judge,
              signal: never,
              ...(golden ? { golden } : {}),
            });
            return { key: `${o.model}|${o.question_id}|${i + 1}`, grade };
          }),
        ),
      ),
    );
    expect(graded.filter((g) => g.grade.error)).toEqual([]);
    expect(server.requests).toHaveLength(320);

    for (const model of ['gpt-4-1106-preview', 'mistralai/Mixtral-8x7B-Instruct-v0.1']) {
      const mine = graded.filter((g) => g.key.startsWith(`${model}|`));
      const recorded = mine.map((g) => scoreOf.get(g.key)!);
      const meanRecorded = recorded.reduce((a, b) => a + b, 0) / recorded.length;
      const meanGraded = mine.reduce((a, g) => a + g.grade.score, 0) / mine.length;
      expect(meanGraded).toBeCloseTo((meanRecorded - 1) / 9, 12);
      // Published means (SOURCE.md): GPT-4-Turbo 9.228, Mixtral 8.341.
      expect(meanRecorded).toBeCloseTo(model.startsWith('gpt') ? 9.228 : 8.341, 3);
      // The grader's pass (score ≥ 7) agrees with the recorded scores everywhere: kappa 1.
      const a = agreement(mine.map((g) => [scoreOf.get(g.key)! >= 7 ? 'pass' : 'fail', g.grade.pass ? 'pass' : 'fail']));
      expect([a.agreement, a.kappa]).toEqual([1, 1]);
    }

    // Do the two models pass and fail on the same (question, turn)? Kappa over the grader's verdicts;
    // expected values computed independently from the raw file (133/16/1/10 → po 0.89375, pe 0.79109375).
    const passOf = new Map(graded.map((g) => [g.key, g.grade.pass ? 'pass' : 'fail']));
    const pairs: Array<[string, string]> = cases.flatMap((c) =>
      [1, 2].map((t) => [passOf.get(`gpt-4-1106-preview|${c.question_id}|${t}`)!, passOf.get(`mistralai/Mixtral-8x7B-Instruct-v0.1|${c.question_id}|${t}`)!] as [string, string]),
    );
    const k = agreement(pairs);
    expect(k.n).toBe(160);
    expect(k.confusion).toEqual({ pass: { pass: 133, fail: 16 }, fail: { pass: 1, fail: 10 } });
    expect(k.agreement).toBeCloseTo(0.89375, 12);
    expect(k.kappa).toBeCloseTo((0.89375 - 0.79109375) / (1 - 0.79109375), 12);
    expect(k.kappa).toBeCloseTo(0.4914, 4);
  });
});
