/**
 * Where every command that loads a suite finds its project: the suite folder, the config found from it
 * (or given), and the roots the files they name are confined to (`--allow-path`). One loader, so `run`,
 * `gate`, `simulate`, `suggest` and `judge-check` find the config and confine files the same way.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import type { EvalConfig, Suite } from '../core/types.js';
import { projectRoots, type ProjectRoots } from '../config/files.js';
import { findConfigFile, loadConfig, loadSuite } from '../config/load.js';
import { graderNeedsGolden, graderTypes } from '../graders/registry.js';

/** Where a command finds its project: the suite folder, its config, and the folders their files may come from. */
export interface ProjectLocation {
  suiteDir: string;
  config?: string;
  cwd?: string;
  allowPaths?: readonly string[];
}

/**
 * The flags that found a project and its store, as a command printed for the user must repeat them
 * (a resume, a fill, a batch collect): without them it loads another config or routing, or another
 * results file.
 */
export function projectFlags(p: { config?: string | undefined; routing?: string | undefined; db?: string | undefined; allowPaths?: readonly string[] | undefined }): string[] {
  return [
    ...(p.config ? ['--config', p.config] : []),
    ...(p.routing ? ['--routing', p.routing] : []),
    ...(p.db ? ['--db', p.db] : []),
    ...(p.allowPaths ?? []).flatMap((dir) => ['--allow-path', dir]),
  ];
}

/**
 * The config a suite is run with (its own `--config`, else found from the suite folder up), the suite
 * folder resolved, and the roots the files they name are confined to.
 */
export function loadProjectConfig(opts: ProjectLocation): { cwd: string; suiteDir: string; roots: ProjectRoots; config: EvalConfig } {
  const cwd = opts.cwd ?? process.cwd();
  const suiteDir = resolve(cwd, opts.suiteDir);
  // Checked before the config: a mistyped suite path would otherwise surface as a missing config file.
  if (!existsSync(suiteDir)) throw new UsageError(noSuiteFolderMessage(opts.suiteDir, suiteDir, cwd));
  const roots = projectRoots(cwd, opts.allowPaths);
  const config = loadConfig(findConfigFile(suiteDir, opts.config && resolve(cwd, opts.config), cwd), { cwd, roots: roots.withSuite(suiteDir) });
  return { cwd, suiteDir, roots, config };
}

/** The suite in `suiteDir`, its graders checked against the registered grader types. */
export function loadProjectSuite(suiteDir: string, roots: ProjectRoots): Suite {
  return loadSuite(suiteDir, { graderTypes: graderTypes(), graderNeedsGolden, roots });
}

function noSuiteFolderMessage(given: string, abs: string, cwd: string): string {
  const suitesDir = resolve(cwd, 'suites');
  const known = existsSync(suitesDir)
    ? readdirSync(suitesDir, { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join(suitesDir, d.name, 'suite.yaml'))).map((d) => `suites/${d.name}`)
    : [];
  return (
    `no suite folder ${given} (looked at ${abs})\n` +
    `  → pass the folder that holds suite.yaml${known.length ? `; suites here: ${known.join(', ')}` : ', e.g. suites/<name>'}`
  );
}
