/**
 * `type: schema` — the output is JSON that satisfies a JSON Schema (draft 2020-12) or a zod schema,
 * and optionally agrees field by field with the golden's expected object.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type Ajv2020Module from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { z } from 'zod';
import type { Case, Completion, Grade, GradeContext, Grader, GraderFactoryContext, GraderSpec } from '../core/types.js';
import { extractJson } from './json-extract.js';
import { compareScalar, truncate, type Normalizer } from './normalize.js';
import { normalizersSchema } from './exact.js';
import { optionError, parseSpec, resolveLocalFile } from './options.js';

type Ajv2020 = InstanceType<typeof Ajv2020Module.default>;
let ajvClass: typeof Ajv2020Module.default | undefined;
/**
 * ajv, loaded on the first JSON Schema grader: its compiler takes tens of milliseconds to load, which
 * every run (and a cached rerun most of all) paid even without a schema grader. ajv is CommonJS, so a
 * synchronous require works; the class is also its own `.default`.
 */
function newAjv(opts: ConstructorParameters<typeof Ajv2020Module.default>[0]): Ajv2020 {
  ajvClass ??= (createRequire(import.meta.url)('ajv/dist/2020.js') as typeof Ajv2020Module).default;
  return new ajvClass(opts);
}

const fieldsSchema = z.strictObject({
  compare: z.literal(true),
  required: z.array(z.string().min(1)).optional(),
  threshold: z.number().min(0).max(1).optional(),
  arrays: z.enum(['set', 'list']).optional(),
  normalize: normalizersSchema.optional(),
});

const schemaSpecSchema = z
  .strictObject({
    type: z.literal('schema'),
    name: z.string().min(1).optional(),
    schema: z.string().min(1).optional(),
    zod: z.strictObject({ module: z.string().min(1), export: z.string().min(1).optional() }).optional(),
    fields: fieldsSchema.optional(),
  })
  .refine((s) => (s.schema === undefined) !== (s.zod === undefined), { message: 'give exactly one of schema (a JSON Schema file) or zod ({module, export})' });

const HINT =
  'schema options: schema: ./schema.json (JSON Schema 2020-12, relative to the suite folder) or zod: {module: ./schemas.mjs, export: Name}; ' +
  'fields: {compare: true, required: [field, …], threshold: 0..1, arrays: set|list, normalize: [trim, case, …]}';

export function schemaNeedsGolden(spec: GraderSpec): boolean {
  const fields = spec.fields as { compare?: unknown } | undefined;
  return fields?.compare === true;
}

export interface FieldOptions {
  required: string[];
  threshold: number;
  arrays: 'set' | 'list';
  normalize: Normalizer[];
}

/** A validator answers with the list of violations (`/path: message`), empty when valid. */
export type JsonValidator = (value: unknown) => string[];

// ───────────────────────────── validators ─────────────────────────────

function ajvViolation(e: ErrorObject): string {
  const where = e.instancePath || '/';
  let detail = '';
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') detail = ` ("${String(p.additionalProperty)}")`;
  else if (e.keyword === 'enum') detail = ` (${truncate(JSON.stringify(p.allowedValues), 120)})`;
  return `${where}: ${e.message ?? e.keyword}${detail}`;
}

/** Compiles a JSON Schema file; every way it can be unusable is a ConfigError naming the file. */
export function compileJsonSchemaFile(file: string, ctx: GraderFactoryContext): JsonValidator {
  let schema: unknown;
  try {
    schema = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw optionError(ctx, 'schema', `schema file ${file} is not valid JSON: ${(e as Error).message}`, 'fix the JSON syntax of the schema file');
  }
  // strictSchema catches misspelt keywords (`require` for `required`), which would otherwise make a
  // schema silently accept everything.
  const ajv = newAjv({ allErrors: true, strictSchema: true, strictTypes: false, strictTuples: false, strictRequired: false });
  addCommonFormats(ajv);
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema as object);
  } catch (e) {
    const message = (e as Error).message;
    const hint = /draft-0\d|draft\/20\d\d-09|no schema with key or ref/.test(message)
      ? 'evalroute validates with JSON Schema draft 2020-12: set "$schema": "https://json-schema.org/draft/2020-12/schema" or remove $schema'
      : 'fix the schema (see https://json-schema.org/draft/2020-12), or check it with an online validator';
    throw optionError(ctx, 'schema', `schema file ${file} does not compile: ${message}`, hint);
  }
  return (value) => (validate(value) ? [] : (validate.errors ?? []).map(ajvViolation));
}

/** Without ajv-formats, ajv rejects schemas using `format`; these cover what extraction suites use. */
function addCommonFormats(ajv: Ajv2020): void {
  ajv.addFormat('date', /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/);
  ajv.addFormat('time', /^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/i);
  ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/i);
  ajv.addFormat('email', /^[^\s@]+@[^\s@]+\.[^\s@]+$/);
  ajv.addFormat('uri', /^[a-z][a-z0-9+.-]*:[^\s]*$/i);
  ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
}

interface ZodLike {
  safeParse(value: unknown): { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } };
}

/** Imports a zod schema exported by a local module. */
export async function loadZodValidator(ref: { module: string; export?: string }, ctx: GraderFactoryContext): Promise<JsonValidator> {
  const file = resolveLocalFile(ref.module, ctx, 'zod.module', 'zod schema module', 'module');
  const name = ref.export ?? 'default';
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw optionError(ctx, 'zod.module', `cannot load ${file}: ${(e as Error).message}`, 'the module must be an ES module (.mjs or .js with "type": "module") that imports without errors');
  }
  const schema = mod[name] as Partial<ZodLike> | undefined;
  if (typeof schema?.safeParse !== 'function') {
    const exported = Object.keys(mod).join(', ') || 'nothing';
    throw optionError(ctx, 'zod.export', `${file} has no zod schema exported as "${name}" (it exports ${exported})`, 'set zod.export to the name of the exported schema');
  }
  const zodSchema = schema as ZodLike;
  return (value) => {
    const r = zodSchema.safeParse(value);
    if (r.success) return [];
    return (r.error?.issues ?? []).map((i) => `/${i.path.map(String).join('/')}: ${i.message}`);
  };
}

// ───────────────────────────── field comparison ─────────────────────────────

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Leaf paths of the expected object: nested objects are walked, arrays and scalars are leaves. */
function leafPaths(expected: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(expected)) {
    const path = prefix + k;
    if (isPlainObject(v) && Object.keys(v).length > 0) out.push(...leafPaths(v, `${path}.`));
    else out.push(path);
  }
  return out;
}

function at(value: unknown, path: string): unknown {
  let cur = value;
  for (const key of path.split('.')) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/** Stable text for any JSON value (sorted keys), so objects inside arrays compare by content. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isPlainObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'undefined';
}

function show(v: unknown): string {
  return v === undefined ? 'missing' : truncate(JSON.stringify(v), 80);
}

function scalarsEqual(actual: unknown, expected: unknown, normalize: Normalizer[]): boolean {
  const scalar = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
  if (scalar(actual) && scalar(expected)) return compareScalar(String(actual), String(expected), normalize).equal;
  return canonical(actual) === canonical(expected);
}

/** Whether one field agrees with its expectation; null or absent expectations mean "absent or null". */
export function fieldMatches(actual: unknown, expected: unknown, opts: Pick<FieldOptions, 'arrays' | 'normalize'>): boolean {
  if (expected === null || expected === undefined) return actual === null || actual === undefined;
  if (actual === null || actual === undefined) return false;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return false;
    if (opts.arrays === 'list') {
      return actual.length === expected.length && expected.every((e, i) => scalarsEqual(actual[i], e, opts.normalize));
    }
    // As sets: every expected element is present and nothing else is (duplicates don't matter).
    const has = (list: unknown[], x: unknown) => list.some((y) => scalarsEqual(y, x, opts.normalize));
    return expected.every((e) => has(actual, e)) && actual.every((a) => has(expected, a));
  }
  return scalarsEqual(actual, expected, opts.normalize);
}

export interface FieldReport {
  score: number;
  total: number;
  matched: number;
  mismatches: string[];
  requiredFailed: string[];
}

export function compareFields(actual: unknown, expected: Record<string, unknown>, opts: FieldOptions): FieldReport {
  const paths = [...new Set([...leafPaths(expected), ...opts.required])];
  const mismatches: string[] = [];
  const requiredFailed: string[] = [];
  for (const path of paths) {
    const e = at(expected, path);
    const a = at(actual, path);
    if (fieldMatches(a, e, opts)) continue;
    mismatches.push(`${path}: expected ${e === undefined ? 'absent or null' : show(e)}, got ${show(a)}`);
    if (opts.required.includes(path)) requiredFailed.push(path);
  }
  const matched = paths.length - mismatches.length;
  return { score: paths.length ? matched / paths.length : 1, total: paths.length, matched, mismatches, requiredFailed };
}

// ───────────────────────────── the grader ─────────────────────────────

export class SchemaGrader implements Grader {
  readonly needsGolden: boolean;
  constructor(
    readonly name: string,
    private readonly validate: JsonValidator,
    private readonly fields?: FieldOptions,
  ) {
    this.needsGolden = fields !== undefined;
  }

  async grade(c: Case, output: Completion, ctx: GradeContext): Promise<Grade> {
    let expected: Record<string, unknown> | undefined;
    if (this.fields) {
      const e = ctx.golden?.expected;
      if (!isPlainObject(e)) {
        const problem = ctx.golden
          ? `golden for case "${c.id}" (${ctx.golden.origin.file}:${ctx.golden.origin.line}) needs an object as "expected" for field comparison`
          : `case "${c.id}" has no golden`;
        return { grader: this.name, score: 0, pass: false, error: problem, explanation: problem };
      }
      expected = e;
    }
    return this.check(output.text, expected);
  }

  /** The verdict for one output; exposed for tests and re-grading stored outputs. */
  check(text: string, expected?: Record<string, unknown>): Grade {
    const parsed = extractJson(text);
    if (!parsed.ok) {
      return { grader: this.name, score: 0, pass: false, explanation: `output is not valid JSON: ${parsed.error}` };
    }
    const violations = this.validate(parsed.value);
    const parts: string[] = [];
    if (violations.length) {
      const shown = violations.slice(0, 10).join('; ');
      parts.push(`schema: ${violations.length} violation${violations.length > 1 ? 's' : ''}: ${shown}${violations.length > 10 ? '; …' : ''}`);
    } else parts.push('schema: valid');

    if (!this.fields || !expected) {
      return { grader: this.name, score: violations.length ? 0 : 1, pass: violations.length === 0, explanation: parts.join('; ') };
    }
    const f = compareFields(parsed.value, expected, this.fields);
    const pass = violations.length === 0 && f.requiredFailed.length === 0 && f.score >= this.fields.threshold - 1e-12;
    parts.push(`fields: ${f.matched}/${f.total} match`);
    if (f.requiredFailed.length) parts.push(`required field${f.requiredFailed.length > 1 ? 's' : ''} wrong: ${f.requiredFailed.join(', ')}`);
    if (f.mismatches.length) parts.push(f.mismatches.join('; '));
    return { grader: this.name, score: f.score, pass, explanation: parts.join('; ') };
  }
}

export async function createSchemaGrader(spec: GraderSpec, ctx: GraderFactoryContext): Promise<SchemaGrader> {
  const o = parseSpec(schemaSpecSchema, spec, ctx, HINT);
  const validate = o.schema !== undefined
    ? compileJsonSchemaFile(resolveLocalFile(o.schema, ctx, 'schema', 'schema file', 'file'), ctx)
    : await loadZodValidator({ module: o.zod!.module, ...(o.zod!.export !== undefined ? { export: o.zod!.export } : {}) }, ctx);
  const fields: FieldOptions | undefined = o.fields && {
    required: o.fields.required ?? [],
    threshold: o.fields.threshold ?? 1,
    arrays: o.fields.arrays ?? 'set',
    normalize: o.fields.normalize ?? ['trim'],
  };
  return new SchemaGrader(o.name ?? 'schema', validate, fields);
}
