/** Number formats every verdict uses, in the gate's own wording and in every report. */

export const pct = (x: number, digits = 1): string => `${(x * 100).toFixed(digits)}%`;

/** Signed percentage points, e.g. "−4.1 pts". Uses a real minus sign so it reads well in tables. */
export const pts = (x: number, digits = 1): string => {
  const v = (x * 100).toFixed(digits);
  return `${x < 0 && Number(v) !== 0 ? '−' : x > 0 && Number(v) !== 0 ? '+' : '±'}${v.replace('-', '')} pts`;
};

/** A margin in points without sign or unit: 0.05 → "5", 0.025 → "2.5". */
export const plainPts = (x: number): string => String(Math.round(x * 1000) / 10);
