/** Number formats every verdict uses, in the gate's own wording and in every report. */

// One formatter for every number: toLocaleString builds a new one per call (~30 µs each, thousands per report).
const INTEGER = new Intl.NumberFormat('en-US');

/** A count with thousands separators: 12345 → "12,345". */
export const int = (x: number): string => INTEGER.format(x);

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
