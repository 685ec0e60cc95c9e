/**
 * Percentiles of token counts over millions of requests without keeping the values: a fixed array of
 * log-scale buckets, each 2% wider than the previous, so any percentile is within about 1% of the
 * true value and memory is a few kilobytes whatever the traffic.
 */
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
/** Covers 1 … ~10^9 tokens; larger values land in the last bucket. */
const BUCKETS = Math.ceil(Math.log(1e9) / LOG_GROWTH) + 1;

export class LogHistogram {
  private readonly counts = new Float64Array(BUCKETS + 1);
  private n = 0;
  private max = 0;

  add(value: number): void {
    this.n++;
    if (value > this.max) this.max = value;
    // Bucket 0 holds values below 1 (zero-token outputs); bucket i ≥ 1 holds [GROWTH^(i-1), GROWTH^i).
    const i = value < 1 ? 0 : Math.min(BUCKETS, 1 + Math.floor(Math.log(value) / LOG_GROWTH));
    this.counts[i]!++;
  }

  get count(): number {
    return this.n;
  }

  /** The q-quantile (0..1), as the geometric middle of its bucket, never above the largest value seen. */
  quantile(q: number): number | null {
    if (this.n === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        if (i === 0) return 0;
        const mid = Math.pow(GROWTH, i - 0.5);
        return Math.min(this.max, Math.round(mid));
      }
    }
    return this.max;
  }
}
