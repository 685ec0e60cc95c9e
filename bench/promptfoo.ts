/**
 * promptfoo as the peer of the side-by-side benchmark (`npm run bench -- --peer promptfoo`). It is
 * installed only on request, into a git-ignored cache folder, never by default and never into the
 * project's own dependencies. Its config asks exactly what the evalroute project asks: the same
 * system and user prompt, the same params, the same two models on the same mock, one `equals` check
 * per answer against the golden.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MockUrls } from './project.js';

/**
 * The newest promptfoo that still runs on Node 20: 0.121.20 declares `^20.20.0 || >=22.22.0`;
 * 0.123.x requires Node >= 22.22. It is also the version the issue measured.
 */
export const PROMPTFOO_VERSION = '0.121.20';

export interface PeerInstall {
  /** The CLI entry to run with `node`, or undefined when promptfoo could not be installed here. */
  entry?: string;
  /** What happened, for the results page. */
  note: string;
}

/** Installs promptfoo@PROMPTFOO_VERSION into `cacheDir` unless it is already there. */
export function installPromptfoo(cacheDir: string): PeerInstall {
  const pkgDir = join(cacheDir, 'node_modules/promptfoo');
  const entry = join(pkgDir, 'dist/src/main.js');
  if (existsSync(entry)) return { entry, note: `promptfoo ${PROMPTFOO_VERSION} from ${cacheDir}` };
  const engines = spawnSync('npm', ['view', `promptfoo@${PROMPTFOO_VERSION}`, 'engines.node'], { encoding: 'utf8' });
  if (engines.status !== 0) return { note: `promptfoo not installed: \`npm view promptfoo@${PROMPTFOO_VERSION}\` failed (${engines.stderr.trim().split('\n')[0]})` };
  mkdirSync(cacheDir, { recursive: true });
  if (!existsSync(join(cacheDir, 'package.json'))) writeFileSync(join(cacheDir, 'package.json'), '{ "name": "evalroute-bench-peers", "private": true }\n');
  const install = spawnSync('npm', ['install', `promptfoo@${PROMPTFOO_VERSION}`, '--no-audit', '--no-fund', '--loglevel=error'], { cwd: cacheDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (install.status !== 0 || !existsSync(entry)) {
    return { note: `promptfoo ${PROMPTFOO_VERSION} (engines ${engines.stdout.trim()}) could not be installed here: ${install.stderr.trim().split('\n').slice(-3).join(' ')}` };
  }
  return { entry, note: `promptfoo ${PROMPTFOO_VERSION} (engines ${engines.stdout.trim()}) installed into ${cacheDir}` };
}

/** Writes promptfooconfig.yaml and its tests for the arithmetic suite: `cases` cases × 2 models. */
export function writePromptfooProject(dir: string, mock: MockUrls, cases: number, apiKey: string): string {
  mkdirSync(dir, { recursive: true });
  const tests: string[] = [];
  for (let i = 0; i < cases; i++) tests.push(`  - vars: { a: ${i}, b: 7 }\n    assert: [{ type: equals, value: "${i + 7}" }]`);
  const config = join(dir, 'promptfooconfig.yaml');
  writeFileSync(
    config,
    `description: evalroute bench peer
prompts:
  - id: arith
    raw: '[{"role": "system", "content": "Answer with the number only."}, {"role": "user", "content": "What is {{a}} + {{b}}?"}]'
providers:
  - id: openai:chat:big-1
    config: { apiBaseUrl: "${mock.openaiBaseURL}", apiKey: "${apiKey}", temperature: 0, max_tokens: 16 }
  - id: anthropic:messages:mid-1
    config: { apiBaseUrl: "${mock.anthropicBaseURL}", apiKey: "${apiKey}", temperature: 0, max_tokens: 16 }
tests:
${tests.join('\n')}
`,
  );
  return config;
}

/** Environment for every promptfoo run: its state, cache and telemetry kept inside `dir`. */
export const promptfooEnv = (dir: string): Record<string, string> => ({
  PROMPTFOO_CONFIG_DIR: join(dir, 'state'),
  PROMPTFOO_CACHE_PATH: join(dir, 'cache'),
  PROMPTFOO_DISABLE_TELEMETRY: '1',
  PROMPTFOO_DISABLE_UPDATE: '1',
  PROMPTFOO_DISABLE_SHARING: '1',
  PROMPTFOO_DISABLE_REDTEAM_REMOTE_GENERATION: '1',
  IS_TESTING: '',
});
