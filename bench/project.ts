/**
 * Temp evalroute projects for the benchmark, all served by the mock LLM server. Case i asks for i + 7;
 * the mock answers every case right (see `rightAnswer`), so every run's gate passes and grading does
 * real work (exact match with a number normaliser) on every call.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MockApi, MockRequest } from '../test/support/mock-llm-server.js';
import { writeArithmeticSuite } from '../test/support/project.js';

export interface BenchProject {
  dir: string;
  suiteDir: string;
  dbFile: string;
  env: Record<string, string>;
  calls: number;
}

export const BENCH_ENV = { BENCH_KEY: 'sk-bench-000000000000000001' };

export interface MockUrls {
  openaiBaseURL: string;
  anthropicBaseURL: string;
}

const model = (key: string, api: MockApi, id: string, price: string, mock: MockUrls, maxRetries = 2) =>
  `  ${key}: { provider: ${api}, model: ${id}, baseURL: ${api === 'openai' ? mock.openaiBaseURL : mock.anthropicBaseURL}, apiKeyEnv: BENCH_KEY, price: ${price}, concurrency: 16, timeoutMs: 30000, maxRetries: ${maxRetries} }`;

function writeProject(config: string, routing: string, cases: number, tagOf: (i: number) => string): BenchProject {
  const dir = mkdtempSync(join(tmpdir(), 'evalroute-bench-'));
  const write = (rel: string, content: string) => {
    const file = join(dir, rel);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, content);
  };
  write('evalroute.config.yaml', config);
  write('routing.yaml', routing);
  writeArithmeticSuite(write, cases, tagOf, 6);
  return { dir, suiteDir: join(dir, 'suites/arith'), dbFile: join(dir, '.evalroute/bench.db'), env: { ...BENCH_ENV }, calls: 0 };
}

/**
 * One model, every case routed to the baseline tier: `cases` calls exactly, all to one model, so the
 * floor ceil(calls / concurrency) × latency is exact.
 */
export function singleModelProject(mock: MockUrls, api: MockApi, cases: number, maxRetries?: number): BenchProject {
  const p = writeProject(
    `store: .evalroute/bench.db\nmodels:\n${model('base', api, 'base-1', '{ input: 2, output: 8 }', mock, maxRetries)}\nrouting: routing.yaml\n`,
    'baseline: base\ntiers:\n  frontier: { model: base }\nrules:\n  - { tier: frontier }\n',
    cases,
    () => 'any',
  );
  return { ...p, calls: cases };
}

/**
 * Three models: the baseline answers every case, a third of the cases go to each cheap tier — so
 * `cases` baseline calls plus 2/3 × `cases` tier calls, over both wire formats.
 */
export function threeModelProject(mock: MockUrls, cases: number): BenchProject {
  const p = writeProject(
    `store: .evalroute/bench.db
models:
${model('big', 'openai', 'big-1', '{ input: 2, output: 8 }', mock)}
${model('mid', 'anthropic', 'mid-1', '{ input: 0.8, output: 4 }', mock)}
${model('small', 'openai', 'small-1', '{ input: 0.1, output: 0.4 }', mock)}
routing: routing.yaml
`,
    `baseline: big
tiers:
  cheap: { model: small, gate: { minPassRate: 0.8, maxRegression: 0.05 } }
  mid: { model: mid, gate: { maxRegression: 0.05 } }
  frontier: { model: big }
rules:
  - { name: easy, when: { tags: [easy] }, tier: cheap }
  - { name: medium, when: { tags: [medium] }, tier: mid }
  - { tier: frontier }
`,
    cases,
    (i) => (['easy', 'medium', 'hard'] as const)[i % 3]!,
  );
  const hard = Math.floor(cases / 3); // i % 3 === 2 stays on the baseline: one call instead of two
  return { ...p, calls: 2 * cases - hard };
}

/**
 * The peer comparison's project: two models, one per wire format (`big-1` over OpenAI, `mid-1` over
 * Anthropic), every case sent to both — `cases` × 2 calls, the same requests promptfoo is given.
 */
export function twoModelProject(mock: MockUrls, cases: number, maxRetries?: number): BenchProject {
  const p = writeProject(
    `store: .evalroute/bench.db
models:
${model('big', 'openai', 'big-1', '{ input: 2, output: 8 }', mock, maxRetries)}
${model('mid', 'anthropic', 'mid-1', '{ input: 0.8, output: 4 }', mock, maxRetries)}
routing: routing.yaml
`,
    'baseline: big\ntiers:\n  mid: { model: mid }\nrules:\n  - { tier: mid }\n',
    cases,
    () => 'any',
  );
  return { ...p, calls: 2 * cases };
}

/** The mock's answer: always right, so grading passes and the gate holds. */
export function rightAnswer(req: MockRequest): string {
  const m = /What is (\d+) \+ (\d+)\?/.exec(req.lastUserText);
  return m ? String(Number(m[1]) + Number(m[2])) : 'I do not know';
}
