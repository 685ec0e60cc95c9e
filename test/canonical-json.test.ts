/**
 * The three identities built on key-sorted JSON — the response-cache key (requestHash), a provider's
 * identity and a run's fingerprint — are stored in users' databases: a changed byte would turn every
 * cached answer into a miss and refuse every resume. These values were pinned before the three sorted-JSON
 * helpers became one (core/canonical-json.ts); they must never change.
 */
import { describe, expect, it } from 'vitest';
import { runFingerprint } from '../src/api/fingerprint.js';
import { canonicalJson } from '../src/core/canonical-json.js';
import type { CompletionRequest, EvalConfig, ModelConfig, Suite } from '../src/core/types.js';
import { providerIdentity } from '../src/providers/shared.js';
import { requestHash } from '../src/engine/request-hash.js';

// Keys out of order at every depth, keys that sort differently by locale and by code unit, arrays, null.
const params = { top_p: 0.9, Zeta: [{ b: 1, a: null }], max_tokens: 16, é: 'x', e: { z: true, A: 'y' } };

describe('key-sorted JSON', () => {
  it('sorts keys at every depth by code unit and leaves arrays in order', () => {
    expect(canonicalJson(params)).toBe('{"Zeta":[{"a":null,"b":1}],"e":{"A":"y","z":true},"max_tokens":16,"top_p":0.9,"é":"x"}');
  });

  it('keeps the request hash byte-identical', () => {
    const provider = { key: 'k', identity: 'openai|https://api.openai.com/v1|gpt-4.1|{}', complete: () => Promise.reject(new Error('unused')) };
    const req: CompletionRequest = {
      caseId: 'c1',
      messages: [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: 'Read it.',
          attachments: [{ kind: 'image', mediaType: 'image/png', name: 'r.png', sha256: 'ab'.repeat(32), bytes: 3, data: Buffer.from([1, 2, 3]) }],
        },
      ],
      params,
      repeat: 1,
    };
    expect(requestHash(provider, req)).toBe('0b8966d7991fb2bfd7a77749ae67d2c4330089aa49c2be594bd45f6f9f0b2927');
  });

  it('keeps a provider identity byte-identical', () => {
    const model = { key: 'm', provider: 'openai', model: 'gpt-4.1', params } as unknown as ModelConfig;
    expect(providerIdentity('openai', model, 'https://api.openai.com/v1')).toBe('openai|https://api.openai.com/v1|gpt-4.1|{"Zeta":[{"a":null,"b":1}],"e":{"A":"y","z":true},"max_tokens":16,"top_p":0.9,"é":"x"}',
    );
  });

  it('keeps a run fingerprint byte-identical, bytes standing as their sha256', () => {
    const suite = {
      dir: '/nonexistent-suite',
      prompt: 'Answer: {{q}}',
      params,
      graders: [{ type: 'contains', value: 'x', options: { z: 1, a: 2 } }],
      cases: [
        {
          id: 'c1',
          vars: { q: 'two', a: { y: 1, b: 2 } },
          attachments: [{ kind: 'image', mediaType: 'image/png', name: 'r.png', sha256: 'ab'.repeat(32), bytes: 3, data: Buffer.from([1, 2, 3]) }],
          metadata: { raw: new Uint8Array([4, 5]) },
          origin: { file: 'cases.jsonl', line: 1 },
        },
      ],
      goldens: new Map([['c1', { id: 'c1', expected: { b: 1, a: [2, 1] }, origin: { file: 'goldens.jsonl', line: 1 } }]]),
    } as unknown as Suite;
    const config = {
      models: new Map([['m', { key: 'm', provider: 'openai', model: 'gpt-4.1', params }]]),
    } as unknown as EvalConfig;
    expect(JSON.stringify(runFingerprint({ suite, config, models: ['m'] }))).toBe('{"version":1,"prompt":"80ac6a85118279f8","graders":"20266e172e4a763a","models":{"m":"3391a79601a3eb48"},"cases":{"c1":"0939ff5752e517fb"},"goldens":{"c1":"c7ec001923fcc862"}}',
    );
  });
});
