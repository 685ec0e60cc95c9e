/**
 * The `evalroute` command. The only module that reads argv and the environment and calls process.exit.
 * Heavy modules (SDKs, SQLite, Handlebars) are imported inside each action so `--help` and `--version`
 * start fast.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { LIMITS } from '../config/limits.js';
import { EvalrouteError } from '../core/errors.js';
import { escapeControl } from '../core/control-chars.js';
import { redact } from '../core/redact.js';
import type { RepeatPolicy } from '../core/types.js';
import type { GateFlags } from './gate-command.js';
import type { PlanFlags } from './plan-command.js';
import type { InitFlags } from './init-command.js';
import type { JudgeCheckFlags } from './judge-check-command.js';
import type { MergeFlags } from './merge-command.js';
import type { SimulateFlags } from './simulate-command.js';
import type { SuggestFlags } from './suggest-command.js';
import { packageFile } from '../core/package-files.js';

// Polls are slow by nature (the first wait grows to 60 s); an hour is the most a first wait can mean.
const MAX_POLL_MS = 3_600_000;

const pkg = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string };

const program = new Command()
  .name('evalroute')
  .description('Quality-regression gate for multi-model LLM routing')
  .version(pkg.version)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

const runCommandSpec = program
  .command('run')
  .description('replay a suite against the baseline and the routed tier models, grade, store and gate')
  .argument('<suite-dir>', 'folder holding suite.yaml')
  .option('--config <file>', 'evalroute.config.yaml (default: in the suite folder, else the working folder)')
  .option('--routing <file>', 'routing file (default: the config\'s routing: key)')
  .option('--db <file>', 'results database (default: the config\'s store:, else .evalroute/evalroute.db)')
  .option('--json <file>', 'write the machine-readable result to this file ("-" for stdout)')
  .addOption(new Option('--repeat <n>', `sample each (case, model) n times (at most ${LIMITS.repeats}); flaky cases are reported`).argParser(intUpTo(LIMITS.repeats)))
  .addOption(new Option('--repeat-policy <policy>', 'how repeated samples enter the gate: every call counts (per-call), or one verdict per case').choices(['per-call', 'majority', 'pass@k', 'pass^k']).default('per-call'))
  .option('--shard <i/n>', `run only shard i of n (stable hash of the case id; n at most ${LIMITS.shards}); combine shard stores with evalroute merge`)
  .option('--sequential', 'decide in stages on growing random subsets of each tier and stop calling a tier once it is decided (fewer calls; see docs/statistics.md)')
  .addOption(new Option('--looks <k>', 'with --sequential: number of looks (default 5)').argParser(positiveInt))
  .addOption(new Option('--concurrency <n>', `max calls in flight per model (overrides the config; at most ${LIMITS.concurrency})`).argParser(intUpTo(LIMITS.concurrency)))
  .option('--no-cache', 'do not read cached responses (fresh calls; results are still stored)')
  .option('--offline', 'use cached responses only and make no network call; misses are errors')
  .option('--resume [run-id]', 'continue an interrupted run (default: the latest run of this suite)')
  .addOption(new Option('--max-retry-wait <seconds>', 'longest wait a rate-limited API\'s Retry-After may impose before a retry (longer requests are cut to this and printed)').argParser(retryWaitSeconds).default(60))
  .addOption(new Option('--deadline <duration>', 'longest the whole run may take, e.g. 45m, 2h, 90s (1 s to 7 days); every wait counts, and a retry that would wait past it stops the run at once: it ends interrupted (exit 3), --resume continues it').argParser(duration))
  .addOption(new Option('--max-cost <usd>', 'stop making calls before the run would spend more than this (USD); the run ends incomplete (exit 3) and --resume continues it').argParser(positiveAmount))
  .option('--through <url>', 'gateway in the loop: send every case through this running gateway (OpenAI-compatible base URL), gate the tier whose model served it, call the baseline directly')
  .option('--batch', 'send fresh calls through the providers\' Batch APIs (OpenAI, Anthropic): half price, answers within 24 h; failed items are called directly')
  .option('--no-wait', 'with --batch: submit the batches and exit (3) without a verdict; finish later with evalroute batch collect <run-id>')
  .addOption(new Option('--poll-interval <ms>', 'with --batch: first wait between batch status polls (grows to 60 s)').argParser(intUpTo(MAX_POLL_MS)).default(5000))
  .addOption(allowPathOption())
  .option('-v, --verbose', 'also print one line per failed call (case, model, kind, request id)')
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
  .action(async (dir: string, opts: InitFlags) => {
    const { initCommand } = await import('./init-command.js');
    process.exitCode = await initCommand(dir, opts);
  });

program
  .command('models')
  .description('list the resolved models: provider, base URL, key variable (never the key) and price')
  .option('--config <file>', 'evalroute.config.yaml (default: in the working folder)')
  .option('--json', 'print JSON')
  .addOption(allowPathOption())
  .action(async (opts: { config?: string; json?: boolean; allowPath?: string[] }) => {
    const { modelsCommand } = await import('./models-command.js');
    process.exitCode = modelsCommand(opts);
  });

program
  .command('simulate')
  .description('score routing files from stored results with no API calls: per-tier verdicts, quality and cost side by side')
  .argument('<suite-dir>', 'folder holding suite.yaml')
  .option('--routing <file>', 'routing file to score (repeat for several; default: the config\'s routing file)', (v: string, acc: string[] = []) => [...acc, v])
  .option('--config <file>', 'evalroute.config.yaml (default: in the suite folder, else the working folder)')
  .option('--db <file>', 'results database (default: the config\'s store:)')
  .option('--json <file>', 'write the machine-readable result to this file ("-" for stdout)')
  .option('--fill', 'first run each routing file with the normal cache, calling only the pairs not yet stored')
  .option('--offline', 'never call a model (the default for simulate; conflicts with --fill)')
  .option('--curve <strong,weak>', 'also trace the two-model routing curve (APGR, CPT, AIQ) from strong to weak')
  .option('--order-by <key>', 'curve order: input-length (default) or metadata.<key>')
  .option('--html <file>', 'with --curve: write a self-contained HTML page of the curve chart and its metrics ("-" for stdout)')
  .addOption(allowPathOption())
  .action(async (suiteDir: string, opts: SimulateFlags) => {
    const { simulateCommand } = await import('./simulate-command.js');
    process.exitCode = await simulateCommand(suiteDir, opts);
  });

const gateCommandSpec = program
  .command('gate')
  .description('gate a routing change: run the head rules, score the base rules from the store, show which cases moved tier')
  .argument('<suite-dir>', 'folder holding suite.yaml')
  .requiredOption('--routing <file>', 'head routing file (the change under review)')
  .requiredOption('--base-routing <file>', 'base routing file (before the change)')
  .option('--config <file>', 'evalroute.config.yaml (default: in the suite folder, else the working folder)')
  .option('--db <file>', 'results database (default: the config\'s store:)')
  .option('--json <file>', 'write the head\'s result plus base and moved to this file ("-" for stdout)')
  .option('--offline', 'use stored responses only and make no network call')
  .option('--through <url>', 'gateway in the loop for the head: send every case through this running gateway, gate the tier that served it')
  .addOption(new Option('--deadline <duration>', 'longest the whole gate may take (filling the base rules\' missing answers and the head run), e.g. 45m, 2h (1 s to 7 days); when it passes the gate stops (exit 3) and a rerun reuses what is stored').argParser(duration))
  .action(async (suiteDir: string, opts: GateFlags) => {
    const { gateCommand } = await import('./gate-command.js');
    process.exitCode = await gateCommand(suiteDir, opts);
  });

program
  .command('suggest')
  .description('propose the cheapest model per class of cases that still meets the bar, as a routing file to review')
  .argument('<suite-dir>', 'folder holding suite.yaml')
  .option('--models <a,b,c>', 'candidate model keys (default: every configured model)')
  .option('--by <key>', 'class of a case: task, tag (its first tag) or metadata.<key>', 'task')
  .addOption(new Option('--min-pass-rate <rate>', 'absolute pass-rate floor of a routed class').argParser(fraction))
  .addOption(new Option('--max-regression <drop>', 'largest tolerated drop vs the baseline (default 0.05)').argParser(fraction))
  .addOption(new Option('--min-cases <n>', 'smallest class that may leave the frontier').argParser(positiveInt).default(20))
  .option('--routing <file>', 'routing file whose baseline is the frontier (default: the config\'s)')
  .option('--config <file>', 'evalroute.config.yaml (default: in the suite folder, else the working folder)')
  .option('--db <file>', 'results database (default: the config\'s store:)')
  .option('-o, --output <file>', 'write the proposed routing file here (default: stdout)')
  .option('--json <file>', 'write the per-class analysis as JSON ("-" for stdout)')
  .option('--fill', 'first run every candidate model on every case (normal cache: only unstored pairs are called)')
  .addOption(new Option('--format <format>', 'routing file to write: evalroute routing.yaml, or a Portkey gateway config (needs --by metadata.<key>)').choices(['yaml', 'portkey']).default('yaml'))
  .addOption(new Option('--holdout <fraction>', 'keep this fraction of the cases out of the choice and gate the proposal on them (e.g. 0.5)').argParser(fraction))
  .addOption(new Option('--seed <n>', 'seed of the --holdout split (default 1)').argParser(nonNegativeInt))
  .addOption(new Option('--rule <rule>', 'gate rule a class must pass, written into the suggested tiers (default: the gate\'s, noninferiority)').choices(['noninferiority', 'point', 'significant']))
  .addOption(allowPathOption())
  .action(async (suiteDir: string, opts: SuggestFlags) => {
    const { suggestCommand } = await import('./suggest-command.js');
    process.exitCode = await suggestCommand(suiteDir, opts);
  });

program
  .command('plan')
  .description('cases per tier a suite needs for the gate to decide (paired non-inferiority sample size), before you build it')
  .addOption(new Option('--baseline-pass-rate <rate>', 'pass rate of the baseline on such cases').argParser(fraction).default(0.8))
  .addOption(new Option('--disagreement <rate>', 'share of cases where the tier model and the baseline disagree').argParser(fraction).default(0.15))
  .addOption(new Option('--margin <drop>', 'non-inferiority margin, as the routing file\'s maxRegression').argParser(fraction).default(0.05))
  .addOption(new Option('--tiers <n>', 'routed tiers that must all pass').argParser(positiveInt).default(1))
  .addOption(new Option('--power <p>', 'chance the whole gate passes when every tier is as good as planned').argParser(fraction).default(0.8))
  .addOption(new Option('--confidence <level>', 'confidence of the decision interval').argParser(fraction).default(0.95))
  .addOption(new Option('--expected-delta <d>', 'true tier − baseline difference to plan for (e.g. -0.01)').argParser(signedFraction).default(0))
  .option('--json', 'print JSON')
  .action(async (opts: PlanFlags) => {
    const { planCommand } = await import('./plan-command.js');
    process.exitCode = planCommand(opts);
  });

program
  .command('audit')
  .description('audit production request logs (JSONL, gzip ok): traffic, tokens and cost by model, use case and month; complexity; what a routing file would save')
  .argument('<logs...>', 'log files: OpenAI or Anthropic request/response pairs, {input|messages, output, model, usage, metadata} lines, LiteLLM spend-log rows or Portkey log exports')
  .option('--config <file>', 'evalroute.config.yaml for prices and models (default: in the working folder, if any)')
  .option('--routing <file>', 'routing file to project the traffic split and cost with (default: the config\'s routing:)')
  .option('--json <file>', 'write the audit as JSON ("-" for stdout)')
  .option('--html <file>', 'write the audit as a self-contained HTML page ("-" for stdout)')
  .addOption(new Option('--top <n>', 'show only the n largest models and use cases').argParser(positiveInt))
  .option('--budgets <routing>', "check each use case's month-to-date frontier tokens and spend against the routing file's budgets: (exit 1 over 100%)")
  .option('--as-of <date>', 'end of the month-to-date window for --budgets (ISO date or time, UTC; default now)')
  .addOption(allowPathOption())
  .action(async (logs: string[], opts: { config?: string; routing?: string; json?: string; html?: string; top?: number; budgets?: string; asOf?: string; allowPath?: string[] }) => {
    const { auditCommand } = await import('./audit-command.js');
    process.exitCode = await auditCommand(logs, opts);
  });

program
  .command('suite')
  .description('build suites from production logs')
  .command('sample')
  .description('sample a stratified, de-duplicated, PII-masked suite from logs, with the logged outputs as draft (unreviewed) goldens')
  .argument('<logs...>', 'log files (as for audit)')
  .requiredOption('-o, --output <dir>', 'suite folder to create, e.g. suites/support-sample (goldens go to ../../goldens/<name>.jsonl)')
  .addOption(new Option('--size <n>', 'number of cases').argParser(positiveInt).default(300))
  .option('--stratify <dims>', 'strata: useCase, complexity, length, model, format, task or any metadata key, comma-separated', 'useCase')
  .addOption(new Option('--seed <n>', 'sampling seed: the same seed and logs give the same cases').argParser((v: string) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected an integer seed, got "${v}"`);
    return n;
  }).default(1))
  .option('--redact <kinds>', 'PII to mask: emails,phones,cards,ibans or none (default: all four)')
  .option('--frontier-model <id>', 'only outputs of this model (id or its dated snapshots) become draft goldens')
  .option('--only-frontier', 'sample only requests the frontier model answered')
  .option('--force', 'replace an existing suite folder and goldens file')
  .action(async (logs: string[], opts: { size: number; stratify: string; output: string; seed: number; redact?: string; frontierModel?: string; onlyFrontier?: boolean; force?: boolean }) => {
    const { suiteSampleCommand } = await import('./suite-command.js');
    process.exitCode = await suiteSampleCommand(logs, opts);
  });

const golden = program.command('golden').description('review and approve goldens');

golden
  .command('review')
  .description('show each draft golden with its case input; on a terminal approve (a), reject (r), skip (s) or quit (q)')
  .argument('<suite-dir>', 'folder holding suite.yaml')
  .option('--list', 'print every golden with its status and change nothing')
  .option('--all', 'also go through approved goldens')
  .option('--by <name>', 'approver name (default: git config user.name, else $USER)')
  .addOption(allowPathOption())
  .action(async (suiteDir: string, opts: { list?: boolean; all?: boolean; by?: string; allowPath?: string[] }) => {
    const { goldenReviewCommand } = await import('./golden-command.js');
    process.exitCode = await goldenReviewCommand(suiteDir, opts);
  });

golden
  .command('approve')
  .description('mark goldens approved (status, approvedBy, approvedAt); with --run/--model take that model\'s stored outputs as the new expected')
  .argument('<suite-dir>', 'folder holding suite.yaml')
  .option('--cases <ids>', 'comma-separated case ids to approve')
  .option('--all-reviewed', 'approve every golden marked "status": "reviewed" (never an unreviewed draft)')
  .option('--run <id>', 'stored run to take outputs from (id, unique prefix or "latest")')
  .option('--model <key>', 'model key whose outputs in --run become the expected values')
  .option('--by <name>', 'approver name (default: git config user.name, else $USER)')
  .option('--db <file>', 'results database for --run', '.evalroute/evalroute.db')
  .addOption(allowPathOption())
  .action(async (suiteDir: string, opts: { run?: string; model?: string; cases?: string; allReviewed?: boolean; by?: string; db: string; allowPath?: string[] }) => {
    const { goldenApproveCommand } = await import('./golden-command.js');
    process.exitCode = goldenApproveCommand(suiteDir, opts);
  });

program
  .command('merge')
  .description('merge the results databases of sharded jobs into one; the shards\' latest runs become one gate-able merged run')
  .argument('<db...>', 'results databases written by the shard jobs')
  .requiredOption('-o, --output <file>', 'merged results database (created, or added to when it exists)')
  .addOption(new Option('--shards <n>', 'expect exactly this many shard runs per merged run (a missing artifact is an error)').argParser(positiveInt))
  .option('--json', 'print what was merged, with the merged runs\' results, as JSON')
  .option('-q, --quiet', 'print only what was merged, not the verdict tables')
  .action(async (dbs: string[], opts: MergeFlags) => {
    const { mergeCommand } = await import('./merge-command.js');
    process.exitCode = await mergeCommand(dbs, opts);
  });

program
  .command('judge-check')
  .description("measure the suite's LLM judge against the human verdicts in the goldens (agreement, Cohen's kappa, confusion), judging stored outputs; only the judge is called")
  .argument('<suite-dir>', 'folder holding suite.yaml')
  .option('--config <file>', 'evalroute.config.yaml (default: in the suite folder, else the working folder)')
  .option('--db <file>', 'results database (default: the config\'s store:)')
  .option('--run <id>', 'stored run whose outputs are judged (default: the latest run of the suite)')
  .option('--model <key>', 'model whose outputs are judged (default: the baseline; pairwise: each case\'s tier model)')
  .addOption(new Option('--min-kappa <k>', 'exit 1 when a judge\'s kappa is below this').argParser(fraction))
  .option('--json <file>', 'write the machine-readable result to this file ("-" for stdout)')
  .addOption(allowPathOption())
  .action(async (suiteDir: string, opts: JudgeCheckFlags) => {
    const { judgeCheckCommand } = await import('./judge-check-command.js');
    process.exitCode = await judgeCheckCommand(suiteDir, opts);
  });

export interface RunFlags {
  verbose?: boolean;
  allowPath?: string[];
  repeat?: number;
  repeatPolicy: RepeatPolicy;
  shard?: string;
  markdown?: string;
  junit?: string;
  monthlyRequests?: number;
  allowUnreviewed?: boolean;
  config?: string;
  routing?: string;
  db?: string;
  json?: string;
  report?: string;
  reportUrl?: string;
  concurrency?: number;
  cache: boolean;
  offline?: boolean;
  resume?: string | true;
  maxErrorRate: number;
  maxCost?: number;
  /** Seconds; caps Retry-After waits. */
  maxRetryWait?: number;
  /** Milliseconds the whole run may take. */
  deadline?: number;
  quiet?: boolean;
  batch?: boolean;
  through?: string;
  sequential?: boolean;
  looks?: number;
  /** false with --no-wait. */
  wait?: boolean;
  pollInterval?: number;
}

export type CollectFlags = Pick<
  RunFlags,
  'config' | 'db' | 'json' | 'report' | 'reportUrl' | 'markdown' | 'junit' | 'monthlyRequests' | 'allowUnreviewed' | 'repeat' | 'repeatPolicy' | 'shard' | 'maxErrorRate' | 'maxCost' | 'quiet' | 'verbose' | 'pollInterval' | 'allowPath'
>;

const batchCommand = program.command('batch').description('provider Batch API runs (run --batch)');
const collectCommandSpec = batchCommand
  .command('collect')
  .description('wait for the batches of a run started with run --batch --no-wait, call what they did not answer directly, and gate')
  .argument('<run-id>', 'the run to finish (see evalroute runs)')
  .option('--db <file>', 'results database holding the run', '.evalroute/evalroute.db')
  .option('--config <file>', 'evalroute.config.yaml (default: in the run\'s suite folder, else the working folder)')
  .option('--json <file>', 'write the machine-readable result to this file ("-" for stdout)')
  .addOption(new Option('--repeat <n>', 'the --repeat the run was started with').argParser(intUpTo(LIMITS.repeats)))
  .addOption(new Option('--repeat-policy <policy>', 'how repeated samples enter the gate: every call counts (per-call), or one verdict per case').choices(['per-call', 'majority', 'pass@k', 'pass^k']).default('per-call'))
  .option('--shard <i/n>', 'the --shard the run was started with')
  .addOption(new Option('--poll-interval <ms>', 'first wait between batch status polls (grows to 60 s)').argParser(intUpTo(MAX_POLL_MS)).default(5000))
  .addOption(new Option('--max-cost <usd>', 'spending cap in USD over the run, batch answers included').argParser(positiveAmount))
  .option('-v, --verbose', 'also print one line per failed call (case, model, kind, request id)')
  .action(async (runId: string, opts: CollectFlags & { db: string }) => {
    const { batchCollectCommand } = await import('./run-command.js');
    process.exitCode = await batchCollectCommand(runId, opts);
  });

gateCommandSpec.addOption(allowPathOption());
collectCommandSpec.addOption(allowPathOption());

// The result files and gate options every gating command offers, with one meaning everywhere.
for (const cmd of [runCommandSpec, gateCommandSpec, collectCommandSpec]) {
  cmd
    .option('--report <file>', 'write the HTML diff report to this file')
    .option('--markdown <file>', 'write the Markdown summary (PR comment); also appended to $GITHUB_STEP_SUMMARY when set')
    .option('--report-url <url>', 'where CI publishes the HTML report: the Markdown links it, and each regressed or moved case to its row (#case-<id>)')
    .option('--junit <file>', 'write JUnit XML: one testsuite per tier, one testcase per routed case')
    .addOption(new Option('--monthly-requests <n>', 'traffic the routing serves per month: projects monthly cost and checks budgets').argParser(positiveInt))
    .option('--allow-unreviewed', 'gate on goldens still marked unreviewed')
    .addOption(new Option('--max-error-rate <rate>', 'above this fraction of errored or ungradable calls the run is incomplete (exit 3)').argParser(fraction).default(0.02))
    .option('-q, --quiet', 'print only the verdict table (no start line, progress or file notes)')
    .addHelpText(
      'after',
      '\nExit codes: 0 every routed tier shown to hold · 1 a tier failed (regressed or below minPassRate) or a budget is over · ' +
        '2 bad config or usage · 3 run incomplete, nothing decided · 4 not decided: no tier failed, a tier needs more cases (the verdict says how many)',
    );
}

/**
 * `--allow-path <dir>`, repeatable, on every command that reads files a suite or config names: those
 * files must lie in the working folder or the suite's project (they arrive in pull requests), unless
 * their folder is allowed here.
 */
function allowPathOption(): Option {
  return new Option(
    '--allow-path <dir>',
    'also read files the suite or config names (cases, goldens, attachments, schemas, judge templates, recorded outputs…) from this folder; by default only the working folder and the suite\'s project (repeatable)',
  ).argParser((v: string, acc: string[] = []) => [...acc, v]);
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

/** A whole number from 1 to `max`: beyond that an option is a typo and would misbehave (see LIMITS). */
function intUpTo(max: number): (value: string) => number {
  return (value) => {
    const n = positiveInt(value);
    if (n > max) throw new InvalidArgumentError(`expected at most ${max}, got "${value}"`);
    return n;
  };
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return n;
}

function positiveAmount(value: string): number {
  const n = Number(value.replace(/^\$/, ''));
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive amount in USD, got "${value}"`);
  return n;
}

function signedFraction(value: string): number {
  const v = Number(value);
  if (!Number.isFinite(v) || v < -1 || v > 1) throw new InvalidArgumentError('expected a number between -1 and 1');
  return v;
}

/** The units a `--deadline` duration may use. */
const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `45m`, `2h`, `1h30m`, `1d` (a bare number is seconds), in ms, from 1 s to 7 days (see LIMITS). */
function duration(value: string): number {
  const text = value.trim();
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)?/gy)];
  const covered = parts.reduce((n, m) => n + m[0].length, 0);
  if (!parts.length || covered !== text.length || (parts.length > 1 && parts.some((m) => m[2] === undefined))) {
    throw new InvalidArgumentError(`expected a duration such as 45m, 2h, 1h30m or 90s, got "${value}"`);
  }
  const ms = Math.round(parts.reduce((n, m) => n + Number(m[1]) * DURATION_UNIT_MS[m[2] ?? 's']!, 0));
  if (ms < LIMITS.minDeadlineMs || ms > LIMITS.maxDeadlineMs) throw new InvalidArgumentError(`expected from 1s to 7d, got "${value}"`);
  return ms;
}

/** Up to a day: a longer cap is a typo, and setTimeout cannot wait more than ~24.8 days anyway. */
function retryWaitSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 86_400) throw new InvalidArgumentError(`expected seconds between 0 and 86400, got "${value}"`);
  return n;
}

function fraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`expected a fraction between 0 and 1, got "${value}"`);
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
    process.stderr.write(`evalroute: ${escapeControl(redact(err.message))}\n`);
    return err.exitCode;
  }
  process.stderr.write(`evalroute: internal error: ${escapeControl(redact(err instanceof Error ? (err.stack ?? err.message) : String(err)))}\n`);
  return 3;
}
