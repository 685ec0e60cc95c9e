/**
 * `evalroute init`: scaffolds a working project — config, routing file, an example suite with goldens,
 * .gitignore entries and the routing-gate workflow — so the first gate runs in minutes. Never overwrites
 * a file without --force; asks nothing unless stdin is a TTY.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { UsageError } from '../core/errors.js';
import { lookupPrice } from '../config/prices.js';
import { apiKeyEnvOf } from '../providers/shared.js';
import { codeFile, packageFile } from '../core/package-files.js';

export interface InitFlags {
  force?: boolean;
  provider: string;
  baseUrl?: string;
  apiKeyEnv?: string;
  baselineModel: string;
  cheapModel: string;
  yes?: boolean;
}

const assets = codeFile('cli/init-assets/');
const schemaRef = (name: string, from: string) =>
  `# yaml-language-server: $schema=${relative(from, 'node_modules/evalroute/schemas') || '.'}/${name}.schema.json`;

export async function initCommand(dirArg: string | undefined, flags: InitFlags): Promise<number> {
  const dir = resolve(dirArg ?? '.');
  const answers = { ...flags };
  if (process.stdin.isTTY && !flags.yes) Object.assign(answers, await askOnTerminal(flags));
  const { provider, baselineModel, cheapModel } = answers;
  if (!['openai', 'anthropic'].includes(provider)) throw new UsageError(`--provider must be openai or anthropic, got "${provider}"`);
  for (const [flag, id] of [['--baseline-model', baselineModel], ['--cheap-model', cheapModel]] as const) {
    const problem = modelIdProblem(id);
    if (problem) throw new UsageError(`${flag} "${id}": ${problem}`);
  }
  if (answers.baseUrl !== undefined) {
    const problem = baseUrlProblem(answers.baseUrl);
    if (problem) throw new UsageError(`--base-url "${answers.baseUrl}": ${problem}`);
  }
  if (answers.apiKeyEnv !== undefined && !ENV_NAME.test(answers.apiKeyEnv)) {
    throw new UsageError(`--api-key-env "${answers.apiKeyEnv}" is not an environment variable name\n  → give the variable's name (e.g. GATEWAY_API_KEY), never the key itself`);
  }

  const keyEnv = answers.apiKeyEnv ?? apiKeyEnvOf({ provider })!;
  const connection = [
    `provider: ${provider}`,
    ...(answers.baseUrl ? [`baseURL: ${answers.baseUrl}`] : []),
    // The provider's own variable needs no mention; any other is written so the config says where the key is.
    ...(keyEnv !== apiKeyEnvOf({ provider }) ? [`apiKeyEnv: ${keyEnv}`] : []),
  ].join(', ');
  const modelLine = (key: string, id: string) => {
    const priced = lookupPrice(id);
    const base = `${key}: { ${connection}, model: ${id}, params: { temperature: 0 }, concurrency: 8`;
    if (!priced) {
      return `  # "${id}" is not in the bundled price table: add price: { input: …, output: … } (USD per 1M tokens) to see savings\n  ${base} }`;
    }
    const { entry } = priced;
    return `  # list price $${entry.input} / $${entry.output} per 1M tokens as of ${entry.asOf} (${entry.source}); override if you pay otherwise\n  ${base}, price: { table: ${priced.name} } }`;
  };
  const files: Record<string, string> = {
    'evalroute.config.yaml': `${schemaRef('evalroute.config', '.')}
# Models evalroute may call. Keys are never written here: each provider reads its key from the
# environment (${keyEnv}). Prices are USD per 1M tokens; \`evalroute models\` shows them with their date.
models:
${modelLine('frontier', baselineModel)}
${modelLine('cheap', cheapModel)}
routing: routing.yaml
`,
    'routing.yaml': `${schemaRef('routing', '.')}
# The file routing-rule pull requests change. evalroute gates every tier against the baseline.
baseline: frontier
tiers:
  # The example suite has 21 cases: too few to show a 5-point margin, so the tier is INCONCLUSIVE and only
  # warns. Grow the suite to what \`evalroute plan\` asks for, then delete onInconclusive to block on it (exit 4).
  cheap:    { model: cheap, gate: { minPassRate: 0.8, maxRegression: 0.05, onInconclusive: warn } }
  frontier: { model: frontier }
rules:                      # first match wins; the last rule is the default
  - { name: intent-classification, when: { task: classification }, tier: cheap }
  - { tier: frontier }
`,
    'suites/support-intents/suite.yaml': `${schemaRef('suite', 'suites/support-intents')}
name: support-intents
description: Customer-message intent classification (BANKING77 sample, CC BY 4.0 — see SOURCE.md)
cases: cases.jsonl
goldens: ../../goldens/support-intents.jsonl
prompt:
  system: >-
    You route customer messages for a bank. Reply with exactly one intent label from this list and
    nothing else: card_arrival, exchange_rate, lost_or_stolen_card, pending_transfer,
    refund_not_showing_up, top_up_failed, change_pin, cash_withdrawal_charge.
  user: "{{message}}"
params: { max_tokens: 16 }
graders:
  - { type: exact, normalize: [trim, case, punctuation] }
`,
    'suites/support-intents/cases.jsonl': readFileSync(new URL('cases.jsonl', assets), 'utf8'),
    'suites/support-intents/SOURCE.md': readFileSync(new URL('SOURCE.md', assets), 'utf8'),
    'goldens/support-intents.jsonl': readFileSync(new URL('goldens.jsonl', assets), 'utf8'),
  };
  const workflow = packageFile('examples/github/routing-gate.yml');
  if (existsSync(workflow)) files['.github/workflows/routing-gate.yml'] = workflowForKey(readFileSync(workflow, 'utf8'), keyEnv);

  const clashes = Object.keys(files).filter((f) => existsSync(join(dir, f)));
  if (clashes.length && !flags.force) {
    throw new UsageError(`${dir}: these files already exist: ${clashes.join(', ')}\n  → move them away or rerun with --force to overwrite`);
  }
  for (const [file, content] of Object.entries(files)) {
    const path = join(dir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    process.stdout.write(`  ${clashes.includes(file) ? 'overwrote' : 'created'} ${file}\n`);
  }
  addGitignoreEntries(join(dir, '.gitignore'), ['.evalroute/', 'reports/']);
  process.stdout.write(
    `\nNext: export ${keyEnv}=… and run\n  npx evalroute run suites/support-intents\n` +
      `In CI: add ${keyEnv} as a repository secret; .github/workflows/routing-gate.yml passes it to the gate.\n`,
  );
  return 0;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Why `id` cannot be a model id (a URL or a key pasted into the wrong prompt), or undefined. */
export function modelIdProblem(id: string): string | undefined {
  if (!id.trim()) return 'a model id is required';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(id)) return 'this is a URL, not a model id — give the base URL with --base-url and the model id (e.g. gpt-4.1) here';
  if (/\s/.test(id)) return 'a model id has no spaces';
  return undefined;
}

/** Why `url` cannot be an API base URL, or undefined. */
export function baseUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a URL — give the endpoint\'s base URL, e.g. https://gateway.example.com/v1';
  }
  if (!['http:', 'https:'].includes(parsed.protocol)) return `expected an http(s) URL, got ${parsed.protocol}`;
  return undefined;
}

/**
 * The shipped workflow with its key mapping made to match the config: the Gate step gets exactly `keyEnv`
 * from the repository secret of the same name, and falls back to --offline when that secret is empty.
 */
export function workflowForKey(workflow: string, keyEnv: string): string {
  const envLines = /^(\s*)OPENAI_API_KEY: \$\{\{ secrets\.OPENAI_API_KEY \}\}\n\s*ANTHROPIC_API_KEY: \$\{\{ secrets\.ANTHROPIC_API_KEY \}\}$/gm;
  const keyCheck = '"${OPENAI_API_KEY:-}${ANTHROPIC_API_KEY:-}"';
  // The shipped workflow and this function change together; a test keeps them in step.
  if (!workflow.match(envLines) || !workflow.includes(keyCheck)) throw new Error('examples/github/routing-gate.yml no longer has the key mapping init rewrites');
  return workflow
    .replace(envLines, (_m, indent: string) => `${indent}${keyEnv}: \${{ secrets.${keyEnv} }}`)
    .replaceAll(keyCheck, `"\${${keyEnv}:-}"`);
}

function addGitignoreEntries(file: string, entries: string[]): void {
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const lines = new Set(existing.split(/\r?\n/).map((l) => l.trim()));
  const missing = entries.filter((e) => !lines.has(e));
  if (!missing.length) return;
  appendFileSync(file, `${existing && !existing.endsWith('\n') ? '\n' : ''}# evalroute results and reports\n${missing.join('\n')}\n`);
  process.stdout.write(`  updated .gitignore (${missing.join(', ')})\n`);
}

/** Prompts for what the flags would give; every answer is checked and asked again until it is usable. */
async function askOnTerminal(flags: InitFlags): Promise<Partial<InitFlags>> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await askAll(flags, (q) => rl.question(q), (line) => process.stderr.write(`${line}\n`));
  } finally {
    rl.close();
  }
}

export async function askAll(
  flags: InitFlags,
  question: (prompt: string) => Promise<string>,
  say: (line: string) => void,
): Promise<Partial<InitFlags>> {
  const q = async (label: string, dflt: string, problem: (answer: string) => string | undefined): Promise<string> => {
    for (;;) {
      const answer = (await question(`${label} [${dflt}]: `)).trim() || dflt;
      const why = problem(answer);
      if (!why) return answer;
      say(`  ${why}`);
    }
  };
  const provider = await q('Provider (openai or anthropic; openai also covers compatible gateways)', flags.provider, (a) =>
    ['openai', 'anthropic'].includes(a) ? undefined : 'answer openai or anthropic',
  );
  const noUrl = 'provider default';
  const baseUrl = await q('API base URL (Enter for the provider\'s own endpoint)', flags.baseUrl ?? noUrl, (a) => (a === noUrl ? undefined : baseUrlProblem(a)));
  const defaultKeyEnv = flags.apiKeyEnv ?? apiKeyEnvOf({ provider })!;
  const apiKeyEnv = await q('Environment variable that holds the API key (its name, not the key)', defaultKeyEnv, (a) =>
    ENV_NAME.test(a) ? undefined : 'give a variable name such as GATEWAY_API_KEY, not the key itself',
  );
  const baselineModel = await q('Frontier baseline model id', flags.baselineModel, modelIdProblem);
  const cheapModel = await q('Cheap model id to route to', flags.cheapModel, modelIdProblem);
  return {
    provider,
    ...(baseUrl !== noUrl ? { baseUrl } : {}),
    apiKeyEnv,
    baselineModel,
    cheapModel,
  };
}
