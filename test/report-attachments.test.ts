import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Attachment, AttachmentKind } from '../src/core/types.js';
import { renderHtmlReport, writeHtmlReport } from '../src/report/html.js';
import { buildReportData, THUMBNAIL_MAX_BYTES } from '../src/report/report-data.js';
import type { ReportInput } from '../src/report/report-data.js';
import { buildFixture, CHROMIUM_PATH, hasChromium, launchChromium } from './support/chromium.js';
import { png } from './support/png.js';


const RECEIPT = png(30, 20);
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
// Never decoded: over the inline limit, so it must show as a chip, not a thumbnail.
const HUGE = Buffer.concat([RECEIPT, Buffer.alloc(THUMBNAIL_MAX_BYTES)]);

function attachment(data: Buffer, name: string, kind: AttachmentKind, mediaType: string, size?: [number, number]): Attachment {
  const a: Attachment = { kind, mediaType, name, sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length, data };
  if (size) [a.width, a.height] = size;
  return a;
}

const CASE_ID = 'cheap-regression-4';
const RECEIPT_NAME = 'receipts/r1.png';
const PDF_NAME = 'invoices/march.pdf';
const HUGE_NAME = 'receipts/huge-scan.png';

/** The standard report fixture with one case's user message carrying a PNG, a PDF and an over-limit image. */
function fixture(): ReportInput {
  const input = buildFixture();
  const sc = input.cases.find((c) => c.caseId === CASE_ID)!;
  const user = sc.input![1]!;
  user.attachments = [
    attachment(RECEIPT, RECEIPT_NAME, 'image', 'image/png', [30, 20]),
    attachment(PDF, PDF_NAME, 'pdf', 'application/pdf'),
    attachment(HUGE, HUGE_NAME, 'image', 'image/png', [30, 20]),
  ];
  return input;
}

const dataBlock = (html: string): { cases: { id: string; in?: [string, string, Record<string, unknown>[]?][] }[] } => {
  const m = /<script type="application\/json" id="data">([\s\S]*?)<\/script>/.exec(html);
  if (!m) throw new Error('no data block in the report');
  return JSON.parse(m[1]!) as ReturnType<typeof dataBlock>;
};

describe('attachments in the HTML report (Node)', () => {
  const html = renderHtmlReport(buildReportData(fixture()));
  const data = dataBlock(html);

  it('embeds the small PNG as a data URL and the PDF and large image by name, type and size only', () => {
    const c = data.cases.find((x) => x.id === CASE_ID)!;
    const atts = c.in![1]![2]!;
    expect(atts).toEqual([
      { n: RECEIPT_NAME, k: 'image', mt: 'image/png', by: RECEIPT.length, w: 30, h: 20, u: `data:image/png;base64,${RECEIPT.toString('base64')}` },
      { n: PDF_NAME, k: 'pdf', mt: 'application/pdf', by: PDF.length },
      { n: HUGE_NAME, k: 'image', mt: 'image/png', by: HUGE.length, w: 30, h: 20 },
    ]);
    // The message text stays the message text; attachments are no longer folded into it.
    expect(c.in![1]![1]).not.toContain('[attached:');
    // Messages without attachments keep the short two-element form.
    expect(c.in![0]).toHaveLength(2);
    // The over-limit image's bytes are not in the file.
    expect(html.length).toBeLessThan(THUMBNAIL_MAX_BYTES);
  });

  it('has no <img> with a network source and a CSP that allows data: images and nothing more', () => {
    for (const m of html.matchAll(/<img\b[^>]*>/gi)) expect(m[0]).toMatch(/\ssrc="data:image\//);
    expect(html).not.toMatch(/\bsrc\s*=\s*["']?(https?:|\/\/)/i);
    // Handlebars entity-escapes the attribute (the script hash is quoted), as the browser will decode it.
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/
      .exec(html)![1]!.replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    const directives = csp.split(';').map((d) => d.trim());
    expect(directives).toContain('img-src data:');
    expect(directives.map((d) => d.split(' ')[0])).toEqual(['default-src', 'style-src', 'script-src', 'img-src', 'base-uri', 'form-action']);
    expect(directives[0]).toBe("default-src 'none'");
  });
});

if (!hasChromium) {
  console.warn(
    `\n${'!'.repeat(78)}\n!! report-attachments.test.ts browser part SKIPPED: ${CHROMIUM_PATH} not found.\n` +
      `!! Attachment thumbnails were NOT checked in a real browser. Install it: apt-get install -y chromium\n${'!'.repeat(78)}\n`,
  );
}

describe.skipIf(!hasChromium)('attachments in headless Chromium', () => {
  let browser: Browser;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'evalroute-attach-'));
    file = join(dir, 'report.html');
    writeHtmlReport(file, buildReportData(fixture()));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the PNG as a decoded thumbnail and the PDF and large image as chips, fetching nothing', async () => {
    const page = await browser.newPage({ viewport: { width: 1320, height: 1000 } });
    const network: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) network.push(r.url());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    await page.route('**/*', (route) => (/^(file|data):/.test(route.request().url()) ? route.continue() : route.abort()));
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('body[data-ready="true"]');

    const row = page.locator('tr.case-row', { has: page.locator('th', { hasText: CASE_ID }) });
    await row.locator('button.expand').click();
    const detail = page.locator('tr.detail:visible');
    await detail.scrollIntoViewIfNeeded();

    const img = detail.locator('.msg img');
    await expect.poll(() => img.count()).toBe(1);
    expect(await img.getAttribute('alt')).toBe(RECEIPT_NAME);
    expect(await img.getAttribute('loading')).toBe('lazy');
    expect(await img.getAttribute('src')).toBe(`data:image/png;base64,${RECEIPT.toString('base64')}`);
    // tsconfig has no DOM lib; the element is an HTMLImageElement in the page.
    type Img = { complete: boolean; naturalWidth: number };
    await expect.poll(() => img.evaluate((e) => ((e as unknown as Img).complete ? (e as unknown as Img).naturalWidth : 0))).toBe(30);
    const box = (await img.boundingBox())!;
    expect(box.width).toBeLessThanOrEqual(160);
    expect(box.height).toBeLessThanOrEqual(160);

    const chips = detail.locator('.att-chip');
    expect(await chips.count()).toBe(2);
    const pdfChip = await chips.nth(0).innerText();
    expect(pdfChip).toContain(PDF_NAME);
    expect(pdfChip).toContain('application/pdf');
    expect(pdfChip).toContain(`${PDF.length} B`);
    const hugeChip = await chips.nth(1).innerText();
    expect(hugeChip).toContain(HUGE_NAME);
    expect(hugeChip).toContain('too large to inline');

    // Attachment names are searchable like the rest of the input.
    await page.fill('#f-search', 'march.pdf');
    await expect.poll(() => page.locator('tr.case-row:visible').count()).toBe(1);

    expect(network).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });
});
