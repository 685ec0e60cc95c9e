import { Ajv2020 } from 'ajv/dist/2020.js';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { caseSchema, configSchema, goldenSchema, routingSchema, suiteSchema } from '../src/config/schemas.js';

// The editor schemas are generated from the same zod schemas at build time (scripts/generate-schemas.mjs);
// this checks the generated form accepts every shipped file and still rejects what zod rejects.
const ajv = new Ajv2020({ strict: false, allErrors: true });
const compile = (schema: z.ZodType) => ajv.compile(z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }));
const validators = {
  config: compile(configSchema),
  routing: compile(routingSchema),
  suite: compile(suiteSchema),
  case: compile(caseSchema),
  golden: compile(goldenSchema),
};

const yamlOf = (file: string) => parse(readFileSync(file, 'utf8')) as unknown;
const jsonl = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as unknown);

describe('generated JSON Schemas', () => {
  for (const suite of readdirSync('suites')) {
    const dir = join('suites', suite);
    it(`accept the shipped ${suite} suite files`, () => {
      const check = (v: (typeof validators)[keyof typeof validators], doc: unknown, what: string) =>
        expect(v(doc), `${what}: ${ajv.errorsText(v.errors)}`).toBe(true);
      check(validators.config, yamlOf(join(dir, 'evalroute.config.yaml')), 'config');
      check(validators.suite, yamlOf(join(dir, 'suite.yaml')), 'suite');
      for (const f of readdirSync(dir).filter((f) => /^routing.*\.yaml$/.test(f))) check(validators.routing, yamlOf(join(dir, f)), f);
      for (const c of jsonl(join(dir, 'cases.jsonl')).slice(0, 50)) check(validators.case, c, 'case');
      for (const g of jsonl(join('goldens', `${suite}.jsonl`)).slice(0, 50)) check(validators.golden, g, 'golden');
    });
  }

  it('reject what the loader rejects: unknown keys, out-of-range gates, keys in files', () => {
    expect(validators.routing({ baseline: 'a', tiers: { t: { model: 'a', gate: { minPassRate: 1.5 } } }, rules: [{ tier: 't' }] })).toBe(false);
    expect(validators.routing({ baseline: 'a', tiers: { t: { model: 'a' } }, rules: [{ tier: 't' }], bogus: 1 })).toBe(false);
    expect(validators.config({ models: { m: { provider: 'openai', model: 'x', apiKey: 'sk-123' } } })).toBe(false);
  });
});
