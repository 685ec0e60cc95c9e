/**
 * Rule matching: which tier a case goes to. Rules are tried in order and the first whose conditions
 * all hold wins, as in the routing file. Regexes are compiled once per Routing; tokens are counted only
 * when a rule needs them, at most once per case.
 */
import { createRequire } from 'node:module';
import type * as GptTokenizer from 'gpt-tokenizer';
import { caseMatches } from '../core/case-condition.js';
import { ConfigError } from '../core/errors.js';
import { compileSafePattern, UnsafePatternError, type SafePattern } from '../core/safe-regex.js';
import { imageTokens } from '../core/media.js';
import { tokensOf } from '../core/tokens.js';
import type { Attachment, Case, ChatMessage, Routing, RoutingRule, RuleCondition } from '../core/types.js';
import { portkeyContext, resolvePortkeyTarget } from './portkey.js';

// Loaded on first use: the tokenizer's tables cost ~60 MB and ~50 ms, and most routing files never
// count tokens. Synchronous require keeps routing synchronous.
let tokenizer: typeof GptTokenizer | undefined;
const countTokens = (text: string): number =>
  tokensOf(text, (t) => (tokenizer ??= createRequire(import.meta.url)('gpt-tokenizer') as typeof GptTokenizer).countTokens(t));

export interface RouteMatch {
  tier: string;
  /** Name of the rule that matched. */
  rule: string;
}

interface CompiledRule {
  rule: RoutingRule;
  regex?: SafePattern;
}

const compiled = new WeakMap<Routing, CompiledRule[]>();

function compileRules(routing: Routing): CompiledRule[] {
  let rules = compiled.get(routing);
  if (!rules) {
    rules = routing.rules.map((rule, i) => {
      if (rule.when?.match === undefined) return { rule };
      try {
        return { rule, regex: compileSafePattern(rule.when.match) };
      } catch (e) {
        if (!(e instanceof UnsafePatternError)) throw e;
        throw new ConfigError({ file: routing.file, path: `rules[${i}].when.match` }, e.message, e.hint);
      }
    });
    compiled.set(routing, rules);
  }
  return rules;
}

/** Every file a case attaches, on the case or on its messages: rendering only moves them. */
export function attachmentsOf(c: Case): Attachment[] {
  return [...(c.attachments ?? []), ...(c.messages ?? []).flatMap((m) => m.attachments ?? [])];
}

/**
 * Input tokens an image adds: Anthropic's documented width × height / 750 (after downscaling to a
 * 1568 px long edge). An image whose header gives no size counts as the largest image the formula
 * allows (~1600 tokens), so it never slips under a `maxInputTokens` threshold by accident.
 */
export function attachmentTokens(attachments: readonly Attachment[]): number {
  let n = 0;
  for (const a of attachments) {
    if (a.kind !== 'image') continue;
    n += a.width !== undefined && a.height !== undefined ? imageTokens(a.width, a.height) : imageTokens(1568, 1568);
  }
  return n;
}

/** Input measured lazily: the tokenizer runs only if some rule asks for tokens, and then only once. */
class Input {
  private tokens?: number;
  constructor(
    readonly text: string,
    readonly attachments: readonly Attachment[],
  ) {}
  get tokenCount(): number {
    this.tokens ??= countTokens(this.text) + attachmentTokens(this.attachments);
    return this.tokens;
  }
}

function matches(w: RuleCondition, regex: SafePattern | undefined, c: Case, input: Input): boolean {
  if (!caseMatches(w, c)) return false;
  if (w.hasImage !== undefined && input.attachments.some((a) => a.kind === 'image') !== w.hasImage) return false;
  if (w.hasPdf !== undefined && input.attachments.some((a) => a.kind === 'pdf') !== w.hasPdf) return false;
  const chars = input.text.length;
  if (w.maxInputChars !== undefined && chars > w.maxInputChars) return false;
  if (w.minInputChars !== undefined && chars < w.minInputChars) return false;
  if (regex && !regex.test(input.text)) return false;
  if (w.maxInputTokens !== undefined && input.tokenCount > w.maxInputTokens) return false;
  if (w.minInputTokens !== undefined && input.tokenCount < w.minInputTokens) return false;
  return true;
}

/**
 * The tier of one case. `inputText` is the rendered conversation (message contents joined by "\n");
 * `body` is the request a gateway would receive for it (see `gatewayRequestBody`), which a Portkey
 * config's `params.*` conditions read.
 */
export function routeCase(routing: Routing, c: Case, inputText: string, body: Record<string, unknown> = {}): RouteMatch {
  if (routing.portkey) {
    const leaf = resolvePortkeyTarget(routing.portkey, c, portkeyContext(c, body), routing.file);
    return { tier: leaf.tier!, rule: leaf.path };
  }
  const input = new Input(inputText, attachmentsOf(c));
  for (const { rule, regex } of compileRules(routing)) {
    if (!rule.when || matches(rule.when, regex, c, input)) return { tier: rule.tier, rule: rule.name };
  }
  throw new ConfigError(
    { file: routing.file, path: 'rules' },
    `case "${c.id}" (${c.origin.file}:${c.origin.line}) matched no rule`,
    'end the rules with a default rule without when:, e.g. - { tier: frontier }',
  );
}

/** Every case's tier and the rule that sent it there, keyed by case id, in case order. */
export function assignTiers(
  routing: Routing,
  cases: readonly Case[],
  render: (c: Case) => string,
  bodyOf?: (c: Case) => Record<string, unknown>,
): Map<string, RouteMatch> {
  const out = new Map<string, RouteMatch>();
  // The gateway body is built only for the Portkey conditions that read it.
  for (const c of cases) out.set(c.id, routeCase(routing, c, render(c), routing.portkey ? bodyOf?.(c) : undefined));
  return out;
}

/**
 * The OpenAI-format body a gateway receives for a case: the suite's params, the case's own params, the
 * model name the client asks for, and the rendered messages (text only). Offline routing and
 * `run --through` build it the same way, so a gateway's `params.*` conditions see the same values.
 */
export function gatewayRequestBody(c: Case, messages: readonly ChatMessage[], suiteParams: Record<string, unknown>, model: string): Record<string, unknown> {
  return {
    ...suiteParams,
    ...c.params,
    model: typeof c.params?.model === 'string' ? c.params.model : model,
    messages: messages.map((m) => ({ role: m.role, content: m.content })),
  };
}

/** The text rules see: every rendered message's content, joined by "\n". */
export function inputTextOf(messages: readonly ChatMessage[]): string {
  return messages.map((m) => m.content).join('\n');
}
