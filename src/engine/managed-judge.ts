import type { Completion, CompletionRequest, Provider, Store } from '../core/types.js';
import { type Clock, type ModelThrottle, throttleFor } from './rate-limit.js';
import { requestHash } from './request-hash.js';
import { retryWhileBusy } from './store-retry.js';
import { cachedAnswer, pacedCall, type CacheMode, type EngineModel } from './run-cases.js';

/**
 * The judge as graders see it: the same response cache, retry policy, deadline and pacing (concurrency,
 * rpm, tpm, adaptive concurrency) as every other call, so a rerun of an unchanged suite makes zero judge
 * calls and a 429 from the judge is retried and slowed down instead of becoming a judge error. The judge
 * model's configured params override the grader's defaults (temperature 0, seed).
 */
export function managedJudge(
  model: EngineModel,
  params: Record<string, unknown>,
  store: Store,
  cache: CacheMode,
  clock?: Clock,
): Provider & { readonly throttle: ModelThrottle } {
  const { provider } = model;
  const throttle = throttleFor(model, clock);
  return {
    key: provider.key,
    identity: provider.identity,
    throttle,
    complete: (req: CompletionRequest, signal: AbortSignal): Promise<Completion> =>
      throttle.slots.run(async () => {
        const request = { ...req, params: { ...req.params, ...params } };
        const hash = requestHash(provider, request);
        const hit = cachedAnswer(store, cache, hash, () => `no cached judge answer for case "${req.caseId}" on judge "${provider.key}" and --offline forbids calls`);
        if (hit) return hit;
        const completion = await pacedCall(model, throttle, request, model.retry, signal, () => `judge "${provider.key}"`);
        await retryWhileBusy(() => store.cacheCompletion(hash, completion));
        return completion;
      }),
  };
}
