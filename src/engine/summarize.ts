import { sumCosts } from '../core/cost.js';
import type { CallOutcome, ModelUsage } from '../core/types.js';

/** Per-model call counts, tokens and cost over every call of a run (repeats included). */
export function summarizeModels(outcomes: CallOutcome[], modelOrder: string[]): ModelUsage[] {
  const byModel = new Map<string, CallOutcome[]>();
  for (const o of outcomes) {
    const list = byModel.get(o.modelKey) ?? [];
    list.push(o);
    byModel.set(o.modelKey, list);
  }
  return [...new Set([...modelOrder, ...byModel.keys()])]
    .filter((k) => byModel.has(k))
    .map((model) => {
      const calls = byModel.get(model)!;
      const done = calls.filter((o) => o.completion);
      return {
        model,
        calls: calls.length,
        errors: calls.length - done.length,
        inputTokens: done.reduce((s, o) => s + o.completion!.usage.input, 0),
        outputTokens: done.reduce((s, o) => s + o.completion!.usage.output, 0),
        costUsd: sumCosts(done.map((o) => o.completion!.costUsd)),
      };
    });
}
