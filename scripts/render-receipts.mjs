#!/usr/bin/env node
/**
 * Renders the receipts-multimodal suite: 8 synthetic receipt PNGs drawn with a built-in 5×7 bitmap
 * font, plus cases.jsonl and the goldens. Everything is written by this script from the data below,
 * so the suite is licence-clean and byte-identical on every run (no timestamps, no randomness, fixed
 * zlib level). Run: node scripts/render-receipts.mjs
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const SUITE = join(REPO, 'suites/receipts-multimodal');

// Prices in cents so totals are exact sums, never float drift.
const RECEIPTS = [
  { merchant: 'CORNER DELI', date: '2026-03-14', shown: '2026-03-14', items: [['BAGEL', 350], ['COFFEE', 275], ['OJ', 425]] },
  { merchant: 'BLUE HARBOR FISH', date: '2026-01-02', shown: '2026/01/02', items: [['SALMON 1LB', 1899], ['LEMONS', 199]] },
  { merchant: 'MAPLE HARDWARE', date: '2025-11-28', shown: '2025-11-28', items: [['SCREWS 50', 649], ['HAMMER', 2499], ['TAPE', 399], ['GLUE', 525]] },
  { merchant: 'SUNRISE BAKERY', date: '2026-02-09', shown: '02/09/2026', items: [['SOURDOUGH', 700], ['CROISSANT', 325]] },
  { merchant: 'CITY BOOKS', date: '2025-12-20', shown: '2025-12-20', items: [['NOVEL', 1695], ['MAP', 899], ['PEN', 150]] },
  { merchant: 'GREEN LEAF MARKET', date: '2026-04-01', shown: '2026/04/01', items: [['APPLES', 412], ['KALE', 299], ['MILK', 389], ['EGGS 12', 549]] },
  { merchant: 'PIXEL PHARMACY', date: '2026-05-17', shown: '2026-05-17', items: [['VITAMIN C', 1299], ['BANDAGES', 475]] },
  { merchant: 'NORTH STAR TAXI', date: '2025-10-05', shown: '10/05/2025', items: [['FARE 12 KM', 2340], ['TIP', 400], ['TOLL', 250]] },
];

// 5×7 glyphs, one string per row, '#' = ink.
const FONT = {
  A: ['.###.', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  B: ['####.', '#...#', '#...#', '####.', '#...#', '#...#', '####.'],
  C: ['.###.', '#...#', '#....', '#....', '#....', '#...#', '.###.'],
  D: ['####.', '#...#', '#...#', '#...#', '#...#', '#...#', '####.'],
  E: ['#####', '#....', '#....', '####.', '#....', '#....', '#####'],
  F: ['#####', '#....', '#....', '####.', '#....', '#....', '#....'],
  G: ['.###.', '#...#', '#....', '#.###', '#...#', '#...#', '.####'],
  H: ['#...#', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  I: ['.###.', '..#..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  J: ['..###', '...#.', '...#.', '...#.', '...#.', '#..#.', '.##..'],
  K: ['#...#', '#..#.', '#.#..', '##...', '#.#..', '#..#.', '#...#'],
  L: ['#....', '#....', '#....', '#....', '#....', '#....', '#####'],
  M: ['#...#', '##.##', '#.#.#', '#.#.#', '#...#', '#...#', '#...#'],
  N: ['#...#', '#...#', '##..#', '#.#.#', '#..##', '#...#', '#...#'],
  O: ['.###.', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  P: ['####.', '#...#', '#...#', '####.', '#....', '#....', '#....'],
  Q: ['.###.', '#...#', '#...#', '#...#', '#.#.#', '#..#.', '.##.#'],
  R: ['####.', '#...#', '#...#', '####.', '#.#..', '#..#.', '#...#'],
  S: ['.####', '#....', '#....', '.###.', '....#', '....#', '####.'],
  T: ['#####', '..#..', '..#..', '..#..', '..#..', '..#..', '..#..'],
  U: ['#...#', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  V: ['#...#', '#...#', '#...#', '#...#', '#...#', '.#.#.', '..#..'],
  W: ['#...#', '#...#', '#...#', '#.#.#', '#.#.#', '#.#.#', '.#.#.'],
  X: ['#...#', '#...#', '.#.#.', '..#..', '.#.#.', '#...#', '#...#'],
  Y: ['#...#', '#...#', '.#.#.', '..#..', '..#..', '..#..', '..#..'],
  Z: ['#####', '....#', '...#.', '..#..', '.#...', '#....', '#####'],
  0: ['.###.', '#...#', '#..##', '#.#.#', '##..#', '#...#', '.###.'],
  1: ['..#..', '.##..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  2: ['.###.', '#...#', '....#', '...#.', '..#..', '.#...', '#####'],
  3: ['#####', '...#.', '..#..', '...#.', '....#', '#...#', '.###.'],
  4: ['...#.', '..##.', '.#.#.', '#..#.', '#####', '...#.', '...#.'],
  5: ['#####', '#....', '####.', '....#', '....#', '#...#', '.###.'],
  6: ['..##.', '.#...', '#....', '####.', '#...#', '#...#', '.###.'],
  7: ['#####', '....#', '...#.', '..#..', '.#...', '.#...', '.#...'],
  8: ['.###.', '#...#', '#...#', '.###.', '#...#', '#...#', '.###.'],
  9: ['.###.', '#...#', '#...#', '.####', '....#', '...#.', '.##..'],
  '.': ['.....', '.....', '.....', '.....', '.....', '.##..', '.##..'],
  ':': ['.....', '.##..', '.##..', '.....', '.##..', '.##..', '.....'],
  $: ['..#..', '.####', '#.#..', '.###.', '..#.#', '####.', '..#..'],
  '-': ['.....', '.....', '.....', '#####', '.....', '.....', '.....'],
  '/': ['.....', '....#', '...#.', '..#..', '.#...', '#....', '.....'],
  ' ': ['.....', '.....', '.....', '.....', '.....', '.....', '.....'],
};

const SCALE = 2;
const COLS = 26; // characters per receipt line
const CELL_W = 6 * SCALE; // 5 px glyph + 1 px gap
const LINE_H = 10 * SCALE; // 7 px glyph + 3 px leading
const MARGIN = 8 * SCALE;

const money = (cents) => `$${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
/** Left text and right-aligned amount on one line of COLS characters. */
const row = (left, right) => `${left}${' '.repeat(Math.max(1, COLS - left.length - right.length))}${right}`;

function receiptLines(r) {
  const total = r.items.reduce((s, [, c]) => s + c, 0);
  return {
    total,
    lines: [r.merchant, `DATE: ${r.shown}`, '-'.repeat(COLS), ...r.items.map(([name, c]) => row(name, money(c))), '-'.repeat(COLS), row('TOTAL', money(total))],
  };
}

/** 8-bit greyscale pixels, 255 = white paper, 0 = ink. */
function rasterise(lines) {
  const width = MARGIN * 2 + COLS * CELL_W;
  const height = MARGIN * 2 + lines.length * LINE_H;
  const px = Buffer.alloc(width * height, 255);
  lines.forEach((line, li) => {
    [...line].forEach((ch, ci) => {
      const glyph = FONT[ch];
      if (!glyph) throw new Error(`render-receipts: no glyph for "${ch}" in line "${line}"; add it to FONT or change the text`);
      glyph.forEach((bits, gy) => {
        [...bits].forEach((bit, gx) => {
          if (bit !== '#') return;
          const x0 = MARGIN + ci * CELL_W + gx * SCALE;
          const y0 = MARGIN + li * LINE_H + gy * SCALE;
          for (let dy = 0; dy < SCALE; dy++) px.fill(0, (y0 + dy) * width + x0, (y0 + dy) * width + x0 + SCALE);
        });
      });
    });
  });
  return { width, height, px };
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function encodePng({ width, height, px }) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // bit depth 8, greyscale, deflate, no filter, no interlace
  const raw = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) px.copy(raw, y * (width + 1) + 1, y * width, (y + 1) * width); // filter byte 0 = none
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

mkdirSync(join(SUITE, 'receipts'), { recursive: true });
const cases = [];
const goldens = [];
RECEIPTS.forEach((r, i) => {
  const id = `receipt-${String(i + 1).padStart(2, '0')}`;
  const { lines, total } = receiptLines(r);
  writeFileSync(join(SUITE, 'receipts', `${id}.png`), encodePng(rasterise(lines)));
  cases.push({ id, vars: {}, attachments: [`receipts/${id}.png`], task: 'receipt-extraction' });
  goldens.push({ id, expected: { merchant: r.merchant, date: r.date, total: total / 100 }, status: 'approved' });
});
const jsonl = (rows) => rows.map((x) => JSON.stringify(x)).join('\n') + '\n';
writeFileSync(join(SUITE, 'cases.jsonl'), jsonl(cases));
writeFileSync(join(REPO, 'goldens/receipts-multimodal.jsonl'), jsonl(goldens));
console.log(`render-receipts: wrote ${cases.length} receipts, cases.jsonl and goldens/receipts-multimodal.jsonl`);
