/**
 * Running an audit and presenting it. `auditSection` turns the report into titled tables of plain
 * strings — one shape for the console and for the HTML report, so both always say the same thing.
 */
import { int, pct, table, usd } from '../report/format.js';
import { AuditAggregator } from './aggregate.js';
import type { AuditOptions, AuditReport, UsageRow } from './aggregate.js';
import { readLogRecords } from './read-logs.js';
import { LENGTH_BUCKET_LABELS, LENGTH_BUCKETS } from './signals.js';

/** Streams the files once and returns the report. Malformed lines are counted, never fatal. */
export async function auditLogs(files: readonly string[], opts: AuditOptions): Promise<AuditReport> {
  const agg = new AuditAggregator(files, opts);
  for await (const e of readLogRecords(files)) {
    if (e.ok) agg.add(e.record, e.file, e.line);
    else agg.addMalformed(e.malformed);
  }
  return agg.report();
}

export interface AuditTable {
  title: string;
  header: string[];
  rows: string[][];
  /** Shown under the table (assumptions, caveats). */
  note?: string;
}

export interface AuditSection {
  title: string;
  /** Headline figures: label → value. */
  summary: [string, string][];
  tables: AuditTable[];
  /** Problems a reader must see (malformed lines, unpriced models). */
  warnings: string[];
}

const costCell = (row: UsageRow): string =>
  row.unpricedRequests === row.requests ? 'unpriced' : usd(row.costUsd) + (row.unpricedRequests ? ` (+${int(row.unpricedRequests)} unpriced)` : '');

const usageRows = (rows: UsageRow[], total: number, top?: number): string[][] => {
  const shown = top !== undefined ? rows.slice(0, top) : rows;
  const out = shown.map((r) => [r.key, int(r.requests), pct(total ? r.requests / total : 0), int(r.inputTokens), int(r.outputTokens), costCell(r)]);
  if (shown.length < rows.length) {
    const rest = rows.slice(shown.length);
    const n = rest.reduce((s, r) => s + r.requests, 0);
    out.push([`(${rest.length} more)`, int(n), pct(total ? n / total : 0), '', '', '']);
  }
  return out;
};

const num = (x: number | null): string => (x === null ? '—' : int(x));

/** The report as titled tables, for the console and the HTML report. `top` limits the model and use-case tables. */
export function auditSection(r: AuditReport, opts: { top?: number } = {}): AuditSection {
  const usageHeader = (first: string) => [first, 'requests', 'share', 'input tok', 'output tok', 'cost'];
  const summary: [string, string][] = [
    ['requests', int(r.requests)],
    ['malformed lines', int(r.malformed.count)],
    ['period', r.period.from ? `${r.period.from.slice(0, 10)} → ${r.period.to!.slice(0, 10)} (${(r.period.days ?? 0).toFixed(1)} days)` : 'no timestamps'],
    ['tokens', `${int(r.totals.inputTokens)} in / ${int(r.totals.outputTokens)} out`],
    ['cost', costCell(r.totals)],
    ['projected per month', r.monthlyUsd === null ? '— (needs timestamps spanning at least a day)' : usd(r.monthlyUsd)],
  ];
  const warnings: string[] = [];
  if (r.malformed.count) {
    warnings.push(
      `${int(r.malformed.count)} malformed line(s) skipped:` +
        r.malformed.first.map((m) => `\n  ${m.file}:${m.line}: ${m.problem}`).join('') +
        (r.malformed.count > r.malformed.first.length ? `\n  … and ${int(r.malformed.count - r.malformed.first.length)} more` : ''),
    );
  }
  const unpriced = r.byModel.filter((m) => m.priceSource === null);
  if (unpriced.length) {
    warnings.push(
      `unpriced model(s): ${unpriced.map((m) => m.key).join(', ')} — their cost is unknown, not zero; add them with a price to the config (models: <key>: { model: <id>, price: … })`,
    );
  }
  if (r.estimatedUsage) warnings.push(`${int(r.estimatedUsage)} request(s) had no usage in the log; their tokens are estimated at 4 characters per token`);

  const s = r.signals;
  const share = (n: number) => pct(r.requests ? n / r.requests : 0);
  const tables: AuditTable[] = [
    {
      title: 'By model',
      header: [...usageHeader('model'), 'price'],
      rows: usageRows(r.byModel, r.requests, opts.top).map((row, i) => [...row, i < (opts.top ?? Infinity) ? (r.byModel[i]?.priceSource ?? 'unpriced') : '']),
    },
    { title: 'By use case', header: usageHeader('use case'), rows: usageRows(r.byUseCase, r.requests, opts.top) },
    { title: 'By month', header: usageHeader('month'), rows: usageRows(r.byMonth, r.requests) },
    {
      title: 'Size (tokens)',
      header: ['', 'p50', 'p90', 'p99'],
      rows: [
        ['input', num(r.sizes.input.p50), num(r.sizes.input.p90), num(r.sizes.input.p99)],
        ['output', num(r.sizes.output.p50), num(r.sizes.output.p90), num(r.sizes.output.p99)],
      ],
      note: 'percentiles from a log-scale histogram, within about 1%',
    },
    {
      title: 'Complexity signals',
      header: ['signal', 'requests', 'share'],
      rows: [
        ...LENGTH_BUCKETS.map((b) => [`length ${b} (${LENGTH_BUCKET_LABELS[b]})`, int(s.length[b]), share(s.length[b])]),
        ['1 user turn', int(s.turns.one), share(s.turns.one)],
        ['2 user turns', int(s.turns.two), share(s.turns.two)],
        ['3+ user turns', int(s.turns.threePlus), share(s.turns.threePlus)],
        ['code', int(s.code), share(s.code)],
        ['structured output', int(s.structured), share(s.structured)],
        ['tools', int(s.tools), share(s.tools)],
        ['reasoning markers', int(s.reasoning), share(s.reasoning)],
        ['complexity low', int(s.complexity.low), share(s.complexity.low)],
        ['complexity medium', int(s.complexity.medium), share(s.complexity.medium)],
        ['complexity high', int(s.complexity.high), share(s.complexity.high)],
      ],
    },
  ];
  if (r.routing) {
    const p = r.routing;
    tables.push({
      title: `Routing ${p.file}`,
      header: ['tier', 'model', 'requests', 'share', 'cost today', 'cost routed'],
      rows: p.tiers.map((t) => [t.tier, t.model, int(t.requests), pct(t.share), usd(t.todayUsd), usd(t.routedUsd)]),
      note: `assumes equal token counts: ${p.assumption}`,
    });
    tables.push({ title: 'Rules', header: ['rule', 'tier', 'requests'], rows: p.rules.map((x) => [x.rule, x.tier, int(x.requests)]) });
    summary.push(
      ['today (comparable requests)', `${usd(p.todayUsd)} over ${int(p.comparableRequests)} requests${p.todayMonthlyUsd !== null ? `, ${usd(p.todayMonthlyUsd)}/month` : ''}`],
      ['routed (same token counts)', `${usd(p.routedUsd)}${p.routedMonthlyUsd !== null ? `, ${usd(p.routedMonthlyUsd)}/month` : ''}`],
      ['saving', p.savings === null ? '—' : `${usd(p.savingsUsd)} (${pct(p.savings)})`],
    );
    if (p.comparableRequests < r.requests) {
      warnings.push(`${int(r.requests - p.comparableRequests)} request(s) are left out of the routed cost comparison because their logged model or their tier model is unpriced`);
    }
  }
  return { title: 'Production log audit', summary, tables, warnings };
}

export function formatAuditReport(r: AuditReport, opts: { top?: number } = {}): string {
  const sec = auditSection(r, opts);
  const width = Math.max(...sec.summary.map(([k]) => k.length));
  const parts = [sec.title, sec.summary.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')];
  for (const t of sec.tables) parts.push(`${t.title}\n${table(t.header, t.rows)}${t.note ? `\n  (${t.note})` : ''}`);
  if (sec.warnings.length) parts.push(sec.warnings.map((w) => `warning: ${w}`).join('\n'));
  return `${parts.join('\n\n')}\n`;
}
