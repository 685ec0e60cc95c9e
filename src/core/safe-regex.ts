/**
 * Regular expressions written by users (routing `when.match`, grader `extract.regex`, gateway `$regex`
 * conditions) run against case inputs from PRs and outputs from models. JavaScript's backtracking engine
 * can take exponential time on patterns like `(a+)+$`, hanging a gate with no output, so every user
 * pattern goes through RE2 (re2js, a pure-JS port): matching time is linear in the text, whatever the
 * pattern. The price is RE2's syntax: no backreferences and no lookaround — those are refused when the
 * file is loaded, with the reason, instead of failing later.
 */
import { RE2JS } from 're2js';

/** The flags a user pattern may carry, as in JavaScript: i (ignore case), m (multiline), s (dotAll), u, y (sticky). */
export const SAFE_PATTERN_FLAGS = /^[imsuy]*$/;

export interface SafePattern {
  readonly source: string;
  readonly flags: string;
  /** Number of capture groups in the pattern. */
  readonly groupCount: number;
  /** Whether the pattern matches anywhere in `text` (or at its start, with the `y` flag). */
  test(text: string): boolean;
  /** The first match: the whole match at [0], then each group (undefined when it did not take part). */
  exec(text: string): Array<string | undefined> | null;
}

/** A pattern RE2 cannot compile: invalid syntax, or a backtracking-only feature. Callers add file and path. */
export class UnsafePatternError extends Error {
  constructor(
    readonly pattern: string,
    readonly reason: string,
    readonly hint: string,
  ) {
    super(`invalid regular expression /${pattern}/: ${reason}`);
    this.name = 'UnsafePatternError';
  }
}

const BACKTRACKING_HINT =
  'patterns run on a linear-time engine (RE2), which has no backreferences (\\1) or lookaround ((?=, (?!, (?<=, (?<!); ' +
  'rewrite the pattern without them (e.g. match more text and use a capture group)';
const SYNTAX_HINT = 'use RE2/JavaScript regular expression syntax; in YAML, single-quote the pattern';

/**
 * Compiles a user pattern for linear-time matching. A leading `(?i)` (an inline flag people bring from
 * other dialects) is RE2 syntax already. Throws UnsafePatternError with what is wrong and what to do.
 */
export function compileSafePattern(source: string, flags = ''): SafePattern {
  if (!SAFE_PATTERN_FLAGS.test(flags)) {
    throw new UnsafePatternError(source, `unsupported flags "${flags}"`, 'flags may only use i, m, s, u, y');
  }
  let re2Flags = 0;
  if (flags.includes('i')) re2Flags |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes('m')) re2Flags |= RE2JS.MULTILINE;
  if (flags.includes('s')) re2Flags |= RE2JS.DOTALL;
  // Sticky with lastIndex 0 (how a fresh RegExp is used here) means "matches at the start of the text".
  const pattern = flags.includes('y') ? `\\A(?:${source})` : source;
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern, re2Flags);
  } catch (e) {
    const message = (e as Error).message.replace(/^error parsing regexp: /, '');
    throw new UnsafePatternError(source, message, usesBacktrackingFeature(source) ? BACKTRACKING_HINT : SYNTAX_HINT);
  }
  const groupCount = re.groupCount();
  return {
    source,
    flags,
    groupCount,
    test: (text) => re.test(text),
    exec: (text) => {
      const m = re.exec(text);
      if (!m) return null;
      return Array.from({ length: groupCount + 1 }, (_, i) => (typeof m[i] === 'string' ? (m[i] as string) : undefined));
    },
  };
}

/** Backreferences and lookaround: the features RE2 leaves out because they need backtracking. */
function usesBacktrackingFeature(source: string): boolean {
  return /\\[1-9]|\\k<|\(\?<?[=!]/.test(source);
}
