/**
 * Bounds of numeric settings, shared by the file schemas and the command-line parsers (this file imports
 * nothing, so the CLI can load it at start-up). Past these a value is a typo, not a wish, and it misbehaves: a timeout
 * of 2^31 ms or more fires at once (Node's timer limit), a rate below 1 per minute makes waits that
 * overflow the same way, thousands of sockets per model exhaust file descriptors.
 */
export const LIMITS = {
  concurrency: 1000,
  minTimeoutMs: 100,
  maxTimeoutMs: 3_600_000,
  maxRetries: 20,
  perMinute: 1e9,
  repeats: 100,
  /** `run --deadline`: from a second to a week (a timer of 2^31 ms or more fires at once). */
  minDeadlineMs: 1_000,
  maxDeadlineMs: 7 * 24 * 3_600_000,
  /** `--shard i/n`: n at most this. */
  shards: 1000,
} as const;
