/**
 * The result files the CLI writes for a run (`--markdown`, `--junit`, `--report`), through the same code
 * path, read back as text: for tests that check what a reviewer sees in each.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../../src/api/run.js';
import { writeRunOutputs } from '../../src/cli/run-outputs.js';

export async function runOutputs(r: RunResult): Promise<{ markdown: string; junit: string; html: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'evalroute-outputs-'));
  try {
    const file = (name: string) => join(dir, name);
    await writeRunOutputs(
      { markdown: file('gate.md'), junit: file('gate.xml'), report: file('report.html') },
      { summary: r.summary, results: r.results, goldens: r.goldens, dbFile: r.dbFile, runId: r.runId, env: {}, log: () => undefined },
    );
    const read = (name: string) => readFileSync(file(name), 'utf8');
    return { markdown: read('gate.md'), junit: read('gate.xml'), html: read('report.html') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
