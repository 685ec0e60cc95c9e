import { basename, relative, resolve } from 'node:path';
import { DEFAULT_REDACTIONS, parseRedactionList } from '../audit/pii.js';
import { readLogRecords } from '../audit/read-logs.js';
import type { MalformedLine } from '../audit/read-logs.js';
import { StratifiedSampler, parseStratify } from '../audit/sample.js';
import { buildSuite, matchesModel, writeSuite } from '../audit/suite-build.js';
import { UsageError } from '../core/errors.js';
import { table } from '../report/format.js';
import { int } from '../core/format.js';

export interface SuiteSampleFlags {
  size: number;
  stratify: string;
  output: string;
  seed: number;
  redact?: string;
  frontierModel?: string;
  onlyFrontier?: boolean;
  force?: boolean;
}

/** `evalroute suite sample`: logs → suites/<name>/{suite.yaml,cases.jsonl} + goldens/<name>.jsonl (drafts). */
export async function suiteSampleCommand(logs: string[], flags: SuiteSampleFlags): Promise<number> {
  const cwd = process.cwd();
  const outDir = resolve(cwd, flags.output);
  const name = basename(outDir);
  if (!/^[A-Za-z0-9][\w.-]*$/.test(name)) throw new UsageError(`suite name "${name}" (from -o) must be letters, digits, ".", "_" or "-"\n  → e.g. -o suites/support-sample`);
  const redact = flags.redact !== undefined ? parseRedactionList(flags.redact) : [...DEFAULT_REDACTIONS];
  const stratify = parseStratify(flags.stratify);
  if (flags.onlyFrontier && !flags.frontierModel) throw new UsageError('--only-frontier needs --frontier-model <model id>');
  const frontier = flags.frontierModel;

  const sampler = new StratifiedSampler({
    size: flags.size,
    seed: flags.seed,
    stratify,
    ...(flags.onlyFrontier && frontier ? { filter: (r) => matchesModel(r.model, frontier) } : {}),
  });
  const files = logs.map((f) => resolve(cwd, f));
  let malformed = 0;
  const firstMalformed: MalformedLine[] = [];
  for await (const e of readLogRecords(files)) {
    if (e.ok) sampler.add(e.record, relative(cwd, e.file) || e.file, e.line);
    else if (++malformed <= 10) firstMalformed.push(e.malformed);
  }
  const sample = sampler.result();
  if (sample.selected.length === 0) {
    throw new UsageError(`no usable requests in ${logs.join(', ')}${malformed ? ` (${malformed} malformed lines)` : ''}${flags.onlyFrontier ? ` answered by ${frontier}` : ''}\n  → check the log format (evalroute audit shows what it reads)`);
  }
  const built = buildSuite(sample, {
    name,
    redact,
    ...(frontier ? { frontierModel: frontier } : {}),
    seed: flags.seed,
    stratify,
    logs: files,
  });
  const { suiteDir, goldensFile } = writeSuite(outDir, built, name, flags.force === true);

  const rows = sample.strata.map((s) => [s.stratum, int(s.requests), s.share.toFixed(1), String(s.selected)]);
  process.stdout.write(`${table([stratify.join(' / '), 'requests', 'exact share', 'sampled'], rows)}\n\n`);
  const out = (f: string) => relative(cwd, f) || f;
  process.stdout.write(
    [
      `${built.cases.length} cases from ${int(sample.population)} requests (seed ${flags.seed}); ${int(sample.duplicatesSeen)} near-duplicate candidates skipped`,
      `PII masked: ${redact.join(', ') || 'none'} — still read the cases before committing them`,
      `wrote ${out(resolve(suiteDir, 'suite.yaml'))}, ${out(resolve(suiteDir, 'cases.jsonl'))} and ${built.goldens.length} draft goldens (unreviewed) in ${out(goldensFile)}`,
      `graders by ${built.graderChoice[0]?.by === 'useCase' ? 'use case' : 'task'}: ${built.graderChoice.map((c) => `${c.key} (${c.cases}) → ${c.kind}`).join(', ')}`,
      ...(built.withoutGolden.length
        ? [`${built.withoutGolden.length} cases were answered by another model than ${frontier} and have no draft golden; record them, check their outputs, and approve with: evalroute golden approve ${out(suiteDir)} --run <id> --model <frontier key> --cases ${built.withoutGolden.slice(0, 3).join(',')}${built.withoutGolden.length > 3 ? ',…' : ''}`]
        : []),
      ...(malformed ? [`${malformed} malformed log lines skipped${firstMalformed.map((m) => `\n  ${m.file}:${m.line}: ${m.problem}`).join('')}`] : []),
      `next: evalroute golden review ${out(suiteDir)}`,
    ].join('\n') + '\n',
  );
  return 0;
}
