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
import { byCodeUnits } from '../core/compare.js';
import { int } from '../core/format.js';

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
  /** Extra files of the suite folder (JSON Schemas inferred for structured tasks), by file name. */
  files: Record<string, string>;
  /** Which grader each group of cases got, for the command's summary. */
  graderChoice: GraderChoice[];
}

/** How the sampled cases of one task (or use case) are graded, decided from their draft goldens. */
export interface GraderChoice {
  /** `task` when every sampled case has one, else the `metadata.useCase` value. */
  key: string;
  by: 'task' | 'useCase';
  kind: 'exact' | 'schema' | 'judge';
  cases: number;
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
  cases.sort((a, b) => byCodeUnits(a.id, b.id));
  goldens.sort((a, b) => byCodeUnits(a.id, b.id));

  const header = [
    `# Sampled by \`evalroute suite sample\` from ${opts.logs.map((f) => basename(f)).join(', ')}:`,
    `# ${cases.length} cases, seed ${opts.seed}, stratified by ${opts.stratify.join(', ')}, PII masked: ${opts.redact.join(', ') || 'none'}.`,
    `# The goldens start as the logged outputs, marked "unreviewed": review them with`,
    `#   evalroute golden review suites/${opts.name}   and approve with   evalroute golden approve …`,
    `# A reference-mode judge compares free-text outputs with the approved golden; set judge: in the config.`,
  ].join('\n');
  const { graders, files, choice } = chooseGraders(cases, goldens);
  const doc = {
    name: opts.name,
    description: `${cases.length} production requests sampled from ${int(sample.population)} logged requests (seed ${opts.seed}, strata: ${opts.stratify.join(', ')}).`,
    cases: 'cases.jsonl',
    goldens: `../../goldens/${opts.name}.jsonl`,
    graders,
  };
  const graderNote = [
    `# Graders are chosen per ${choice[0]?.by === 'useCase' ? 'use case (metadata.useCase)' : 'task'} from the logged outputs: short labels → exact,`,
    `# JSON objects → schema (an inferred schema-*.json, fields compared with the golden), other text → judge.`,
  ].join('\n');
  return { suiteYaml: `${header}\n${graderNote}\n${stringify(doc, { lineWidth: 0 })}`, cases, goldens, withoutGolden, files, graderChoice: choice };
}

/** A label: one short line of a few words, e.g. an intent name or "positive". */
const isLabel = (v: unknown): boolean => typeof v === 'string' && v.trim().length > 0 && v.length <= 40 && !v.includes('\n') && v.trim().split(/\s+/).length <= 4;
const isJsonObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Graders that work on the sampled suite as written: the cases are grouped by task (by use case when
 * some case has no task), and each group is graded by what its draft goldens look like. Labels drawn
 * from a small set → exact; JSON objects → schema with field comparison (a permissive JSON Schema is
 * inferred from the goldens); anything else → a reference judge. With one kind for every group no
 * `when:` is needed.
 */
export function chooseGraders(cases: readonly CaseLine[], goldens: readonly GoldenLine[]): { graders: Record<string, unknown>[]; files: Record<string, string>; choice: GraderChoice[] } {
  const by: GraderChoice['by'] = cases.every((c) => c.task !== undefined) ? 'task' : 'useCase';
  const keyOf = (c: CaseLine) => (by === 'task' ? c.task! : String(c.metadata?.useCase ?? 'unknown'));
  const expected = new Map(goldens.map((g) => [g.id, g.expected]));
  const groups = new Map<string, unknown[]>();
  const sizes = new Map<string, number>();
  for (const c of cases) {
    const key = keyOf(c);
    sizes.set(key, (sizes.get(key) ?? 0) + 1);
    const list = groups.get(key) ?? [];
    if (expected.has(c.id)) list.push(expected.get(c.id));
    groups.set(key, list);
  }
  const choice: GraderChoice[] = [...groups].map(([key, values]) => {
    const distinct = new Set(values.map((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v))).size;
    const kind: GraderChoice['kind'] =
      values.length > 0 && values.every(isJsonObject) ? 'schema' : values.length > 0 && values.every(isLabel) && (values.length < 4 || distinct <= values.length / 2) ? 'exact' : 'judge';
    return { key, by, kind, cases: sizes.get(key)! };
  });
  choice.sort((a, b) => byCodeUnits(a.key, b.key));

  const single = new Set(choice.map((c) => c.kind)).size === 1;
  const when = (keys: string[]) => (single ? {} : { when: by === 'task' ? { task: keys } : { metadata: { useCase: keys } } });
  const keysOf = (kind: GraderChoice['kind']) => choice.filter((c) => c.kind === kind).map((c) => c.key);
  const graders: Record<string, unknown>[] = [];
  const files: Record<string, string> = {};
  if (keysOf('exact').length) graders.push({ type: 'exact', name: 'exact', normalize: ['trim', 'case', 'whitespace', 'punctuation'], ...when(keysOf('exact')) });
  for (const key of keysOf('schema')) {
    const file = `schema-${slug(key)}.json`;
    files[file] = `${JSON.stringify(inferSchema(groups.get(key)!.filter(isJsonObject)), null, 2)}\n`;
    graders.push({ type: 'schema', name: `schema-${slug(key)}`, schema: file, fields: { compare: true }, ...when([key]) });
  }
  if (keysOf('judge').length) graders.push({ type: 'judge', name: 'judge', mode: 'reference', ...when(keysOf('judge')) });
  return { graders, files, choice };
}

/**
 * A permissive JSON Schema for sampled JSON answers: an object with the keys every golden has as
 * required, each typed by the JSON types seen; other keys allowed. A starting point to tighten.
 */
function inferSchema(values: readonly Record<string, unknown>[]): Record<string, unknown> {
  const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v);
  const keys = [...new Set(values.flatMap((v) => Object.keys(v)))].sort();
  const properties: Record<string, unknown> = {};
  for (const k of keys) {
    const types = [...new Set(values.filter((v) => k in v).map((v) => typeOf(v[k])))].sort();
    // An integer seen beside a fraction is a number.
    const merged = types.includes('number') ? types.filter((t) => t !== 'integer') : types;
    properties[k] = { type: merged.length === 1 ? merged[0] : merged };
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    description: 'Inferred by evalroute suite sample from the sampled outputs; tighten it to what the application needs.',
    type: 'object',
    required: keys.filter((k) => values.every((v) => k in v)),
    properties,
  };
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
  for (const [name, content] of Object.entries(built.files)) writeAtomic(resolve(suiteDir, name), content);
  writeAtomic(goldensFile, toJsonl(built.goldens));
  return { suiteDir, goldensFile };
}

/** Write to a temp file beside the target, then rename: a crash never leaves a half-written file. */
export function writeAtomic(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, file);
}
