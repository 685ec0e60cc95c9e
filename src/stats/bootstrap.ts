export interface BootstrapOptions {
  /** Number of resamples; default 10 000. */
  resamples?: number;
  /** Seed of the resampling stream; the same seed gives the same interval. */
  seed: number;
  /** Default 0.95. */
  confidence?: number;
}

export interface BootstrapResult {
  /** Mean of the observed differences (not of the resamples). */
  mean: number;
  /** Percentile interval of the resampled means. */
  ci: [number, number];
}

/**
 * Percentile bootstrap of the mean of per-case paired differences (candidate − baseline): −1/0/+1 for
 * pass/fail, any real number for scores. Resampling whole cases keeps the pairing, so the correlation
 * between the two models' outcomes on the same case is respected.
 *
 * Caveat worth knowing: with pass/fail data and no discordant case every resample has mean 0 and the
 * interval is [0, 0], and with very few discordant cases it is too narrow. The gate therefore decides on
 * Newcombe's interval for pass/fail data and shows this one as a cross-check.
 */
export function pairedBootstrap(diffs: Float64Array | readonly number[], opts: BootstrapOptions): BootstrapResult {
  const n = diffs.length;
  if (n === 0) throw new RangeError('pairedBootstrap: no differences to resample');
  const resamples = opts.resamples ?? 10_000;
  const confidence = opts.confidence ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`pairedBootstrap: resamples must be a positive integer, got ${resamples}`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`pairedBootstrap: confidence must be in (0, 1), got ${confidence}`);

  const values = Float64Array.from(diffs);
  let total = 0;
  for (let i = 0; i < n; i++) total += values[i]!;
  const mean = total / n;

  const means = new Float64Array(resamples);
  // createRng's mulberry32, inlined: the same draws (so the same interval for a seed), without a function
  // call per draw. This loop makes resamples × n draws (5 million for 500 cases) and was the gate's
  // largest cost in a cached rerun.
  let state = opts.seed | 0;
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), state | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      s += values[((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n) | 0]!;
    }
    means[r] = s / n;
  }
  means.sort();
  const alpha = 1 - confidence;
  return { mean, ci: [quantile(means, alpha / 2), quantile(means, 1 - alpha / 2)] };
}

/** Linear interpolation between order statistics (Hyndman–Fan type 7, R's default). `sorted` ascending. */
function quantile(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  const w = pos - lo;
  return sorted[lo]! * (1 - w) + sorted[hi]! * w;
}
