import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, UsageError } from '../src/core/errors.js';
import type { GraderSpec } from '../src/core/types.js';
import { findConfigFile, loadConfig, loadRouting, loadSuite } from '../src/config/load.js';
import { renderCase } from '../src/config/prompt.js';
import { handlebars } from '../src/core/handlebars.js';
import { readText } from '../src/config/source.js';

const FIXTURE = resolve(import.meta.dirname, 'fixtures/config/project');
const PROVIDERS = ['openai', 'anthropic', 'recorded'];
const suiteOpts = {
  graderTypes: ['exact', 'schema', 'judge'],
  graderNeedsGolden: (s: GraderSpec) => s.type === 'exact',
};

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

/** Writes a throwaway project; returns its root. */
function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'evalroute-config-'));
  roots.push(root);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), content);
  }
  return root;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

/** Asserts the error points at `file:line` (and `path` when given) and says `text`. */
function expectAt(e: ConfigError, file: string, line: number | undefined, text: RegExp, path?: string) {
  expect(e.code).toBe('CONFIG_INVALID');
  expect(e.exitCode).toBe(2);
  expect(e.location.file).toBe(file);
  expect(e.location.line).toBe(line);
  if (path) expect(e.location.path).toBe(path);
  expect(e.message).toContain(line === undefined ? file : `${file}:${line}`);
  expect(e.message).toMatch(text);
}

const GOOD_CONFIG = `models:
  big: { provider: openai, model: gpt-4o }
  small: { provider: recorded, path: small.jsonl }
`;

function loadRoutingText(text: string) {
  const root = project({ 'evalroute.config.yaml': GOOD_CONFIG, 'routing.yaml': text });
  const config = loadConfig('evalroute.config.yaml', { cwd: root, knownProviders: PROVIDERS });
  return { file: join(root, 'routing.yaml'), load: () => loadRouting(join(root, 'routing.yaml'), config) };
}

const SUITE_YAML = `prompt:
  user: "{{question}}"
graders:
  - { type: exact }
`;

function suiteProject(files: { suite?: string; cases: string; goldens?: string }) {
  const root = project({
    'suites/s/suite.yaml': files.suite ?? SUITE_YAML,
    'suites/s/cases.jsonl': files.cases,
    ...(files.goldens !== undefined ? { 'goldens/s.jsonl': files.goldens } : {}),
  });
  return {
    dir: join(root, 'suites/s'),
    cases: join(root, 'suites/s/cases.jsonl'),
    goldens: join(root, 'goldens/s.jsonl'),
    suite: join(root, 'suites/s/suite.yaml'),
  };
}

describe('config: good path', () => {
  it('loads and normalises evalroute.config.yaml', () => {
    const cfg = loadConfig(join(FIXTURE, 'evalroute.config.yaml'), { cwd: '/elsewhere', knownProviders: PROVIDERS });
    expect(cfg.file).toBe(join(FIXTURE, 'evalroute.config.yaml'));
    expect(cfg.store).toBe(join(FIXTURE, '.evalroute/test.db'));
    expect(cfg.routing).toBe(join(FIXTURE, 'routing.yaml'));
    expect(cfg.judge).toEqual({ model: 'gpt4o' });
    expect(cfg.content).toBe(readFileSync(join(FIXTURE, 'evalroute.config.yaml'), 'utf8'));
    expect(cfg.models.get('gpt4o')).toEqual({
      key: 'gpt4o',
      provider: 'openai',
      model: 'gpt-4o',
      baseURL: 'https://api.example.test/v1',
      apiKeyEnv: 'MY_OPENAI_KEY',
      params: { temperature: 0 },
      price: { input: 2.5, output: 10, cachedInput: 1.25 },
      concurrency: 8,
      timeoutMs: 60000,
      maxRetries: 4,
    });
    expect(cfg.models.get('flash')).toEqual({
      key: 'flash',
      provider: 'recorded',
      model: 'flash',
      params: {},
      price: { input: 0.075, output: 0.3 },
      concurrency: 2,
      timeoutMs: 60000,
      maxRetries: 4,
      path: join(FIXTURE, 'recorded/flash.jsonl'),
    });
  });

  it('puts the store in the working folder when the config names none', () => {
    const root = project({ 'evalroute.config.yaml': GOOD_CONFIG });
    const cfg = loadConfig('evalroute.config.yaml', { cwd: root, knownProviders: PROVIDERS });
    expect(cfg.store).toBe(join(root, '.evalroute/evalroute.db'));
    expect(cfg.routing).toBeUndefined();
    expect('judge' in cfg).toBe(false);
  });

  it('uses the provider registry when no provider list is given', () => {
    const cfg = loadConfig(join(FIXTURE, 'evalroute.config.yaml'), { cwd: FIXTURE });
    expect([...cfg.models.keys()]).toEqual(['gpt4o', 'flash']);
  });

  it('reads the routing file once: the text read to tell its format is the text parsed', () => {
    const cfg = loadConfig(join(FIXTURE, 'evalroute.config.yaml'), { cwd: FIXTURE, knownProviders: PROVIDERS });
    const reads: string[] = [];
    const r = loadRouting(cfg.routing!, cfg, { read: (file, what, hint) => (reads.push(file), readText(file, what, hint)) });
    expect(r.tiers.get('cheap')?.model).toBe('flash');
    expect(reads).toEqual([join(FIXTURE, 'routing.yaml')]);
  });

  it('loads routing.yaml: names, defaults, hash of the raw bytes', () => {
    const cfg = loadConfig(join(FIXTURE, 'evalroute.config.yaml'), { cwd: FIXTURE, knownProviders: PROVIDERS });
    const r = loadRouting(cfg.routing!, cfg);
    expect(r.file).toBe(join(FIXTURE, 'routing.yaml'));
    expect(r.hash).toBe(createHash('sha256').update(readFileSync(r.file)).digest('hex'));
    expect(r.baseline).toBe('gpt4o');
    expect(r.tiers.get('cheap')).toEqual({
      name: 'cheap',
      model: 'flash',
      gate: { minPassRate: 0.85, maxRegression: 0.03, rule: 'noninferiority', confidence: 0.95 },
    });
    expect(r.tiers.get('frontier')).toEqual({ name: 'frontier', model: 'gpt4o', gate: {} });
    expect(r.rules.map((x) => x.name)).toEqual(['intents', 'cats', 'rule-3', 'rule-4']);
    expect(r.rules[0]!.when).toEqual({ task: ['classification', 'extraction'] });
    expect(r.rules[2]!.when).toEqual({ maxInputTokens: 300, match: '(?i)refund' });
    expect(r.rules[3]!.when).toBeUndefined();
    expect(r.budgets).toEqual([{ useCase: 'support', frontierTokensPerMonth: 2000000, alertAt: 0.7 }]);
  });

  it('loads a suite: BOM on line 1, blank lines, line numbers, goldens, defaults', () => {
    const suite = loadSuite(join(FIXTURE, 'suites/mmlu'), suiteOpts);
    expect(suite.name).toBe('mmlu');
    expect(suite.dir).toBe(join(FIXTURE, 'suites/mmlu'));
    expect(suite.casesFile).toBe(join(FIXTURE, 'suites/mmlu/cases.jsonl'));
    expect(suite.goldensFile).toBe(join(FIXTURE, 'goldens/mmlu.jsonl'));
    expect(suite.params).toEqual({ max_tokens: 16 });
    expect(suite.cases.map((c) => c.id)).toEqual(['mmlu_pro-105', 'mmlu_pro-2804', 'mmlu_pro-6832', 'mmlu_pro-879']);
    // The blank line after case 2 shifts the later cases' lines.
    expect(suite.cases.map((c) => c.origin.line)).toEqual([1, 2, 4, 5]);
    expect(suite.cases[0]!.metadata).toEqual({ category: 'business' });
    expect(suite.goldens.get('mmlu_pro-879')).toMatchObject({ expected: 'A', status: 'approved', origin: { line: 4 } });
  });

  it('accepts the path of suite.yaml itself', () => {
    expect(loadSuite(join(FIXTURE, 'suites/mmlu/suite.yaml'), suiteOpts).cases).toHaveLength(4);
  });

  it('goldens are optional when no grader needs them', () => {
    const p = suiteProject({ cases: '{"id":"a","vars":{"question":"q"}}\n' });
    const suite = loadSuite(p.dir, { ...suiteOpts, graderNeedsGolden: () => false });
    expect(suite.goldens.size).toBe(0);
    expect(suite.goldensFile).toBeUndefined();
  });

  it('renders templates: system then user, letter helper, no HTML escaping; messages as is', () => {
    const suite = loadSuite(join(FIXTURE, 'suites/mmlu'), suiteOpts);
    const c = { ...suite.cases[0]!, vars: { question: 'Is 1 < 2 & "true"?', options: ['yes', 'no'] } };
    expect(renderCase(suite, c)).toEqual([
      { role: 'system', content: 'Answer with the letter of the correct option.' },
      { role: 'user', content: 'Is 1 < 2 & "true"?\nA. yes\nB. no\n' },
    ]);
    const ten = renderCase(suite, suite.cases[0]!)[1]!.content;
    expect(ten).toContain('\nJ. $230 per month\n');
    const messages = [{ role: 'user' as const, content: 'hi {{x}}' }];
    expect(renderCase(suite, { id: 'm', messages, origin: { file: 'f', line: 1 } })).toBe(messages);
  });

  it('a template of text only renders exactly as Handlebars renders it (escaped mustaches, blank lines, unicode)', () => {
    const loaded = loadSuite(join(FIXTURE, 'suites/mmlu'), suiteOpts);
    const c = { ...loaded.cases[0]!, vars: { question: 'q', options: ['a'] } };
    for (const system of ['Answer with the letter.', 'Prices look like \\{{amount}} here.\n\n  Indented ✓ — “quoted”', 'a \\{{b}} \\{{{c}}} d', '{{!-- a comment --}}Only text']) {
      const suite = { ...loaded, prompt: { ...loaded.prompt, system } };
      const expected = handlebars().compile(system, { strict: true, noEscape: true })({});
      expect(renderCase(suite, c)[0]).toEqual({ role: 'system', content: expected });
    }
  });
});

describe('config: bad inputs', () => {
  it('gateway timeout and concurrency are bounded like a model (a timer of 2^31 ms fires at once)', () => {
    const root = project({ 'evalroute.config.yaml': `${GOOD_CONFIG}gateway:\n  url: http://127.0.0.1:8787/v1\n  concurrency: 5000\n  timeoutMs: 3000000000\n` });
    const e = configError(() => loadConfig('evalroute.config.yaml', { cwd: root, knownProviders: PROVIDERS }));
    expectAt(e, join(root, 'evalroute.config.yaml'), 6, /Too big: expected number to be <=1000/, 'gateway.concurrency');
    expect(e.message).toMatch(/evalroute\.config\.yaml:7 \(at gateway\.timeoutMs\): must be at most 3600000 \(one hour\)/);
  });

  it('YAML syntax error names the line', () => {
    const root = project({ 'evalroute.config.yaml': 'models:\n  big: { provider: openai, model: gpt-4o\n  small: {}\n' });
    const e = configError(() => loadConfig('evalroute.config.yaml', { cwd: root, knownProviders: PROVIDERS }));
    expect(e.message).toMatch(/invalid YAML/);
    expect(e.location.file).toBe(join(root, 'evalroute.config.yaml'));
    expect(e.location.line).toBe(3);
    expect(e.message).toContain(`evalroute.config.yaml:3: invalid YAML: Flow map`);
  });

  it('a misspelt key is rejected with its line, path and a suggestion', () => {
    const root = project({ 'evalroute.config.yaml': 'models:\n  big:\n    provider: openai\n    modle: gpt-4o\n' });
    const file = join(root, 'evalroute.config.yaml');
    const e = configError(() => loadConfig(file, { cwd: root, knownProviders: PROVIDERS }));
    expectAt(e, file, 4, /unknown key "modle"/, 'models.big.modle');
    expect(e.message).toContain('did you mean "model"?');
  });

  it('an unknown top-level key is rejected', () => {
    const root = project({ 'evalroute.config.yaml': GOOD_CONFIG + 'judges: { model: big }\n' });
    const file = join(root, 'evalroute.config.yaml');
    expectAt(configError(() => loadConfig(file, { cwd: root, knownProviders: PROVIDERS })), file, 4, /unknown key "judges".*\n.*did you mean "judge"/, 'judges');
  });

  it('unknown provider lists the known ones', () => {
    const root = project({ 'evalroute.config.yaml': 'models:\n  big:\n    provider: openia\n    model: gpt-4o\n' });
    const file = join(root, 'evalroute.config.yaml');
    const e = configError(() => loadConfig(file, { cwd: root, knownProviders: PROVIDERS }));
    expectAt(e, file, 3, /unknown provider "openia"/, 'models.big.provider');
    expect(e.message).toContain('openai, anthropic, recorded');
  });

  it('recorded provider without path', () => {
    const root = project({ 'evalroute.config.yaml': 'models:\n  big: { provider: openai, model: x }\n  rec: { provider: recorded }\n' });
    const file = join(root, 'evalroute.config.yaml');
    expectAt(configError(() => loadConfig(file, { cwd: root, knownProviders: PROVIDERS })), file, 3, /"rec" uses provider "recorded" but has no path/, 'models.rec');
  });

  it('openai model without a model id', () => {
    const root = project({ 'evalroute.config.yaml': 'models:\n  big: { provider: openai }\n' });
    const file = join(root, 'evalroute.config.yaml');
    expectAt(configError(() => loadConfig(file, { cwd: root, knownProviders: PROVIDERS })), file, 2, /has no model id/, 'models.big');
  });

  it('an API key in the file is refused with a pointer to apiKeyEnv, without echoing it', () => {
    const root = project({ 'evalroute.config.yaml': 'models:\n  big:\n    provider: openai\n    model: gpt-4o\n    api_key: sk-secret123\n' });
    const file = join(root, 'evalroute.config.yaml');
    const e = configError(() => loadConfig(file, { cwd: root, knownProviders: PROVIDERS }));
    expectAt(e, file, 5, /API keys must never be written in config files/, 'models.big.api_key');
    expect(e.message).toContain('apiKeyEnv');
    expect(e.message).not.toContain('sk-secret123');
  });

  it('judge naming an unknown model', () => {
    const root = project({ 'evalroute.config.yaml': GOOD_CONFIG + 'judge: { model: opus }\n' });
    const file = join(root, 'evalroute.config.yaml');
    expectAt(configError(() => loadConfig(file, { cwd: root, knownProviders: PROVIDERS })), file, 4, /judge model "opus" is not defined[^]*big, small/);
  });

  it('missing config file says where it looked', () => {
    const root = project({});
    const e = configError(() => loadConfig('nope.yaml', { cwd: root, knownProviders: PROVIDERS }));
    expect(e.message).toContain(join(root, 'nope.yaml'));
    expect(e.message).toMatch(/not found/);
  });

  it('minPassRate out of 0..1', () => {
    const { file, load } = loadRoutingText('baseline: big\ntiers:\n  cheap:\n    model: small\n    gate:\n      minPassRate: 1.5\nrules:\n  - { tier: cheap }\n');
    expectAt(configError(load), file, 6, /<=1/, 'tiers.cheap.gate.minPassRate');
  });

  it('unknown model in a tier lists the configured keys', () => {
    const { file, load } = loadRoutingText('baseline: big\ntiers:\n  cheap: { model: flash }\nrules:\n  - { tier: cheap }\n');
    const e = configError(load);
    expectAt(e, file, 3, /tier "cheap" uses model "flash", which is not defined/, 'tiers.cheap.model');
    expect(e.message).toContain('models defined: big, small');
  });

  it('unknown baseline model', () => {
    const { file, load } = loadRoutingText('baseline: gpt5\ntiers:\n  cheap: { model: small }\nrules:\n  - { tier: cheap }\n');
    expectAt(configError(load), file, 1, /baseline model "gpt5" is not defined/, 'baseline');
  });

  it('a rule sending cases to an undefined tier', () => {
    const { file, load } = loadRoutingText('baseline: big\ntiers:\n  cheap: { model: small }\nrules:\n  - { name: a, when: { task: x }, tier: cheep }\n  - { tier: cheap }\n');
    const e = configError(load);
    expectAt(e, file, 5, /tier "cheep", which is not defined/, 'rules[0].tier');
    expect(e.message).toContain('defined tiers: cheap');
  });

  it('missing default rule at the end', () => {
    const { file, load } = loadRoutingText('baseline: big\ntiers:\n  cheap: { model: small }\nrules:\n  - { when: { task: x }, tier: cheap }\n');
    const e = configError(load);
    expectAt(e, file, 5, /last rule \("rule-1"\) has a when:/, 'rules[0]');
    expect(e.message).toContain('→ end the rules with a default rule');
  });

  it('a default rule before the end makes the rest unreachable', () => {
    const { file, load } = loadRoutingText('baseline: big\ntiers:\n  cheap: { model: small }\nrules:\n  - { tier: cheap }\n  - { tier: cheap }\n');
    expectAt(configError(load), file, 5, /no when: but is not the last rule/, 'rules[0]');
  });

  it('invalid regex names the rule path and line', () => {
    const { file, load } = loadRoutingText('baseline: big\ntiers:\n  cheap: { model: small }\nrules:\n  - name: r\n    when:\n      match: "(?i)refund("\n    tier: cheap\n  - { tier: cheap }\n');
    expectAt(configError(load), file, 7, /invalid regular expression/, 'rules[0].when.match');
  });

  it('empty when:, min above max, and a budget without a limit', () => {
    const base = 'baseline: big\ntiers:\n  cheap: { model: small }\nrules:\n';
    let r = loadRoutingText(base + '  - { when: {}, tier: cheap }\n  - { tier: cheap }\n');
    expectAt(configError(r.load), r.file, 5, /empty when: matches every case/, 'rules[0].when');
    r = loadRoutingText(base + '  - { when: { minInputTokens: 10, maxInputTokens: 5 }, tier: cheap }\n  - { tier: cheap }\n');
    expectAt(configError(r.load), r.file, 5, /minInputTokens \(10\) is greater than maxInputTokens \(5\)/);
    r = loadRoutingText(base + '  - { tier: cheap }\nbudgets:\n  - { useCase: support }\n');
    expectAt(configError(r.load), r.file, 7, /budget "support" has no limit/, 'budgets[0]');
  });

  it.each([
    ['metadata: {}', '{ metadata: {} }', 'rules[0].when.metadata', /empty metadata: matches every case/],
    ['an empty tags list', '{ tags: [] }', 'rules[0].when.tags', /empty list: a condition must name at least one value/],
    ['an empty task list', '{ task: [] }', 'rules[0].when.task', /empty list: a condition must name at least one value/],
    ['an empty metadata value list', '{ metadata: { lang: [] } }', 'rules[0].when.metadata.lang', /empty list: a condition must name at least one value/],
  ])('an empty condition (%s) is refused, not matched against every case', (_name, when, path, text) => {
    const { file, load } = loadRoutingText(`baseline: big\ntiers:\n  cheap: { model: small }\nrules:\n  - { when: ${when}, tier: cheap }\n  - { tier: cheap }\n`);
    expectAt(configError(load), file, 5, text, path);
  });

  it('YAML syntax error in the routing file', () => {
    const { file, load } = loadRoutingText('baseline: big\ntiers:\n  cheap: { model: small\nrules: []\n');
    const e = configError(load);
    expect(e.location.file).toBe(file);
    expect(e.location.line).toBeGreaterThan(0);
    expect(e.message).toMatch(/invalid YAML/);
  });

  it('duplicate case id names both lines', () => {
    const p = suiteProject({ cases: '{"id":"a","vars":{"question":"1"}}\n{"id":"b","vars":{"question":"2"}}\n{"id":"a","vars":{"question":"3"}}\n', goldens: '' });
    expectAt(configError(() => loadSuite(p.dir, suiteOpts)), p.cases, 3, /duplicate case id "a" on lines 1 and 3/);
  });

  it('golden for an unknown case', () => {
    const p = suiteProject({ cases: '{"id":"a","vars":{"question":"1"}}\n', goldens: '{"id":"a","expected":"x"}\n{"id":"zz","expected":"y"}\n' });
    expectAt(configError(() => loadSuite(p.dir, suiteOpts)), p.goldens, 2, /golden for unknown case "zz"/);
  });

  it('a case without a golden when a grader needs one names the case and counts the rest', () => {
    const cases = '{"id":"a","vars":{"question":"1"}}\n{"id":"b","vars":{"question":"2"}}\n{"id":"c","vars":{"question":"3"}}\n';
    const p = suiteProject({ cases, goldens: '{"id":"a","expected":"x"}\n' });
    const e = configError(() => loadSuite(p.dir, suiteOpts));
    expectAt(e, p.cases, 2, /case "b" has no golden[^]*and 1 more case[^]*grader "exact" needs one/);
  });

  it('a missing goldens file when a grader needs goldens says where it looked', () => {
    const p = suiteProject({ cases: '{"id":"a","vars":{"question":"1"}}\n' });
    const e = configError(() => loadSuite(p.dir, suiteOpts));
    expect(e.location.file).toBe(p.goldens);
    expect(e.message).toMatch(/goldens file not found[^]*grader "exact" needs a golden/);
  });

  it('invalid JSON on line 3 with the parser message', () => {
    const p = suiteProject({ cases: '{"id":"a","vars":{"question":"1"}}\n{"id":"b","vars":{"question":"2"}}\n{"id":"c", vars:{}}\n', goldens: '' });
    const e = configError(() => loadSuite(p.dir, suiteOpts));
    expectAt(e, p.cases, 3, /invalid JSON: .+/);
  });

  it('a line that is not an object', () => {
    const p = suiteProject({ cases: '{"id":"a","vars":{"question":"1"}}\n["b"]\n', goldens: '' });
    expectAt(configError(() => loadSuite(p.dir, suiteOpts)), p.cases, 2, /expected a JSON object, got an array/);
  });

  it('a case with neither vars nor messages, and one with both', () => {
    let p = suiteProject({ cases: '{"id":"a","vars":{"question":"1"}}\n{"id":"b","task":"x"}\n', goldens: '' });
    expectAt(configError(() => loadSuite(p.dir, suiteOpts)), p.cases, 2, /case "b" must have exactly one of "vars" and "messages"/);
    p = suiteProject({ cases: '{"id":"b","vars":{},"messages":[{"role":"user","content":"hi"}]}\n', goldens: '' });
    expectAt(configError(() => loadSuite(p.dir, suiteOpts)), p.cases, 1, /\(it has both\)/);
  });

  it('a wrongly typed or unknown case field names the field path', () => {
    let p = suiteProject({ cases: '{"id":"a","vars":{"question":"1"},"tags":"urgent"}\n', goldens: '' });
    expectAt(configError(() => loadSuite(p.dir, suiteOpts)), p.cases, 1, /expected array/, 'tags');
    p = suiteProject({ cases: '{"id":"a","messages":[{"role":"human","content":"x"}]}\n', goldens: '' });
    expectAt(configError(() => loadSuite(p.dir, suiteOpts)), p.cases, 1, /user/, 'messages[0].role');
    p = suiteProject({ cases: '{"id":"a","vars":{"question":"1"},"metdata":{}}\n', goldens: '' });
    const e = configError(() => loadSuite(p.dir, suiteOpts));
    expectAt(e, p.cases, 1, /unknown key "metdata"[^]*did you mean "metadata"/, 'metdata');
  });

  it('unknown grader type lists the known ones', () => {
    const p = suiteProject({ suite: 'prompt: { user: "{{question}}" }\ngraders:\n  - { type: exact }\n  - { type: exactly }\n', cases: '{"id":"a","vars":{"question":"1"}}\n' });
    const e = configError(() => loadSuite(p.dir, { ...suiteOpts, graderNeedsGolden: () => false }));
    expectAt(e, p.suite, 4, /unknown grader type "exactly"/, 'graders[1].type');
    expect(e.message).toContain('exact, schema, judge');
  });

  it('a broken template is caught when the suite loads', () => {
    const p = suiteProject({ suite: 'prompt:\n  user: "{{#each options}}{{this}}"\ngraders: [{ type: judge }]\n', cases: '{"id":"a","vars":{}}\n' });
    expectAt(configError(() => loadSuite(p.dir, { ...suiteOpts, graderNeedsGolden: () => false })), p.suite, 2, /invalid Handlebars template/, 'prompt.user');
  });

  it('missing cases file and missing suite.yaml say where they looked', () => {
    const p = suiteProject({ suite: 'cases: data/cases.jsonl\n' + SUITE_YAML, cases: '' });
    let e = configError(() => loadSuite(p.dir, suiteOpts));
    expect(e.location.file).toBe(join(p.dir, 'data/cases.jsonl'));
    expect(e.message).toMatch(/cases file not found/);
    e = configError(() => loadSuite(join(p.dir, 'nothing-here'), suiteOpts));
    expect(e.location.file).toBe(join(p.dir, 'nothing-here/suite.yaml'));
    expect(e.message).toMatch(/suite file not found/);
  });

  it('a missing template variable names the case, its file:line and the variable', () => {
    const p = suiteProject({ cases: '{"id":"a","vars":{"question":"1"}}\n{"id":"b","vars":{"qestion":"2"}}\n', goldens: '' });
    const suite = loadSuite(p.dir, { ...suiteOpts, graderNeedsGolden: () => false });
    expect(renderCase(suite, suite.cases[0]!)).toEqual([{ role: 'user', content: '1' }]);
    const e = configError(() => renderCase(suite, suite.cases[1]!));
    expectAt(e, p.cases, 2, /case "b" has no variable "question"/);
  });

  it('a missing nested path or list used by {{#each}} is an error too, not an empty prompt', () => {
    const suiteYaml = 'prompt:\n  user: "{{q.text}}\\n{{#each options}}{{letter @index}}. {{this}}\\n{{/each}}"\ngraders: [{ type: judge }]\n';
    const p = suiteProject({ suite: suiteYaml, cases: '{"id":"a","vars":{"q":{"text":"Q"}}}\n{"id":"b","vars":{"q":{}}}\n{"id":"c","vars":{"q":{"text":"Q"}, "options":["x"]}}\n' });
    const suite = loadSuite(p.dir, { ...suiteOpts, graderNeedsGolden: () => false });
    expectAt(configError(() => renderCase(suite, suite.cases[0]!)), p.cases, 1, /case "a" has no variable "options"/);
    expectAt(configError(() => renderCase(suite, suite.cases[1]!)), p.cases, 2, /case "b" has no variable "q.text"/);
    expect(renderCase(suite, suite.cases[2]!)[0]!.content).toBe('Q\nA. x\n');
  });
});

describe('findConfigFile', () => {
  it('prefers --config, then the suite folder, then the working folder', () => {
    const root = project({
      'evalroute.config.yaml': GOOD_CONFIG,
      'suites/a/evalroute.config.yaml': GOOD_CONFIG,
      'suites/b/suite.yaml': SUITE_YAML,
      'other.yaml': GOOD_CONFIG,
    });
    expect(findConfigFile('suites/a', 'other.yaml', root)).toBe(join(root, 'other.yaml'));
    expect(findConfigFile('suites/a', undefined, root)).toBe(join(root, 'suites/a/evalroute.config.yaml'));
    expect(findConfigFile(join(root, 'suites/b'), undefined, root)).toBe(join(root, 'evalroute.config.yaml'));
  });

  it('fails clearly when there is none or --config is wrong', () => {
    const root = project({ 'suites/b/suite.yaml': SUITE_YAML });
    expect(() => findConfigFile('suites/b', undefined, root)).toThrow(UsageError);
    expect(() => findConfigFile('suites/b', undefined, root)).toThrow(/looked at .*suites\/b\/evalroute\.config\.yaml and [^]*--config/);
    const e = configError(() => findConfigFile('suites/b', 'missing.yaml', root));
    expect(e.location.file).toBe(join(root, 'missing.yaml'));
  });
});
