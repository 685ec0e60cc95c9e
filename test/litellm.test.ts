import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importLiteLlmModels, matchWildcard, wildcardCaptures, type LiteLlmImportResult } from '../src/config/litellm.js';
import { loadConfig, loadRouting } from '../src/config/load.js';
import { ConfigError, MissingKeyError } from '../src/core/errors.js';
import type { EvalConfig, RunSummary } from '../src/core/types.js';
import { createProvider } from '../src/providers/registry.js';
import { pickByWeight } from '../src/core/seeded.js';
import { runCli } from './support/cli.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { createTagRoutedProject } from './support/litellm-project.js';
import { arithmeticResponder } from './support/project.js';

const REAL = resolve('test/fixtures/litellm/real');
const PROXY = 'http://localhost:4000';

/** A temp project whose evalroute.config.yaml imports `fixture` with the given `litellm:` extras and `models:`. */
function project(fixture: string, extras = '', models = ''): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'evalroute-litellm-'));
  copyFileSync(fixture.includes('/') ? fixture : join(REAL, fixture), join(dir, 'litellm.yaml'));
  const file = join(dir, 'evalroute.config.yaml');
  writeFileSync(file, `litellm: { config: litellm.yaml${extras ? `, ${extras}` : ''} }\n${models ? `models:\n${models}\n` : ''}`);
  return { dir, file };
}

function load(fixture: string, extras = '', models = ''): EvalConfig {
  const { dir, file } = project(fixture, extras, models);
  return loadConfig(file, { cwd: dir });
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

/** A routing file naming models, loaded against `config` (wildcards resolve here). */
function routeTo(config: EvalConfig, baseline: string, cheap: string) {
  const file = join(config.file, '..', 'routing.yaml');
  writeFileSync(file, `baseline: ${JSON.stringify(baseline)}\ntiers:\n  cheap: { model: ${JSON.stringify(cheap)} }\nrules:\n  - { tier: cheap }\n`);
  return loadRouting(file, config);
}

describe('the 13 valid real LiteLLM configs load as they are', () => {
  it('proxy_server_config.yaml: 19 entries; the ones evalroute cannot call are skipped with one warning each', () => {
    const config = load('proxy_server_config.yaml');
    expect([...config.models.keys()].sort()).toEqual([
      'bad-model',
      'gpt-3.5-turbo',
      'gpt-3.5-turbo-end-user-test',
      'gpt-3.5-turbo-end-user-test#1',
      'gpt-3.5-turbo-end-user-test#2',
      'gpt-3.5-turbo-large',
      'gpt-4',
    ]);
    // sagemaker, embedding, `model: azure/` (image), dall-e-3, four literal keys, mistral-embed, text completion
    expect(config.warnings).toHaveLength(10);
    expect(config.warnings!.find((w) => w.includes('dall-e-2'))).toMatch(/litellm\.yaml:51 .*"azure\/" names no model or deployment; skipped/);
    expect(config.warnings!.find((w) => w.includes('sagemaker'))).toMatch(/"sagemaker" backend.*litellm\.proxy/);
    expect(config.warnings!.join('\n')).not.toMatch(/fake-key|my-fake-key/);
    expect(config.models.get('gpt-3.5-turbo-large')).toMatchObject({ provider: 'openai', model: 'gpt-3.5-turbo-1106', rpm: 480, timeoutMs: 300_000, apiKeyEnv: 'OPENAI_API_KEY' });
    expect(config.models.get('gpt-4')).toMatchObject({ provider: 'azure', model: 'chatgpt-v-2', apiVersion: '2023-05-15', rpm: 480 });
    // Priced from the bundled table when model_info gives no costs.
    expect(config.models.get('gpt-3.5-turbo')!.price).toMatchObject({ table: 'gpt-3.5-turbo' });
    expect(config.models.get('gpt-3.5-turbo-large')!.price).toBeUndefined(); // not in the table: unpriced, never guessed
    // Two deployments under one name: a mixture, evaluated in the gateway's proportions.
    const mixed = config.models.get('gpt-3.5-turbo-end-user-test')!;
    expect(mixed.provider).toBe('mixture');
    expect(mixed.deployments!.map((d) => [d.model.key, d.weight])).toEqual([
      ['gpt-3.5-turbo-end-user-test#1', 1],
      ['gpt-3.5-turbo-end-user-test#2', 1],
    ]);
    // `*` and `anthropic/*` are patterns, never models, resolved when a routing file names a model.
    expect([...config.models.keys()].some((k) => k.includes('*'))).toBe(false);
    const routing = routeTo(config, 'gpt-4o', 'anthropic/claude-haiku-4-5');
    expect(routing.baseline).toBe('gpt-4o');
    expect(config.models.get('gpt-4o')).toMatchObject({ provider: 'openai', model: 'gpt-4o', apiKeyEnv: 'OPENAI_API_KEY', price: { table: 'gpt-4o' } });
    expect(config.models.get('anthropic/claude-haiku-4-5')).toMatchObject({ provider: 'anthropic', model: 'claude-haiku-4-5', apiKeyEnv: 'ANTHROPIC_API_KEY' });
  });

  it('load_balancer.yaml: three deployments of gpt-3.5-turbo weighted by rpm; literal keys are ignored through the proxy', () => {
    const config = load('load_balancer.yaml', `proxy: ${PROXY}`);
    const mixed = config.models.get('gpt-3.5-turbo')!;
    expect(mixed.deployments!.map((d) => d.weight)).toEqual([3, 3, 1]);
    expect(mixed.deployments![0]!.model).toMatchObject({ provider: 'openai', model: 'gpt-3.5-turbo', baseURL: PROXY, apiKeyEnv: 'LITELLM_API_KEY', rpm: 3, tpm: 20000 });
    expect(config.warnings!.filter((w) => /literal api_key; ignored/.test(w))).toHaveLength(2);
    expect(config.models.get('mistral-7b-instruct')).toMatchObject({ baseURL: PROXY });
    // Called directly, the literal-key deployments drop out and the openrouter one remains.
    const direct = load('load_balancer.yaml');
    expect(direct.models.get('gpt-3.5-turbo')!.deployments!.map((d) => d.model.key)).toEqual(['gpt-3.5-turbo#3']);
    expect(direct.models.get('gpt-3.5-turbo#3')).toMatchObject({ baseURL: 'https://openrouter.ai/api/v1', apiKeyEnv: 'OPENROUTER_API_KEY' });
  });

  it('azure_config.yaml: tpm written 20_000 (YAML 1.1), timeout in seconds and max_retries are honoured', () => {
    const config = load('azure_config.yaml');
    expect(config.models.get('gpt-4-team1')).toMatchObject({ provider: 'azure', model: 'chatgpt-v-2', tpm: 20000, timeoutMs: 5000, maxRetries: 4, apiKeyEnv: 'AZURE_API_KEY' });
    expect(config.models.get('gpt-4-team2')).toMatchObject({ provider: 'azure', model: 'gpt-4', tpm: 100000 });
    expect(config.warnings).toEqual([]);
  });

  it('azure_config_with_tpm.yaml: through the proxy, a mixture weighted by tpm; directly, its literal keys are refused where used', () => {
    const config = load('azure_config_with_tpm.yaml', `proxy: ${PROXY}`);
    expect(config.models.get('gpt-3.5-turbo')!.deployments!.map((d) => d.weight)).toEqual([80000, 80000]);
    const e = configError(() => load('azure_config_with_tpm.yaml'));
    expect(e.message).toMatch(/no model evalroute can call: .*literal api_key/);
    expect(e.message).not.toMatch(/73g|9kj/);
  });

  it('aliases_config.yaml: ollama models are called on Ollama’s OpenAI-compatible API, with their params', () => {
    const config = load('aliases_config.yaml');
    expect(config.models.get('gpt-3.5-turbo')).toMatchObject({ provider: 'openai', model: 'llama2', baseURL: 'http://localhost:11434/v1', params: { temperature: 0.1, max_tokens: 20 } });
    expect(config.models.get('text-davinci-003')).toMatchObject({ model: 'zephyr' });
  });

  it('multi_instance_simple_config.yaml: api_base from os.environ; an override adding only apiKeyEnv completes the entry', () => {
    const proxied = load('multi_instance_simple_config.yaml', `proxy: ${PROXY}`);
    expect(proxied.models.get('fake-openai-endpoint')).toMatchObject({ baseURL: PROXY });
    const config = load('multi_instance_simple_config.yaml', '', '  fake-openai-endpoint: { apiKeyEnv: FAKE_KEY }');
    expect(config.models.get('fake-openai-endpoint')).toMatchObject({ provider: 'openai', model: 'my-fake-model', baseURLEnv: 'FAKE_OPENAI_API_BASE', apiKeyEnv: 'FAKE_KEY' });
  });

  it('enterprise_config.yaml: a tagged deployment with tag filtering on', () => {
    const config = load('enterprise_config.yaml', `proxy: ${PROXY}`);
    expect(config.models.get('gpt-4')).toMatchObject({ provider: 'openai', model: 'gpt-4', baseURL: PROXY });
    const result = importLiteLlmModels(parse(readFileSync(join(REAL, 'enterprise_config.yaml'), 'utf8')) as Record<string, unknown>, { proxy: PROXY });
    expect(result.tagFiltering).toBe(true);
    expect(result.groups.get('gpt-4')![0]).toMatchObject({ tags: ['teamA'] });
  });

  it('oai_misc_config.yaml: the bedrock batch entry is skipped; wildcards serve the models a routing file names', () => {
    const config = load('oai_misc_config.yaml');
    expect([...config.models.keys()]).toEqual(['gpt-5-mini-end-user-test']);
    expect(config.warnings).toEqual([expect.stringMatching(/litellm\.yaml:23 .*bedrock\/batch-us.*has mode batch, not chat; skipped/)]);
    routeTo(config, 'gpt-4.1', 'groq/llama-3.1-8b-instant');
    expect(config.models.get('groq/llama-3.1-8b-instant')).toMatchObject({ provider: 'openai', model: 'llama-3.1-8b-instant', baseURL: 'https://api.groq.com/openai/v1', apiKeyEnv: 'GROQ_API_KEY' });
  });

  it('otel_test_config.yaml: two tagged deployments (ids from model_info.id), the rerank model skipped', () => {
    const config = load('otel_test_config.yaml', `proxy: ${PROXY}`);
    expect(config.models.get('fake-openai-endpoint')!.deployments!.map((d) => d.model.key)).toEqual(['fake-openai-endpoint#team-a-model', 'fake-openai-endpoint#team-b-model']);
    expect(config.warnings!.filter((w) => w.includes('rerank-english-v3.0'))).toEqual([expect.stringMatching(/not a chat model; skipped/)]);
    expect(config.models.has('rerank-english-v3.0')).toBe(false);
  });

  it('pass_through_config.yaml: Anthropic models priced from the table; naming the literal-key entry is the error', () => {
    const config = load('pass_through_config.yaml');
    expect(config.models.get('claude-special-alias')).toMatchObject({ provider: 'anthropic', model: 'claude-haiku-4-5-20251001', price: { table: 'claude-haiku-4-5' } });
    const e = configError(() => routeTo(config, 'claude-sonnet-4-6', 'fake-openai-endpoint'));
    expect(e.message).toMatch(/routing\.yaml:3 .*tier "cheap" uses model "fake-openai-endpoint", which is in the LiteLLM config but cannot be called: has a literal api_key/);
    expect(e.message).not.toContain('fake-key');
  });

  it('docs: tag routing block loads (through the proxy: every deployment; directly: the free one needs a key)', () => {
    const config = load('docs-tag-routing.yaml', `proxy: ${PROXY}`);
    expect(config.models.get('gpt-4')!.deployments).toHaveLength(3);
    const direct = load('docs-tag-routing.yaml');
    expect(direct.models.get('gpt-4')!.deployments!.map((d) => d.model.key)).toEqual(['gpt-4#2', 'gpt-4#3']);
  });

  it('docs: load balancing block loads through the proxy, weighted 6 : 6 : 1440 by rpm', () => {
    const config = load('docs-load-balancing.yaml', `proxy: ${PROXY}`);
    expect(config.models.get('gpt-3.5-turbo')!.deployments!.map((d) => d.weight)).toEqual([6, 6, 1440]);
    expect(config.models.get('gpt-3.5-turbo')!.rpm).toBe(1452);
  });

  it('docs: wildcard block has no model of its own; the models a routing file names are resolved', () => {
    const config = load('docs-wildcard-routing.yaml');
    expect(config.models.size).toBe(0);
    const routing = routeTo(config, 'anthropic/claude-sonnet-4-5', 'fo::hi::static::hi');
    expect(routing.tiers.get('cheap')!.model).toBe('fo::hi::static::hi');
    expect(config.models.get('fo::hi::static::hi')).toMatchObject({ provider: 'openai', model: 'fo::hi::static::hi', apiKeyEnv: 'OPENAI_API_KEY' });
    expect(config.models.get('anthropic/claude-sonnet-4-5')).toMatchObject({ provider: 'anthropic', model: 'claude-sonnet-4-5', price: { table: 'claude-sonnet-4-5' } });
    const e = configError(() => routeTo(config, 'anthropic/claude-sonnet-4-5', 'gpt-4o'));
    expect(e.message).toMatch(/tier "cheap" uses model "gpt-4o", which is not defined/);
  });
});

describe('the two real files that cannot load keep clear errors', () => {
  it('hosted_litellm.yaml is not valid YAML', () => {
    const e = configError(() => load('hosted_litellm.yaml'));
    expect(e.message).toMatch(/hosted_litellm|litellm\.yaml:\d+: invalid YAML: Missing closing "quote/);
  });

  it('_health_check_test_config.yaml holds only an embedding model', () => {
    const e = configError(() => load('_health_check_test_config.yaml'));
    expect(e.message).toMatch(/evalroute\.config\.yaml:1 .*no model evalroute can call: text-embedding-ada-002: has mode embedding, not chat/);
  });
});

describe('LiteLLM import details', () => {
  it('reports every structural problem of the file in one pass, at its line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evalroute-litellm-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'model_list:\n  - litellm_params: { model: openai/gpt-4o }\n  - model_name: b\n  - model_name: c\n    litellm_params: { model: openai/gpt-4o, input_cost_per_token: -1, output_cost_per_token: 1 }\n');
    const e = configError(() => load(file));
    expect(e.message).toMatch(/bad\.yaml|litellm\.yaml:2 .*entry has no model_name/);
    expect(e.message).toMatch(/also .*litellm\.yaml:3 .*model "b" has no litellm_params\.model/);
    expect(e.message).toMatch(/also .*litellm\.yaml:4 .*model "c"/);
  });

  it('a partial override (only a price) merges with the imported model instead of asking for provider', () => {
    const config = load('test/fixtures/litellm/config.yaml', '', '  gpt-4o: { price: { input: 2 } }\n  local-llama: { params: { top_p: 0.5 } }');
    expect(config.models.get('gpt-4o')).toMatchObject({ provider: 'openai', model: 'gpt-4o', apiKeyEnv: 'OPENAI_API_KEY', price: { input: 2, output: 10, cachedInput: 1.25 } });
    expect(config.models.get('local-llama')!.params).toEqual({ top_p: 0.5 });
    // A new model still needs its provider, said plainly and at its line.
    const e = configError(() => load('test/fixtures/litellm/config.yaml', '', '  brand-new: { model: x }'));
    expect(e.message).toMatch(/evalroute\.config\.yaml:3 .*model "brand-new" has no provider/);
  });

  it('api_base from os.environ is read when the provider is built, and a missing variable is a MissingKeyError', async () => {
    const server = await startMockLlmServer();
    try {
      const config = load('multi_instance_simple_config.yaml', '', '  fake-openai-endpoint: { apiKeyEnv: FAKE_KEY }');
      const model = config.models.get('fake-openai-endpoint')!;
      expect(() => createProvider(model, { env: { FAKE_KEY: 'k-000000000000' } })).toThrow(MissingKeyError);
      expect(() => createProvider(model, { env: { FAKE_KEY: 'k-000000000000' } })).toThrow(/FAKE_OPENAI_API_BASE/);
      const provider = createProvider(model, { env: { FAKE_KEY: 'k-000000000000', FAKE_OPENAI_API_BASE: server.openaiBaseURL } });
      const out = await provider.complete({ caseId: 'c1', messages: [{ role: 'user', content: 'hi' }], params: {}, repeat: 0 }, new AbortController().signal);
      expect(out.text).toMatch(/^mock:/);
      expect(server.requests[0]!.model).toBe('my-fake-model');
    } finally {
      await server.close();
    }
  });

  it('a mixture sends each case to one deployment, by weight, the same way every time', async () => {
    const server = await startMockLlmServer();
    try {
      const dir = mkdtempSync(join(tmpdir(), 'evalroute-litellm-'));
      writeFileSync(
        join(dir, 'litellm.yaml'),
        `model_list:\n  - model_name: lb\n    litellm_params: { model: openai/dep-a, api_base: ${server.openaiBaseURL}, api_key: os.environ/K, weight: 3, timeout: 5, max_retries: 1 }\n` +
          `  - model_name: lb\n    litellm_params: { model: openai/dep-b, api_base: ${server.openaiBaseURL}, api_key: os.environ/K, weight: 1, timeout: 7, max_retries: 2 }\n`,
      );
      writeFileSync(join(dir, 'evalroute.config.yaml'), 'litellm: { config: litellm.yaml }\n');
      const config = loadConfig(join(dir, 'evalroute.config.yaml'), { cwd: dir });
      // The engine times and retries the mixture's calls: the deployments' LiteLLM limits carry over.
      expect(config.models.get('lb')).toMatchObject({ timeoutMs: 7000, maxRetries: 2 });
      expect(config.models.get('lb#1')).toMatchObject({ timeoutMs: 5000, maxRetries: 1 });
      const provider = createProvider(config.models.get('lb')!, { env: { K: 'k-000000000000' } });
      for (let i = 0; i < 200; i++) await provider.complete({ caseId: `case-${i}`, messages: [{ role: 'user', content: 'hi' }], params: {}, repeat: 0 }, new AbortController().signal);
      const a = server.requests.filter((r) => r.model === 'dep-a').length;
      expect(a + server.requests.filter((r) => r.model === 'dep-b').length).toBe(200);
      expect(a).toBeGreaterThan(130); // 3 : 1 → 150 expected
      expect(a).toBeLessThan(170);
      const deployments = [{ weight: 3, provider }, { weight: 1, provider: { ...provider, key: 'other' } }];
      const again = pickByWeight(deployments, 'case-7\u00000').provider;
      expect(pickByWeight(deployments, 'case-7\u00000').provider).toBe(again);
    } finally {
      await server.close();
    }
  });
});

describe('a LiteLLM config with tag routing as the routing file', () => {
  let server: MockLlmServer;
  beforeAll(async () => {
    server = await startMockLlmServer({ responder: arithmeticResponder() });
  });
  afterAll(() => server.close());

  const tagProject = (tagFiltering = true) => createTagRoutedProject(server, { tagFiltering });

  it('turns tags into tiers and rules, the default tag into the default rule', () => {
    const p = tagProject();
    const config = loadConfig(p.configFile, { cwd: p.dir });
    const routing = loadRouting(config.routing!, config);
    expect(routing.baseline).toBe('big');
    expect([...routing.tiers.values()].map((t) => [t.name, t.model])).toEqual([
      ['easy', 'app#1'],
      ['default', 'app#2'],
    ]);
    expect(routing.rules).toEqual([
      { name: 'tag:easy', when: { tags: ['easy'] }, tier: 'easy' },
      { name: 'default', tier: 'default' },
    ]);
    expect(routing.tiers.get('easy')!.gate).toEqual({ minPassRate: 0.8, maxRegression: 0.05, onInconclusive: 'warn' });
  });

  it('without tag filtering the proxy ignores tags: one tier, the whole group as a mixture', () => {
    const p = tagProject(false);
    const config = loadConfig(p.configFile, { cwd: p.dir });
    const routing = loadRouting(config.routing!, config);
    expect([...routing.tiers.values()].map((t) => [t.name, t.model])).toEqual([['app', 'app']]);
    expect(config.models.get('app')!.provider).toBe('mixture');
  });

  it('gates the gateway config end to end: run exits 0 with the tag tiers in the JSON summary', async () => {
    const p = tagProject();
    const out = await runCli(['run', p.suiteDir, '--json', 'out.json'], { cwd: p.dir, env: p.env });
    expect(out.status, out.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(p.dir, 'out.json'), 'utf8')) as RunSummary;
    expect(summary.tiers.map((t) => t.tier).sort()).toEqual(['default', 'easy']);
    expect(summary.tiers.find((t) => t.tier === 'easy')!.cases).toBe(20);
  });
  it('gate --base-routing compares two versions of the gateway config (the base branch sends every case to the frontier)', async () => {
    const p = tagProject();
    p.write('gateway-base.yaml', readFileSync(join(p.dir, 'gateway.yaml'), 'utf8').replace('enable_tag_filtering: true', 'enable_tag_filtering: false').replace('anthropic/small-1', 'openai/big-1').replace('api_base: ' + server.anthropicBaseURL, 'api_base: ' + server.openaiBaseURL).replace('SMALL_KEY', 'BIG_KEY'));
    const out = await runCli(['gate', p.suiteDir, '--routing', 'gateway.yaml', '--base-routing', 'gateway-base.yaml', '--json', 'gate.json'], { cwd: p.dir, env: p.env });
    expect(out.status, out.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(p.dir, 'gate.json'), 'utf8')) as { tiers: { tier: string }[]; base: { tiers: { tier: string; model: string; cases: number }[] } };
    expect(json.tiers.map((t) => t.tier).sort()).toEqual(['default', 'easy']);
    // The base version's deployments differ under the same keys: they are kept apart, named after their file.
    expect(json.base.tiers).toEqual([expect.objectContaining({ tier: 'app', model: 'app (gateway-base.yaml)', cases: 40 })]);
  });
});

describe('evalroute models on a real config evalroute used to crash on', () => {
  it('api_base: os.environ/… and model: azure/ no longer end in an internal error: exit 0, one warning per skipped entry', async () => {
    const { dir } = project('proxy_server_config.yaml');
    const out = await runCli(['models', '--json'], { cwd: dir });
    expect(out.stderr).not.toMatch(/internal error|ZodError/);
    expect(out.status, out.stderr).toBe(0);
    expect(out.stderr.trim().split('\n').filter((l) => l.startsWith('warning: '))).toHaveLength(10);
    const rows = JSON.parse(out.stdout) as { key: string }[];
    expect(rows.map((r) => r.key)).toContain('gpt-3.5-turbo-end-user-test');
  });
});

describe('LiteLLM proxy config import (hand-written fixture)', () => {
  const doc = parse(readFileSync('test/fixtures/litellm/config.yaml', 'utf8')) as Record<string, unknown>;

  it('maps OpenAI, Anthropic, OpenAI-compatible, Azure and custom-cost models with prices per 1M tokens', () => {
    const { models, warnings } = importLiteLlmModels(doc);
    expect(warnings).toEqual([]);
    expect(Object.fromEntries(models)).toEqual({
      'gpt-4o': { provider: 'openai', model: 'gpt-4o', apiKeyEnv: 'OPENAI_API_KEY', price: { input: 2.5, output: 10, cachedInput: 1.25 } },
      'claude-sonnet': { provider: 'anthropic', model: 'claude-sonnet-4-5', apiKeyEnv: 'ANTHROPIC_API_KEY', params: { max_tokens: 1024 }, price: { table: 'claude-sonnet-4-5' } },
      'local-llama': { provider: 'openai', model: 'meta-llama/Llama-3.1-8B-Instruct', baseURL: 'http://localhost:8000/v1', concurrency: 4 },
      'azure-gpt-4o-mini': {
        provider: 'azure',
        model: 'gpt-4o-mini-prod',
        baseURL: 'https://contoso.openai.azure.com',
        apiVersion: '2024-10-21',
        apiKeyEnv: 'AZURE_OPENAI_KEY',
      },
      'cheap-custom': {
        provider: 'openai',
        model: 'my-finetune',
        baseURL: 'https://gateway.internal.example/v1',
        apiKeyEnv: 'GATEWAY_KEY',
        params: { temperature: 0 },
        price: { input: 0.2, output: 0.6 },
      },
    });
  });

  it('routes every model through the proxy when one is given', () => {
    const { models } = importLiteLlmModels(doc, { proxy: PROXY });
    expect(models.get('azure-gpt-4o-mini')).toMatchObject({ provider: 'openai', model: 'azure-gpt-4o-mini', baseURL: PROXY, apiKeyEnv: 'LITELLM_API_KEY' });
  });
});

describe('Azure-style model through the real openai SDK', () => {
  let server: MockLlmServer;
  beforeAll(async () => {
    server = await startMockLlmServer();
  });
  afterAll(() => server.close());

  it('calls the deployment path with the api-version and reads usage', async () => {
    const provider = createProvider(
      {
        key: 'azure-mini',
        provider: 'azure',
        model: 'gpt-4o-mini-prod',
        baseURL: server.url,
        apiVersion: '2024-10-21',
        apiKeyEnv: 'AZ_KEY',
        params: {},
        concurrency: 1,
        timeoutMs: 5000,
        maxRetries: 0,
      },
      { env: { AZ_KEY: 'azure-test-key-000000' } },
    );
    const out = await provider.complete({ caseId: 'c1', messages: [{ role: 'user', content: 'hello there' }], params: {}, repeat: 0 }, new AbortController().signal);
    expect(out.text).toMatch(/^mock:/);
    expect(out.usage).toEqual({ input: 2, output: 1 });
    const logged = server.requests[0]!;
    expect(logged.headers['api-key']).toBe('azure-test-key-000000');
  });
});

describe('evalroute.config.yaml with litellm:', () => {
  it('imports the gateway models, lets explicit entries override them, and warns about a literal key at its line without echoing it', () => {
    const { dir, file } = project('test/fixtures/litellm/config.yaml', '', '  gpt-4o: { provider: openai, model: gpt-4o-2024-08-06, price: { input: 2.5, output: 10 } }');
    const config = loadConfig(file, { cwd: dir });
    expect([...config.models.keys()].sort()).toEqual(['azure-gpt-4o-mini', 'cheap-custom', 'claude-sonnet', 'gpt-4o', 'local-llama']);
    expect(config.models.get('gpt-4o')!.model).toBe('gpt-4o-2024-08-06');
    expect(config.models.get('cheap-custom')).toMatchObject({ price: { input: 0.2, output: 0.6 }, concurrency: 8, params: { temperature: 0 } });
    expect(config.models.get('azure-gpt-4o-mini')).toMatchObject({ provider: 'azure', apiVersion: '2024-10-21' });

    writeFileSync(join(dir, 'litellm.yaml'), 'model_list:\n  - model_name: a\n    litellm_params: { model: openai/gpt-4o }\n  - model_name: b\n    litellm_params:\n      model: openai/gpt-4o\n      api_key: sk-live-abcdefghijk\n');
    const again = loadConfig(file, { cwd: dir });
    expect(again.models.has('b')).toBe(false);
    expect(again.warnings).toEqual([expect.stringMatching(/litellm\.yaml:7 .*model "b": has a literal api_key/)]);
    expect(again.warnings!.join('')).not.toContain('sk-live-abcdefghijk');
  });
});

describe('wildcard model names match in linear time', () => {
  /** The regular expression the matcher replaces, as the reference for short keys. */
  const reference = (pattern: string, key: string) =>
    new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('(.+)')}$`).exec(key)?.slice(1);

  it('captures what a greedy (.+) per star would, on every short pattern and key over a small alphabet', () => {
    const patterns = ['*', 'a*', '*a', 'a*b', '*/*', 'a*a*a', '**', 'ab*ba', '*-*-*', 'x', 'a**b', '*a*'];
    const alphabet = ['a', 'b', '/', '-'];
    let keys = [''];
    const all: string[] = [];
    for (let len = 1; len <= 5; len++) {
      keys = keys.flatMap((k) => alphabet.map((c) => k + c));
      all.push(...keys);
    }
    let matched = 0;
    for (const pattern of patterns) {
      for (const key of all) {
        const want = reference(pattern, key);
        expect(wildcardCaptures(pattern, key), `${pattern} on ${key}`).toEqual(want);
        if (want) matched++;
      }
    }
    expect(matched).toBeGreaterThan(200);
  });

  it('a hostile 50,000-character model name against many-star patterns returns the right answer (a backtracking regex never returns)', () => {
    const hostile = 'a'.repeat(50_000);
    expect(wildcardCaptures('a*a*a*a*b', hostile)).toBeUndefined();
    expect(wildcardCaptures('*-*-*-*-!', '-'.repeat(50_000))).toBeUndefined();
    expect(wildcardCaptures('a*a*a*a*a', hostile)).toEqual(['a'.repeat(49_992), 'a', 'a', 'a']);
    const result = {
      wildcards: [
        { pattern: 'a*a*a*a*b', index: 0, params: { model: 'openai/*' }, modelInfo: {} },
        { pattern: 'openai/*', index: 1, params: { model: 'openai/*' }, modelInfo: {} },
      ],
    } as unknown as LiteLlmImportResult;
    expect(matchWildcard(result, hostile)).toBeUndefined();
    expect(matchWildcard(result, `openai/${hostile}`)?.captures).toEqual([hostile]);
  });
});
