import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importLiteLlmModels, liteLlmConfigSchema } from '../src/config/litellm.js';
import { createProvider } from '../src/providers/registry.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';

const doc = liteLlmConfigSchema.parse(parse(readFileSync('test/fixtures/litellm/config.yaml', 'utf8')));

describe('LiteLLM proxy config import', () => {
  it('maps OpenAI, Anthropic, OpenAI-compatible, Azure and custom-cost models with prices per 1M tokens', () => {
    const models = importLiteLlmModels(doc);
    expect(Object.fromEntries(models)).toEqual({
      'gpt-4o': { provider: 'openai', model: 'gpt-4o', apiKeyEnv: 'OPENAI_API_KEY', price: { input: 2.5, output: 10, cachedInput: 1.25 } },
      'claude-sonnet': { provider: 'anthropic', model: 'claude-sonnet-4-5', apiKeyEnv: 'ANTHROPIC_API_KEY', params: { max_tokens: 1024 } },
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
    const models = importLiteLlmModels(doc, { proxy: 'http://localhost:4000' });
    expect(models.get('azure-gpt-4o-mini')).toMatchObject({ provider: 'openai', model: 'azure-gpt-4o-mini', baseURL: 'http://localhost:4000', apiKeyEnv: 'LITELLM_API_KEY' });
  });

  it('refuses literal keys and backends it cannot call directly, naming the entry', () => {
    const literal = liteLlmConfigSchema.parse({ model_list: [{ model_name: 'x', litellm_params: { model: 'openai/gpt-4o', api_key: 'sk-live-123456789' } }] });
    expect(() => importLiteLlmModels(literal)).toThrow(/literal API key/);
    const bedrock = liteLlmConfigSchema.parse({ model_list: [{ model_name: 'b', litellm_params: { model: 'bedrock/anthropic.claude-3' } }] });
    expect(() => importLiteLlmModels(bedrock)).toThrow(expect.objectContaining({ index: 0, message: expect.stringContaining('"bedrock" backend'), hint: expect.stringContaining('proxy') }));
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
  it('imports the gateway models, lets explicit entries override them, and reports bad entries at their line', async () => {
    const { mkdtempSync, writeFileSync, copyFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { loadConfig } = await import('../src/config/load.js');
    const { ConfigError } = await import('../src/core/errors.js');
    const dir = mkdtempSync(join(tmpdir(), 'evalroute-litellm-'));
    copyFileSync('test/fixtures/litellm/config.yaml', join(dir, 'litellm.yaml'));
    writeFileSync(
      join(dir, 'evalroute.config.yaml'),
      'litellm: { config: litellm.yaml }\nmodels:\n  gpt-4o: { provider: openai, model: gpt-4o-2024-08-06, price: { input: 2.5, output: 10 } }\n',
    );
    const config = loadConfig(join(dir, 'evalroute.config.yaml'), { cwd: dir });
    expect([...config.models.keys()].sort()).toEqual(['azure-gpt-4o-mini', 'cheap-custom', 'claude-sonnet', 'gpt-4o', 'local-llama']);
    expect(config.models.get('gpt-4o')!.model).toBe('gpt-4o-2024-08-06');
    expect(config.models.get('cheap-custom')).toMatchObject({ price: { input: 0.2, output: 0.6 }, concurrency: 8, params: { temperature: 0 } });
    expect(config.models.get('azure-gpt-4o-mini')).toMatchObject({ provider: 'azure', apiVersion: '2024-10-21' });

    writeFileSync(join(dir, 'litellm.yaml'), 'model_list:\n  - model_name: a\n    litellm_params: { model: openai/gpt-4o }\n  - model_name: b\n    litellm_params:\n      model: openai/gpt-4o\n      api_key: sk-live-abcdefghijk\n');
    const err = (() => {
      try {
        loadConfig(join(dir, 'evalroute.config.yaml'), { cwd: dir });
      } catch (e) {
        return e as InstanceType<typeof ConfigError>;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.message).toMatch(/litellm\.yaml:7/);
    expect(err!.message).not.toContain('sk-live-abcdefghijk');
  });
});
