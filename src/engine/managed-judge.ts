import pLimit from 'p-limit';
import { callCost } from '../core/cost.js';
import { ProviderError } from '../core/errors.js';
import type { Completion, CompletionRequest, Provider, Store } from '../core/types.js';
import { requestHash } from './request-hash.js';
import { withRetries } from './retry.js';
import { hardDeadlineMs, withDeadline, type CacheMode, type EngineModel } from './run-cases.js';

/**
 * The judge as graders see it: the same response cache, retry policy, deadline and concurrency limit as
 * every other call, so a rerun of an unchanged suite makes zero judge calls and a 429 from the judge is
 * retried instead of becoming a judge error. The judge model's configured params override the grader's
 * defaults (temperature 0, seed).
 */
export function managedJudge(model: EngineModel, params: Record<string, unknown>, store: Store, cache: CacheMode): Provider {
  const { provider } = model;
  const limit = pLimit(Math.max(1, model.concurrency));
  return {
    key: provider.key,
    identity: provider.identity,
    complete: (req: CompletionRequest, signal: AbortSignal): Promise<Completion> =>
      limit(async () => {
        const request = { ...req, params: { ...req.params, ...params } };
        const hash = requestHash(provider, request);
        if (cache !== 'refresh') {
          const hit = store.findCachedCompletion(hash);
          if (hit) return hit;
          if (cache === 'offline') {
            throw new ProviderError(
              `no cached judge answer for case "${req.caseId}" on judge "${provider.key}" and --offline forbids calls`,
              { kind: 'offline_miss', retryable: false },
            );
          }
        }
        const { value, attempts } = await withRetries(
          () => withDeadline((s) => provider.complete(request, s), hardDeadlineMs(model.timeoutMs), signal, () => `judge "${provider.key}"`),
          model.retry,
          signal,
        );
        const cost = callCost(value.usage, model.price);
        const completion: Completion = { ...value, attempts, ...(cost === undefined ? {} : { costUsd: cost }) };
        store.cacheCompletion(hash, completion);
        return completion;
      }),
  };
}
