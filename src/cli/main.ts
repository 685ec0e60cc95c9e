/**
 * The `evalroute` command. The only module that reads argv and the environment and calls process.exit.
 * Heavy modules (SDKs, SQLite, Handlebars) are imported inside each action so `--help` and `--version`
 * start fast.
 */
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { EvalrouteError } from '../core/errors.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('evalroute')
  .description('Quality-regression gate for multi-model LLM routing')
  .version(pkg.version)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

program
  .command('run')
  .description('replay a suite against the baseline and the routed tier models, grade, store and gate')
  .argument('<suite-dir>', 'folder holding suite.yaml')
  .option('--config <file>', 'evalroute.config.yaml (default: in the suite folder, else the working folder)')
  .option('--routing <file>', 'routing file (default: the config\'s routing: key)')
  .option('--db <file>', 'results database (default: the config\'s store:, else .evalroute/evalroute.db)')
  .option('--json <file>', 'write the machine-readable result to this file ("-" for stdout)')
  .option('--report <file>', 'write the HTML diff report to this file')
  .addOption(new Option('--concurrency <n>', 'max calls in flight per model (overrides the config)').argParser(positiveInt))
  .option('--no-cache', 'do not read cached responses (fresh calls; results are still stored)')
  .option('--offline', 'use cached responses only and make no network call; misses are errors')
  .option('--resume [run-id]', 'continue an interrupted run (default: the latest run of this suite)')
  .addOption(new Option('--max-error-rate <rate>', 'above this fraction of errored calls the run is incomplete (exit 3)').argParser(fraction).default(0.02))
  .option('-q, --quiet', 'print only the verdict table')
  .action(async (suiteDir: string, opts: RunFlags) => {
    const { runCommand } = await import('./run-command.js');
    process.exitCode = await runCommand(suiteDir, opts);
  });

program
  .command('runs')
  .description('list stored runs, newest first')
  .option('--db <file>', 'results database', '.evalroute/evalroute.db')
  .addOption(new Option('--limit <n>', 'how many').argParser(positiveInt).default(20))
  .action(async (opts: { db: string; limit: number }) => {
    const { runsCommand } = await import('./history-commands.js');
    process.exitCode = runsCommand(opts);
  });

program
  .command('show')
  .description('print the verdict table of a stored run')
  .argument('<run-id>', 'run id, a unique prefix of one, or "latest"')
  .option('--db <file>', 'results database', '.evalroute/evalroute.db')
  .option('--json', 'print the stored JSON result instead of the table')
  .action(async (runId: string, opts: { db: string; json?: boolean }) => {
    const { showCommand } = await import('./history-commands.js');
    process.exitCode = showCommand(runId, opts);
  });

program
  .command('report')
  .description('write the HTML diff report of a stored run')
  .argument('<run-id>', 'run id, a unique prefix of one, or "latest"')
  .option('-o, --output <file>', 'output file (default: reports/<run-id>.html)')
  .option('--base-run <id>', 'compare case by case with an earlier run of the same suite')
  .option('--db <file>', 'results database', '.evalroute/evalroute.db')
  .action(async (runId: string, opts: { output?: string; baseRun?: string; db: string }) => {
    const { reportCommand } = await import('./history-commands.js');
    process.exitCode = await reportCommand(runId, opts);
  });

program
  .command('init')
  .description('scaffold evalroute.config.yaml, routing.yaml, an example suite with goldens and the CI workflow')
  .argument('[dir]', 'project folder', '.')
  .option('--force', 'overwrite existing files')
  .option('--provider <type>', 'openai (also any OpenAI-compatible gateway) or anthropic', 'openai')
  .option('--base-url <url>', 'API base URL for an OpenAI-compatible endpoint or a gateway')
  .option('--api-key-env <name>', 'environment variable that holds the API key')
  .option('--baseline-model <id>', 'frontier baseline model id', 'gpt-4.1')
  .option('--cheap-model <id>', 'cheap model id the rules route to', 'gpt-4.1-mini')
  .option('-y, --yes', 'ask nothing even on a terminal')
  .action(async (dir: string, opts: import('./init-command.js').InitFlags) => {
    const { initCommand } = await import('./init-command.js');
    process.exitCode = await initCommand(dir, opts);
  });

program
  .command('models')
  .description('list the resolved models: provider, base URL, key variable (never the key) and price')
  .option('--config <file>', 'evalroute.config.yaml (default: in the working folder)')
  .option('--json', 'print JSON')
  .action(async (opts: { config?: string; json?: boolean }) => {
    const { modelsCommand } = await import('./models-command.js');
    process.exitCode = modelsCommand(opts);
  });

export interface RunFlags {
  config?: string;
  routing?: string;
  db?: string;
  json?: string;
  report?: string;
  concurrency?: number;
  cache: boolean;
  offline?: boolean;
  resume?: string | true;
  maxErrorRate: number;
  quiet?: boolean;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CommanderError(2, 'evalroute.invalidArgument', `expected a positive integer, got "${value}"`);
  return n;
}

function fraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new CommanderError(2, 'evalroute.invalidArgument', `expected a fraction between 0 and 1, got "${value}"`);
  return n;
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = exitCodeFor(err);
}

function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    // --help and --version end with exit code 0; every other parse error is a usage error.
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof EvalrouteError) {
    process.stderr.write(`evalroute: ${err.message}\n`);
    return err.exitCode;
  }
  process.stderr.write(`evalroute: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 3;
}
