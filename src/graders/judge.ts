/**
 * `type: judge` — an LLM grades the output: against a rubric, against a reference answer, or head to
 * head with the baseline model's output (pairwise, both orders, to cancel position bias).
 *
 * The judge is handed in (`ctx.judge`); this grader never builds a provider. Every judge request is
 * deterministic (same case and outputs → byte-identical messages and params), so a response cache
 * keyed on requests serves judge calls too. A verdict the grader cannot read is retried once, then
 * recorded as a judge error: it never silently becomes a pass or a fail.
 */
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { callCost } from '../core/cost.js';
import { ProviderError } from '../core/errors.js';
import { redact } from '../core/redact.js';
import type {
  Attachment,
  Case,
  ChatMessage,
  Completion,
  CompletionRequest,
  Grade,
  GradeContext,
  Grader,
  GraderFactoryContext,
  GraderSpec,
  Price,
  Provider,
} from '../core/types.js';
import {
  normaliseScore,
  parsePairwiseVerdict,
  parseScoreVerdict,
  type PairwiseVerdict,
  type VerdictParse,
} from './judge-verdict.js';
import { optionError, parseSpec, resolveLocalFile } from './options.js';
import { codeFile } from '../core/package-files.js';
import { handlebars } from '../core/handlebars.js';

export const JUDGE_MODES = ['rubric', 'reference', 'pairwise'] as const;
export type JudgeMode = (typeof JUDGE_MODES)[number];

/** What the judge calls of one grade cost. Proposed as an optional field of core `Grade`. */
export interface JudgeUsage {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  /** Present only when the judge's price is known (see `JudgeOptions.price`); never a made-up zero. */
  costUsd?: number;
}

export type JudgeGrade = Grade & { judgeUsage: JudgeUsage };

/** What the caller knows about the judge model that the Provider interface does not carry. */
export interface JudgeOptions {
  /** The judge model's configured params; they override the grader's defaults (temperature 0, seed 0). */
  params?: Record<string, unknown>;
  /** The judge model's price, to fill `judgeUsage.costUsd`. */
  price?: Price;
}

export const NO_JUDGE_MESSAGE = 'no judge model configured; add `judge: { model: … }` to evalroute.config.yaml';

export const JUDGE_SYSTEM_PROMPT =
  'You are an impartial, careful evaluator of AI assistant responses. You answer only with the JSON object you are asked for.';

const DEFAULT_SCALE: readonly [number, number] = [1, 10];
const REASONING_LIMIT = 1000;
const MAX_SAMPLES = 25;

const judgeSpecSchema = z.strictObject({
  type: z.literal('judge'),
  name: z.string().min(1).optional(),
  mode: z.enum(JUDGE_MODES).default('rubric'),
  rubric: z.string().min(1).optional(),
  model: z.string().min(1).optional(),
  samples: z.number().int().min(1).max(MAX_SAMPLES).default(1),
  passThreshold: z.number().min(0).max(1).optional(),
  passOn: z.enum(['win', 'win-or-tie']).optional(),
  template: z.string().min(1).optional(),
  attachments: z.boolean().default(true),
  scale: z
    .tuple([z.number(), z.number()])
    .refine(([lo, hi]) => Number.isFinite(lo) && Number.isFinite(hi) && lo < hi, 'scale must be [low, high] with low < high')
    .optional(),
});

const HINT =
  'judge options: mode: rubric | reference | pairwise; rubric: text (else the golden\'s rubric); model: judge model key; ' +
  `samples: 1..${MAX_SAMPLES}; template: ./file.hbs; rubric/reference only: scale: [1, 10], passThreshold: 0..1 on the normalised score; ` +
  'pairwise only: passOn: win | win-or-tie; attachments: true | false (send the case\'s images and PDFs to the judge; default true)';

interface JudgeSettings {
  mode: JudgeMode;
  rubric?: string;
  samples: number;
  passThreshold: number;
  passOn: 'win' | 'win-or-tie';
  scale: readonly [number, number];
  /** Whether the judge is sent the images and PDFs of the graded conversation (else only told of them). */
  attachments: boolean;
  /** Absolute path of a user template; the built-in one for the mode when absent. */
  templateFile?: string;
  templateText?: string;
}

type Render = (vars: Record<string, unknown>) => string;

const builtInTemplates = new Map<JudgeMode, Promise<string>>();

function builtInTemplate(mode: JudgeMode): Promise<string> {
  let text = builtInTemplates.get(mode);
  if (!text) {
    text = readFile(codeFile(`graders/templates/judge-${mode}.hbs`), 'utf8');
    builtInTemplates.set(mode, text);
  }
  return text;
}

/**
 * The conversation the graded output answers, as the judge reads it. A message with files names them
 * first, so the judge knows what the model was shown — and, when they are not sent along (`shown`
 * false), that it cannot see them. Text-only conversations read as they always did, so their judge
 * requests (and cached verdicts) are unchanged.
 */
export function formatConversation(messages: readonly ChatMessage[], shown = true): string {
  const text = (m: ChatMessage) =>
    m.attachments?.length ? `[attached: ${m.attachments.map((a) => `${a.kind} "${a.name}"`).join(', ')}${shown ? '' : ' (not shown to you)'}]\n${m.content}` : m.content;
  const only = messages[0];
  if (messages.length === 1 && only?.role === 'user') return text(only);
  const label = { system: 'System', user: 'User', assistant: 'Assistant' } as const;
  return messages.map((m) => `${label[m.role]}: ${text(m)}`).join('\n\n');
}

/** Every file of the conversation, once each, in order: what a judge that sees attachments is sent. */
function filesOf(messages: readonly ChatMessage[]): Attachment[] {
  const seen = new Map<string, Attachment>();
  for (const m of messages) for (const a of m.attachments ?? []) if (!seen.has(a.sha256)) seen.set(a.sha256, a);
  return [...seen.values()];
}

function truncateText(text: string, max = REASONING_LIMIT): string {
  const t = text.trim();
  return t.length <= max ? t : `${t.slice(0, max - 1)}…`;
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

type CandidateOutcome = 'win' | 'tie' | 'loss';
const OUTCOME_SCORE: Record<CandidateOutcome, number> = { win: 1, tie: 0.5, loss: 0 };

/** The candidate's outcome from one order's verdict, given whether the candidate was shown as A. */
export function outcomeFromVerdict(winner: PairwiseVerdict['winner'], candidateIsA: boolean): CandidateOutcome {
  if (winner === 'tie') return 'tie';
  return (winner === 'A') === candidateIsA ? 'win' : 'loss';
}

/** Both orders must agree; a verdict that flips with the order is position bias, scored as a tie. */
export function combineOrders(candidateFirst: CandidateOutcome, baselineFirst: CandidateOutcome): { outcome: CandidateOutcome; disagreed: boolean } {
  return candidateFirst === baselineFirst ? { outcome: candidateFirst, disagreed: false } : { outcome: 'tie', disagreed: true };
}

/** The outcome more samples gave than any other; a tie when no single outcome leads. */
export function majorityOutcome(outcomes: readonly CandidateOutcome[]): CandidateOutcome {
  const counts = { win: 0, tie: 0, loss: 0 };
  for (const o of outcomes) counts[o]++;
  const ranked = (Object.entries(counts) as Array<[CandidateOutcome, number]>).sort((a, b) => b[1] - a[1]);
  return ranked[0]![1] > ranked[1]![1] ? ranked[0]![0] : 'tie';
}

type Ask<T> = { ok: true; verdict: T } | { ok: false; error: string };

export class JudgeGrader implements Grader {
  readonly needsGolden: boolean;
  readonly needsBaseline: boolean;
  readonly mode: JudgeMode;
  #render?: Promise<Render>;

  constructor(
    readonly name: string,
    private readonly settings: JudgeSettings,
    private readonly options: JudgeOptions = {},
    /** The judge model key the suite asks for; the caller resolves it into `ctx.judge`. */
    readonly judgeModel?: string,
  ) {
    this.mode = settings.mode;
    this.needsBaseline = settings.mode === 'pairwise';
    this.needsGolden = settings.mode === 'reference' || (settings.mode === 'rubric' && settings.rubric === undefined);
  }

  async grade(c: Case, output: Completion, ctx: GradeContext): Promise<JudgeGrade> {
    const usage: JudgeUsage = { calls: 0, inputTokens: 0, outputTokens: 0, ...(this.options.price ? { costUsd: 0 } : {}) };
    const fail = (error: string): JudgeGrade => ({ grader: this.name, score: 0, pass: false, error, explanation: `judge error: ${error}`, judgeUsage: usage });
    const judge = ctx.judge;

    if (this.settings.mode === 'pairwise') {
      const passOnTie = this.settings.passOn === 'win-or-tie';
      if (!ctx.baseline) {
        return { grader: this.name, score: 0.5, pass: passOnTie, explanation: 'baseline vs itself: tie (judge not called)', judgeUsage: usage };
      }
      if (ctx.baseline.text === output.text) {
        return { grader: this.name, score: 0.5, pass: passOnTie, explanation: 'identical to the baseline output: tie (judge not called)', judgeUsage: usage };
      }
      if (!judge) return fail(NO_JUDGE_MESSAGE);
      return this.gradePairwise(c, output, ctx, judge, usage, fail);
    }
    if (!judge) return fail(NO_JUDGE_MESSAGE);
    return this.gradeScore(c, output, ctx, judge, usage, fail);
  }

  private async gradeScore(c: Case, output: Completion, ctx: GradeContext, judge: Provider, usage: JudgeUsage, fail: (e: string) => JudgeGrade): Promise<JudgeGrade> {
    const { mode, scale, samples, passThreshold } = this.settings;
    const golden = ctx.golden;
    const where = golden ? `golden for case "${c.id}" (${golden.origin.file}:${golden.origin.line})` : `case "${c.id}" (no golden)`;
    const rubric = this.settings.rubric ?? golden?.rubric;
    let reference: string | undefined;
    if (mode === 'rubric' && rubric === undefined) {
      return fail(`${where} has no rubric; set rubric: on the judge grader in suite.yaml or "rubric" in the golden`);
    }
    if (mode === 'reference') {
      reference = golden?.reference ?? (typeof golden?.expected === 'string' ? golden.expected : golden?.expected !== undefined ? JSON.stringify(golden.expected) : undefined);
      if (reference === undefined) return fail(`${where} has no reference answer; add "reference" (or "expected") to the golden`);
    }
    const prompt = await this.renderPrompt({
      input: this.conversation(ctx),
      output: output.text,
      rubric,
      reference,
      scaleMin: scale[0],
      scaleMax: scale[1],
    });
    if (!prompt.ok) return fail(prompt.error);

    const raw: number[] = [];
    const reasons: string[] = [];
    for (let k = 0; k < samples; k++) {
      const got = await this.ask(judge, c, this.question(prompt.text, ctx), k, samples, (t) => parseScoreVerdict(t, scale), usage, ctx.signal);
      if (!got.ok) return fail(got.error);
      raw.push(got.verdict.score);
      reasons.push(got.verdict.reasoning);
    }
    const scores = raw.map((s) => normaliseScore(s, scale));
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    const pass = mean >= passThreshold;
    let head = `score ${raw[0]} on ${scale[0]}..${scale[1]} (${round(scores[0]!)})`;
    if (samples > 1) {
      const sd = Math.sqrt(scores.reduce((a, s) => a + (s - mean) ** 2, 0) / scores.length);
      head =
        `mean ${round(mean)} over ${samples} samples (raw ${raw.join(', ')}; ` +
        `spread ${round(Math.min(...scores))}–${round(Math.max(...scores))}, sd ${round(sd)})`;
    }
    const explanation = `${head}; ${pass ? 'passes' : 'below'} threshold ${round(passThreshold)}. Judge: ${truncateText(reasons[0] ?? '')}`;
    return { grader: this.name, score: mean, pass, explanation, judgeUsage: usage };
  }

  private async gradePairwise(c: Case, output: Completion, ctx: GradeContext, judge: Provider, usage: JudgeUsage, fail: (e: string) => JudgeGrade): Promise<JudgeGrade> {
    const baseline = ctx.baseline!;
    const { samples, passOn } = this.settings;
    const vars = {
      input: this.conversation(ctx),
      rubric: this.settings.rubric ?? ctx.golden?.rubric,
      reference: ctx.golden?.reference,
    };
    const candidateFirst = await this.renderPrompt({ ...vars, outputA: output.text, outputB: baseline.text });
    if (!candidateFirst.ok) return fail(candidateFirst.error);
    const baselineFirst = await this.renderPrompt({ ...vars, outputA: baseline.text, outputB: output.text });
    if (!baselineFirst.ok) return fail(baselineFirst.error);

    const outcomes: CandidateOutcome[] = [];
    const notes: string[] = [];
    let reasoning = '';
    for (let k = 0; k < samples; k++) {
      const ab = await this.ask(judge, c, this.question(candidateFirst.text, ctx), k, samples, parsePairwiseVerdict, usage, ctx.signal);
      if (!ab.ok) return fail(`order A=candidate: ${ab.error}`);
      const ba = await this.ask(judge, c, this.question(baselineFirst.text, ctx), k, samples, parsePairwiseVerdict, usage, ctx.signal);
      if (!ba.ok) return fail(`order A=baseline: ${ba.error}`);
      const combined = combineOrders(outcomeFromVerdict(ab.verdict.winner, true), outcomeFromVerdict(ba.verdict.winner, false));
      outcomes.push(combined.outcome);
      const orders = `A=candidate order → ${ab.verdict.winner}, A=baseline order → ${ba.verdict.winner}`;
      notes.push(combined.disagreed ? `tie: orders disagreed (position bias): ${orders}` : `${combined.outcome} (${orders})`);
      if (k === 0) reasoning = `A=candidate: ${ab.verdict.reasoning.trim()} | A=baseline: ${ba.verdict.reasoning.trim()}`;
    }
    const outcome = majorityOutcome(outcomes);
    const score = OUTCOME_SCORE[outcome];
    const pass = outcome === 'win' || (outcome === 'tie' && passOn === 'win-or-tie');
    const label = { win: 'candidate wins', tie: 'tie', loss: 'baseline wins' }[outcome];
    let head: string;
    if (samples === 1) {
      head = `${label}: ${notes[0]}`;
    } else {
      const count = (o: CandidateOutcome) => outcomes.filter((x) => x === o).length;
      head = `${label} by majority of ${samples} samples (${count('win')} win, ${count('tie')} tie, ${count('loss')} loss): ${notes.map((n, i) => `#${i + 1} ${n}`).join('; ')}`;
    }
    return { grader: this.name, score, pass, explanation: `${head}. Judge: ${truncateText(reasoning)}`, judgeUsage: usage };
  }

  private conversation(ctx: GradeContext): string {
    return formatConversation(ctx.request.messages, this.settings.attachments);
  }

  /** The judge's question: the rendered prompt, with the graded conversation's files unless told not to send them. */
  private question(prompt: string, ctx: GradeContext): ChatMessage {
    const files = this.settings.attachments ? filesOf(ctx.request.messages) : [];
    return { role: 'user', content: prompt, ...(files.length ? { attachments: files } : {}) };
  }

  /**
   * One verdict: a judge call, and one more when the answer cannot be read. The retry shows the judge
   * its own answer and what was wrong with it, so the messages differ and a cache cannot replay the
   * bad answer.
   */
  private async ask<T>(
    judge: Provider,
    c: Case,
    question: ChatMessage,
    sample: number,
    samples: number,
    parse: (text: string) => VerdictParse<T>,
    usage: JudgeUsage,
    signal: AbortSignal,
  ): Promise<Ask<T>> {
    const messages: ChatMessage[] = [{ role: 'system', content: JUDGE_SYSTEM_PROMPT }, question];
    const first = await this.call(judge, this.request(judge, c, messages, sample), usage, signal);
    if (!first.ok) return first;
    const parsed = parse(first.completion.text);
    if (parsed.ok) return { ok: true, verdict: parsed.verdict };

    const retryMessages: ChatMessage[] = [
      ...messages,
      { role: 'assistant', content: first.completion.text.trim() || '(empty answer)' },
      { role: 'user', content: `Your previous answer was not a valid verdict: ${parsed.error}. Answer again with only the JSON object.` },
    ];
    const second = await this.call(judge, this.request(judge, c, retryMessages, sample), usage, signal);
    if (!second.ok) return second;
    const reparsed = parse(second.completion.text);
    if (reparsed.ok) return { ok: true, verdict: reparsed.verdict };
    const which = samples > 1 ? ` (sample ${sample + 1} of ${samples})` : '';
    return {
      ok: false,
      error: `judge "${judge.key}" gave no valid verdict for case "${c.id}"${which} after a retry: ${reparsed.error}; its answer began: ${JSON.stringify(truncateText(second.completion.text, 160))}`,
    };
  }

  /**
   * Temperature 0 and seed 0 make the judge as repeatable as the API allows; the judge model's own
   * configured params win. Anthropic's Messages API rejects `seed`, so it is left out there. Samples
   * differ only in `repeat`, which keys the response cache but is never sent to the API.
   */
  private request(judge: Provider, c: Case, messages: ChatMessage[], sample: number): CompletionRequest {
    const seed = judge.identity.startsWith('anthropic|') ? {} : { seed: 0 };
    return { caseId: c.id, messages, params: { temperature: 0, ...seed, ...this.options.params }, repeat: sample };
  }

  private async call(judge: Provider, req: CompletionRequest, usage: JudgeUsage, signal: AbortSignal): Promise<{ ok: true; completion: Completion } | { ok: false; error: string }> {
    let completion: Completion;
    try {
      completion = await judge.complete(req, signal);
    } catch (err) {
      // An interrupted run is the engine's to handle, not a verdict about this case.
      if (signal.aborted || (err instanceof ProviderError && err.kind === 'aborted')) throw err;
      const message = redact(err instanceof Error ? err.message : String(err));
      const sentFiles = req.messages.some((m) => m.attachments?.length);
      const hint = sentFiles ? "\n  → the judge was sent the case's images or PDFs: for a judge model that cannot read them, set attachments: false on the judge grader" : '';
      return { ok: false, error: `judge call failed: ${message}${hint}` };
    }
    usage.calls++;
    usage.inputTokens += completion.usage.input;
    usage.outputTokens += completion.usage.output;
    if (usage.costUsd !== undefined) usage.costUsd += callCost(completion.usage, this.options.price) ?? 0;
    return { ok: true, completion };
  }

  private async renderPrompt(vars: Record<string, unknown>): Promise<{ ok: true; text: string } | { ok: false; error: string }> {
    const file = this.settings.templateFile ?? `built-in judge-${this.settings.mode}.hbs`;
    try {
      this.#render ??= this.compile();
      return { ok: true, text: (await this.#render)(vars) };
    } catch (err) {
      return { ok: false, error: `judge template ${file} failed to render: ${(err as Error).message}` };
    }
  }

  /** The template's syntax error, if it has one. */
  async checkTemplate(): Promise<string | undefined> {
    const text = this.settings.templateText ?? (await builtInTemplate(this.settings.mode));
    try {
      handlebars().parse(text);
      return undefined;
    } catch (err) {
      return `judge template ${this.settings.templateFile ?? `judge-${this.settings.mode}.hbs`} does not parse: ${(err as Error).message}`;
    }
  }

  private async compile(): Promise<Render> {
    const text = this.settings.templateText ?? (await builtInTemplate(this.settings.mode));
    // Outputs go to a model, not a browser: HTML-escaping would change what the judge reads.
    return handlebars().create().compile(text, { noEscape: true });
  }
}

/** Whether a judge spec (as written in suite.yaml) needs a golden for every case. */
export function judgeNeedsGolden(spec: GraderSpec): boolean {
  const mode = spec.mode ?? 'rubric';
  if (mode === 'reference') return true;
  if (mode === 'rubric') return typeof spec.rubric !== 'string';
  return false;
}

export function createJudgeGrader(spec: GraderSpec, ctx: GraderFactoryContext, options: JudgeOptions = {}): JudgeGrader {
  if (typeof spec.passThreshold === 'number' && spec.passThreshold > 1) {
    const [lo, hi] = Array.isArray(spec.scale) && spec.scale.length === 2 ? (spec.scale as [number, number]) : DEFAULT_SCALE;
    const t = spec.passThreshold;
    const equivalent = t >= lo && t <= hi ? ` — ${t} on ${lo}..${hi} is passThreshold: ${round(normaliseScore(t, [lo, hi]))}` : '';
    throw optionError(ctx, 'passThreshold', `passThreshold ${t} is above 1; it applies to the normalised 0..1 score`, `use (threshold − ${lo}) / (${hi} − ${lo})${equivalent}`);
  }
  const o = parseSpec(judgeSpecSchema, spec, ctx, HINT);
  if (o.mode === 'pairwise') {
    if (o.scale) throw optionError(ctx, 'scale', 'scale applies to rubric and reference modes; pairwise verdicts are win / tie / loss', 'remove scale, or use mode: rubric');
    if (o.passThreshold !== undefined) throw optionError(ctx, 'passThreshold', 'passThreshold applies to rubric and reference modes', 'for pairwise, use passOn: win | win-or-tie');
  } else if (o.passOn) {
    throw optionError(ctx, 'passOn', `passOn applies to pairwise mode, not ${o.mode}`, 'use passThreshold: 0..1 for scored modes');
  }
  const settings: JudgeSettings = {
    mode: o.mode,
    samples: o.samples,
    passThreshold: o.passThreshold ?? 0.5,
    passOn: o.passOn ?? 'win-or-tie',
    scale: o.scale ?? DEFAULT_SCALE,
    attachments: o.attachments,
    ...(o.rubric !== undefined ? { rubric: o.rubric } : {}),
  };
  if (o.template) {
    const file = resolveLocalFile(o.template, ctx, 'template', 'judge template');
    settings.templateFile = file;
    // Read now so a missing or unreadable template stops the run before any model is called.
    settings.templateText = readFileSync(file, 'utf8');
  }
  return new JudgeGrader(o.name ?? 'judge', settings, options, o.model);
}

/**
 * Builds the grader and compiles its template, so a template with a syntax error is a config error
 * before any model is called rather than a judge error on every case.
 */
export async function buildJudgeGrader(spec: GraderSpec, ctx: GraderFactoryContext, options: JudgeOptions = {}): Promise<JudgeGrader> {
  const grader = createJudgeGrader(spec, ctx, options);
  const problem = await grader.checkTemplate();
  if (problem) throw optionError(ctx, 'template', problem, 'fix the Handlebars syntax of the template (variables: input, output, rubric, reference, scaleMin, scaleMax, outputA, outputB)');
  return grader;
}

/** For the grader registry: `registerGrader('judge', judgeGraderDefinition)`. */
export const judgeGraderDefinition = {
  create: (spec: GraderSpec, ctx: GraderFactoryContext): Promise<Grader> => buildJudgeGrader(spec, ctx),
  needsGolden: judgeNeedsGolden,
};

/** The same, with the judge model's params and price known to the caller. */
export function makeJudgeGraderDefinition(options: JudgeOptions): typeof judgeGraderDefinition {
  return { create: (spec, ctx) => buildJudgeGrader(spec, ctx, options), needsGolden: judgeNeedsGolden };
}
