import { describe, expect, it } from 'vitest';
import type { CallOutcome, CaseResult, RunSummary } from '../src/core/types.js';
import { escapeXmlAttr, escapeXmlText, formatJunit } from '../src/report/junit.js';
import { buildFixture } from './support/chromium.js';

// ───────────── a small strict XML reader: well-formedness is what CI tools need from us ─────────────

interface El {
  name: string;
  attrs: Record<string, string>;
  children: El[];
  text: string;
}

const ENTITY: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
function decode(s: string): string {
  if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);)/i.test(s)) throw new Error(`bare & in ${JSON.stringify(s.slice(0, 80))}`);
  return s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (_, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : ENTITY[e]!,
  );
}

/** Parses the subset of XML formatJunit may emit, and throws on anything malformed. */
function parseXml(xml: string): El {
  // XML 1.0 Char production: these may not appear even escaped.
  if (/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u.test(xml)) throw new Error('character not allowed in XML 1.0');
  let i = 0;
  const decl = /^<\?xml version="1\.0" encoding="UTF-8"\?>\n/.exec(xml);
  if (!decl) throw new Error('missing XML declaration');
  i = decl[0].length;
  const root: El = { name: '#doc', attrs: {}, children: [], text: '' };
  const stack: El[] = [root];
  while (i < xml.length) {
    const top = stack[stack.length - 1]!;
    if (xml.startsWith('</', i)) {
      const m = /^<\/([\w:-]+)>/.exec(xml.slice(i));
      if (!m || m[1] !== top.name) throw new Error(`mismatched close tag at ${i}: ${xml.slice(i, i + 30)}`);
      stack.pop();
      i += m[0].length;
    } else if (xml[i] === '<') {
      const m = /^<([\w:-]+)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/.exec(xml.slice(i));
      if (!m) throw new Error(`bad tag at ${i}: ${xml.slice(i, i + 60)}`);
      const attrs: Record<string, string> = {};
      for (const a of m[2]!.matchAll(/([\w:-]+)="([^"]*)"/g)) {
        if (a[1]! in attrs) throw new Error(`duplicate attribute ${a[1]}`);
        if (/[\n\t]/.test(a[2]!)) throw new Error('raw line break in attribute (would be normalised away)');
        attrs[a[1]!] = decode(a[2]!);
      }
      const el: El = { name: m[1]!, attrs, children: [], text: '' };
      top.children.push(el);
      if (!m[3]) stack.push(el);
      i += m[0].length;
    } else {
      const end = xml.indexOf('<', i);
      const raw = xml.slice(i, end < 0 ? xml.length : end);
      if (raw.includes('>') && raw.includes(']]>')) throw new Error(']]> in text');
      top.text += decode(raw);
      i += raw.length;
    }
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  if (root.children.length !== 1 || root.text.trim()) throw new Error('expected exactly one root element');
  return root.children[0]!;
}

const all = (el: El, name: string): El[] => [...(el.name === name ? [el] : []), ...el.children.flatMap((c) => all(c, name))];
const child = (el: El, name: string): El | undefined => el.children.find((c) => c.name === name);

// ───────────────────────────── fixture ─────────────────────────────

/** The HTML report's fixture run (20 cases, 3 tiers, an errored call, an XSS payload) as CaseResults. */
function fixture(): { summary: RunSummary; results: CaseResult[] } {
  const { cases, calls, summary } = buildFixture();
  const results = cases.map((c): CaseResult => {
    const mine = calls.filter((o) => o.caseId === c.caseId);
    const baseline = mine.find((o) => o.modelKey === 'gpt4')!;
    const candidate = mine.find((o) => o.modelKey !== 'gpt4') ?? baseline;
    return { caseId: c.caseId, tier: c.tier, baseline, candidate };
  });
  return { summary, results };
}

function outcome(caseId: string, modelKey: string, pass: boolean, text: string): CallOutcome {
  return {
    caseId,
    modelKey,
    repeat: 0,
    requestHash: `h-${caseId}-${modelKey}`,
    completion: { text, usage: { input: 1, output: 1 }, latencyMs: 1250 },
    grades: [{ grader: 'exact', score: pass ? 1 : 0, pass, explanation: pass ? 'matches' : `"${text.slice(0, 10)}" does not match expected "42"` }],
    pass,
    score: pass ? 1 : 0,
  };
}

function tinySummary(over: Partial<RunSummary> = {}): RunSummary {
  return {
    runId: 'r1',
    suite: 'math',
    status: 'complete',
    pass: false,
    tiers: [
      { tier: 'cheap', model: 'mini', baselineModel: 'big', cases: 1, passRate: 0, baselinePassRate: 1, delta: -1, errors: 0, outcome: 'fail', pass: false, headline: 'FAIL (screening: point estimate) — delta −100.0 pts beyond the margin 5', reasons: ['delta −100.0 pts below the −5.0 pts margin'], ci: [-1, -0.2], pValue: 1, rule: 'point' },
    ],
    models: [],
    ...over,
  };
}

// ───────────────────────────── tests ─────────────────────────────

describe('formatJunit', () => {
  it('writes one testsuite per tier with a testcase per routed case plus a gate testcase, and consistent counts', () => {
    const { summary, results } = fixture();
    const doc = parseXml(formatJunit(summary, results));
    expect(doc.name).toBe('testsuites');
    expect(doc.attrs.name).toBe('evalroute');
    const suites = all(doc, 'testsuite');
    expect(suites.map((s) => s.attrs.name)).toEqual(['tier:cheap (flash)', 'tier:mid (mixtral)', 'tier:frontier (gpt4)']);
    for (const s of suites) {
      const tier = s.attrs.name!.slice(5).split(' ')[0]!;
      const cases = all(s, 'testcase');
      expect(cases.length).toBe(results.filter((r) => r.tier === tier).length + 1);
      expect(cases.every((c) => c.attrs.classname === `support-intents.${tier}`)).toBe(true);
      expect(cases.at(-1)!.attrs.name).toBe('gate');
      expect(Number(s.attrs.tests)).toBe(cases.length);
      expect(Number(s.attrs.failures)).toBe(cases.filter((c) => child(c, 'failure')).length);
      expect(Number(s.attrs.errors)).toBe(cases.filter((c) => child(c, 'error')).length);
      expect(Number(s.attrs.skipped)).toBe(cases.filter((c) => child(c, 'skipped')).length);
    }
    const sum = (k: string) => suites.reduce((n, s) => n + Number(s.attrs[k]), 0);
    expect(Number(doc.attrs.tests)).toBe(sum('tests'));
    expect(Number(doc.attrs.tests)).toBe(results.length + 3);
    expect(Number(doc.attrs.failures)).toBe(sum('failures'));
    expect(Number(doc.attrs.errors)).toBe(sum('errors'));
  });

  it('fails regressions and both-fail cases with distinct types, errors errored calls, and passes improvements', () => {
    const { summary, results } = fixture();
    const doc = parseXml(formatJunit(summary, results));
    const cheap = all(doc, 'testsuite')[0]!;
    const byName = new Map(all(cheap, 'testcase').map((c) => [c.attrs.name!, c]));
    // Plan: 2 both-pass, 3 regressions (one XSS, one errored call), 1 improvement, 1 both-fail, 1 both-pass.
    const kinds = results.filter((r) => r.tier === 'cheap').map((r) => {
      const c = byName.get(r.caseId)!;
      return child(c, 'failure')?.attrs.type ?? (child(c, 'error') ? 'error' : child(c, 'skipped') ? 'skipped' : 'pass');
    });
    expect(kinds).toEqual(['pass', 'pass', 'regression', 'error', 'regression', 'pass', 'fail', 'pass']);

    const errored = [...byName.values()].find((c) => child(c, 'error'))!;
    expect(child(errored, 'error')!.attrs.message).toContain('flash call errored (rate_limit, HTTP 429, request req_429): HTTP 429 after 3 attempts');

    const regression = child([...byName.values()].find((c) => child(c, 'failure')?.attrs.type === 'regression')!, 'failure')!;
    expect(regression.attrs.message).toMatch(/^regression: baseline gpt4 passed, flash failed \(expected "refund" but got/);
    // The body carries the candidate output, the baseline's outcome and every grader's explanation.
    expect(regression.text).toContain('actual (flash):');
    expect(regression.text).toContain('baseline (gpt4): passed');
    expect(regression.text).toContain('- exact: FAIL (score 0) — expected "refund" but got');
    expect(regression.text).toContain('- judge: FAIL (score 0) — misses the key fact');
  });

  it('keeps hostile model output as text: the XSS payload survives escaped and decodes back exactly', () => {
    const { summary, results } = fixture();
    const xml = formatJunit(summary, results);
    expect(xml).not.toContain('<script>');
    const texts = all(parseXml(xml), 'failure').map((f) => f.text);
    expect(texts.some((t) => t.includes('<script>window.__pwned=1</script> <img src=x onerror="window.__pwned=2"> </textarea>'))).toBe(true);
  });

  it('reports baseline-tier misses as skipped (never a regression) and shows goldens when given', () => {
    const { summary, results } = fixture();
    const goldens = new Map(results.map((r) => [r.caseId, { expected: 'refund', reference: 'Refunds within 30 days.' }]));
    const doc = parseXml(formatJunit(summary, results, { goldens }));
    const frontier = all(doc, 'testsuite')[2]!;
    expect(frontier.attrs.failures).toBe('0');
    expect(frontier.attrs.skipped).toBe('1');
    const skipped = all(frontier, 'testcase').find((c) => child(c, 'skipped'))!;
    expect(child(skipped, 'skipped')!.attrs.message).toContain('baseline tier: gpt4 failed this case');
    expect(child(skipped, 'system-out')!.text).toContain('expected: refund');
    const failure = all(doc, 'failure').find((f) => f.attrs.type === 'regression')!;
    expect(failure.text).toMatch(/^expected: refund\nreference: Refunds within 30 days\.\nactual \(flash\):/);
  });

  it('puts the tier verdict and reasons on the gate testcase and the figures in properties', () => {
    const { summary, results } = fixture();
    const doc = parseXml(formatJunit(summary, results));
    const [cheap, mid, frontier] = all(doc, 'testsuite');
    const gate = (s: El) => all(s, 'testcase').find((c) => c.attrs.name === 'gate')!;
    const failure = child(gate(cheap!), 'failure')!;
    expect(failure.attrs.type).toBe('gate');
    expect(failure.attrs.message).toBe('tier cheap (flash): FAIL — regressed: at best −20.0 pts at 95% confidence, beyond the margin 3');
    expect(failure.text).toContain('pass rate 25.0% vs 75.0%, delta −50.0 pts, 95% CI −80.0 pts … −20.0 pts, p 0.031');
    expect(failure.text).toContain('- pass rate 25.0% is below the floor 85.0%');
    expect(failure.text).toContain('- drop of 50.0 pts exceeds maxRegression 3.0 pts');
    expect(child(gate(mid!), 'failure')).toBeUndefined();
    expect(child(gate(frontier!), 'system-out')!.text).toContain('(baseline tier)');

    const props = Object.fromEntries(all(cheap!, 'property').map((p) => [p.attrs.name, p.attrs.value]));
    expect(props).toMatchObject({ passRate: '0.25', baselinePassRate: '0.75', delta: '-0.5', ci: '[-0.8,-0.2]', pValue: '0.031', rule: 'noninferiority', costPer1k: '0.5', baselineCostPer1k: '10' });
    const midProps = Object.fromEntries(all(mid!, 'property').map((p) => [p.attrs.name, p.attrs.value]));
    expect(midProps.costPer1k).toBe('unpriced');
  });

  it('strips characters XML 1.0 cannot carry and escapes markup in attributes and text', () => {
    const nasty = 'a\u0000b\u0007c\u001bd\uFFFEe\uD800f & <g> "h" \'i\'\nj\u{1F600}';
    expect(escapeXmlText(nasty)).toBe('abcdef &amp; &lt;g&gt; "h" \'i\'\nj\u{1F600}');
    expect(escapeXmlAttr(nasty)).toBe('abcdef &amp; &lt;g&gt; &quot;h&quot; &apos;i&apos;&#10;j\u{1F600}');

    const bad = outcome('c"1<', 'mini', false, `answer\u0000 ${nasty}`);
    const doc = parseXml(formatJunit(tinySummary(), [{ caseId: 'c"1<', tier: 'cheap', baseline: outcome('c"1<', 'big', true, '42'), candidate: bad }]));
    const tc = all(doc, 'testcase')[0]!;
    expect(tc.attrs.name).toBe('c"1<');
    expect(tc.attrs.time).toBe('1.250');
    const f = child(tc, 'failure')!;
    expect(f.text).toContain('abcdef & <g> "h" \'i\'\n    j\u{1F600}');
    expect(f.attrs.message).toContain('("answer a" does not match expected "42")');
  });

  it('truncates long outputs at about 2 KB without splitting a surrogate pair', () => {
    const long = `${'x'.repeat(1999)}\u{1F600}${'y'.repeat(5000)}`;
    const r: CaseResult = { caseId: 'c1', tier: 'cheap', baseline: outcome('c1', 'big', true, '42'), candidate: outcome('c1', 'mini', false, long) };
    const xml = formatJunit(tinySummary(), [r]);
    const text = child(all(parseXml(xml), 'testcase')[0]!, 'failure')!.text;
    expect(text).toContain(`${'x'.repeat(1999)}… [5002 more characters]`);
    expect(text).not.toContain('y');
    expect(xml.length).toBeLessThan(4000);
  });

  it('marks every gate testcase as an error when the run is incomplete, and adds failing budgets', () => {
    const summary = tinySummary({
      status: 'incomplete',
      budgets: [
        { useCase: 'support', metric: 'usdPerMonth', limit: 100, projected: 150, used: 1.5, alertAt: 0.7, status: 'fail', message: 'projected $150/month over the $100 limit' },
        { useCase: 'search', metric: 'frontierTokensPerMonth', limit: 1e6, projected: null, used: null, alertAt: 0.7, status: 'not-evaluated', message: 'no --monthly-requests' },
      ],
    });
    summary.tiers[0]!.pass = true;
    const doc = parseXml(formatJunit(summary, []));
    const gate = all(doc, 'testcase').find((c) => c.attrs.name === 'gate')!;
    expect(child(gate, 'error')!.attrs.type).toBe('incomplete');
    expect(child(gate, 'error')!.attrs.message).toMatch(/^RUN INCOMPLETE: not enough data to gate on \(exit 3\); no tier is decided\.; tier cheap/);
    const budgets = all(doc, 'testsuite').find((s) => s.attrs.name === 'budgets')!;
    expect(budgets.attrs).toMatchObject({ tests: '2', failures: '1', skipped: '1' });
    expect(child(all(budgets, 'testcase')[0]!, 'failure')!.attrs).toMatchObject({ type: 'budget', message: 'projected $150/month over the $100 limit' });
    expect(doc.attrs).toMatchObject({ tests: '3', failures: '1', errors: '1', skipped: '1' });
  });

  it('keeps results of a tier missing from the summary instead of dropping them', () => {
    const r: CaseResult = { caseId: 'c9', tier: 'ghost', baseline: outcome('c9', 'big', true, '42'), candidate: outcome('c9', 'tiny', true, '42') };
    const doc = parseXml(formatJunit(tinySummary(), [r]));
    const ghost = all(doc, 'testsuite').find((s) => s.attrs.name === 'tier:ghost (tiny)')!;
    expect(all(ghost, 'testcase').map((c) => c.attrs.name)).toEqual(['c9', 'gate']);
  });
});
