/** Small formatting helpers shared by the text reports (console, Markdown). */
import { stripVTControlCharacters } from 'node:util';
import type { ModelUsage } from '../core/types.js';
import { int } from '../core/format.js';

export { int, pct, pts, plainPts } from '../core/format.js';

export const usd = (x: number | null | undefined): string => {
  if (x === null || x === undefined) return 'unpriced';
  if (x === 0) return '$0';
  if (Math.abs(x) < 0.01) return `$${x.toFixed(4)}`;
  return `$${x.toFixed(2)}`;
};

/**
 * Columns a string takes on a terminal: colour codes take none, so a painted cell ("✔ PASS" in green)
 * lines up with plain ones.
 */
export const visibleWidth = (s: string): number => stripVTControlCharacters(s).length;

/** `s` padded with spaces to `width` visible columns, on the right (`end`) or the left (`start`). */
export function padVisible(s: string, width: number, side: 'start' | 'end'): string {
  const fill = ' '.repeat(Math.max(0, width - visibleWidth(s)));
  return side === 'end' ? s + fill : fill + s;
}

/** Left-aligned first column, right-aligned others; plain spaces so CI logs stay clean. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(visibleWidth(h), ...rows.map((r) => visibleWidth(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells.map((c, i) => padVisible(c, widths[i]!, i === 0 ? 'end' : 'start')).join('  ').trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Money at monthly scale: whole dollars with separators from $100 up, else as `usd`. */
export const usdLarge = (x: number | null | undefined): string => {
  if (x === null || x === undefined || Math.abs(x) < 100) return usd(x);
  return `$${int(Math.round(x))}`;
};

/** Figures resting on tokenizer estimates read "~$1.23" / "~48,124", so nobody mistakes them for a bill. */
export const approx = (estimated: boolean | undefined, s: string): string =>
  estimated && s !== 'unpriced' && s !== '—' ? `~${s}` : s;

/** One row per model: calls, errors, tokens and cost, with `~` where token counts are estimates. */
export function modelUsageRows(models: ModelUsage[]): string[][] {
  return models.map((m) => [
    m.model,
    int(m.calls),
    int(m.errors),
    approx(m.estimatedTokens, int(m.inputTokens)),
    approx(m.estimatedTokens, int(m.outputTokens)),
    approx(m.estimatedTokens, usd(m.costUsd)),
  ]);
}
