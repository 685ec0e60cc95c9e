import { resolve } from 'node:path';
import { findConfigFile, loadConfig } from '../config/load.js';
import { table } from '../report/format.js';
import { apiKeyEnvOf } from '../providers/shared.js';


/** `evalroute models`: the resolved models — provider, base URL, key variable (never the key), price. */
export function modelsCommand(opts: { config?: string; json?: boolean }): number {
  const cwd = process.cwd();
  const config = loadConfig(findConfigFile(cwd, opts.config && resolve(cwd, opts.config), cwd), { cwd });
  const rows = [...config.models.values()].map((m) => ({
    key: m.key,
    provider: m.provider,
    model: m.model,
    baseURL: m.baseURL ?? (m.provider === 'recorded' ? m.path : 'default'),
    apiKeyEnv: apiKeyEnvOf(m) ?? null,
    price: m.price ?? null,
    concurrency: m.concurrency,
  }));
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  const price = (p: (typeof rows)[number]['price']) =>
    p ? `$${p.input} / $${p.output}${p.cachedInput !== undefined ? ` (cached $${p.cachedInput})` : ''}` : 'unpriced';
  process.stdout.write(`${config.file}\n\n`);
  process.stdout.write(
    `${table(
      ['model', 'provider', 'model id', 'base URL / recording', 'key from', 'price per 1M in / out', 'concurrency'],
      rows.map((r) => [r.key, r.provider, r.model, r.baseURL ?? '', r.apiKeyEnv ? `$${r.apiKeyEnv}` : '—', price(r.price), String(r.concurrency)]),
    )}\n`,
  );
  return 0;
}
