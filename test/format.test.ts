import { describe, expect, it } from 'vitest';
import { padVisible, table, visibleWidth } from '../src/report/format.js';

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
