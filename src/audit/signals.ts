/**
 * Cheap complexity signals of one request: what a person looking at the traffic would use to guess
 * whether a small model can handle it. Heuristics on the text, not a classifier; they are meant to
 * give distributions and sampling strata, not per-request verdicts.
 */
import type { LogRecord } from './log-record.js';

export type LengthBucket = 'short' | 'medium' | 'long' | 'very-long';
export type Complexity = 'low' | 'medium' | 'high';

export interface Signals {
  length: LengthBucket;
  /** User turns in the conversation. */
  turns: number;
  code: boolean;
  structured: boolean;
  tools: boolean;
  reasoning: boolean;
  complexity: Complexity;
}

export const LENGTH_BUCKETS: readonly LengthBucket[] = ['short', 'medium', 'long', 'very-long'];
/** Upper input-token bound of each bucket but the last. */
const LENGTH_LIMITS = [300, 1500, 6000] as const;

export function lengthBucket(inputTokens: number): LengthBucket {
  if (inputTokens <= LENGTH_LIMITS[0]) return 'short';
  if (inputTokens <= LENGTH_LIMITS[1]) return 'medium';
  if (inputTokens <= LENGTH_LIMITS[2]) return 'long';
  return 'very-long';
}

export const LENGTH_BUCKET_LABELS: Record<LengthBucket, string> = {
  short: `≤${LENGTH_LIMITS[0]} tokens`,
  medium: `${LENGTH_LIMITS[0] + 1}–${LENGTH_LIMITS[1]}`,
  long: `${LENGTH_LIMITS[1] + 1}–${LENGTH_LIMITS[2]}`,
  'very-long': `>${LENGTH_LIMITS[2]}`,
};

const CODE = /```|\b(?:def|function|class|import|return|const|let|var|public|static|SELECT|INSERT|UPDATE)\b[^\n]*[({;=:]|=>|#include|<\/?[a-z]+>|\bconsole\.log\b|\bprint\(/;
const REASONING = /\bstep[- ]by[- ]step\b|\bprove\b|\bproof\b|\banaly[sz]e\b|\banalysis\b|\breason(?:ing)?\b|\bderive\b|\bexplain why\b|\bcompare\b|\btrade-?offs?\b|\bthink carefully\b/i;

export function signalsOf(r: LogRecord): Signals {
  let turns = 0;
  let code = false;
  let reasoning = false;
  for (const m of r.messages) {
    if (m.role === 'user') turns++;
    // The system prompt is shared boilerplate for a use case; only user content says what this request asks.
    if (m.role === 'system') continue;
    if (!code && CODE.test(m.content)) code = true;
    if (!reasoning && REASONING.test(m.content)) reasoning = true;
  }
  const length = lengthBucket(r.usage.input);
  const s = { length, turns, code, structured: r.structured, tools: r.tools || r.toolCalls, reasoning };
  return { ...s, complexity: complexityOf(s) };
}

/**
 * Points for what tends to need a stronger model: long inputs, long conversations, code, tool use and
 * explicit reasoning. Structured output alone does not count — extraction into JSON is where cheap
 * models shine.
 */
function complexityOf(s: Omit<Signals, 'complexity'>): Complexity {
  let points = 0;
  if (s.length === 'long') points += 1;
  if (s.length === 'very-long') points += 2;
  if (s.turns >= 3) points += 1;
  if (s.code) points += 1;
  if (s.tools) points += 1;
  if (s.reasoning) points += 2;
  return points >= 3 ? 'high' : points >= 1 ? 'medium' : 'low';
}
