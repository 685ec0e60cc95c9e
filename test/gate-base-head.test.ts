import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { gate, gateJson, type GateResult } from '../src/api/gate.js';
import { ConfigError } from '../src/core/errors.js';
import { writeRunOutputs } from '../src/cli/run-outputs.js';
import { caseHref, routingVerdict, topRegressed } from '../src/report/base-vs-head.js';
import { MARKDOWN_CASES_SHOWN } from '../src/report/markdown.js';
import { openStore } from '../src/store/sqlite-store.js';
import { ensureCliBuilt, runCli } from './support/cli.js';

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

  it('lists the moved cases the change broke: passed under base, fail under head', () => {
    const headById = new Map(first.head.results.map((r) => [r.caseId, r]));
    const broken = first.moved.regressed;
    // 110 passed on gpt-4o, 75 pass on gemini-flash: at least 35 broke (some flash passes gpt-4o failed).
    expect(broken.length).toBeGreaterThanOrEqual(35);
    for (const m of broken) {
      expect(m).toMatchObject({ from: 'frontier', to: 'cheap', fromModel: 'gpt-4o', toModel: 'gemini-flash' });
      expect(headById.get(m.caseId)!.candidate.pass).toBe(false);
      expect(headById.get(m.caseId)!.baseline.pass).toBe(true); // under base, gpt-4o answered it
    }
    // The regressed list leads with exactly those, then head regressions against the baseline.
    const top = topRegressed(first.head.results, first.head.summary.tiers, first.moved);
    expect(top.slice(0, broken.length).map((c) => c.id)).toEqual(broken.map((m) => m.caseId));
    expect(top.slice(broken.length).every((c) => !c.movedFrom && c.baselinePasses)).toBe(true);
    expect(new Set(top.map((c) => c.id)).size).toBe(top.length);
  });

  it('the PR comment Markdown shows base vs head, the moved cases and the top regressed cases, linked into the report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evalroute-gate-md-'));
    const mdFile = join(dir, 'gate.md');
    const summaryFile = join(dir, 'step-summary.md');
    const reportUrl = 'https://ci.example/runs/7/report.html';
    await writeRunOutputs(
      { markdown: mdFile, reportUrl },
      {
        ...first.head,
        json: gateJson(first),
        comparison: { base: first.base, head: first.headOverall, moved: first.moved },
        env: { GITHUB_STEP_SUMMARY: summaryFile },
        log: () => {},
      },
    );
    const md = readFileSync(mdFile, 'utf8');
    expect(readFileSync(summaryFile, 'utf8')).toBe(`${md}\n`);
    expect(md).toContain(`**Base routing → this change** (base \`${basename(base)}\` scored from stored results)`);
    expect(md).toContain(`| verdict | ${routingVerdict(first.base).text} | ✘ FAIL |`);
    const pctOf = (x: number) => `${(x * 100).toFixed(1)}%`;
    expect(md).toContain(`| pass rate (routed) | ${pctOf(first.base.overall.passRate)} | ${pctOf(first.headOverall.passRate)} |`);
    expect(md).toContain(`140 cases moved tier: pass rate 78.6% under base → 53.6% under head (−25.0 pts)`);
    expect(md).toContain(`${first.moved.regressed.length} of them passed before and fail now.`);
    const example = first.moved.transitions[0]!.examples[0]!;
    expect(md).toContain(`| frontier (gpt-4o) → cheap (gemini-flash) | 140 | [${example}](${caseHref(reportUrl, example)}),`);
    // Top regressed: the first MARKDOWN_CASES_SHOWN cases the change broke, each linked to its row.
    const top = topRegressed(first.head.results, first.head.summary.tiers, first.moved);
    expect(md).toContain(`**Top regressed cases** (${MARKDOWN_CASES_SHOWN} of ${top.length}; all in the [HTML report](${reportUrl}))`);
    const rows = md.split('\n').filter((l) => l.includes('where it passed'));
    expect(rows).toHaveLength(MARKDOWN_CASES_SHOWN);
    expect(rows[0]).toBe(`| [${top[0]!.id}](${reportUrl}#case-${top[0]!.id}) | cheap | gemini-flash | moved from frontier (gpt-4o), where it passed |`);
    // Without a report URL the ids stay plain code, never a broken relative link.
    await writeRunOutputs({ markdown: mdFile }, { ...first.head, comparison: { base: first.base, head: first.headOverall, moved: first.moved }, env: {}, log: () => {} });
    const plain = readFileSync(mdFile, 'utf8');
    expect(plain).toContain(`| \`${top[0]!.id}\` | cheap |`);
    expect(plain).not.toContain('](#case-');
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

  it('the CLI writes the same Markdown and a report with the section, linked with --report-url', async () => {
    ensureCliBuilt();
    const reportUrl = 'https://ci.example/runs/8/report.html';
    const r = await runCli(
      ['gate', suiteDir, '--routing', head, '--base-routing', base, '--db', db, '--offline', '--markdown', 'gate.md', '--report', 'report.html', '--report-url', reportUrl],
      { cwd: tmp },
    );
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toContain('140 cases moved tier:');
    const md = readFileSync(join(tmp, 'gate.md'), 'utf8');
    const firstBroken = first.moved.regressed[0]!.caseId;
    expect(md).toContain('140 cases moved tier: pass rate 78.6% under base → 53.6% under head');
    expect(md).toContain(`| [${firstBroken}](${reportUrl}#case-${firstBroken}) | cheap | gemini-flash | moved from frontier (gpt-4o), where it passed |`);
    const html = readFileSync(join(tmp, 'report.html'), 'utf8');
    expect(html).toContain('id="base-vs-head"');
    expect(html).toContain(`href="#case-${firstBroken}" data-case="${firstBroken}"`);
  }, 180_000);
});
