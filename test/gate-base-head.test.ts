import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { gate, gateJson, type GateResult } from '../src/api/gate.js';
import { ConfigError } from '../src/core/errors.js';
import { openStore } from '../src/store/sqlite-store.js';

const suiteDir = resolve('suites/mmlu-pro-tiers');
const base = join(suiteDir, 'routing-specialist.yaml');
const head = join(suiteDir, 'routing-aggressive.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'evalroute-gate-'));
const db = join(tmp, 'results.db');
const categoryOf = new Map(
  readFileSync(join(suiteDir, 'cases.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { id: string; metadata: { category: string } })
    .map((c) => [c.id, c.metadata.category]),
);

let first: GateResult;
beforeAll(async () => {
  first = await gate({ suiteDir, routing: head, baseRouting: base, db, cwd: tmp, env: {} });
});

describe('evalroute gate: base routing-specialist.yaml vs head routing-aggressive.yaml on the mmlu-pro demo', () => {
  it("exits with the head's gate: 1, the cheap tier regresses", () => {
    expect(first.exitCode).toBe(1);
    const cheap = first.head.summary.tiers.find((t) => t.tier === 'cheap')!;
    expect([cheap.cases, cheap.outcome]).toEqual([280, 'fail']);
    // The base is within the margin as point estimates but not decided at this size.
    expect(first.base.outcome).toBe('inconclusive');
    expect(first.base.missing).toEqual([]);
  });

  it('reports the 140 law/chemistry/health/other cases that moved from the frontier to the cheap tier', () => {
    const m = first.moved;
    expect(m.cases).toBe(140);
    expect(m.transitions).toHaveLength(1);
    expect(m.transitions[0]).toMatchObject({ from: 'frontier', to: 'cheap', fromModel: 'gpt-4o', toModel: 'gemini-flash', cases: 140 });
    expect(m.transitions[0]!.examples).toHaveLength(5);
    const moved = Object.keys(first.base.assignment).filter((id) => first.base.assignment[id] !== first.head.results.find((r) => r.caseId === id)!.tier);
    const byCategory: Record<string, number> = {};
    for (const id of moved) byCategory[categoryOf.get(id)!] = (byCategory[categoryOf.get(id)!] ?? 0) + 1;
    expect(byCategory).toEqual({ chemistry: 35, health: 35, law: 35, other: 35 });
    // gpt-4o got 110 of them right (the frontier under base), gemini-flash 181 − 106 = 75 (README tables).
    expect(m.basePassRate).toBeCloseTo(110 / 140, 12);
    expect(m.headPassRate).toBeCloseTo(75 / 140, 12);
    expect(m.headCostPer1k!).toBeLessThan(m.baseCostPer1k!);
    expect(m.unscored).toBe(0);
  });

  it('keeps the head run as the latest stored run, and the JSON adds base and moved', () => {
    const store = openStore(db, { readonly: true });
    try {
      expect(store.listRuns(1)[0]!.id).toBe(first.head.runId);
      expect(store.listRuns(10).map((r) => r.routingFile)).toEqual([head, base]);
    } finally {
      store.close();
    }
    const json = gateJson(first);
    expect(json.runId).toBe(first.head.runId);
    expect(json.tiers).toEqual(first.head.summary.tiers);
    expect(json.moved.cases).toBe(140);
    expect(json.base.tiers.map((t) => [t.tier, t.outcome])).toEqual([['cheap', 'inconclusive'], ['mid', 'inconclusive'], ['frontier', 'pass']]);
    expect('assignment' in json.base).toBe(false);
  });

  it('offline: replays both sides from the store with the same verdicts', async () => {
    const again = await gate({ suiteDir, routing: head, baseRouting: base, db, cwd: tmp, env: {}, offline: true });
    expect(again.exitCode).toBe(1);
    expect(again.head.summary.tiers).toEqual(first.head.summary.tiers);
    expect(again.moved).toEqual(first.moved);
    expect(again.head.summary.models.every((m) => m.errors === 0)).toBe(true);
  });

  it('a missing base routing file is bad input (exit 2)', async () => {
    const err = await gate({ suiteDir, routing: head, baseRouting: join(tmp, 'nope.yaml'), db, cwd: tmp, env: {}, offline: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
    const store = openStore(db, { readonly: true });
    try {
      expect(store.listRuns(100)).toHaveLength(3); // base fill, head, offline head: nothing new
    } finally {
      store.close();
    }
  });
});
