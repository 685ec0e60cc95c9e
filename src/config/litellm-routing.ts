/**
 * A LiteLLM proxy config read as the routing file: the deployments of one `model_name` (the name the
 * application requests) become tiers by their `tags`, the way the proxy routes with
 * `router_settings.enable_tag_filtering`:
 *
 *  - a case whose `tags` include a deployment's tag goes to that deployment (several deployments with the
 *    tag: a mixture of them, as the proxy load-balances them);
 *  - other cases go to the deployments tagged `default`, or, when none is, to all deployments (the proxy's
 *    behaviour for untagged requests).
 *
 * A case with two tags served by different deployments is routed by the first tag in file order, where the
 * proxy would balance between both. Without tag filtering the proxy ignores tags: one tier, the whole group.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../core/errors.js';
import type { EvalConfig, Routing, RoutingRule, TierConfig } from '../core/types.js';
import type { LiteLlmDeployment, LiteLlmImportResult, RawModelEntry } from './litellm.js';
import type { YamlSource } from './source.js';

export interface GatewayRoutingInput {
  src: YamlSource<unknown>;
  result: LiteLlmImportResult;
  config: EvalConfig;
  /** Makes `entry` (imported from the routing file, at `index` of its model_list) a model of the config; returns its key. */
  addModel: (key: string, entry: RawModelEntry, index: number) => string;
  /** Fails unless the model exists (or a gateway wildcard serves it), naming its role. */
  requireModel: (key: string, what: string) => void;
}

export function liteLlmRouting({ src, result, config, addModel, requireModel }: GatewayRoutingInput): Routing {
  const opts = config.litellm;
  if (!opts?.baseline) {
    throw new ConfigError(
      { file: config.file },
      `the routing file ${src.file} is a LiteLLM config, but the config names no baseline to compare its tiers with`,
      'add litellm: { config: <file>, baseline: <model key of the frontier model> } to the config',
    );
  }
  requireModel(opts.baseline, 'the baseline model (litellm.baseline)');

  const tagged = [...result.groups].filter(([, ds]) => ds.some((d) => d.tags.length > 0)).map(([name]) => name);
  const route = opts.route ?? (tagged.length === 1 ? tagged[0] : result.groups.size === 1 ? [...result.groups.keys()][0] : undefined);
  const deployments = route === undefined ? undefined : result.groups.get(route);
  if (!deployments) {
    throw new ConfigError(
      src.at(['model_list']),
      route === undefined ? 'cannot tell which model_name is routed: name it with litellm.route in the config' : `no model_name "${route}" in this LiteLLM config`,
      `model names here: ${[...result.groups.keys()].join(', ')}`,
    );
  }

  const gate = opts.gate ?? {};
  const tiers = new Map<string, TierConfig>();
  const rules: RoutingRule[] = [];
  const tierOf = (name: string, members: LiteLlmDeployment[]): string => {
    tiers.set(name, { name, model: modelFor(name, members), gate });
    return name;
  };
  const modelFor = (tier: string, members: LiteLlmDeployment[]): string => {
    for (const d of members) {
      if (d.unavailable) {
        throw new ConfigError(src.at(['model_list', d.index]), `tier "${tier}" routes to deployment "${d.key}", which evalroute cannot call: ${d.unavailable}`, 'set litellm.proxy in the config, or fix the entry');
      }
    }
    const keys = members.map((d) => addModel(d.key, result.models.get(d.key)!, d.index));
    if (keys.length === 1) return keys[0]!;
    // The whole group is the model_name itself, as the config's import names it.
    const mixture = members.length === deployments.length ? route! : `${route}[${tier}]`;
    return addModel(mixture, { provider: 'mixture', model: mixture, deployments: members.map((d, i) => ({ model: keys[i]!, weight: d.weight })) }, members[0]!.index);
  };

  if (result.tagFiltering) {
    const tags = [...new Set(deployments.flatMap((d) => d.tags))].filter((t) => t !== 'default');
    for (const tag of tags) rules.push({ name: `tag:${tag}`, when: { tags: [tag] }, tier: tierOf(tag, deployments.filter((d) => d.tags.includes(tag))) });
    const defaults = deployments.filter((d) => d.tags.includes('default'));
    rules.push({ name: 'default', tier: defaults.length ? tierOf('default', defaults) : tierOf('untagged', deployments) });
  } else {
    rules.push({ name: 'all', tier: tierOf(route!, deployments) });
  }

  return {
    file: src.file,
    content: src.text,
    hash: createHash('sha256').update(src.raw).digest('hex'),
    baseline: opts.baseline,
    tiers,
    rules,
    budgets: [],
  };
}
