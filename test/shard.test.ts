import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/core/errors.js';
import { checkShard, inShard, parseShard, shardOf } from '../src/engine/shard.js';

describe('parseShard', () => {
  it('reads 1-based i/n', () => {
    expect(parseShard('1/4', 1000)).toEqual({ index: 1, count: 4 });
    expect(parseShard('4/4', 1000)).toEqual({ index: 4, count: 4 });
    expect(parseShard(' 2 / 3 ', 1000)).toEqual({ index: 2, count: 3 });
    expect(parseShard('1/1', 1000)).toEqual({ index: 1, count: 1 });
  });

  it.each(['0/4', '5/4', '1/0', '2', '1/2/3', 'a/b', '-1/4', '1.5/4', '', '1/'])('rejects %j with a usage error that shows the form', (text) => {
    let err: unknown;
    try {
      parseShard(text, 1000);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain(`"${text}"`);
    expect((err as Error).message).toMatch(/i\/n.*1-based/);
  });

  it('bounds n: 1000/1000 is a shard, 1/1001 and 1/1e15 are usage errors naming the bound', () => {
    expect(parseShard('1000/1000', 1000)).toEqual({ index: 1000, count: 1000 });
    for (const text of ['1/1001', '1/1000000000000000']) {
      expect(() => parseShard(text, 1000)).toThrow(UsageError);
      expect(() => parseShard(text, 1000)).toThrow(`--shard "${text}": at most 1000 shards`);
    }
  });

  it('checkShard refuses a library caller\'s shard object past the bound or malformed', () => {
    expect(() => checkShard({ index: 1, count: 4 }, 1000)).not.toThrow();
    expect(() => checkShard({ index: 1, count: 5000 }, 1000)).toThrow(/at most 1000 shards/);
    expect(() => checkShard({ index: 0, count: 4 }, 1000)).toThrow(/"0\/4" is not a valid shard/);
  });
});

describe('inShard', () => {
  const ids = Array.from({ length: 2000 }, (_, i) => `case-${i}`);

  it('puts every case in exactly one of n shards, for several n', () => {
    for (const count of [1, 2, 3, 4, 7]) {
      const owners = ids.map((id) => Array.from({ length: count }, (_, i) => i + 1).filter((index) => inShard(id, { index, count })));
      expect(owners.every((o) => o.length === 1)).toBe(true);
    }
  });

  it('spreads cases roughly evenly', () => {
    const sizes = [1, 2, 3, 4].map((index) => ids.filter((id) => inShard(id, { index, count: 4 })).length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(ids.length);
    for (const s of sizes) expect(s).toBeGreaterThan(ids.length * 0.2);
  });

  it('depends only on the case id: growing or reordering the suite moves no existing case', () => {
    const before = new Map(ids.map((id) => [id, shardOf(id, 4)]));
    const grown = [...ids, ...Array.from({ length: 500 }, (_, i) => `new-${i}`)].reverse();
    for (const id of grown) if (before.has(id)) expect(shardOf(id, 4)).toBe(before.get(id));
  });

  it('is the sha256 bucket, so every machine and version agrees', () => {
    // sha256("c000") starts with 2406b24f… (computed independently with sha256sum).
    expect(shardOf('c000', 1_000_000_007)).toBe(0x2406b24f % 1_000_000_007);
  });
});
