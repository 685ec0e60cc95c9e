/**
 * A gateway's load-balanced model (several deployments under one name, LiteLLM's simple-shuffle or a
 * Portkey loadbalance target): each case is served by one deployment, picked by weight from a hash of the
 * case id and repeat. The pick is deterministic, so re-runs hit the cache and verdicts are reproducible,
 * and over a suite the deployments serve the cases in the gateway's traffic proportions.
 */
import { createHash } from 'node:crypto';
import type { Completion, CompletionRequest, Provider } from '../core/types.js';

export interface WeightedProvider {
  weight: number;
  provider: Provider;
}

export function createMixtureProvider(key: string, deployments: readonly WeightedProvider[]): Provider {
  const total = deployments.reduce((s, d) => s + d.weight, 0);
  return {
    key,
    identity: `mixture|${deployments.map((d) => `${d.weight}*${d.provider.identity}`).join('|')}`,
    complete(req: CompletionRequest, signal: AbortSignal): Promise<Completion> {
      return pickDeployment(deployments, total, `${req.caseId}\u0000${req.repeat}`).complete(req, signal);
    },
  };
}

/** The deployment whose cumulative weight band holds the seed's point in [0, total). */
export function pickDeployment(deployments: readonly WeightedProvider[], total: number, seed: string): Provider {
  const point = (createHash('sha256').update(seed).digest().readUInt32BE(0) / 2 ** 32) * total;
  let upTo = 0;
  for (const d of deployments) {
    upTo += d.weight;
    if (point < upTo) return d.provider;
  }
  return deployments.at(-1)!.provider;
}
