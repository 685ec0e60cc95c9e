import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LogRecord } from '../src/audit/log-record.js';
import { luhnValid, maskPii, parseRedactionList } from '../src/audit/pii.js';
import { StratifiedSampler, allocate, dedupeKey } from '../src/audit/sample.js';
import { buildSuite, writeSuite } from '../src/audit/suite-build.js';
import { loadSuite } from '../src/config/load.js';
import { graderNeedsGolden, graderTypes } from '../src/graders/registry.js';
import { UsageError } from '../src/core/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'evalroute-sample-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function rec(useCase: string, text: string, extra: Partial<LogRecord> = {}): LogRecord {
  return {
    format: 'generic',
    model: 'gpt-4.1',
    messages: [{ role: 'user', content: text }],
    output: `answer to ${text}`,
    usage: { input: 100, output: 20 },
    estimatedUsage: false,
    metadata: { useCase },
    structured: false,
    tools: false,
    toolCalls: false,
    ...extra,
  };
}

/** 1000 distinct requests in unequal strata: 523 support, 301 extraction, 150 coding, 26 translation. */
const STRATA: [string, number][] = [
  ['support', 523],
  ['extraction', 301],
  ['coding', 150],
  ['translation', 26],
];
function population(): LogRecord[] {
  const out: LogRecord[] = [];
  for (const [uc, n] of STRATA) for (let i = 0; i < n; i++) out.push(rec(uc, `${uc} request ${'abcdefghij'[i % 10]} ${'klmnopqrst'[Math.floor(i / 10) % 10]} ${'uvwxyz'[Math.floor(i / 100)]}`));
  return out;
}

function sample(records: LogRecord[], size: number, seed: number, stratify = ['useCase']) {
  const s = new StratifiedSampler({ size, seed, stratify });
  records.forEach((r, i) => s.add(r, 'logs.jsonl', i + 1));
  return s.result();
}

describe('stratified sampling', () => {
  it('is deterministic: the same seed gives the same cases, whatever the line order', () => {
    const recs = population();
    const a = sample(recs, 97, 42).selected.map((c) => c.key);
    const b = sample([...recs].reverse(), 97, 42).selected.map((c) => c.key);
    const c = sample(recs, 97, 43).selected.map((c) => c.key);
    expect(a).toHaveLength(97);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('allocates proportionally: every stratum within ±1 of its exact share, total exact', () => {
    for (const size of [10, 97, 300]) {
      const r = sample(population(), size, 1);
      expect(r.selected).toHaveLength(size);
      for (const s of r.strata) {
        const exact = (size * STRATA.find(([k]) => k === s.stratum)![1]) / 1000;
        expect(Math.abs(s.selected - exact)).toBeLessThan(1);
        expect(r.selected.filter((c) => c.stratum === s.stratum)).toHaveLength(s.selected);
      }
    }
  });

  it('uses largest remainders and gives a short stratum\'s surplus to the others', () => {
    const counts = new Map([
      ['a', 5],
      ['b', 3],
      ['c', 2],
    ]);
    // Exact shares 3.5, 2.1, 1.4 of 7: floors 3, 2, 1 and the one left goes to the largest remainder (a).
    expect(Object.fromEntries(allocate(counts, 7))).toEqual({ a: 4, b: 2, c: 1 });
    // a has only 2 distinct candidates: its surplus is shared between b and c.
    expect(Object.fromEntries(allocate(counts, 7, new Map([['a', 2]])))).toEqual({ a: 2, b: 3, c: 2 });
    expect([...allocate(counts, 100).values()].reduce((x, y) => x + y)).toBe(10);
  });

  it('stratifies on several dimensions and on metadata keys', () => {
    const recs = population().map((r, i) => ({ ...r, metadata: { ...r.metadata, region: i % 3 === 0 ? 'eu' : 'us' } }));
    const r = sample(recs, 50, 7, ['useCase', 'region']);
    expect(r.strata.map((s) => s.stratum)).toContain('support / eu');
    expect(r.strata.reduce((n, s) => n + s.selected, 0)).toBe(50);
  });

  it('removes near-identical inputs: case, spacing and digits do not make a new case', () => {
    const texts = ['Where is order 1234?', 'where is   ORDER 98765?', 'Where is order 1?\n', 'Where is my refund?'];
    expect(new Set(texts.map((t) => dedupeKey([{ role: 'user', content: t }]))).size).toBe(2);
    const recs = [...texts.map((t) => rec('support', t)), ...Array.from({ length: 30 }, (_, i) => rec('support', `Order ${i} hasn't arrived`))];
    const r = sample(recs, 10, 3);
    expect(r.selected).toHaveLength(3);
    expect(r.duplicatesSeen).toBe(recs.length - 3);
    // Of each group of near-duplicates, the first logged one is kept.
    expect(r.selected.map((c) => c.record.messages[0]!.content).sort()).toEqual(["Order 0 hasn't arrived", 'Where is my refund?', 'Where is order 1234?']);
  });
});

describe('PII masking', () => {
  it('masks e-mail addresses', () => {
    expect(maskPii('write to jane.doe+x@mail.example.co.uk or BOB@EXAMPLE.COM.')).toBe('write to [EMAIL] or [EMAIL].');
  });

  it('masks international and US phone numbers', () => {
    for (const phone of ['+44 20 7946 0958', '+49-30-1234567', '+1 (415) 555-0132', '+33 1 23 45 67 89', '(415) 555-0132', '415-555-0132', '415.555.0132', '1-800-555-0199']) {
      expect(maskPii(`call ${phone} today`), phone).toBe('call [PHONE] today');
    }
  });

  it('masks Luhn-valid card numbers of 13–19 digits, with spaces or dashes', () => {
    for (const card of ['4111 1111 1111 1111', '4111-1111-1111-1111', '4111111111111111', '378282246310005', '6011000990139424', '4222222222222', '6304 0000 0000 0000 018']) {
      expect(luhnValid(card.replace(/\D/g, '')), card).toBe(true);
      expect(maskPii(`card ${card}.`), card).toBe('card [CARD].');
    }
  });

  it('masks valid IBANs', () => {
    expect(maskPii('pay to DE89 3704 0044 0532 0130 00 now')).toBe('pay to [IBAN] now');
    expect(maskPii('pay to GB82WEST12345698765432')).toBe('pay to [IBAN]');
  });

  it('leaves ordinary numbers alone', () => {
    const text =
      'Order 123456 of 2024-03-15 cost $1,234.56 (qty 3, 10-15 days). Ticket 4111111111111112 is not a card. ' +
      'Version 1.2.3, ISBN 978-3-16-148410-0, ZIP 94107, tracking 1Z999AA10123456784, call ext. 5550132, 3.14159.';
    expect(maskPii(text)).toBe(text);
  });

  it('masks only the kinds asked for; unknown kinds are a usage error', () => {
    const text = 'a@b.com +44 20 7946 0958';
    expect(maskPii(text, parseRedactionList('emails'))).toBe('[EMAIL] +44 20 7946 0958');
    expect(maskPii(text, parseRedactionList('none'))).toBe(text);
    expect(() => parseRedactionList('emails,ssn')).toThrow(UsageError);
  });
});

describe('suite building', () => {
  const recs = [
    rec('support', 'My card 4111 1111 1111 1111 was charged, mail me at a@b.com', { model: 'gpt-4.1-2025-04-14' }),
    rec('extraction', 'Extract {"name"} from: Name Bob', { structured: true, output: '{"name":"Bob","email":"bob@x.io"}', metadata: { useCase: 'extraction', task: 'extraction', tags: ['beta'] } }),
    rec('support', 'Where is my parcel?', { model: 'gpt-4.1-mini' }),
  ];
  const built = (frontierModel?: string) =>
    buildSuite(sample(recs, 10, 1), { name: 'prod', redact: ['emails', 'phones', 'cards', 'ibans'], seed: 1, stratify: ['useCase'], logs: ['logs.jsonl'], ...(frontierModel ? { frontierModel } : {}) });

  it('writes messages-form cases with masked PII and provenance, and unreviewed draft goldens', () => {
    const b = built('gpt-4.1');
    const card = b.cases.find((c) => c.messages![0]!.content.includes('[CARD]'))!;
    expect(card.messages![0]!.content).toBe('My card [CARD] was charged, mail me at [EMAIL]');
    expect(card.metadata).toMatchObject({ useCase: 'support', source: { file: 'logs.jsonl', model: 'gpt-4.1-2025-04-14' } });
    const extraction = b.cases.find((c) => c.task === 'extraction')!;
    expect(extraction.tags).toEqual(['beta']);
    // Structured outputs stay JSON (masked inside).
    expect(b.goldens.find((g) => g.id === extraction.id)).toEqual({ id: extraction.id, expected: { name: 'Bob', email: '[EMAIL]' }, status: 'unreviewed' });
    // The mini-answered case has no frontier output, hence no draft golden.
    expect(b.withoutGolden).toHaveLength(1);
    expect(b.goldens).toHaveLength(2);
    expect(b.goldens.every((g) => g.status === 'unreviewed')).toBe(true);
  });

  it('writes a folder the suite loader accepts, and refuses to overwrite it without force', () => {
    const out = join(tmp, 'suites', 'prod');
    const b = built();
    const { goldensFile } = writeSuite(out, b, 'prod', false);
    expect(goldensFile).toBe(join(tmp, 'goldens', 'prod.jsonl'));
    const suite = loadSuite(out, { graderTypes: graderTypes(), graderNeedsGolden });
    expect(suite.cases).toHaveLength(3);
    expect([...suite.goldens.values()].every((g) => g.status === 'unreviewed')).toBe(true);
    expect(readFileSync(join(out, 'suite.yaml'), 'utf8')).toMatch(/goldens: \.\.\/\.\.\/goldens\/prod\.jsonl/);
    expect(() => writeSuite(out, b, 'prod', false)).toThrow(/already exists.*\n.*--force/);
    rmSync(join(out), { recursive: true });
    expect(() => writeSuite(out, b, 'prod', false)).toThrow(/prod\.jsonl already exists/);
    writeSuite(out, b, 'prod', true);
    expect(existsSync(join(out, 'cases.jsonl'))).toBe(true);
  });
});
