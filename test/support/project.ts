/**
 * Writes a small but complete evalroute project into a temp folder: config with an OpenAI-format and an
 * Anthropic-format model (both served by the mock LLM server), a routing file, and an arithmetic suite
 * whose goldens the scripted mock answers right or wrong on purpose.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MockLlmServer, MockRequest } from './mock-llm-server.js';

export interface TestProject {
  dir: string;
  suiteDir: string;
  configFile: string;
  routingFile: string;
  dbFile: string;
  env: Record<string, string>;
  write(relPath: string, content: string): string;
}

export const TEST_KEYS = { BIG_KEY: 'sk-test-bigmodelkey-000000001', SMALL_KEY: 'sk-ant-test-smallmodelkey-0002' };

export interface ProjectOptions {
  cases?: number;
  /** Routing rules YAML (the `rules:` list); default sends `easy` cases to the cheap tier. */
  rules?: string;
  /**
   * The cheap tier's gate. Default: the point screen, because these projects exercise the engine with
   * 20-case tiers, where the default non-inferiority rule cannot decide (see test/gate.test.ts for it).
   */
  gate?: string;
}

/** Case i asks for i + 7; even ids are tagged easy, odd ones hard. */
export function createProject(server: MockLlmServer, opts: ProjectOptions = {}): TestProject {
  const dir = mkdtempSync(join(tmpdir(), 'evalroute-proj-'));
  const write = (rel: string, content: string) => {
    const file = join(dir, rel);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, content);
    return file;
  };
  const n = opts.cases ?? 40;
  write(
    'evalroute.config.yaml',
    `store: .evalroute/test.db
models:
  big:   { provider: openai, model: big-1, baseURL: ${server.openaiBaseURL}, apiKeyEnv: BIG_KEY, price: { input: 10, output: 30 }, concurrency: 4, timeoutMs: 2000, maxRetries: 3 }
  small: { provider: anthropic, model: small-1, baseURL: ${server.anthropicBaseURL}, apiKeyEnv: SMALL_KEY, price: { input: 0.5, output: 1.5 }, concurrency: 4, timeoutMs: 2000, maxRetries: 3 }
routing: routing.yaml
`,
  );
  write(
    'routing.yaml',
    `baseline: big
tiers:
  cheap: { model: small, gate: ${opts.gate ?? '{ minPassRate: 0.8, maxRegression: 0.05, rule: point }'} }
  frontier: { model: big }
rules:
${opts.rules ?? '  - { name: easy-to-cheap, when: { tags: [easy] }, tier: cheap }\n  - { tier: frontier }'}
`,
  );
  writeArithmeticSuite(write, n, (i) => (i % 2 === 0 ? 'easy' : 'hard'), 3);
  return {
    dir,
    suiteDir: join(dir, 'suites/arith'),
    configFile: join(dir, 'evalroute.config.yaml'),
    routingFile: join(dir, 'routing.yaml'),
    dbFile: join(dir, '.evalroute/test.db'),
    env: { ...TEST_KEYS },
    write,
  };
}

/**
 * The arithmetic suite of tests and benchmarks: case i (id zero-padded to `idWidth`) asks for i + 7 and
 * its golden is the sum; `tagOf` tags each case for routing rules.
 */
export function writeArithmeticSuite(write: (rel: string, content: string) => unknown, count: number, tagOf: (i: number) => string, idWidth: number): void {
  write(
    'suites/arith/suite.yaml',
    `name: arith
prompt:
  system: "Answer with the number only."
  user: "What is {{a}} + {{b}}?"
params: { temperature: 0, max_tokens: 16 }
graders:
  - { type: exact, normalize: [trim, number] }
`,
  );
  const cases: string[] = [];
  const goldens: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `c${String(i).padStart(idWidth, '0')}`;
    cases.push(JSON.stringify({ id, vars: { a: i, b: 7 }, task: 'arithmetic', tags: [tagOf(i)] }));
    goldens.push(JSON.stringify({ id, expected: String(i + 7) }));
  }
  write('suites/arith/cases.jsonl', `${cases.join('\n')}\n`);
  write('goldens/arith.jsonl', `${goldens.join('\n')}\n`);
}

/**
 * The scripted answers: the big model is always right; the small model is right on easy cases and
 * wrong on every `hardWrongEvery`-th hard case.
 */
export function arithmeticResponder(opts: { hardWrongEvery?: number } = {}) {
  const every = opts.hardWrongEvery ?? 1;
  return (req: MockRequest): string => {
    const m = /What is (\d+) \+ (\d+)\?/.exec(req.lastUserText);
    if (!m) return 'I do not know';
    const a = Number(m[1]);
    const sum = a + Number(m[2]);
    if (req.model === 'small-1' && a % 2 === 1 && ((a - 1) / 2) % every === 0) return String(sum + 1);
    return String(sum);
  };
}
