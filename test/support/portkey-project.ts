/**
 * A project whose routing files are Portkey gateway configs: three models on the mock LLM server, the
 * arithmetic suite with metadata and request params on every case, and configs that together use
 * every operator of Portkey's conditional router, nested targets, fallback and loadbalance.
 */
import { createProject, type TestProject } from './project.js';
import type { MockLlmServer } from './mock-llm-server.js';

export const PORTKEY_TEST_KEY = 'sk-portkey-test-upstream-0001';

export interface PortkeyProject extends TestProject {
  /** Config name → absolute path of the Portkey config JSON. */
  configs: Record<string, string>;
}

const PLANS = ['free', 'pro', 'enterprise', undefined] as const;
const REGIONS = ['eu', 'us', 'apac'] as const;
const MAX_TOKENS = [50, 200, 1000, undefined] as const;

/** Case i: the arithmetic question i + 7, with metadata and params that vary independently. */
export function portkeyCaseLine(i: number): string {
  const plan = PLANS[i % 4];
  const maxTokens = MAX_TOKENS[Math.floor(i / 4) % 4];
  const metadata: Record<string, unknown> = {
    region: REGIONS[i % 3],
    // Every fifth score is a string, as HTTP metadata often is; Portkey compares with parseFloat.
    score: i % 5 === 0 ? String(i * 2) : i * 2,
    user: i % 3 === 0 ? `u${i}@acme.com` : `u${i}@other.org`,
    ...(plan ? { plan } : {}),
  };
  return JSON.stringify({
    id: `c${String(i).padStart(3, '0')}`,
    vars: { a: i, b: 7 },
    tags: [i % 2 === 0 ? 'easy' : 'hard'],
    metadata,
    ...(maxTokens ? { params: { max_tokens: maxTokens } } : {}),
  });
}

export function createPortkeyProject(server: MockLlmServer, cases = 48): PortkeyProject {
  const p = createProject(server, { cases });
  p.write(
    'evalroute.config.yaml',
    `store: .evalroute/test.db
models:
  big:   { provider: openai, model: big-1, baseURL: ${server.openaiBaseURL}, apiKeyEnv: BIG_KEY, price: { input: 10, output: 30 }, concurrency: 4, timeoutMs: 5000, maxRetries: 2 }
  mid:   { provider: openai, model: mid-1, baseURL: ${server.openaiBaseURL}, apiKeyEnv: BIG_KEY, price: { input: 2, output: 6 }, concurrency: 4, timeoutMs: 5000, maxRetries: 2 }
  small: { provider: openai, model: small-1, baseURL: ${server.openaiBaseURL}, apiKeyEnv: BIG_KEY, price: { input: 0.5, output: 1.5 }, concurrency: 4, timeoutMs: 5000, maxRetries: 2 }
baseline: big
gate: { minPassRate: 0.8, maxRegression: 0.05 }
routing: portkey/membership.json
`,
  );
  p.write('suites/arith/cases.jsonl', `${Array.from({ length: cases }, (_, i) => portkeyCaseLine(i)).join('\n')}\n`);
  const leaf = (name: string, model: string, extra: Record<string, unknown> = {}) => ({
    name,
    provider: 'openai',
    api_key: PORTKEY_TEST_KEY,
    custom_host: server.openaiBaseURL,
    override_params: { model },
    ...extra,
  });
  const configs: Record<string, unknown> = {
    // $eq $ne $in $nin, several keys in one query (all must hold), default.
    membership: {
      strategy: {
        mode: 'conditional',
        conditions: [
          { query: { 'metadata.plan': { $eq: 'free' } }, then: 'cheap' },
          { query: { 'metadata.region': { $in: ['eu', 'apac'] }, 'metadata.plan': { $ne: 'enterprise' } }, then: 'mid' },
          { query: { 'metadata.plan': { $nin: ['free', 'pro'] } }, then: 'frontier' },
        ],
        default: 'cheap',
      },
      targets: [leaf('frontier', 'big-1'), leaf('mid', 'mid-1'), leaf('cheap', 'small-1')],
    },
    // $gt $gte $lt $lte over numbers and numeric strings, $regex, and the gateway's quirk that
    // $regex decides alone (the $eq after it is never looked at).
    numbers: {
      strategy: {
        mode: 'conditional',
        conditions: [
          { query: { 'params.max_tokens': { $gte: 1000 } }, then: 'frontier' },
          { query: { 'metadata.score': { $gt: 60, $lte: 90 } }, then: 'mid' },
          { query: { 'metadata.score': { $lt: 10 } }, then: 'frontier' },
          { query: { 'metadata.user': { $regex: '@acme\\.com$', $eq: 'nobody' } }, then: 'cheap' },
        ],
        default: 'mid',
      },
      targets: [leaf('frontier', 'big-1'), leaf('mid', 'mid-1'), leaf('cheap', 'small-1')],
    },
    // $or/$and with plain equality, a nested conditional, a fallback whose first target inherits its
    // model from the parent's override_params, and a loadbalance with a target of weight 0.
    nested: {
      strategy: {
        mode: 'conditional',
        conditions: [
          {
            query: { $or: [{ 'metadata.plan': 'enterprise' }, { $and: [{ 'metadata.region': 'us' }, { 'params.max_tokens': { $gt: 100 } }] }] },
            then: 'premium',
          },
          { query: { 'metadata.region': 'eu' }, then: 'eu' },
        ],
        default: 'pool',
      },
      targets: [
        {
          name: 'premium',
          strategy: { mode: 'fallback' },
          override_params: { model: 'big-1' },
          targets: [
            { name: 'premium-first', provider: 'openai', api_key: PORTKEY_TEST_KEY, custom_host: server.openaiBaseURL },
            leaf('premium-backup', 'mid-1'),
          ],
        },
        {
          name: 'eu',
          strategy: { mode: 'conditional', conditions: [{ query: { 'metadata.plan': { $eq: 'free' } }, then: 'eu-cheap' }], default: 'eu-mid' },
          targets: [leaf('eu-mid', 'mid-1'), leaf('eu-cheap', 'small-1')],
        },
        {
          name: 'pool',
          strategy: { mode: 'loadbalance' },
          targets: [leaf('pool-cheap', 'small-1', { weight: 0.7 }), leaf('pool-mid', 'mid-1', { weight: 0.3 }), leaf('pool-never', 'big-1', { weight: 0 })],
        },
      ],
    },
  };
  const files: Record<string, string> = {};
  for (const [name, config] of Object.entries(configs)) files[name] = p.write(`portkey/${name}.json`, `${JSON.stringify(config, null, 2)}\n`);
  return { ...p, configs: files };
}
