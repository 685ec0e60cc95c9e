/**
 * Console text for `judge-check`: per judge grader, the confusion table of human vs judge labels, the
 * agreement and kappa with their plain-language reading, and the cases worth reading. The shapes are the
 * parts of the api result this text reads, declared here so report/ depends on core only.
 */
import { int, pct, table, usd } from './format.js';

export interface JudgeCheckGraderView {
  grader: string;
  mode: string;
  labelKind: 'pass' | 'preference';
  labelled: number;
  n: number;
  agreement: number;
  kappa: number;
  verdict: string;
  confusion: Record<string, Record<string, number>>;
  labels: string[];
  disagreements: { caseId: string; human: string; judge: string }[];
  errors: { caseId: string; error: string }[];
  skipped: { caseId: string; reason: string }[];
}

export interface JudgeCheckView {
  suite: string;
  runId: string;
  baseline: string;
  model?: string;
  judgeModel: string;
  graders: JudgeCheckGraderView[];
  usage: { calls: number; inputTokens: number; outputTokens: number; costUsd: number | null };
}

const SHOWN = 10;

function listed(ids: string[]): string {
  return ids.length <= SHOWN ? ids.join(', ') : `${ids.slice(0, SHOWN).join(', ')}, … (${ids.length - SHOWN} more)`;
}

const SKIP_TEXT: Record<string, string> = {
  'not-in-run': 'not in the run',
  'no-output': 'no stored output',
  'no-baseline-output': 'no stored baseline output',
  'baseline-only': 'answered by the baseline only (nothing to compare)',
};

function graderBlock(g: JudgeCheckGraderView, whose: string): string {
  const lines = [`${g.grader} (${g.mode} judge, ${g.labelKind === 'pass' ? 'pass/fail' : 'preference'}, outputs of ${whose}): ${g.n} of ${g.labelled} labelled cases compared`];
  if (g.n > 0) {
    // Fixed label order reads better than alphabetical: pass before fail, candidate before baseline.
    const order = g.labelKind === 'pass' ? ['pass', 'fail'] : ['candidate', 'tie', 'baseline'];
    const labels = [...order.filter((l) => g.labels.includes(l)), ...g.labels.filter((l) => !order.includes(l))];
    const rows = labels.map((h) => [`human ${h}`, ...labels.map((j) => int(g.confusion[h]?.[j] ?? 0))]);
    lines.push(table(['', ...labels.map((j) => `judge ${j}`)], rows).replace(/^/gm, '  '));
    lines.push(`  agreement ${pct(g.agreement)} (${g.n - g.disagreements.length}/${g.n}) · ${g.verdict}`);
  } else {
    lines.push(`  ${g.verdict}`);
  }
  if (g.disagreements.length) {
    lines.push(`  disagreements: ${listed(g.disagreements.map((d) => `${d.caseId} (human ${d.human}, judge ${d.judge})`))}`);
  }
  if (g.errors.length) {
    lines.push(`  judge errors (not counted): ${g.errors.length}, e.g. ${g.errors[0]!.caseId}: ${g.errors[0]!.error}`);
  }
  const byReason = new Map<string, string[]>();
  for (const s of g.skipped) byReason.set(s.reason, [...(byReason.get(s.reason) ?? []), s.caseId]);
  for (const [reason, ids] of byReason) lines.push(`  skipped, ${SKIP_TEXT[reason] ?? reason}: ${listed(ids)}`);
  return lines.join('\n');
}

export function formatJudgeCheck(r: JudgeCheckView): string {
  const head = `Judge check of suite ${r.suite}: judge model ${r.judgeModel}, stored outputs of run ${r.runId} (no model re-called)`;
  const blocks = r.graders.map((g) => {
    const whose = g.labelKind === 'pass' ? (r.model ?? `${r.baseline} (baseline)`) : `${r.model ?? 'each case\'s tier model'} vs ${r.baseline}`;
    return graderBlock(g, whose);
  });
  const u = r.usage;
  const cost = `judge calls ${int(u.calls)} · ${int(u.inputTokens)} in / ${int(u.outputTokens)} out tokens · ${usd(u.costUsd)}`;
  return [head, '', ...blocks.flatMap((b) => [b, '']), cost].join('\n');
}
