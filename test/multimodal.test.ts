import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, ProviderError } from '../src/core/errors.js';
import { detectMedia, imageSize, imageTokens } from '../src/core/media.js';
import type { Attachment, Case, ChatMessage, CompletionRequest, ModelConfig, Routing, RoutingRule } from '../src/core/types.js';
import { loadSuite } from '../src/config/load.js';
import { renderCase } from '../src/config/prompt.js';
import { conditionSchema } from '../src/config/schemas.js';
import { requestHash } from '../src/engine/request-hash.js';
import { AnthropicProvider } from '../src/providers/anthropic.js';
import { anthropicMessageParams } from '../src/providers/anthropic-batch.js';
import { OpenAIProvider } from '../src/providers/openai.js';
import { openaiChatBody } from '../src/providers/openai-batch.js';
import { checkAttachmentLimits, estimateUsage } from '../src/providers/shared.js';
import { inputTextOf, routeCase } from '../src/routing/match.js';
import { buildReportData } from '../src/report/report-data.js';
import { openStore } from '../src/store/index.js';
import { run } from '../src/api/run.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder, createProject } from './support/project.js';
import { png } from './support/png.js';
import { newRun } from './support/store-run.js';

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// ───────────── a suite folder with attachments ─────────────

let dir: string;
const RECEIPT = png(30, 20);
const BIG_RECEIPT = png(1500, 1000, 0x40);

function writeSuite(name: string, lines: unknown[]): string {
  const suiteDir = join(dir, name);
  mkdirSync(join(suiteDir, 'receipts'), { recursive: true });
  writeFileSync(join(suiteDir, 'suite.yaml'), 'prompt:\n  system: "Read receipts."\n  user: "Total of {{shop}}?"\ngraders:\n  - { type: exact }\n');
  writeFileSync(join(suiteDir, 'receipts/r1.png'), RECEIPT);
  writeFileSync(join(suiteDir, 'receipts/big.png'), BIG_RECEIPT);
  writeFileSync(join(suiteDir, 'invoice.pdf'), PDF);
  writeFileSync(join(suiteDir, 'cases.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return suiteDir;
}
const load = (suiteDir: string) => loadSuite(suiteDir, { graderTypes: ['exact'], graderNeedsGolden: () => false });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'evalroute-mm-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loading attachments', () => {
  it('reads case and message attachments, detects types from bytes and shares one Buffer per file', () => {
    const suite = load(
      writeSuite('load', [
        { id: 'a', vars: { shop: 'A' }, attachments: ['receipts/r1.png', 'invoice.pdf'] },
        { id: 'b', vars: { shop: 'B' }, attachments: ['receipts/r1.png'] },
        { id: 'c', messages: [{ role: 'user', content: 'Describe.', attachments: [`data:image/png;base64,${RECEIPT.toString('base64')}`] }] },
        { id: 'd', vars: { shop: 'D' } },
      ]),
    );
    const [a, b, c, d] = suite.cases;
    expect(a!.attachments!.map((x) => [x.kind, x.mediaType, x.name, x.bytes])).toEqual([
      ['image', 'image/png', 'receipts/r1.png', RECEIPT.length],
      ['pdf', 'application/pdf', 'invoice.pdf', PDF.length],
    ]);
    expect(a!.attachments![0]).toMatchObject({ sha256: sha(RECEIPT), width: 30, height: 20 });
    // Same file (and the same bytes through a data: URL) → the very same Buffer, not a copy.
    expect(b!.attachments![0]!.data).toBe(a!.attachments![0]!.data);
    expect(c!.messages![0]!.attachments![0]!.data).toBe(a!.attachments![0]!.data);

    const rendered = renderCase(suite, a!);
    expect(rendered.map((m) => [m.role, m.content, m.attachments?.length])).toEqual([
      ['system', 'Read receipts.', undefined],
      ['user', 'Total of A?', 2],
    ]);
    expect(renderCase(suite, d!)[1]).toEqual({ role: 'user', content: 'Total of D?' });
  });

  it('refuses a .png whose bytes are text, naming the case, its line and the file', () => {
    const suiteDir = writeSuite('bad', [{ id: 'ok', vars: { shop: 'x' } }, { id: 'fake', vars: { shop: 'y' }, attachments: ['notes.png'] }]);
    writeFileSync(join(suiteDir, 'notes.png'), 'just some text, not an image\n');
    const fn = () => load(suiteDir);
    expect(fn).toThrow(ConfigError);
    expect(fn).toThrow(/cases\.jsonl:2.*case "fake".*notes\.png is not a supported file/s);
  });

  it('refuses attachments on a system message', () => {
    const suiteDir = writeSuite('sys', [{ id: 's', messages: [{ role: 'system', content: 'x', attachments: ['invoice.pdf'] }, { role: 'user', content: 'y' }] }]);
    expect(() => load(suiteDir)).toThrow(/case "s": messages\[0\] is a system message with attachments/);
  });
});

describe('media detection and image sizes', () => {
  it('detects each supported type from magic numbers and rejects others', () => {
    const webp = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBP')]);
    expect(detectMedia(RECEIPT)?.mediaType).toBe('image/png');
    expect(detectMedia(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))?.mediaType).toBe('image/jpeg');
    expect(detectMedia(Buffer.from('GIF89a'))?.mediaType).toBe('image/gif');
    expect(detectMedia(Buffer.from('GIF87a'))?.mediaType).toBe('image/gif');
    expect(detectMedia(webp)?.mediaType).toBe('image/webp');
    expect(detectMedia(PDF)).toEqual({ kind: 'pdf', mediaType: 'application/pdf' });
    expect(detectMedia(Buffer.from('RIFF....WAVE'))).toBeUndefined();
    expect(detectMedia(Buffer.from('hello'))).toBeUndefined();
  });

  it('reads PNG, GIF, JPEG and WebP dimensions from their headers', () => {
    expect(imageSize(png(7, 3), 'image/png')).toEqual({ width: 7, height: 3 });
    const gif = Buffer.from([...Buffer.from('GIF89a'), 0x40, 0x01, 0xf0, 0x00]);
    expect(imageSize(gif, 'image/gif')).toEqual({ width: 320, height: 240 });
    // SOI, an APP0 segment of length 4, then SOF0 with height 480 and width 640.
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0xe0, 0x02, 0x80, 0x03]);
    expect(imageSize(jpeg, 'image/jpeg')).toEqual({ width: 640, height: 480 });
    const vp8x = Buffer.alloc(30);
    vp8x.write('RIFF', 0);
    vp8x.write('WEBP', 8);
    vp8x.write('VP8X', 12);
    vp8x.writeUIntLE(799, 24, 3);
    vp8x.writeUIntLE(599, 27, 3);
    expect(imageSize(vp8x, 'image/webp')).toEqual({ width: 800, height: 600 });
  });

  it('counts image tokens as width×height/750 after scaling to a 1568 px long edge', () => {
    expect(imageTokens(1000, 750)).toBe(1000);
    expect(imageTokens(30, 20)).toBe(1);
    expect(imageTokens(3136, 3136)).toBe(Math.ceil((1568 * 1568) / 750));
  });

  it('usage estimates (APIs that report none) add image tokens to the text tokens', async () => {
    const big = { ...attachment(BIG_RECEIPT, 'big.png'), width: 1500, height: 1000 };
    const text = await estimateUsage([{ content: 'Total?' }], 'x');
    const withImage = await estimateUsage([{ content: 'Total?', attachments: [big] }], 'x');
    expect(withImage.input - text.input).toBe(2000);
  });

  it('Anthropic\'s 32 MB request limit counts attachments as base64', () => {
    const pdf = (mb: number) => ({ ...attachment(PDF, 'd.pdf'), bytes: mb * 1024 * 1024 });
    const req = (n: number) => request([{ role: 'user', content: 'x', attachments: Array.from({ length: n }, () => pdf(10)) }], 'docs');
    expect(() => checkAttachmentLimits('anthropic', 'm', req(2))).not.toThrow();
    expect(() => checkAttachmentLimits('anthropic', 'm', req(3))).toThrow(/case "docs".*40\.0 MB as base64, over anthropic's 32\.0 MB request limit/s);
    expect(() => checkAttachmentLimits('openai', 'm', req(3))).not.toThrow();
  });
});

// ───────────── wire formats through the real SDKs ─────────────

let server: MockLlmServer;
const env = { OPENAI_API_KEY: 'sk-test-MM', ANTHROPIC_API_KEY: 'sk-test-MM' };
const never = new AbortController().signal;

function attachment(data: Buffer, name: string): Attachment {
  const media = detectMedia(data)!;
  return { ...media, name, sha256: sha(data), bytes: data.length, data };
}
function request(messages: ChatMessage[], caseId = 'r1'): CompletionRequest {
  return { caseId, messages, params: { max_tokens: 20 }, repeat: 0 };
}
function model(provider: 'openai' | 'anthropic'): ModelConfig {
  const baseURL = provider === 'anthropic' ? server.anthropicBaseURL : server.openaiBaseURL;
  return { key: `${provider}-m`, provider, model: 'vision-model', params: {}, concurrency: 1, timeoutMs: 5_000, maxRetries: 0, baseURL };
}
const img = () => attachment(RECEIPT, 'receipts/r1.png');
const pdf = () => attachment(PDF, 'docs/invoice.pdf');
const conversation = (): ChatMessage[] => [
  { role: 'system', content: 'Read receipts.' },
  { role: 'user', content: 'Total?', attachments: [img(), pdf()] },
];

describe('wire formats', () => {
  beforeAll(async () => {
    server = await startMockLlmServer();
  });
  afterAll(() => server.close());
  beforeEach(() => server.reset());

  const b64 = (b: Buffer) => b.toString('base64');
  const openaiParts = [
    { type: 'image_url', image_url: { url: `data:image/png;base64,${b64(RECEIPT)}` } },
    { type: 'file', file: { filename: 'invoice.pdf', file_data: `data:application/pdf;base64,${b64(PDF)}` } },
    { type: 'text', text: 'Total?' },
  ];
  const anthropicBlocks = [
    { type: 'image', source: { type: 'base64', media_type: 'image/png', data: b64(RECEIPT) } },
    { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: b64(PDF) } },
    { type: 'text', text: 'Total?' },
  ];

  it('OpenAI: image_url and file parts carry the exact bytes, text last', async () => {
    await new OpenAIProvider(model('openai'), { env }).complete(request(conversation()), never);
    const [entry] = server.requests;
    expect(entry!.messages[1]).toEqual({ role: 'user', content: 'Total?', parts: openaiParts });
    const sent = (entry!.messages[1]!.parts![0] as { image_url: { url: string } }).image_url.url.split(',')[1]!;
    expect(Buffer.from(sent, 'base64').equals(RECEIPT)).toBe(true);
    expect(openaiChatBody(model('openai'), request(conversation())).messages).toEqual((entry!.body as { messages: unknown }).messages);
  });

  it('Anthropic: image and document blocks then the text, system as a parameter', async () => {
    await new AnthropicProvider(model('anthropic'), { env }).complete(request(conversation()), never);
    const [entry] = server.requests;
    expect(entry!.body.system).toBe('Read receipts.');
    expect(entry!.messages[1]).toEqual({ role: 'user', content: 'Total?', parts: anthropicBlocks });
    expect(anthropicMessageParams(model('anthropic'), request(conversation())).messages).toEqual((entry!.body as { messages: unknown }).messages);
  });

  it('text-only messages stay plain strings in both APIs', async () => {
    const plain: ChatMessage[] = [{ role: 'user', content: 'Hi' }];
    await new OpenAIProvider(model('openai'), { env }).complete(request(plain), never);
    await new AnthropicProvider(model('anthropic'), { env }).complete(request(plain), never);
    for (const entry of server.requests) {
      expect((entry.body as { messages: { content: unknown }[] }).messages[0]!.content).toBe('Hi');
      expect(entry.messages[0]!.parts).toBeUndefined();
    }
  });

  it('an image over Anthropic\'s 5 MB limit fails before any call, naming case and file', async () => {
    const huge = Buffer.concat([RECEIPT, Buffer.alloc(5 * 1024 * 1024)]);
    const messages: ChatMessage[] = [{ role: 'user', content: 'Total?', attachments: [attachment(huge, 'receipts/huge.png')] }];
    const call = new AnthropicProvider(model('anthropic'), { env }).complete(request(messages, 'big-one'), never);
    await expect(call).rejects.toThrow(ProviderError);
    await expect(call).rejects.toThrow(/case "big-one".*attachment receipts\/huge\.png is 5\.0 MB, over the anthropic limit of 5\.0 MB per image/s);
    expect(server.requests).toHaveLength(0);
    // The same file is within OpenAI's 20 MB.
    await new OpenAIProvider(model('openai'), { env }).complete(request(messages, 'big-one'), never);
    expect(server.requests).toHaveLength(1);
  });
});

// ───────────── cache key ─────────────

describe('request hash', () => {
  const provider = { key: 'k', identity: 'openai|https://api.openai.com/v1|gpt-4.1|{"temperature":0}', complete: () => Promise.reject(new Error('unused')) };
  const text: ChatMessage[] = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'What is 2+2?' },
  ];
  const req = (messages: ChatMessage[]): CompletionRequest => ({ caseId: 'c1', messages, params: { temperature: 0, max_tokens: 16 }, repeat: 0 });

  it('is unchanged for text-only requests (pinned before attachments existed)', () => {
    expect(requestHash(provider, req(text))).toBe('8fbb1864aafc7f82036d6594d2c00ae754b486e43b1a534cf6072737900ba21a');
  });

  it('keys attachments by content hash: equal bytes in another Buffer hash alike, other bytes differ', () => {
    const withImage = (data: Buffer) => req([text[0]!, { ...text[1]!, attachments: [attachment(data, 'r.png')] }]);
    const h = requestHash(provider, withImage(RECEIPT));
    expect(requestHash(provider, withImage(Buffer.from(RECEIPT)))).toBe(h);
    expect(requestHash(provider, withImage(png(30, 20, 0x81)))).not.toBe(h);
    expect(h).not.toBe(requestHash(provider, req(text)));
  });
});

// ───────────── routing on content ─────────────

describe('routing on attachments', () => {
  const rules: RoutingRule[] = [
    { name: 'documents', when: { hasPdf: true }, tier: 'docs' },
    { name: 'long-vision', when: { hasImage: true, minInputTokens: 1000 }, tier: 'frontier' },
    { name: 'vision', when: { hasImage: true }, tier: 'vision' },
    { name: 'text', when: { hasImage: false }, tier: 'cheap' },
    { name: 'default', tier: 'frontier' },
  ];
  const routing: Routing = {
    file: '/p/routing.yaml',
    content: '',
    hash: '',
    baseline: 'big',
    tiers: new Map(['cheap', 'vision', 'docs', 'frontier'].map((t) => [t, { name: t, model: t, gate: {} }])),
    rules,
    budgets: [],
  };

  it('sends each case to the tier its attachments and image tokens call for', () => {
    const suite = load(
      writeSuite('route', [
        { id: 'text', vars: { shop: 'A' } },
        { id: 'small-image', vars: { shop: 'B' }, attachments: ['receipts/r1.png'] },
        { id: 'big-image', vars: { shop: 'C' }, attachments: ['receipts/big.png'] },
        { id: 'pdf', messages: [{ role: 'user', content: 'Sum it.', attachments: ['invoice.pdf'] }] },
      ]),
    );
    const tiers = suite.cases.map((c) => [c.id, routeCase(routing, c, inputTextOf(renderCase(suite, c))).tier]);
    // big.png is 1500×1000: 2000 image tokens, over minInputTokens 1000; r1.png is 1 token.
    expect(tiers).toEqual([
      ['text', 'cheap'],
      ['small-image', 'vision'],
      ['big-image', 'frontier'],
      ['pdf', 'docs'],
    ]);
  });

  it('the routing schema accepts hasImage/hasPdf booleans only', () => {
    expect(conditionSchema.safeParse({ hasImage: true, hasPdf: false }).success).toBe(true);
    expect(conditionSchema.safeParse({ hasImage: 'yes' }).success).toBe(false);
  });
});

// ───────────── store: once per content ─────────────

describe('store', () => {
  it('stores each attachment once across runs and models and gives it back by reference', () => {
    const suite = load(
      writeSuite('store', [
        { id: 'a', vars: { shop: 'A' }, attachments: ['receipts/r1.png', 'invoice.pdf'] },
        { id: 'b', vars: { shop: 'B' }, attachments: ['receipts/r1.png'] },
        // A ready conversation whose message carries the file: stored by reference too.
        { id: 'c', messages: [{ role: 'user', content: 'Total of this invoice?', attachments: ['invoice.pdf'] }] },
      ]),
    );
    const file = join(dir, 'store', 'results.db');
    const store = openStore(file);
    const ids: string[] = [];
    for (let run = 0; run < 2; run++) {
      const inputs = new Map(suite.cases.map((c: Case) => [c.id, renderCase(suite, c)]));
      const id = store.beginRun(
        newRun(suite.cases, { suite: suite.name, suiteDir: suite.dir, routingFile: '/p/routing.yaml', tier: 'vision', inputs }),
      );
      for (const modelKey of ['big', 'small']) {
        for (const c of suite.cases) {
          store.saveCall(id, {
            caseId: c.id,
            modelKey,
            repeat: 0,
            requestHash: `${id}-${c.id}-${modelKey}`,
            completion: { text: '12.50', usage: { input: 10, output: 2 }, latencyMs: 5 },
            grades: [],
            pass: true,
            score: 1,
          });
        }
      }
      ids.push(id);
    }
    const cases = store.getCases(ids[1]!);
    store.close();

    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare('SELECT sha256, media_type, bytes FROM attachments ORDER BY bytes').all()).toEqual(
        [
          { sha256: sha(PDF), media_type: 'application/pdf', bytes: PDF.length },
          { sha256: sha(RECEIPT), media_type: 'image/png', bytes: RECEIPT.length },
        ].sort((x, y) => x.bytes - y.bytes),
      );
      const rows = db.prepare('SELECT case_json, input_json FROM run_cases').all() as { case_json: string; input_json: string }[];
      expect(rows).toHaveLength(6);
      const base64 = RECEIPT.toString('base64');
      for (const r of rows) {
        expect(r.case_json + r.input_json).not.toContain(base64);
        expect(r.case_json + r.input_json).not.toContain('"data"');
      }
      expect(JSON.parse(rows[0]!.input_json)[1].attachments[0]).toMatchObject({ sha256: sha(RECEIPT), name: 'receipts/r1.png', mediaType: 'image/png', kind: 'image' });
    } finally {
      db.close();
    }

    const a = cases[0]!.input![1]!.attachments!;
    expect(a.map((x) => x.name)).toEqual(['receipts/r1.png', 'invoice.pdf']);
    expect(a[0]!.data.equals(RECEIPT)).toBe(true);
    expect(a[1]!.data.equals(PDF)).toBe(true);
    expect(cases[1]!.case.attachments![0]!.data.equals(RECEIPT)).toBe(true);
    expect(cases[2]!.case.messages![0]!.attachments![0]!.data.equals(PDF)).toBe(true);
  });
});

// ───────────── end to end through `run` ─────────────

describe('evalroute run with attachments', () => {
  let e2e: MockLlmServer;
  beforeAll(async () => {
    e2e = await startMockLlmServer();
  });
  afterAll(() => e2e.close());

  it('routes image cases by rule, sends the bytes to both APIs, stores each file once and replays from cache', async () => {
    e2e.script(arithmeticResponder());
    const p = createProject(e2e, { cases: 6, rules: '  - { name: vision, when: { hasImage: true }, tier: cheap }\n  - { tier: frontier }' });
    mkdirSync(join(p.suiteDir, 'receipts'));
    writeFileSync(join(p.suiteDir, 'receipts/r1.png'), RECEIPT);
    const lines = Array.from({ length: 6 }, (_, i) =>
      JSON.stringify({ id: `c00${i}`, vars: { a: i, b: 7 }, task: 'arithmetic', ...(i % 2 === 0 ? { attachments: ['receipts/r1.png'] } : {}) }),
    );
    writeFileSync(join(p.suiteDir, 'cases.jsonl'), lines.join('\n') + '\n');

    const first = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env });
    expect(first.summary.tiers.find((t) => t.tier === 'cheap')).toMatchObject({ cases: 3 });
    const anthropic = e2e.requests.filter((r) => r.api === 'anthropic');
    expect(anthropic).toHaveLength(3);
    for (const r of anthropic) {
      expect(r.messages.at(-1)!.parts![0]).toEqual({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: RECEIPT.toString('base64') } });
    }
    const openaiWithImage = e2e.requests.filter((r) => r.api === 'openai' && r.messages.at(-1)!.parts !== undefined);
    expect(openaiWithImage).toHaveLength(3);

    e2e.reset();
    e2e.script(arithmeticResponder());
    await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env });
    expect(e2e.requests).toHaveLength(0);

    const db = new Database(p.dbFile, { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) FROM attachments').pluck().get()).toBe(1);
    } finally {
      db.close();
    }

    // Report data: attachments by reference, a small image inlined as a thumbnail, never raw bytes.
    const store = openStore(p.dbFile, { readonly: true });
    try {
      const report = buildReportData({ run: store.getRun(first.runId)!, cases: store.getCases(first.runId), calls: store.getCalls(first.runId), summary: first.summary });
      const shown = report.cases.find((c) => c.id === 'c000')!.input!.at(-1)!;
      expect(shown.attachments).toEqual([
        expect.objectContaining({ name: 'receipts/r1.png', sha256: sha(RECEIPT), dataUrl: `data:image/png;base64,${RECEIPT.toString('base64')}` }),
      ]);
      expect(shown.attachments![0]).not.toHaveProperty('data');
      expect(report.cases.find((c) => c.id === 'c001')!.input!.at(-1)!.attachments).toBeUndefined();
    } finally {
      store.close();
    }
    rmSync(p.dir, { recursive: true, force: true });
  });
});
