import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import type { Case, Completion, GradeContext, GraderFactoryContext, GraderSpec } from '../src/core/types.js';
import { extractJson } from '../src/graders/json-extract.js';
import { compareFields, createSchemaGrader, fieldMatches, type SchemaGrader } from '../src/graders/schema.js';
import { createGrader } from '../src/graders/registry.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/graders');
const ctx: GraderFactoryContext = { suiteDir: FIXTURES, location: { file: '/suite/suite.yaml', path: 'graders.1' } };
const aCase: Case = { id: 'r1', origin: { file: 'cases.jsonl', line: 1 } };
const out = (text: string): Completion => ({ text, usage: { input: 1, output: 1 }, latencyMs: 1 });
const gctx = (expected: unknown): GradeContext => ({
  golden: { id: 'r1', expected, origin: { file: 'goldens.jsonl', line: 3 } },
  request: { caseId: 'r1', messages: [], params: {}, repeat: 0 },
  signal: new AbortController().signal,
});
const schemaGrader = (spec: Partial<GraderSpec> = {}) => createSchemaGrader({ type: 'schema', schema: 'booking.schema.json', ...spec }, ctx);

async function configError(p: Promise<unknown>): Promise<ConfigError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ConfigError);
  return e as ConfigError;
}

describe('extractJson', () => {
  it('takes the whole text when it is JSON', () => {
    expect(extractJson(' {"a": 1}\n')).toEqual({ ok: true, value: { a: 1 }, source: 'whole' });
    expect(extractJson('[1, 2]')).toEqual({ ok: true, value: [1, 2], source: 'whole' });
  });

  it('takes a fenced block, preferring ```json over other fences', () => {
    const text = 'Here you go:\n```text\nnot json\n```\nand\n```json\n{"people": 2}\n```\nDone.';
    expect(extractJson(text)).toEqual({ ok: true, value: { people: 2 }, source: 'fenced' });
    expect(extractJson('```\n{"x": [1]}\n```')).toEqual({ ok: true, value: { x: [1] }, source: 'fenced' });
  });

  it('finds a balanced object after prose, respecting strings and escapes', () => {
    const text = 'Sure [see below]: {"note": "a } and a \\" quote {", "n": [1, {"m": 2}]} hope that helps';
    expect(extractJson(text)).toEqual({ ok: true, value: { note: 'a } and a " quote {', n: [1, { m: 2 }] }, source: 'embedded' });
  });

  it('does not return a fragment of a broken or cut-off object', () => {
    const broken = extractJson('Result: {"a": 1, "b": {"c": 2}, oops}');
    expect(broken.ok).toBe(false);
    if (!broken.ok) expect(broken.error).toMatch(/^in the value at character 9: /);
    const cut = extractJson('Result: {"a": {"b": 1}, "c": ');
    expect(cut).toEqual({ ok: false, error: 'unbalanced { at character 9, the output may be cut off' });
  });

  it('reports JSON.parse\'s message when there is nothing to find', () => {
    const r = extractJson('no json here');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/Unexpected token|is not valid JSON/);
  });
});

describe('schema grader: validation', () => {
  it('passes valid JSON, wherever the model put it', async () => {
    const g = await schemaGrader();
    for (const text of ['{"people": 2, "date": "2024-05-01"}', '```json\n{"people": 2}\n```', 'Booking: {"people": 4, "time": "19:30"}.']) {
      const grade = await g.grade(aCase, out(text), gctx(undefined));
      expect(grade, text).toMatchObject({ grader: 'schema', score: 1, pass: true, explanation: 'schema: valid' });
    }
    expect(g.needsGolden).toBe(false);
  });

  it('fails invalid JSON with the parse error', async () => {
    const grade = await (await schemaGrader()).grade(aCase, out('{"people": 2,}'), gctx(undefined));
    expect(grade).toMatchObject({ score: 0, pass: false });
    expect(grade.explanation).toMatch(/^output is not valid JSON: .*(JSON|property|token)/);
  });

  it('lists every violation by path: type, required, enum, pattern, additionalProperties, format', async () => {
    const g = await schemaGrader();
    const check = async (value: unknown) => (await g.grade(aCase, out(JSON.stringify(value)), gctx(undefined))).explanation!;
    expect(await check({ people: 'two' })).toBe('schema: 1 violation: /people: must be integer');
    expect(await check({ date: '2024-05-01' })).toBe("schema: 1 violation: /: must have required property 'people'");
    expect(await check({ people: 2, status: 'maybe' })).toBe('schema: 1 violation: /status: must be equal to one of the allowed values (["new","change","cancel"])');
    expect(await check({ people: 2, time: '7pm' })).toBe('schema: 1 violation: /time: must match pattern "^[0-2]\\d:[0-5]\\d$"');
    expect(await check({ people: 2, guests: 3 })).toBe('schema: 1 violation: /: must NOT have additional properties ("guests")');
    expect(await check({ people: 2, date: '2024-13-01' })).toBe('schema: 1 violation: /date: must match format "date"');
    expect(await check({ people: 0, contact: { fax: '1' } })).toBe(
      'schema: 2 violations: /people: must be >= 1; /contact: must NOT have additional properties ("fax")',
    );
    const grade = await g.grade(aCase, out('{"people": "x"}'), gctx(undefined));
    expect(grade).toMatchObject({ score: 0, pass: false });
  });

  it('validates with a zod schema exported by a local module', async () => {
    const g = await createSchemaGrader({ type: 'schema', zod: { module: './booking-zod.mjs', export: 'Booking' } }, ctx);
    expect((await g.grade(aCase, out('{"people": 2, "date": "2024-05-01"}'), gctx(undefined))).pass).toBe(true);
    const bad = await g.grade(aCase, out('{"people": 2.5, "date": "May 1"}'), gctx(undefined));
    expect(bad.pass).toBe(false);
    expect(bad.explanation).toMatch(/^schema: 2 violations: \/people: .*; \/date: /);
  });
});

describe('schema grader: field comparison', () => {
  const compare = (fields: Record<string, unknown> = {}) => schemaGrader({ fields: { compare: true, ...fields } });

  it('scores the fraction of expected fields that match and names each mismatch', async () => {
    const g = await compare({ normalize: ['trim', 'case'] });
    expect(g.needsGolden).toBe(true);
    const expected = { people: 2, date: '2024-05-01', first_name: 'Ana', last_name: 'Silva' };
    const grade = await g.grade(aCase, out('{"people": 3, "date": "2024-05-01", "first_name": "ANA "}'), gctx(expected));
    expect(grade.score).toBe(0.5);
    expect(grade.pass).toBe(false);
    expect(grade.explanation).toBe('schema: valid; fields: 2/4 match; people: expected 2, got 3; last_name: expected "Silva", got missing');
    const perfect = await g.grade(aCase, out(JSON.stringify(expected)), gctx(expected));
    expect(perfect).toMatchObject({ score: 1, pass: true });
  });

  it('null means absent or null; expected values missing or null in the output are mismatches', async () => {
    const g = await compare();
    const expected = { people: 2, first_name: null };
    expect((await g.grade(aCase, out('{"people": 2}'), gctx(expected))).pass).toBe(true);
    expect((await g.grade(aCase, out('{"people": 2, "first_name": null}'), gctx(expected))).pass).toBe(true);
    const extra = await g.grade(aCase, out('{"people": 2, "first_name": "Bo"}'), gctx(expected));
    expect(extra.explanation).toContain('first_name: expected null, got "Bo"');
    const nulled = await g.grade(aCase, out('{"people": 2, "first_name": null}'), gctx({ people: 2, first_name: 'Bo' }));
    expect(nulled.explanation).toContain('first_name: expected "Bo", got null');
  });

  it('compares arrays as sets by default, as lists on request', () => {
    const set = { arrays: 'set' as const, normalize: [] };
    const list = { arrays: 'list' as const, normalize: [] };
    expect(fieldMatches(['b', 'a', 'a'], ['a', 'b'], set)).toBe(true);
    expect(fieldMatches(['a'], ['a', 'b'], set)).toBe(false);
    expect(fieldMatches(['a', 'b', 'c'], ['a', 'b'], set)).toBe(false);
    expect(fieldMatches(['b', 'a'], ['a', 'b'], list)).toBe(false);
    expect(fieldMatches(['a', 'b'], ['a', 'b'], list)).toBe(true);
    expect(fieldMatches([{ y: 2, x: 1 }], [{ x: 1, y: 2 }], set)).toBe(true);
    expect(fieldMatches('a', ['a'], set)).toBe(false);
  });

  it('walks nested objects by dot path and applies normalisers per scalar', () => {
    const r = compareFields(
      { contact: { phone: ' 555-1234 ', email: 'X@Y.COM' }, people: '2' },
      { contact: { phone: '555-1234', email: 'x@y.com' }, people: 2 },
      { required: [], threshold: 1, arrays: 'set', normalize: ['trim'] },
    );
    expect(r).toMatchObject({ total: 3, matched: 2, mismatches: ['contact.email: expected "x@y.com", got "X@Y.COM"'] });
  });

  it('passes above the threshold only when every required field matches', async () => {
    const expected = { people: 2, date: '2024-05-01', time: '19:30', first_name: 'Ana' };
    const g = await compare({ threshold: 0.7, required: ['people'] });
    const oneOff = await g.grade(aCase, out('{"people": 2, "date": "2024-05-01", "time": "19:30", "first_name": "Bo"}'), gctx(expected));
    expect(oneOff).toMatchObject({ score: 0.75, pass: true });
    const wrongRequired = await g.grade(aCase, out('{"people": 3, "date": "2024-05-01", "time": "19:30", "first_name": "Ana"}'), gctx(expected));
    expect(wrongRequired).toMatchObject({ score: 0.75, pass: false });
    expect(wrongRequired.explanation).toContain('required field wrong: people');
    const twoOff = await g.grade(aCase, out('{"people": 2, "date": "2024-05-02", "time": "19:30"}'), gctx(expected));
    expect(twoOff).toMatchObject({ score: 0.5, pass: false });
  });

  it('a schema violation fails the case even when every field matches', async () => {
    const g = await compare();
    const grade = await g.grade(aCase, out('{"people": 2, "extra": true}'), gctx({ people: 2 }));
    expect(grade).toMatchObject({ score: 1, pass: false });
    expect(grade.explanation).toMatch(/^schema: 1 violation: \/: must NOT have additional properties \("extra"\); fields: 1\/1 match$/);
  });

  it('returns an error grade when the golden expected is not an object', async () => {
    const grade = await (await compare()).grade(aCase, out('{"people": 2}'), gctx('2'));
    expect(grade.error).toBe('golden for case "r1" (goldens.jsonl:3) needs an object as "expected" for field comparison');
  });
});

describe('schema grader: configuration errors', () => {
  it('names the schema file and ajv\'s message when the schema does not compile', async () => {
    const e = await configError(schemaGrader({ schema: './broken-type.schema.json' }));
    expect(e.location).toEqual({ file: '/suite/suite.yaml', path: 'graders.1.schema' });
    expect(e.problem).toContain(`schema file ${join(FIXTURES, 'broken-type.schema.json')} does not compile: schema is invalid: data/type`);
  });

  it('rejects misspelt keywords instead of accepting everything', async () => {
    const e = await configError(schemaGrader({ schema: 'misspelt.schema.json' }));
    expect(e.problem).toContain('unknown keyword: "require"');
  });

  it('explains the draft when a schema declares an older one', async () => {
    const e = await configError(schemaGrader({ schema: 'draft07.schema.json' }));
    expect(e.hint).toContain('draft 2020-12');
  });

  it('reports unreadable, missing and remote schema files', async () => {
    expect((await configError(schemaGrader({ schema: 'not-json.schema.json' }))).problem).toMatch(/is not valid JSON/);
    expect((await configError(schemaGrader({ schema: 'nope.json' }))).problem).toMatch(/nope\.json does not exist/);
    expect((await configError(schemaGrader({ schema: 'https://example.com/s.json' }))).problem).toMatch(/is not a local file path/);
  });

  it('reports bad options at the option path', async () => {
    const both = await configError(schemaGrader({ zod: { module: './booking-zod.mjs' } }));
    expect(both.problem).toContain('give exactly one of schema');
    const threshold = await configError(schemaGrader({ fields: { compare: true, threshold: 2 } }));
    expect(threshold.location.path).toBe('graders.1.fields.threshold');
    const arrays = await configError(schemaGrader({ fields: { compare: true, arrays: 'bag' } }));
    expect(arrays.location.path).toBe('graders.1.fields.arrays');
    const missingExport = await configError(createSchemaGrader({ type: 'schema', zod: { module: './booking-zod.mjs', export: 'Nope' } }, ctx));
    expect(missingExport.problem).toContain('has no zod schema exported as "Nope" (it exports Booking)');
    expect((await configError(createSchemaGrader({ type: 'schema', zod: { module: 'zod' } }, ctx))).problem).toContain('is not a local file path');
  });

  it('is registered as `schema`', async () => {
    const g = (await createGrader({ type: 'schema', name: 'booking', schema: './booking.schema.json' }, ctx)) as SchemaGrader;
    expect(g.name).toBe('booking');
    expect((await g.grade(aCase, out('{"people": 1}'), gctx(undefined))).grader).toBe('booking');
  });
});
