/**
 * How far a judge can be trusted: agreement with human labels, chance-corrected (Cohen's kappa),
 * and pairwise win rates as AlpacaEval and evalroute compute them. Pure functions.
 */

export interface AgreementResult {
  /** Number of labelled pairs. */
  n: number;
  /** Share of pairs where both raters gave the same label (NaN when n = 0). */
  agreement: number;
  /**
   * Cohen's kappa, (po − pe) / (1 − pe). NaN when it is undefined: no pairs, or both raters used one
   * and the same label throughout (pe = 1), where chance explains everything.
   */
  kappa: number;
  /** confusion[human][judge] = count; every label seen by either rater appears on both axes. */
  confusion: Record<string, Record<string, number>>;
  /** All labels, sorted. */
  labels: string[];
}

export function agreement(pairs: ReadonlyArray<readonly [human: string, judge: string]>): AgreementResult {
  const labels = [...new Set(pairs.flatMap(([h, j]) => [h, j]))].sort();
  const confusion: Record<string, Record<string, number>> = {};
  for (const h of labels) confusion[h] = Object.fromEntries(labels.map((j) => [j, 0]));
  const humanTotals = new Map<string, number>();
  const judgeTotals = new Map<string, number>();
  let same = 0;
  for (const [h, j] of pairs) {
    confusion[h]![j]! += 1;
    humanTotals.set(h, (humanTotals.get(h) ?? 0) + 1);
    judgeTotals.set(j, (judgeTotals.get(j) ?? 0) + 1);
    if (h === j) same++;
  }
  const n = pairs.length;
  if (n === 0) return { n, agreement: NaN, kappa: NaN, confusion, labels };
  const po = same / n;
  let pe = 0;
  for (const label of labels) pe += ((humanTotals.get(label) ?? 0) / n) * ((judgeTotals.get(label) ?? 0) / n);
  const kappa = pe === 1 ? NaN : (po - pe) / (1 - pe);
  return { n, agreement: po, kappa, confusion, labels };
}

export type PairwiseOutcome = 'win' | 'tie' | 'loss';

/** Candidate's points for one comparison: a win 1, a tie ½, a loss 0. */
export function outcomeScore(outcome: PairwiseOutcome): number {
  return outcome === 'win' ? 1 : outcome === 'tie' ? 0.5 : 0;
}

export interface WinRate {
  n: number;
  /** Mean probability that the candidate beats the baseline (0..1). */
  winRate: number;
  /** Standard error of that mean (sample standard deviation / √n). */
  standardError: number;
  wins: number;
  ties: number;
  losses: number;
}

/**
 * Win rate over comparisons, each either a discrete outcome or the probability that the candidate
 * won (AlpacaEval's logprob-weighted preference minus 1). Ties count half. A probability counts as a
 * win above ½, a loss below and a tie at exactly ½ — AlpacaEval's discrete tally.
 */
export function winRate(items: ReadonlyArray<PairwiseOutcome | number>): WinRate {
  const p = items.map((x) => (typeof x === 'number' ? x : outcomeScore(x)));
  const n = p.length;
  let wins = 0;
  let ties = 0;
  let losses = 0;
  for (const v of p) {
    if (v > 0.5) wins++;
    else if (v < 0.5) losses++;
    else ties++;
  }
  if (n === 0) return { n, winRate: NaN, standardError: NaN, wins, ties, losses };
  const mean = p.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? p.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : 0;
  return { n, winRate: mean, standardError: Math.sqrt(variance / n), wins, ties, losses };
}
