/**
 * Provider types by name. Config validation checks model `provider:` values against `providerTypes()`;
 * the CLI and the library build providers through `createProvider`. Importing this module is cheap:
 * the SDKs load on a provider's first call.
 */
import { MissingKeyError, UsageError } from '../core/errors.js';
import type { ModelConfig, Provider, ProviderContext, ProviderFactory } from '../core/types.js';
import { createAnthropicProvider } from './anthropic.js';
import { createMixtureProvider } from './mixture.js';
import { createOpenAIProvider } from './openai.js';
import { createRecordedProvider } from './recorded.js';

export const providerRegistry = new Map<string, ProviderFactory>([
  ['openai', createOpenAIProvider],
  ['azure', createOpenAIProvider],
  ['anthropic', createAnthropicProvider],
  ['recorded', createRecordedProvider],
  ['mixture', (model, ctx) => createMixtureProvider(model.key, (model.deployments ?? []).map((d) => ({ weight: d.weight, provider: createProvider(d.model, ctx) })))],
]);

/** Adds (or replaces) a provider type, e.g. for an in-house gateway. */
export function registerProvider(type: string, factory: ProviderFactory): void {
  if (!/^[a-z][a-z0-9_-]*$/i.test(type)) {
    throw new UsageError(`provider type "${type}" is not a valid name: use letters, digits, "-" or "_", starting with a letter`);
  }
  providerRegistry.set(type, factory);
}

export function providerTypes(): string[] {
  return [...providerRegistry.keys()];
}

/** Builds the provider for a model; throws MissingKeyError here, before any call, when its key is unset. */
export function createProvider(model: ModelConfig, ctx: ProviderContext): Provider {
  const factory = providerRegistry.get(model.provider);
  if (!factory) {
    throw new UsageError(
      `model "${model.key}" uses provider "${model.provider}", which is not registered (known: ${providerTypes().join(', ')})\n` +
        '  → fix the model\'s provider: in the config, or register the type with registerProvider() before running',
    );
  }
  return factory(withBaseURLFromEnv(model, ctx), ctx);
}

/** A base URL named by variable (LiteLLM's `api_base: os.environ/NAME`) is read here, like keys, before any call. */
function withBaseURLFromEnv(model: ModelConfig, ctx: ProviderContext): ModelConfig {
  if (model.baseURLEnv === undefined) return model;
  const baseURL = ctx.env[model.baseURLEnv];
  if (!baseURL) throw new MissingKeyError(model.key, model.baseURLEnv, 'base URL');
  return { ...model, baseURL };
}
