// Writes JSON Schemas for editors (yaml-language-server) from the zod schemas that validate the files,
// so the editor's idea of a valid file can never drift from evalroute's own.
import { mkdirSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import * as s from '../dist/config/schemas.js';

const targets = {
  'evalroute.config.schema.json': [s.configSchema, 'evalroute.config.yaml'],
  'routing.schema.json': [s.routingSchema, 'routing.yaml'],
  'suite.schema.json': [s.suiteSchema, 'suites/<name>/suite.yaml'],
  'case.schema.json': [s.caseSchema, 'one line of suites/<name>/cases.jsonl'],
  'golden.schema.json': [s.goldenSchema, 'one line of goldens/<name>.jsonl'],
};

mkdirSync('schemas', { recursive: true });
for (const [file, [schema, title]] of Object.entries(targets)) {
  const json = { title: `evalroute ${title}`, ...z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' }) };
  writeFileSync(`schemas/${file}`, `${JSON.stringify(json, null, 2)}\n`);
}
