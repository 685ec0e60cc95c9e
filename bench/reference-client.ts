/**
 * A reference client in a child process of its own, for scenario (a): the same request bodies evalroute
 * sent, against the same mock, with the same number in flight — but nothing else, so its wall time is
 * what this machine (`bare`) or the SDK on this machine (`sdk`) reaches, and the gap between it and
 * evalroute's run() is evalroute's own.
 *
 *   bare: node:http POSTs over a keep-alive agent, each answer JSON-parsed; no SDK.
 *   sdk:  the real `openai` / `@anthropic-ai/sdk` client with evalroute's own transport (`httpFetch`)
 *         as its fetch and maxRetries 0, configured as src/providers builds it; no engine, store,
 *         grading or progress.
 *   sdk-workers: the same SDK calls on two worker threads, each with its own client; the main thread
 *         only hands out the bodies (the same number in flight in all) and collects the answers. It
 *         answers whether moving the SDKs off the main thread could help on this machine.
 *
 * Timed from the first request to the last answer (clients are built and modules loaded before), so it
 * compares with run()'s calls phase. Prints one JSON line.
 *
 *   node reference-client.js <bare|sdk|sdk-workers> <openai|anthropic> <base-url> <concurrency> <bodies.json>
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { httpFetch } from '../src/providers/http-fetch.js';
import { BENCH_ENV } from './project.js';

export interface ReferenceResult {
  wallMs: number;
  /** CPU (user + system) of this process from the first request to the last answer. */
  cpuMs: number;
  calls: number;
  errors: number;
}

const [kind, api, baseURL, concurrency, bodiesFile] = isMainThread ? process.argv.slice(2) : (workerData as string[]);
if ((kind !== 'bare' && kind !== 'sdk' && kind !== 'sdk-workers') || (api !== 'openai' && api !== 'anthropic') || !baseURL || !concurrency || !bodiesFile) {
  throw new Error('usage: reference-client.js <bare|sdk|sdk-workers> <openai|anthropic> <base-url> <concurrency> <bodies.json>');
}
const bodies = JSON.parse(readFileSync(bodiesFile, 'utf8')) as string[];
const apiKey = BENCH_ENV.BENCH_KEY;

/** The i-th call: resolves when the answer is read and parsed, rejects on anything but a 200. */
type Call = (i: number) => Promise<unknown>;

function bareCall(): Call {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const url = new URL(api === 'openai' ? `${baseURL}/chat/completions` : `${baseURL}/v1/messages`);
  const auth: Record<string, string> = api === 'openai' ? { authorization: `Bearer ${apiKey}` } : { 'x-api-key': apiKey, 'anthropic-version': '2023-06-01' };
  return (i) =>
    new Promise((resolve, reject) => {
      const body = bodies[i]!;
      const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...auth } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          if (res.statusCode === 200) resolve(parsed);
          else reject(new Error(`HTTP ${res.statusCode}`));
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
}

async function sdkCall(): Promise<Call> {
  // The options src/providers/openai.ts and anthropic.ts give their clients (timeoutMs 30000 as in bench/project.ts).
  // The request objects are parsed before the clock starts: evalroute builds its own before each call too,
  // but that is evalroute's work, not the SDK's.
  const options = { apiKey, baseURL, maxRetries: 0, timeout: 30_000, fetch: httpFetch };
  if (api === 'openai') {
    const { default: OpenAI } = await import('openai');
    const client = new OpenAI(options);
    const params = bodies.map((b) => JSON.parse(b) as Parameters<typeof client.chat.completions.create>[0] & { stream?: false });
    return (i) => client.chat.completions.create(params[i]!);
  }
  const { default: Anthropic } = await import('@anthropic-ai/sdk');
  const client = new Anthropic(options);
  const params = bodies.map((b) => JSON.parse(b) as Parameters<typeof client.messages.create>[0] & { stream?: false });
  return (i) => client.messages.create(params[i]!);
}

const WORKER_THREADS = 2;

/** In a worker: answer each { i } the main thread posts with the SDK call for body i. */
async function serveAsWorker(): Promise<void> {
  const call = await sdkCall();
  parentPort!.on('message', (i: number) => {
    call(i).then(
      () => parentPort!.postMessage({ i, ok: true }),
      () => parentPort!.postMessage({ i, ok: false }),
    );
  });
  parentPort!.postMessage('ready');
}

/** The SDK calls on worker threads: `concurrency` in flight over all of them, each next body to the worker that answered. */
async function runOnWorkers(): Promise<number> {
  const workers = Array.from({ length: WORKER_THREADS }, () => new Worker(new URL(import.meta.url), { workerData: [kind, api, baseURL, concurrency, bodiesFile] }));
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
  let next = 0;
  let settled = 0;
  let failed = 0;
  await new Promise<void>((resolve) => {
    const send = (w: Worker) => {
      if (next < bodies.length) w.postMessage(next++);
    };
    for (const w of workers) {
      w.on('message', (m: { ok: boolean }) => {
        if (!m.ok) failed++;
        if (++settled === bodies.length) resolve();
        else send(w);
      });
    }
    for (let k = 0; k < Number(concurrency); k++) send(workers[k % workers.length]!);
  });
  await Promise.all(workers.map((w) => w.terminate()));
  return failed;
}

if (!isMainThread) {
  await serveAsWorker();
} else {
  const call = kind === 'bare' ? bareCall() : kind === 'sdk' ? await sdkCall() : undefined;
  let next = 0;
  let errors = 0;
  // The same pool shape as the engine's: `concurrency` workers, each taking the next request when its
  // previous answer is in.
  const worker = async () => {
    while (next < bodies.length) {
      await call!(next++).catch(() => errors++);
    }
  };
  // process.cpuUsage() counts every thread of the process.
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  if (call) await Promise.all(Array.from({ length: Number(concurrency) }, worker));
  else errors = await runOnWorkers();
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const result: ReferenceResult = { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, calls: bodies.length, errors };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
