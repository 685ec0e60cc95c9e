/**
 * Geometry for the report's two inline SVG charts. These functions only compute coordinates and label
 * strings; the Handlebars partial draws them, so every label goes through Handlebars escaping.
 */
import { tierOutcome } from './verdict-text.js';
import type { ModelPoint, ReportTier } from './report-data.js';
import { pct, usd } from './format.js';

const r1 = (x: number): number => Math.round(x * 10) / 10;
const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface PassRateRow {
  tier: string;
  model: string;
  labelY: number;
  subLabelY: number;
  candidate: Rect & { cls: 'pass' | 'fail' | 'warn'; value: string; valueX: number; valueY: number; title: string };
  /** Absent for the baseline tier: its candidate is the baseline. */
  baseline?: Rect & { value: string; valueX: number; valueY: number; title: string };
  /** Baseline pass rate + the paired CI of the delta: where the tier's pass rate plausibly lies. */
  whisker?: { x1: number; x2: number; y: number; top: number; bottom: number; title: string };
}

/** The drawing area every chart shares: SVG size and the plot rectangle inside its margins. */
export interface PlotFrame {
  width: number;
  height: number;
  plotX: number;
  plotY: number;
  plotW: number;
  plotH: number;
  plotBottom: number;
}

export interface PassRateChart extends PlotFrame {
  ticks: { x: number; label: string }[];
  rows: PassRateRow[];
}

const BAR_W = 460;
const LABEL_W = 170;
const ROW_H = 56;
const TOP = 12;

const BAR_CLASS = { pass: 'pass', fail: 'fail', inconclusive: 'warn' } as const;

export function passRateChart(tiers: ReportTier[]): PassRateChart {
  const plotX = LABEL_W;
  const plotH = Math.max(1, tiers.length) * ROW_H;
  const xOf = (v: number) => r1(plotX + clamp01(v) * BAR_W);
  const rows = tiers.map((t, i): PassRateRow => {
    const y0 = TOP + i * ROW_H + 8;
    const candH = t.isBaselineTier ? 22 : 16;
    const candidate = {
      x: plotX,
      y: y0,
      w: r1(clamp01(t.passRate) * BAR_W),
      h: candH,
      cls: BAR_CLASS[t.isBaselineTier ? 'pass' : tierOutcome(t)],
      value: pct(t.passRate),
      valueX: 0,
      valueY: y0 + candH / 2 + 4,
      title: `${t.tier} (${t.model}): ${pct(t.passRate)} pass rate on ${t.cases} cases`,
    };
    const row: PassRateRow = { tier: t.tier, model: t.model, labelY: y0 + 9, subLabelY: y0 + 25, candidate };
    let rightmost = candidate.x + candidate.w;
    if (!t.isBaselineTier) {
      const by = y0 + candH + 4;
      row.baseline = {
        x: plotX,
        y: by,
        w: r1(clamp01(t.baselinePassRate) * BAR_W),
        h: 10,
        value: `${pct(t.baselinePassRate)} baseline`,
        valueX: 0,
        valueY: by + 9,
        title: `baseline ${t.baselineModel} on the same ${t.cases} cases: ${pct(t.baselinePassRate)}`,
      };
      row.baseline.valueX = r1(row.baseline.x + row.baseline.w + 6);
      if (t.ci) {
        const lo = clamp01(t.baselinePassRate + t.ci[0]);
        const hi = clamp01(t.baselinePassRate + t.ci[1]);
        const wy = y0 + candH / 2;
        row.whisker = {
          x1: xOf(lo),
          x2: xOf(hi),
          y: wy,
          top: wy - 7,
          bottom: wy + 7,
          title: `interval for ${t.tier}: ${pct(lo)} … ${pct(hi)} (baseline + CI of the paired delta)`,
        };
        rightmost = Math.max(rightmost, row.whisker.x2);
      }
    }
    candidate.valueX = r1(rightmost + 8);
    return row;
  });
  return {
    width: LABEL_W + BAR_W + 130,
    height: TOP + plotH + 26,
    plotX,
    plotY: TOP,
    plotW: BAR_W,
    plotH,
    plotBottom: TOP + plotH,
    ticks: [0, 0.2, 0.4, 0.6, 0.8, 1].map((v) => ({ x: xOf(v), label: pct(v, 0) })),
    rows,
  };
}

export interface ScatterPoint {
  model: string;
  cx: number;
  cy: number;
  labelX: number;
  labelY: number;
  anchor: 'start' | 'end';
  cls: string;
  title: string;
  /** y of the baseline's pass rate on this model's cases: the whisker the eye compares against. */
  baselineY?: number;
}

export interface ParetoChart extends PlotFrame {
  plotRight: number;
  logScale: boolean;
  xTicks: { x: number; label: string }[];
  yTicks: { y: number; label: string }[];
  points: ScatterPoint[];
  /** SVG polyline points through the Pareto-optimal models, cheapest first; empty when fewer than two. */
  frontier: string;
  unpriced: { model: string; passRate: string }[];
  empty: boolean;
}

export function paretoChart(models: ModelPoint[]): ParetoChart {
  const width = 560;
  const height = 300;
  const plotX = 56;
  const plotY = 14;
  const plotW = width - plotX - 24;
  const plotH = height - plotY - 44;
  const priced = models.filter((m): m is ModelPoint & { costPer1k: number } => m.costPer1k !== null);
  const costs = priced.map((m) => m.costPer1k);
  const positive = costs.filter((c) => c > 0);
  const minC = positive.length ? Math.min(...positive) : 0;
  const maxC = costs.length ? Math.max(...costs) : 1;
  // Model prices span orders of magnitude; a linear axis would squash every cheap model onto zero.
  const logScale = positive.length === costs.length && costs.length > 1 && maxC / minC > 20;
  let xOf: (c: number) => number;
  let xTicks: { x: number; label: string }[];
  if (logScale) {
    const lo = Math.floor(Math.log10(minC));
    const hi = Math.ceil(Math.log10(maxC));
    const span = Math.max(1, hi - lo);
    xOf = (c) => r1(plotX + ((Math.log10(c) - lo) / span) * plotW);
    xTicks = Array.from({ length: span + 1 }, (_, i) => ({ x: xOf(10 ** (lo + i)), label: usd(10 ** (lo + i)) }));
  } else {
    const top = niceCeil(maxC > 0 ? maxC * 1.1 : 1);
    xOf = (c) => r1(plotX + (c / top) * plotW);
    xTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => ({ x: xOf(top * f), label: usd(top * f) }));
  }
  const yOf = (p: number) => r1(plotY + (1 - clamp01(p)) * plotH);
  const points = priced.map((m): ScatterPoint => {
    const cx = xOf(m.costPer1k);
    const cy = yOf(m.passRate);
    const nearRight = cx > plotX + plotW * 0.75;
    return {
      model: m.model,
      cx,
      cy,
      labelX: nearRight ? cx - 9 : cx + 9,
      labelY: cy < plotY + 12 ? cy + 14 : cy - 7,
      anchor: nearRight ? 'end' : 'start',
      cls: [m.isBaseline ? 'baseline' : 'model', m.pareto ? 'pareto' : ''].join(' ').trim(),
      title:
        m.baselinePassRate === undefined
          ? `${m.model} (baseline): ${pct(m.passRate)} pass rate on ${m.cases} cases, ${usd(m.costPer1k)} per 1k requests`
          : `${m.model}: ${pct(m.passRate)} vs baseline ${pct(m.baselinePassRate)} on the same ${m.cases} cases, ${usd(m.costPer1k)} per 1k requests${m.pareto ? ' (Pareto-optimal)' : ''}`,
      ...(m.baselinePassRate === undefined ? {} : { baselineY: yOf(m.baselinePassRate) }),
    };
  });
  const front = priced
    .filter((m) => m.pareto)
    .sort((a, b) => a.costPer1k - b.costPer1k)
    .map((m) => `${xOf(m.costPer1k)},${yOf(m.passRate)}`);
  // The frontier joins points whose pass rates rest on different cases, so it is drawn only as a guide.
  return {
    width,
    height,
    plotX,
    plotY,
    plotW,
    plotH,
    plotBottom: plotY + plotH,
    plotRight: plotX + plotW,
    logScale,
    xTicks,
    yTicks: [0, 0.25, 0.5, 0.75, 1].map((v) => ({ y: yOf(v), label: pct(v, 0) })),
    points,
    frontier: front.length > 1 ? front.join(' ') : '',
    unpriced: models.filter((m) => m.costPer1k === null).map((m) => ({ model: m.model, passRate: pct(m.passRate) })),
    empty: priced.length === 0,
  };
}

/** 1, 2 or 5 times a power of ten, at least x: keeps axis labels round. */
function niceCeil(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

export interface CurveChartPoint {
  strongShare: number;
  quality: number;
  costPer1k: number | null;
}

/** The parts of a two-model routing curve the chart reads (`CurveReport` in src/api/simulate.ts fits). */
export interface CurveChartInput {
  strong: string;
  weak: string;
  router: { points: readonly CurveChartPoint[] };
  random: { points: readonly CurveChartPoint[] };
  oracle: { points: readonly CurveChartPoint[] };
}

export interface CurveChartSeries {
  name: 'router' | 'random' | 'oracle';
  /** SVG polyline points, in the order of the input. */
  points: string;
  count: number;
  title: string;
}

export interface CurveChart {
  width: number;
  height: number;
  plotX: number;
  plotY: number;
  plotBottom: number;
  plotRight: number;
  /** `cost` when every point is priced and costs differ; otherwise the share of strong calls. */
  xAxis: 'cost' | 'share';
  xLabel: string;
  xTicks: { x: number; label: string }[];
  yTicks: { y: number; label: string }[];
  series: CurveChartSeries[];
  /** The all-weak and all-strong ends of the router curve, labelled with the model keys. */
  ends: { cx: number; cy: number; label: string; labelX: number; labelY: number; anchor: 'start' | 'end'; title: string }[];
}

/**
 * Quality against cost (or strong-call share) for a router and its random and oracle references. The
 * quality axis is zoomed to the data in round steps: the curves usually live within a few points and a
 * 0–100% axis would flatten them into one line.
 */
export function curveChart(c: CurveChartInput, opts: { x?: 'cost' | 'share' } = {}): CurveChart {
  const width = 640;
  const height = 360;
  const plotX = 56;
  const plotY = 14;
  const plotW = width - plotX - 28;
  const plotH = height - plotY - 48;
  const all = [...c.router.points, ...c.random.points, ...c.oracle.points];
  const costs = all.map((p) => p.costPer1k);
  const priced = costs.every((x): x is number => x !== null);
  const minC = priced ? Math.min(...costs) : 0;
  const maxC = priced ? Math.max(...costs) : 0;
  const xAxis = opts.x ?? (priced && maxC > minC ? 'cost' : 'share');
  if (xAxis === 'cost' && !(priced && maxC > minC)) throw new RangeError('curveChart: a cost axis needs every point priced and costs that differ');

  const xFrac = xAxis === 'cost' ? (p: CurveChartPoint) => (p.costPer1k! - minC) / (maxC - minC) : (p: CurveChartPoint) => p.strongShare;
  const xAt = (f: number) => r1(plotX + clamp01(f) * plotW);
  const xTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => ({ x: xAt(f), label: xAxis === 'cost' ? usd(minC + f * (maxC - minC)) : pct(f, 0) }));

  const qs = all.map((p) => p.quality);
  const qMin = Math.min(...qs);
  const qMax = Math.max(...qs);
  const span = qMax - qMin;
  const step = span <= 0.25 ? 0.05 : span <= 0.5 ? 0.1 : 0.2;
  const loK = Math.max(0, Math.floor((qMin - 0.01) / step));
  const hiK = Math.max(loK + 1, Math.min(Math.round(1 / step), Math.ceil((qMax + 0.01) / step)));
  const lo = loK * step;
  const hi = hiK * step;
  const yOf = (q: number) => r1(plotY + (1 - (Math.min(hi, Math.max(lo, q)) - lo) / (hi - lo)) * plotH);
  const yTicks = Array.from({ length: hiK - loK + 1 }, (_, i) => {
    const v = (loK + i) * step;
    return { y: yOf(v), label: pct(v, 0) };
  });

  const line = (name: CurveChartSeries['name'], points: readonly CurveChartPoint[], title: string): CurveChartSeries => ({
    name,
    points: points.map((p) => `${xAt(xFrac(p))},${yOf(p.quality)}`).join(' '),
    count: points.length,
    title,
  });
  const series = [
    line('random', c.random.points, 'random router: sends each request to the strong model with the given probability'),
    line('oracle', c.oracle.points, `oracle: spends strong calls only where ${c.weak} fails and ${c.strong} passes`),
    line('router', c.router.points, `router: ${c.strong} for the highest-ranked requests, ${c.weak} for the rest`),
  ];
  const first = c.router.points[0];
  const last = c.router.points[c.router.points.length - 1];
  const ends: CurveChart['ends'] = [];
  const end = (p: CurveChartPoint, label: string, anchor: 'start' | 'end', what: string) => {
    const cx = xAt(xFrac(p));
    const cy = yOf(p.quality);
    ends.push({
      cx,
      cy,
      label,
      labelX: anchor === 'start' ? cx + 9 : cx - 9,
      labelY: cy < plotY + 16 ? cy + 16 : cy - 8,
      anchor,
      title: `${what}: ${pct(p.quality)} quality${p.costPer1k === null ? '' : `, ${usd(p.costPer1k)} per 1k requests`}`,
    });
  };
  if (first) end(first, c.weak, 'start', `all on ${c.weak}`);
  if (last && last !== first) end(last, c.strong, 'end', `all on ${c.strong}`);
  return {
    width,
    height,
    plotX,
    plotY,
    plotBottom: plotY + plotH,
    plotRight: plotX + plotW,
    xAxis,
    xLabel: xAxis === 'cost' ? 'cost per 1k requests →' : `share of requests sent to ${c.strong} →`,
    xTicks,
    yTicks,
    series,
    ends,
  };
}
