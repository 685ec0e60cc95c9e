import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../src/api/run.js';
import { createPriceLookup } from '../src/audit/pricing.js';
import { auditLogs, auditSection } from '../src/audit/report.js';
import type { AuditSection } from '../src/audit/report.js';
import { auditCommand } from '../src/cli/audit-command.js';
import { simulateCommand } from '../src/cli/simulate-command.js';
import { UsageError } from '../src/core/errors.js';
import { renderAuditHtml, writeAuditHtml } from '../src/report/audit-html.js';
import { renderCurveHtml, writeCurveHtml } from '../src/report/curve-html.js';
import type { CurvePageInput } from '../src/report/curve-html.js';
import { curveChart } from '../src/report/svg-charts.js';
import { oracleCurve, randomCurve, rankedCurve, routerMetrics } from '../src/stats/router-metrics.js';
import type { PairedOutcome, RouterCurve } from '../src/stats/router-metrics.js';
import { hasChromium, launchChromium } from './support/chromium.js';

const XSS = '<script>window.__pwned=1</script>';
const dir = mkdtempSync(join(tmpdir(), 'evalroute-extra-html-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every `<tag …>` opening of an element in the page, e.g. every `<table`. */
const count = (html: string, re: RegExp) => (html.match(re) ?? []).length;

function expectSafePage(html: string) {
  expect(html).toMatch(/^<!doctype html>/);
  expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'`);
  // These pages carry no script at all, so any `<script` would be injected text that escaped.
  expect(html).not.toMatch(/<script/i);
  expect(html).not.toMatch(/https?:\/\//i);
  expect(html).not.toMatch(/\son[a-z]+=/i);
}

// ───────────────────────────── audit ─────────────────────────────

const LOG_LINES = [
  { input: 'Classify: charged twice', output: 'billing', model: 'gpt-4.1', usage: { input: 100, output: 10 }, metadata: { useCase: `support ${XSS}` }, timestamp: '2025-03-01T00:00:00Z' },
  { input: 'Classify: where is my parcel', output: 'shipping', model: 'gpt-4.1', usage: { input: 120, output: 12 }, metadata: { useCase: `support ${XSS}` }, timestamp: '2025-03-04T00:00:00Z' },
  { input: 'Summarise this', output: 'A summary.', model: `home-made<img src=x onerror=alert(1)>`, usage: { input: 900, output: 60 }, metadata: { useCase: 'summaries' }, timestamp: '2025-03-08T00:00:00Z' },
];

async function auditFixture(): Promise<{ file: string; section: AuditSection }> {
  const file = join(dir, 'logs.jsonl');
  writeFileSync(file, `${LOG_LINES.map((l) => JSON.stringify(l)).join('\n')}\n{not json\n`);
  const prices = createPriceLookup([], [['gpt-4.1', { price: { input: 2, output: 8 }, source: 'table:gpt-4.1' }]]);
  return { file, section: auditSection(await auditLogs([file], { prices })) };
}

describe('audit HTML page', () => {
  let section: AuditSection;
  let html: string;
  beforeAll(async () => {
    section = (await auditFixture()).section;
    html = renderAuditHtml(section);
  });

  it('renders every summary figure and every table as a semantic table with its caption', () => {
    for (const [label, value] of section.summary) expect(html).toContain(`<dt>${label}</dt><dd>${value.replace(/>/g, '&gt;')}</dd>`);
    expect(count(html, /<table class="grid">/g)).toBe(section.tables.length);
    for (const t of section.tables) expect(html).toContain(`<caption>${t.title}</caption>`);
    expect(html).toContain('<th scope="col" class="num">requests</th>');
    // The by-model table: one body row per model, its name as the row header.
    const byModel = /<caption>By model<\/caption>[\s\S]*?<\/table>/.exec(html)![0];
    expect(count(byModel, /<tbody>[\s\S]*<\/tbody>/g)).toBe(1);
    expect(count(byModel, /<tr><th scope="row">/g)).toBe(2);
    expect(byModel).toContain('<th scope="row">gpt-4.1</th>');
    expect(html).toContain('percentiles from a log-scale histogram');
  });

  it('shows the warnings: the malformed line and the unpriced model', () => {
    expect(section.warnings.length).toBe(2);
    expect(count(html, /<li>⚠ /g)).toBe(2);
    expect(html).toContain('1 malformed line(s) skipped');
    expect(html).toContain('<strong>2 WARNINGS</strong>');
  });

  it('escapes an injected use case and model name', () => {
    expectSafePage(html);
    expect(html).toContain('support &lt;script&gt;window.__pwned&#x3D;1&lt;/script&gt;');
    expect(html).toContain('home-made&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;');
  });

  it('is written by `evalroute audit --html`', async () => {
    const { file } = await auditFixture();
    const out = join(dir, 'cli', 'audit.html');
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await auditCommand([file], { html: out })).toBe(0);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
    const page = readFileSync(out, 'utf8');
    expectSafePage(page);
    expect(page).toContain('<caption>By use case</caption>');
    await expect(auditCommand([file], { html: '-', json: '-' })).rejects.toBeInstanceOf(UsageError);
  });
});

// ───────────────────────────── curve ─────────────────────────────

/** 12 cases: the strong model passes 10, the weak one 6; lengths rank 3 of the 4 gaps first. */
function pairs(priced: boolean): { pairs: PairedOutcome[]; scores: number[] } {
  const rows: [number, number, number][] = [
    [1, 0, 90], [1, 0, 80], [1, 0, 70], [1, 1, 60], [1, 1, 50], [0, 0, 40], [1, 1, 30], [1, 0, 20], [1, 1, 10], [1, 1, 5], [0, 1, 3], [1, 1, 1],
  ];
  return {
    pairs: rows.map(([s, w]) => ({ strong: s, weak: w, strongCost: priced ? 0.01 : null, weakCost: priced ? 0.001 : null })),
    scores: rows.map(([, , len]) => len),
  };
}

function curveFixture(opts: { priced?: boolean; strong?: string; missing?: number } = {}): CurvePageInput {
  const { pairs: p, scores } = pairs(opts.priced ?? true);
  const router = rankedCurve(p, scores);
  const max = router.points.at(-1)!.costPer1k ?? undefined;
  const series = (c: RouterCurve) => ({ points: c.points, metrics: routerMetrics(c, 10, max) });
  return {
    strong: opts.strong ?? 'gpt4',
    weak: 'flash',
    orderBy: 'input-length',
    orderNote: 'longest rendered inputs go to the strong model first',
    cases: p.length,
    strongQuality: router.strongQuality,
    weakQuality: router.weakQuality,
    router: series(router),
    random: series(randomCurve(p, 10)),
    oracle: series(oracleCurve(p)),
    missing: Array.from({ length: opts.missing ?? 0 }, (_, i) => ({ caseId: `c${i}`, model: 'flash' })),
  };
}

const polylines = (html: string) =>
  [...html.matchAll(/<polyline class="curve (\w+)" data-series="\w+" data-points="(\d+)" points="([^"]*)">/g)].map((m) => ({
    name: m[1]!,
    declared: Number(m[2]),
    points: m[3]!.split(' ').map((xy) => xy.split(',').map(Number) as [number, number]),
  }));

describe('curveChart', () => {
  it('plots cost on x when every point is priced, the strong-call share otherwise', () => {
    expect(curveChart(curveFixture()).xAxis).toBe('cost');
    expect(curveChart(curveFixture({ priced: false })).xAxis).toBe('share');
    expect(() => curveChart(curveFixture({ priced: false }), { x: 'cost' })).toThrow(RangeError);
  });

  it('keeps every point inside the plot, the weak end left of the strong end, higher quality higher up', () => {
    const c = curveFixture();
    const chart = curveChart(c);
    for (const s of chart.series) {
      for (const [x, y] of s.points.split(' ').map((xy) => xy.split(',').map(Number) as [number, number])) {
        expect(x).toBeGreaterThanOrEqual(chart.plotX);
        expect(x).toBeLessThanOrEqual(chart.plotRight);
        expect(y).toBeGreaterThanOrEqual(chart.plotY);
        expect(y).toBeLessThanOrEqual(chart.plotBottom);
      }
    }
    const [weak, strong] = chart.ends;
    expect([weak!.label, strong!.label]).toEqual(['flash', 'gpt4']);
    expect(weak!.cx).toBe(chart.plotX);
    expect(strong!.cx).toBe(chart.plotRight);
    // Strong passes 10/12, weak 6/12: the strong end sits higher (smaller y).
    expect(strong!.cy).toBeLessThan(weak!.cy);
    const tickValues = chart.yTicks.map((t) => parseFloat(t.label));
    expect(tickValues).toEqual([...tickValues].sort((a, b) => a - b));
    expect(tickValues[0]).toBeLessThanOrEqual(50);
    expect(tickValues.at(-1)).toBeGreaterThanOrEqual(83);
  });
});

describe('curve HTML page', () => {
  it('draws three polylines — router, random, oracle — with one vertex per curve point', () => {
    const c = curveFixture();
    const lines = polylines(renderCurveHtml(c));
    expect(lines.map((l) => l.name).sort()).toEqual(['oracle', 'random', 'router']);
    const expected = { router: c.router.points.length, random: c.random.points.length, oracle: c.oracle.points.length };
    expect(expected.random).toBe(11);
    for (const l of lines) {
      expect(l.points.length).toBe(expected[l.name as keyof typeof expected]);
      expect(l.declared).toBe(l.points.length);
      expect(l.points.every(([x, y]) => Number.isFinite(x) && Number.isFinite(y))).toBe(true);
    }
  });

  it('tabulates APGR, CPT 50%, CPT 80% and AIQ for each router', () => {
    const c = curveFixture();
    const html = renderCurveHtml(c, { suite: 'support' });
    const table = /<table class="grid">[\s\S]*?<\/table>/.exec(html)![0];
    expect(table).toContain('<th scope="col" class="num">APGR</th><th scope="col" class="num">CPT 50%</th><th scope="col" class="num">CPT 80%</th><th scope="col" class="num">AIQ</th>');
    const m = c.router.metrics;
    expect(table).toContain(
      `<tr><th scope="row">by input-length</th><td class="num">${m.apgr!.toFixed(3)}</td><td class="num">${(m.cpt50! * 100).toFixed(1)}%</td><td class="num">${(m.cpt80! * 100).toFixed(1)}%</td><td class="num">${m.aiq!.toFixed(3)}</td></tr>`,
    );
    expect(table).toContain('<th scope="row">random</th><td class="num">0.500</td>');
    expect(count(table, /<tr><th scope="row">/g)).toBe(3);
    expect(html).toContain('<dt>quality all on gpt4 (strong)</dt><dd>83.3%</dd>');
    expect(html).toContain('Quality vs cost');
  });

  it('falls back to the strong-call share and says why when a call is unpriced; lists missing pairs', () => {
    const html = renderCurveHtml(curveFixture({ priced: false, missing: 7 }));
    expect(html).toContain('Quality vs strong-call share');
    expect(html).toContain('Some calls have no price');
    expect(html).toContain('7 (case, model) pair(s) are not in the store');
    expect(html).toContain('c0@flash, c1@flash, c2@flash, c3@flash, c4@flash, …');
    expect(html).toMatch(/<th scope="row">random<\/th><td class="num">0\.500<\/td><td class="num">50\.0%<\/td><td class="num">80\.0%<\/td><td class="num">—<\/td>/);
  });

  it('escapes an injected model name everywhere it appears', () => {
    const html = renderCurveHtml(curveFixture({ strong: `gpt4${XSS}` }), { suite: `s${XSS}` });
    expectSafePage(html);
    expect(html).toContain('gpt4&lt;script&gt;window.__pwned&#x3D;1&lt;/script&gt;');
    expect(polylines(html)).toHaveLength(3);
  });

  it('`simulate --html` needs --curve, and stdout cannot take two documents', async () => {
    await expect(simulateCommand('/nonexistent', { html: 'x.html' })).rejects.toThrow(/--html draws the routing curve: pass --curve/);
    await expect(simulateCommand('/nonexistent', { html: '-', json: '-', curve: 'a,b' })).rejects.toBeInstanceOf(UsageError);
  });
});

describe('`evalroute simulate --curve --html` on a real stored run', () => {
  it('writes the page from recorded GPT-4o and Gemini Flash results', async () => {
    const suiteDir = resolve('suites/mmlu-pro-tiers');
    const db = join(dir, 'sim', 'results.db');
    await run({ suiteDir, db, cwd: dir, env: {} });
    const out = join(dir, 'sim', 'curve.html');
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let code: number;
    try {
      code = await simulateCommand(suiteDir, { db, curve: 'gpt-4o,gemini-flash', html: out });
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
    // routing.yaml sends only some cases to gemini-flash: the curve's other pairs are missing (exit 3),
    // and the page must say so rather than draw the curve as if it covered the suite.
    expect(code).toBe(3);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/[\d,]+ \(case, model\) pair\(s\) are not in the store/);
    expectSafePage(html);
    expect(html).toContain('<h1>gpt-4o / gemini-flash</h1>');
    const lines = polylines(html);
    expect(lines.map((l) => l.name).sort()).toEqual(['oracle', 'random', 'router']);
    expect(lines.find((l) => l.name === 'random')!.points).toHaveLength(11);
    for (const l of lines) expect(l.points.length).toBe(l.declared);
    expect(count(html, /<tr><th scope="row">/g)).toBe(3);
  }, 30_000);
});

// ───────────────────────────── browser ─────────────────────────────

describe.skipIf(!hasChromium)('audit and curve pages in headless Chromium', () => {
  it('open without console errors or network requests, tables and chart laid out', async () => {
    const auditFile = join(dir, 'browser', 'audit.html');
    const curveFile = join(dir, 'browser', 'curve.html');
    writeAuditHtml(auditFile, (await auditFixture()).section);
    writeCurveHtml(curveFile, curveFixture({ strong: `gpt4${XSS}` }));
    const browser = await launchChromium();
    try {
      for (const [file, check] of [
        [auditFile, 'table.grid'],
        [curveFile, 'svg polyline.curve.router'],
      ] as const) {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const problems: string[] = [];
        const network: string[] = [];
        page.on('pageerror', (e) => problems.push(e.message));
        page.on('console', (m) => {
          if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
        });
        page.on('request', (r) => {
          if (!r.url().startsWith('file:')) network.push(r.url());
        });
        await page.goto(pathToFileURL(file).href);
        const box = await page.locator(check).first().boundingBox();
        expect(box?.width ?? 0).toBeGreaterThan(100);
        expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
        if (file === curveFile) expect(await page.locator('svg polyline').count()).toBe(3);
        else expect(await page.locator('table.grid').count()).toBeGreaterThanOrEqual(5);
        expect(problems).toEqual([]);
        expect(network).toEqual([]);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  }, 30_000);
});
