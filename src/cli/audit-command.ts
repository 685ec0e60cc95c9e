import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AuditOptions } from '../audit/aggregate.js';
import { createPriceLookup } from '../audit/pricing.js';
import type { PriceMatch } from '../audit/pricing.js';
import { auditLogs, auditSection, formatAuditReport } from '../audit/report.js';
import { UsageError } from '../core/errors.js';
import type { EvalConfig } from '../core/types.js';
import { CONFIG_FILE_NAME, findConfigFile, loadConfig, loadRouting } from '../config/load.js';
import { bundledPriceTable } from '../config/prices.js';
import { renderAuditHtml } from '../report/audit-html.js';
import { writeOutputFile } from './output.js';

export interface AuditFlags {
  config?: string;
  routing?: string;
  json?: string;
  /** Self-contained HTML page of the audit ("-" for stdout). */
  html?: string;
  top?: number;
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
  if (flags.json === '-' && flags.html === '-') throw new UsageError('--json - and --html - both claim stdout\n  → write one of them to a file');
  let config: EvalConfig | undefined;
  if (flags.config || existsSync(resolve(cwd, CONFIG_FILE_NAME))) {
    config = loadConfig(findConfigFile(cwd, flags.config, cwd), { cwd });
  } else if (flags.routing) {
    throw new UsageError(`--routing needs the models of a config: no ${CONFIG_FILE_NAME} in ${cwd}\n  → pass --config FILE`);
  }
  const opts: AuditOptions = { prices: createPriceLookup(config?.models.values(), tablePrices()) };
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
  if (flags.json === '-' || flags.html === '-') process.stderr.write(text);
  else process.stdout.write(text);
  process.stderr.write(`audited ${report.requests.toLocaleString('en-US')} requests in ${secs.toFixed(1)}s\n`);
  return 0;
}
