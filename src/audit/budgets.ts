/**
 * Budgets from the gateway's own logs: each use case's month-to-date frontier tokens and spend against
 * the `budgets:` of a routing file, the practice of alerting at 70% of a use case's monthly frontier
 * budget before the bill arrives. The same judgement as the gate's projected budgets (gate/cost.ts), on
 * measured figures instead of a projection.
 *
 * A request counts for its use case (`metadata.useCase`, LiteLLM: a `useCase:<name>` request tag too);
 * its frontier tokens count when the baseline model served it; its spend is what the gateway logged
 * (LiteLLM `spend`), else its tokens at the configured or bundled price.
 */
import { callCost } from '../core/cost.js';
import type { BudgetStatus, ModelConfig, Routing } from '../core/types.js';
import { judgeBudgets } from '../gate/cost.js';
import { useCaseOf } from './aggregate.js';
import type { LogRecord } from './log-record.js';
import type { PriceLookup } from './pricing.js';
import { isModelVersionOf } from './pricing.js';
import { readLogRecords } from './read-logs.js';
import type { MalformedLine } from './read-logs.js';
import { byCodeUnits } from '../core/compare.js';
import { int } from '../core/format.js';

export interface BudgetAuditOptions {
  routing: Pick<Routing, 'baseline' | 'budgets'>;
  models: ReadonlyMap<string, ModelConfig>;
  prices: PriceLookup;
  /** The moment month-to-date ends (default now); the month is its UTC calendar month. */
  asOf: Date;
}

export interface UseCaseSpend {
  useCase: string;
  requests: number;
  frontierRequests: number;
  frontierTokens: number;
  /** null when a request's spend is neither logged nor priceable. */
  usd: number | null;
  unpricedModels: string[];
}

export interface BudgetAudit {
  /** `YYYY-MM` of the month audited. */
  month: string;
  from: string;
  asOf: string;
  /** Requests in the month up to asOf. */
  requests: number;
  /** Lines with no readable timestamp: they cannot be placed in a month and are not counted. */
  undated: number;
  /** Requests of other months (or after asOf). */
  outside: number;
  malformed: number;
  firstMalformed: MalformedLine[];
  useCases: UseCaseSpend[];
  budgets: BudgetStatus[];
  /** 1 when a budget is over 100%, else 0. */
  exitCode: 0 | 1;
}

export async function auditBudgets(files: readonly string[], opts: BudgetAuditOptions): Promise<BudgetAudit> {
  const to = opts.asOf.getTime();
  const monthStart = Date.UTC(opts.asOf.getUTCFullYear(), opts.asOf.getUTCMonth(), 1);
  const isFrontier = frontierMatcher(opts.routing.baseline, opts.models);
  const byUseCase = new Map<string, UseCaseSpend>();
  const audit = { requests: 0, undated: 0, outside: 0, malformed: 0, firstMalformed: [] as MalformedLine[] };
  for await (const entry of readLogRecords(files)) {
    if (!entry.ok) {
      audit.malformed++;
      if (audit.firstMalformed.length < 10) audit.firstMalformed.push(entry.malformed);
      continue;
    }
    const r = entry.record;
    if (r.timestamp === undefined) {
      audit.undated++;
      continue;
    }
    if (r.timestamp < monthStart || r.timestamp > to) {
      audit.outside++;
      continue;
    }
    audit.requests++;
    const useCase = useCaseOf(r);
    const row = byUseCase.get(useCase) ?? { useCase, requests: 0, frontierRequests: 0, frontierTokens: 0, usd: 0, unpricedModels: [] };
    byUseCase.set(useCase, row);
    row.requests++;
    if (isFrontier(r)) {
      row.frontierRequests++;
      row.frontierTokens += r.usage.input + r.usage.output;
    }
    const usd = r.loggedCostUsd ?? callCost(r.usage, opts.prices(r.model)?.price);
    if (usd === undefined) {
      if (!row.unpricedModels.includes(r.model)) row.unpricedModels.push(r.model);
      row.usd = null;
    } else if (row.usd !== null) row.usd += usd;
  }

  const month = new Date(monthStart).toISOString().slice(0, 7);
  const budgets = judgeBudgets(
    opts.routing.budgets,
    {
      figuresOf: (useCase) => {
        const u = byUseCase.get(useCase);
        return u && { usd: u.usd, frontierTokens: u.frontierTokens };
      },
      measured: (figure, useCase) => `month-to-date ${figure} (${month}, ${int(byUseCase.get(useCase)!.requests)} requests)`,
      unit: '',
      missing: `no request of ${month} has this use case (metadata.useCase, or a LiteLLM request tag useCase:<name>)`,
      unpriced: 'some requests have neither a logged spend nor a known price',
    },
  );
  return {
    month,
    from: new Date(monthStart).toISOString(),
    asOf: opts.asOf.toISOString(),
    ...audit,
    useCases: [...byUseCase.values()].sort((a, b) => byCodeUnits(a.useCase, b.useCase)),
    budgets,
    exitCode: budgets.some((b) => b.status === 'fail') ? 1 : 0,
  };
}

/**
 * Whether the baseline served a logged request. Gateways log the backend id (`gpt-4.1-2025-04-14`,
 * `azure/gpt-4`) and LiteLLM the public name as `model_group`: any of them naming the baseline's key, its
 * model id or, for a load-balanced baseline, one of its deployments counts.
 */
function frontierMatcher(baseline: string, models: ReadonlyMap<string, ModelConfig>): (r: LogRecord) => boolean {
  const m = models.get(baseline);
  const names = [baseline, ...(m ? [m.model] : []), ...(m?.deployments ?? []).flatMap((d) => [d.model.key, d.model.model])];
  return (r) => [r.model, r.requestedModel].some((logged) => logged !== undefined && names.some((n) => logged.toLowerCase() === n.toLowerCase() || isModelVersionOf(logged, n)));
}

const STATUS_MARK: Record<BudgetStatus['status'], string> = { ok: 'ok  ', warn: 'WARN', fail: 'OVER', 'not-evaluated': ' —  ' };

/** The console page: the month's spend per use case, then one line per budget, worst first. */
export function formatBudgetAudit(a: BudgetAudit): string {
  const out = [`Budgets, month to date: ${a.month} (${a.from.slice(0, 10)} → ${a.asOf.slice(0, 16).replace('T', ' ')} UTC), ${int(a.requests)} requests`];
  const skipped = [
    a.undated ? `${int(a.undated)} without a timestamp` : '',
    a.outside ? `${int(a.outside)} outside the month` : '',
    a.malformed ? `${int(a.malformed)} malformed (first: ${a.firstMalformed[0]!.file}:${a.firstMalformed[0]!.line}: ${a.firstMalformed[0]!.problem})` : '',
  ].filter(Boolean);
  if (skipped.length) out.push(`not counted: ${skipped.join('; ')}`);
  out.push('');
  for (const u of a.useCases) {
    const usd = u.usd === null ? `unpriced (${u.unpricedModels.join(', ')})` : `$${u.usd.toFixed(2)}`;
    out.push(`  ${u.useCase}: ${int(u.requests)} requests, ${int(u.frontierRequests)} on the frontier model, ${int(u.frontierTokens)} frontier tokens, ${usd}`);
  }
  out.push('');
  const order: BudgetStatus['status'][] = ['fail', 'warn', 'not-evaluated', 'ok'];
  for (const b of [...a.budgets].sort((x, y) => order.indexOf(x.status) - order.indexOf(y.status))) out.push(`${STATUS_MARK[b.status]} ${b.useCase}: ${b.message}`);
  const over = a.budgets.filter((b) => b.status === 'fail').length;
  const warned = a.budgets.filter((b) => b.status === 'warn').length;
  out.push('', over ? `${over} budget${over === 1 ? '' : 's'} over 100%` : warned ? `${warned} budget${warned === 1 ? '' : 's'} at or above the alert level` : 'every budget within its alert level');
  return `${out.join('\n')}\n`;
}
