import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AuditOptions } from '../audit/aggregate.js';
import { auditBudgets, formatBudgetAudit } from '../audit/budgets.js';
import { createPriceLookup } from '../audit/pricing.js';
import type { PriceLookup, PriceMatch } from '../audit/pricing.js';
import { auditLogs, auditSection, formatAuditReport } from '../audit/report.js';
import { UsageError } from '../core/errors.js';
import type { EvalConfig } from '../core/types.js';
import { CONFIG_FILE_NAME, findConfigFile, loadConfig, loadRouting } from '../config/load.js';
import { projectRoots } from '../config/files.js';
import { bundledPriceTable } from '../config/prices.js';
import { renderAuditHtml } from '../report/audit-html.js';
import { textStream, writeOutputFile } from './output.js';
import { int } from '../core/format.js';

export interface AuditFlags {
  allowPath?: string[];
  config?: string;
  routing?: string;
  json?: string;
  /** Self-contained HTML page of the audit ("-" for stdout). */
  html?: string;
  top?: number;
  /** Routing file whose budgets: the month-to-date logs are checked against. */
  budgets?: string;
  asOf?: string;
}

/** Every bundled table entry and alias, so a logged id such as `gpt-4o-2024-08-06` finds its list price. */
function tablePrices(): [string, PriceMatch][] {
  const table = bundledPriceTable();
  const out: [string, PriceMatch][] = [];
  for (const [name, e] of Object.entries(table.models)) {
    const price = { input: e.input, output: e.output, ...(e.cachedInput !== undefined ? { cachedInput: e.cachedInput } : {}) };
    const match = { price, source: `table:${name} (${e.asOf})` };
    for (const id of [name, ...(e.aliases ?? [])]) out.push([id, match]);
  }
  return out;
}

/**
 * `evalroute audit`: the config is optional (its prices win over the bundled table); with a routing
 * file (--routing, else the config's routing:) the traffic is also split across tiers and re-priced.
 */
export async function auditCommand(logs: string[], flags: AuditFlags): Promise<number> {
  const cwd = process.cwd();
  const textOut = textStream({ '--json': flags.json, '--html': flags.html });
  let config: EvalConfig | undefined;
  if (flags.config || existsSync(resolve(cwd, CONFIG_FILE_NAME))) {
    config = loadConfig(findConfigFile(cwd, flags.config, cwd), { cwd, roots: projectRoots(cwd, flags.allowPath) });
  } else if (flags.routing) {
    throw new UsageError(`--routing needs the models of a config: no ${CONFIG_FILE_NAME} in ${cwd}\n  → pass --config FILE`);
  }
  const prices = createPriceLookup(config?.models.values(), tablePrices());
  if (flags.budgets) return budgetsCommand(logs, flags.budgets, flags, prices, config, cwd);
  const opts: AuditOptions = { prices };
  const routingFile = flags.routing ? resolve(cwd, flags.routing) : config?.routing;
  if (config && routingFile) opts.routing = { routing: loadRouting(routingFile, config), models: config.models };

  const files = logs.map((f) => resolve(cwd, f));
  const started = Date.now();
  const report = await auditLogs(files, opts);
  const secs = (Date.now() - started) / 1000;

  const top = flags.top !== undefined ? { top: flags.top } : {};
  if (flags.json) writeOutputFile(flags.json, `${JSON.stringify(report, null, 2)}\n`);
  if (flags.html) writeOutputFile(flags.html, renderAuditHtml(auditSection(report, top), { source: logs.join(', ') }));
  const text = formatAuditReport(report, top);
  textOut.write(text);
  process.stderr.write(`audited ${int(report.requests)} requests in ${secs.toFixed(1)}s\n`);
  return 0;
}

/** `evalroute audit --budgets routing.yaml`: month-to-date use-case budgets from the gateway's logs; exit 1 over 100%. */
async function budgetsCommand(logs: string[], routingFile: string, flags: AuditFlags, prices: PriceLookup, config: EvalConfig | undefined, cwd: string): Promise<number> {
  if (!config) throw new UsageError(`--budgets needs the models of a config (which one is the frontier baseline): no ${CONFIG_FILE_NAME} in ${cwd}\n  → pass --config FILE`);
  const asOf = flags.asOf === undefined ? new Date() : new Date(flags.asOf);
  if (Number.isNaN(asOf.getTime())) throw new UsageError(`--as-of "${flags.asOf}" is not a date\n  → use an ISO date such as 2026-12-03 or 2026-12-03T12:00:00Z`);
  const routing = loadRouting(resolve(cwd, routingFile), config);
  if (routing.budgets.length === 0) {
    throw new UsageError(`${routing.file} has no budgets:\n  → add e.g. budgets: [{ useCase: support, frontierTokensPerMonth: 2000000, alertAt: 0.7 }]`);
  }
  const audit = await auditBudgets(
    logs.map((f) => resolve(cwd, f)),
    { routing, models: config.models, prices, asOf },
  );
  if (flags.json) writeOutputFile(flags.json, `${JSON.stringify(audit, null, 2)}\n`);
  textStream({ '--json': flags.json }).write(formatBudgetAudit(audit));
  return audit.exitCode;
}
