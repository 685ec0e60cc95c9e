/**
 * Seeded pseudo-random numbers for the statistics. Verdicts must be reproducible from stored results,
 * so nothing in stats/ or gate/ may touch Math.random.
 *
 * mulberry32: 32-bit state, passes the usual quick statistical checks, and is a handful of integer
 * operations per draw — enough for bootstrap resampling, not for anything cryptographic.
 */
export type Rng = () => number;

/** A generator of uniform numbers in [0, 1). The same seed always yields the same sequence. */
export function createRng(seed: number): Rng {
  // State kept as int32 (`| 0`) so V8 stays on its integer fast path.
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
