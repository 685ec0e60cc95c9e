/**
 * Normalisers and answer extractors shared by the exact and schema graders. Pure functions, no I/O.
 * Everything here runs on model outputs of any length, so every pattern and loop must be linear in
 * the text: no two adjacent quantifiers that can match the same characters.
 */
import { compileSafePattern, type SafePattern } from '../core/safe-regex.js';

export const NORMALIZERS = ['trim', 'case', 'whitespace', 'number', 'punctuation'] as const;
export type Normalizer = (typeof NORMALIZERS)[number];

export const NAMED_EXTRACTORS = ['last-number', 'hash-marker', 'answer-line', 'choice-letter'] as const;
export type NamedExtractor = (typeof NAMED_EXTRACTORS)[number];

export interface ChoiceLetterOptions {
  type: 'choice-letter';
  /** Which "answer is (X)" wins when there are several. Default `first`, as MMLU-Pro's parser does. */
  occurrence?: 'first' | 'last';
  /** Only MMLU-Pro's two patterns, without tolerance for markdown/LaTeX around the letter. */
  strict?: boolean;
  /** Fall back to the last standalone capital A–J anywhere in the text (MMLU-Pro's third step; it guesses). */
  guess?: boolean;
}

export interface RegexExtractor {
  regex: string;
  group: number;
  flags?: string;
}

export type Extractor = NamedExtractor | ChoiceLetterOptions | RegexExtractor;

/** A short name for explanations. */
export function extractorLabel(e: Extractor): string {
  if (typeof e === 'string') return e;
  if ('regex' in e) return `regex /${e.regex}/${e.flags ?? ''}`;
  return e.type;
}

// ───────────────────────────── numbers ─────────────────────────────

// The space after a currency symbol belongs to the symbol's group, so no two `\s*` meet: `-` + 60,000
// spaces + `x` fails in one pass instead of trying every split of the spaces (quadratic).
const NUMBER_TEXT = /^([+-])?\s*(?:[$€£¥]\s*)?([+-])?((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)\s*%?$/;

/**
 * Reads `20`, `20.0`, `$20.00`, `1,000`, `-3`, `$-3`, `50%` (→ 50) as numbers. Thousands separators
 * must be well formed, so a list like `1,2` is not silently read as 12.
 */
export function parseNumber(text: string): number | undefined {
  const m = NUMBER_TEXT.exec(text.trim());
  if (!m) return undefined;
  const negative = (m[1] === '-') !== (m[2] === '-');
  const value = Number(m[3]!.replace(/,/g, ''));
  if (!Number.isFinite(value)) return undefined;
  return negative ? -value : value;
}

/** Relative tolerance 1e-9, so 0.1 + 0.2 equals 0.3 but 20 never equals 20.01. */
export function numbersEqual(a: number, b: number): boolean {
  if (a === b) return true;
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

// ───────────────────────────── normalising and comparing ─────────────────────────────

const WRAPPER_CHARS = new Set(['"', "'", '`', '*', '_']);
const TRAILING_PUNCTUATION_CHARS = new Set(['.', ',', '!', '?', ';', ':']);
const isSpace = (ch: string): boolean => /\s/.test(ch);

/**
 * Strips wrappers (quotes, backticks, `*`, `_`) and spaces from both ends and sentence punctuation from
 * the end, until none is left: `**"Paris."**` → `Paris`. One pass from each end, so it is linear in the
 * text (a regex `[.,!?;:]+$` rescans every run of punctuation that is not at the end).
 */
function stripPunctuation(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && (WRAPPER_CHARS.has(s[start]!) || isSpace(s[start]!))) start++;
  while (end > start && (WRAPPER_CHARS.has(s[end - 1]!) || TRAILING_PUNCTUATION_CHARS.has(s[end - 1]!) || isSpace(s[end - 1]!))) end--;
  return s.slice(start, end);
}

/**
 * Applies the text normalisers in a fixed order (trim, whitespace, case, punctuation) whatever order
 * the spec lists them in, so `[case, trim]` and `[trim, case]` grade the same. `number` is handled
 * by `compareScalar`.
 */
export function normalizeText(value: string, normalizers: readonly Normalizer[]): string {
  const on = new Set(normalizers);
  let s = value;
  if (on.has('trim')) s = s.trim();
  if (on.has('whitespace')) s = s.replace(/\s+/g, ' ');
  if (on.has('case')) s = s.toLowerCase();
  if (on.has('punctuation')) s = stripPunctuation(s);
  return s;
}

export interface ScalarComparison {
  equal: boolean;
  /** How the values were compared: `numeric`, or `text` (with the reason when number was asked for). */
  mode: 'numeric' | 'text';
  /** Set when `number` was requested but a side is not a number. */
  note?: string;
}

/** Compares two scalars after normalising both sides the same way. */
export function compareScalar(actual: string, expected: string, normalizers: readonly Normalizer[]): ScalarComparison {
  const a = normalizeText(actual, normalizers);
  const e = normalizeText(expected, normalizers);
  if (normalizers.includes('number')) {
    const an = parseNumber(a);
    const en = parseNumber(e);
    if (an !== undefined && en !== undefined) return { equal: numbersEqual(an, en), mode: 'numeric' };
    const which = an === undefined ? `output "${truncate(a, 60)}"` : `expected "${truncate(e, 60)}"`;
    return { equal: a === e, mode: 'text', note: `${which} is not a number, compared as text` };
  }
  return { equal: a === e, mode: 'text' };
}

export function truncate(s: string, max = 200): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

// ───────────────────────────── extractors ─────────────────────────────

/**
 * A number as written in prose: optional sign (only when attached, and not after an operand, so
 * `90 - 144` and `5-3` end in 144 and 3), optional `$`, well-formed thousands separators, decimals.
 * A trailing sentence period is not part of it.
 */
const NUMBER_IN_TEXT = /(?:(?<![\w)\]])-\$?|\$-?)?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?/g;

/** The last number in the text, without `$` and thousands separators (`$1,234.56` → `1234.56`). */
export function extractLastNumber(text: string): string | undefined {
  let last: string | undefined;
  for (const m of text.matchAll(NUMBER_IN_TEXT)) last = m[0];
  return last?.replace(/[$,\s]/g, '');
}

/** GSM8K style: the first line after the last `####`. */
export function extractHashMarker(text: string): string | undefined {
  const at = text.lastIndexOf('####');
  if (at < 0) return undefined;
  const line = text.slice(at + 4).split('\n', 1)[0]!.trim();
  return line || undefined;
}

// `[\s*]*` rather than `\s*\**\s*`: adjacent quantifiers over the same characters backtrack quadratically.
const ANSWER_LINE = /\b(?:final\s+answer|answer)[\s*]*(?:is\b\s*:?|:)[\s*]*(\S.*)/i;

/** `**X**` → `X`, by index (the regex `\*+$` rescans every run of stars that is not at the end). */
function stripStars(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s[start] === '*') start++;
  while (end > start && s[end - 1] === '*') end--;
  return s.slice(start, end);
}

/** The last line announcing an answer (`Answer: X`, `The answer is X`, `**Final answer:** X`): what follows. */
export function extractAnswerLine(text: string): string | undefined {
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = ANSWER_LINE.exec(lines[i]!);
    if (m) {
      const answer = stripStars(m[1]!.trimEnd()).trim();
      if (answer) return answer;
    }
  }
  return undefined;
}

// MMLU-Pro's own parser (evaluate_from_api.py): `answer is \(?([A-J])\)?`, then `.*[aA]nswer:\s*([A-J])`,
// then (only in its later scripts) the last standalone capital letter. Python's re.search returns the
// first match, so the first "answer is (X)" wins: recorded Gemini outputs answer the question and then
// go on to answer the few-shot questions again, and the first letter is the one for this question.
const MMLU_ANSWER_IS = /answer is \(?([A-J])\)?/g;
const ANSWER_COLON = /[aA]nswer:\s*([A-J])/g;
// GPT-4o often writes `The answer is **C**`, `The answer is **(E) proximity**` or `The answer is \( \boxed{F} \)`;
// MMLU-Pro's parser finds nothing there. These are unambiguous, so by default they count.
// Each optional LaTeX opener carries its own trailing spaces, so no two space-matching quantifiers meet.
const LENIENT_ANSWER_IS = /answer is:?[\s*_(]*(?:(?:\\\(|\\\[|\$)\s*)?(?:(?:\\boxed\{|\\text\{|\\textbf\{)\s*)?\(?([A-J])(?![A-Za-z0-9])/g;
// Python's \b is Unicode-aware; JavaScript's is ASCII-only, hence the explicit lookarounds.
const STANDALONE_LETTER = /(?<![\p{L}\p{N}_])([A-J])(?![\p{L}\p{N}_])/gu;

function pick(matches: RegExpMatchArray[], occurrence: 'first' | 'last'): string | undefined {
  const m = occurrence === 'first' ? matches[0] : matches[matches.length - 1];
  return m?.[1];
}

/**
 * MMLU-Pro's `.*[aA]nswer:\s*([A-J])` without DOTALL: the first line holding a match, and on it the last
 * match (greedy `.*`). Done by hand because that regex backtracks quadratically on long lines.
 */
function answerColon(text: string): string | undefined {
  let lineStart = -1;
  let letter: string | undefined;
  for (const m of text.matchAll(ANSWER_COLON)) {
    const start = text.lastIndexOf('\n', m.index) + 1;
    if (lineStart >= 0 && start !== lineStart) break;
    lineStart = start;
    letter = m[1];
  }
  return letter;
}

/** A multiple-choice letter A–J, the way MMLU-Pro reads it (see the options for the deviations). */
export function extractChoiceLetter(text: string, opts: Omit<ChoiceLetterOptions, 'type'> = {}): string | undefined {
  const occurrence = opts.occurrence ?? 'first';
  const found = pick([...text.matchAll(MMLU_ANSWER_IS)], occurrence);
  if (found) return found;
  const colon = answerColon(text);
  if (colon) return colon;
  if (!opts.strict) {
    const lenient = pick([...text.matchAll(LENIENT_ANSWER_IS)], occurrence);
    if (lenient) return lenient;
  }
  if (opts.guess) return pick([...text.matchAll(STANDALONE_LETTER)], 'last');
  return undefined;
}

const compiledExtractors = new WeakMap<RegexExtractor, SafePattern>();

/** The first match's group. Linear time in the text whatever the pattern (see core/safe-regex.ts). */
export function extractRegex(text: string, e: RegexExtractor): string | undefined {
  let re = compiledExtractors.get(e);
  if (!re) {
    re = compileSafePattern(e.regex, (e.flags ?? '').replace('g', ''));
    compiledExtractors.set(e, re);
  }
  return re.exec(text)?.[e.group] ?? undefined;
}

/** Runs an extractor; `undefined` means it found no answer. */
export function extract(text: string, e: Extractor): string | undefined {
  if (typeof e !== 'string') return 'regex' in e ? extractRegex(text, e) : extractChoiceLetter(text, e);
  switch (e) {
    case 'last-number':
      return extractLastNumber(text);
    case 'hash-marker':
      return extractHashMarker(text);
    case 'answer-line':
      return extractAnswerLine(text);
    case 'choice-letter':
      return extractChoiceLetter(text);
  }
}
