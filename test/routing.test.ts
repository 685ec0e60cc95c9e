import { resolve } from 'node:path';
import { countTokens } from 'gpt-tokenizer';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import type { Case, Routing, RoutingRule, RuleCondition } from '../src/core/types.js';
import { loadConfig, loadRouting, loadSuite } from '../src/config/load.js';
import { renderCase } from '../src/config/prompt.js';
import { assignTiers, inputTextOf, routeCase } from '../src/routing/match.js';

function routing(rules: RoutingRule[]): Routing {
  return {
    file: '/project/routing.yaml',
    content: '',
    hash: '',
    baseline: 'big',
    tiers: new Map([
      ['cheap', { name: 'cheap', model: 'small', gate: {} }],
      ['mid', { name: 'mid', model: 'mid', gate: {} }],
      ['frontier', { name: 'frontier', model: 'big', gate: {} }],
    ]),
    rules,
    budgets: [],
  };
}

/** One conditional rule to `cheap`, then the default to `frontier`. */
function only(when: RuleCondition): Routing {
  return routing([
    { name: 'r', when, tier: 'cheap' },
    { name: 'default', tier: 'frontier' },
  ]);
}

function kase(extra: Partial<Case> = {}): Case {
  return { id: 'c1', vars: {}, origin: { file: '/project/cases.jsonl', line: 1 }, ...extra };
}

const tierOf = (r: Routing, c: Case, text = 'hello') => routeCase(r, c, text).tier;

describe('routeCase', () => {
  it('first matching rule wins, in file order', () => {
    const r = routing([
      { name: 'a', when: { task: ['qa'] }, tier: 'mid' },
      { name: 'b', when: { task: ['qa'] }, tier: 'cheap' },
      { name: 'default', tier: 'frontier' },
    ]);
    expect(routeCase(r, kase({ task: 'qa' }), 'x')).toEqual({ tier: 'mid', rule: 'a' });
    expect(routeCase(r, kase({ task: 'chat' }), 'x')).toEqual({ tier: 'frontier', rule: 'default' });
  });

  it('task: one of the listed tasks; a case without a task never matches', () => {
    const r = only({ task: ['classification', 'extraction'] });
    expect(tierOf(r, kase({ task: 'extraction' }))).toBe('cheap');
    expect(tierOf(r, kase({ task: 'summarization' }))).toBe('frontier');
    expect(tierOf(r, kase())).toBe('frontier');
  });

  it('tags: any one of the listed tags', () => {
    const r = only({ tags: ['easy', 'faq'] });
    expect(tierOf(r, kase({ tags: ['billing', 'faq'] }))).toBe('cheap');
    expect(tierOf(r, kase({ tags: ['billing'] }))).toBe('frontier');
    expect(tierOf(r, kase())).toBe('frontier');
  });

  it('metadata: every key must match; a list means one of; strict equality', () => {
    const r = only({ metadata: { category: ['biology', 'economics'], level: 1 } });
    expect(tierOf(r, kase({ metadata: { category: 'economics', level: 1 } }))).toBe('cheap');
    expect(tierOf(r, kase({ metadata: { category: 'law', level: 1 } }))).toBe('frontier');
    expect(tierOf(r, kase({ metadata: { category: 'biology' } }))).toBe('frontier');
    expect(tierOf(r, kase({ metadata: { category: 'biology', level: '1' } }))).toBe('frontier');
    // A case listing several categories matches when one of them is wanted.
    expect(tierOf(r, kase({ metadata: { category: ['law', 'biology'], level: 1 } }))).toBe('cheap');
  });

  it('match: regex over the input, case-sensitive unless it starts with (?i)', () => {
    const sensitive = only({ match: 'refund\\b' });
    expect(tierOf(sensitive, kase(), 'I want a refund now')).toBe('cheap');
    expect(tierOf(sensitive, kase(), 'I want a REFUND now')).toBe('frontier');
    expect(tierOf(sensitive, kase(), 'refunds')).toBe('frontier');
    const insensitive = only({ match: '(?i)refund' });
    expect(tierOf(insensitive, kase(), 'I want a REFUND now')).toBe('cheap');
    expect(tierOf(insensitive, kase(), 'no money back')).toBe('frontier');
  });

  it('character bounds are inclusive', () => {
    const max = only({ maxInputChars: 5 });
    expect(tierOf(max, kase(), '12345')).toBe('cheap');
    expect(tierOf(max, kase(), '123456')).toBe('frontier');
    const min = only({ minInputChars: 5 });
    expect(tierOf(min, kase(), '12345')).toBe('cheap');
    expect(tierOf(min, kase(), '1234')).toBe('frontier');
  });

  it('token bounds are inclusive at exactly N tokens', () => {
    const text = 'Where is my refund? I returned the blender two weeks ago and nothing has arrived.';
    const n = countTokens(text);
    expect(n).toBeGreaterThan(10);
    expect(tierOf(only({ maxInputTokens: n }), kase(), text)).toBe('cheap');
    expect(tierOf(only({ maxInputTokens: n - 1 }), kase(), text)).toBe('frontier');
    expect(tierOf(only({ minInputTokens: n }), kase(), text)).toBe('cheap');
    expect(tierOf(only({ minInputTokens: n + 1 }), kase(), text)).toBe('frontier');
  });

  it('all conditions of one rule must hold together', () => {
    const r = only({ task: ['qa'], tags: ['easy'], maxInputChars: 10 });
    expect(tierOf(r, kase({ task: 'qa', tags: ['easy'] }), 'short')).toBe('cheap');
    expect(tierOf(r, kase({ task: 'qa', tags: ['easy'] }), 'much too long for it')).toBe('frontier');
    expect(tierOf(r, kase({ task: 'qa', tags: ['hard'] }), 'short')).toBe('frontier');
  });

  it('a hand-built routing without a default rule fails naming the case', () => {
    const r = routing([{ name: 'r', when: { task: ['qa'] }, tier: 'cheap' }]);
    const fn = () => routeCase(r, kase({ id: 'lost', task: 'chat' }), 'x');
    expect(fn).toThrow(ConfigError);
    expect(fn).toThrow(/case "lost" \(\/project\/cases\.jsonl:1\) matched no rule/);
  });

  it('an invalid regex in a hand-built routing is a ConfigError with its path', () => {
    const r = only({ match: '(' });
    expect(() => routeCase(r, kase(), 'x')).toThrow(/routing\.yaml \(at rules\[0\]\.when\.match\): invalid regular expression/);
  });
});

describe('assignTiers', () => {
  const FIXTURE = resolve(import.meta.dirname, 'fixtures/config/project');
  const config = loadConfig(resolve(FIXTURE, 'evalroute.config.yaml'), { cwd: FIXTURE, knownProviders: ['openai', 'recorded'] });
  const r = loadRouting(config.routing!, config);
  const suite = loadSuite(resolve(FIXTURE, 'suites/mmlu'), { graderTypes: ['exact'], graderNeedsGolden: () => true });

  it('gives every case exactly one tier, rendering each case once', () => {
    const rendered: string[] = [];
    const out = assignTiers(r, suite.cases, (c) => {
      rendered.push(c.id);
      return inputTextOf(renderCase(suite, c));
    });
    expect(rendered).toEqual(suite.cases.map((c) => c.id));
    expect([...out.keys()]).toEqual(suite.cases.map((c) => c.id));
    for (const { tier } of out.values()) expect(r.tiers.has(tier)).toBe(true);
    // The fixture has one biology and one economics question: the `cats` rule sends them to cheap.
    const byCategory = Object.fromEntries(suite.cases.map((c) => [c.metadata!.category, out.get(c.id)]));
    expect(byCategory).toEqual({
      business: { tier: 'frontier', rule: 'rule-4' },
      biology: { tier: 'cheap', rule: 'cats' },
      economics: { tier: 'cheap', rule: 'cats' },
      law: { tier: 'frontier', rule: 'rule-4' },
    });
  });

  it('the rule with a (?i) regex and a token cap routes a short refund question to cheap', () => {
    const c = { ...suite.cases[0]!, metadata: { category: 'support' } };
    expect(routeCase(r, c, 'Where is my REFUND?')).toEqual({ tier: 'cheap', rule: 'rule-3' });
    expect(routeCase(r, c, 'REFUND ' + 'please '.repeat(400))).toEqual({ tier: 'frontier', rule: 'rule-4' });
  });

  it('input text joins message contents with newlines', () => {
    expect(inputTextOf([{ role: 'system', content: 'S' }, { role: 'user', content: 'U' }])).toBe('S\nU');
  });
});
