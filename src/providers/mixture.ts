/**
 * A gateway's load-balanced model (several deployments under one name, LiteLLM's simple-shuffle or a
 * Portkey loadbalance target): each case is served by one deployment, picked by weight from a hash of the
 * case id and repeat. The pick is deterministic, so re-runs hit the cache and verdicts are reproducible,
 * and over a suite the deployments serve the cases in the gateway's traffic proportions.
 */
import { pickByWeight } from '../core/seeded.js';
import type { Completion, CompletionRequest, Provider } from '../core/types.js';

export interface WeightedProvider {
  weight: number;
  provider: Provider;
}

export function createMixtureProvider(key: string, deployments: readonly WeightedProvider[]): Provider {
  return {
    key,
    identity: `mixture|${deployments.map((d) => `${d.weight}*${d.provider.identity}`).join('|')}`,
    complete(req: CompletionRequest, signal: AbortSignal): Promise<Completion> {
      return pickByWeight(deployments, `${req.caseId}\u0000${req.repeat}`).provider.complete(req, signal);
    },
  };
}
