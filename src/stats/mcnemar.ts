/**
 * McNemar's exact test for paired pass/fail outcomes. Only discordant pairs carry information: under
 * "no difference" each of the b + c discordant cases is equally likely to favour either model, so
 * min(b, c) ~ Binomial(b + c, ½). Two-sided p = min(1, 2·P(X ≤ min(b, c))).
 *
 * b = baseline passed and candidate failed (regressions), c = baseline failed and candidate passed
 * (improvements). The test is symmetric in b and c.
 *
 * Computed in log space with a running log-binomial coefficient, so b + c up to millions neither
 * overflows nor underflows into wrong answers.
 */
export function mcnemarExact(b: number, c: number): number {
  if (!Number.isInteger(b) || !Number.isInteger(c) || b < 0 || c < 0) {
    throw new RangeError(`mcnemarExact: discordant counts must be non-negative integers, got b=${b}, c=${c}`);
  }
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  // log C(n, i) − n·log 2 for i = 0..k, summed with log-sum-exp.
  const logHalfN = -n * Math.LN2;
  const terms = new Float64Array(k + 1);
  let logChoose = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logChoose += Math.log(n - i + 1) - Math.log(i);
    terms[i] = logChoose + logHalfN;
  }
  // C(n, i) grows with i for i ≤ n/2 and k ≤ n/2, so the last term is the largest.
  const max = terms[k]!;
  let sum = 0;
  for (let i = 0; i <= k; i++) sum += Math.exp(terms[i]! - max);
  const tail = Math.exp(max + Math.log(sum));
  return Math.min(1, 2 * tail);
}
