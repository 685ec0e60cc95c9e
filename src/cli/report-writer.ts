import { UsageError } from '../core/errors.js';
import { buildReportData } from '../report/report-data.js';
import { renderHtmlReport } from '../report/html.js';
import { openStore } from '../store/sqlite-store.js';
import { writeOutputFile } from './output.js';

/** Reads a stored run (and optionally a base run) and writes its HTML report. */
export function writeRunReport(dbFile: string, runId: string, outFile: string, baseRunId?: string): void {
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
    });
    writeOutputFile(outFile, renderHtmlReport(data), '--report');
  } finally {
    store.close();
  }
}
