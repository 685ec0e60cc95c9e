/**
 * Masking personal data before production text lands in a git-tracked suite. Pattern based, so it is
 * a safety net, not a guarantee: it looks for shapes (e-mail addresses, formatted phone numbers,
 * Luhn-valid card numbers, IBANs) and deliberately leaves bare digit runs such as order numbers, years
 * and amounts alone, because masking those would destroy the cases' meaning.
 */
import { UsageError } from '../core/errors.js';

export const REDACTION_KINDS = ['emails', 'phones', 'cards', 'ibans'] as const;
export type RedactionKind = (typeof REDACTION_KINDS)[number];
export const DEFAULT_REDACTIONS: readonly RedactionKind[] = ['emails', 'phones', 'cards', 'ibans'];

/** `emails,phones` → kinds; `none` → nothing. Unknown names are a usage error listing the known ones. */
export function parseRedactionList(spec: string): RedactionKind[] {
  const names = spec.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (names.length === 1 && names[0] === 'none') return [];
  const unknown = names.filter((n) => !(REDACTION_KINDS as readonly string[]).includes(n));
  if (unknown.length) throw new UsageError(`unknown redaction "${unknown.join('", "')}" in --redact\n  → use a comma-separated list of ${REDACTION_KINDS.join(', ')}, or "none"`);
  return [...new Set(names)] as RedactionKind[];
}

/** The Luhn checksum every payment card number satisfies (and ~90% of random digit strings do not). */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

const EMAIL = /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b/g;
/** 13–19 digits, optionally grouped by single spaces or dashes; not glued to other digits. */
const CARD = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g;
/** Country code, two check digits, then 11–30 alphanumerics, optionally in groups of four. */
const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g;
/**
 * International numbers (`+44 20 7946 0958`, `+49-30-1234567`) need the leading `+`; US numbers need
 * their usual punctuation (`(415) 555-0132`, `415-555-0132`, `415.555.0132`, `1-800-555-0199`).
 */
const PHONE_INTL = /(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\w])/g;
const PHONE_US = /(?<![\w+-])(?:1[ .-])?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-])/g;

function ibanValid(candidate: string): boolean {
  const s = candidate.replace(/ /g, '');
  if (s.length < 15 || s.length > 34) return false;
  // ISO 13616: move the first four characters to the end, letters to numbers, mod 97 must be 1.
  const rearranged = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of rearranged) {
    const v = ch >= 'A' && ch <= 'Z' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of v) rem = (rem * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return rem === 1;
}

const digitCount = (s: string): number => s.replace(/\D/g, '').length;

/** Masks every enabled kind; the replacement names the kind so the case still reads naturally. */
export function maskPii(text: string, kinds: readonly RedactionKind[] = DEFAULT_REDACTIONS): string {
  let out = text;
  // Cards first: a 16-digit card grouped by spaces would otherwise look like an international phone.
  if (kinds.includes('cards')) out = out.replace(CARD, (m) => (luhnValid(m.replace(/[ -]/g, '')) ? '[CARD]' : m));
  if (kinds.includes('ibans')) out = out.replace(IBAN, (m) => (ibanValid(m) ? '[IBAN]' : m));
  if (kinds.includes('emails')) out = out.replace(EMAIL, '[EMAIL]');
  if (kinds.includes('phones')) {
    out = out.replace(PHONE_INTL, (m) => {
      const n = digitCount(m);
      return n >= 8 && n <= 15 ? '[PHONE]' : m;
    });
    out = out.replace(PHONE_US, '[PHONE]');
  }
  return out;
}

/** Masks strings anywhere inside a JSON-like value (metadata, structured outputs). */
export function maskPiiDeep<T>(value: T, kinds: readonly RedactionKind[]): T {
  if (typeof value === 'string') return maskPii(value, kinds) as T;
  if (Array.isArray(value)) return value.map((v) => maskPiiDeep(v, kinds)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskPiiDeep(v, kinds)])) as T;
  }
  return value;
}
