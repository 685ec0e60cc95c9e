import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProject, run, type RunResult } from '../src/api/run.js';
import type { RunSummary, TierVerdict } from '../src/core/types.js';
import { formatRunSummary } from '../src/report/console.js';
import { formatJunit } from '../src/report/junit.js';
import { escapeMarkdown, formatMarkdown, MARKDOWN_MARKER, verdictText } from '../src/report/markdown.js';
import { intervalText, pValueText } from '../src/report/verdict-text.js';
import { buildFixture } from './support/chromium.js';

/** Rows of the first Markdown table whose header starts with `first`, split into unescaped cells. */
function tableRows(md: string, first: string): string[][] {
  const lines = md.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`| ${first} |`));
  const rows: string[][] = [];
  for (let i = start + 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
    rows.push(lines[i]!.slice(2, -2).split(/(?<!\\) \| /).map((c) => c.replace(/\\\|/g, '|')));
  }
  return rows;
}

const tier = (over: Partial<TierVerdict>): TierVerdict => ({
  tier: 'cheap', model: 'mini', baselineModel: 'big', cases: 100, passRate: 0.9, baselinePassRate: 0.92, delta: -0.02,
  errors: 0, outcome: 'pass', pass: true, headline: 'PASS — at worst −4.0 pts at 95% confidence, margin 5', reasons: [], ci: [-0.04, 0.01], pValue: 0.21, rule: 'noninferiority', ...over,
});

const baselineTier: TierVerdict = {
  tier: 'frontier', model: 'big', baselineModel: 'big', cases: 50, passRate: 0.92, baselinePassRate: 0.92, delta: 0, errors: 0,
  outcome: 'pass', pass: true, headline: 'baseline — the model every tier is compared with', reasons: ['is the baseline'],
};

const summary = (over: Partial<RunSummary> = {}): RunSummary => ({
  runId: 'r42', suite: 'intents', status: 'complete', pass: true,
  tiers: [tier({}), baselineTier],
  models: [{ model: 'big', calls: 200, errors: 0, inputTokens: 12000, outputTokens: 3400, costUsd: 1.5 }],
  ...over,
});

describe('formatMarkdown', () => {
  it('names the confidence level each interval was computed at, never a fixed 95%', () => {
    const at90 = summary({ tiers: [tier({ confidence: 0.9, headline: 'PASS — at worst −4.0 pts at 90% confidence, margin 5' }), baselineTier] });
    const md = formatMarkdown(at90);
    expect(md).toContain('| tier | model | cases | pass rate | baseline | delta | 90% CI |');
    expect(md).toContain('shown to hold its margin against the baseline (90% confidence).');
    expect(formatRunSummary(at90, { color: false })).toMatch(/delta\s+90% CI\s+p/);
    expect(formatJunit(at90, [])).toContain('90% CI −4.0 pts … +1.0 pts');
    // Tiers at different levels: the header cannot name one, so each interval names its own.
    const mixed = summary({ tiers: [tier({ confidence: 0.9 }), tier({ tier: 'mid', confidence: 0.99 }), baselineTier] });
    const mixedMd = formatMarkdown(mixed);
    expect(tableRows(mixedMd, 'tier').map((r) => r[6])).toEqual(['−4.0 pts … +1.0 pts (90%)', '−4.0 pts … +1.0 pts (99%)', '—']);
    expect(mixedMd).toContain('| delta | CI |');
    expect(mixedMd).toContain('(each at its own confidence level)');
    // Summaries stored before the level was kept were all computed at 95%.
    expect(formatMarkdown(summary())).toContain('| delta | 95% CI |');
  });

  it('starts with the hidden marker and a headline that says whether the gate passed', () => {
    const passed = formatMarkdown(summary());
    expect(passed.split('\n')[0]).toBe(MARKDOWN_MARKER);
    expect(passed).toContain('## ✅ evalroute: GATE PASSED: every routed tier is shown to hold its margin against the baseline (95% confidence).');

    const { summary: failing } = buildFixture();
    const md = formatMarkdown(failing);
    expect(md).toContain('## ❌ evalroute: GATE FAILED: cheap regressed.');

    const failed = { outcome: 'fail' as const, pass: false, headline: 'FAIL — regressed: at best −8.0 pts at 95% confidence, beyond the margin 5' };
    const two = summary({ outcome: 'fail', pass: false, tiers: [tier(failed), tier({ ...failed, tier: 'mid' })] });
    expect(formatMarkdown(two)).toContain('## ❌ evalroute: GATE FAILED: cheap, mid regressed.');

    const undecided = { outcome: 'inconclusive' as const, pass: false, headline: 'INCONCLUSIVE — between −9.1 pts and +3.3 pts, margin 5; ~264 more cases would decide it' };
    const open = formatMarkdown(summary({ outcome: 'inconclusive', pass: false, tiers: [tier(undecided)] }));
    expect(open).toContain('## ❔ evalroute: GATE INCONCLUSIVE (exit 4): no tier failed, but cheap is not decided');
    expect(open).toContain('- ❔ **cheap**: INCONCLUSIVE — between −9.1 pts and +3.3 pts, margin 5; ~264 more cases would decide it');
    expect(tableRows(open, 'tier')[0]![9]).toBe('❔ INCONCLUSIVE');

    const screening = formatMarkdown(summary({ tiers: [tier({ rule: 'point', headline: 'PASS (screening: point estimate) — delta −2.0 pts' })] }));
    expect(screening).toContain('GATE PASSED on screening rules (point: cheap)');
    expect(screening).not.toMatch(/every routed tier is shown to hold|holds/);

    const incomplete = formatMarkdown(summary({ status: 'incomplete', pass: false }));
    expect(incomplete).toContain('## ⚠️ evalroute: RUN INCOMPLETE: not enough data to gate on (exit 3); no tier is decided.');

    const budget = summary({
      outcome: 'fail',
      pass: false,
      budgets: [{ useCase: 'support', metric: 'usdPerMonth', limit: 100, projected: 150, used: 1.5, alertAt: 0.7, status: 'fail', message: 'projected $150/month over the $100 limit' }],
    });
    const b = formatMarkdown(budget);
    expect(b).toContain('## ❌ evalroute: GATE FAILED: over budget: support.');
    expect(b).toContain('- ✘ **support** (fail): projected $150/month over the $100 limit');
  });

  it('has one row per tier with figures, rule, verdict and cost; unpriced and baseline tiers read as such', () => {
    const { summary: s } = buildFixture();
    const rows = tableRows(formatMarkdown(s), 'tier');
    expect(rows).toEqual([
      ['cheap', 'flash', '8', '25.0%', '75.0%', '−50.0 pts', '−80.0 pts … −20.0 pts', '0.031', 'noninferiority', '✘ FAIL', '$0.50', '$10.00', '—'],
      ['mid', 'mixtral', '6', '66.7%', '66.7%', '±0.0 pts', '−25.0 pts … +25.0 pts', '1.000', 'noninferiority', '❔ INCONCLUSIVE', 'unpriced', '$10.00', 'unpriced'],
      ['frontier', 'gpt4', '6', '83.3%', '83.3%', '—', '—', '—', '—', '· BASELINE', '$10.00', '$10.00', '—'],
    ]);
    const withSavings = summary({ tiers: [tier({ costPer1k: 0.5, baselineCostPer1k: 10, savings: 0.95 })] });
    expect(tableRows(formatMarkdown(withSavings), 'tier')[0]!.slice(-3)).toEqual(['$0.50', '$10.00', '95.0%']);
    // Cost not computed for this run (no fields) reads "—", never "unpriced" or "$0".
    expect(tableRows(formatMarkdown(summary()), 'tier')[0]!.slice(-3)).toEqual(['—', '—', '—']);
  });

  it('lists the reasons of every tier and collapses model usage in <details>', () => {
    const { summary: s } = buildFixture();
    const md = formatMarkdown(s);
    expect(md).toContain('- ✘ **cheap**: FAIL — regressed: at best −20.0 pts at 95% confidence, beyond the margin 3');
    expect(md).toContain('  - pass rate 25.0% is below the floor 85.0%');
    expect(md).toContain('  - drop of 50.0 pts exceeds maxRegression 3.0 pts');
    const details = md.slice(md.indexOf('<details>'), md.indexOf('</details>'));
    expect(tableRows(details, 'model')).toEqual([
      ['gpt4', '20', '0', '2,400', '600', '$0.20'],
      ['flash', '8', '1', '840', '210', '$0.0035'],
      ['mixtral', '6', '0', '720', '180', 'unpriced'],
    ]);
  });

  it('escapes table cells: pipes, newlines and tags cannot break the table or inject HTML', () => {
    expect(escapeMarkdown('a|b\nc <img src=x> <0.001 \\')).toBe('a\\|b<br>c &lt;img src=x> <0.001 \\\\');
    const s = summary({ tiers: [tier({ tier: 'a|b', model: 'm\nx', reasons: ['bad <script>alert(1)</script> | row'] })] });
    const md = formatMarkdown(s);
    const rows = tableRows(md, 'tier');
    expect(rows[0]!.slice(0, 2)).toEqual(['a|b', 'm<br>x']);
    expect(rows[0]).toHaveLength(13);
    expect(md).not.toContain('<script>');
    expect(md).toContain('bad &lt;script>alert(1)&lt;/script> \\| row');
  });

  it('escapes links, images, @mentions and bare URLs in names, reasons and the unpriced-model list', () => {
    const s = summary({
      tiers: [tier({ tier: '![pixel](https://t.example/p.png)', model: '[click](https://evil.example)', reasons: ['ping @octocat, see https://evil.example/x'] })],
      cost: { ...cost(1), savings: null, savedUsd: null, unpricedModels: ['[free](https://evil.example)', '@admin'] },
    });
    const md = formatMarkdown(s);
    expect(md).not.toContain(']('); // no [text](url) link or ![alt](src) image
    expect(md).not.toMatch(/@\w/); // no @mention GitHub would resolve
    expect(md).not.toContain('https://'); // nothing to autolink
    expect(md).toContain('unpriced: [free]\\(https:\u200b//evil.example), @\u200badmin');
    expect(tableRows(md, 'tier')[0]!.slice(0, 2)).toEqual(['![pixel]\\(https:\u200b//t.example/p.png)', '[click]\\(https:\u200b//evil.example)']);
  });

  it('links the report and compares with the base routing when given', () => {
    const base = summary({ tiers: [tier({ cases: 80, passRate: 0.95, delta: 0.01 })], cost: cost(2.0) });
    const head = summary({ outcome: 'fail', pass: false, tiers: [tier({ outcome: 'fail', pass: false, delta: -0.08, passRate: 0.84 })], cost: cost(1.0) });
    const md = formatMarkdown(head, { reportUrl: 'https://ci.example/runs/7 (artifact)', baseSummary: base });
    expect(md).toContain('[full report](https://ci.example/runs/7%20%28artifact%29)');
    expect(tableRows(md.slice(md.indexOf('**Base routing')), 'tier')).toEqual([['cheap', '80 → 100', '95.0% → 84.0%', '+1.0 pts → −8.0 pts', '✔ PASS → ✘ FAIL']]);
    expect(md).toContain('Routed cost per 1k requests: $2.00 → $1.00 (−50.0%)');
    expect(md).toContain('Routed vs all-frontier on 100 cases: $0.10 vs $0.50, saves **$0.40 (80.0%)**');
  });
});

function cost(routedPer1k: number): NonNullable<RunSummary['cost']> {
  return { cases: 100, routedUsd: 0.1, allFrontierUsd: 0.5, savedUsd: 0.4, savings: 0.8, routedPer1k, allFrontierPer1k: 5, unpricedModels: [], estimatedTokens: false };
}

// ───────────── console, JSON, JUnit and Markdown agree on the real GSM8K demo ─────────────

const decodeXml = (s: string) =>
  s.replace(/&(#\d+|lt|gt|amp|quot|apos);/g, (_, e: string) => (e[0] === '#' ? String.fromCodePoint(Number(e.slice(1))) : { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[e]!));

describe('report consistency on the GSM8K demo (recorded outputs, offline)', () => {
  let dir: string;
  let result: RunResult;
  let json: RunSummary;
  let outputs: Record<'console' | 'markdown' | 'junit', string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evalroute-md-'));
    result = await run({ suiteDir: 'suites/gsm8k-routing', db: join(dir, 'results.db'), cwd: process.cwd() });
    json = JSON.parse(JSON.stringify(result.summary)) as RunSummary;
    const { suite } = loadProject({ suiteDir: 'suites/gsm8k-routing', cwd: process.cwd() });
    outputs = {
      console: formatRunSummary(result.summary, { color: false }),
      markdown: formatMarkdown(result.summary),
      junit: decodeXml(formatJunit(result.summary, result.results, { goldens: suite.goldens })),
    };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the cheap tier verdict, interval, p-value and reasons identically everywhere, matching the JSON numbers', () => {
    const cheap = json.tiers.find((t) => t.tier === 'cheap')!;
    expect(result.exitCode).toBe(1);
    expect(cheap).toMatchObject({ cases: 270, pass: false, model: 'mixtral' });
    // The display strings follow from the JSON numbers…
    expect(intervalText(cheap)).toBe('−28.5 pts … −15.8 pts');
    expect(cheap.ci![0]).toBeCloseTo(-0.285, 3);
    expect(cheap.ci![1]).toBeCloseTo(-0.158, 3);
    expect(pValueText(cheap.pValue)).toBe('<0.001');
    expect(cheap.pValue!).toBeLessThan(0.001);
    expect(verdictText(cheap)).toBe('✘ FAIL');

    // …and every output shows exactly those strings.
    const must = [intervalText(cheap), pValueText(cheap.pValue), cheap.headline, '66.7%', '88.9%', '−22.2 pts', ...cheap.reasons];
    for (const [name, text] of Object.entries(outputs)) {
      for (const s of must) expect(text, `${name} shows "${s}"`).toContain(s);
    }
    expect(outputs.console).toContain('GATE FAILED: cheap regressed.');
    expect(outputs.markdown).toContain('❌ evalroute: GATE FAILED: cheap regressed.');
    expect(outputs.junit).toContain('<failure message="tier cheap (mixtral): FAIL — regressed: at best −15.8 pts at 95% confidence, beyond the margin 5" type="gate">');
    expect(outputs.junit).toContain('pass rate 66.7% vs 88.9%, delta −22.2 pts, 95% CI −28.5 pts … −15.8 pts, p <0.001');
  });

  it('JUnit properties carry the JSON numbers exactly and JUnit failures match the paired counts', () => {
    const cheap = json.tiers.find((t) => t.tier === 'cheap')! as TierVerdict & { counts: { a: number; b: number; c: number; d: number } };
    const suite = outputs.junit.slice(outputs.junit.indexOf('<testsuite name="tier:cheap (mixtral)"'), outputs.junit.indexOf('</testsuite>'));
    const prop = (name: string) => new RegExp(`<property name="${name}" value="([^"]*)"/>`).exec(suite)![1]!;
    expect(Number(prop('passRate'))).toBe(cheap.passRate);
    expect(Number(prop('baselinePassRate'))).toBe(cheap.baselinePassRate);
    expect(Number(prop('delta'))).toBe(cheap.delta);
    expect(JSON.parse(prop('ci'))).toEqual(cheap.ci);
    expect(Number(prop('pValue'))).toBe(cheap.pValue);
    expect(prop('rule')).toBe(cheap.rule);
    // b = regressions, d = both failed; every candidate failure is one or the other (no errors here).
    expect(suite.match(/type="regression"/g)).toHaveLength(cheap.counts.b);
    expect(suite.match(/type="fail"/g)).toHaveLength(cheap.counts.d);
    expect(suite).toMatch(/<testsuite name="tier:cheap \(mixtral\)" tests="271" failures="91" errors="0" skipped="0">/);
    expect(cheap.counts.b + cheap.counts.d + 1).toBe(91);
  });
});
