/**
 * Grader types by name. suite.yaml's `graders:` entries pick a type; config loading asks this registry
 * which types exist and which need goldens, and the run builds the graders here.
 *
 * Building is async (`createGrader`, `createGraders`): `custom` graders and zod schemas are ES modules
 * loaded with `import()`. Every problem with a spec surfaces here as a ConfigError, before any model
 * is called.
 */
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { caseMatches } from '../core/case-condition.js';
import { ConfigError, GraderError } from '../core/errors.js';
import type { Case, Completion, Grade, GradeContext, Grader, GraderFactoryContext, GraderSpec, Suite } from '../core/types.js';
import { createExactGrader } from './exact.js';
import { createSchemaGrader, schemaNeedsGolden } from './schema.js';
import { judgeGraderDefinition } from './judge.js';
import { optionError, parseSpec, resolveLocalFile } from './options.js';

export interface GraderDefinition {
  /** Builds the grader; may be async (module loading). Throws ConfigError for bad options. */
  create: (spec: GraderSpec, ctx: GraderFactoryContext) => Grader | Promise<Grader>;
  /** Decided from the spec alone, so config loading can require goldens before anything is built. */
  needsGolden: (spec: GraderSpec) => boolean;
  /** A cheap extra check; a returned string is the problem, reported as a ConfigError at the spec. */
  validate?: (spec: GraderSpec) => string | undefined;
}

const registry = new Map<string, GraderDefinition>();

/** Registers (or replaces) a grader type. */
export function registerGrader(type: string, def: GraderDefinition): void {
  registry.set(type, def);
}

export function graderTypes(): string[] {
  return [...registry.keys()].sort();
}

/** False for unknown types: config loading reports those separately. */
export function graderNeedsGolden(spec: GraderSpec): boolean {
  return registry.get(spec.type)?.needsGolden(spec) ?? false;
}

export async function createGrader(spec: GraderSpec, ctx: GraderFactoryContext): Promise<Grader> {
  const def = registry.get(spec.type);
  if (!def) {
    throw optionError(ctx, 'type', `unknown grader type "${spec.type}"`, `known grader types: ${graderTypes().join(', ')}`);
  }
  const problem = def.validate?.(spec);
  if (problem !== undefined) throw optionError(ctx, '', problem);
  return def.create(spec, ctx);
}

/** The context grader `i` of a suite is built in: where it sits, and how the files it names are vetted. */
export function graderContext(suite: Pick<Suite, 'dir' | 'file' | 'checkFile'>, i: number): GraderFactoryContext {
  return { suiteDir: suite.dir, location: { file: suite.file, path: `graders.${i}` }, ...(suite.checkFile ? { checkFile: suite.checkFile } : {}) };
}

/** All graders of a suite, in order. Names must be unique: grades are stored by grader name. */
export async function createGraders(suite: Pick<Suite, 'dir' | 'file' | 'graders' | 'checkFile'>): Promise<Grader[]> {
  const graders: Grader[] = [];
  const seen = new Map<string, number>();
  for (const [i, spec] of suite.graders.entries()) {
    const ctx = graderContext(suite, i);
    // `when:` is the suite's choice of cases, not an option of the grader type: its factory never sees it.
    const { when, ...options } = spec;
    const built = await createGrader(options, ctx);
    const grader = when ? withGrade(built, built.grade.bind(built), (c) => caseMatches(when, c)) : built;
    const first = seen.get(grader.name);
    if (first !== undefined) {
      throw new ConfigError(
        { file: suite.file, path: `graders.${i}.name` },
        `graders ${first} and ${i} are both named "${grader.name}"`,
        'give each grader a unique name: (e.g. name: exact-strict)',
      );
    }
    seen.set(grader.name, i);
    graders.push(grader);
  }
  return graders;
}

/**
 * A grader with the name, needs and scope of `inner` but another `grade` (a judge grader pointed at its
 * own judge, a judge replayed from stored grades); `appliesTo` narrows the cases it grades.
 */
export function withGrade(inner: Grader, grade: Grader['grade'], appliesTo = inner.appliesTo): Grader {
  return {
    name: inner.name,
    needsGolden: inner.needsGolden,
    ...(inner.needsBaseline ? { needsBaseline: true } : {}),
    ...(appliesTo ? { appliesTo } : {}),
    grade,
  };
}

// ───────────────────────────── custom graders ─────────────────────────────

const customSpecSchema = z.strictObject({
  type: z.literal('custom'),
  name: z.string().min(1).optional(),
  module: z.string().min(1),
  export: z.string().min(1).optional(),
  needsGolden: z.boolean().optional(),
  /** Free-form options for the module's factory, which receives the whole spec. */
  options: z.record(z.string(), z.unknown()).optional(),
});

const CUSTOM_HINT =
  'custom options: module: ./my-grader.mjs (relative to the suite folder), export: name (default: the default export), ' +
  'needsGolden: true|false, options: {…}; the export is a Grader object or a factory (spec, ctx) => Grader';

function isGrader(v: unknown): v is Grader {
  return typeof v === 'object' && v !== null && typeof (v as Grader).grade === 'function';
}

/**
 * Wraps a user's grader so its grades carry the configured name and are checked: a malformed grade
 * must become a recorded grader error, never a silent pass.
 */
class CustomGrader implements Grader {
  readonly needsBaseline?: boolean;
  constructor(
    readonly name: string,
    readonly needsGolden: boolean,
    private readonly inner: Grader,
    private readonly file: string,
  ) {
    if (inner.needsBaseline) this.needsBaseline = true;
  }

  async grade(c: Case, output: Completion, ctx: GradeContext): Promise<Grade> {
    const g = (await this.inner.grade(c, output, ctx)) as Partial<Grade> | undefined;
    if (typeof g?.score !== 'number' || !(g.score >= 0 && g.score <= 1) || typeof g.pass !== 'boolean') {
      throw new GraderError(
        this.name,
        `custom grader ${this.file} returned ${truncateJson(g)} for case "${c.id}"; a grade needs score (0..1) and pass (boolean)`,
      );
    }
    return { ...(g as Grade), grader: this.name };
  }
}

function truncateJson(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 120 ? `${s.slice(0, 119)}…` : s;
}

async function createCustomGrader(spec: GraderSpec, ctx: GraderFactoryContext): Promise<Grader> {
  const o = parseSpec(customSpecSchema, spec, ctx, CUSTOM_HINT);
  const file = resolveLocalFile(o.module, ctx, 'module', 'grader module', 'module');
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw optionError(ctx, 'module', `cannot load ${file}: ${(e as Error).message}`, 'the module must be an ES module (.mjs, or .js in a "type": "module" package) that imports without errors');
  }
  const exportName = o.export ?? 'default';
  const exported = mod[exportName];
  let inner: unknown = exported;
  if (typeof exported === 'function') {
    try {
      inner = await (exported as (s: GraderSpec, c: GraderFactoryContext) => unknown)(spec, ctx);
    } catch (e) {
      throw optionError(ctx, 'module', `the grader factory in ${file} failed: ${(e as Error).message}`, 'check the options the factory expects');
    }
  }
  if (!isGrader(inner)) {
    throw optionError(
      ctx,
      o.export !== undefined ? 'export' : 'module',
      `${file}: export "${exportName}" is not a grader (an object with grade()) nor a factory returning one`,
      CUSTOM_HINT,
    );
  }
  if (inner.needsGolden && !o.needsGolden) {
    throw optionError(ctx, 'needsGolden', `the grader in ${file} needs goldens, but the spec does not say so`, 'add needsGolden: true to this grader so goldens are checked before the run');
  }
  return new CustomGrader(o.name ?? (typeof inner.name === 'string' && inner.name ? inner.name : 'custom'), o.needsGolden ?? false, inner, file);
}

// ───────────────────────────── built-ins ─────────────────────────────

registerGrader('exact', { create: createExactGrader, needsGolden: () => true });
registerGrader('schema', { create: createSchemaGrader, needsGolden: schemaNeedsGolden });
registerGrader('judge', judgeGraderDefinition);
registerGrader('custom', { create: createCustomGrader, needsGolden: (spec) => spec.needsGolden === true });
