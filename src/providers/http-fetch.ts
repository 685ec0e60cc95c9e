/**
 * The `fetch` the SDK clients are given: one request over node:http(s) with a keep-alive agent, the
 * response body buffered into a `Response` that reads it from memory (BufferedResponse, below).
 *
 * Why not the global fetch: on Node 20 it costs about 1.4 ms of CPU per call (header validation and
 * web streams), node:http about 0.45 ms. At 50 calls in flight on 2 cores that difference alone made a
 * 1,000-call run 25–30 % slower than the latency floor (see bench/RESULTS.md). Completion bodies are
 * small and never streamed here, so buffering loses nothing.
 *
 * Anything this does not handle as plainly (a non-HTTP URL, a streamed or form body) goes to the
 * global fetch unchanged. Failures look like the global fetch's — an AbortError when `signal` aborts,
 * a TypeError('fetch failed') with the cause otherwise — because that is what the SDKs map to their
 * timeout, abort and connection errors.
 */
import http from 'node:http';
import https from 'node:https';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

/**
 * Largest response body accepted, raw or decompressed. Completions are kilobytes; a gzip body of a few
 * hundred KB can inflate to gigabytes, so the limit is enforced while reading and while inflating.
 */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/** The code on the cause of a fetch failure for an oversized body; providers treat it as not retryable. */
export const BODY_TOO_LARGE = 'EVALROUTE_BODY_TOO_LARGE';

function bodyTooLarge(): Error {
  return Object.assign(new Error(`response body larger than ${MAX_RESPONSE_BYTES / 1024 / 1024} MB (after decompression); refused`), { code: BODY_TOO_LARGE });
}

const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: Infinity }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: Infinity }),
};

type FetchInput = string | URL | Request;

export async function httpFetch(input: FetchInput, init: RequestInit = {}): Promise<Response> {
  const url = new URL(input instanceof Request ? input.url : input);
  const body = init.body;
  const plainBody = body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
  if (input instanceof Request || !plainBody || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    return globalThis.fetch(input, init);
  }
  const signal = init.signal ?? undefined;
  signal?.throwIfAborted();

  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, name) => {
    headers[name] = value;
  });
  if (body !== undefined && body !== null) headers['content-length'] = String(Buffer.byteLength(body));

  return new Promise<Response>((resolve, reject) => {
    const fail = (err: unknown) => reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: err }));
    const transport = url.protocol === 'https:' ? https : http;
    const req = transport.request(url, { method: init.method ?? 'GET', headers, agent: agents[url.protocol as 'http:' | 'https:'] }, (res) => {
      const chunks: Buffer[] = [];
      let received = 0;
      let ended = false;
      res.on('data', (c: Buffer) => {
        received += c.length;
        if (received > MAX_RESPONSE_BYTES) {
          ended = true;
          req.destroy();
          fail(bodyTooLarge());
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        ended = true;
        try {
          resolve(toResponse(res, Buffer.concat(chunks), url));
        } catch (e) {
          fail(e);
        }
      });
      res.on('error', fail);
      res.on('close', () => {
        if (!ended) fail(new Error('the connection closed before the response ended'));
      });
    });
    const onAbort = () => req.destroy(signal?.reason instanceof Error ? signal.reason : new DOMException('This operation was aborted', 'AbortError'));
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('close', () => signal?.removeEventListener('abort', onAbort));
    req.on('error', fail);
    req.end(body ?? undefined);
  });
}

function toResponse(res: http.IncomingMessage, raw: Buffer, url: URL): Response {
  const encoding = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
  const limit = { maxOutputLength: MAX_RESPONSE_BYTES };
  let decoded: Buffer;
  try {
    decoded =
      encoding === 'gzip' || encoding === 'x-gzip' ? gunzipSync(raw, limit)
      : encoding === 'deflate' ? inflateSync(raw, limit)
      : encoding === 'br' ? brotliDecompressSync(raw, limit)
      : raw;
  } catch (e) {
    throw (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? bodyTooLarge() : e;
  }
  const pairs: [string, string][] = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    const name = res.rawHeaders[i]!;
    // The body handed on is decoded, so its encoding and length headers would lie about it.
    if (decoded !== raw && /^content-(encoding|length)$/i.test(name)) continue;
    pairs.push([name, res.rawHeaders[i + 1]!]);
  }
  const status = res.statusCode ?? 0;
  BufferedResponse ??= defineBufferedResponse();
  const response = new BufferedResponse(status === 204 || status === 304 ? null : decoded, { status, statusText: res.statusMessage ?? '', headers: pairs });
  Object.defineProperty(response, 'url', { value: url.href });
  return response as unknown as Response;
}

/**
 * TypeScript's lib declares Response's members as properties, which a subclass may not redefine as
 * methods; at run time they are ordinary prototype methods and accessors, so the base is typed with only
 * the members BufferedResponse reads.
 */
type ResponseBase = new (body: null, init: ResponseInit) => Pick<Response, 'headers' | 'status' | 'statusText' | 'url'>;

const utf8 = new TextDecoder(); // strips a leading BOM, as Response.text() does

/**
 * Defined on the first answer: reading the global Response loads Node's fetch (~20 ms), which commands
 * that never call a model should not pay.
 */
let BufferedResponse: ReturnType<typeof defineBufferedResponse> | undefined;

/**
 * A standard `Response` (instanceof, status, headers) whose body is already in memory: reading it
 * (`text`, `json`, `arrayBuffer`, `bytes`) returns the bytes directly instead of pumping them through a
 * web stream, which on Node 20 cost more CPU per call than the rest of this transport. `body` is a
 * stream over the same bytes, made only when asked for (the Anthropic SDK takes it to watch for an
 * abandoned response, without reading it). As the standard says, a body is read once: after a read, or
 * once its stream is locked or read from, every read fails.
 */
function defineBufferedResponse() {
  return class BufferedResponse extends (Response as ResponseBase) {
    readonly #bytes: Uint8Array | null;
    #read = false;
    #stream: ReadableStream<Uint8Array> | undefined;
    #streamRead = false;

    constructor(bytes: Uint8Array | null, init: ResponseInit) {
      super(null, init);
      this.#bytes = bytes;
    }

    get body(): ReadableStream<Uint8Array> | null {
      if (this.#bytes === null) return null;
      if (this.#stream) return this.#stream;
      const bytes = this.#bytes;
      // highWaterMark 0: nothing is pulled until someone reads, so taking the stream does not use the body.
      this.#stream = new ReadableStream<Uint8Array>(
        {
          pull: (controller) => {
            this.#streamRead = true;
            controller.enqueue(bytes.slice());
            controller.close();
          },
        },
        { highWaterMark: 0 },
      );
      if (this.#read) this.#stream.getReader(); // read already: locked, as a standard body is then
      return this.#stream;
    }

    get bodyUsed(): boolean {
      return this.#read || this.#streamRead;
    }

    /** The bytes, once; a stream handed out before is locked, as a standard read leaves it. */
    #take(): Uint8Array {
      if (this.bodyUsed || this.#stream?.locked) throw new TypeError('Body is unusable: Body has already been read');
      this.#read = true;
      this.#stream?.getReader();
      return this.#bytes ?? new Uint8Array(0);
    }

    async text(): Promise<string> {
      return utf8.decode(this.#take());
    }

    async json(): Promise<unknown> {
      return JSON.parse(await this.text());
    }

    async arrayBuffer(): Promise<ArrayBuffer> {
      const bytes = this.#take();
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    }

    async bytes(): Promise<Uint8Array> {
      return new Uint8Array(await this.arrayBuffer());
    }

    // Rare here, and with rules of their own (MIME type, multipart parsing): the standard Response does them.
    async blob(): Promise<Blob> {
      return new Response(this.#take(), { headers: this.headers }).blob();
    }

    async formData(): Promise<FormData> {
      return new Response(this.#take(), { headers: this.headers }).formData();
    }

    clone(): Response {
      if (this.bodyUsed || this.#stream?.locked) throw new TypeError('Response.clone: Body has already been consumed.');
      const copy = new BufferedResponse(this.#bytes, { status: this.status, statusText: this.statusText, headers: this.headers });
      Object.defineProperty(copy, 'url', { value: this.url });
      return copy as unknown as Response;
    }
  };
}
