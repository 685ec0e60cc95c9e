/**
 * The gate's HTML report in real headless Chromium: the "Base routing vs this change" section, and the
 * per-case anchors the PR comment links to (report.html#case-<id> opens that case).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseAnchor, caseHref, type GateComparison } from '../src/report/base-vs-head.js';
import { renderHtmlReport, writeHtmlReport } from '../src/report/html.js';
import { buildReportData } from '../src/report/report-data.js';
import { buildFixture, hasChromium, launchChromium } from './support/chromium.js';

const BROKEN = 'cheap-regression-3';
const MOVED_OK = 'cheap-both-pass-0';

const comparison: GateComparison = {
  base: {
    routingFile: '/repo/base-routing.yaml',
    baseline: 'gpt4',
    tiers: [],
    pass: true,
    status: 'complete',
    overall: { cases: 20, passRate: 0.85, baselinePassRate: 0.8, delta: 0.05, costPer1k: 7.5, baselineCostPer1k: 10, savings: 0.25 },
    missing: [],
  },
  head: { cases: 20, passRate: 0.7, baselinePassRate: 0.8, delta: -0.1, costPer1k: 2, baselineCostPer1k: 10, savings: 0.8 },
  moved: {
    cases: 2,
    transitions: [{ from: 'frontier', to: 'cheap', fromModel: 'gpt4', toModel: 'flash', cases: 2, examples: [MOVED_OK, BROKEN] }],
    regressed: [{ caseId: BROKEN, from: 'frontier', to: 'cheap', fromModel: 'gpt4', toModel: 'flash' }],
    basePassRate: 1,
    headPassRate: 0.5,
    delta: -0.5,
    baseCostPer1k: 10,
    headCostPer1k: 0.5,
    savings: 0.95,
    unscored: 0,
  },
};

describe('case anchors', () => {
  it('any case id makes one valid, reversible fragment', () => {
    expect(caseAnchor('a b#c/"d"(e)')).toBe('case-a%20b%23c%2F%22d%22(e)');
    expect(decodeURIComponent(caseAnchor('ü 1').slice(5))).toBe('ü 1');
    expect(caseHref('https://ci.example/r/report.html#old', 'x 1')).toBe('https://ci.example/r/report.html#case-x%201');
  });

  it('the report has the section only for a gate run', () => {
    expect(renderHtmlReport(buildReportData(buildFixture()))).not.toContain('id="base-vs-head"');
    const html = renderHtmlReport(buildReportData({ ...buildFixture(), comparison }));
    expect(html).toContain('id="base-vs-head"');
    expect(html).toContain(`href="#${caseAnchor(BROKEN)}" data-case="${BROKEN}"`);
  });
});

describe.skipIf(!hasChromium)('gate report in headless Chromium', () => {
  let browser: Browser;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evalroute-bvh-'));
    file = join(dir, 'report.html');
    writeHtmlReport(file, buildReportData({ ...buildFixture(), comparison }));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(fragment = ''): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1320, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    await page.goto(pathToFileURL(file).href + fragment);
    await page.waitForSelector('body[data-ready="true"]');
    return { page, problems };
  }

  it('shows base vs head, the transitions and the cases the change broke', async () => {
    const { page, problems } = await open();
    const section = page.locator('#base-vs-head');
    await expect.poll(() => section.isVisible()).toBe(true);
    expect(await page.locator('nav.toc a[href="#base-vs-head"]').count()).toBe(1);
    const figures = await section.locator('table.bvh-figures tbody tr').allInnerTexts();
    expect(figures.map((r) => r.split('\t').map((c) => c.trim()))).toEqual([
      ['Verdict', '✔ PASS', '✘ FAIL'],
      ['Pass rate (routed)', '85.0%', '70.0%'],
      ['Cost / 1k requests', '$7.50', '$2.00'],
      ['Savings vs all-baseline', '25.0%', '80.0%'],
    ]);
    expect(await section.locator('.bvh-moved').innerText()).toBe('2 cases moved tier: pass rate 100.0% under base → 50.0% under this change (−50.0 pts); cost / 1k $10.00 → $0.50 (saves 95.0%).');
    expect(await section.locator('table.bvh-regressed tbody a.case-link').allInnerTexts()).toEqual([BROKEN]);
    expect(problems).toEqual([]);
  });

  it('report.html#case-<id> opens that case, scrolled into view', async () => {
    const { page, problems } = await open(`#${caseAnchor(BROKEN)}`);
    const row = page.locator(`tr#${caseAnchor(BROKEN)}`);
    await expect.poll(() => row.locator('button.expand').getAttribute('aria-expanded')).toBe('true');
    expect(await row.isVisible()).toBe(true);
    // In view, and not hidden under the sticky filter bar.
    const place = await row.evaluate((el) => {
      const r = el.getBoundingClientRect();
      const doc = el.ownerDocument;
      return { top: r.top, bottom: r.bottom, below: doc.getElementById('filters')!.getBoundingClientRect().bottom, height: doc.documentElement.clientHeight };
    });
    expect(place.top).toBeGreaterThanOrEqual(place.below);
    expect(place.bottom).toBeLessThanOrEqual(place.height);
    const detail = page.locator('tr.detail').first();
    expect(await detail.isVisible()).toBe(true);
    expect(await detail.innerText()).toMatch(/baseline vs candidate/i);
    expect(await detail.innerText()).toContain(`Customer ${BROKEN} asks`);
    // Only that case is open.
    expect(await page.locator('button.expand[aria-expanded="true"]').count()).toBe(1);
    expect(problems).toEqual([]);
  });

  it('a case link in the section opens the case and puts its anchor in the address', async () => {
    const { page, problems } = await open();
    await page.click(`#base-vs-head a.case-link[data-case="${MOVED_OK}"]`);
    const row = page.locator(`tr#${caseAnchor(MOVED_OK)}`);
    await expect.poll(() => row.locator('button.expand').getAttribute('aria-expanded')).toBe('true');
    expect(new URL(page.url()).hash).toBe(`#${caseAnchor(MOVED_OK)}`);
    // Navigating to another case's anchor (e.g. a second link from the PR comment) opens it too.
    await page.goto(`${pathToFileURL(file).href}#${caseAnchor(BROKEN)}`); // same document: a fragment change
    await expect.poll(() => page.locator(`tr#${caseAnchor(BROKEN)} button.expand`).getAttribute('aria-expanded')).toBe('true');
    expect(await row.locator('button.expand').getAttribute('aria-expanded')).toBe('true'); // same page: still open
    expect(problems).toEqual([]);
  });
});
