/**
 * Files evalroute reads from its own package at run time: templates, the price table, `init`'s assets,
 * package.json. They are found from this module, which sits one folder below the code root in every
 * layout — src/core/ (tests), dist/core/ (compiled) and dist/bundle/ (the CLI's single bundle) — so
 * one relative URL works in each, whichever module asks.
 */

/** A file beside the code, by its path under src/ (or dist/): `codeFile('report/templates/')`. */
export const codeFile = (path: string): URL => new URL(`../${path}`, import.meta.url);

/** A file at the package root: `packageFile('package.json')`. */
export const packageFile = (path: string): URL => new URL(`../../${path}`, import.meta.url);
