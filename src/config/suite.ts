/** Loading a suite folder: suite.yaml, its cases and goldens, cross-checked against each other. */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { caseMatches } from '../core/case-condition.js';
import { ConfigError } from '../core/errors.js';
import type { Case, CaseCondition, Golden, GraderSpec, Suite } from '../core/types.js';
import { AttachmentLoader } from './attachments.js';
import { type ProjectRoots, vetNamedFile } from './files.js';
import { checkTemplate } from './prompt.js';
import { rejectSecretParams } from './secrets.js';
import { caseSchema, goldenSchema, suiteSchema } from './schemas.js';
import { readJsonl, readYaml } from './source.js';

export interface LoadSuiteOptions {
  /** Registered grader types. */
  graderTypes: readonly string[];
  /** True when the grader this spec builds cannot work without a golden for every case. */
  graderNeedsGolden: (spec: GraderSpec) => boolean;
  /**
   * Folders the files the suite names (cases, goldens, attachments) may come from; the suite folder and
   * its project (the folder holding suites/, the git repository) always are. Not given: no confinement (library callers that trust their files).
   */
  roots?: ProjectRoots;
}

export const SUITE_FILE_NAME = 'suite.yaml';

/** `dir` is the suite folder (or its suite.yaml). */
export function loadSuite(dir: string, opts: LoadSuiteOptions): Suite {
  const target = resolve(dir);
  const suiteDir = existsSync(target) && statSync(target).isFile() ? dirname(target) : target;
  const file = resolve(suiteDir, SUITE_FILE_NAME);
  const src = readYaml(file, suiteSchema, {
    what: 'suite file',
    hint: `a suite is a folder with ${SUITE_FILE_NAME}, e.g. suites/<name>/${SUITE_FILE_NAME}; check the suite path`,
    precheck: (value, locate) => rejectSecretParams(value.params, ['params'], locate),
  });
  const { data, at } = src;
  const name = data.name ?? basename(suiteDir);

  const graders = (data.graders as GraderSpec[]).map((g, i) => {
    if (!opts.graderTypes.includes(g.type)) {
      throw new ConfigError(at(['graders', i, 'type']), `unknown grader type "${g.type}"`, `known grader types: ${opts.graderTypes.join(', ')}`);
    }
    if (g.when === undefined) return g;
    const when = g.when as { task?: string | string[]; tags?: string | string[]; metadata?: Record<string, unknown> };
    if (Object.keys(when).length === 0) {
      throw new ConfigError(at(['graders', i, 'when']), 'empty when: matches every case', 'add task:, tags: or metadata:, or drop when: to grade every case');
    }
    const c: CaseCondition = {};
    if (when.task !== undefined) c.task = typeof when.task === 'string' ? [when.task] : when.task;
    if (when.tags !== undefined) c.tags = typeof when.tags === 'string' ? [when.tags] : when.tags;
    if (when.metadata !== undefined) c.metadata = when.metadata;
    return { ...g, when: c };
  });
  const prompt = { ...(data.prompt?.system !== undefined ? { system: data.prompt.system } : {}), ...(data.prompt?.user !== undefined ? { user: data.prompt.user } : {}) };
  for (const part of ['system', 'user'] as const) {
    const template = prompt[part];
    if (template === undefined) continue;
    const problem = checkTemplate(template);
    if (problem) throw new ConfigError(at(['prompt', part]), `invalid Handlebars template: ${problem}`, 'fix the template syntax ({{var}}, {{#each list}}…{{/each}})');
  }

  const roots = opts.roots?.withSuite(suiteDir);
  const casesFile = resolve(suiteDir, data.cases ?? 'cases.jsonl');
  roots?.check(casesFile, 'cases file', at(['cases']));
  const cases = loadCases(casesFile, file, prompt.user !== undefined, new AttachmentLoader(suiteDir, roots));

  const goldensFile = data.goldens !== undefined ? resolve(suiteDir, data.goldens) : resolve(suiteDir, '../../goldens', `${name}.jsonl`);
  if (data.goldens !== undefined || existsSync(goldensFile)) roots?.check(goldensFile, 'goldens file', at(['goldens']));
  checkEveryCaseGraded(cases, graders, file);
  const appliesTo = (g: GraderSpec, c: Case) => g.when === undefined || caseMatches(g.when, c);
  const needing = graders.filter((g) => opts.graderNeedsGolden(g));
  let goldens = new Map<string, Golden>();
  let goldensRead = false;
  if (existsSync(goldensFile) || data.goldens !== undefined || needing.length > 0) {
    const why = needing.length ? `grader "${needing[0]!.name ?? needing[0]!.type}" needs a golden for every case` : `named by goldens: in ${file}`;
    goldens = loadGoldens(goldensFile, cases, why);
    goldensRead = true;
  }
  if (needing.length > 0) {
    // Only the cases a golden-needing grader grades need a golden (a judged free-text case may have none).
    const missing = cases.filter((c) => !goldens.has(c.id) && needing.some((g) => appliesTo(g, c)));
    const first = missing[0];
    if (first) {
      const others = missing.length > 1 ? ` (and ${missing.length - 1} more case${missing.length > 2 ? 's' : ''})` : '';
      const grader = needing.find((g) => appliesTo(g, first))!;
      throw new ConfigError(
        first.origin,
        `case "${first.id}" has no golden in ${goldensFile}${others}, but grader "${grader.name ?? grader.type}" needs one`,
        'add a golden line {"id": …, "expected": …} for it (evalroute golden approve), or remove the case',
      );
    }
  }

  return {
    name,
    dir: suiteDir,
    file,
    ...(data.description !== undefined ? { description: data.description } : {}),
    prompt,
    graders,
    params: data.params ?? {},
    cases,
    goldens,
    casesFile,
    ...(goldensRead ? { goldensFile } : {}),
    checkFile: (f, what, where) => vetNamedFile(f, what, where, { roots }),
  };
}

/** With graders chosen per case, a case no grader applies to would silently count as a pass. */
function checkEveryCaseGraded(cases: readonly Case[], graders: readonly GraderSpec[], suiteFile: string): void {
  if (graders.some((g) => g.when === undefined)) return;
  const ungraded = cases.filter((c) => !graders.some((g) => caseMatches(g.when!, c)));
  const first = ungraded[0];
  if (!first) return;
  const others = ungraded.length > 1 ? ` (and ${ungraded.length - 1} more)` : '';
  const what = [first.task !== undefined ? `task "${first.task}"` : 'no task', first.tags?.length ? `tags ${first.tags.join(', ')}` : 'no tags'].join(', ');
  throw new ConfigError(
    first.origin,
    `case "${first.id}" (${what}) matches no grader's when: in ${suiteFile}${others}`,
    "add its task or a tag to some grader's when:, or add a grader without when: (it grades every case)",
  );
}

function loadCases(file: string, suiteFile: string, hasUserTemplate: boolean, attachments: AttachmentLoader): Case[] {
  const records = readJsonl(file, caseSchema, 'cases file', `set cases: in ${suiteFile} or create the file`);
  const seen = new Map<string, number>();
  const cases: Case[] = [];
  for (const { value: v, line } of records) {
    const first = seen.get(v.id);
    if (first !== undefined) {
      throw new ConfigError({ file, line }, `duplicate case id "${v.id}" on lines ${first} and ${line}`, 'case ids must be unique within a suite');
    }
    seen.set(v.id, line);
    if ((v.vars === undefined) === (v.messages === undefined)) {
      throw new ConfigError(
        { file, line },
        `case "${v.id}" must have exactly one of "vars" and "messages"${v.vars ? ' (it has both)' : ''}`,
        'use "vars" to fill the suite prompt template, or "messages" for a ready conversation',
      );
    }
    if (v.vars !== undefined && !hasUserTemplate) {
      throw new ConfigError({ file, line }, `case "${v.id}" has vars but ${suiteFile} has no prompt.user template to fill`, 'add prompt: { user: "…{{var}}…" } to suite.yaml, or give the case "messages"');
    }
    const c: Case = { id: v.id, origin: { file, line } };
    if (v.vars !== undefined) c.vars = v.vars;
    const where = { caseId: v.id, origin: { file, line } };
    if (v.messages !== undefined) {
      const misplaced = v.messages.findIndex((m) => m.attachments && m.role !== 'user');
      if (misplaced >= 0) {
        throw new ConfigError({ file, line }, `case "${v.id}": messages[${misplaced}] is a ${v.messages[misplaced]!.role} message with attachments`, 'the APIs take images and PDFs on user messages only; move the attachments to a user message');
      }
      c.messages = v.messages.map(({ attachments: refs, ...m }) => (refs ? { ...m, attachments: refs.map((r) => attachments.load(r, where)) } : m));
    }
    if (v.attachments !== undefined) {
      if (c.messages && !c.messages.some((m) => m.role === 'user')) {
        throw new ConfigError({ file, line }, `case "${v.id}" has attachments but no user message to attach them to`, 'add a user message, or attach the files on a message with "attachments"');
      }
      c.attachments = v.attachments.map((r) => attachments.load(r, where));
    }
    if (v.task !== undefined) c.task = v.task;
    if (v.tags !== undefined) c.tags = v.tags;
    if (v.metadata !== undefined) c.metadata = v.metadata;
    if (v.params !== undefined) c.params = v.params;
    cases.push(c);
  }
  if (cases.length === 0) throw new ConfigError({ file }, 'the cases file has no cases', 'add one JSON object per line: {"id": "…", "vars": {…}}');
  return cases;
}

function loadGoldens(file: string, cases: Case[], why: string): Map<string, Golden> {
  const records = readJsonl(file, goldenSchema, 'goldens file', `${why}; create it or set goldens: in suite.yaml`);
  const caseIds = new Set(cases.map((c) => c.id));
  const goldens = new Map<string, Golden>();
  for (const { value: v, line } of records) {
    const prev = goldens.get(v.id);
    if (prev) {
      throw new ConfigError({ file, line }, `duplicate golden for case "${v.id}" on lines ${prev.origin.line} and ${line}`, 'keep one golden per case');
    }
    if (!caseIds.has(v.id)) {
      throw new ConfigError({ file, line }, `golden for unknown case "${v.id}"`, `no case with this id in ${cases[0]!.origin.file}; fix the id or remove the line`);
    }
    const g: Golden = { id: v.id, origin: { file, line } };
    if (v.expected !== undefined) g.expected = v.expected;
    if (v.reference !== undefined) g.reference = v.reference;
    if (v.rubric !== undefined) g.rubric = v.rubric;
    if (v.human !== undefined) {
      g.human = {};
      if (v.human.pass !== undefined) g.human.pass = v.human.pass;
      if (v.human.preference !== undefined) g.human.preference = v.human.preference;
    }
    if (v.status !== undefined) g.status = v.status;
    goldens.set(v.id, g);
  }
  return goldens;
}
