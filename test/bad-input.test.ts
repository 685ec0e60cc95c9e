/**
 * Bad input, everywhere, through the real CLI: every row must end with exit 2 and a message naming the
 * file (and line where there is one), never an internal error, and leave the results database as it
 * was: it still opens, passes integrity_check and holds the earlier run with identical rows. A few rows
 * are positive controls (a BOM, a 1 MB output, unusual case ids) that must be accepted.
 *
 * Decisions this table records:
 * - cases.jsonl lines are limited to 10 MB: a longer line is a ConfigError naming file:line, read
 *   without parsing it.
 * - case ids may hold any printable text (spaces, quotes, any script, emoji); control characters
 *   (newline, tab, escapes) are rejected because ids end up in terminal lines, tables and XML.
 */
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/api/run.js';
import { ensureCliBuilt, runCli } from './support/cli.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { png } from './support/png.js';
import { arithmeticResponder, createProject, type TestProject } from './support/project.js';

let server: MockLlmServer;
let base: TestProject;
let baseRunId: string;
let baseSnapshot: string;

interface Copy {
  dir: string;
  suiteDir: string;
  dbFile: string;
  read(rel: string): string;
  write(rel: string, content: string | Buffer): void;
  edit(rel: string, fn: (text: string) => string): void;
}

function snapshot(dbFile: string, runId: string): string {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const runRow = db.prepare('select * from runs where id = ?').get(runId);
    const cases = db.prepare('select * from run_cases where run_id = ? order by ordinal').all(runId);
    const responses = db.prepare('select * from responses where run_id = ? order by id').all(runId);
    const grades = db.prepare('select * from grades where run_id = ? order by case_id, model_key, grader').all(runId);
    return JSON.stringify({ runRow, cases, responses, grades });
  } finally {
    db.close();
  }
}

function copyProject(): Copy {
  const dir = mkdtempSync(join(tmpdir(), 'evalroute-bad-'));
  cpSync(base.dir, dir, { recursive: true });
  const abs = (rel: string) => join(dir, rel);
  return {
    dir,
    suiteDir: abs('suites/arith'),
    dbFile: abs('.evalroute/test.db'),
    read: (rel) => readFileSync(abs(rel), 'utf8'),
    write: (rel, content) => writeFileSync(abs(rel), content),
    edit(rel, fn) {
      this.write(rel, fn(this.read(rel)));
    },
  };
}

const lines = (text: string) => text.trimEnd().split('\n');

/** Gives case c001 these attachments (paths relative to the suite folder). */
const attach = (p: Copy, ...refs: string[]) =>
  p.edit('suites/arith/cases.jsonl', (t) => setLine(t, 2, JSON.stringify({ id: 'c001', vars: { a: 1, b: 7 }, tags: ['hard'], attachments: refs })));

/** A file outside the copy (in its own temp folder); returns its folder, its path and that path relative to `from` (default the suite folder). */
function outsideFile(p: Copy, name: string, content: string | Buffer, from = p.suiteDir): { dir: string; file: string; ref: string } {
  const dir = mkdtempSync(join(tmpdir(), 'evalroute-outside-'));
  writeFileSync(join(dir, name), content);
  return { dir, file: join(dir, name), ref: relative(from, join(dir, name)) };
}

/** A PNG outside the copy (next to it in the temp folder); returns its folder and its path relative to the suite folder. */
const outsidePng = (p: Copy) => outsideFile(p, 'secret.png', png(4, 4));

/**
 * The files a suite's graders or the config name, each as a kind: how to make the copy name `ref`
 * (relative to the folder the kind's paths resolve from), what the file holds, and how the error names it.
 */
interface NamedFileKind {
  kind: string;
  /** Folder `ref` is relative to. */
  base: (p: Copy) => string;
  content: string;
  /** Makes the copy name `ref`; returns extra CLI args. */
  name: (p: Copy, ref: string) => string[] | void;
  /** How stderr names the key and the file, for a file called `file`. */
  names: (file: string) => RegExp;
}

const namedFileKinds: NamedFileKind[] = [
  {
    kind: 'a grader\'s JSON schema file',
    base: (p) => p.suiteDir,
    content: '{"type": "string"}',
    name: (p, ref) => void p.edit('suites/arith/suite.yaml', (t) => `${t}  - { type: schema, schema: ${JSON.stringify(ref)} }\n`),
    names: (file) => new RegExp(`suite\\.yaml \\(at graders\\.1\\.schema\\): schema file .*${file}`),
  },
  {
    kind: 'a judge prompt template',
    base: (p) => p.suiteDir,
    content: 'Grade {{output}}',
    name: (p, ref) => {
      p.edit('evalroute.config.yaml', (t) => t.replace('routing: routing.yaml', 'judge: { model: big }\nrouting: routing.yaml'));
      p.edit('suites/arith/suite.yaml', (t) => `${t}  - { type: judge, rubric: "is it right?", template: ${JSON.stringify(ref)} }\n`);
    },
    names: (file) => new RegExp(`suite\\.yaml \\(at graders\\.1\\.template\\): judge template .*${file}`),
  },
  {
    kind: 'a custom grader module',
    base: (p) => p.suiteDir,
    content: 'export default { grade: () => ({ score: 1, pass: true }) };\n',
    name: (p, ref) => void p.edit('suites/arith/suite.yaml', (t) => `${t}  - { type: custom, module: ${JSON.stringify(ref.startsWith('.') ? ref : `./${ref}`)} }\n`),
    names: (file) => new RegExp(`suite\\.yaml \\(at graders\\.1\\.module\\): grader module .*${file}`),
  },
  {
    kind: 'a recorded model\'s path:',
    base: (p) => p.dir,
    content: '{"id": "c000", "output": "7"}\n',
    name: (p, ref) => useRecordedAt(p, ref),
    names: (file) => new RegExp(`evalroute\\.config\\.yaml:\\d+ \\(at models\\.rec\\.path\\): recorded outputs of model "rec" .*${file}`),
  },
];

/** For each kind of named file: out of the project through ../, through a symlink, a named pipe, a folder. */
const namedFileRows: Row[] = namedFileKinds.flatMap((k): Row[] => [
  {
    name: `${k.kind} outside the project through ../`,
    setup: (p) => k.name(p, outsideFile(p, 'outside.txt', k.content, k.base(p)).ref),
    stderr: [k.names('outside\\.txt is outside the project'), '--allow-path'],
  },
  {
    name: `${k.kind} that is a symlink to a file outside the project`,
    setup: (p) => {
      symlinkSync(outsideFile(p, 'outside.txt', k.content).file, join(k.base(p), 'inside.txt'));
      return k.name(p, './inside.txt');
    },
    stderr: [k.names('inside\\.txt is outside the project'), '--allow-path'],
  },
  {
    name: `${k.kind} that is a named pipe (would hang)`,
    setup: (p) => {
      execFileSync('mkfifo', [join(k.base(p), 'pipe.txt')]);
      return k.name(p, './pipe.txt');
    },
    stderr: [k.names('pipe\\.txt is not a regular file')],
  },
  {
    name: `${k.kind} that is a folder`,
    setup: (p) => {
      mkdirSync(join(k.base(p), 'folder.txt'));
      return k.name(p, './folder.txt');
    },
    stderr: [k.names('folder\\.txt is a folder, not a file')],
  },
]);

/** Runs stored in the copy's database: a refused output path must stop the run before it starts. */
const runCount = (p: Copy) => {
  const db = new Database(p.dbFile, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('select count(*) from runs').pluck().get();
  } finally {
    db.close();
  }
};
const setLine = (text: string, n: number, content: string) => {
  const l = lines(text);
  l[n - 1] = content;
  return `${l.join('\n')}\n`;
};

/** Adds a `recorded` model `rec` and a routing file that sends every case to it. */
function useRecorded(p: Copy, recordings: string | Buffer): string[] {
  p.write('recorded.jsonl', recordings);
  return useRecordedAt(p, 'recorded.jsonl');
}

/** Adds a `recorded` model `rec` reading `path` (relative to the config) and a routing file that sends every case to it. */
function useRecordedAt(p: Copy, path: string): string[] {
  p.edit('evalroute.config.yaml', (t) => t.replace('routing: routing.yaml', `  rec: { provider: recorded, path: ${JSON.stringify(path)} }\nrouting: routing.yaml`));
  p.write('routing-rec.yaml', 'baseline: rec\ntiers:\n  frontier: { model: rec }\nrules:\n  - { tier: frontier }\n');
  return ['--routing', 'routing-rec.yaml'];
}

/** Recorded outputs of the four cases of the base project, all right. */
const rightRecordings = Array.from({ length: 4 }, (_, i) => JSON.stringify({ id: `c00${i}`, output: String(i + 7) })).join('\n');

interface Row {
  name: string;
  /** Mutates the copy; returns extra CLI args. */
  setup?: (p: Copy) => string[] | void;
  /** Replaces the default `run suites/arith` arguments entirely. */
  args?: (p: Copy) => string[];
  /** Positive control: must be accepted (exit 0). */
  accept?: true;
  /** What stderr must contain: the file (and line) or the flag. */
  stderr?: (string | RegExp)[];
  /** The database file is itself the bad input: it must be left byte for byte as it was. */
  storeIsInput?: true;
  /** Extra environment for the CLI. */
  env?: (p: Copy) => Record<string, string>;
  check?: (p: Copy) => void;
}

const rows: Row[] = [
  {
    name: 'malformed YAML in suite.yaml',
    setup: (p) => void p.edit('suites/arith/suite.yaml', (t) => t.replace('  - { type: exact, normalize: [trim, number] }', '  - { type: exact, normalize: [trim, number]')),
    stderr: [/suite\.yaml:\d+: invalid YAML/],
  },
  {
    name: 'malformed YAML in the config',
    setup: (p) => void p.edit('evalroute.config.yaml', (t) => t.replace('routing: routing.yaml', 'routing: [routing.yaml')),
    stderr: [/evalroute\.config\.yaml:\d+: invalid YAML/],
  },
  {
    name: 'malformed JSONL line',
    setup: (p) => void p.edit('suites/arith/cases.jsonl', (t) => setLine(t, 3, '{"id": "c002", "vars": {"a": 2,')),
    stderr: [/cases\.jsonl:3: invalid JSON/],
  },
  {
    name: 'a BOM at the start of cases.jsonl (accepted)',
    setup: (p) => void p.edit('suites/arith/cases.jsonl', (t) => `\uFEFF${t}`),
    accept: true,
  },
  {
    name: 'a 50 MB line in cases.jsonl',
    setup: (p) => {
      const huge = JSON.stringify({ id: 'huge', vars: { a: 'x'.repeat(50 * 1024 * 1024), b: 1 } });
      p.edit('suites/arith/cases.jsonl', (t) => setLine(t, 2, huge));
    },
    stderr: [/cases\.jsonl:2: line is 50\.0 MB; evalroute accepts lines of up to 10 MB/],
  },
  {
    name: 'non-UTF-8 bytes in cases.jsonl',
    setup: (p) => {
      const text = p.read('suites/arith/cases.jsonl');
      const l = lines(text);
      const bad = Buffer.from(l[2]!.replace('"arithmetic"', '"caf_"'), 'utf8');
      bad[bad.indexOf('_')] = 0xe9; // Latin-1 é
      p.write('suites/arith/cases.jsonl', Buffer.concat([Buffer.from(`${l.slice(0, 2).join('\n')}\n`), bad, Buffer.from(`\n${l.slice(3).join('\n')}\n`)]));
    },
    stderr: [/cases\.jsonl:3: the file is not valid UTF-8/],
  },
  {
    name: 'a 1 MB output from a recorded model (accepted and stored)',
    setup: (p) =>
      useRecorded(
        p,
        [0, 1, 2, 3].map((i) => JSON.stringify({ id: `c00${i}`, output: i === 1 ? `8${' '.repeat(1024 * 1024)}` : String(i + 7) })).join('\n') + '\n',
      ),
    accept: true,
    check: (p) => {
      const db = new Database(p.dbFile, { readonly: true });
      const len = (db.prepare("select max(length(text)) n from responses where model_key = 'rec'").get() as { n: number }).n;
      db.close();
      expect(len).toBe(1 + 1024 * 1024);
    },
  },
  {
    name: 'case ids with spaces, quotes, accents and emoji (accepted)',
    setup: (p) => {
      const id = 'order #7 — "rush" ‘ü’ 🚀';
      p.edit('suites/arith/cases.jsonl', (t) => `${t}${JSON.stringify({ id, vars: { a: 4, b: 7 }, tags: ['easy'] })}\n`);
      p.edit('goldens/arith.jsonl', (t) => `${t}${JSON.stringify({ id, expected: '11' })}\n`);
    },
    accept: true,
    check: (p) => {
      const db = new Database(p.dbFile, { readonly: true });
      const ids = db.prepare('select distinct case_id from responses').pluck().all();
      db.close();
      expect(ids).toContain('order #7 — "rush" ‘ü’ 🚀');
    },
  },
  {
    name: 'a case id with a newline',
    setup: (p) => void p.edit('suites/arith/cases.jsonl', (t) => setLine(t, 2, JSON.stringify({ id: 'c\n001', vars: { a: 1, b: 7 } }))),
    stderr: [/cases\.jsonl:2 \(at id\): must not contain control characters/],
  },
  {
    name: 'a template variable the case lacks',
    setup: (p) => void p.edit('suites/arith/cases.jsonl', (t) => setLine(t, 2, JSON.stringify({ id: 'c001', vars: { a: 1 }, tags: ['hard'] }))),
    stderr: [/cases\.jsonl:2: case "c001" has no variable "b"/],
  },
  {
    name: 'a routing rule with an invalid regex',
    setup: (p) => void p.edit('routing.yaml', (t) => t.replace('when: { tags: [easy] }', 'when: { match: "([a-z" }')),
    stderr: [/routing\.yaml:\d+ \(at rules\[0\]\.when\.match\): invalid regular expression/],
  },
  {
    name: 'a JSON Schema that does not compile',
    setup: (p) => {
      p.write('suites/arith/bad.schema.json', '{"type": "nonsense", "properties": 12}');
      p.edit('suites/arith/suite.yaml', (t) => `${t}  - { type: schema, schema: ./bad.schema.json }\n`);
    },
    stderr: ['bad.schema.json'],
  },
  {
    name: 'a store file that is not SQLite',
    setup: (p) => void p.write('.evalroute/test.db', 'these are my notes, not a database\n'),
    storeIsInput: true,
    stderr: [/test\.db: is not an evalroute results database \(it is not an SQLite file\)/],
  },
  {
    name: 'a store created by a newer evalroute (user_version bumped)',
    setup: (p) => {
      const db = new Database(p.dbFile);
      db.pragma('user_version = 99');
      db.close();
    },
    stderr: [/test\.db: created by a newer evalroute \(schema v99/],
    check: (p) => {
      const db = new Database(p.dbFile, { readonly: true });
      expect(db.pragma('user_version', { simple: true })).toBe(99);
      db.close();
    },
  },
  {
    name: 'an unknown model key in the routing file',
    setup: (p) => void p.edit('routing.yaml', (t) => t.replace('model: small', 'model: smol')),
    stderr: [/routing\.yaml:3 \(at tiers\.cheap\.model\): tier "cheap" uses model "smol"/],
  },
  {
    name: 'an unknown grader type',
    setup: (p) => void p.edit('suites/arith/suite.yaml', (t) => t.replace('type: exact', 'type: exactly')),
    stderr: [/suite\.yaml:\d+ \(at graders\[0\]\.type\): unknown grader type "exactly"/],
  },
  {
    name: 'duplicate case ids',
    setup: (p) => void p.edit('suites/arith/cases.jsonl', (t) => `${t}${lines(t)[1]}\n`),
    stderr: [/cases\.jsonl:5: duplicate case id "c001" on lines 2 and 5/],
  },
  {
    name: 'a golden for an unknown case',
    setup: (p) => void p.edit('goldens/arith.jsonl', (t) => `${t}{"id": "c999", "expected": "1"}\n`),
    stderr: [/arith\.jsonl:5: golden for unknown case "c999"/],
  },
  {
    name: 'a missing golden',
    setup: (p) => void p.edit('goldens/arith.jsonl', (t) => lines(t).filter((_, i) => i !== 2).join('\n') + '\n'),
    stderr: [/cases\.jsonl:3: case "c002" has no golden/],
  },
  {
    name: 'an API key written in the config file',
    setup: (p) => void p.edit('evalroute.config.yaml', (t) => t.replace('apiKeyEnv: BIG_KEY,', 'apiKey: sk-test-WRITTENINFILE-123456,')),
    stderr: [/evalroute\.config\.yaml:3 \(at models\.big\.apiKey\): API keys must never be written in config files/],
  },
  {
    name: 'no routing file (no routing: key, no --routing)',
    setup: (p) => void p.edit('evalroute.config.yaml', (t) => t.replace('routing: routing.yaml\n', '')),
    stderr: [/evalroute\.config\.yaml has no routing: key and --routing was not given/],
  },
  {
    name: 'an unknown CLI flag',
    setup: () => ['--bogus'],
    stderr: ["unknown option '--bogus'"],
  },
  {
    name: '--concurrency 0',
    setup: () => ['--concurrency', '0'],
    stderr: [/--concurrency <n>.*expected a positive integer, got "0"/],
  },
  {
    name: 'timeoutMs of 2^31 ms (Node would fire it at once)',
    setup: (p) => void p.edit('evalroute.config.yaml', (t) => t.replace('timeoutMs: 2000', 'timeoutMs: 2147483648')),
    stderr: [/evalroute\.config\.yaml:3 \(at models\.big\.timeoutMs\): must be at most 3600000 \(one hour\)/],
  },
  {
    name: 'concurrency 100000 in the config',
    setup: (p) => void p.edit('evalroute.config.yaml', (t) => t.replace('concurrency: 4, timeoutMs: 2000', 'concurrency: 100000, timeoutMs: 2000')),
    stderr: [/evalroute\.config\.yaml:3 \(at models\.big\.concurrency\): .*1000/],
  },
  {
    name: 'maxRetries 1000 and rpm 0.001',
    setup: (p) => void p.edit('evalroute.config.yaml', (t) => t.replace('maxRetries: 3 }', 'maxRetries: 1000, rpm: 0.001 }')),
    stderr: [/models\.big\.maxRetries\): Too big: expected number to be <=20/, /models\.big\.rpm\): Too small: expected number to be >=1/],
  },
  {
    name: '--repeat 100000000',
    setup: () => ['--repeat', '100000000'],
    stderr: [/--repeat <n>.*expected at most 100, got "100000000"/],
  },
  {
    name: '--concurrency 1e9',
    setup: () => ['--concurrency', '1e9'],
    stderr: [/--concurrency <n>.*expected at most 1000, got "1e9"/],
  },
  {
    name: '--deadline 10x (not a duration)',
    setup: () => ['--deadline', '10x'],
    stderr: [/--deadline <duration>.*expected a duration such as 45m, 2h, 1h30m or 90s, got "10x"/],
  },
  {
    name: '--deadline 8d (past the 7-day bound)',
    setup: () => ['--deadline', '8d'],
    stderr: [/--deadline <duration>.*expected from 1s to 7d, got "8d"/],
  },
  {
    name: '--shard 1/100000 (more shards than the bound)',
    setup: () => ['--shard', '1/100000'],
    stderr: [/--shard "1\/100000": at most 1000 shards/],
  },
  {
    name: 'cases: an absolute path outside the project (/etc/passwd)',
    setup: (p) => void p.edit('suites/arith/suite.yaml', (t) => `cases: /etc/passwd\n${t}`),
    stderr: [/suite\.yaml:1 \(at cases\): cases file \/etc\/passwd is outside the project/, '--allow-path'],
  },
  {
    name: 'an attachment outside the project through ../',
    setup: (p) => void attach(p, outsidePng(p).ref),
    stderr: [/cases\.jsonl:2:.*attachment .*secret\.png is outside the project/],
  },
  {
    name: 'an attachment that is a symlink to a file outside the project',
    setup: (p) => {
      symlinkSync(join(outsidePng(p).dir, 'secret.png'), join(p.suiteDir, 'inside.png'));
      attach(p, 'inside.png');
    },
    stderr: [/cases\.jsonl:2:.*attachment .*inside\.png is outside the project/],
  },
  {
    name: 'an attachment outside the project, allowed with --allow-path (accepted)',
    setup: (p) => {
      const outside = outsidePng(p);
      attach(p, outside.ref);
      return ['--allow-path', outside.dir];
    },
    accept: true,
  },
  {
    name: 'an attachment that is a named pipe (would hang)',
    setup: (p) => {
      execFileSync('mkfifo', [join(p.suiteDir, 'pipe.png')]);
      attach(p, 'pipe.png');
    },
    stderr: [/cases\.jsonl:2:.*attachment .*pipe\.png is not a regular file/],
  },
  {
    name: 'an attachment that is a folder',
    setup: (p) => {
      mkdirSync(join(p.suiteDir, 'images'));
      attach(p, 'images');
    },
    stderr: [/cases\.jsonl:2:.*attachment .*images is a folder, not a file/],
  },
  {
    name: 'a 40 MB attachment (refused from its size, before reading)',
    setup: (p) => {
      writeFileSync(join(p.suiteDir, 'huge.png'), '');
      truncateSync(join(p.suiteDir, 'huge.png'), 40 * 1024 * 1024);
      attach(p, 'huge.png');
    },
    stderr: [/cases\.jsonl:2:.*huge\.png is 40\.0 MB; evalroute attaches files of up to 32 MB/],
  },
  {
    name: 'cases: a folder',
    setup: (p) => void p.edit('suites/arith/suite.yaml', (t) => `cases: .\n${t}`),
    stderr: [/cases file is a folder, not a file/],
  },
  {
    name: '--config naming a folder',
    setup: () => ['--config', 'suites'],
    stderr: [/suites: config file is a folder, not a file/],
  },
  {
    name: 'a YAML alias bomb in the routing file',
    setup: (p) =>
      void p.edit('routing.yaml', (t) => `${t}x0: &x0 [a, a, a, a, a, a, a, a, a, a]\n${Array.from({ length: 8 }, (_, i) => `x${i + 1}: &x${i + 1} [${Array(10).fill(`*x${i}`).join(', ')}]`).join('\n')}\n`),
    stderr: [/routing\.yaml: routing file cannot be expanded: Excessive alias count/, 'use fewer YAML aliases'],
  },
  {
    name: '--json under a path whose parent is a file (checked before any call)',
    setup: () => ['--json', 'suites/arith/cases.jsonl/out.json'],
    stderr: [/--json suites\/arith\/cases\.jsonl\/out\.json: .*cases\.jsonl is a file, so no folder can be created there/],
    check: (p) => expect(runCount(p)).toBe(1),
  },
  {
    name: '--report naming a folder (checked before any call)',
    setup: () => ['--report', 'suites'],
    stderr: ['--report suites: is a folder, not a file'],
    check: (p) => expect(runCount(p)).toBe(1),
  },
  {
    name: '--json - and --junit - both on stdout (checked before any call)',
    setup: () => ['--json', '-', '--junit', '-'],
    stderr: ['--json - and --junit - both claim stdout\n  → write one of them to a file'],
    check: (p) => expect(runCount(p)).toBe(1),
  },
  {
    name: 'GITHUB_STEP_SUMMARY naming a folder (checked before any call)',
    env: (p) => ({ GITHUB_STEP_SUMMARY: p.suiteDir }),
    stderr: [/GITHUB_STEP_SUMMARY .*suites\/arith: is a folder, not a file/],
    check: (p) => expect(runCount(p)).toBe(1),
  },
  {
    name: '--max-error-rate above 1',
    setup: () => ['--max-error-rate', '2'],
    stderr: [/--max-error-rate <rate>.*expected a fraction between 0 and 1/],
  },
  {
    name: 'a suite folder that does not exist',
    args: () => ['run', 'suites/nope'],
    // Named as the suite folder it is (not a missing config), with the suites that do exist.
    stderr: [/^evalroute: no suite folder suites\/nope \(looked at .*suites\/nope\)$/m, /suites here: suites\/arith$/m],
  },
  {
    name: 'an empty cases file',
    setup: (p) => void p.write('suites/arith/cases.jsonl', '\n\n'),
    stderr: [/cases\.jsonl: the cases file has no cases/],
  },
  {
    name: 'a malformed line in a recorded-outputs file',
    setup: (p) => useRecorded(p, '{"id": "c000", "output": "7"}\n{"id": "c001", "output": 8}\n'),
    stderr: [/recorded\.jsonl:2: "output" must be a string/],
  },
  ...namedFileRows,
  {
    name: 'a 300 MB grader schema file (refused from its size, before reading)',
    setup: (p) => {
      writeFileSync(join(p.suiteDir, 'huge.json'), '');
      truncateSync(join(p.suiteDir, 'huge.json'), 300 * 1024 * 1024);
      namedFileKinds[0]!.name(p, './huge.json');
    },
    stderr: [/suite\.yaml \(at graders\.1\.schema\): schema file .*huge\.json is 300\.0 MB; evalroute reads files of up to 256\.0 MB here/],
  },
  {
    name: 'recorded outputs outside the project, allowed with --allow-path (accepted)',
    setup: (p) => {
      const outside = outsideFile(p, 'rec.jsonl', rightRecordings, p.dir);
      return [...useRecordedAt(p, outside.ref), '--allow-path', outside.dir];
    },
    accept: true,
  },
  {
    name: '--max-cost with an unpriced model',
    setup: (p) => {
      p.edit('evalroute.config.yaml', (t) => t.replace(', price: { input: 0.5, output: 1.5 }', ''));
      return ['--max-cost', '1'];
    },
    stderr: ['model "small" has no price; --max-cost cannot bound it'],
  },
];

beforeAll(async () => {
  ensureCliBuilt();
  server = await startMockLlmServer({ responder: arithmeticResponder() });
  base = createProject(server, { cases: 4 });
  const first = await run({ suiteDir: base.suiteDir, cwd: base.dir, env: base.env });
  expect(first.exitCode).toBe(0);
  baseRunId = first.runId;
  baseSnapshot = snapshot(base.dbFile, baseRunId);
});
afterAll(() => server.close());

describe('bad input through the real CLI', () => {
  it('has at least 20 rejected inputs and a few accepted ones', () => {
    expect(rows.filter((r) => !r.accept).length).toBeGreaterThanOrEqual(20);
    expect(rows.filter((r) => r.accept).length).toBeGreaterThanOrEqual(3);
  });

  it.concurrent.each(rows)('$name', async (row) => {
    const p = copyProject();
    const extra = row.setup?.(p) ?? [];
    const dbBefore = row.storeIsInput ? readFileSync(p.dbFile) : undefined;
    const args = row.args?.(p) ?? ['run', p.suiteDir, ...extra];
    // No wall-clock bound: on a loaded 2-core CI machine a healthy CLI start can take over 10 s with
    // the table running concurrently; a hang still fails on the test timeout.
    const out = await runCli(args, { cwd: p.dir, env: { ...base.env, ...row.env?.(p) } });

    expect(out.stderr).not.toMatch(/internal error|\n\s+at .+:\d+:\d+/);
    if (row.accept) {
      expect(out.status, out.stderr).toBe(0);
    } else {
      expect(out.status, out.stderr).toBe(2);
      for (const want of row.stderr ?? []) {
        if (typeof want === 'string') expect(out.stderr).toContain(want);
        else expect(out.stderr).toMatch(want);
      }
      // Secrets the user pasted into a file are not repeated back.
      expect(out.stderr).not.toContain('WRITTENINFILE');
      // Nothing read from a file outside the project is quoted (the first line of /etc/passwd).
      expect(out.stderr).not.toContain('root:x:0:0');
    }
    if (dbBefore) expect(readFileSync(p.dbFile).equals(dbBefore)).toBe(true);
    else expect(snapshot(p.dbFile, baseRunId)).toBe(baseSnapshot);
    row.check?.(p);
  });
});
