/**
 * The shell shared by the stand-alone pages (audit, routing curve): the run report's look and CSS, but
 * no script at all, so the CSP can forbid every script and every network fetch outright.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type HandlebarsNs from 'handlebars';
import { handlebars } from '../core/handlebars.js';
import { codeFile } from '../core/package-files.js';

const TEMPLATE_DIR = codeFile('report/templates/');
const BODIES = { audit: 'audit.hbs', curve: 'curve.hbs' } as const;
export type PageBody = keyof typeof BODIES;

export interface PageView {
  /** Small caps line above the title, e.g. "evalroute · production log audit". */
  brand: string;
  title: string;
  /** Status box at the right of the header; absent = none. */
  status?: { cls: 'pass' | 'fail' | 'warn'; icon: string; label: string; detail: string };
  /** Section links under the header. */
  toc: { id: string; label: string }[];
  footer: string;
}

let layout: HandlebarsNs.TemplateDelegate | undefined;

/** A file of report/templates/, wherever the code runs from (src, dist or the CLI bundle). */
export function readTemplate(name: string): string {
  return readFileSync(fileURLToPath(new URL(name, TEMPLATE_DIR)), 'utf8');
}

/** Handlebars is only needed when a page is written, so it is loaded then. */
function compiled(): HandlebarsNs.TemplateDelegate {
  if (layout) return layout;
  const hbs = handlebars().create();
  hbs.registerPartial('styles', readTemplate('styles.css'));
  hbs.registerPartial('warnings', readTemplate('warnings.hbs'));
  for (const [name, file] of Object.entries(BODIES)) hbs.registerPartial(name, readTemplate(file));
  layout = hbs.compile(readTemplate('page.hbs'), { strict: false });
  return layout;
}

/** Renders `body` (a partial) inside the shared page; every `{{…}}` in the templates is HTML-escaped. */
export function renderPage(body: PageBody, page: PageView, view: object): string {
  return compiled()({ ...view, page, body });
}
