/**
 * Above this length a text's tokens are estimated at 4 characters a token instead of counted: BPE
 * tokenizers slow down badly on long runs without word boundaries (a megabyte of spaces takes minutes),
 * and every figure that uses this is an estimate or a threshold anyway.
 */
export const EXACT_COUNT_MAX_CHARS = 32_768;

/** Tokens of `text`: counted exactly by `count` when short, estimated when long. */
export function tokensOf(text: string, count: (text: string) => number): number {
  return text.length > EXACT_COUNT_MAX_CHARS ? Math.ceil(text.length / 4) : count(text);
}
