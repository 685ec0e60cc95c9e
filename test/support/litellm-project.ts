/**
 * A project whose routing file is a tag-routed LiteLLM proxy config (gateway.yaml): an app model_name
 * with a small-1 deployment carrying `smallTags` and a big-1 deployment tagged `default`, the baseline
 * `big`, and the tiers' gate under `litellm.gate`.
 */
import type { MockLlmServer } from './mock-llm-server.js';
import { createProject, type TestProject } from './project.js';

export interface TagRoutedOptions {
  /** `router_settings.enable_tag_filtering`; default true. */
  tagFiltering?: boolean;
  /** Tags of the small-1 deployment; default [easy]. */
  smallTags?: string[];
  /** The `litellm.gate` flow mapping. */
  gate?: string;
}

export function createTagRoutedProject(server: MockLlmServer, opts: TagRoutedOptions = {}): TestProject {
  const p = createProject(server);
  p.write(
    'gateway.yaml',
    `model_list:
  - model_name: app
    litellm_params: { model: anthropic/small-1, api_base: ${server.anthropicBaseURL}, api_key: os.environ/SMALL_KEY, tags: [${(opts.smallTags ?? ['easy']).join(', ')}] }
    model_info: { input_cost_per_token: 0.0000005, output_cost_per_token: 0.0000015 }
  - model_name: app
    litellm_params: { model: openai/big-1, api_base: ${server.openaiBaseURL}, api_key: os.environ/BIG_KEY, tags: [default] }
    model_info: { input_cost_per_token: 0.00001, output_cost_per_token: 0.00003 }
router_settings:
  enable_tag_filtering: ${opts.tagFiltering ?? true}
`,
  );
  p.write(
    'evalroute.config.yaml',
    `store: .evalroute/test.db
models:
  big: { provider: openai, model: big-1, baseURL: ${server.openaiBaseURL}, apiKeyEnv: BIG_KEY, price: { input: 10, output: 30 } }
litellm: { config: gateway.yaml, baseline: big, gate: ${opts.gate ?? '{ minPassRate: 0.8, maxRegression: 0.05, onInconclusive: warn }'} }
routing: gateway.yaml
`,
  );
  return p;
}
