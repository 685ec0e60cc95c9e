/**
 * How a call consults the response cache under each cache mode (engine/run-cases.ts cachedAnswer): the
 * run's calls and the judge's both go through it.
 */
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../src/core/errors.js';
import type { Completion } from '../src/core/types.js';
import { cachedAnswer } from '../src/engine/run-cases.js';

const stored: Completion = { text: 'four', usage: { input: 3, output: 1 }, latencyMs: 5, cached: true };

function storeWith(entries: Record<string, Completion>) {
  const looked: string[] = [];
  return {
    looked,
    findCachedCompletion: (hash: string) => {
      looked.push(hash);
      return entries[hash];
    },
  };
}

describe('cachedAnswer', () => {
  it('use: gives the stored answer, or undefined so the API is asked', () => {
    const store = storeWith({ h1: stored });
    expect(cachedAnswer(store, 'use', 'h1', () => 'unused')).toBe(stored);
    expect(cachedAnswer(store, 'use', 'h2', () => 'unused')).toBeUndefined();
  });

  it('refresh (--no-cache): never reads the cache', () => {
    const store = storeWith({ h1: stored });
    expect(cachedAnswer(store, 'refresh', 'h1', () => 'unused')).toBeUndefined();
    expect(store.looked).toEqual([]);
  });

  it('offline: a hit is used, a miss is an offline_miss error naming the call', () => {
    const store = storeWith({ h1: stored });
    expect(cachedAnswer(store, 'offline', 'h1', () => 'unused')).toBe(stored);
    let err: unknown;
    try {
      cachedAnswer(store, 'offline', 'h2', () => 'no cached response for case "c7"');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'offline_miss', retryable: false, message: 'no cached response for case "c7"' });
  });
});
