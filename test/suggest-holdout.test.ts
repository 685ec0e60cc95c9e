import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gate, gateJson } from '../src/api/gate.js';
import { run } from '../src/api/run.js';
import { suggest, type SuggestResult } from '../src/api/suggest.js';
import { recomputeSummary } from '../src/api/merge.js';
import { UsageError } from '../src/core/errors.js';
import { formatRunSummary } from '../src/report/console.js';
import { formatMarkdown } from '../src/report/markdown.js';
import { formatHoldout } from '../src/report/simulate-console.js';
import { openStore } from '../src/store/sqlite-store.js';
import { caseIdsHash, isHeldOut, provenanceComment, readProvenance, selectionBiasWarning, type SelectionProvenance } from '../src/routing/provenance.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { runOutputs } from './support/outputs.js';
import { arithmeticResponder, createProject, type TestProject } from './support/project.js';

const ids = Array.from({ length: 400 }, (_, i) => `case-${i}`);

describe('the holdout split and the chosen-on record', () => {
  it('splits by id and seed only, close to the asked fraction', () => {
    const held = ids.filter((id) => isHeldOut(id, 0.3, 7));
    expect(held.length / ids.length).toBeGreaterThan(0.24);
    expect(held.length / ids.length).toBeLessThan(0.36);
    // Same id and seed → same side, whatever else is in the suite; another seed is another split.
    expect(ids.slice(100).filter((id) => isHeldOut(id, 0.3, 7))).toEqual(held.filter((id) => ids.indexOf(id) >= 100));
    expect(ids.filter((id) => isHeldOut(id, 0.3, 8))).not.toEqual(held);
    expect(ids.some((id) => isHeldOut(id, 0, 7))).toBe(false);
  });

  it('reads back what suggest writes, and ignores a hand-mangled line', () => {
    const p: SelectionProvenance = { suite: 's', cases: 3, of: 5, holdout: 0.4, seed: 2, ids: caseIdsHash(['b', 'a', 'c']) };
    expect(readProvenance(`# header\n${provenanceComment(p)}\nbaseline: x\n`)).toEqual(p);
    expect(p.ids).toBe(caseIdsHash(['a', 'b', 'c']));
    expect(readProvenance('# evalroute:chosen-on {"suite": "s"\nbaseline: x\n')).toBeUndefined();
    expect(readProvenance('baseline: x\n')).toBeUndefined();
  });

  it('warns exactly when the gated cases include the chosen-on ones', () => {
    const all = `${provenanceComment({ suite: 's', cases: ids.length, of: ids.length, holdout: 0, seed: 1, ids: caseIdsHash(ids) })}\n`;
    expect(selectionBiasWarning(all, 's', ids)).toMatch(/chosen by `evalroute suggest` on 400 cases of suite s, and all 400 gated cases are those same cases/);
    expect(selectionBiasWarning(all, 'other-suite', ids)).toBeUndefined();
    expect(selectionBiasWarning('baseline: x\n', 's', ids)).toBeUndefined();
    // A grown suite (or a shard) cannot be matched exactly: it says how many may overlap.
    expect(selectionBiasWarning(all, 's', [...ids, 'new-case'])).toMatch(/not exactly those .* up to 401 of the 401 may be among them/);

    const chosen = ids.filter((id) => !isHeldOut(id, 0.5, 3));
    const split = `${provenanceComment({ suite: 's', cases: chosen.length, of: ids.length, holdout: 0.5, seed: 3, ids: caseIdsHash(chosen) })}\n`;
    expect(selectionBiasWarning(split, 's', ids)).toContain(`${chosen.length} of the 400 gated cases are those same cases`);
    // Gating on the held-out cases alone is the fair test: nothing to warn about.
    expect(selectionBiasWarning(split, 's', ids.filter((id) => isHeldOut(id, 0.5, 3)))).toBeUndefined();
  });
});

// Easy cases: the small model is always right; hard ones: always wrong. So suggest routes the `easy` tag
// to small, and the routing file it writes was chosen on the suite's cases. The screening rule `point`
// decides on these small classes (non-inferiority would need ~75 identical answers per class to pass).
let server: MockLlmServer;
let p: TestProject;
beforeAll(async () => {
  server = await startMockLlmServer();
  server.script(arithmeticResponder());
  p = createProject(server, { cases: 60 });
});
afterAll(() => server.close());

const suggestOn = (extra: { holdout?: number; seed?: number } = {}) =>
  suggest({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, by: 'tag', minCases: 5, rule: 'point', fill: true, ...extra });

describe('suggest --holdout, and run/gate on a suggested routing file', () => {
  let plain: SuggestResult;
  let split: SuggestResult;
  beforeAll(async () => {
    plain = await suggestOn();
    split = await suggestOn({ holdout: 0.5, seed: 4 });
  });

  it('chooses on one part and gates on the other, disjoint and covering', () => {
    expect(plain.classes.find((c) => c.name === 'easy')!.model).toBe('small');
    expect(plain.holdout).toBeUndefined();
    expect(plain.chosenOn).toMatchObject({ suite: 'arith', cases: 60, of: 60, holdout: 0 });

    const h = split.holdout!;
    expect(h).toMatchObject({ fraction: 0.5, seed: 4 });
    const heldOut = Array.from({ length: 60 }, (_, i) => `c${String(i).padStart(3, '0')}`).filter((id) => isHeldOut(id, 0.5, 4));
    expect(h.score.overall.cases).toBe(heldOut.length);
    expect(split.projected.overall.cases).toBe(60 - heldOut.length);
    expect(split.chosenOn.cases).toBe(60 - heldOut.length);
    // The classes were judged on the chosen-on part only.
    expect(split.classes.reduce((n, c) => n + c.cases, 0)).toBe(60 - heldOut.length);
    expect(h.score.tiers.find((t) => t.model === 'small')!.cases).toBe(heldOut.filter((id) => Number(id.slice(1)) % 2 === 0).length);

    expect(split.yaml).toContain(`# Chosen on ${split.chosenOn.cases} of the suite's 60 cases; ${heldOut.length} others (--holdout 0.5, seed 4) were held out to gate it.`);
    expect(split.yaml).toMatch(/# Held out \(the fair estimate\) over \d+ cases: pass rate/);
    expect(readProvenance(split.yaml)).toEqual(split.chosenOn);
    expect(formatHoldout(split)).toMatch(/Chosen on \d+ cases; gated on \d+ held-out cases \(--holdout 0\.5, seed 4\):[\s\S]*held-out gate: ✔ PASS/);
    expect(formatHoldout(plain)).toMatch(/Chosen and scored on the same 60 cases: .* optimistic/);
  });

  it('rejects a holdout that leaves nothing to choose on or to gate on', async () => {
    await expect(suggestOn({ holdout: 1 })).rejects.toThrow(UsageError);
    await expect(suggestOn({ holdout: 0 })).rejects.toThrow(/strictly between 0 and 1/);
  });

  it('run warns (console and JSON summary) when it gates on the cases the routing file was chosen on', async () => {
    const suggested = join(p.dir, 'routing.suggested.yaml');
    writeFileSync(suggested, plain.yaml);
    const biased = await run({ suiteDir: p.suiteDir, routing: suggested, cwd: p.dir, env: p.env });
    expect(biased.summary.warnings).toEqual([expect.stringMatching(/^selection bias: .* on 60 cases of suite arith, and all 60 gated cases are those same cases/)]);
    expect(formatRunSummary(biased.summary, { color: false })).toContain('⚠ selection bias:');
    expect(formatMarkdown(biased.summary)).toContain('> ⚠️ selection bias:');
    // The same warning in every file a reviewer reads: the PR comment, the HTML report (before the tier
    // cards) and JUnit (on each tier's gate testcase, as text and as a property).
    const files = await runOutputs(biased);
    expect(files.markdown).toMatch(/^> ⚠️ selection bias: .*all 60 gated cases are those same cases/m);
    const section = files.html.indexOf('<section id="warnings"');
    expect(section).toBeGreaterThan(-1);
    expect(section).toBeLessThan(files.html.indexOf('<section id="tiers"'));
    expect(files.html.slice(section)).toMatch(/<li>⚠ selection bias: [^<]*all 60 gated cases are those same cases/);
    expect(files.junit.match(/^- warning: selection bias: .*all 60 gated cases/gm)).toHaveLength(biased.summary.tiers.length);
    expect(files.junit).toMatch(/<property name="warning" value="selection bias: /);
    // A verdict recomputed from the store (`merge` of shard stores) re-checks the same.
    const store = openStore(biased.dbFile, { readonly: true });
    try {
      expect(recomputeSummary(store, store.getRun(biased.runId)!).warnings).toEqual(biased.summary.warnings);
    } finally {
      store.close();
    }

    // The hand-written routing file has no chosen-on record: no warning.
    const own = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env });
    expect(own.summary.warnings).toBeUndefined();
    expect(formatRunSummary(own.summary, { color: false })).not.toContain('selection bias');
    const ownFiles = await runOutputs(own);
    expect(ownFiles.html).not.toContain('id="warnings"');
    expect(`${ownFiles.markdown}${ownFiles.junit}`).not.toContain('selection bias');

    // With --holdout, the run over the whole suite still re-uses the chosen-on half, and says how many.
    writeFileSync(suggested, split.yaml);
    const half = await run({ suiteDir: p.suiteDir, routing: suggested, cwd: p.dir, env: p.env });
    expect(half.summary.warnings?.[0]).toContain(`${split.chosenOn.cases} of the 60 gated cases are those same cases`);
    expect(half.summary.warnings?.[0]).toContain('held-out figure');
  });

  it('gate carries the warning into its JSON document', async () => {
    const head = join(p.dir, 'routing.head.yaml');
    writeFileSync(head, plain.yaml);
    const result = await gate({ suiteDir: p.suiteDir, routing: head, baseRouting: p.routingFile, cwd: p.dir, env: p.env });
    expect(gateJson(result).warnings?.[0]).toMatch(/^selection bias:/);
    expect(readFileSync(head, 'utf8')).toContain('# evalroute:chosen-on ');
  });
});
