/**
 * What a judge model answers, and reading it tolerantly. Judges wrap JSON in fences, add a sentence
 * first, write "8" instead of 8 or "Tie" instead of "tie"; none of that changes the verdict, so it is
 * accepted. A verdict that still cannot be read is an error, never a guess.
 */
import { z } from 'zod';
import { extractJson } from './json-extract.js';

const numeric = z.union([
  z.number(),
  z
    .string()
    .trim()
    .regex(/^-?\d+(\.\d+)?$/, 'expected a number')
    .transform(Number),
]);

const reasoning = z
  .union([z.string(), z.array(z.string()).transform((parts) => parts.join('\n'))])
  .default('');

export const scoreVerdictSchema = z.object({ score: numeric, reasoning });

/** "A", "b", "Response A", "Assistant B", "TIE", "draw" → A | B | tie. */
const winner = z.preprocess(
  (v) => {
    if (typeof v !== 'string') return v;
    const s = v.trim().toLowerCase().replace(/^(response|assistant|output|answer)\s+/, '');
    if (s === 'a' || s === 'b') return s.toUpperCase();
    if (s === 'tie' || s === 'draw' || s === 'equal' || s === 'both') return 'tie';
    return v;
  },
  z.enum(['A', 'B', 'tie']),
);

export const pairwiseVerdictSchema = z.object({ winner, reasoning });

export type ScoreVerdict = z.output<typeof scoreVerdictSchema>;
export type PairwiseVerdict = z.output<typeof pairwiseVerdictSchema>;

export type VerdictParse<T> = { ok: true; verdict: T } | { ok: false; error: string };

function findJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  const found = extractJson(text);
  if (!found.ok) return { ok: false, error: `no JSON object found (${found.error})` };
  // A judge that answers a list of verdicts most likely meant its first one.
  const value = Array.isArray(found.value) && found.value.length === 1 ? found.value[0] : found.value;
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { ok: false, error: 'the JSON is not an object' };
  return { ok: true, value };
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

/** A 1..N style verdict; the score must lie on `scale` (inclusive). */
export function parseScoreVerdict(text: string, scale: readonly [number, number]): VerdictParse<ScoreVerdict> {
  const json = findJson(text);
  if (!json.ok) return json;
  const parsed = scoreVerdictSchema.safeParse(json.value);
  if (!parsed.success) return { ok: false, error: `expected {"score": number, "reasoning": string}: ${describeIssues(parsed.error)}` };
  const [lo, hi] = scale;
  const { score } = parsed.data;
  if (!Number.isFinite(score) || score < lo || score > hi) {
    return { ok: false, error: `score ${score} is outside the scale ${lo}..${hi}` };
  }
  return { ok: true, verdict: parsed.data };
}

export function parsePairwiseVerdict(text: string): VerdictParse<PairwiseVerdict> {
  const json = findJson(text);
  if (!json.ok) return json;
  const parsed = pairwiseVerdictSchema.safeParse(json.value);
  if (!parsed.success) return { ok: false, error: `expected {"winner": "A" | "B" | "tie", "reasoning": string}: ${describeIssues(parsed.error)}` };
  return { ok: true, verdict: parsed.data };
}

/** Maps a score on `scale` to 0..1. */
export function normaliseScore(score: number, scale: readonly [number, number]): number {
  const [lo, hi] = scale;
  return (score - lo) / (hi - lo);
}
