import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { countWords, defaultMockAnswer, mockBodyKey, seededFault, startMockLlmServer, type FaultKind, type MockLlmServer } from './support/mock-llm-server.js';

const open: MockLlmServer[] = [];
async function start(...args: Parameters<typeof startMockLlmServer>): Promise<MockLlmServer> {
  const s = await startMockLlmServer(...args);
  open.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

const chat = (text: string) => ({ model: 'm', messages: [{ role: 'user', content: text }] });

describe('mock LLM server wire formats', () => {
  it('answers OpenAI chat completions with id, choices, usage and x-request-id', async () => {
    const s = await start();
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await post(`${s.openaiBaseURL}/chat/completions`, {
      model: 'gpt-x',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: [{ type: 'text', text: 'hello there world' }] },
      ],
    }, { authorization: 'Bearer sk-test-abcdefgh1234' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/^req_mock_/);
    const body = (await res.json()) as { id: string; choices: Array<{ message: { content: string } }>; usage: Record<string, number> };
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(body.choices[0]!.message.content).toBe(defaultMockAnswer('gpt-x', 'hello there world'));
    expect(body.usage).toEqual({ prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 });
    expect(JSON.stringify(body)).not.toContain('sk-test-abcdefgh1234');
    expect(s.requests[0]).toMatchObject({ api: 'openai', model: 'gpt-x', status: 200 });
    expect(s.requests[0]!.messages[1]).toEqual({ role: 'user', content: 'hello there world' });
  });

  it('answers Anthropic messages with content blocks, usage and request-id', async () => {
    const s = await start();
    const res = await post(`${s.anthropicBaseURL}/v1/messages`, {
      model: 'claude-x',
      max_tokens: 10,
      system: [{ type: 'text', text: 'sys prompt' }],
      messages: [{ role: 'user', content: 'one two' }],
    });
    expect(res.headers.get('request-id')).toMatch(/^req_mock_/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-x',
      stop_reason: 'end_turn',
      content: [{ type: 'text', text: defaultMockAnswer('claude-x', 'one two') }],
      usage: { input_tokens: 4, output_tokens: 1 },
    });
    expect(s.requests[0]!.messages).toEqual([
      { role: 'system', content: 'sys prompt' },
      { role: 'user', content: 'one two' },
    ]);
  });

  it('answers unknown routes with 404 and bad JSON with 400', async () => {
    const s = await start();
    expect((await post(`${s.url}/v1/embeddings`, {})).status).toBe(404);
    const bad = await fetch(`${s.openaiBaseURL}/chat/completions`, { method: 'POST', body: '{nope' });
    expect(bad.status).toBe(400);
  });

  it('counts words across whitespace of any kind', () => {
    expect(countWords('  a\tb\nc  d ')).toBe(4);
    expect(countWords('')).toBe(0);
  });
});

describe('fault injection', () => {
  async function pattern(seed: number, n: number): Promise<number[]> {
    const s = await start({ faults: { seed, rate429: 0.2, error500: 0.1 } });
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) statuses.push((await post(`${s.openaiBaseURL}/chat/completions`, chat(`q${i}`))).status);
    return statuses;
  }

  it('is deterministic for a seed, differs across seeds, and hits roughly the asked rates', async () => {
    const a = await pattern(7, 200);
    const b = await pattern(7, 200);
    const c = await pattern(8, 200);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const rate429 = a.filter((x) => x === 429).length / a.length;
    const rate500 = a.filter((x) => x === 500).length / a.length;
    expect(rate429).toBeGreaterThan(0.1);
    expect(rate429).toBeLessThan(0.3);
    expect(rate500).toBeGreaterThan(0.03);
    expect(rate500).toBeLessThan(0.2);
  });

  it('does not depend on arrival order, and a repeated request gets a fresh draw', async () => {
    const s = await start({ faults: { seed: 3, error500: 0.5 } });
    const forward: number[] = [];
    for (let i = 0; i < 40; i++) forward.push((await post(`${s.openaiBaseURL}/chat/completions`, chat(`q${i}`))).status);
    const t = await start({ faults: { seed: 3, error500: 0.5 } });
    const backward: number[] = [];
    for (let i = 39; i >= 0; i--) backward.unshift((await post(`${t.openaiBaseURL}/chat/completions`, chat(`q${i}`))).status);
    expect(backward).toEqual(forward);

    // Retrying the same failing request must eventually succeed, or retries could never help.
    const u = await start({ faults: { seed: 3, error500: 0.5 } });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await post(`${u.openaiBaseURL}/chat/completions`, chat('same'))).status);
    expect(new Set(statuses)).toEqual(new Set([200, 500]));
  });

  it('seededFault predicts the fault of every sighting of a body, as the benchmark relies on', async () => {
    const faults = { seed: 19, rate429: 0.3, error500: 0.2 };
    const s = await start({ faults });
    // Each question asked three times: sightings 1..3 of each body.
    const asked = Array.from({ length: 30 }, (_, i) => `q${i % 10}`);
    for (const q of asked) await post(`${s.openaiBaseURL}/chat/completions`, chat(q));
    const sightings = new Map<string, number>();
    const predicted = asked.map((q) => {
      const key = mockBodyKey(JSON.stringify(chat(q)));
      const occurrence = (sightings.get(key) ?? 0) + 1;
      sightings.set(key, occurrence);
      return seededFault(faults, key, occurrence);
    });
    expect(s.requests.map((r) => r.fault)).toEqual(predicted);
    expect(new Set(predicted)).toEqual(new Set([undefined, 'rate429', 'error500']));
  });

  it('sends Retry-After seconds and retry-after-ms on 429', async () => {
    const s = await start({ faults: { retryAfterMs: 2500 } });
    s.failNext(1, 'rate429');
    const res = await post(`${s.openaiBaseURL}/chat/completions`, chat('x'));
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(res.headers.get('retry-after-ms')).toBe('2500');
  });

  it('failNext injects exactly n faults in order, then answers normally', async () => {
    const s = await start();
    s.failNext(2, 'error500');
    s.failNext(1, 'malformedJson');
    const kinds: Array<FaultKind | undefined> = [];
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await post(`${s.openaiBaseURL}/chat/completions`, chat('x'));
      statuses.push(res.status);
      await res.text();
      kinds.push(s.requests[i]!.fault);
    }
    expect(statuses).toEqual([500, 500, 200, 200]);
    expect(kinds).toEqual(['error500', 'error500', 'malformedJson', undefined]);
    const broken = s.requests[2];
    expect(broken?.status).toBe(200);
  });

  it('drops the connection without an answer', async () => {
    const s = await start();
    s.failNext(1, 'dropConnection');
    await expect(post(`${s.openaiBaseURL}/chat/completions`, chat('x'))).rejects.toThrow();
    expect(s.requests[0]!.status).toBe(0);
  });

  it('applies fixed latency and scripted per-answer delays', async () => {
    const s = await start({ latencyMs: 60 });
    s.script(() => ({ text: 'late', delayMs: 40 }));
    const t0 = Date.now();
    const res = await post(`${s.openaiBaseURL}/chat/completions`, chat('x'));
    expect(((await res.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content).toBe('late');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(95);
  });

  it('closes promptly even with a slow request in flight', async () => {
    const s = await startMockLlmServer({ faults: { slow: 1, slowMs: 60_000 } });
    const pending = post(`${s.openaiBaseURL}/chat/completions`, chat('x')).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 30));
    const t0 = Date.now();
    await s.close();
    // Far below the 60 s answer it would otherwise wait for; not a tight bound a loaded CI machine could miss.
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(await pending).toBeInstanceOf(Error);
  });
});

describe('throughput with the real SDK', () => {
  it('serves 400 calls at concurrency 50 and logs each once', async () => {
    const s = await start();
    const client = new OpenAI({ apiKey: 'sk-test-throughput-0000', baseURL: s.openaiBaseURL, maxRetries: 0 });
    let next = 0;
    const answers: string[] = [];
    const worker = async () => {
      while (next < 400) {
        const i = next++;
        const r = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: `q${i}` }] });
        answers[i] = r.choices[0]!.message.content ?? '';
      }
    };
    await Promise.all(Array.from({ length: 50 }, worker));
    expect(s.requests).toHaveLength(400);
    expect(answers[123]).toBe(defaultMockAnswer('m', 'q123'));
  });
});
