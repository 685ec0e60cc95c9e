import Database from 'better-sqlite3';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type RunResult } from '../src/api/run.js';
import { simulate, type SimulateResult } from '../src/api/simulate.js';
import { suggest, type SuggestResult } from '../src/api/suggest.js';
import type { Provider, ProviderFactory } from '../src/core/types.js';
import { providerRegistry, registerProvider } from '../src/providers/registry.js';

const suiteDir = resolve('suites/mmlu-pro-tiers');
const tmp = mkdtempSync(join(tmpdir(), 'evalroute-simulate-'));
const db = join(tmp, 'results.db');
const allFlash = join(tmp, 'routing-all-flash.yaml');
const routings = [join(suiteDir, 'routing-specialist.yaml'), join(suiteDir, 'routing-aggressive.yaml'), allFlash];

// Counts every completion the recorded provider is asked for: registering a provider type is the
// project's own extension point, so this wraps the real replay without mocking any module.
let completions = 0;
const recorded = providerRegistry.get('recorded')!;
const counting: ProviderFactory = (model, ctx) => {
  const inner = recorded(model, ctx);
  return {
    key: inner.key,
    identity: inner.identity,
    complete: (req, signal) => {
      completions++;
      return inner.complete(req, signal);
    },
  } satisfies Provider;
};

const runs: RunResult[] = [];
let sim: SimulateResult;
const responseRows = () => {
  const conn = new Database(db, { readonly: true });
  try {
    return (conn.prepare('select count(*) n from responses').get() as { n: number }).n;
  } finally {
    conn.close();
  }
};

beforeAll(async () => {
  registerProvider('recorded', counting);
  writeFileSync(
    allFlash,
    [
      'baseline: gpt-4o',
      'tiers:',
      '  cheap:    { model: gemini-flash, gate: { minPassRate: 0.6, maxRegression: 0.05 } }',
      '  frontier: { model: gpt-4o }',
      'rules:',
      '  - { name: everything, tier: cheap }',
      '',
    ].join('\n'),
  );
  for (const routing of routings) runs.push(await run({ suiteDir, routing, db, cwd: tmp, env: {} }));
  // 735 calls for routing-specialist.yaml; then only the 140 and 210 gemini-flash answers not stored yet.
  expect(completions).toBe(735 + 140 + 210);
  completions = 0;
  const rows = responseRows();
  sim = await simulate({ suiteDir, routings, db, cwd: tmp });
  expect(responseRows()).toBe(rows);
});
afterAll(() => {
  registerProvider('recorded', recorded);
});

describe('simulate on the mmlu-pro-tiers demo', () => {
  it('makes no provider call and writes nothing', () => {
    expect(completions).toBe(0);
    expect(sim.exitCode).toBe(0);
    expect(sim.routings.every((r) => r.missing.length === 0)).toBe(true);
  });

  it('gives exactly the per-tier verdicts of a run of the same routing file', () => {
    expect(runs.map((r) => r.exitCode)).toEqual([4, 1, 1]);
    sim.routings.forEach((score, i) => {
      const ran = runs[i]!.summary.tiers;
      expect(score.tiers.map((t) => t.tier)).toEqual(ran.map((t) => t.tier));
      score.tiers.forEach((t, j) => {
        const r = ran[j]!;
        for (const k of ['cases', 'passRate', 'baselinePassRate', 'delta', 'ci', 'pValue', 'outcome', 'pass', 'headline', 'errors', 'reasons'] as const) {
          expect(t[k], `${score.routingFile} ${t.tier} ${k}`).toEqual(r[k]);
        }
      });
      expect(score.pass).toBe(runs[i]!.summary.pass);
    });
  });

  it('reports the README figures: tiers, overall quality and savings', () => {
    const [holds, aggressive, flash] = sim.routings;
    const cheap = holds!.tiers.find((t) => t.tier === 'cheap')!;
    expect(cheap.counts.a + cheap.counts.c).toBe(106);
    expect(cheap.counts.a + cheap.counts.b).toBe(110);
    const aggCheap = aggressive!.tiers.find((t) => t.tier === 'cheap')!;
    expect([aggCheap.cases, aggCheap.counts.b, aggCheap.counts.c, aggCheap.pass]).toEqual([280, 49, 10, false]);
    // Overall: routed pass rate over all 490 cases vs all-gpt-4o (386/490).
    expect(holds!.overall.baselinePassRate).toBeCloseTo(386 / 490, 12);
    expect(holds!.overall.passRate).toBeCloseTo((106 + 71 + 202) / 490, 12);
    expect(flash!.overall.passRate).toBeCloseTo(311 / 490, 12);
    for (const r of sim.routings) {
      expect(r.overall.costPer1k).toBeGreaterThan(0);
      expect(r.overall.savings).toBeCloseTo(1 - r.overall.costPer1k! / r.overall.baselineCostPer1k!, 12);
    }
    expect(flash!.overall.savings!).toBeGreaterThan(holds!.overall.savings!);
    expect(aggressive!.overall.savings!).toBeGreaterThan(holds!.overall.savings!);
    // Per model accuracies as the suite grades (README table).
    const acc = Object.fromEntries(flash!.models.map((m) => [m.model, `${m.passed}/${m.cases}`]));
    expect(acc).toEqual({ 'gpt-4o': '386/490', 'gemini-flash': '311/490' });
  });

  it('suggest: per-model accuracies as the suite grades them, and a proposal that holds', async () => {
    const s: SuggestResult = await suggest({ suiteDir, db, cwd: tmp, by: 'metadata.category', fill: true, env: {} });
    expect(Object.fromEntries(s.models.map((m) => [m.model, m.passed]))).toEqual({ 'gpt-4o': 386, 'gemini-pro': 345, 'gemini-flash': 311, 'llama-8b': 221 });
    expect(s.models.every((m) => m.cases === 490)).toBe(true);
    expect(s.missing).toEqual([]);
    const choice = Object.fromEntries(s.classes.map((c) => [c.name, c.model]));
    // Per class at the default 5-pt margin (README: flash −2.9 philosophy, +2.9 physics; pro +2.9 engineering, −2.9 biology).
    // Per class at the default rule (5-pt margin, 95%): with 35 cases a class must be shown to hold;
    // only physics on gemini-pro is (+14.3 pts, CI −1.2 … +29.7). The point rule once picked six classes.
    expect(choice).toMatchObject({ physics: 'gemini-pro', philosophy: 'gpt-4o', engineering: 'gpt-4o', biology: 'gpt-4o', law: 'gpt-4o', health: 'gpt-4o' });
    expect(Object.values(choice).filter((m) => m !== 'gpt-4o')).toEqual(['gemini-pro']);
    expect(s.projected.pass).toBe(true);
    expect(s.projected.overall.savings!).toBeGreaterThan(0);
    expect(s.yaml).toMatch(/^# Proposed by `evalroute suggest`/);
    expect(s.yaml).toContain('when: { metadata: { "category": ["physics"] } }, tier: "gemini-pro"');
    expect(s.yaml).toMatch(/- \{ name: default, tier: frontier \}\n$/);

    // With more cases required than any class has, everything stays on the frontier, and says why.
    const strict = await suggest({ suiteDir, db, cwd: tmp, by: 'metadata.category', minCases: 36 });
    expect(strict.classes.every((c) => c.model === 'gpt-4o')).toBe(true);
    expect(strict.classes.find((c) => c.name === 'physics')!.note).toMatch(/35 cases < 36/);
    expect(strict.projected.overall.savings).toBe(0);
  });

  it('suggest --holdout: the held-out half shows the optimism of choosing on the same cases (docs/statistics.md)', async () => {
    // docs/statistics.md: choosing with the point rule, over seeds 1..100 the routed tiers give +1.8 pts on
    // the half they were chosen on and −7.7 pts on the held-out half; three seeds (gaps 4.8, 10.2, 5.9)
    // must show a gap of at least 4 pts.
    const routedDelta = (tiers: SuggestResult['projected']['tiers']) => {
      const routed = tiers.filter((t) => t.model !== t.baselineModel);
      const n = routed.reduce((sum, t) => sum + t.cases, 0);
      return routed.reduce((sum, t) => sum + t.delta * t.cases, 0) / n;
    };
    const gaps: number[] = [];
    for (let seed = 1; seed <= 3; seed++) {
      const s = await suggest({ suiteDir, db, cwd: tmp, by: 'metadata.category', holdout: 0.5, seed, minCases: 15, rule: 'point' });
      expect(s.projected.pass).toBe(true);
      expect(s.projected.overall.cases + s.holdout!.score.overall.cases).toBe(490);
      gaps.push(routedDelta(s.projected.tiers) - routedDelta(s.holdout!.score.tiers));
    }
    expect(gaps.reduce((a, b) => a + b, 0) / gaps.length).toBeGreaterThan(0.04);
  });

  it('lists missing pairs instead of counting them, and says the result is incomplete', async () => {
    const gone = Object.entries(sim.routings[0]!.assignment).filter(([, tier]) => tier === 'mid').slice(0, 2).map(([id]) => id);
    const conn = new Database(db);
    conn.prepare(`delete from responses where model_key = 'gemini-pro' and case_id in (?, ?)`).run(...gone);
    const stored = conn.prepare(`select count(*) n from responses where model_key = 'gemini-pro'`).get() as { n: number };
    conn.close();
    const partial = await simulate({ suiteDir, routings: [routings[0]!], db, cwd: tmp });
    const missing = partial.routings[0]!.missing;
    expect(partial.exitCode).toBe(3);
    expect(stored.n).toBeGreaterThan(0);
    expect(missing).toEqual(gone.map((caseId) => ({ caseId, model: 'gemini-pro', reason: 'no-response' })));
    const mid = partial.routings[0]!.tiers.find((t) => t.tier === 'mid')!;
    expect(mid.cases).toBe(103);
    expect(mid.errors).toBe(0);
  });
});
