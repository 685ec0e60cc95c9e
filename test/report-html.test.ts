import { describe, expect, it } from 'vitest';
import { renderHtmlReport, scriptSafeJson } from '../src/report/html.js';
import { buildReportData, joinSide, OUTCOME_ORDER, wordDiff } from '../src/report/report-data.js';
import type { ReportData } from '../src/report/report-data.js';
import { buildFixture, XSS, XSS_OUTPUT } from './support/chromium.js';

const dataBlock = (html: string): string => {
  const m = /<script type="application\/json" id="data">([\s\S]*?)<\/script>/.exec(html);
  if (!m) throw new Error('no data block in the report');
  return m[1]!;
};
const card = (html: string, tier: string): string => {
  const m = new RegExp(`<article class="card [a-z]+" aria-label="Tier ${tier}:[\\s\\S]*?</article>`).exec(html);
  if (!m) throw new Error(`no card for tier ${tier}`);
  return m[0];
};

describe('buildReportData', () => {
  const data = buildReportData(buildFixture());

  it('puts regressions first, then improvements, both-fail, both-pass and the baseline tier last', () => {
    const outcomes = data.cases.map((c) => c.outcome);
    expect(outcomes.slice(0, 4)).toEqual(['regression', 'regression', 'regression', 'regression']);
    const ranks = outcomes.map((o) => OUTCOME_ORDER.indexOf(o));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(outcomes.at(-1)).toBe('baseline');
    // Suite order is kept within a group.
    expect(data.cases.filter((c) => c.outcome === 'regression').map((c) => c.id)).toEqual([
      'cheap-regression-2',
      'cheap-regression-3',
      'cheap-regression-4',
      'mid-regression-8',
    ]);
  });

  it('counts every group', () => {
    const counts = Object.fromEntries(data.groups.map((g) => [g.outcome, g.count]));
    expect(counts).toEqual({ regression: 4, improvement: 2, 'both-fail': 2, missing: 0, 'both-pass': 6, baseline: 6 });
  });

  it('pairs the tier model with the baseline, and the baseline with itself in the baseline tier', () => {
    const errored = data.cases.find((c) => c.id === 'cheap-regression-3')!;
    expect(errored.candidate?.model).toBe('flash');
    expect(errored.candidate?.error?.kind).toBe('rate_limit');
    expect(errored.candidate?.text).toBeNull();
    expect(errored.diff).toBeNull();
    const base = data.cases.find((c) => c.id === 'frontier-base-fail-19')!;
    expect(base.sameModel).toBe(true);
    expect(base.candidate).toBe(base.baseline);
    expect(base.baseline?.pass).toBe(false);
  });

  it('stores a word diff that rebuilds both outputs exactly', () => {
    const c = data.cases.find((x) => x.id === 'cheap-regression-4')!;
    expect(c.diff).not.toBeNull();
    expect(joinSide(c.diff!, -1)).toBe(c.baseline!.text);
    expect(joinSide(c.diff!, 1)).toBe(c.candidate!.text);
    expect(c.diff!.some(([op]) => op === 1) && c.diff!.some(([op]) => op === -1)).toBe(true);
    // Whitespace-only differences still round-trip (diffWords alone would rebuild the old side wrongly).
    const segs = wordDiff('a  b\n\nc', 'a b\nc!')!;
    expect([joinSide(segs, -1), joinSide(segs, 1)]).toEqual(['a  b\n\nc', 'a b\nc!']);
  });

  it('classifies a case with no stored candidate call as missing, not as a regression', () => {
    const input = buildFixture();
    input.calls = input.calls.filter((c) => !(c.caseId === 'cheap-both-pass-0' && c.modelKey === 'flash'));
    const d = buildReportData(input);
    expect(d.cases.find((c) => c.id === 'cheap-both-pass-0')?.outcome).toBe('missing');
    expect(d.groups.find((g) => g.outcome === 'regression')?.count).toBe(4);
  });

  it('falls back to the case vars when no rendered input is stored', () => {
    const input = buildFixture();
    input.cases = input.cases.map(({ input: _drop, ...rest }) => rest);
    const c = buildReportData(input).cases[0]!;
    expect(c.input).toBeNull();
    expect(c.vars).toHaveProperty('question');
  });

  it('computes routed vs all-frontier cost and tier savings by hand-checkable arithmetic', () => {
    const priced = buildReportData(buildFixture({ unpricedMid: false }));
    // routed: flash 7 completions × $0.0005 (1 errored, not billed) + mixtral 6 × $0.002 + gpt4 6 × $0.01
    expect(priced.cost.routedUsd).toBeCloseTo(0.0035 + 0.012 + 0.06, 10);
    expect(priced.cost.allFrontierUsd).toBeCloseTo(20 * 0.01, 10);
    expect(priced.cost.savedUsd).toBeCloseTo(0.2 - 0.0755, 10);
    expect(priced.cost.savedFraction).toBeCloseTo(0.1245 / 0.2, 10);
    expect(priced.cost.routedPer1k).toBeCloseTo((0.0755 / 20) * 1000, 10);
    expect(priced.cost.callsWithoutCompletion).toBe(1);
    const cheap = priced.tiers.find((t) => t.tier === 'cheap')!;
    expect(cheap.savedPer1k).toBeCloseTo(9.5, 10);
    expect(cheap.savedFraction).toBeCloseTo(0.95, 10);
    expect(priced.tiers.find((t) => t.tier === 'frontier')!.isBaselineTier).toBe(true);

    const unpriced = buildReportData(buildFixture());
    expect(unpriced.cost.routedUsd).toBeNull();
    expect(unpriced.cost.savedUsd).toBeNull();
    expect(unpriced.cost.unpricedModels).toEqual(['mixtral']);
    expect(unpriced.cost.allFrontierUsd).toBeCloseTo(0.2, 10);
    expect(unpriced.tiers.find((t) => t.tier === 'mid')!.savedPer1k).toBeNull();
  });

  it('places each model on the cost/quality plane over the cases it shares with the baseline, errors left out', () => {
    const byModel = Object.fromEntries(data.models.map((m) => [m.model, m]));
    // 8 flash calls, one errored: 4 of the 7 graded cases pass, and the baseline is read on those same 7.
    expect(byModel.flash).toMatchObject({ cases: 7, passes: 4, passRate: 4 / 7, errors: 1 });
    expect(byModel.flash!.baselinePassRate).toBeDefined();
    expect(byModel.gpt4!.baselinePassRate).toBeUndefined();
    expect(byModel.flash!.costPer1k).toBeCloseTo(((7 * 0.0005) / 8) * 1000, 10);
    expect(byModel.gpt4).toMatchObject({ cases: 20, passes: 15, isBaseline: true, pareto: true });
    expect(byModel.mixtral!.costPer1k).toBeNull();
    expect(byModel.flash!.pareto).toBe(true);
  });

  it('compares the candidate outcome per case with a base run', () => {
    const head = buildFixture();
    const base = buildFixture({ runId: 'run-base', flip: ['cheap-regression-4', 'cheap-improvement-5'] });
    const d = buildReportData({ ...head, baseRun: { run: base.run, calls: base.calls } });
    const rvr = d.runVsRun!;
    expect(rvr.newlyFailing.map((c) => c.id)).toEqual(['cheap-regression-4']);
    expect(rvr.newlyPassing.map((c) => c.id)).toEqual(['cheap-improvement-5']);
    expect(rvr.stillPassing + rvr.stillFailing).toBe(18);
    expect(rvr.rerouted).toBe(0);
  });
});

describe('renderHtmlReport', () => {
  const data: ReportData = buildReportData(buildFixture());
  const html = renderHtmlReport(data);

  it('shows a card per tier with verdict text, CI, p-value, rule, reasons and costs', () => {
    const cheap = card(html, 'cheap');
    expect(cheap).toContain('FAIL');
    expect(cheap).toContain('95% CI −80.0 pts … −20.0 pts');
    expect(cheap).toContain('0.031');
    expect(cheap).toContain('noninferiority');
    expect(cheap).toContain('pass rate 25.0% is below the floor 85.0%');
    expect(cheap).toContain('$9.50 per 1k (95.0%)');
    const mid = card(html, 'mid');
    expect(mid).toContain('<p class="verdict warn"><span aria-hidden="true">?</span> INCONCLUSIVE</p>');
    expect(mid).toContain('~300 more cases would decide it');
    expect(mid).toMatch(/unpriced/);
    expect(cheap).toContain('<p class="headline">FAIL — regressed: at best −20.0 pts at 95% confidence, beyond the margin 3</p>');
    expect(card(html, 'frontier')).toContain('baseline tier');
    expect(html).toContain('GATE FAILED');
    expect(html).toContain('#a3f9c2e1b4d5'); // short routing hash
  });

  it('shows the gate verdict whole in the banner, also when it contains a colon (screening rules)', () => {
    const input = buildFixture();
    const routed = input.summary.tiers.map((t) =>
      t.model === t.baselineModel ? t : { ...t, outcome: 'pass' as const, pass: true, rule: 'point' as const, headline: 'PASS (screening: point estimate) — delta −2.0 pts' },
    );
    const page = renderHtmlReport(buildReportData({ ...input, summary: { ...input.summary, outcome: 'pass', pass: true, tiers: routed, budgets: [] } }));
    const banner = /<strong>([^<]*)<\/strong><br><span class="gate-detail">([^<]*)<\/span>/.exec(page);
    expect(banner?.[1]).toMatch(/^GATE PASSED on screening rules \(point: [^)]+\)$/);
    expect(banner?.[2]).toMatch(/^no tier is beyond its margin, which is not the same as shown to hold/);
  });

  it('makes no network references: no http(s) or protocol-relative src/href, no @import or url()', () => {
    expect(html).not.toMatch(/\b(?:src|href|xlink:href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).toContain("default-src 'none'");
  });

  it('never lets model output, input or names out of the JSON block unescaped', () => {
    const evil = buildFixture();
    evil.run.suite = XSS;
    evil.summary.suite = XSS;
    evil.summary.tiers[0]!.reasons.push(`<img src=x onerror="window.__pwned=3">`);
    const out = renderHtmlReport(buildReportData(evil));
    for (const raw of [XSS, '<img src=x', '</textarea>']) expect(out).not.toContain(raw);
    expect(out.match(/<script\b/g)).toHaveLength(2); // the data block and our own script
    const block = dataBlock(out);
    expect(block).not.toContain('<');
    expect(block).toContain('\\u003cscript\\u003ewindow.__pwned=1\\u003c/script\\u003e');
    // The payload survives the round trip as text.
    const payload = JSON.parse(block) as { cases: { id: string; d?: [number, string][]; c?: { x?: string } }[] };
    const xssCase = payload.cases.find((c) => c.id === 'cheap-regression-2')!;
    const candidateText = xssCase.d ? xssCase.d.filter(([op]) => op !== -1).map(([, t]) => t).join('') : xssCase.c?.x;
    expect(candidateText).toBe(XSS_OUTPUT);
  });

  it('escapes JSON for a script element, including line separators', () => {
    expect(scriptSafeJson({ a: '</script><!-- & \u2028' })).toBe('{"a":"\\u003c/script\\u003e\\u003c!-- \\u0026 \\u2028"}');
  });

  it('embeds each output once: texts rebuilt from the diff are not repeated', () => {
    const text = 'The answer is refund, within thirty days.';
    const block = dataBlock(html);
    const payload = JSON.parse(block) as { cases: { id: string; b?: { x?: string }; c?: { x?: string } }[] };
    const reg = payload.cases.find((c) => c.id === 'cheap-regression-4')!;
    expect(reg.b?.x).toBeUndefined();
    expect(reg.c?.x).toBeUndefined();
    expect(block.split(text).length - 1).toBeLessThanOrEqual(data.cases.filter((c) => c.candidate?.text === text).length);
  });

  it('renders accessible filters and the run-vs-run section when a base run is given', () => {
    for (const id of ['f-outcome', 'f-tier', 'f-grader', 'f-label', 'f-search']) expect(html).toContain(`<label for="${id}">`);
    expect(html).toContain('<th scope="col">Outcome</th>');
    expect(html).not.toContain('id="run-vs-run"');
    const head = buildFixture();
    const base = buildFixture({ runId: 'run-base', flip: ['cheap-regression-4'] });
    const withBase = renderHtmlReport(buildReportData({ ...head, baseRun: { run: base.run, calls: base.calls } }));
    expect(withBase).toContain('id="run-vs-run"');
    expect(withBase).toContain('data-case="cheap-regression-4"');
  });

  it('draws both charts as inline SVG with a whisker per compared tier', () => {
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html.match(/class="whisker"/g)).toHaveLength(2); // cheap and mid have a CI; the baseline tier has none
    expect(html).toContain('Unpriced, not plotted: <code>mixtral</code>');
  });
});
