import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BudgetAudit } from '../src/audit/budgets.js';
import { normaliseLogLine } from '../src/audit/log-record.js';
import type { LogRecord } from '../src/audit/log-record.js';
import { runCli } from './support/cli.js';

const FIX = resolve('test/fixtures/logs');
const lines = (file: string) => readFileSync(join(FIX, file), 'utf8').trim().split('\n').map((l) => normaliseLogLine(JSON.parse(l)) as LogRecord);

describe('gateway log formats', () => {
  it('reads LiteLLM spend-log rows: model and model_group, tokens, spend, use case from metadata or a useCase: tag, JSON-text columns', () => {
    const [first, , textColumns] = lines('litellm-spend.jsonl');
    expect(first).toMatchObject({
      format: 'litellm',
      model: 'gpt-4o-2024-08-06',
      requestedModel: 'gpt-4o',
      usage: { input: 2000, output: 400 },
      loggedCostUsd: 0.009,
      metadata: { useCase: 'support' },
      timestamp: Date.parse('2026-12-01T09:00:00.000Z'),
      messages: [],
    });
    // metadata and request_tags dumped as JSON text (a Postgres export): the tag names the use case.
    expect(textColumns).toMatchObject({ metadata: { useCase: 'support', tags: ['useCase:support'] } });
  });

  it('reads Portkey log export lines, with the request/response bodies as objects or JSON text, or without them', () => {
    const [withBodies, asText, bare] = lines('portkey-export.jsonl');
    expect(withBodies).toMatchObject({ format: 'portkey', model: 'gpt-4o', usage: { input: 1000, output: 500 }, metadata: { useCase: 'search' }, output: 'Order 1001, order 1002' });
    expect(withBodies!.messages).toEqual([{ role: 'user', content: 'Find orders for customer 42' }]);
    expect(withBodies!.loggedCostUsd).toBeUndefined(); // Portkey's cost has no documented unit: priced from tokens
    expect(asText).toMatchObject({ format: 'portkey', model: 'gpt-4o-mini', output: 'hello', metadata: { useCase: 'search' } });
    expect(bare).toMatchObject({ format: 'portkey', model: 'claude-sonnet-4-5', usage: { input: 400, output: 100 }, messages: [] });
  });
});

function budgetProject(budgets: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'evalroute-budgets-'));
  writeFileSync(
    join(dir, 'evalroute.config.yaml'),
    'models:\n  big: { provider: openai, model: gpt-4o, price: { input: 2.5, output: 10 } }\n  small: { provider: openai, model: gpt-4o-mini }\nrouting: routing.yaml\n',
  );
  writeFileSync(join(dir, 'routing.yaml'), `baseline: big\ntiers:\n  cheap: { model: small }\n  frontier: { model: big }\nrules:\n  - { when: { task: easy }, tier: cheap }\n  - { tier: frontier }\nbudgets:\n${budgets}`);
  return dir;
}

describe('evalroute audit --budgets', () => {
  it("reports each use case's month-to-date frontier tokens and spend: warning at 70%, exit 1 over 100%", async () => {
    const dir = budgetProject(
      '  - { useCase: support, frontierTokensPerMonth: 10000, alertAt: 0.7 }\n' +
        '  - { useCase: billing, usdPerMonth: 1 }\n' +
        '  - { useCase: search, frontierTokensPerMonth: 100000, usdPerMonth: 5 }\n' +
        '  - { useCase: legal, frontierTokensPerMonth: 1000 }\n',
    );
    const out = await runCli(
      ['audit', join(FIX, 'litellm-spend.jsonl'), join(FIX, 'portkey-export.jsonl'), '--budgets', 'routing.yaml', '--as-of', '2026-12-03T00:00:00Z', '--json', 'budgets.json'],
      { cwd: dir },
    );
    expect(out.status, out.stderr).toBe(1);
    expect(out.stdout).toMatch(/month to date: 2026-12 .*9 requests/);
    expect(out.stdout).toMatch(/not counted: 1 outside the month/);
    expect(out.stdout).toMatch(/^OVER billing: month-to-date \$1\.20 \(2026-12, 2 requests\) is 120\.0% of the \$1\.00\/month budget: over budget$/m);
    expect(out.stdout).toMatch(/^WARN support: month-to-date 7,200 frontier tokens \(2026-12, 4 requests\) is 72\.0% of the 10,000 frontier tokens\/month budget: at or above the 70\.0% alert level$/m);
    expect(out.stdout).toMatch(/^ok {3}search: month-to-date 1,500 frontier tokens/m);
    expect(out.stdout).toMatch(/ — {3}legal: budget 1,000 frontier tokens\/month not evaluated — no request of 2026-12 has this use case/);
    const json = JSON.parse(readFileSync(join(dir, 'budgets.json'), 'utf8')) as BudgetAudit;
    const search = json.useCases.find((u) => u.useCase === 'search')!;
    // gpt-4o at the config's price, gpt-4o-mini and claude-sonnet-4-5 at the bundled table's.
    expect(search.usd).toBeCloseTo(0.0075 + (8 * 0.15 + 2 * 0.6) / 1e6 + 0.0027, 9);
    expect(json.budgets.map((b) => [b.useCase, b.metric, b.status])).toEqual([
      ['support', 'frontierTokensPerMonth', 'warn'],
      ['billing', 'usdPerMonth', 'fail'],
      ['search', 'frontierTokensPerMonth', 'ok'],
      ['search', 'usdPerMonth', 'ok'],
      ['legal', 'frontierTokensPerMonth', 'not-evaluated'],
    ]);
  });

  it('exits 0 when every budget is under 100%, still printing the 70% warning; refuses a routing file without budgets', async () => {
    const dir = budgetProject('  - { useCase: support, frontierTokensPerMonth: 10000 }\n');
    const out = await runCli(['audit', join(FIX, 'litellm-spend.jsonl'), '--budgets', 'routing.yaml', '--as-of', '2026-12-03'], { cwd: dir });
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^WARN support: .* 72\.0% /m);
    expect(out.stdout).toMatch(/1 budget at or above the alert level/);

    writeFileSync(join(dir, 'plain.yaml'), 'baseline: big\ntiers:\n  frontier: { model: big }\nrules:\n  - { tier: frontier }\n');
    const none = await runCli(['audit', join(FIX, 'litellm-spend.jsonl'), '--budgets', 'plain.yaml'], { cwd: dir });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/plain\.yaml has no budgets:/);
  });
});
