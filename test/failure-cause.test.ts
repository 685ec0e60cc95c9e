/**
 * When every call fails because of the setup (here: an OpenAI-compatible base URL without its /v1, the
 * mistake a new user makes first), the output leads with the cause, the URL that was called (no
 * credentials) and the likely fix — before, and instead of, a verdict table that would read "delta 0.0
 * pts within the margin".
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactUrl } from '../src/core/redact.js';
import type { RunSummary } from '../src/core/types.js';
import { failureCause, likelyFix } from '../src/report/failure-cause.js';
import { escapeMarkdown } from '../src/report/markdown.js';
import { BASE_VS_HEAD_NOT_COMPARED } from '../src/report/verdict-text.js';
import { CHROMIUM_PATH, hasChromium, launchChromium } from './support/chromium.js';
import { ensureCliBuilt, runCli, type CliResult } from './support/cli.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { createProject, type TestProject } from './support/project.js';

if (!hasChromium) {
  console.warn(
    `\n${'!'.repeat(78)}\n!! failure-cause.test.ts: the HTML report's failure section was NOT checked in a real browser\n` +
      `!! (${CHROMIUM_PATH} not found). Install it: apt-get install -y chromium\n${'!'.repeat(78)}\n`,
  );
}

let server: MockLlmServer;
let project: TestProject;
let result: CliResult;
let gated: CliResult;

beforeAll(async () => {
  ensureCliBuilt();
  server = await startMockLlmServer();
  project = createProject(server, { cases: 6 });
  // The server serves /v1/chat/completions; the config forgets the /v1.
  writeFileSync(project.configFile, readFileSync(project.configFile, 'utf8').replace(`baseURL: ${server.openaiBaseURL},`, `baseURL: ${server.url},`));
  result = await runCli(['run', project.suiteDir, '--markdown', 'gate.md', '--report', 'report.html'], { cwd: project.dir, env: project.env });
  const gateArgs = ['--routing', project.routingFile, '--base-routing', project.routingFile, '--markdown', 'gate-pr.md', '--report', 'gate.html'];
  gated = await runCli(['gate', project.suiteDir, ...gateArgs], { cwd: project.dir, env: project.env });
}, 120_000);
afterAll(() => server?.close());

/** What a reader must see first in every output: the headline, the URL tried and the fix. */
const url = () => `${server.url}/chat/completions`;
const HEADLINE = 'Every call to the baseline model big failed';

describe('every call fails: a base URL missing /v1 against the mock server', () => {
  it('leads with the cause, the URL tried and the fix, and prints no verdict table', () => {
    const out = result.stdout;
    expect(result.status, `${out}\n${result.stderr}`).toBe(3);
    const lead = out.indexOf('Every call to the baseline model big failed (6 of 6; 6 of 9 calls in all): no tier can be compared with it, so there is no verdict.');
    expect(lead, out).toBeGreaterThan(-1);
    expect(out).toContain(`URL tried: ${url()}`);
    expect(out).toContain(`likely fix: does the base URL end in /v1?`);
    expect(out).toContain(`baseURL: ${server.url}/v1)`);
    expect(out).toMatch(/✘ big: 6 calls — not found .*HTTP 404/);
    // No verdict table and no statistics about errors.
    expect(out).not.toMatch(/within the|pass rate|95% CI|✔ PASS/);
    // The cause comes before anything else but the run line, and the run still says it is incomplete.
    expect(lead).toBeLessThan(out.indexOf('model  calls'));
    expect(out).toContain('RUN INCOMPLETE');
    // No OpenAI-format call reached the server's /v1 route; the Anthropic-format ones (right URL) did.
    expect(server.requests.filter((e) => e.api === 'openai')).toHaveLength(0);
    expect(server.requests.filter((e) => e.api === 'anthropic').length).toBeGreaterThan(0);
  });

  it('the Markdown (PR comment) starts with the same cause and URL, and shows no verdict table either', () => {
    const md = readFileSync(join(project.dir, 'gate.md'), 'utf8');
    const caution = md.indexOf('[!CAUTION]');
    expect(caution).toBeGreaterThan(-1);
    expect(caution).toBeLessThan(md.indexOf('Suite **arith**'));
    expect(md).toContain(`URL tried: \`${url()}\``);
    expect(md).toContain('does the base URL end in /v1?');
    expect(md).not.toMatch(/\| tier \||±0\.0 pts|NOT DECIDED/);
    // What the calls cost stays: it shows which model errored.
    expect(md).toContain('| big | 6 | 6 |');
  });

  it('the HTML report opens on the cause, before the tier cards', () => {
    const html = readFileSync(join(project.dir, 'report.html'), 'utf8');
    const failure = html.indexOf('<section id="failure"');
    expect(failure).toBeGreaterThan(-1);
    expect(failure).toBeLessThan(html.indexOf('<section id="tiers"'));
    expect(html).toContain(`URL tried: <code>${url()}</code>`);
    expect(html).toContain(`${HEADLINE} (6 of 6; 6 of 9 calls in all)`);
    expect(html).toContain('Likely fix: does the base URL end in /v1?');
  });
});

describe('every call fails under evalroute gate', () => {
  it('the console leads with the cause, and compares no base with a head that has no verdict', () => {
    const out = gated.stdout;
    expect(gated.status, `${out}\n${gated.stderr}`).toBe(3);
    const lead = out.indexOf(HEADLINE);
    expect(lead, out).toBeGreaterThan(-1);
    expect(out).toContain(`URL tried: ${url()}`);
    expect(lead).toBeLessThan(out.indexOf('model  calls'));
    expect(out.indexOf('model  calls')).toBeLessThan(out.indexOf(BASE_VS_HEAD_NOT_COMPARED));
    expect(out).not.toMatch(/pass rate \(routed\)|within the|✔ PASS/);
  });

  it('the PR comment leads with the cause, and says base and head were not compared', () => {
    const md = readFileSync(join(project.dir, 'gate-pr.md'), 'utf8');
    expect(md.indexOf('[!CAUTION]')).toBeGreaterThan(-1);
    expect(md.indexOf('[!CAUTION]')).toBeLessThan(md.indexOf(escapeMarkdown(BASE_VS_HEAD_NOT_COMPARED)));
    expect(md).toContain(`URL tried: \`${url()}\``);
    expect(md).not.toMatch(/\| tier \||pass rate \(routed\)/);
  });

  it.skipIf(!hasChromium)('the HTML report shows the cause first in a real browser', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(pathToFileURL(join(project.dir, 'gate.html')).href);
      await page.waitForSelector('body[data-ready="true"]');
      const failure = page.locator('#failure');
      expect(await failure.isVisible()).toBe(true);
      expect(await failure.getAttribute('role')).toBe('alert');
      const text = await failure.innerText();
      expect(text).toContain(HEADLINE);
      expect(text).toContain(`URL tried: ${url()}`);
      expect(text).toContain('Likely fix: does the base URL end in /v1?');
      // The first section of the page, and on screen without scrolling, above the tier cards.
      expect(await page.locator('main > section').first().getAttribute('id')).toBe('failure');
      const box = (await failure.boundingBox())!;
      expect(box.y + box.height).toBeLessThanOrEqual(900);
      expect(box.y).toBeLessThan((await page.locator('#tiers').boundingBox())!.y);
      expect(await page.locator('nav.toc a').first().getAttribute('href')).toBe('#failure');
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

describe('failure cause rules', () => {
  const summary = (calls: number, errors: number): RunSummary => ({
    runId: 'r',
    suite: 's',
    status: 'incomplete',
    pass: false,
    tiers: [{ tier: 'cheap', model: 'small', baselineModel: 'big' }],
    models: [
      { model: 'big', calls: 10, errors: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 },
      { model: 'small', calls, errors, inputTokens: 0, outputTokens: 0, costUsd: 0 },
    ],
    errors: errors ? [{ kind: 'auth', model: 'small', count: errors, status: 401, example: 'auth (model "small", HTTP 401): bad key\n  → check the API key in SMALL_KEY' }] : [],
  } as unknown as RunSummary);

  it('leads from half the calls failing on, and leaves the table out only when nothing can be compared', () => {
    expect(failureCause(summary(30, 19))).toBeUndefined();
    const most = failureCause(summary(30, 21))!;
    expect([most.noVerdict, most.headline]).toEqual([false, '21 of 40 calls failed (52.5%): the verdicts below rest on errors. Fix the cause first.']);
    expect(most.causes[0]!.fix).toBe('check the API key in SMALL_KEY');
    expect(failureCause(summary(30, 30))!.noVerdict).toBe(false);
  });

  it('names the fix for the usual base URL mistakes', () => {
    expect(likelyFix({ kind: 'not_found', status: 404, url: 'https://gw.example/chat/completions' })).toContain('baseURL: https://gw.example/v1');
    expect(likelyFix({ kind: 'not_found', status: 404, url: 'https://gw.example/v1/v1/messages' })).toContain('drop the trailing /v1 (baseURL: https://gw.example)');
    expect(likelyFix({ kind: 'not_found', status: 404, url: 'https://gw.example/v1/chat/completions' })).toContain('check the base URL\'s path and the model id');
    expect(likelyFix({ kind: 'connection', url: 'http://127.0.0.1:9/v1/chat/completions', example: 'connection: connect ECONNREFUSED 127.0.0.1:9' })).toContain('nothing answered at http://127.0.0.1:9');
  });

  it('URLs shown lose their credentials', () => {
    const shown = redactUrl('https://bob:hunter2secret@gw.example/v1/chat/completions?api-key=abcdef123456&api-version=2024');
    expect(shown).toBe('https://gw.example/v1/chat/completions?api-key=***&api-version=2024');
  });
});
