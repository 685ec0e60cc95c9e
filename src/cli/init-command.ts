/**
 * `evalroute init`: scaffolds a working project — config, routing file, an example suite with goldens,
 * .gitignore entries and the routing-gate workflow — so the first gate runs in minutes. Never overwrites
 * a file without --force; asks nothing unless stdin is a TTY.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { UsageError } from '../core/errors.js';
import { apiKeyEnvOf } from '../providers/shared.js';

export interface InitFlags {
  force?: boolean;
  provider: string;
  baseUrl?: string;
  apiKeyEnv?: string;
  baselineModel: string;
  cheapModel: string;
  yes?: boolean;
}

const assets = new URL('./init-assets/', import.meta.url);
const packageRoot = new URL('../../', import.meta.url);
const schemaRef = (name: string, from: string) =>
  `# yaml-language-server: $schema=${relative(from, 'node_modules/evalroute/schemas') || '.'}/${name}.schema.json`;

export async function initCommand(dirArg: string | undefined, flags: InitFlags): Promise<number> {
  const dir = resolve(dirArg ?? '.');
  const answers = { ...flags };
  if (process.stdin.isTTY && !flags.yes) Object.assign(answers, await ask(flags));
  const { provider, baselineModel, cheapModel } = answers;
  if (!['openai', 'anthropic'].includes(provider)) throw new UsageError(`--provider must be openai or anthropic, got "${provider}"`);

  const keyEnv = answers.apiKeyEnv ?? apiKeyEnvOf({ provider })!;
  const connection = [
    `provider: ${provider}`,
    ...(answers.baseUrl ? [`baseURL: ${answers.baseUrl}`] : []),
    ...(answers.apiKeyEnv ? [`apiKeyEnv: ${answers.apiKeyEnv}`] : []),
  ].join(', ');
  const files: Record<string, string> = {
    'evalroute.config.yaml': `${schemaRef('evalroute.config', '.')}
# Models evalroute may call. Keys are never written here: each provider reads its key from the
# environment (${keyEnv}). Prices: USD per 1M tokens — fill them in to see savings.
models:
  frontier: { ${connection}, model: ${baselineModel}, params: { temperature: 0 }, concurrency: 8 }
  cheap:    { ${connection}, model: ${cheapModel}, params: { temperature: 0 }, concurrency: 8 }
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
  const workflow = new URL('examples/github/routing-gate.yml', packageRoot);
  if (existsSync(workflow)) files['.github/workflows/routing-gate.yml'] = readFileSync(workflow, 'utf8');

  const clashes = Object.keys(files).filter((f) => existsSync(join(dir, f)));
  if (clashes.length && !flags.force) {
    throw new UsageError(`${dir}: these files already exist: ${clashes.join(', ')}\n  → move them away or rerun with --force to overwrite`);
  }
  for (const [file, content] of Object.entries(files)) {
    const path = join(dir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    process.stdout.write(`  created ${file}\n`);
  }
  addGitignoreEntries(join(dir, '.gitignore'), ['.evalroute/', 'reports/']);
  process.stdout.write(
    `\nNext: export ${keyEnv}=… and run\n  npx evalroute run suites/support-intents\n`,
  );
  return 0;
}

function addGitignoreEntries(file: string, entries: string[]): void {
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const lines = new Set(existing.split(/\r?\n/).map((l) => l.trim()));
  const missing = entries.filter((e) => !lines.has(e));
  if (!missing.length) return;
  appendFileSync(file, `${existing && !existing.endsWith('\n') ? '\n' : ''}# evalroute results and reports\n${missing.join('\n')}\n`);
  process.stdout.write(`  updated .gitignore (${missing.join(', ')})\n`);
}

async function ask(flags: InitFlags): Promise<Partial<InitFlags>> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const q = async (label: string, dflt: string) => (await rl.question(`${label} [${dflt}]: `)).trim() || dflt;
    return {
      provider: await q('Provider (openai or anthropic; openai also covers compatible gateways)', flags.provider),
      baselineModel: await q('Frontier baseline model id', flags.baselineModel),
      cheapModel: await q('Cheap model id to route to', flags.cheapModel),
    };
  } finally {
    rl.close();
  }
}
