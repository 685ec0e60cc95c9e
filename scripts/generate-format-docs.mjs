// Writes docs/formats.md from the JSON Schemas (themselves generated from the zod schemas), so the
// format reference cannot drift from what evalroute validates. Run after `npm run build`.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const files = [
  ['evalroute.config.yaml', 'evalroute.config.schema.json'],
  ['routing.yaml', 'routing.schema.json'],
  ['suites/<name>/suite.yaml', 'suite.schema.json'],
  ['suites/<name>/cases.jsonl (one object per line)', 'case.schema.json'],
  ['goldens/<name>.jsonl (one object per line)', 'golden.schema.json'],
];

const typeOf = (s) => {
  if (!s) return '';
  if (s.anyOf) return s.anyOf.map(typeOf).join(' \\| ');
  if (s.enum) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.type === 'array') return `${typeOf(s.items)}[]`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object' && !s.properties) return `map of ${typeOf(s.additionalProperties)}`;
  const big = (v) => v !== undefined && Math.abs(v) < Number.MAX_SAFE_INTEGER;
  const range = [
    big(s.minimum) ? `≥ ${s.minimum}` : '',
    big(s.exclusiveMinimum) ? `> ${s.exclusiveMinimum}` : '',
    big(s.maximum) ? `≤ ${s.maximum}` : '',
  ].filter(Boolean).join(', ');
  return `${s.type ?? 'any'}${range ? ` (${range})` : ''}`;
};

function rows(schema, prefix, out) {
  const props = schema.properties ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties.properties : undefined);
  const mapPrefix = !schema.properties && schema.additionalProperties ? `${prefix}<key>.` : prefix;
  for (const [name, s] of Object.entries(props ?? {})) {
    const required = (schema.required ?? schema.additionalProperties?.required ?? []).includes(name);
    const inner = s.type === 'array' ? s.items : s;
    out.push(`| \`${mapPrefix}${name}\` | ${typeOf(s)} | ${required ? 'yes' : ''} | ${(s.description ?? inner?.description ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`);
    if (inner && (inner.properties || (inner.type === 'object' && typeof inner.additionalProperties === 'object' && inner.additionalProperties.properties))) {
      rows(inner, `${mapPrefix}${name}${s.type === 'array' ? '[]' : ''}.`, out);
    }
  }
  return out;
}

const parts = [
  '# File formats',
  '',
  'Generated from the schemas evalroute validates with (`scripts/generate-format-docs.mjs`); editors get the',
  'same schemas through `# yaml-language-server: $schema=node_modules/evalroute/schemas/<file>.schema.json`.',
  'Paths inside a file resolve relative to that file. Unknown keys are errors, reported with file, line and path.',
  '',
  'Files arrive in pull requests, so every file a config or suite names (routing file, LiteLLM and gateway configs,',
  'recorded outputs, cases, goldens, attachments, grader schemas, judge templates, custom grader modules) must resolve,',
  'symlinks followed, inside the project: the working folder, the config\'s folder, the suite folder, the folder holding',
  '`suites/`, or the git repository around the suite. It must be a regular file (not a folder, pipe or device) of at most',
  '256 MB (attachments: 32 MB), checked before it is read; anything else is exit 2 naming the file and the key. Every command',
  'that reads a suite or config (`run`, `gate`, `simulate`, `suggest`, `judge-check`, `batch collect`, `golden review`/`approve`, `audit`, `models`)',
  'takes `--allow-path <dir>` (repeatable) to allow another folder.',
];
for (const [title, file] of files) {
  const schema = JSON.parse(readFileSync(`schemas/${file}`, 'utf8'));
  parts.push('', `## ${title}`, '', schema.description ?? '', '', '| key | type | required | meaning |', '| --- | --- | --- | --- |', ...rows(schema, '', []));
}
// Formats with no schema (production logs) are written by hand below this line and kept as they are.
const HAND_WRITTEN = '<!-- Hand-written from here on: generate-format-docs.mjs keeps everything below this line. -->';
const previous = existsSync('docs/formats.md') ? readFileSync('docs/formats.md', 'utf8') : '';
const tail = previous.includes(HAND_WRITTEN) ? previous.slice(previous.indexOf(HAND_WRITTEN)) : '';
writeFileSync('docs/formats.md', `${parts.join('\n')}\n${tail ? `\n${tail}` : ''}`);
