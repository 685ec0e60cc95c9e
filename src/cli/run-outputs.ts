/**
 * The result files a gate run can write — JSON, Markdown (PR comment / step summary), JUnit and the HTML
 * report — shared by `run` and `gate` so both commands offer the same outputs with the same meaning.
 */
import type { CaseResult, Golden, RunSummary } from '../core/types.js';
import { topRegressed, type GateComparison } from '../report/base-vs-head.js';
import { formatJunit } from '../report/junit.js';
import { formatMarkdown } from '../report/markdown.js';
import { appendOutputFile, checkWritable, textStream, writeOutputFile } from './output.js';

export interface OutputFlags {
  json?: string;
  markdown?: string;
  junit?: string;
  report?: string;
  /** Where CI publishes the HTML report: the Markdown links it and each listed case (#case-<id>). */
  reportUrl?: string;
}

export interface RunOutputs {
  summary: RunSummary;
  results: CaseResult[];
  goldens?: ReadonlyMap<string, Golden>;
  dbFile: string;
  runId: string;
  /** The JSON document when it is more than the summary (gate adds base and moved). */
  json?: unknown;
  /** `evalroute gate`: base vs head and the moved cases, for the Markdown and the HTML report. */
  comparison?: GateComparison;
  env: Record<string, string | undefined>;
  log: (line: string) => void;
}

/**
 * Refuses, before any call is made, result paths that could not be written at the end, or two results
 * on stdout (exit 2). Returns the stream the verdict table goes to (see textStream).
 */
export function checkOutputPaths(flags: OutputFlags, env: Record<string, string | undefined>): NodeJS.WriteStream {
  checkWritable('--json', flags.json);
  checkWritable('--junit', flags.junit);
  checkWritable('--markdown', flags.markdown);
  checkWritable('--report', flags.report);
  checkWritable('GITHUB_STEP_SUMMARY', env.GITHUB_STEP_SUMMARY || undefined);
  return textStream({ '--json': flags.json, '--junit': flags.junit, '--markdown': flags.markdown, '--report': flags.report });
}

export async function writeRunOutputs(flags: OutputFlags, out: RunOutputs): Promise<void> {
  if (flags.json) writeOutputFile(flags.json, `${JSON.stringify(out.json ?? out.summary, null, 2)}\n`, '--json');
  if (flags.junit) writeOutputFile(flags.junit, formatJunit(out.summary, out.results, out.goldens ? { goldens: out.goldens } : {}), '--junit');
  const stepSummary = out.env.GITHUB_STEP_SUMMARY;
  if (flags.markdown || stepSummary) {
    const markdown = formatMarkdown(out.summary, {
      ...(flags.reportUrl ? { reportUrl: flags.reportUrl } : {}),
      ...(out.comparison ? { gate: out.comparison } : {}),
      regressed: topRegressed(out.results, out.summary.tiers, out.comparison?.moved),
    });
    if (flags.markdown) writeOutputFile(flags.markdown, markdown, '--markdown');
    // GitHub Actions renders this file on the run's summary page; appending keeps earlier steps' output.
    if (stepSummary) appendOutputFile(stepSummary, `${markdown}\n`, 'GITHUB_STEP_SUMMARY');
  }
  if (flags.report) {
    const { writeRunReport } = await import('./report-writer.js');
    writeRunReport(out.dbFile, out.runId, flags.report, out.comparison ? { comparison: out.comparison } : {});
    out.log(`HTML report: ${flags.report}`);
  }
}
