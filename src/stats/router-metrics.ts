/**
 * Quality/cost curves of two-model routers and the metrics the routing literature reports on them.
 * Pure: no I/O, no randomness.
 *
 * A two-model family routes each request either to the strong model (the frontier baseline) or to a
 * weak, cheap model. Sweeping the router's threshold traces a curve of (share of strong calls, quality,
 * cost). From RouteLLM (Ong et al., 2024):
 *  - PGR, performance gap recovered: (q − q_weak) / (q_strong − q_weak);
 *  - APGR: the area under PGR against the strong-call share over [0, 1], computed like RouteLLM's
 *    evaluation code with the trapezoid rule on a discrete grid of shares (default 0, 0.1, …, 1);
 *  - CPT(x): the smallest share of strong calls at which PGR reaches x (50% and 80% are customary).
 * From RouterBench (Hu et al., 2024):
 *  - AIQ: the area under the non-decreasing convex hull of the (cost, quality) points, divided by the
 *    cost range. Mixing two operating points at random achieves any point on the segment between
 *    them, and extra budget can always be left unspent, which is why the hull is the fair envelope.
 *
 * Reference routers: `randomCurve` is the expectation of a router that picks the strong model with
 * probability s (PGR(s) = s, so APGR is exactly 0.5); `oracleCurve` follows RouteLLM's "optimal"
 * router, which spends a budget of strong calls only on cases the weak model fails and the strong one
 * passes. Because it keeps the weak model's answer wherever the weak model is right, the oracle can
 * beat the strong model, so its PGR (and APGR) can exceed 1.
 */

/** One case's outcome on both models of the family. */
export interface PairedOutcome {
  /** Quality of the strong (baseline) model's answer, 0..1 (1 = pass). */
  strong: number;
  /** Quality of the weak model's answer, 0..1. */
  weak: number;
  /** USD of the strong model's call; null or absent = unpriced. */
  strongCost?: number | null;
  /** USD of the weak model's call; null or absent = unpriced. */
  weakCost?: number | null;
}

export interface CurvePoint {
  /** Share of requests sent to the strong model, 0..1 (for the oracle: the budget of strong calls). */
  strongShare: number;
  /** Mean quality of the routed configuration. */
  quality: number;
  /** USD per 1,000 requests; null when a model in the mix is unpriced. */
  costPer1k: number | null;
}

export interface RouterCurve {
  /** Sorted by strongShare, one point per share. */
  points: CurvePoint[];
  /** Quality of sending everything to the weak model (PGR 0). */
  weakQuality: number;
  /** Quality of sending everything to the strong model (PGR 1). */
  strongQuality: number;
}

export interface RouterMetrics {
  /** Null when the two models have the same quality (no gap to recover). */
  apgr: number | null;
  cpt50: number | null;
  cpt80: number | null;
  /** Null when a point is unpriced or all points cost the same. */
  aiq: number | null;
}

/** Default APGR grid: shares 0, 0.1, …, 1, as RouteLLM evaluates ten threshold bins. */
export const DEFAULT_APGR_STEPS = 10;

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);

/**
 * A curve from points in any order. Points at the same share are averaged (a threshold sweep can
 * produce duplicates). The anchors default to the points at share 0 and share 1.
 */
export function routerCurve(points: readonly CurvePoint[], anchors?: { weakQuality: number; strongQuality: number }): RouterCurve {
  if (points.length === 0) throw new RangeError('routerCurve: no points');
  const byShare = new Map<number, CurvePoint[]>();
  for (const p of points) {
    if (!(p.strongShare >= 0 && p.strongShare <= 1)) throw new RangeError(`routerCurve: strongShare ${p.strongShare} is outside 0..1`);
    if (!Number.isFinite(p.quality)) throw new RangeError(`routerCurve: quality ${p.quality} is not a finite number`);
    const list = byShare.get(p.strongShare);
    if (list) list.push(p);
    else byShare.set(p.strongShare, [p]);
  }
  const merged = [...byShare.entries()]
    .sort(([a], [b]) => a - b)
    .map(([strongShare, list]) => ({
      strongShare,
      quality: mean(list.map((p) => p.quality)),
      costPer1k: list.some((p) => p.costPer1k === null) ? null : mean(list.map((p) => p.costPer1k!)),
    }));
  if (anchors) return { points: merged, ...anchors };
  const first = merged[0]!;
  const last = merged[merged.length - 1]!;
  if (first.strongShare !== 0 || last.strongShare !== 1) {
    throw new RangeError('routerCurve: without explicit anchors the points must include share 0 (weak only) and share 1 (strong only)');
  }
  return { points: merged, weakQuality: first.quality, strongQuality: last.quality };
}

/** Performance gap recovered; NaN when the two models are equally good (there is no gap). */
export function pgr(quality: number, weakQuality: number, strongQuality: number): number {
  const gap = strongQuality - weakQuality;
  return gap === 0 ? Number.NaN : (quality - weakQuality) / gap;
}

/** Quality at a share by linear interpolation between points; held constant beyond the ends. */
export function qualityAt(curve: RouterCurve, share: number): number {
  const pts = curve.points;
  if (share <= pts[0]!.strongShare) return pts[0]!.quality;
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1]!;
    const b = pts[i]!;
    if (share <= b.strongShare) return a.quality + ((share - a.strongShare) / (b.strongShare - a.strongShare)) * (b.quality - a.quality);
  }
  return pts[pts.length - 1]!.quality;
}

/** Average PGR over strong-call shares 0..1: trapezoid rule on `steps` equal intervals. */
export function apgr(curve: RouterCurve, steps = DEFAULT_APGR_STEPS): number | null {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`apgr: steps must be a positive integer, got ${steps}`);
  if (curve.strongQuality === curve.weakQuality) return null;
  let area = 0;
  let prev = pgr(qualityAt(curve, 0), curve.weakQuality, curve.strongQuality);
  for (let i = 1; i <= steps; i++) {
    const cur = pgr(qualityAt(curve, i / steps), curve.weakQuality, curve.strongQuality);
    area += (prev + cur) / 2 / steps;
    prev = cur;
  }
  return area;
}

/**
 * Call-performance threshold: the smallest share of strong calls at which the curve recovers
 * `fraction` of the gap (0.5 → CPT(50%)), interpolating between points; null if it never does.
 */
export function cpt(curve: RouterCurve, fraction: number): number | null {
  if (curve.strongQuality === curve.weakQuality) return null;
  const g = (p: CurvePoint) => pgr(p.quality, curve.weakQuality, curve.strongQuality);
  const pts = curve.points;
  if (g(pts[0]!) >= fraction) return pts[0]!.strongShare;
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1]!;
    const b = pts[i]!;
    const ga = g(a);
    const gb = g(b);
    if (gb >= fraction && ga < fraction) return a.strongShare + ((fraction - ga) / (gb - ga)) * (b.strongShare - a.strongShare);
  }
  return null;
}

/**
 * RouterBench's AIQ: area under the non-decreasing upper convex hull of (cost, quality) over
 * [min cost, max cost], divided by that range, so it is a quality on the same scale as the points.
 * `maxCost` widens the range to the right (the envelope stays flat: budget can be left unspent), so
 * routers of one model pair are compared over the same range, e.g. up to the strong-only cost.
 */
export function aiq(points: readonly Pick<CurvePoint, 'costPer1k' | 'quality'>[], maxCost?: number): number | null {
  if (points.length === 0 || points.some((p) => p.costPer1k === null)) return null;
  const pts = points
    .map((p) => ({ x: p.costPer1k!, y: p.quality }))
    .sort((a, b) => a.x - b.x || b.y - a.y);
  const xmin = pts[0]!.x;
  const xmax = Math.max(pts[pts.length - 1]!.x, maxCost ?? -Infinity);
  if (!(xmax > xmin)) return null;
  // Andrew's monotone chain, upper half: drop a vertex while it lies on or under the chord.
  const hull: { x: number; y: number }[] = [];
  for (const p of pts) {
    if (hull.length && hull[hull.length - 1]!.x === p.x) continue; // same cost: the best quality came first
    while (hull.length >= 2) {
      const o = hull[hull.length - 2]!;
      const a = hull[hull.length - 1]!;
      if ((a.x - o.x) * (p.y - o.y) - (a.y - o.y) * (p.x - o.x) >= 0) hull.pop();
      else break;
    }
    hull.push(p);
  }
  // A concave hull rises to its peak, then falls; the non-decreasing envelope stays at the peak.
  let area = 0;
  let i = 0;
  for (; i + 1 < hull.length && hull[i + 1]!.y > hull[i]!.y; i++) {
    area += ((hull[i]!.y + hull[i + 1]!.y) / 2) * (hull[i + 1]!.x - hull[i]!.x);
  }
  area += hull[i]!.y * (xmax - hull[i]!.x);
  return area / (xmax - xmin);
}

/** APGR, CPT(50%), CPT(80%) and AIQ of one curve (AIQ up to `maxCost` when given, see `aiq`). */
export function routerMetrics(curve: RouterCurve, steps = DEFAULT_APGR_STEPS, maxCost?: number): RouterMetrics {
  return { apgr: apgr(curve, steps), cpt50: cpt(curve, 0.5), cpt80: cpt(curve, 0.8), aiq: aiq(curve.points, maxCost) };
}

function totals(pairs: readonly PairedOutcome[]) {
  if (pairs.length === 0) throw new RangeError('router curve: no cases');
  const priced = pairs.every((p) => typeof p.strongCost === 'number' && typeof p.weakCost === 'number');
  return {
    n: pairs.length,
    priced,
    weak: pairs.reduce((s, p) => s + p.weak, 0),
    strong: pairs.reduce((s, p) => s + p.strong, 0),
    weakCost: priced ? pairs.reduce((s, p) => s + p.weakCost!, 0) : 0,
    strongCost: priced ? pairs.reduce((s, p) => s + p.strongCost!, 0) : 0,
  };
}

/**
 * The curve of a threshold router that sends the highest-scoring cases to the strong model first.
 * Cases with equal scores move together (a threshold cannot split them), so points sit at group
 * boundaries and the straight line between two points is what random tie-breaking would give.
 */
export function rankedCurve(pairs: readonly PairedOutcome[], scores: readonly number[]): RouterCurve {
  if (scores.length !== pairs.length) throw new RangeError(`rankedCurve: ${scores.length} scores for ${pairs.length} cases`);
  const t = totals(pairs);
  const order = pairs.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  let quality = t.weak;
  let cost = t.weakCost;
  const point = (k: number): CurvePoint => ({ strongShare: k / t.n, quality: quality / t.n, costPer1k: t.priced ? (cost / t.n) * 1000 : null });
  const points = [point(0)];
  for (let k = 0; k < order.length; k++) {
    const p = pairs[order[k]!]!;
    quality += p.strong - p.weak;
    if (t.priced) cost += p.strongCost! - p.weakCost!;
    const next = order[k + 1];
    if (next === undefined || scores[next] !== scores[order[k]!]) points.push(point(k + 1));
  }
  return { points, weakQuality: t.weak / t.n, strongQuality: t.strong / t.n };
}

/** The expected curve of a router that sends each request to the strong model with probability s. */
export function randomCurve(pairs: readonly PairedOutcome[], steps = DEFAULT_APGR_STEPS): RouterCurve {
  const t = totals(pairs);
  const points: CurvePoint[] = [];
  for (let i = 0; i <= steps; i++) {
    const s = i / steps;
    points.push({
      strongShare: s,
      quality: (s * t.strong + (1 - s) * t.weak) / t.n,
      costPer1k: t.priced ? ((s * t.strongCost + (1 - s) * t.weakCost) / t.n) * 1000 : null,
    });
  }
  return { points, weakQuality: t.weak / t.n, strongQuality: t.strong / t.n };
}

/**
 * RouteLLM's optimal router under a budget of strong calls: it spends them on the cases where the
 * strong model gains most (for pass/fail: weak fails, strong passes) and leaves the rest unspent.
 * The x axis is the budget; the cost is that of the calls actually made.
 */
export function oracleCurve(pairs: readonly PairedOutcome[]): RouterCurve {
  const t = totals(pairs);
  const gains = pairs
    .map((p, i) => ({ gain: p.strong - p.weak, extra: t.priced ? p.strongCost! - p.weakCost! : 0, i }))
    .filter((g) => g.gain > 0)
    .sort((a, b) => b.gain - a.gain || a.i - b.i);
  let quality = t.weak;
  let cost = t.weakCost;
  const point = (share: number): CurvePoint => ({ strongShare: share, quality: quality / t.n, costPer1k: t.priced ? (cost / t.n) * 1000 : null });
  const points = [point(0)];
  gains.forEach((g, k) => {
    quality += g.gain;
    cost += g.extra;
    points.push(point((k + 1) / t.n));
  });
  if (points[points.length - 1]!.strongShare < 1) points.push(point(1));
  return { points, weakQuality: t.weak / t.n, strongQuality: t.strong / t.n };
}
