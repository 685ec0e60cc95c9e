/**
 * The SDKs' transport hands back a Response whose body is already in memory (providers/http-fetch.ts).
 * It must read like the standard Response over the same bytes — every reader, once only, the stream, a
 * clone — or an SDK path that reads it differently (error bodies, request ids, blobs) would break.
 * Each behaviour is compared with undici's own Response built from the same bytes and headers.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpFetch } from '../src/providers/http-fetch.js';
import { startLocalServer, type LocalServer } from './support/http-server.js';

// A BOM, multi-byte text and an invalid byte: the decoders must agree on all three.
const BODY = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"text":"naïve — ünïcode ✓","n":1}'), Buffer.from([0xff])]);
const JSON_BODY = Buffer.from('{"id":"chatcmpl-1","choices":[{"message":{"content":"4"}}]}');

let server: LocalServer;

beforeAll(async () => {
  server = await startLocalServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/empty') {
        res.writeHead(204).end();
        return;
      }
      const body = req.url === '/json' ? JSON_BODY : BODY;
      const gzip = req.url === '/gzip';
      res.writeHead(req.url === '/error' ? 429 : 200, 'Status Text', {
        'content-type': 'application/json; charset=utf-8',
        'x-request-id': 'req_123',
        ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      });
      res.end(gzip ? gzipSync(body) : body);
    });
  });
});

afterAll(() => server.close());

/** The standard Response over the same bytes, headers and status. */
function standardTwin(r: Response, bytes: Buffer): Response {
  return new Response(bytes, { status: r.status, statusText: r.statusText, headers: r.headers });
}

type Reader = (r: Response) => Promise<unknown>;
const READERS: Record<string, Reader> = {
  text: (r) => r.text(),
  arrayBuffer: async (r) => [...new Uint8Array(await r.arrayBuffer())],
  bytes: async (r) => [...(await (r as Response & { bytes(): Promise<Uint8Array> }).bytes())],
  blob: async (r) => {
    const blob = await r.blob();
    return { type: blob.type, text: await blob.text() };
  },
  stream: async (r) => {
    const chunks: number[] = [];
    for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) chunks.push(...chunk);
    return chunks;
  },
};

const outcome = (p: Promise<unknown>) =>
  p.then(
    (value) => ({ value }),
    (err: unknown) => ({ error: (err as Error).constructor.name }),
  );

describe('httpFetch responses read like the standard Response', () => {
  it('is a Response with the status, headers and url of the answer', async () => {
    const r = await httpFetch(`${server.url}/plain`, { method: 'POST', body: '{}' });
    expect(r).toBeInstanceOf(Response);
    expect([r.status, r.statusText, r.ok, r.url]).toEqual([200, 'Status Text', true, `${server.url}/plain`]);
    expect(r.headers.get('x-request-id')).toBe('req_123');
    const failed = await httpFetch(`${server.url}/error`);
    expect([failed.status, failed.ok]).toEqual([429, false]);
  });

  for (const [name, read] of Object.entries(READERS)) {
    it(`${name}: the same value as the standard, once; a second read of any kind fails as it does there`, async () => {
      const ours = await httpFetch(`${server.url}/plain`);
      const theirs = standardTwin(ours, BODY);
      expect(await outcome(read(ours))).toEqual(await outcome(read(theirs)));
      expect(ours.bodyUsed).toBe(theirs.bodyUsed);
      for (const again of Object.values(READERS)) {
        expect(await outcome(again(ours))).toEqual(await outcome(again(theirs)));
      }
      expect(() => ours.clone()).toThrow(TypeError);
    });
  }

  it('taking the body stream without reading it (as the Anthropic SDK does) leaves the body readable; a locked stream does not', async () => {
    for (const [name, read] of Object.entries(READERS)) {
      const ours = await httpFetch(`${server.url}/plain`);
      const theirs = standardTwin(ours, BODY);
      expect([ours.body, theirs.body].map((b) => b?.locked)).toEqual([false, false]);
      await new Promise((resolve) => setImmediate(resolve)); // the SDK reads later, after other awaits
      expect([name, await outcome(read(ours))]).toEqual([name, await outcome(read(theirs))]);
      expect(ours.bodyUsed).toBe(theirs.bodyUsed);
    }
    const ours = await httpFetch(`${server.url}/plain`);
    const theirs = standardTwin(ours, BODY);
    ours.body!.getReader();
    theirs.body!.getReader();
    expect(await outcome(ours.text())).toEqual(await outcome(theirs.text()));
    expect(() => ours.clone()).toThrow(TypeError);
  });

  it('json parses the body (a BOM is skipped), and a gzip body arrives decoded without its encoding headers', async () => {
    expect(await (await httpFetch(`${server.url}/json`)).json()).toEqual(JSON.parse(JSON_BODY.toString()));
    const gz = await httpFetch(`${server.url}/gzip`);
    expect(gz.headers.get('content-encoding')).toBeNull();
    expect(await gz.text()).toBe(await new Response(BODY).text());
  });

  it('a clone reads the same bytes independently of the original', async () => {
    const ours = await httpFetch(`${server.url}/plain`);
    const copy = ours.clone();
    expect(copy.url).toBe(ours.url);
    expect(copy.headers.get('x-request-id')).toBe('req_123');
    expect(await copy.text()).toBe(await ours.text());
    expect([copy.bodyUsed, ours.bodyUsed]).toEqual([true, true]);
  });

  it('a 204 has no body, as the standard has', async () => {
    const r = await httpFetch(`${server.url}/empty`);
    expect(r.body).toBeNull();
    expect(await r.text()).toBe('');
  });

  it('overrides every body reader the running Node gives Response, so none reads the empty base body', async () => {
    const notBody = new Set(['constructor', 'type', 'url', 'redirected', 'status', 'ok', 'statusText', 'headers']);
    const ours = await httpFetch(`${server.url}/plain`);
    const own = Object.getPrototypeOf(ours) as object;
    const missing = Object.getOwnPropertyNames(Response.prototype).filter((name) => !notBody.has(name) && !Object.hasOwn(own, name));
    expect(missing).toEqual([]);
  });
});
