/**
 * The one way evalroute loads Handlebars (prompts, judge templates, HTML reports): its single-file build,
 * the same library as its `lib/` entry, which loads some forty files (~25 ms, paid by every run, a cached
 * rerun included) to offer only require() hooks evalroute never uses. Loaded on first use, so a command
 * that renders nothing never pays for it, and once, so a run that renders prompts, judge templates and a
 * report holds one copy. Handlebars is CommonJS: `require` keeps the callers synchronous.
 */
import { createRequire } from 'node:module';
import type HandlebarsNs from 'handlebars';

let library: typeof HandlebarsNs | undefined;

/** The Handlebars library; callers make their own environment with `.create()`. */
export function handlebars(): typeof HandlebarsNs {
  library ??= createRequire(import.meta.url)('handlebars/dist/handlebars.js') as typeof HandlebarsNs;
  return library;
}
