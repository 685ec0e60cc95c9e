import type { RunSummary } from '../core/types.js';
import { int, pct, pts, table, usd } from './format.js';

export interface ConsoleStyle {
  color: boolean;
}

const paint = (on: boolean, code: number, s: string) => (on ? `\u001b[${code}m${s}\u001b[0m` : s);

/** The per-tier verdict table and per-model usage printed at the end of `evalroute run` / `show`. */
export function formatRunSummary(summary: RunSummary, style: ConsoleStyle): string {
  const out: string[] = [];
  out.push(`Run ${summary.runId} · suite ${summary.suite} · ${summary.status}`);
  out.push('');
  out.push(
    table(
      ['tier', 'model', 'cases', 'pass rate', 'baseline', 'delta', '95% CI', 'p', 'errors', 'verdict'],
      summary.tiers.map((t) => [
        t.tier,
        t.model,
        int(t.cases),
        pct(t.passRate),
        pct(t.baselinePassRate),
        t.model === t.baselineModel ? '—' : pts(t.delta),
        t.ci ? `${pts(t.ci[0])} … ${pts(t.ci[1])}` : '—',
        t.pValue === undefined ? '—' : t.pValue < 0.001 ? '<0.001' : t.pValue.toFixed(3),
        int(t.errors),
        t.pass ? paint(style.color, 32, '✔ PASS') : paint(style.color, 31, '✘ FAIL'),
      ]),
    ),
  );
  const reasons = summary.tiers.flatMap((t) => t.reasons.map((r) => `  ${t.pass ? '·' : '✘'} ${t.tier}: ${r}`));
  if (reasons.length) out.push('', ...reasons);
  out.push('');
  out.push(
    table(
      ['model', 'calls', 'errors', 'input tok', 'output tok', 'cost'],
      summary.models.map((m) => [m.model, int(m.calls), int(m.errors), int(m.inputTokens), int(m.outputTokens), usd(m.costUsd)]),
    ),
  );
  out.push('');
  const verdict = summary.pass
    ? paint(style.color, 32, 'GATE PASSED: every routed tier holds against the baseline.')
    : summary.status !== 'complete'
      ? paint(style.color, 33, `RUN ${summary.status.toUpperCase()}: not enough data to gate on.`)
      : paint(style.color, 31, `GATE FAILED: ${summary.tiers.filter((t) => !t.pass).map((t) => t.tier).join(', ')} regressed.`);
  out.push(verdict);
  return out.join('\n');
}
