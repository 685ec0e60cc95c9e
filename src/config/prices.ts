/**
 * The bundled, dated price table (price-table.json) and the `price:` key of a model, which either gives
 * the prices itself or names a table entry and optionally overrides some of its figures:
 *
 *   price: { input: 2.5, output: 10 }            # own prices, USD per 1M tokens
 *   price: { table: gpt-4o }                     # the table's list price
 *   price: { table: gpt-4o, cachedInput: 0 }     # the table's price with one figure overridden
 *
 * A table price is never applied implicitly from the model id: a model without `price:` stays unpriced,
 * so a stale table entry can never silently price a run the user did not ask to price.
 */
import { readFileSync } from 'node:fs';
import { byCodeUnits } from '../core/compare.js';
import { ConfigError } from '../core/errors.js';
import type { SourceLocation } from '../core/errors.js';
import type { Price } from '../core/types.js';
import { editDistance } from './source.js';
import { codeFile } from '../core/package-files.js';

export interface PriceTableEntry extends Price {
  /** Where the figures come from (the provider's pricing page or announcement). */
  source: string;
  /** Copies of `source` the figures were read from, when not read from the provider's page itself. */
  via?: string[];
  aliases?: string[];
  /**
   * Date the figures apply to (YYYY-MM-DD): when they were read from the source, or for a retired
   * model the date its last price took effect. Every entry has one, so a stale price shows its age.
   */
  asOf: string;
  note?: string;
}

/** A list price this many days old may have changed: `evalroute models` flags it. */
export const PRICE_STALE_AFTER_DAYS = 90;

/** Whole days from `asOf` (YYYY-MM-DD, UTC) to `now`. */
export function priceAgeDays(asOf: string, now: Date): number {
  return Math.floor((now.getTime() - Date.parse(`${asOf}T00:00:00Z`)) / 86_400_000);
}

export interface PriceTable {
  /** The table's version: its newest entry's date (YYYY-MM-DD). */
  asOf: string;
  models: Record<string, PriceTableEntry>;
}

/** A price taken from the table: the figures plus where they came from, carried into reports. */
export interface TablePrice extends Price {
  /** Table entry name (the canonical one, even when the config used an alias). */
  table: string;
  /** Date the figures apply to: the entry's own date, else the table's. */
  asOf: string;
  /** The table's own date (its version). */
  tableAsOf: string;
  source: string;
  /** Figures the config overrode. */
  overridden?: (keyof Price)[];
}

/** The `price:` value of a model as the schema accepts it. */
export interface PriceSpec {
  table?: string | undefined;
  input?: number | undefined;
  output?: number | undefined;
  cachedInput?: number | undefined;
}

let bundled: PriceTable | undefined;

/** The table shipped with evalroute; read on first use (copy-assets puts it beside the compiled file). */
export function bundledPriceTable(): PriceTable {
  bundled ??= JSON.parse(readFileSync(codeFile('config/price-table.json'), 'utf8')) as PriceTable;
  return bundled;
}

/** The entry for a name or alias, case-insensitively; `name` is the canonical entry name. */
export function lookupPrice(name: string, table: PriceTable = bundledPriceTable()): { name: string; entry: PriceTableEntry } | undefined {
  const want = name.trim().toLowerCase();
  for (const [key, entry] of Object.entries(table.models)) {
    if (key.toLowerCase() === want || entry.aliases?.some((a) => a.toLowerCase() === want)) return { name: key, entry };
  }
  return undefined;
}

/** Up to `max` table names (canonical or alias) that look like `name`: substrings either way, or a few edits away. */
export function closePriceNames(name: string, table: PriceTable = bundledPriceTable(), max = 5): string[] {
  const want = name.trim().toLowerCase();
  const scored: [string, number][] = [];
  for (const [key, entry] of Object.entries(table.models)) {
    let best = Infinity;
    for (const candidate of [key, ...(entry.aliases ?? [])]) {
      const c = candidate.toLowerCase();
      const d = c.includes(want) || want.includes(c) ? Math.abs(c.length - want.length) / 100 : editDistance(want, c);
      best = Math.min(best, d);
    }
    if (best < 1 || best <= Math.max(2, Math.floor(want.length / 3))) scored.push([key, best]);
  }
  return scored
    .sort((a, b) => a[1] - b[1] || byCodeUnits(a[0], b[0]))
    .slice(0, max)
    .map(([k]) => k);
}

/**
 * The model's price from its `price:` value. `where(path)` locates a key under the price (e.g. `['table']`)
 * so errors name the file and line.
 */
export function resolvePrice(
  spec: PriceSpec,
  modelKey: string,
  where: (path: string[]) => SourceLocation,
  table: PriceTable = bundledPriceTable(),
): Price | TablePrice {
  const own: Partial<Price> = {};
  for (const k of ['input', 'output', 'cachedInput'] as const) {
    const v = spec[k];
    if (v !== undefined) own[k] = v;
  }
  if (spec.table === undefined) {
    if (own.input === undefined || own.output === undefined) {
      throw new ConfigError(
        where([]),
        `price of model "${modelKey}" needs both input and output (USD per 1M tokens), or a price table entry`,
        'write price: { input: 2.5, output: 10 }, or price: { table: gpt-4o } to use the bundled list price',
      );
    }
    return own as Price;
  }
  const found = lookupPrice(spec.table, table);
  if (!found) {
    const close = closePriceNames(spec.table, table);
    throw new ConfigError(
      where(['table']),
      `model "${modelKey}": "${spec.table}" is not in the price table (as of ${table.asOf})`,
      close.length
        ? `did you mean ${close.map((n) => `"${n}"`).join(', ')}? Or give the prices yourself: price: { input: …, output: … }`
        : `the table lists ${Object.keys(table.models).join(', ')}; for another model give the prices yourself: price: { input: …, output: … }`,
    );
  }
  const { entry } = found;
  const overridden = (Object.keys(own) as (keyof Price)[]).filter((k) => own[k] !== entry[k]);
  const cachedInput = own.cachedInput ?? entry.cachedInput;
  const price: TablePrice = {
    input: own.input ?? entry.input,
    output: own.output ?? entry.output,
    ...(cachedInput !== undefined ? { cachedInput } : {}),
    table: found.name,
    asOf: entry.asOf,
    tableAsOf: table.asOf,
    source: entry.source,
    ...(overridden.length ? { overridden } : {}),
  };
  return price;
}
