import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeHtmlReport } from '../src/report/html.js';
import { buildReportData } from '../src/report/report-data.js';
import { buildFixture, CHROMIUM_PATH, hasChromium, largePlan, launchChromium, XSS } from './support/chromium.js';

if (!hasChromium) {
  console.warn(
    `\n${'!'.repeat(78)}\n!! report-browser.test.ts SKIPPED: ${CHROMIUM_PATH} not found.\n` +
      `!! The HTML report was NOT checked in a real browser. Install it: apt-get install -y chromium\n${'!'.repeat(78)}\n`,
  );
}

describe.skipIf(!hasChromium)('HTML report in headless Chromium', () => {
  let browser: Browser;
  let dir: string;
  let smallFile: string;
  let largeFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evalroute-report-'));
    smallFile = join(dir, 'small', 'report.html');
    largeFile = join(dir, 'large.html');
    const head = buildFixture();
    const base = buildFixture({ runId: 'run-base', flip: ['cheap-regression-4', 'cheap-improvement-5'] });
    writeHtmlReport(smallFile, buildReportData({ ...head, baseRun: { run: base.run, calls: base.calls } }));
    writeHtmlReport(largeFile, buildReportData(buildFixture({ plan: largePlan(5000), unpricedMid: false })));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  interface Opened {
    page: Page;
    /** Every request that left the file: scheme (must stay empty). */
    network: string[];
    /** Uncaught page errors and CSP violations. */
    problems: string[];
  }
  async function open(file: string): Promise<Opened> {
    const page = await browser.newPage({ viewport: { width: 1320, height: 1000 } });
    const network: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) network.push(r.url());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    await page.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('body[data-ready="true"]');
    return { page, network, problems };
  }
  const visibleRows = (page: Page) => page.locator('tr.case-row:visible');

  it('shows tier cards, filters, expands diffs, searches, and never executes injected markup', async () => {
    const { page, network, problems } = await open(smallFile);

    // Tier cards: verdict as text, not colour alone.
    await expect.poll(() => page.locator('article.card').count()).toBe(3);
    expect(await page.locator('article.card', { hasText: 'cheap' }).locator('.verdict').innerText()).toContain('FAIL');
    expect(await page.locator('article.card', { hasText: 'mid' }).locator('.verdict').innerText()).toContain('INCONCLUSIVE');
    expect(await page.locator('article.card', { hasText: 'mid' }).locator('.headline').innerText()).toContain('~300 more cases would decide it');
    expect(await page.locator('article.card', { hasText: 'cheap' }).innerText()).toContain('CI −80.0 pts … −20.0 pts');
    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/report-summary.png' });

    // All rows rendered, regressions first.
    await expect.poll(() => visibleRows(page).count()).toBe(20);
    expect(await page.locator('tr.case-row').first().locator('.badge').innerText()).toContain('Regression');

    // Outcome filter: only the 4 regressions stay visible.
    await page.selectOption('#f-outcome', 'regression');
    await expect.poll(() => visibleRows(page).count()).toBe(4);
    for (const badge of await visibleRows(page).locator('.badge').allInnerTexts()) expect(badge).toContain('Regression');
    await expect.poll(() => page.locator('#case-status').innerText()).toBe('Showing 4 of 20 cases');

    // Details are built only on expand, and show a word diff.
    await expect.poll(() => page.locator('tr.detail').count()).toBe(0);
    const row = page.locator('tr.case-row', { hasText: 'cheap-regression-4' });
    await row.locator('button.expand').click();
    await expect.poll(() => row.locator('button.expand').getAttribute('aria-expanded')).toBe('true');
    const detail = page.locator('#detail-2');
    await expect.poll(() => detail.isVisible()).toBe(true);
    expect(await detail.locator('ins').count()).toBeGreaterThan(0);
    expect(await detail.locator('del').count()).toBeGreaterThan(0);
    expect(await detail.innerText()).toContain('misses the key fact'); // grader explanation
    expect(await detail.innerText()).toContain('Refunds are possible within 30 days.'); // golden
    await row.locator('button.expand').click();
    await expect.poll(() => detail.isVisible()).toBe(false);

    // The errored call is shown as an error, not as an empty output.
    await page.locator('tr.case-row', { hasText: 'cheap-regression-3' }).locator('button.expand').click();
    expect(await page.locator('#detail-1').innerText()).toContain('rate_limit: HTTP 429 after 3 attempts');

    // Text search combines with the other filters.
    await page.selectOption('#f-outcome', '');
    await page.fill('#f-search', 'cheap-improvement');
    await expect.poll(() => visibleRows(page).count()).toBe(1);
    await page.fill('#f-search', 'exchange the item'); // in candidate outputs
    await expect.poll(() => visibleRows(page).count()).toBe(4);
    await page.selectOption('#f-tier', 'mid');
    await expect.poll(() => visibleRows(page).count()).toBe(2);
    await page.click('#f-reset');
    await expect.poll(() => visibleRows(page).count()).toBe(20);

    // Injected markup stays text.
    await page.locator('tr.case-row', { hasText: 'cheap-regression-2' }).locator('button.expand').click();
    const xssDetail = page.locator('#detail-0');
    expect(await xssDetail.locator('.side').nth(1).locator('pre').innerText()).toContain(XSS);
    expect(await xssDetail.locator('.msgs').innerText()).toContain(XSS);
    expect(await page.locator('tr.case-row', { hasText: 'cheap-regression-2' }).locator('.preview').innerText()).toContain('<img src=x');
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();

    // Run vs run links jump to the case.
    await page.click('a.case-link[data-case="cheap-improvement-5"]');
    await expect.poll(() => page.locator('tr.case-row', { hasText: 'cheap-improvement-5' }).locator('button.expand').getAttribute('aria-expanded')).toBe('true');

    expect(network).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('opens and filters a 5,000-case report', async () => {
    const { page, network, problems } = await open(largeFile);
    await expect.poll(() => page.locator('tr.case-row').count()).toBe(5000);
    await page.selectOption('#f-outcome', 'regression');
    await expect.poll(() => page.locator('#case-status').innerText()).toBe('Showing 1000 of 5000 cases');
    // Search within the regressions (case-04991 is one: the plan repeats every 10 cases).
    await page.fill('#f-search', 'case-04991');
    await expect.poll(() => visibleRows(page).count()).toBe(1);
    await page.fill('#f-search', 'case-04999');
    await expect.poll(() => visibleRows(page).count()).toBe(0);
    await page.fill('#f-search', 'case-04991');
    await expect.poll(() => visibleRows(page).count()).toBe(1);
    await visibleRows(page).locator('button.expand').click();
    await expect.poll(() => page.locator('tr.detail:visible').count()).toBe(1);
    expect(network).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });
});
