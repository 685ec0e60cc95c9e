import type { Price, TokenUsage } from './types.js';

/**
 * USD cost of one call. `undefined` means "unpriced": callers must show it as unknown, never as zero,
 * because a free-looking model would make any routing look like a saving.
 */
export function callCost(usage: TokenUsage, price: Price | undefined): number | undefined {
  if (!price) return undefined;
  const cached = Math.min(usage.cachedInput ?? 0, usage.input);
  const cachedRate = price.cachedInput ?? price.input;
  return ((usage.input - cached) * price.input + cached * cachedRate + usage.output * price.output) / 1_000_000;
}

/** Sum that stays `null` as soon as one part is unpriced. */
export function sumCosts(costs: Iterable<number | null | undefined>): number | null {
  let total = 0;
  for (const c of costs) {
    if (c === null || c === undefined) return null;
    total += c;
  }
  return total;
}

/** OpenAI's Batch API and Anthropic's Message Batches both charge half the list price. */
export const BATCH_PRICE_FACTOR = 0.5;

/** The price a batch completion is costed at: pass it to `callCost` instead of the model's price. */
export function batchPrice(price: Price | undefined): Price | undefined {
  if (!price) return undefined;
  return {
    input: price.input * BATCH_PRICE_FACTOR,
    output: price.output * BATCH_PRICE_FACTOR,
    ...(price.cachedInput !== undefined ? { cachedInput: price.cachedInput * BATCH_PRICE_FACTOR } : {}),
  };
}
