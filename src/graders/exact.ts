/**
 * `type: exact` — the output (or the answer extracted from it) equals the golden's expected value, or
 * one of them when the golden lists several, after normalisation.
 */
import { z } from 'zod';
import { compileSafePattern, SAFE_PATTERN_FLAGS, UnsafePatternError } from '../core/safe-regex.js';
import type { Case, Completion, Grade, GradeContext, Grader, GraderFactoryContext, GraderSpec } from '../core/types.js';
import {
  NAMED_EXTRACTORS,
  NORMALIZERS,
  compareScalar,
  extract,
  extractorLabel,
  truncate,
  type Extractor,
  type Normalizer,
} from './normalize.js';
import { optionError, parseSpec } from './options.js';

export const normalizersSchema = z.array(z.enum(NORMALIZERS));

const extractorSchema = z.union([
  z.enum(NAMED_EXTRACTORS),
  z.strictObject({
    type: z.literal('choice-letter'),
    occurrence: z.enum(['first', 'last']).optional(),
    strict: z.boolean().optional(),
    guess: z.boolean().optional(),
  }),
  z.strictObject({
    regex: z.string().min(1),
    group: z.number().int().min(0).default(1),
    flags: z
      .string()
      .regex(SAFE_PATTERN_FLAGS, 'flags may only use i, m, s, u, y')
      .optional(),
  }),
]);

const exactSpecSchema = z.strictObject({
  type: z.literal('exact'),
  name: z.string().min(1).optional(),
  normalize: normalizersSchema.default(['trim']),
  extract: extractorSchema.optional(),
});

const HINT =
  'exact options: normalize: [trim, case, whitespace, number, punctuation]; ' +
  'extract: last-number | hash-marker | answer-line | choice-letter | {type: choice-letter, occurrence, strict, guess} | {regex, group, flags}';

export interface ExactOptions {
  normalize: Normalizer[];
  extract?: Extractor;
}

/** Scalars a golden may list as accepted answers. */
function acceptedValues(expected: unknown): string[] | undefined {
  const list = Array.isArray(expected) ? expected : [expected];
  if (list.length === 0) return undefined;
  const out: string[] = [];
  for (const v of list) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out.push(String(v));
    else return undefined;
  }
  return out;
}

function showExpected(values: string[]): string {
  if (values.length === 1) return JSON.stringify(truncate(values[0]!));
  return `one of ${truncate(JSON.stringify(values))}`;
}

export class ExactGrader implements Grader {
  readonly needsGolden = true;
  constructor(
    readonly name: string,
    private readonly opts: ExactOptions,
  ) {}

  async grade(c: Case, output: Completion, ctx: GradeContext): Promise<Grade> {
    const values = acceptedValues(ctx.golden?.expected);
    if (!values) {
      const problem = ctx.golden
        ? `golden for case "${c.id}" (${ctx.golden.origin.file}:${ctx.golden.origin.line}) has no usable "expected": need a string, number, or a list of them`
        : `case "${c.id}" has no golden`;
      return { grader: this.name, score: 0, pass: false, error: problem, explanation: problem };
    }
    return this.compare(output.text, values);
  }

  /** The verdict for one output against the accepted values; exposed for tests and `simulate`. */
  compare(text: string, values: string[]): Grade {
    const { extract: extractor, normalize } = this.opts;
    let answer = text;
    if (extractor) {
      const found = extract(text, extractor);
      if (found === undefined) {
        const tail = truncate(text.trimEnd().slice(-120).replace(/\s+/g, ' '), 120);
        return {
          grader: this.name,
          score: 0,
          pass: false,
          explanation: `no answer found by ${extractorLabel(extractor)} (expected ${showExpected(values)}); output ends: "${tail}"`,
        };
      }
      answer = found;
    }
    const results = values.map((v) => compareScalar(answer, v, normalize));
    const hit = results.findIndex((r) => r.equal);
    const got = `${extractor ? `extracted (${extractorLabel(extractor)})` : 'output'} ${JSON.stringify(truncate(answer))}`;
    const notes = [...new Set(results.map((r) => r.note).filter((n): n is string => n !== undefined))];
    let explanation = `${got} ${hit >= 0 ? 'matches' : 'does not match'} expected ${showExpected(values)}`;
    if (hit >= 0 && results[hit]!.mode === 'numeric') explanation += ' (numerically)';
    if (notes.length) explanation += `; ${notes.join('; ')}`;
    return { grader: this.name, score: hit >= 0 ? 1 : 0, pass: hit >= 0, explanation };
  }
}

export function createExactGrader(spec: GraderSpec, ctx: GraderFactoryContext): ExactGrader {
  const o = parseSpec(exactSpecSchema, spec, ctx, HINT);
  if (o.extract && typeof o.extract !== 'string' && 'regex' in o.extract) {
    const { regex, group, flags } = o.extract;
    let groups: number;
    try {
      groups = compileSafePattern(regex, flags).groupCount;
    } catch (e) {
      if (!(e instanceof UnsafePatternError)) throw e;
      throw optionError(ctx, 'extract.regex', e.message, e.hint);
    }
    if (group > groups) {
      throw optionError(ctx, 'extract.group', `group ${group} does not exist: /${regex}/ has ${groups} capture group${groups === 1 ? '' : 's'}`, 'add parentheses around the answer in the pattern, or use group: 0 for the whole match');
    }
  }
  const opts: ExactOptions = { normalize: o.normalize, ...(o.extract ? { extract: o.extract as Extractor } : {}) };
  return new ExactGrader(o.name ?? 'exact', opts);
}
