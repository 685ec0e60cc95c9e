import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditAggregator } from '../src/audit/aggregate.js';
import { LogHistogram } from '../src/audit/histogram.js';
import { normaliseLogLine } from '../src/audit/log-record.js';
import type { LogRecord } from '../src/audit/log-record.js';
import { createPriceLookup } from '../src/audit/pricing.js';
import { readLogRecords } from '../src/audit/read-logs.js';
import { auditLogs, auditSection, formatAuditReport } from '../src/audit/report.js';
import { signalsOf } from '../src/audit/signals.js';
import type { ModelConfig, Routing } from '../src/core/types.js';

const FIX = 'test/fixtures/logs';
const tmp = mkdtempSync(join(tmpdir(), 'evalroute-audit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const model = (key: string, id: string, price?: { input: number; output: number }): ModelConfig => ({
  key,
  provider: 'openai',
  model: id,
  params: {},
  concurrency: 1,
  timeoutMs: 1000,
  maxRetries: 0,
  ...(price ? { price } : {}),
});

async function records(file: string): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for await (const e of readLogRecords([file])) if (e.ok) out.push(e.record);
  return out;
}

describe('log formats', () => {
  it('reads OpenAI Chat Completions pairs: content parts, response_format, tool calls, usage', async () => {
    const [support, extraction, tool] = await records(`${FIX}/openai.jsonl`);
    expect(support).toMatchObject({
      format: 'openai',
      model: 'gpt-4.1-2025-04-14',
      usage: { input: 1000, output: 100 },
      output: 'It ships tomorrow.',
      metadata: { useCase: 'support' },
      timestamp: Date.parse('2025-03-02T10:00:00Z'),
    });
    expect(support!.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(extraction!.messages[0]!.content).toBe('Extract the name as JSON.\nName: Bob');
    expect(extraction!.structured).toBe(true);
    expect(extraction!.timestamp).toBe(1743465600 * 1000);
    expect(tool).toMatchObject({ tools: true, toolCalls: true, output: '[tool call] run_tests({"path":"src"})' });
  });

  it('reads Anthropic Messages pairs: system first, text parts, input/output tokens', async () => {
    const [a, b] = await records(`${FIX}/anthropic.jsonl`);
    expect(a).toMatchObject({ format: 'anthropic', model: 'claude-sonnet-4-5', usage: { input: 300, output: 40 }, output: 'Lower latency, staleness risk.' });
    expect(a!.messages.map((m) => `${m.role}:${m.content}`)).toEqual(['system:Be brief.', 'user:Analyze the trade-offs of caching step by step.', 'assistant:Which cache?', 'user:A CDN.']);
    // No response model: the request's model answers.
    expect(b).toMatchObject({ model: 'claude-haiku-4-5', usage: { input: 25, output: 8 } });
  });

  it('reads the generic form: input string or messages; estimates tokens when usage is missing', async () => {
    const [a, b, c] = await records(`${FIX}/generic.jsonl`);
    expect(a).toMatchObject({ format: 'generic', messages: [{ role: 'user', content: 'Classify: I was charged twice' }], output: 'billing', usage: { input: 12, output: 1 }, estimatedUsage: false });
    expect(b!.messages).toHaveLength(2);
    expect(c).toMatchObject({ estimatedUsage: true, usage: { input: Math.ceil('No usage here'.length / 4), output: Math.ceil('Then it is estimated'.length / 4) } });
  });

  it('says what is wrong with lines it does not understand', () => {
    expect(normaliseLogLine([1])).toMatch(/expected a JSON object, got an array/);
    expect(normaliseLogLine({ request: { model: 'x' } })).toMatch(/needs both "request" and "response"/);
    expect(normaliseLogLine({ request: { model: 'x', messages: [] }, response: { choices: [] } })).toMatch(/non-empty array/);
    expect(normaliseLogLine({ event: 'x' })).toMatch(/unrecognised log line/);
  });

  it('recognises gzip by its magic bytes, whatever the file name', async () => {
    const file = join(tmp, 'rotated.log.1');
    writeFileSync(file, gzipSync(readFileSync(`${FIX}/openai.jsonl`)));
    const rs = await records(file);
    expect(rs.map((r) => r.model)).toEqual(['gpt-4.1-2025-04-14', 'gpt-4.1-mini', 'gpt-4.1']);
  });
});

describe('audit', () => {
  it('counts malformed lines with their line numbers and keeps going', async () => {
    const file = `${FIX}/malformed.jsonl`;
    const r = await auditLogs([file], { prices: createPriceLookup() });
    expect(r.requests).toBe(3);
    expect(r.malformed.count).toBe(5);
    expect(r.malformed.first.map((m) => m.line)).toEqual([2, 3, 5, 6, 7]);
    expect(r.malformed.first[0]!.problem).toMatch(/invalid JSON/);
    expect(r.malformed.first.every((m) => m.file === file)).toBe(true);
    expect(formatAuditReport(r)).toContain(`${file}:6:`);
  });

  it('lists only the first 10 malformed lines but counts them all', () => {
    const agg = new AuditAggregator([], { prices: createPriceLookup() });
    for (let i = 1; i <= 25; i++) agg.addMalformed({ file: 'f', line: i, problem: 'bad' });
    const r = agg.report();
    expect(r.malformed.count).toBe(25);
    expect(r.malformed.first.map((m) => m.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('reports requests, tokens and cost by model, use case and month; unpriced models stay unknown', async () => {
    const prices = createPriceLookup([model('gpt4', 'gpt-4.1', { input: 2, output: 8 }), model('mini', 'gpt-4.1-mini', { input: 0.4, output: 1.6 })]);
    const files = [`${FIX}/openai.jsonl`, `${FIX}/anthropic.jsonl`, `${FIX}/generic.jsonl`];
    const r = await auditLogs(files, { prices });
    expect(r.requests).toBe(8);
    expect(r.formats).toEqual({ openai: 3, anthropic: 2, generic: 3, litellm: 0, portkey: 0 });
    const byModel = Object.fromEntries(r.byModel.map((m) => [m.key, m]));
    // The dated snapshot takes the price of the configured id it extends.
    expect(byModel['gpt-4.1-2025-04-14']).toMatchObject({ requests: 1, priceSource: 'config:gpt4' });
    expect(byModel['gpt-4.1-2025-04-14']!.costUsd).toBeCloseTo((1000 * 2 + 100 * 8) / 1e6, 12);
    expect(byModel['gpt-4.1-mini']!.priceSource).toBe('config:mini');
    expect(byModel['claude-sonnet-4-5']).toMatchObject({ priceSource: null, unpricedRequests: 1, costUsd: 0 });
    expect(r.totals.unpricedRequests).toBe(4);
    const useCases = Object.fromEntries(r.byUseCase.map((u) => [u.key, u.requests]));
    expect(useCases).toEqual({ support: 1, extraction: 1, coding: 2, analysis: 1, classification: 1, unknown: 2 });
    expect(r.byMonth.map((m) => [m.key, m.requests])).toEqual([
      ['2025-03', 5],
      ['2025-04', 2],
      ['no timestamp', 1],
    ]);
    expect(auditSection(r).warnings.join('\n')).toMatch(/unpriced model\(s\): .*claude-sonnet-4-5/);
  });

  it('prices dated snapshots and gateway names of a configured id, never a different model', () => {
    const prices = createPriceLookup([model('gpt4', 'gpt-4.1', { input: 2, output: 8 }), model('sonnet', 'claude-3-5-sonnet', { input: 3, output: 15 })], [['gpt-4o', { price: { input: 2.5, output: 10 }, source: 'table' }]]);
    for (const id of ['gpt-4.1', 'GPT-4.1-2025-04-14', 'openai/gpt-4.1', 'gpt-4.1-latest']) expect(prices(id)?.source, id).toBe('config:gpt4');
    for (const id of ['claude-3-5-sonnet@20240620', 'anthropic.claude-3-5-sonnet-20240620-v1:0']) expect(prices(id)?.source, id).toBe('config:sonnet');
    expect(prices('gpt-4o-2024-08-06')?.source).toBe('table');
    for (const id of ['gpt-4.1-mini', 'gpt-4.1-nano-2025-04-14', 'gpt-4', 'claude-3-5-sonnet-v2x']) expect(prices(id), id).toBeUndefined();
  });

  it('computes token percentiles from a fixed histogram within about 1%', () => {
    const h = new LogHistogram();
    for (let v = 1; v <= 10_000; v++) h.add(v);
    expect(h.quantile(0.5)! / 5000).toBeCloseTo(1, 1);
    expect(Math.abs(h.quantile(0.9)! - 9000) / 9000).toBeLessThan(0.011);
    expect(Math.abs(h.quantile(0.99)! - 9900) / 9900).toBeLessThan(0.011);
    expect(new LogHistogram().quantile(0.5)).toBeNull();
    const small = new LogHistogram();
    [0, 3, 3, 7].forEach((v) => small.add(v));
    expect([small.quantile(0.25), small.quantile(0.5), small.quantile(1)]).toEqual([0, 3, 7]);
  });

  it('derives complexity signals: length, turns, code, structured, tools, reasoning', async () => {
    const [support, extraction, tool] = await records(`${FIX}/openai.jsonl`);
    const [analysis, code] = await records(`${FIX}/anthropic.jsonl`);
    expect(signalsOf(support!)).toMatchObject({ length: 'medium', turns: 1, code: false, reasoning: false, complexity: 'low' });
    expect(signalsOf(extraction!)).toMatchObject({ structured: true, complexity: 'low' });
    expect(signalsOf(tool!)).toMatchObject({ tools: true, complexity: 'medium' });
    expect(signalsOf(analysis!)).toMatchObject({ turns: 2, reasoning: true, complexity: 'medium' });
    expect(signalsOf(code!)).toMatchObject({ code: true, length: 'short' });
  });

  it('projects the tier split and the routed cost at equal token counts', async () => {
    const models = new Map([
      ['gpt4', model('gpt4', 'gpt-4.1', { input: 2, output: 8 })],
      ['mini', model('mini', 'gpt-4.1-mini', { input: 0.4, output: 1.6 })],
    ]);
    const routing: Routing = {
      file: '/x/routing.yaml',
      content: '',
      hash: '',
      baseline: 'gpt4',
      tiers: new Map([
        ['cheap', { name: 'cheap', model: 'mini', gate: {} }],
        ['frontier', { name: 'frontier', model: 'gpt4', gate: {} }],
      ]),
      rules: [
        { name: 'intents', when: { task: ['extraction'] }, tier: 'cheap' },
        { name: 'ask', when: { match: '(?i)where is my order' }, tier: 'cheap' },
        { name: 'default', tier: 'frontier' },
      ],
      budgets: [],
    };
    const r = await auditLogs([`${FIX}/openai.jsonl`], { prices: createPriceLookup(models.values()), routing: { routing, models } });
    const p = r.routing!;
    expect(p.tiers.map((t) => [t.tier, t.requests])).toEqual([
      ['cheap', 2],
      ['frontier', 1],
    ]);
    expect(p.rules).toEqual([
      { rule: 'ask', tier: 'cheap', requests: 1 },
      { rule: 'intents', tier: 'cheap', requests: 1 },
      { rule: 'default', tier: 'frontier', requests: 1 },
    ]);
    const today = (1000 * 2 + 100 * 8 + 50 * 0.4 + 10 * 1.6 + 20 * 2 + 15 * 8) / 1e6;
    const routed = (1000 * 0.4 + 100 * 1.6 + 50 * 0.4 + 10 * 1.6 + 20 * 2 + 15 * 8) / 1e6;
    expect(p.todayUsd).toBeCloseTo(today, 12);
    expect(p.routedUsd).toBeCloseTo(routed, 12);
    expect(p.savings).toBeCloseTo((today - routed) / today, 12);
    // The three requests span 2025-03-02 … 2025-04-15 (44 days): the projection scales to a month.
    expect(p.todayMonthlyUsd).toBeCloseTo((today / r.period.days!) * (365.25 / 12), 9);
    expect(formatAuditReport(r)).toMatch(/assumes equal token counts/);
  });
});

describe('synthetic log generator', () => {
  it('is deterministic per seed, mixes the three formats and can add malformed lines', async () => {
    const gen = (await import('../scripts/generate-logs.mjs' as string)) as {
      generateLogLines: (o: object) => Iterable<string>;
      writeLogs: (o: object) => Promise<{ lines: number }>;
    };
    const a = [...gen.generateLogLines({ lines: 400, seed: 5, malformedRate: 0.05 })];
    const b = [...gen.generateLogLines({ lines: 400, seed: 5, malformedRate: 0.05 })];
    const c = [...gen.generateLogLines({ lines: 400, seed: 6, malformedRate: 0.05 })];
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const file = join(tmp, 'gen.jsonl.gz');
    await gen.writeLogs({ lines: 400, seed: 5, malformedRate: 0.05, out: file });
    const r = await auditLogs([file], { prices: createPriceLookup() });
    expect(r.requests + r.malformed.count).toBe(400);
    expect(r.malformed.count).toBeGreaterThan(5);
    expect(r.formats.openai).toBeGreaterThan(50);
    expect(r.formats.anthropic).toBeGreaterThan(50);
    expect(r.formats.generic).toBeGreaterThan(20);
    expect(r.byUseCase.map((u) => u.key)).toEqual(expect.arrayContaining(['support', 'classification', 'extraction', 'summarisation', 'coding']));
  });
});
