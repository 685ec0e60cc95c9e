import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import type { Attachment, Case, Completion, CompletionRequest, GradeContext, Golden, GraderSpec, ModelConfig, Provider } from '../src/core/types.js';
import {
  JUDGE_SYSTEM_PROMPT,
  NO_JUDGE_MESSAGE,
  buildJudgeGrader,
  combineOrders,
  judgeGraderDefinition,
  judgeNeedsGolden,
  majorityOutcome,
  type JudgeGrade,
  type JudgeOptions,
} from '../src/graders/judge.js';
import { normaliseScore, parsePairwiseVerdict, parseScoreVerdict } from '../src/graders/judge-verdict.js';
import { createProvider } from '../src/providers/registry.js';
import { startMockLlmServer, type MockLlmServer, type MockRequest } from './support/mock-llm-server.js';
import { png } from './support/png.js';

const env = { JUDGE_TEST_KEY: 'sk-judge-test-123456' };
const never = new AbortController().signal;
const QUESTION = 'What is the capital of France?';
const GOOD = 'The capital of France is Paris.';
const BAD = 'The capital of France is Lyon.';

let server: MockLlmServer;
let suiteDir: string;
beforeAll(async () => {
  server = await startMockLlmServer();
  suiteDir = mkdtempSync(join(tmpdir(), 'evalroute-judge-'));
});
afterAll(async () => {
  await server.close();
  rmSync(suiteDir, { recursive: true, force: true });
});
beforeEach(() => {
  server.reset();
  server.setFaults({});
});

function judgeModel(provider: 'openai' | 'anthropic' = 'openai'): ModelConfig {
  return {
    key: 'judge',
    provider,
    model: 'judge-model',
    baseURL: provider === 'openai' ? server.openaiBaseURL : server.anthropicBaseURL,
    apiKeyEnv: 'JUDGE_TEST_KEY',
    params: {},
    concurrency: 4,
    timeoutMs: 5_000,
    maxRetries: 0,
  };
}

const factoryCtx = () => ({ suiteDir, location: { file: join(suiteDir, 'suite.yaml'), path: 'graders.0' } });
const theCase: Case = { id: 'c1', vars: {}, origin: { file: 'cases.jsonl', line: 1 } };
const completion = (text: string): Completion => ({ text, usage: { input: 5, output: 7 }, latencyMs: 1 });
const request: CompletionRequest = { caseId: 'c1', messages: [{ role: 'user', content: QUESTION }], params: {}, repeat: 0 };

/** `judge: null` = no judge configured. */
function ctx(over: Partial<GradeContext> = {}, judge: Provider | null = createProvider(judgeModel(), { env })): GradeContext {
  return { request, signal: never, ...(judge ? { judge } : {}), ...over };
}

function golden(over: Partial<Golden> = {}): Golden {
  return { id: 'c1', origin: { file: 'goldens.jsonl', line: 3 }, ...over };
}

async function grader(spec: Omit<GraderSpec, 'type'>, options?: JudgeOptions) {
  return buildJudgeGrader({ type: 'judge', ...spec }, factoryCtx(), options);
}

/** The text between `[The Start of <name>]` and `[The End of <name>]` in the judge prompt. */
function section(text: string, name: string): string | undefined {
  const m = new RegExp(`\\[The Start of ${name}\\]\\n([\\s\\S]*?)\\n\\[The End of ${name}\\]`).exec(text);
  return m?.[1];
}

/** An unbiased judge: prefers whichever response names Paris, wherever it is shown. */
const fairJudge = (r: MockRequest) => {
  const a = section(r.lastUserText, 'Response A') ?? '';
  const b = section(r.lastUserText, 'Response B') ?? '';
  const winner = a.includes('Paris') === b.includes('Paris') ? 'tie' : a.includes('Paris') ? 'A' : 'B';
  return JSON.stringify({ reasoning: `Response ${winner} names the right city.`, winner });
};

describe('verdict parsing', () => {
  it('reads fenced JSON after prose, numeric strings and loose winner labels', () => {
    const s = parseScoreVerdict('Here is my verdict:\n```json\n{"reasoning": "ok", "score": "8"}\n```', [1, 10]);
    expect(s).toEqual({ ok: true, verdict: { reasoning: 'ok', score: 8 } });
    expect(parsePairwiseVerdict('{"winner": "Response B", "reasoning": "x"}')).toMatchObject({ ok: true, verdict: { winner: 'B' } });
    expect(parsePairwiseVerdict('{"winner": " Tie ", "reasoning": "x"}')).toMatchObject({ ok: true, verdict: { winner: 'tie' } });
  });

  it('rejects verdicts it cannot read, saying why', () => {
    expect(parseScoreVerdict('I would give it an eight.', [1, 10])).toMatchObject({ ok: false, error: expect.stringContaining('no JSON') });
    expect(parseScoreVerdict('{"score": 11, "reasoning": "x"}', [1, 10])).toEqual({ ok: false, error: 'score 11 is outside the scale 1..10' });
    expect(parseScoreVerdict('{"rating": 5}', [1, 10])).toMatchObject({ ok: false, error: expect.stringContaining('score') });
    expect(parsePairwiseVerdict('{"winner": "C", "reasoning": "x"}')).toMatchObject({ ok: false });
  });

  it('normalises scores onto 0..1', () => {
    expect(normaliseScore(1, [1, 10])).toBe(0);
    expect(normaliseScore(10, [1, 10])).toBe(1);
    expect(normaliseScore(3, [0, 4])).toBe(0.75);
  });
});

describe('judge grader: rubric and reference modes', () => {
  it('sends a deterministic rubric prompt at temperature 0, seed 0, and normalises the score', async () => {
    server.script(() => ({ text: 'Verdict:\n```json\n{"reasoning": "Concise and correct.", "score": 8}\n```', usage: { input: 120, output: 30 } }));
    const g = await grader({ mode: 'rubric', rubric: 'Names the correct capital city.' }, { price: { input: 1, output: 2 } });
    expect(g.needsGolden).toBe(false);
    const grade = (await g.grade(theCase, completion(GOOD), ctx())) as JudgeGrade;

    expect(grade.error).toBeUndefined();
    expect(grade.score).toBeCloseTo(7 / 9, 10);
    expect(grade.pass).toBe(true);
    expect(grade.explanation).toContain('score 8 on 1..10');
    expect(grade.explanation).toContain('Concise and correct.');
    expect(grade.judgeUsage).toEqual({ calls: 1, inputTokens: 120, outputTokens: 30, costUsd: (120 * 1 + 30 * 2) / 1e6 });

    expect(server.requests).toHaveLength(1);
    const sent = server.requests[0]!;
    expect(sent.body.temperature).toBe(0);
    expect(sent.body.seed).toBe(0);
    expect(sent.messages[0]).toEqual({ role: 'system', content: JUDGE_SYSTEM_PROMPT });
    const prompt = sent.messages[1]!.content;
    expect(section(prompt, 'Conversation')).toBe(QUESTION);
    expect(section(prompt, 'Rubric')).toBe('Names the correct capital city.');
    expect(section(prompt, 'Response')).toBe(GOOD);
    expect(prompt).toContain('from 1 (fails the rubric entirely) to 10');
  });

  it('takes the rubric from the golden and fails a score under the threshold', async () => {
    server.script((r) => JSON.stringify({ reasoning: 'Wrong city.', score: section(r.lastUserText, 'Rubric') === 'Must say Paris.' ? 3 : 9 }));
    const g = await grader({ mode: 'rubric' });
    expect(g.needsGolden).toBe(true);
    const grade = await g.grade(theCase, completion(BAD), ctx({ golden: golden({ rubric: 'Must say Paris.' }) }));
    expect(grade.score).toBeCloseTo(2 / 9, 10);
    expect(grade.pass).toBe(false);
    expect(grade.error).toBeUndefined();
  });

  it('uses the configured threshold on the normalised score', async () => {
    server.script(() => '{"reasoning": "fine", "score": 7}');
    const strict = await grader({ mode: 'rubric', rubric: 'r', passThreshold: 0.7 });
    expect((await strict.grade(theCase, completion(GOOD), ctx())).pass).toBe(false);
    const lenient = await grader({ mode: 'rubric', rubric: 'r', passThreshold: normaliseScore(7, [1, 10]) });
    expect((await lenient.grade(theCase, completion(GOOD), ctx())).pass).toBe(true);
    const fivePoint = await grader({ mode: 'rubric', rubric: 'r', scale: [0, 7] });
    expect((await fivePoint.grade(theCase, completion(GOOD), ctx())).score).toBe(1);
  });

  it('reference mode shows the judge the golden reference', async () => {
    server.script((r) => {
      const ref = section(r.lastUserText, 'Reference Answer') ?? '';
      const out = section(r.lastUserText, 'Response') ?? '';
      const agrees = ref.includes('Paris') && out.includes('Paris');
      return JSON.stringify({ reasoning: agrees ? 'Matches the reference.' : 'Contradicts the reference.', score: agrees ? 10 : 1 });
    });
    const g = await grader({ mode: 'reference' });
    expect(g.needsGolden).toBe(true);
    const withRef = ctx({ golden: golden({ reference: 'Paris' }) });
    const good = await g.grade(theCase, completion(GOOD), withRef);
    const bad = await g.grade(theCase, completion(BAD), withRef);
    expect([good.score, good.pass]).toEqual([1, true]);
    expect([bad.score, bad.pass]).toEqual([0, false]);
    expect(bad.explanation).toContain('Contradicts the reference.');
  });

  it('a case without a reference or rubric is a grade error, with no judge call', async () => {
    const ref = await grader({ mode: 'reference' });
    const noRef = await ref.grade(theCase, completion(GOOD), ctx({ golden: golden() }));
    expect(noRef.pass).toBe(false);
    expect(noRef.error).toMatch(/golden for case "c1" \(goldens\.jsonl:3\) has no reference answer/);
    const rub = await grader({ mode: 'rubric' });
    const noRubric = await rub.grade(theCase, completion(GOOD), ctx());
    expect(noRubric.error).toMatch(/case "c1" \(no golden\) has no rubric/);
    expect(server.requests).toHaveLength(0);
  });

  it('without a judge model the grade is an error, never a pass', async () => {
    const g = await grader({ mode: 'rubric', rubric: 'r' });
    const grade = (await g.grade(theCase, completion(GOOD), ctx({}, null))) as JudgeGrade;
    expect(grade).toMatchObject({ pass: false, score: 0, error: NO_JUDGE_MESSAGE });
    expect(grade.judgeUsage.calls).toBe(0);
  });

  it('a failing judge call is a grade error naming the judge', async () => {
    server.failNext(1, 'error500');
    const g = await grader({ mode: 'rubric', rubric: 'r' });
    const grade = await g.grade(theCase, completion(GOOD), ctx());
    expect(grade.pass).toBe(false);
    expect(grade.error).toMatch(/^judge call failed: .*judge/);
    expect(grade.error).not.toContain(env.JUDGE_TEST_KEY);
  });

  it('works with an Anthropic judge, leaving out the seed the Messages API rejects', async () => {
    server.script(() => '{"reasoning": "good", "score": 10}');
    const g = await grader({ mode: 'rubric', rubric: 'r' });
    const grade = await g.grade(theCase, completion(GOOD), ctx({}, createProvider(judgeModel('anthropic'), { env })));
    expect(grade.score).toBe(1);
    const sent = server.requests[0]!;
    expect(sent.api).toBe('anthropic');
    expect(sent.body.temperature).toBe(0);
    expect('seed' in sent.body).toBe(false);
    expect(sent.body.system).toBe(JUDGE_SYSTEM_PROMPT);
  });

  it("the judge model's configured params override the defaults", async () => {
    server.script(() => '{"reasoning": "good", "score": 10}');
    const g = await grader({ mode: 'rubric', rubric: 'r' }, { params: { temperature: 1, max_tokens: 300 } });
    await g.grade(theCase, completion(GOOD), ctx());
    expect(server.requests[0]!.body).toMatchObject({ temperature: 1, max_tokens: 300, seed: 0 });
  });
});

describe('judge grader: malformed verdicts', () => {
  it('retries once with the error shown to the judge, then succeeds: 2 calls', async () => {
    let n = 0;
    server.script(() => (n++ === 0 ? 'I think this answer deserves a high mark.' : '{"reasoning": "Correct.", "score": 9}'));
    const g = await grader({ mode: 'rubric', rubric: 'r' });
    const grade = (await g.grade(theCase, completion(GOOD), ctx())) as JudgeGrade;
    expect(grade.error).toBeUndefined();
    expect(grade.score).toBeCloseTo(8 / 9, 10);
    expect(grade.judgeUsage.calls).toBe(2);
    const retry = server.requests[1]!.messages;
    expect(retry).toHaveLength(4);
    expect(retry[2]).toEqual({ role: 'assistant', content: 'I think this answer deserves a high mark.' });
    expect(retry[3]!.content).toMatch(/^Your previous answer was not a valid verdict: no JSON object found.*Answer again with only the JSON object\.$/);
  });

  it('an out-of-scale score is retried too', async () => {
    let n = 0;
    server.script(() => (n++ === 0 ? '{"reasoning": "great", "score": 95}' : '{"reasoning": "great", "score": 9.5}'));
    const g = await grader({ mode: 'rubric', rubric: 'r' });
    const grade = await g.grade(theCase, completion(GOOD), ctx());
    expect(grade.score).toBeCloseTo(8.5 / 9, 10);
    expect(server.requests[1]!.messages[3]!.content).toContain('score 95 is outside the scale 1..10');
  });

  it('malformed twice is a judge error: not a pass, score 0, error recorded', async () => {
    server.script(() => 'Response A is clearly better.');
    const g = await grader({ mode: 'pairwise' });
    const grade = (await g.grade(theCase, completion(GOOD), ctx({ baseline: completion(BAD) }))) as JudgeGrade;
    expect(grade.pass).toBe(false);
    expect(grade.score).toBe(0);
    expect(grade.error).toMatch(/^order A=candidate: judge "judge" gave no valid verdict for case "c1" after a retry: no JSON object found/);
    expect(grade.error).toContain('"Response A is clearly better."');
    expect(grade.judgeUsage.calls).toBe(2);
  });
});

describe('judge grader: pairwise', () => {
  it('an unbiased judge that prefers the better answer in both orders gives a win', async () => {
    server.script(fairJudge);
    const g = await grader({ mode: 'pairwise' });
    expect([g.needsBaseline, g.needsGolden]).toEqual([true, false]);
    const grade = (await g.grade(theCase, completion(GOOD), ctx({ baseline: completion(BAD) }))) as JudgeGrade;
    expect(grade).toMatchObject({ score: 1, pass: true });
    expect(grade.explanation).toMatch(/^candidate wins: win \(A=candidate order → A, A=baseline order → B\)/);
    expect(grade.judgeUsage.calls).toBe(2);
    const [ab, ba] = server.requests.map((r) => r.messages[1]!.content);
    expect([section(ab!, 'Response A'), section(ab!, 'Response B')]).toEqual([GOOD, BAD]);
    expect([section(ba!, 'Response A'), section(ba!, 'Response B')]).toEqual([BAD, GOOD]);
  });

  it('the same judge gives a loss when the baseline is better', async () => {
    server.script(fairJudge);
    const g = await grader({ mode: 'pairwise' });
    const grade = await g.grade(theCase, completion(BAD), ctx({ baseline: completion(GOOD) }));
    expect(grade).toMatchObject({ score: 0, pass: false });
    expect(grade.explanation).toMatch(/^baseline wins/);
  });

  it('a position-biased judge (always "A") gives a tie, reported as position bias', async () => {
    server.script(() => '{"reasoning": "The first response is better.", "winner": "A"}');
    const g = await grader({ mode: 'pairwise' });
    const grade = await g.grade(theCase, completion(BAD), ctx({ baseline: completion(GOOD) }));
    expect(grade.score).toBe(0.5);
    expect(grade.pass).toBe(true);
    expect(grade.explanation).toContain('tie: orders disagreed (position bias): A=candidate order → A, A=baseline order → A');

    const strict = await grader({ mode: 'pairwise', passOn: 'win' });
    const strictGrade = await strict.grade(theCase, completion(BAD), ctx({ baseline: completion(GOOD) }));
    expect([strictGrade.score, strictGrade.pass]).toEqual([0.5, false]);
  });

  it('grades the baseline against itself, or an identical output, as a tie without calling the judge', async () => {
    const g = await grader({ mode: 'pairwise' });
    const self = (await g.grade(theCase, completion(GOOD), ctx())) as JudgeGrade;
    expect(self).toMatchObject({ score: 0.5, pass: true, explanation: 'baseline vs itself: tie (judge not called)' });
    const same = await g.grade(theCase, completion(GOOD), ctx({ baseline: completion(GOOD) }));
    expect(same).toMatchObject({ score: 0.5, pass: true });
    expect(server.requests).toHaveLength(0);
    expect(self.judgeUsage).toEqual({ calls: 0, inputTokens: 0, outputTokens: 0 });
  });

  it('shows the golden reference to a pairwise judge when there is one', async () => {
    server.script(fairJudge);
    const g = await grader({ mode: 'pairwise' });
    await g.grade(theCase, completion(GOOD), ctx({ baseline: completion(BAD), golden: golden({ reference: 'Paris' }) }));
    expect(section(server.requests[0]!.messages[1]!.content, 'Reference Answer')).toBe('Paris');
  });
});

describe('judge grader: samples', () => {
  it('pairwise takes the majority of N samples and reports the spread', async () => {
    let n = 0;
    // Calls come in order pairs (A=candidate, A=baseline) per sample; samples 1–2 favour the candidate, 3 the baseline.
    server.script((r) => {
      const sample = Math.floor(n++ / 2);
      const a = section(r.lastUserText, 'Response A');
      const candidateIsA = a === GOOD;
      const candidateWins = sample < 2;
      return JSON.stringify({ reasoning: `sample ${sample}`, winner: candidateWins === candidateIsA ? 'A' : 'B' });
    });
    const g = await grader({ mode: 'pairwise', samples: 3 });
    const grade = (await g.grade(theCase, completion(GOOD), ctx({ baseline: completion(BAD) }))) as JudgeGrade;
    expect(grade).toMatchObject({ score: 1, pass: true });
    expect(grade.explanation).toMatch(/^candidate wins by majority of 3 samples \(2 win, 0 tie, 1 loss\): #1 win .*#3 loss/);
    expect(grade.judgeUsage.calls).toBe(6);
  });

  it('scored modes take the mean of N samples and report min–max and sd', async () => {
    const scores = [8, 6, 10];
    let n = 0;
    server.script(() => ({ text: JSON.stringify({ reasoning: 'ok', score: scores[n++] }), usage: { input: 100, output: 10 } }));
    const g = await grader({ mode: 'rubric', rubric: 'r', samples: 3 });
    const grade = (await g.grade(theCase, completion(GOOD), ctx())) as JudgeGrade;
    expect(grade.score).toBeCloseTo((7 + 5 + 9) / 27, 10);
    expect(grade.explanation).toContain('mean 0.778 over 3 samples (raw 8, 6, 10; spread 0.556–1, sd 0.181)');
    expect(grade.judgeUsage).toEqual({ calls: 3, inputTokens: 300, outputTokens: 30 });
  });

  it('majority of samples and combination of orders', () => {
    expect(majorityOutcome(['win', 'loss', 'win'])).toBe('win');
    expect(majorityOutcome(['win', 'loss'])).toBe('tie');
    expect(majorityOutcome(['win', 'tie', 'loss'])).toBe('tie');
    expect(majorityOutcome(['loss', 'loss', 'tie'])).toBe('loss');
    expect(combineOrders('win', 'tie')).toEqual({ outcome: 'tie', disagreed: true });
    expect(combineOrders('loss', 'loss')).toEqual({ outcome: 'loss', disagreed: false });
  });
});

describe('judge grader: cache compatibility', () => {
  /** Records every request the grader hands the real provider. */
  function recording(inner: Provider, log: CompletionRequest[]): Provider {
    return { key: inner.key, identity: inner.identity, complete: (req, signal) => (log.push(structuredClone(req)), inner.complete(req, signal)) };
  }

  it('the same inputs give byte-identical judge requests; samples differ only by repeat', async () => {
    server.script(fairJudge);
    const runs: CompletionRequest[][] = [];
    const bodies: string[][] = [];
    for (let i = 0; i < 2; i++) {
      server.reset();
      const log: CompletionRequest[] = [];
      const g = await grader({ mode: 'pairwise', samples: 2 });
      await g.grade(theCase, completion(GOOD), ctx({ baseline: completion(BAD) }, recording(createProvider(judgeModel(), { env }), log)));
      runs.push(log);
      bodies.push(server.requests.map((r) => JSON.stringify(r.body)));
    }
    expect(JSON.stringify(runs[0])).toBe(JSON.stringify(runs[1]));
    expect(bodies[0]).toEqual(bodies[1]);
    const log = runs[0]!;
    expect(log.map((r) => r.repeat)).toEqual([0, 0, 1, 1]);
    // The API sees the same sample twice; only `repeat` (the cache key) tells samples apart.
    expect(log[2]!.messages).toEqual(log[0]!.messages);
    expect(log[0]!.params).toEqual({ temperature: 0, seed: 0 });
  });
});

describe('judge grader: configuration', () => {
  it('uses a user template from the suite folder', async () => {
    writeFileSync(join(suiteDir, 'my-judge.hbs'), 'Q: {{input}}\nA: {{output}}\nRubric <{{rubric}}>\nReply {"reasoning": "…", "score": 1-10}');
    server.script(() => '{"reasoning": "ok", "score": 10}');
    const g = await grader({ mode: 'rubric', rubric: 'a & b', template: './my-judge.hbs' });
    await g.grade(theCase, completion(GOOD), ctx());
    // noEscape: the judge reads "&", not "&amp;".
    expect(server.requests[0]!.messages[1]!.content).toBe(`Q: ${QUESTION}\nA: ${GOOD}\nRubric <a & b>\nReply {"reasoning": "…", "score": 1-10}`);
  });

  it('rejects bad options as config errors naming the option', async () => {
    const bad = async (spec: Omit<GraderSpec, 'type'>) => {
      const err = await grader(spec).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).message;
    };
    expect(await bad({ mode: 'rubric', passThreshold: 7 })).toMatch(/graders\.0\.passThreshold.*above 1[\s\S]*7 on 1\.\.10 is passThreshold: 0\.667/);
    expect(await bad({ mode: 'rubric', passOn: 'win' })).toContain('passOn applies to pairwise mode');
    expect(await bad({ mode: 'pairwise', scale: [1, 5] })).toContain('scale applies to rubric and reference modes');
    expect(await bad({ mode: 'rubric', scale: [5, 1] })).toContain('low < high');
    expect(await bad({ mode: 'judgy' })).toContain('mode');
    expect(await bad({ mode: 'rubric', temperature: 0 })).toContain('unknown option "temperature"');
    expect(await bad({ mode: 'rubric', template: './missing.hbs' })).toContain('does not exist');
    writeFileSync(join(suiteDir, 'broken.hbs'), 'Rate {{#if output}} this');
    expect(await bad({ mode: 'rubric', template: './broken.hbs' })).toMatch(/broken\.hbs does not parse/);
  });

  it('says from the spec alone whether goldens are needed', async () => {
    expect(judgeNeedsGolden({ type: 'judge', mode: 'reference' })).toBe(true);
    expect(judgeNeedsGolden({ type: 'judge', mode: 'rubric' })).toBe(true);
    expect(judgeNeedsGolden({ type: 'judge', rubric: 'inline' })).toBe(false);
    expect(judgeNeedsGolden({ type: 'judge', mode: 'pairwise' })).toBe(false);
    const g = await judgeGraderDefinition.create({ type: 'judge', name: 'quality', mode: 'pairwise', model: 'opus' }, factoryCtx());
    expect(g.name).toBe('quality');
    expect((g as Awaited<ReturnType<typeof buildJudgeGrader>>).judgeModel).toBe('opus');
  });
});

describe('judge grader: cases with images and PDFs', () => {
  const RECEIPT = png(30, 20);
  const receipt: Attachment = { kind: 'image', mediaType: 'image/png', name: 'receipts/r1.png', sha256: 'a'.repeat(64), bytes: RECEIPT.length, width: 30, height: 20, data: RECEIPT };
  // The same file on two messages of the conversation: the judge is sent it once.
  const withImage: CompletionRequest = {
    caseId: 'c1',
    messages: [
      { role: 'user', content: 'Keep this receipt.', attachments: [receipt] },
      { role: 'assistant', content: 'Kept.' },
      { role: 'user', content: 'What is the total on the receipt?', attachments: [receipt] },
    ],
    params: {},
    repeat: 0,
  };
  const verdict = () => '{"reasoning": "matches the receipt", "score": 9}';

  it('sends the judge the files the model was shown, once each, and names them in the conversation (OpenAI)', async () => {
    server.script(verdict);
    const g = await grader({ mode: 'rubric', rubric: 'Is the total right?' });
    const grade = await g.grade(theCase, completion('12.50'), ctx({ request: withImage }));
    expect(grade.error).toBeUndefined();
    const question = server.requests[0]!.messages.at(-1)!;
    expect(question.parts).toHaveLength(2); // the image, then the prompt text
    expect((question.parts![0] as { image_url: { url: string } }).image_url.url).toBe(`data:image/png;base64,${RECEIPT.toString('base64')}`);
    expect(question.content).toContain('User: [attached: image "receipts/r1.png"]\nWhat is the total on the receipt?');
    expect(question.content).not.toContain('not shown');
  });

  it('does the same with an Anthropic judge (image block before the text)', async () => {
    server.script(verdict);
    const g = await grader({ mode: 'rubric', rubric: 'Is the total right?' });
    await g.grade(theCase, completion('12.50'), ctx({ request: withImage }, createProvider(judgeModel('anthropic'), { env })));
    const question = server.requests[0]!.messages.at(-1)!;
    expect(question.parts).toHaveLength(2); // the image once, then the prompt text
    expect(question.parts![0]).toEqual({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: RECEIPT.toString('base64') } });
    expect(question.content).toContain('User: [attached: image "receipts/r1.png"]\nWhat is the total on the receipt?');
  });

  it('pairwise judges see the files in both orders', async () => {
    server.script(() => '{"reasoning": "A reads the receipt", "winner": "tie"}');
    const g = await grader({ mode: 'pairwise' });
    await g.grade(theCase, completion('12.50'), ctx({ request: withImage, baseline: completion('13.00') }));
    expect(server.requests).toHaveLength(2);
    for (const r of server.requests) expect(r.messages.at(-1)!.parts).toHaveLength(2);
  });

  it('a judge API that refuses the files is a judge error saying how to turn them off', async () => {
    server.failNext(1, 'error400');
    const g = await grader({ mode: 'rubric', rubric: 'Is the total right?' });
    const grade = await g.grade(theCase, completion('12.50'), ctx({ request: withImage }));
    expect(grade.pass).toBe(false);
    expect(grade.error).toMatch(/^judge call failed: [\s\S]*\n {2}→ the judge was sent the case's images or PDFs: .*set attachments: false on the judge grader$/);
  });

  it('attachments: false sends text only and tells the judge the files are not shown', async () => {
    server.script(verdict);
    const g = await grader({ mode: 'rubric', rubric: 'Is the total right?', attachments: false });
    await g.grade(theCase, completion('12.50'), ctx({ request: withImage }));
    const question = server.requests[0]!.messages.at(-1)!;
    expect(question.parts).toBeUndefined();
    expect(question.content).toContain('[attached: image "receipts/r1.png" (not shown to you)]');
  });

  it('a text-only conversation reads exactly as before (its cached verdicts stay valid)', async () => {
    server.script(verdict);
    const g = await grader({ mode: 'rubric', rubric: 'Is the total right?' });
    await g.grade(theCase, completion(GOOD), ctx());
    const question = server.requests[0]!.messages.at(-1)!;
    expect(question.parts).toBeUndefined();
    expect(question.content).not.toContain('[attached');
    expect(question.content).toContain(`[The Start of Conversation]\n${QUESTION}\n[The End of Conversation]`);
  });
});
