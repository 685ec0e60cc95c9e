import { UsageError } from '../core/errors.js';
import type { GateComparison } from '../report/base-vs-head.js';
import { buildReportData } from '../report/report-data.js';
import { renderHtmlReport } from '../report/html.js';
import { openStore } from '../store/sqlite-store.js';
import { writeOutputFile } from './output.js';

/**
 * Reads a stored run and writes its HTML report; `baseRunId` adds a run-vs-run section, `comparison`
 * (from `evalroute gate`) the base-routing-vs-head section.
 */
export function writeRunReport(dbFile: string, runId: string, outFile: string, opts: { baseRunId?: string; comparison?: GateComparison } = {}): void {
  const { baseRunId } = opts;
  const store = openStore(dbFile, { readonly: true });
  try {
    const run = store.getRun(runId);
    if (!run) throw new UsageError(`${dbFile}: no run "${runId}"\n  → list runs with: evalroute runs --db ${dbFile}`);
    if (!run.summary) throw new UsageError(`run ${run.id} has no result yet (status ${run.status}); finish it with: evalroute run … --resume ${run.id}`);
    let baseRun;
    if (baseRunId) {
      const base = store.getRun(baseRunId);
      if (!base) throw new UsageError(`${dbFile}: no base run "${baseRunId}"`);
      if (base.suite !== run.suite) throw new UsageError(`base run ${base.id} is of suite "${base.suite}", not "${run.suite}": compare runs of the same suite`);
      baseRun = { run: base, calls: store.getCalls(base.id) };
    }
    const data = buildReportData({
      run,
      cases: store.getCases(run.id),
      calls: store.getCalls(run.id),
      summary: run.summary,
      ...(baseRun ? { baseRun } : {}),
      ...(opts.comparison ? { comparison: opts.comparison } : {}),
    });
    writeOutputFile(outFile, renderHtmlReport(data), '--report');
  } finally {
    store.close();
  }
}
