import { describe, expect, it } from 'vitest';
import { padVisible, table, visibleWidth } from '../src/report/format.js';
import { byCodeUnits } from '../src/core/compare.js';
import { int, usd } from '../src/core/format.js';

const green = (s: string) => `\u001b[32m${s}\u001b[0m`;
// eslint-disable-next-line no-control-regex
const plain = (s: string) => s.replace(/\u001b\[\d+m/g, '');

describe('text table', () => {
  it('counts colour codes as zero width, so a painted column lines up with plain ones', () => {
    expect(visibleWidth(green('✔ PASS'))).toBe(6);
    expect(padVisible(green('ok'), 4, 'start')).toBe(`  ${green('ok')}`);
    const coloured = table(['tier', 'verdict'], [['cheap', green('✔ PASS')], ['frontier', '✘ FAIL']]);
    const uncoloured = table(['tier', 'verdict'], [['cheap', '✔ PASS'], ['frontier', '✘ FAIL']]);
    // Stripped of its colour codes, the coloured table is the plain one, character for character.
    expect(plain(coloured)).toBe(uncoloured);
    const widths = plain(coloured).split('\n').map((l) => l.length);
    expect(new Set(widths).size).toBe(1);
  });
});

describe('numbers without Intl', () => {
  // The reference is Intl (en-US), which these replace to spare every command ICU's start-up.
  const intl = new Intl.NumberFormat('en-US');
  const dollars = (x: number) => `$${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  const samples = [0, 1, -1, 999, 1000, -1000, 12345, 1234567, -1234567, Number.MAX_SAFE_INTEGER, 1234.5678, 0.1234, 1e6 + 0.5, 999.9999, 1.0005, 2.5, -2.5];
  // Deterministic spread over magnitudes and decimals (a fixed LCG, no Math.random).
  let seed = 7;
  for (let i = 0; i < 5000; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    samples.push(Math.round((seed / 2 ** 31 - 0.3) * 10 ** (1 + (i % 9))) / 10 ** (i % 5));
  }

  it('int writes thousands separators and up to three decimals as en-US does', () => {
    expect(int(1234567)).toBe('1,234,567');
    expect(int(-1000)).toBe('-1,000');
    expect(int(1234.5678)).toBe('1,234.568');
    // Intl writes a negative value that rounds to zero as "-0"; that reads as noise, so "0".
    expect(int(-0.0001)).toBe('0');
    for (const x of samples) if (intl.format(x) !== '-0') expect(int(x)).toBe(intl.format(x));
  });

  it('usd rounds half-cents away from zero on the decimal value, as Intl does (toFixed would not)', () => {
    expect(usd(1.005)).toBe('$1.01');
    expect(usd(-1.005)).toBe('$-1.01');
    expect(usd(99999.995)).toBe('$100,000.00');
    expect(usd(1234.5)).toBe('$1,234.50');
    for (const x of samples) if (dollars(x) !== '$-0.00') expect(usd(x)).toBe(dollars(x));
  });
});

describe('byCodeUnits', () => {
  it('orders by code units whatever the locale: upper case before lower, accents after ASCII', () => {
    expect(['b', 'B', 'a', 'é', 'A'].sort(byCodeUnits)).toEqual(['A', 'B', 'a', 'b', 'é']);
    expect(byCodeUnits('x', 'x')).toBe(0);
  });
});
