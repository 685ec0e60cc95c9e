/**
 * The gate as JUnit XML, so CI systems (GitLab merge requests, GitHub test reporters, Jenkins) list the
 * regressed cases next to the code change. One <testsuite> per tier, one <testcase> per routed case,
 * and a synthetic `gate` testcase per tier that carries the tier's verdict: a CI UI that only shows
 * failed tests still shows why the gate failed.
 */
import type { CaseResult, Golden, RunSummary, TierVerdict } from '../core/types.js';
import { verdictText } from './markdown.js';
import { pct } from './format.js';
import { passed, usable } from '../core/calls.js';
import { confidenceText, deltaText, gateHeadline, intervalText, isBaselineTier, pValueText, tierHeadline, tierOutcome } from './verdict-text.js';

export interface JunitOptions {
  /** Goldens by case id, so a failure can show what was expected. */
  goldens?: ReadonlyMap<string, Pick<Golden, 'expected' | 'reference'>>;
  /** Characters of model output kept per failure. Default 2,000. */
  maxOutputChars?: number;
}

const DEFAULT_MAX_OUTPUT = 2000;

/** Characters XML 1.0 cannot carry at all, not even escaped (control characters, lone surrogates). */
const INVALID_XML = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function escapeXmlText(s: string): string {
  return s.replace(INVALID_XML, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Attribute values also escape quotes and line breaks, which attribute normalisation would turn into spaces. */
export function escapeXmlAttr(s: string): string {
  return escapeXmlText(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

interface Counts {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
}

interface Case {
  xml: string;
  kind: 'pass' | 'failure' | 'error' | 'skipped';
}

export function formatJunit(summary: RunSummary, results: CaseResult[], opts: JunitOptions = {}): string {
  const byTier = new Map<string, CaseResult[]>();
  for (const r of results) {
    const list = byTier.get(r.tier);
    if (list) list.push(r);
    else byTier.set(r.tier, [r]);
  }
  const tiers: TierVerdict[] = [...summary.tiers];
  // Results of a tier the summary does not know still appear, so no case disappears from CI.
  for (const [name, list] of byTier) {
    if (!tiers.some((t) => t.tier === name)) {
      const model = list[0]!.candidate.modelKey;
      const baselineModel = list[0]!.baseline.modelKey;
      tiers.push({ tier: name, model, baselineModel, cases: list.length, passRate: 0, baselinePassRate: 0, delta: 0, errors: 0, outcome: 'inconclusive', pass: false, undecided: 'not-in-summary', headline: 'NOT DECIDED — this tier is not in the run summary', reasons: [] });
    }
  }

  const total: Counts = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  const suites = tiers.map((t) => {
    const cases = (byTier.get(t.tier) ?? []).map((r) => caseXml(summary.suite, t, r, opts));
    cases.push(gateCase(summary, t));
    const counts = count(cases);
    add(total, counts);
    return testsuite(`tier:${t.tier} (${t.model})`, counts, tierProperties(summary, t), cases);
  });

  const budgets = summary.budgets ?? [];
  if (budgets.length) {
    const cases: Case[] = budgets.map((b) => {
      const attrs = `classname="${escapeXmlAttr(`${summary.suite}.budgets`)}" name="${escapeXmlAttr(`${b.useCase} ${b.metric}`)}"`;
      if (b.status === 'fail') return { kind: 'failure', xml: `    <testcase ${attrs}>\n      <failure message="${escapeXmlAttr(b.message)}" type="budget">${escapeXmlText(b.message)}</failure>\n    </testcase>` };
      if (b.status === 'not-evaluated') return { kind: 'skipped', xml: `    <testcase ${attrs}>\n      <skipped message="${escapeXmlAttr(b.message)}"/>\n    </testcase>` };
      return { kind: 'pass', xml: `    <testcase ${attrs}>\n      <system-out>${escapeXmlText(`${b.status}: ${b.message}`)}</system-out>\n    </testcase>` };
    });
    const counts = count(cases);
    add(total, counts);
    suites.push(testsuite('budgets', counts, [], cases));
  }

  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="evalroute" tests="${total.tests}" failures="${total.failures}" errors="${total.errors}" skipped="${total.skipped}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}

function testsuite(name: string, counts: Counts, properties: [string, string][], cases: Case[]): string {
  const props = properties.length
    ? ['    <properties>', ...properties.map(([k, v]) => `      <property name="${escapeXmlAttr(k)}" value="${escapeXmlAttr(v)}"/>`), '    </properties>']
    : [];
  return [
    `  <testsuite name="${escapeXmlAttr(name)}" tests="${counts.tests}" failures="${counts.failures}" errors="${counts.errors}" skipped="${counts.skipped}">`,
    ...props,
    ...cases.map((c) => c.xml),
    '  </testsuite>',
  ].join('\n');
}

/** Numbers are written as in the JSON document (full precision) so tools can compare them exactly. */
function tierProperties(summary: RunSummary, t: TierVerdict): [string, string][] {
  const p: [string, string][] = [
    ['suite', summary.suite],
    ['runId', summary.runId],
    ['model', t.model],
    ['baselineModel', t.baselineModel],
    ['verdict', verdictText(t)],
    ['passRate', String(t.passRate)],
    ['baselinePassRate', String(t.baselinePassRate)],
    ['delta', String(t.delta)],
  ];
  if (t.ci) p.push(['ci', JSON.stringify(t.ci)], ['ciText', intervalText(t)]);
  if (t.pValue !== undefined) p.push(['pValue', String(t.pValue)], ['pValueText', pValueText(t.pValue)]);
  if (t.rule) p.push(['rule', t.rule]);
  if (t.costPer1k !== undefined) p.push(['costPer1k', t.costPer1k === null ? 'unpriced' : String(t.costPer1k)]);
  if (t.baselineCostPer1k !== undefined) p.push(['baselineCostPer1k', t.baselineCostPer1k === null ? 'unpriced' : String(t.baselineCostPer1k)]);
  if (t.savings !== undefined) p.push(['savings', t.savings === null ? 'unknown' : String(t.savings)]);
  for (const w of summary.warnings ?? []) p.push(['warning', w]);
  return p;
}

function caseXml(suite: string, t: TierVerdict, r: CaseResult, opts: JunitOptions): Case {
  const c = r.candidate;
  const time = c.completion ? ` time="${(c.completion.latencyMs / 1000).toFixed(3)}"` : '';
  const open = `    <testcase classname="${escapeXmlAttr(`${suite}.${t.tier}`)}" name="${escapeXmlAttr(r.caseId)}"${time}`;
  const wrap = (body: string, kind: Case['kind']): Case => ({ kind, xml: `${open}>\n      ${body}\n    </testcase>` });

  if (c.error) {
    const e = c.error;
    const where = [e.status !== undefined ? `HTTP ${e.status}` : '', e.requestId ? `request ${e.requestId}` : ''].filter(Boolean).join(', ');
    const message = `${c.modelKey} call errored (${e.kind}${where ? `, ${where}` : ''}): ${e.message}`;
    return wrap(`<error message="${escapeXmlAttr(message)}" type="error">${escapeXmlText(message)}</error>`, 'error');
  }
  if (!usable(c)) {
    const message = `${c.modelKey}: a grader could not grade this output (${c.grades.find((g) => g.error)?.error ?? 'grader error'}); left out of the comparison`;
    return wrap(`<error message="${escapeXmlAttr(truncate(message, 500))}" type="grade-error">${escapeXmlText(failureBody(r, opts))}</error>`, 'error');
  }
  if (r.baseline !== c && !usable(r.baseline)) {
    const message = `baseline ${r.baseline.modelKey} ${r.baseline.error ? 'call errored' : 'output could not be graded'}: the case is left out of the comparison (errors count as neither pass nor fail)`;
    return wrap(`<skipped message="${escapeXmlAttr(message)}"/>`, 'skipped');
  }
  if (passed(c)) return { kind: 'pass', xml: `${open}/>` };

  const body = failureBody(r, opts);
  // The baseline tier is the reference, so its misses are shown but never fail the build.
  if (isBaselineTier(t)) {
    return wrap(`<skipped message="${escapeXmlAttr(`baseline tier: ${c.modelKey} failed this case (the baseline is the reference, not a regression)`)}"/>\n      <system-out>${escapeXmlText(body)}</system-out>`, 'skipped');
  }
  const regression = passed(r.baseline);
  const type = regression ? 'regression' : 'fail';
  const first = c.grades.find((g) => !g.pass)?.explanation;
  const message = regression
    ? `regression: baseline ${r.baseline.modelKey} passed, ${c.modelKey} failed${first ? ` (${first})` : ''}`
    : `${c.modelKey} failed, and so did baseline ${r.baseline.modelKey}${first ? ` (${first})` : ''}`;
  return wrap(`<failure message="${escapeXmlAttr(truncate(message, 500))}" type="${type}">${escapeXmlText(body)}</failure>`, 'failure');
}

function failureBody(r: CaseResult, opts: JunitOptions): string {
  const max = opts.maxOutputChars ?? DEFAULT_MAX_OUTPUT;
  const lines: string[] = [];
  const golden = opts.goldens?.get(r.caseId);
  if (golden?.expected !== undefined) lines.push(`expected: ${showValue(golden.expected)}`);
  if (golden?.reference !== undefined) lines.push(`reference: ${truncate(golden.reference, max)}`);
  lines.push(`actual (${r.candidate.modelKey}):`, indent(truncate(r.candidate.completion?.text ?? '', max)));
  if (r.baseline !== r.candidate) {
    const b = r.baseline;
    lines.push(`baseline (${b.modelKey}): ${b.error ? `errored: ${b.error.message}` : passed(b) ? 'passed' : 'failed'}`);
  }
  if (r.candidate.grades.length) {
    lines.push('graders:');
    for (const g of r.candidate.grades) {
      lines.push(`  - ${g.grader}: ${g.pass ? 'pass' : 'FAIL'} (score ${g.score})${g.explanation ? ` — ${g.explanation}` : ''}${g.error && g.error !== g.explanation ? ` [error: ${g.error}]` : ''}`);
    }
  }
  return lines.join('\n');
}

function gateCase(summary: RunSummary, t: TierVerdict): Case {
  const open = `    <testcase classname="${escapeXmlAttr(`${summary.suite}.${t.tier}`)}" name="gate"`;
  const figures = isBaselineTier(t)
    ? `pass rate ${pct(t.passRate)} (baseline tier)`
    : `pass rate ${pct(t.passRate)} vs ${pct(t.baselinePassRate)}, delta ${deltaText(t)}, ${confidenceText(t)} CI ${intervalText(t)}, p ${pValueText(t.pValue)}`;
  const headline = `tier ${t.tier} (${t.model}): ${tierHeadline(t)}`;
  // Run-level caveats (e.g. selection bias) qualify every tier's verdict, so each gate testcase carries them.
  const body = [headline, figures, ...t.reasons.map((r) => `- ${r}`), ...(summary.warnings ?? []).map((w) => `- warning: ${w}`)].join('\n');
  if (summary.status !== 'complete') {
    const message = `${gateHeadline(summary).text}; ${headline}`;
    return { kind: 'error', xml: `${open}>\n      <error message="${escapeXmlAttr(message)}" type="incomplete">${escapeXmlText(body)}</error>\n    </testcase>` };
  }
  const outcome = tierOutcome(t);
  // An undecided tier fails the build like a regression unless its gate says onInconclusive: warn.
  if (outcome === 'fail' || (outcome === 'inconclusive' && t.onInconclusive !== 'warn')) {
    const type = outcome === 'fail' ? 'gate' : 'inconclusive';
    return { kind: 'failure', xml: `${open}>\n      <failure message="${escapeXmlAttr(headline)}" type="${type}">${escapeXmlText(body)}</failure>\n    </testcase>` };
  }
  return { kind: 'pass', xml: `${open}>\n      <system-out>${escapeXmlText(body)}</system-out>\n    </testcase>` };
}

function count(cases: Case[]): Counts {
  return {
    tests: cases.length,
    failures: cases.filter((c) => c.kind === 'failure').length,
    errors: cases.filter((c) => c.kind === 'error').length,
    skipped: cases.filter((c) => c.kind === 'skipped').length,
  };
}

function add(total: Counts, c: Counts): void {
  total.tests += c.tests;
  total.failures += c.failures;
  total.errors += c.errors;
  total.skipped += c.skipped;
}

function showValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Cuts at a code point boundary, so a truncated emoji never leaves a lone surrogate behind. */
function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max;
  const code = s.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${s.slice(0, end)}… [${s.length - end} more characters]`;
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
