/**
 * Turning sampled log requests into a suite folder: suite.yaml, cases.jsonl (messages form) and the
 * draft goldens (the logged outputs, `status: unreviewed`) that a person then reviews and approves.
 * Provenance (log file, line, model) goes in each case's metadata, because goldens only hold
 * expectations.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { stringify } from 'yaml';
import { UsageError } from '../core/errors.js';
import type { ChatMessage } from '../core/types.js';
import type { CaseLine, GoldenLine } from '../config/schemas.js';
import { useCaseOf } from './aggregate.js';
import { maskPii, maskPiiDeep } from './pii.js';
import { isModelVersionOf } from './pricing.js';
import type { RedactionKind } from './pii.js';
import type { Candidate, SampleResult } from './sample.js';
import { signalsOf } from './signals.js';

export interface BuildSuiteOptions {
  name: string;
  redact: readonly RedactionKind[];
  /** Only outputs of this model (id, or a dated snapshot of it) become draft goldens. */
  frontierModel?: string;
  seed: number;
  stratify: readonly string[];
  logs: readonly string[];
}

export interface BuiltSuite {
  suiteYaml: string;
  cases: CaseLine[];
  goldens: GoldenLine[];
  /** Cases whose logged model was not the frontier model, so they have no draft golden. */
  withoutGolden: string[];
}

const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'case';

export function matchesModel(logged: string, wanted: string): boolean {
  return isModelVersionOf(logged, wanted);
}

/** Structured outputs that are valid JSON are kept as JSON, so schema and field graders can use them. */
function expectedOf(c: Candidate, redact: readonly RedactionKind[]): unknown {
  const text = c.record.output;
  if (c.record.structured) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object') return maskPiiDeep(parsed, redact);
    } catch {
      // Not JSON after all: keep the text.
    }
  }
  return maskPii(text, redact);
}

export function buildSuite(sample: SampleResult, opts: BuildSuiteOptions): BuiltSuite {
  const cases: CaseLine[] = [];
  const goldens: GoldenLine[] = [];
  const withoutGolden: string[] = [];
  for (const c of sample.selected) {
    const r = c.record;
    const id = `${slug(useCaseOf(r))}-${c.key.slice(0, 10)}`;
    const messages: Pick<ChatMessage, 'role' | 'content'>[] = r.messages.map((m) => ({ role: m.role, content: maskPii(m.content, opts.redact) }));
    const signals = signalsOf(r);
    const metadata: Record<string, unknown> = {
      ...maskPiiDeep(r.metadata, opts.redact),
      useCase: useCaseOf(r),
      complexity: signals.complexity,
      stratum: c.stratum,
      source: {
        file: c.file,
        line: c.line,
        model: r.model,
        format: r.format,
        ...(r.timestamp !== undefined ? { timestamp: new Date(r.timestamp).toISOString() } : {}),
        usage: r.usage,
      },
    };
    const line: CaseLine = { id, messages };
    if (typeof r.metadata.task === 'string' && r.metadata.task) line.task = r.metadata.task;
    const tags = Array.isArray(r.metadata.tags) ? r.metadata.tags.filter((t): t is string => typeof t === 'string') : [];
    if (tags.length) line.tags = tags;
    line.metadata = metadata;
    cases.push(line);
    if (opts.frontierModel && !matchesModel(r.model, opts.frontierModel)) withoutGolden.push(id);
    else goldens.push({ id, expected: expectedOf(c, opts.redact), status: 'unreviewed' });
  }
  cases.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  goldens.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const header = [
    `# Sampled by \`evalroute suite sample\` from ${opts.logs.map((f) => basename(f)).join(', ')}:`,
    `# ${cases.length} cases, seed ${opts.seed}, stratified by ${opts.stratify.join(', ')}, PII masked: ${opts.redact.join(', ') || 'none'}.`,
    `# The goldens start as the logged outputs, marked "unreviewed": review them with`,
    `#   evalroute golden review suites/${opts.name}   and approve with   evalroute golden approve …`,
    `# The reference-mode judge compares each output with the approved golden; set judge: in the config.`,
  ].join('\n');
  const doc = {
    name: opts.name,
    description: `${cases.length} production requests sampled from ${sample.population.toLocaleString('en-US')} logged requests (seed ${opts.seed}, strata: ${opts.stratify.join(', ')}).`,
    cases: 'cases.jsonl',
    goldens: `../../goldens/${opts.name}.jsonl`,
    graders: [{ type: 'judge', mode: 'reference' }],
  };
  return { suiteYaml: `${header}\n${stringify(doc, { lineWidth: 0 })}`, cases, goldens, withoutGolden };
}

export const toJsonl = (rows: readonly object[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');

/** Where a suite's goldens go by default: `<suite>/../../goldens/<name>.jsonl`. */
export function defaultGoldensFile(suiteDir: string, name: string): string {
  return resolve(suiteDir, '../../goldens', `${name}.jsonl`);
}

/**
 * Writes the suite folder and the draft goldens. Refuses to replace an existing suite folder (or its
 * goldens file) unless `force`: a sampled suite is where people's review work lives.
 */
export function writeSuite(outDir: string, built: BuiltSuite, name: string, force: boolean): { suiteDir: string; goldensFile: string } {
  const suiteDir = resolve(outDir);
  const goldensFile = defaultGoldensFile(suiteDir, name);
  if (!force) {
    if (existsSync(suiteDir) && readdirSync(suiteDir).length > 0) {
      throw new UsageError(`${suiteDir} already exists and is not empty\n  → choose another -o folder, or pass --force to replace its suite.yaml and cases.jsonl`);
    }
    if (existsSync(goldensFile)) {
      throw new UsageError(`${goldensFile} already exists (it may hold reviewed goldens)\n  → choose another suite name, or pass --force to replace it`);
    }
  }
  mkdirSync(suiteDir, { recursive: true });
  mkdirSync(dirname(goldensFile), { recursive: true });
  writeAtomic(resolve(suiteDir, 'suite.yaml'), built.suiteYaml);
  writeAtomic(resolve(suiteDir, 'cases.jsonl'), toJsonl(built.cases));
  writeAtomic(goldensFile, toJsonl(built.goldens));
  return { suiteDir, goldensFile };
}

/** Write to a temp file beside the target, then rename: a crash never leaves a half-written file. */
export function writeAtomic(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, file);
}
