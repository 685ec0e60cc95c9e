import { resolve } from 'node:path';
import { findConfigFile, loadConfig } from '../config/load.js';
import { projectRoots } from '../config/files.js';
import { PRICE_STALE_AFTER_DAYS, priceAgeDays } from '../config/prices.js';
import { table } from '../report/format.js';
import { apiKeyEnvOf } from '../providers/shared.js';
import { redact } from '../core/redact.js';

/**
 * `evalroute models`: the resolved models — provider, base URL, key variable (never the key), price, and
 * for a list price from the bundled table its date, flagged when older than 90 days.
 */
export function modelsCommand(opts: { config?: string; json?: boolean; allowPath?: string[] }): number {
  const cwd = process.cwd();
  const now = new Date();
  const config = loadConfig(findConfigFile(cwd, opts.config && resolve(cwd, opts.config), cwd), { cwd, roots: projectRoots(cwd, opts.allowPath) });
  // What an imported gateway config holds that evalroute skipped: one line each, never fatal here.
  for (const line of config.warnings ?? []) process.stderr.write(`warning: ${line}\n`);
  const rows = [...config.models.values()].map((m) => ({
    key: m.key,
    provider: m.provider,
    model: m.model,
    baseURL: m.baseURL !== undefined ? redact(m.baseURL) : (m.baseURLEnv ? `$${m.baseURLEnv}` : m.provider === 'recorded' ? m.path : m.deployments ? m.deployments.map((d) => `${d.weight}×${d.model.key}`).join(' + ') : 'default'),
    apiKeyEnv: apiKeyEnvOf(m) ?? null,
    price: m.price ?? null,
    ...priceDate(m.price, now),
    concurrency: m.concurrency,
    ...(m.deployments ? { deployments: m.deployments.map((d) => ({ model: d.model.key, weight: d.weight })) } : {}),
  }));
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  const price = (p: (typeof rows)[number]['price']) =>
    p ? `$${p.input} / $${p.output}${p.cachedInput !== undefined ? ` (cached $${p.cachedInput})` : ''}` : 'unpriced';
  const dated = (r: (typeof rows)[number]) =>
    r.priceAsOf === undefined ? (r.price ? 'config' : '—') : `${r.priceAsOf}${r.priceStale ? ` ⚠ ${r.priceAgeDays} days old` : ''}`;
  process.stdout.write(`${config.file}\n\n`);
  process.stdout.write(
    `${table(
      ['model', 'provider', 'model id', 'base URL / recording', 'key from', 'price per 1M in / out', 'price as of', 'concurrency'],
      rows.map((r) => [r.key, r.provider, r.model, r.baseURL ?? '', r.apiKeyEnv ? `$${r.apiKeyEnv}` : '—', price(r.price), dated(r), String(r.concurrency)]),
    )}\n`,
  );
  const stale = rows.filter((r) => r.priceStale);
  if (stale.length) {
    process.stdout.write(
      `\n⚠ list prices older than ${PRICE_STALE_AFTER_DAYS} days (${stale.map((r) => r.key).join(', ')}) may have changed: check the source ` +
        `(evalroute models --json shows it) and override with price: { table: …, input: …, output: … } if so\n`,
    );
  }
  return 0;
}

/** Date and age of a price taken from the bundled table; prices written in the config carry no date. */
function priceDate(price: unknown, now: Date): { priceAsOf?: string; priceAgeDays?: number; priceStale?: boolean } {
  const asOf = (price as { asOf?: unknown } | undefined)?.asOf;
  if (typeof asOf !== 'string') return {};
  const age = priceAgeDays(asOf, now);
  return { priceAsOf: asOf, priceAgeDays: age, priceStale: age > PRICE_STALE_AFTER_DAYS };
}
