import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import { loadConfig } from '../src/config/load.js';
import { PRICE_STALE_AFTER_DAYS, bundledPriceTable, closePriceNames, lookupPrice, priceAgeDays } from '../src/config/prices.js';
import type { TablePrice } from '../src/config/prices.js';

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

/** Loads a config whose `models:` block is `models` (YAML text, indented two spaces). */
function load(models: string) {
  const root = mkdtempSync(join(tmpdir(), 'evalroute-prices-'));
  roots.push(root);
  const file = join(root, 'evalroute.config.yaml');
  writeFileSync(file, `# prices\nmodels:\n${models}`);
  return { file, config: () => loadConfig(file, { cwd: root, knownProviders: ['openai', 'anthropic'] }) };
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('bundled price table', () => {
  const table = bundledPriceTable();

  it('is dated and every entry has a source and sane figures', () => {
    expect(table.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(Number.isNaN(Date.parse(table.asOf))).toBe(false);
    const entries = Object.entries(table.models);
    expect(entries.length).toBeGreaterThanOrEqual(20);
    for (const [name, e] of entries) {
      expect(e.source, name).toMatch(/^https:\/\/\S+$/);
      expect(e.input, name).toBeGreaterThan(0);
      expect(e.output, name).toBeGreaterThan(0);
      // A cache read is a discount, never a surcharge.
      if (e.cachedInput !== undefined) expect(e.cachedInput, name).toBeLessThan(e.input);
      // Every entry is dated; the table's own date is its newest entry's.
      expect(e.asOf, name).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(Number.isNaN(Date.parse(e.asOf)), name).toBe(false);
      expect(e.asOf <= table.asOf, name).toBe(true);
      for (const copy of e.via ?? []) expect(copy, name).toMatch(/^https:\/\/\S+$/);
    }
    expect(table.asOf).toBe(entries.map(([, e]) => e.asOf).sort().at(-1));
  });

  it('has the models teams compare today, with the list prices the issue names', () => {
    for (const n of ['gpt-5', 'gpt-5-mini', 'gpt-5-nano', 'gpt-5.4', 'gpt-5.4-mini', 'claude-opus-4-6', 'claude-sonnet-4-6', 'gemini-3-pro-preview',
      'gemini-3-flash-preview', 'deepseek-v4-flash', 'deepseek-v4-pro', 'llama-4-maverick', 'llama-4-scout', 'qwen3.6-plus']) {
      expect(lookupPrice(n, table), n).toBeDefined();
    }
    expect(lookupPrice('claude-opus-4-6', table)?.entry).toMatchObject({ input: 5, output: 25 });
    expect(lookupPrice('deepseek-v4-flash', table)?.entry).toMatchObject({ input: 0.14, output: 0.28 });
    expect(lookupPrice('meta-llama/Llama-4-Scout-17B-16E-Instruct', table)?.name).toBe('llama-4-scout');
    // Alibaba Cloud's international list price, not a reseller's; the row says which and where it was read.
    const qwen = lookupPrice('qwen/qwen3.6-plus', table)!;
    expect([qwen.name, qwen.entry.input, qwen.entry.output]).toEqual(['qwen3.6-plus', 0.5, 3]);
    expect(qwen.entry.source).toMatch(/^https:\/\/www\.alibabacloud\.com\//);
    expect(qwen.entry.note).toMatch(/International/);
  });

  it('says how old a price is, and 90 days is the line', () => {
    const now = new Date('2026-12-03T10:00:00Z');
    expect(priceAgeDays('2026-12-03', now)).toBe(0);
    expect(priceAgeDays('2026-09-04', now)).toBe(90);
    expect(priceAgeDays('2025-11-30', now)).toBe(368);
    expect(PRICE_STALE_AFTER_DAYS).toBe(90);
  });

  it('has no name or alias that points at two entries', () => {
    const seen = new Map<string, string>();
    for (const [name, e] of Object.entries(table.models)) {
      for (const n of [name, ...(e.aliases ?? [])]) {
        expect(seen.get(n.toLowerCase()), `${n} is listed under ${seen.get(n.toLowerCase())} and ${name}`).toBeUndefined();
        seen.set(n.toLowerCase(), name);
      }
    }
  });

  it('covers the well-known models the issue names', () => {
    for (const n of ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'o3', 'o4-mini', 'gpt-4-turbo', 'gpt-4-1106-preview',
      'gpt-3.5-turbo', 'claude-opus-4-5', 'claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-3-5-sonnet', 'claude-3-haiku', 'gemini-1.5-pro',
      'gemini-1.5-flash', 'gemini-2.0-flash', 'gemini-2.5-pro', 'gemini-2.5-flash', 'mixtral-8x7b', 'llama-3.1-8b', 'llama-3.1-70b', 'deepseek-chat']) {
      expect(lookupPrice(n, table), n).toBeDefined();
    }
  });

  it('looks names up by alias and case-insensitively, returning the canonical name', () => {
    expect(lookupPrice('gpt-4-1106-preview', table)?.name).toBe('gpt-4-turbo');
    expect(lookupPrice('GPT-4o', table)?.entry.input).toBe(2.5);
    expect(lookupPrice('mistralai/Mixtral-8x7B-Instruct-v0.1', table)?.name).toBe('mixtral-8x7b');
    expect(lookupPrice('gpt-5-ultra', table)).toBeUndefined();
  });

  it('suggests close names for a near miss', () => {
    expect(closePriceNames('gpt4o', table)[0]).toBe('gpt-4o');
    expect(closePriceNames('claude-sonet-4-5', table)).toContain('claude-sonnet-4-5');
    expect(closePriceNames('zzzzzzzzzzzzzz', table)).toEqual([]);
  });
});

describe('price: in evalroute.config.yaml', () => {
  it('takes a table entry by name, with its date and source', () => {
    const { config } = load('  big: { provider: openai, model: gpt-4o, price: { table: gpt-4o } }\n');
    const price = config().models.get('big')!.price as TablePrice;
    expect(price).toMatchObject({ input: 2.5, output: 10, cachedInput: 1.25, table: 'gpt-4o', asOf: bundledPriceTable().models['gpt-4o']!.asOf, tableAsOf: bundledPriceTable().asOf });
    expect(price.source).toMatch(/openai\.com/);
    expect(price.overridden).toBeUndefined();
  });

  it('resolves an alias to the canonical entry and keeps an entry-specific date', () => {
    const { config } = load('  old: { provider: openai, model: x, price: { table: gemini-1.5-pro-002 } }\n');
    const price = config().models.get('old')!.price as TablePrice;
    expect(price.table).toBe('gemini-1.5-pro');
    expect(price.asOf).toBe(bundledPriceTable().models['gemini-1.5-pro']!.asOf);
    expect(price.tableAsOf).toBe(bundledPriceTable().asOf);
  });

  it('lets figures given beside table override the table', () => {
    const { config } = load('  big: { provider: openai, model: gpt-4o, price: { table: gpt-4o, input: 2, cachedInput: 0 } }\n');
    const price = config().models.get('big')!.price as TablePrice;
    expect(price).toMatchObject({ input: 2, output: 10, cachedInput: 0, table: 'gpt-4o' });
    expect(price.overridden?.sort()).toEqual(['cachedInput', 'input']);
  });

  it('keeps explicit prices as they were', () => {
    const { config } = load('  big: { provider: openai, model: gpt-4o, price: { input: 3, output: 4 } }\n');
    expect(config().models.get('big')!.price).toEqual({ input: 3, output: 4 });
  });

  it('rejects an unknown table name at its file:line with close names', () => {
    const { file, config } = load('  a: { provider: openai, model: a }\n  big:\n    provider: openai\n    model: gpt-4o\n    price: { table: gpt4o }\n');
    const e = configError(config);
    expect(e.location.file).toBe(file);
    expect(e.location.line).toBe(7);
    expect(e.message).toContain(`${file}:7`);
    expect(e.message).toMatch(/"gpt4o" is not in the price table/);
    expect(e.hint).toMatch(/did you mean "gpt-4o"/);
  });

  it('lists the table when nothing is close', () => {
    const e = configError(load('  big: { provider: openai, model: m, price: { table: totally-unknown-model-name } }\n').config);
    expect(e.hint).toMatch(/the table lists .*gpt-4o.*claude-haiku-4-5/);
  });

  it('requires input and output without a table', () => {
    const { file, config } = load('  big: { provider: openai, model: m, price: { input: 1 } }\n');
    const e = configError(config);
    expect(e.location).toMatchObject({ file, line: 3 });
    expect(e.message).toMatch(/needs both input and output/);
  });

  it('catches a misspelt table key with a did-you-mean hint', () => {
    const e = configError(load('  big: { provider: openai, model: m, price: { tabel: gpt-4o } }\n').config);
    expect(e.message).toMatch(/unknown key "tabel"/);
    expect(e.hint).toMatch(/did you mean "table"/);
  });
});
