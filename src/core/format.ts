/** Number formats every verdict uses, in the gate's own wording and in every report. */

/**
 * A count with thousands separators: 12345 → "12,345". Written out rather than through Intl: a process's
 * first Intl formatter starts ICU (~20 ms, more than grading a cached rerun of 1,000 results), and
 * `toLocaleString` builds a new formatter per call.
 */
export const int = (x: number): string =>
  withThousands(Number.isSafeInteger(x) ? String(x) : roundHalfAway(x, 3).replace(/\.?0+$/, ''));

/** US dollars with cents and thousands separators: 1234.5 → "$1,234.50", −3 → "$-3.00". */
export const usd = (x: number): string => `$${withThousands(roundHalfAway(x, 2))}`;

/**
 * `x` with `digits` decimals, rounded half away from zero on its shortest decimal form (1.005 → "1.01",
 * where `toFixed` sees the binary 1.00499… and gives "1.00"), as Intl rounds.
 */
function roundHalfAway(x: number, digits: number): string {
  const plain = String(Math.abs(x));
  if (plain.includes('e')) return x.toFixed(digits);
  const rounded = Number(`${Math.round(Number(`${plain}e${digits}`))}e-${digits}`);
  return (x < 0 && rounded !== 0 ? -rounded : rounded).toFixed(digits);
}

/** "1234567.891" → "1,234,567.891": separators in the integer part only. */
function withThousands(plain: string): string {
  const dot = plain.indexOf('.');
  const whole = dot < 0 ? plain : plain.slice(0, dot);
  return whole.replace(/\B(?=(\d{3})+$)/g, ',') + (dot < 0 ? '' : plain.slice(dot));
}

export const pct = (x: number, digits = 1): string => `${(x * 100).toFixed(digits)}%`;

/** Signed percentage points, e.g. "−4.1 pts". Uses a real minus sign so it reads well in tables. */
export const pts = (x: number, digits = 1): string => {
  const v = (x * 100).toFixed(digits);
  return `${x < 0 && Number(v) !== 0 ? '−' : x > 0 && Number(v) !== 0 ? '+' : '±'}${v.replace('-', '')} pts`;
};

/** A margin in points without sign or unit: 0.05 → "5", 0.025 → "2.5". */
export const plainPts = (x: number): string => String(Math.round(x * 1000) / 10);

/**
 * A confidence level with as many digits as it takes to show its distance from 100% (two significant
 * digits of it): 0.95 → "95%", 0.984 → "98.4%", 0.99874 → "99.87%", 0.999995 → "99.9995%" (a sequential
 * run's first look would otherwise read "100%").
 */
export const confidenceLevel = (confidence: number): string => {
  const digits = Math.max(1, Math.ceil(-Math.log10(1 - confidence)) - 1);
  return `${(confidence * 100).toFixed(digits).replace(/\.?0+$/, '')}%`;
};

/** `450 ms`, `12 s`, `30 min`, `1 h 30 min`: how deadlines and waits read in messages. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(ms < 10_000 ? 1 : 0))} s`;
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m ? `${h} h ${m} min` : `${h} h`;
}
