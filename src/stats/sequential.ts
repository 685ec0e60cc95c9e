/**
 * Group-sequential boundaries: a run that looks at its data K times and may stop at any look keeps its
 * overall one-sided error at α only if each look uses a stricter critical value than a single test would.
 *
 * The statistic at look k is Z_k = S(t_k)/√t_k, with S a Brownian motion with drift θ observed at the
 * information fractions t_1 < … < t_K = 1 (cases used / maximum cases). Crossing probabilities are
 * computed by the recursive numerical integration of Armitage, McPherson & Rowe (1969) as set out in
 * Jennison & Turnbull, "Group Sequential Methods" (2000), ch. 19: the sub-density of S on the
 * continuation region is carried from look to look on a Simpson grid.
 *
 * Shapes (one-sided boundaries c_k on the Z scale):
 * - `obrien-fleming`: c_k = C·√(K/k) (O'Brien & Fleming 1979; Wang–Tsiatis Δ = 0): very strict early,
 *   close to the fixed-design value at the last look. K = 3, α = 0.025: 3.471, 2.454, 2.004.
 * - `pocock`: c_k = C (Pocock 1977; Wang–Tsiatis Δ = 0.5). K = 3, α = 0.025: 2.289 at every look.
 * - `lan-demets-obf`: Lan & DeMets (1983) alpha spending with the O'Brien–Fleming-like function
 *   α(t) = 2 − 2Φ(z_{α/2}/√t), which also works for unequal or unplanned look sizes.
 *   K = 3, α = 0.025: 3.710, 2.511, 1.993.
 * The constants are solved for here, not tabulated; test/sequential.test.ts checks them against the
 * published tables.
 */

import { inverseNormalCdf, normalCdf } from './normal.js';

export type BoundaryShape = 'obrien-fleming' | 'pocock' | 'lan-demets-obf';

export interface SequentialBoundaries {
  shape: BoundaryShape;
  /** One-sided overall error α the boundaries spend (0.025 ↔ a 95% two-sided interval). */
  alpha: number;
  /** Information fractions of the looks, increasing, the last one 1. */
  fractions: number[];
  /** Critical values on the Z scale, one per look. */
  z: number[];
  /** One-sided nominal level of each look: 1 − Φ(z_k). */
  nominalAlpha: number[];
  /**
   * The two-sided confidence level whose interval has z_k as its critical value (1 − 2·nominalAlpha):
   * a tier passes at look k when the lower bound of this interval clears the margin.
   */
  confidence: number[];
}

export interface BoundaryOptions {
  /** Number of looks K (the last is the full suite). Default 3. */
  looks?: number;
  /** One-sided overall α. Default 0.025. */
  alpha?: number;
  shape?: BoundaryShape;
  /** Information fractions; default equally spaced k/K. */
  fractions?: number[];
}

export const DEFAULT_LOOKS = 3;
export const DEFAULT_SEQUENTIAL_ALPHA = 0.025;
export const DEFAULT_SHAPE: BoundaryShape = 'obrien-fleming';

const INV_SQRT_2PI = 0.3989422804014327;
/** Half-width of the region a density is carried on, in standard deviations (mass beyond: ~1e-15). */
const SPAN_SD = 8;
/** Simpson intervals per grid (even). 160 reproduce the published boundaries to all their 3–4 decimals. */
const GRID_INTERVALS = 160;

interface Grid {
  x: Float64Array;
  /** Sub-density of S at x times the Simpson weight: a sum over the grid is an integral. */
  mass: Float64Array;
}

function simpsonGrid(lo: number, hi: number, density: (x: number) => number): Grid {
  const n = GRID_INTERVALS;
  const h = (hi - lo) / n;
  const x = new Float64Array(n + 1);
  const mass = new Float64Array(n + 1);
  for (let i = 0; i <= n; i++) {
    x[i] = lo + i * h;
    const w = i === 0 || i === n ? 1 : i % 2 ? 4 : 2;
    mass[i] = ((w * h) / 3) * density(x[i]!);
  }
  return { x, mass };
}

/**
 * The stage-wise recursion for one look: given the sub-density of S(t_{k−1}) on the previous
 * continuation region (or none at the first look), the probabilities of crossing above `upper` / below
 * `lower` at t_k, and the grid carrying the sub-density on (lower, upper) to the next look.
 */
class LookStep {
  constructor(
    private readonly prev: Grid | undefined,
    private readonly tPrev: number,
    private readonly t: number,
    private readonly drift: number,
  ) {}

  private get mean(): number {
    return this.drift * (this.t - this.tPrev);
  }

  private get sd(): number {
    return Math.sqrt(this.t - this.tPrev);
  }

  /** P(S(t_k) > u and no earlier crossing), u on the S scale. */
  above(u: number): number {
    if (u === Infinity) return 0;
    if (!this.prev) return 1 - normalCdf((u - this.mean) / this.sd);
    let p = 0;
    const { x, mass } = this.prev;
    for (let i = 0; i < x.length; i++) p += mass[i]! * (1 - normalCdf((u - x[i]! - this.mean) / this.sd));
    return p;
  }

  /** P(S(t_k) < l and no earlier crossing). */
  below(l: number): number {
    if (l === -Infinity) return 0;
    if (!this.prev) return normalCdf((l - this.mean) / this.sd);
    let p = 0;
    const { x, mass } = this.prev;
    for (let i = 0; i < x.length; i++) p += mass[i]! * normalCdf((l - x[i]! - this.mean) / this.sd);
    return p;
  }

  /** The sub-density of S(t_k) on (l, u), truncated where the density is negligible. */
  carry(l: number, u: number): Grid {
    const centre = this.drift * this.t;
    const lo = Math.max(l, centre - SPAN_SD * Math.sqrt(this.t));
    const hi = Math.min(u, centre + SPAN_SD * Math.sqrt(this.t));
    const { mean, sd } = this;
    const prev = this.prev;
    const gauss = (z: number) => (INV_SQRT_2PI / sd) * Math.exp(-0.5 * z * z);
    return simpsonGrid(lo, Math.max(lo, hi), (y) => {
      if (!prev) return gauss((y - mean) / sd);
      let f = 0;
      for (let i = 0; i < prev.x.length; i++) f += prev.mass[i]! * gauss((y - prev.x[i]! - mean) / sd);
      return f;
    });
  }
}

export interface CrossingProbabilities {
  /** P(first crossing is above the upper boundary at look k). */
  upper: number[];
  /** P(first crossing is below the lower boundary at look k). */
  lower: number[];
}

/**
 * Exit probabilities of a group-sequential design at drift θ (the expected Z at full information):
 * `upperZ` / `lowerZ` on the Z scale (use ±Infinity for "no boundary" at a look).
 */
export function crossingProbabilities(
  upperZ: readonly number[],
  lowerZ: readonly number[],
  fractions: readonly number[],
  drift = 0,
): CrossingProbabilities {
  checkFractions(fractions);
  const upper: number[] = [];
  const lower: number[] = [];
  let grid: Grid | undefined;
  let tPrev = 0;
  fractions.forEach((t, k) => {
    const step = new LookStep(grid, tPrev, t, drift);
    const u = (upperZ[k] ?? Infinity) * Math.sqrt(t);
    const l = (lowerZ[k] ?? -Infinity) * Math.sqrt(t);
    upper.push(step.above(u));
    lower.push(step.below(l));
    if (k < fractions.length - 1) grid = step.carry(l, u);
    tPrev = t;
  });
  return { upper, lower };
}

/** Equally spaced information fractions k/K. */
export function equalFractions(looks: number): number[] {
  if (!Number.isInteger(looks) || looks < 1 || looks > 20) throw new RangeError(`looks must be an integer from 1 to 20, got ${looks}`);
  return Array.from({ length: looks }, (_, k) => (k + 1) / looks);
}

/** The efficacy (PASS) boundaries of a design; see the module comment for the shapes. */
export function groupSequentialBoundaries(opts: BoundaryOptions = {}): SequentialBoundaries {
  const alpha = opts.alpha ?? DEFAULT_SEQUENTIAL_ALPHA;
  const shape = opts.shape ?? DEFAULT_SHAPE;
  if (!(alpha > 0 && alpha < 0.5)) throw new RangeError(`alpha must be between 0 and 0.5 (one-sided), got ${alpha}`);
  const fractions = opts.fractions ? [...opts.fractions] : equalFractions(opts.looks ?? DEFAULT_LOOKS);
  checkFractions(fractions);
  const z = shape === 'lan-demets-obf' ? spendingBoundaries(alpha, fractions) : wangTsiatisBoundaries(alpha, fractions, shape === 'pocock' ? 0.5 : 0);
  const nominalAlpha = z.map((c) => 1 - normalCdf(c));
  return { shape, alpha, fractions, z, nominalAlpha, confidence: nominalAlpha.map((a) => 1 - 2 * a) };
}

/** Wang & Tsiatis (1987): c_k = C·t_k^(Δ−1/2), C solved so the overall crossing probability is α. */
function wangTsiatisBoundaries(alpha: number, fractions: number[], delta: number): number[] {
  const shape = (C: number) => fractions.map((t) => C * t ** (delta - 0.5));
  const none = fractions.map(() => -Infinity);
  const total = (C: number) => crossingProbabilities(shape(C), none, fractions).upper.reduce((s, p) => s + p, 0);
  return shape(solve((C) => total(C) - alpha, 0.5, 10));
}

/** Lan–DeMets: at each look, spend α(t_k) − α(t_{k−1}) with α(t) = 2 − 2Φ(z_{1−α/2}/√t). */
function spendingBoundaries(alpha: number, fractions: number[]): number[] {
  const zHalf = inverseNormalCdf(1 - alpha / 2);
  const spent = (t: number) => 2 - 2 * normalCdf(zHalf / Math.sqrt(t));
  const z: number[] = [];
  let grid: Grid | undefined;
  let tPrev = 0;
  fractions.forEach((t, k) => {
    const step = new LookStep(grid, tPrev, t, 0);
    const target = spent(t) - spent(tPrev);
    const c = solve((c) => step.above(c * Math.sqrt(t)) - target, 0, 12);
    z.push(c);
    if (k < fractions.length - 1) grid = step.carry(-Infinity, c * Math.sqrt(t));
    tPrev = t;
  });
  return z;
}

/**
 * Root of f on [lo, hi] (f changes sign there) by the Illinois variant of regula falsi: a dozen
 * evaluations reach 1e-10, which matters because each evaluation of a Wang–Tsiatis constant integrates
 * the whole design.
 */
function solve(f: (x: number) => number, lo: number, hi: number): number {
  let fLo = f(lo);
  let fHi = f(hi);
  if (fLo * fHi > 0) throw new RangeError(`no root between ${lo} and ${hi}`);
  let x = lo;
  let kept = 0; // which end stayed put last time: −1 lo, +1 hi
  for (let i = 0; i < 200 && hi - lo > 1e-8; i++) {
    x = (fLo * hi - fHi * lo) / (fLo - fHi);
    const fx = f(x);
    if (fx === 0) return x;
    if (fx * fHi > 0) {
      hi = x;
      fHi = fx;
      if (kept === -1) fLo /= 2;
      kept = -1;
    } else {
      lo = x;
      fLo = fx;
      if (kept === 1) fHi /= 2;
      kept = 1;
    }
  }
  return x;
}

function checkFractions(fractions: readonly number[]): void {
  if (fractions.length === 0) throw new RangeError('a sequential design needs at least one look');
  fractions.forEach((t, k) => {
    const prev = k ? fractions[k - 1]! : 0;
    if (!(t > prev && t <= 1)) throw new RangeError(`information fractions must increase within (0, 1], got ${fractions.join(', ')}`);
  });
  if (Math.abs(fractions[fractions.length - 1]! - 1) > 1e-12) throw new RangeError(`the last look must use all the information (fraction 1), got ${fractions.join(', ')}`);
}

/**
 * Cases used at each look for a tier of n cases: ⌈n·t_k⌉, so the last look uses them all and every look
 * adds at least one case while n ≥ K.
 */
export function lookSizes(n: number, fractions: readonly number[]): number[] {
  return fractions.map((t, k) => (k === fractions.length - 1 ? n : Math.max(0, Math.min(n, Math.ceil(n * t - 1e-9)))));
}
