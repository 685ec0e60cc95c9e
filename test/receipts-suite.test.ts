/**
 * The shipped receipts-multimodal suite, end to end through `run()`: its own suite.yaml, schema.json,
 * routing, cases, rendered PNGs and goldens, copied into a temp project whose models are served by the
 * mock LLM server through the real OpenAI SDK. The scripted vision model recognises each receipt only
 * by the sha256 of the image bytes it received, so a lost or altered attachment fails the case.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProject, run, type RunResult } from '../src/api/run.js';
import { detectMedia, imageSize } from '../src/core/media.js';
import { startMockLlmServer, type MockLlmServer, type MockRequest } from './support/mock-llm-server.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const SUITE = join(REPO, 'suites/receipts-multimodal');

interface Receipt {
  merchant: string;
  date: string;
  total: number;
}
const readJsonl = <T>(file: string): T[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);

const cases = readJsonl<{ id: string; attachments: string[]; task: string }>(join(SUITE, 'cases.jsonl'));
const goldens = new Map(readJsonl<{ id: string; expected: Receipt }>(join(REPO, 'goldens/receipts-multimodal.jsonl')).map((g) => [g.id, g.expected]));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const pngOf = (c: (typeof cases)[number]) => readFileSync(join(SUITE, c.attachments[0]!));
const caseBySha = new Map(cases.map((c) => [sha(pngOf(c)), c.id]));

const DATA_URL = /^data:image\/png;base64,(.+)$/s;
/** The PNG bytes of every image_url part in the request's last user message. */
function imagesIn(req: Pick<MockRequest, 'messages'>): Buffer[] {
  const parts = req.messages.filter((m) => m.role === 'user').at(-1)?.parts ?? [];
  return parts.flatMap((p) => {
    const url = (p as { type?: string; image_url?: { url?: string } }).image_url?.url;
    const m = url !== undefined ? DATA_URL.exec(url) : null;
    return m ? [Buffer.from(m[1]!, 'base64')] : [];
  });
}

function responder(req: MockRequest): string {
  const [image] = imagesIn(req);
  const id = image ? caseBySha.get(sha(image)) : undefined;
  // The cheap model must never be asked; if it is, its answer fails the grade.
  if (!id || req.model !== 'vision-mock') return 'I cannot read that.';
  return JSON.stringify(goldens.get(id));
}

let server: MockLlmServer;
let project: string;
let result: RunResult;

beforeAll(async () => {
  server = await startMockLlmServer({ responder });
  project = mkdtempSync(join(tmpdir(), 'evalroute-receipts-'));
  const suiteDir = join(project, 'suites/receipts-multimodal');
  mkdirSync(join(project, 'goldens'), { recursive: true });
  cpSync(SUITE, suiteDir, { recursive: true });
  cpSync(join(REPO, 'goldens/receipts-multimodal.jsonl'), join(project, 'goldens/receipts-multimodal.jsonl'));
  // The shipped config names real models; this one keeps the keys and prices but points them at the mock.
  writeFileSync(
    join(suiteDir, 'evalroute.config.yaml'),
    `store: ../../.evalroute/test.db
models:
  vision: { provider: openai, model: vision-mock, baseURL: ${server.openaiBaseURL}, apiKeyEnv: VISION_KEY, price: { table: gpt-4.1 }, concurrency: 4, timeoutMs: 60000, maxRetries: 0 }
  cheap:  { provider: openai, model: cheap-mock, baseURL: ${server.openaiBaseURL}, apiKeyEnv: VISION_KEY, price: { table: gpt-4.1-mini }, concurrency: 4, timeoutMs: 60000, maxRetries: 0 }
routing: routing.yaml
`,
  );
  result = await run({ suiteDir, cwd: project, env: { VISION_KEY: 'sk-test-vision-000001' } });
}, 30_000);
afterAll(async () => {
  await server.close();
  rmSync(project, { recursive: true, force: true });
});

describe('receipts-multimodal suite, end to end', () => {
  it('ships 8 cases, each attaching a distinct receipt PNG and having an approved golden', () => {
    expect(cases).toHaveLength(8);
    expect(caseBySha.size).toBe(8);
    for (const c of cases) {
      expect(c.task).toBe('receipt-extraction');
      expect(goldens.get(c.id)).toMatchObject({ merchant: expect.any(String), date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/), total: expect.any(Number) });
    }
    // The shipped config and routing load as they are: priced from the table, baseline vision.
    const shipped = loadProject({ suiteDir: SUITE, cwd: REPO });
    expect(shipped.routing.baseline).toBe('vision');
    expect(shipped.config.models.get('vision')!.price).toBeDefined();
    expect(shipped.config.models.get('cheap')!.price).toBeDefined();
  });

  it('renders valid PNGs whose IHDR gives the drawn size', () => {
    for (const c of cases) {
      const png = pngOf(c);
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      expect(png.toString('ascii', 12, 16)).toBe('IHDR');
      expect(detectMedia(png)?.mediaType).toBe('image/png');
      const size = imageSize(png, 'image/png')!;
      // 26 columns of 12 px plus 16 px margins each side; 5–8 lines of 20 px plus margins.
      expect(size.width).toBe(26 * 12 + 32);
      expect((size.height - 32) % 20).toBe(0);
      expect((size.height - 32) / 20).toBeGreaterThanOrEqual(6);
      expect(png.toString('ascii', png.length - 8, png.length - 4)).toBe('IEND');
    }
  });

  it('routes every case to the vision tier and asks only the vision model, once per case', () => {
    expect(result.summary.status).toBe('complete');
    expect(result.results.map((r) => r.tier)).toEqual(cases.map(() => 'vision'));
    expect(server.requests.filter((r) => r.model === 'vision-mock')).toHaveLength(8);
    expect(server.requests.filter((r) => r.model === 'cheap-mock')).toHaveLength(0);
  });

  it('passes every case on the golden answers', () => {
    for (const r of result.results) expect(r.candidate.pass, `${r.caseId}: ${r.candidate.grades[0]?.explanation}`).toBe(true);
    // Every case goes to the vision tier (the baseline): the suite says nothing about the text-only cheap
    // tier, and the gate says so instead of passing it (exit 4: not decided).
    const cheap = result.summary.tiers.find((t) => t.tier === 'cheap')!;
    expect(cheap.headline).toMatch(/^NO CASES — /);
    expect(result.exitCode).toBe(4);
  });

  it('sends each receipt byte for byte as it is on disk', () => {
    const sent = server.requests.map((r) => imagesIn(r));
    expect(sent.every((imgs) => imgs.length === 1)).toBe(true);
    const onDisk = cases.map((c) => pngOf(c));
    const received = sent.map((imgs) => imgs[0]!).sort((a, b) => Buffer.compare(a, b));
    expect(received).toEqual([...onDisk].sort((a, b) => Buffer.compare(a, b)));
  });
});
