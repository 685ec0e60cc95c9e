/**
 * Portkey gateway configs as routing files, without the gateway: loading, the errors a broken config
 * gets, the gateway's query semantics (quirks included), loadbalance shares, and `simulate`, `gate`
 * and `suggest --format portkey` on such files. Agreement with the real gateway is in
 * portkey-gateway.test.ts.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gate } from '../src/api/gate.js';
import { run } from '../src/api/run.js';
import { simulate } from '../src/api/simulate.js';
import { suggest } from '../src/api/suggest.js';
import { loadConfig, loadRouting } from '../src/config/load.js';
import { ConfigError, UsageError } from '../src/core/errors.js';
import { redact } from '../src/core/redact.js';
import type { Case, EvalConfig, Routing } from '../src/core/types.js';
import { routeCase } from '../src/routing/match.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder } from './support/project.js';
import { createPortkeyProject, PORTKEY_TEST_KEY, type PortkeyProject } from './support/portkey-project.js';

let server: MockLlmServer;
let project: PortkeyProject;
let config: EvalConfig;

beforeAll(async () => {
  server = await startMockLlmServer({ responder: arithmeticResponder() });
  project = createPortkeyProject(server, 48);
  config = loadConfig(project.configFile, { cwd: project.dir });
});
afterAll(() => server.close());

/** Writes a Portkey config into the project and loads it. */
function portkey(name: string, doc: unknown, cfg: EvalConfig = config): Routing {
  return loadRouting(project.write(`portkey/${name}.json`, JSON.stringify(doc, null, 2)), cfg);
}

const leaf = (name: string, model?: string, extra: Record<string, unknown> = {}) => ({ name, provider: 'openai', api_key: PORTKEY_TEST_KEY, ...(model ? { override_params: { model } } : {}), ...extra });

/** A two-target conditional config: `hit` when the query holds, else `miss`. */
function oneQuery(query: Record<string, unknown>): Routing {
  return portkey(`q-${Math.random().toString(36).slice(2)}`, {
    strategy: { mode: 'conditional', conditions: [{ query, then: 'hit' }], default: 'miss' },
    targets: [leaf('hit', 'small-1'), leaf('miss', 'big-1')],
  });
}

const kase = (metadata: Record<string, unknown>, params: Record<string, unknown> = {}): [Case, string, Record<string, unknown>] => [
  { id: 'x', metadata, origin: { file: 'cases.jsonl', line: 1 } },
  'text',
  { model: 'big-1', ...params },
];
const tierOf = (r: Routing, ...args: ReturnType<typeof kase>) => routeCase(r, ...args).tier;

describe('loading a Portkey config', () => {
  it('makes a tier of every leaf target, with the model its override_params (inherited) or name names', () => {
    const r = loadRouting(project.configs.nested!, config);
    expect(r.baseline).toBe('big');
    expect(r.rules).toEqual([]);
    expect(Object.fromEntries([...r.tiers].map(([name, t]) => [name, t.model]))).toEqual({
      'premium-first': 'big', // no override of its own: the parent's override_params.model
      'premium-backup': 'mid',
      'eu-mid': 'mid',
      'eu-cheap': 'small',
      'pool-cheap': 'small',
      'pool-mid': 'mid',
      'pool-never': 'big',
    });
    // The config's gate applies to every tier; the stored content has no credential.
    expect(r.tiers.get('eu-cheap')!.gate).toEqual({ minPassRate: 0.8, maxRegression: 0.05 });
    expect(r.content).not.toContain(PORTKEY_TEST_KEY);
    expect(r.content).toContain('[REDACTED]');
    // …and an error message that echoes a key of the config is redacted too, whatever its shape.
    portkey('odd-key', { strategy: { mode: 'single' }, targets: [leaf('a', 'small-1', { api_key: 'team-gw-credential-77' })] });
    expect(redact('upstream said: bad key team-gw-credential-77')).toBe('upstream said: bad key [REDACTED]');
  });

  it('a target without override_params is the configured model of its name; duplicate names fall back to paths', () => {
    const r = portkey('names', {
      strategy: { mode: 'fallback' },
      targets: [leaf('mid'), { strategy: { mode: 'fallback' }, targets: [leaf('x', 'small-1'), leaf('x', 'big-1')] }],
    });
    expect([...r.tiers.keys()]).toEqual(['mid', 'targets[1].targets[0]', 'targets[1].targets[1]']);
    expect(r.tiers.get('mid')!.model).toBe('mid');
  });

  it('refuses what the gateway would not route, naming the file, line and what to do', () => {
    const fails = (doc: unknown, message: RegExp, cfg: EvalConfig = config) => {
      let err: unknown;
      try {
        portkey('bad', doc, cfg);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message).toMatch(message);
      return err as ConfigError;
    };
    const cond = (query: unknown, then = 'a') => ({ strategy: { mode: 'conditional', conditions: [{ query, then }], default: 'a' }, targets: [leaf('a', 'small-1')] });
    const e = fails(cond({ 'metadata.plan': { $foo: 1 } }), /unsupported operator "\$foo"/);
    expect(e.location.file).toMatch(/bad\.json$/);
    expect(e.location.line).toBeGreaterThan(1);
    fails(cond({ 'metadata.plan': ['a', 'b'] }), /given a list.*\n.*\$in/);
    fails(cond({ 'metadata.plan': { $regex: '^(?=a)' } }), /cannot evaluate this \$regex in linear time/);
    fails(cond({ plan: 'free' }), /not metadata\.<key> or params\.<key>/);
    fails(cond({ 'metadata.plan': 'free' }, 'nobody'), /no target of config is named "nobody"/);
    fails({ strategy: { mode: 'loadbalance' }, targets: [leaf('a', 'gpt-9')] }, /calls model "gpt-9", which is not configured.*\n.*models defined: big \(big-1\)/);
    fails({ targets: [leaf('a', 'small-1')] }, /has targets but no strategy/);
    fails({ strategy: { mode: 'conditional', conditions: [] }, targets: [leaf('a', 'small-1')] }, /no conditions and no default, so the gateway rejects every request/);
    fails({ strategy: { mode: 'loadbalance' }, targets: [leaf('a', 'small-1', { weight: 0 })] }, /weight 0/);
    const { baseline: _b, ...noBaseline } = config;
    fails(cond({ 'metadata.plan': 'free' }), /names no baseline model\n.*add baseline: <model key>/, noBaseline);
  });

  it('a YAML routing file is still read as routing.yaml', () => {
    expect(loadRouting(project.routingFile, config).portkey).toBeUndefined();
  });
});

describe("Portkey's query semantics, as the gateway evaluates them", () => {
  it('compares with parseFloat, strictly for $eq/$in, and reads two levels only', () => {
    const gt = oneQuery({ 'metadata.score': { $gt: 9 } });
    expect(tierOf(gt, ...kase({ score: '10' }))).toBe('hit'); // numeric strings count as numbers
    expect(tierOf(gt, ...kase({ score: '9.5kg' }))).toBe('hit'); // parseFloat reads the leading number
    expect(tierOf(gt, ...kase({}))).toBe('miss'); // NaN never compares
    const inList = oneQuery({ 'metadata.tier': { $in: [1, 2] } });
    expect(tierOf(inList, ...kase({ tier: 1 }))).toBe('hit');
    expect(tierOf(inList, ...kase({ tier: '1' }))).toBe('miss');
    const ne = oneQuery({ 'metadata.plan': { $ne: 'free' } });
    expect(tierOf(ne, ...kase({}))).toBe('hit'); // a missing key is not "free"
    const nin = oneQuery({ 'params.max_tokens': { $nin: [50] } });
    expect(tierOf(nin, ...kase({}, { max_tokens: 50 }))).toBe('miss');
    expect(tierOf(nin, ...kase({}, { max_tokens: 51 }))).toBe('hit');
  });

  it('$regex decides its operator object alone, and $or/$and decide the whole query when reached', () => {
    const regexFirst = oneQuery({ 'metadata.user': { $regex: '@acme', $eq: 'never' } });
    expect(tierOf(regexFirst, ...kase({ user: 'a@acme.com' }))).toBe('hit');
    const eqFirst = oneQuery({ 'metadata.user': { $eq: 'never', $regex: '@acme' } });
    expect(tierOf(eqFirst, ...kase({ user: 'a@acme.com' }))).toBe('miss');
    const orThenKey = oneQuery({ $or: [{ 'metadata.plan': 'pro' }], 'metadata.region': 'never' });
    expect(tierOf(orThenKey, ...kase({ plan: 'pro', region: 'eu' }))).toBe('hit');
    const keyThenOr = oneQuery({ 'metadata.region': 'never', $or: [{ 'metadata.plan': 'pro' }] });
    expect(tierOf(keyThenOr, ...kase({ plan: 'pro', region: 'eu' }))).toBe('miss');
  });

  it('a pathological $regex runs in linear time', () => {
    const r = oneQuery({ 'metadata.text': { $regex: '^(a+)+$' } });
    // Backtracking engines take exponential time on this input; RE2 answers at once.
    expect(tierOf(r, ...kase({ text: `${'a'.repeat(5000)}!` }))).toBe('miss');
  });

  it('loadbalance: traffic shares follow the weights, a weight-0 target gets none, and the split is stable', () => {
    const r = portkey('lb', {
      strategy: { mode: 'loadbalance' },
      targets: [leaf('a', 'small-1', { weight: 3 }), leaf('b', 'mid-1', { weight: 1 }), leaf('c', 'big-1', { weight: 0 })],
    });
    const counts = { a: 0, b: 0, c: 0 } as Record<string, number>;
    for (let i = 0; i < 4000; i++) {
      const c: Case = { id: `case-${i}`, origin: { file: 'f', line: i } };
      const tier = routeCase(r, c, '').tier;
      counts[tier]!++;
      expect(routeCase(r, c, '').tier).toBe(tier);
    }
    expect(counts.c).toBe(0);
    expect(Math.abs(counts.a! / 4000 - 0.75)).toBeLessThan(0.03);
  });
});

describe('simulate, gate and suggest on Portkey configs', () => {
  it('simulate scores a Portkey config from stored results with no new call; gate compares two', async () => {
    const base = await run({ suiteDir: project.suiteDir, routing: project.configs.membership!, cwd: project.dir, env: project.env });
    expect(base.summary.tiers.map((t) => t.tier).sort()).toEqual(['cheap', 'frontier', 'mid']);
    // Fill what the numbers config needs, then score it from the store alone.
    await run({ suiteDir: project.suiteDir, routing: project.configs.numbers!, cwd: project.dir, env: project.env });
    const calls = server.requests.length;
    const sim = await simulate({ suiteDir: project.suiteDir, routings: [project.configs.numbers!], cwd: project.dir });
    expect(server.requests.length).toBe(calls);
    expect(sim.exitCode).toBe(0);
    expect(sim.routings[0]!.tiers.map((t) => t.tier).sort()).toEqual(['cheap', 'frontier', 'mid']);

    const g = await gate({ suiteDir: project.suiteDir, routing: project.configs.numbers!, baseRouting: project.configs.membership!, cwd: project.dir, env: project.env });
    expect(server.requests.length).toBe(calls); // both sides were already stored
    expect(g.moved.cases).toBeGreaterThan(0);
    expect(g.moved.transitions.some((t) => t.from === 'cheap' && t.to === 'mid')).toBe(true);
  }, 60_000);

  it('suggest --format portkey writes a conditional Portkey config that loads and routes like the proposal', async () => {
    await run({ suiteDir: project.suiteDir, routing: project.configs.nested!, cwd: project.dir, env: project.env });
    const s = await suggest({ suiteDir: project.suiteDir, cwd: project.dir, by: 'metadata.region', minCases: 5, maxRegression: 0.25, format: 'portkey', models: ['small', 'mid'], fill: true, env: project.env });
    const doc = JSON.parse(s.yaml) as { strategy: { mode: string; conditions: { query: Record<string, { $in: unknown[] }>; then: string }[]; default: string }; targets: { name: string; override_params: { model: string } }[] };
    expect(doc.strategy.mode).toBe('conditional');
    expect(doc.strategy.default).toBe('frontier');
    expect(doc.strategy.conditions.map((c) => c.then)).toEqual(['mid']); // mid-1 is always right and cheaper than big-1
    expect(doc.targets.find((t) => t.name === 'frontier')!.override_params.model).toBe('big-1');
    for (const cond of doc.strategy.conditions) expect(Object.keys(cond.query)).toEqual(['metadata.region']);
    expect(s.header).toMatch(/^# Proposed by `evalroute suggest`/);
    const file = project.write('portkey/suggested.json', s.yaml);
    const loaded = loadRouting(file, config);
    expect([...loaded.tiers.keys()]).toContain('frontier');
    expect(readFileSync(file, 'utf8')).not.toMatch(/api_key/);
    // When no class may leave the frontier the config is still valid: no conditions, the baseline as default.
    const none = await suggest({ suiteDir: project.suiteDir, cwd: project.dir, by: 'metadata.region', minCases: 1000, format: 'portkey', models: ['small', 'mid'] });
    expect(JSON.parse(none.yaml)).toMatchObject({ strategy: { mode: 'conditional', conditions: [], default: 'frontier' } });
    expect([...loadRouting(project.write('portkey/none.json', none.yaml), config).tiers.keys()]).toEqual(['frontier']);
    await expect(suggest({ suiteDir: project.suiteDir, cwd: project.dir, by: 'task', format: 'portkey' })).rejects.toThrow(UsageError);
  }, 60_000);
});
