/**
 * Splitting a suite across CI jobs (`--shard i/n`). A case's shard depends only on its id, never on its
 * position in cases.jsonl, so adding or removing cases moves no other case to another shard: a shard's
 * response cache stays warm as the suite grows, and the union of all shards is always the whole suite.
 */
import { seededUint32 } from '../core/seeded.js';
import { UsageError } from '../core/errors.js';

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

const SHARD = /^\s*(\d+)\s*\/\s*(\d+)\s*$/;

/**
 * Parses `i/n` (1 ≤ i ≤ n ≤ `maxShards`); anything else is a UsageError saying what a valid value looks
 * like. More shards than CI jobs anyone runs is a typo (or a hostile value), not a plan.
 */
export function parseShard(text: string, maxShards: number): Shard {
  const m = SHARD.exec(text);
  const shard = { index: m ? Number(m[1]) : NaN, count: m ? Number(m[2]) : NaN };
  checkShard(shard, maxShards, text);
  return shard;
}

/** Throws a UsageError unless `shard` is i/n with whole numbers 1 ≤ i ≤ n ≤ `maxShards`. */
export function checkShard(shard: Shard, maxShards: number, given = `${shard.index}/${shard.count}`): void {
  const { index, count } = shard;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index < 1 || index > count) {
    throw new UsageError(
      `--shard "${given}" is not a valid shard: expected i/n with 1 ≤ i ≤ n (1-based), e.g. --shard 2/4\n` +
        '  → in a GitHub Actions matrix use shard: [1, 2, 3, 4] and --shard ${{ matrix.shard }}/4',
    );
  }
  if (count > maxShards) {
    throw new UsageError(`--shard "${given}": at most ${maxShards} shards (n ≤ ${maxShards})\n  → split the suite into fewer shards`);
  }
}

/** The 0-based shard bucket of a case id: the first 32 bits (8 hex digits) of its sha256, modulo `count`. */
export function shardOf(caseId: string, count: number): number {
  return seededUint32(caseId) % count;
}

export function inShard(caseId: string, shard: Shard): boolean {
  return shardOf(caseId, shard.count) === shard.index - 1;
}
