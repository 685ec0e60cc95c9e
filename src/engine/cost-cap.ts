/**
 * `--max-cost`: a spending cap enforced before each call, not discovered afterwards. A call is made only
 * when what is already spent, plus the estimates of the calls in flight, plus its own estimate, stays
 * within the cap. Estimates are deliberately pessimistic on output (the call's max output tokens), so a
 * run stops a little early rather than a little over.
 */
import { tokensOf } from '../core/tokens.js';
import { callCost } from '../core/cost.js';
import type { CompletionRequest, Price, Provider } from '../core/types.js';
import type * as GptTokenizer from 'gpt-tokenizer';

/** What a call may cost in tokens: the prompt as the tokenizer counts it, and the most it may write. */
export interface TokenEstimate {
  input: number;
  output: number;
}

/** Used when neither max_tokens nor max_completion_tokens bounds the output. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 1024;
/** Chat formats wrap each message in a few tokens of role markup. */
const PER_MESSAGE_OVERHEAD = 4;

let tokenizer: Promise<typeof GptTokenizer> | undefined;

export async function estimateRequestTokens(req: CompletionRequest): Promise<TokenEstimate> {
  const { countTokens } = await (tokenizer ??= import('gpt-tokenizer'));
  const opts = { disallowedSpecial: new Set<string>() };
  let input = 0;
  for (const m of req.messages) {
    // Long texts at 4 characters a token: BPE is very slow on long runs without word boundaries.
    input += tokensOf(m.content, (t) => countTokens(t, opts)) + PER_MESSAGE_OVERHEAD;
  }
  return { input, output: maxOutputTokens(req.params) };
}

export function maxOutputTokens(params: Record<string, unknown>): number {
  for (const name of ['max_completion_tokens', 'max_tokens', 'max_output_tokens']) {
    const v = params[name];
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v;
  }
  return DEFAULT_MAX_OUTPUT_TOKENS;
}

/** Thrown instead of making a call the cap does not allow. Never stored: a later resume makes the call. */
export class CallSkipped extends Error {
  constructor() {
    super('not attempted: --max-cost reached');
    this.name = 'CallSkipped';
  }
}

export class CostBudget {
  #spent = 0;
  #inFlight = 0;
  /** Set by the first refused call; from then on no new call is made, so the run stops in case order. */
  capped = false;

  constructor(readonly capUsd: number) {}

  get spent(): number {
    return this.#spent;
  }

  /**
   * Reserves the estimated cost of one call, or throws CallSkipped. Synchronous on purpose: check and
   * reservation cannot interleave with another call's.
   */
  reserve(estimate: TokenEstimate, price: Price | undefined, caseId: string, modelKey: string): number {
    const cost = callCost({ input: estimate.input, output: estimate.output }, price);
    if (cost === undefined) throw new Error(`internal: model "${modelKey}" (case "${caseId}") has no price under --max-cost`);
    if (this.capped || this.#spent + this.#inFlight + cost > this.capUsd) {
      this.capped = true;
      throw new CallSkipped();
    }
    this.#inFlight += cost;
    return cost;
  }

  release(reserved: number): void {
    this.#inFlight = Math.max(0, this.#inFlight - reserved);
  }

  spend(usd: number): void {
    this.#spent += usd;
  }

  /** The judge as graders see it: its fresh calls add to what is spent. */
  track(judge: Provider, price: Price | undefined): Provider {
    return {
      key: judge.key,
      identity: judge.identity,
      complete: async (req, signal) => {
        const completion = await judge.complete(req, signal);
        if (!completion.cached) this.spend(callCost(completion.usage, price) ?? 0);
        return completion;
      },
    };
  }
}
