import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { applyApproval, applyRejection, readSuiteGoldens, withoutCaseLines, writeGoldens } from '../audit/goldens.js';
import { projectRoots } from '../config/files.js';
import { writeAtomic } from '../audit/suite-build.js';
import type { SuiteGoldens } from '../audit/goldens.js';
import { UsageError } from '../core/errors.js';
import type { CaseLine, GoldenLine } from '../config/schemas.js';
import { openStore } from '../store/sqlite-store.js';

export interface GoldenReviewFlags {
  allowPath?: string[];
  list?: boolean;
  all?: boolean;
  by?: string;
}

export interface GoldenApproveFlags {
  allowPath?: string[];
  run?: string;
  model?: string;
  cases?: string;
  allReviewed?: boolean;
  by?: string;
  db: string;
}

/** --by, else `git config user.name`, else $USER: approvals must say who vouched for the expectation. */
export function approverName(by: string | undefined): string {
  if (by?.trim()) return by.trim();
  try {
    const name = execFileSync('git', ['config', 'user.name'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (name) return name;
  } catch {
    // No git or no user.name: fall back to the login name.
  }
  const user = process.env.USER ?? process.env.USERNAME;
  if (user) return user;
  throw new UsageError('cannot tell who approves: pass --by NAME (or set git config user.name)');
}

const show = (f: string) => relative(process.cwd(), f) || f;
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}… (${s.length - n} more characters)` : s);
const expectedText = (g: GoldenLine) => (typeof g.expected === 'string' ? g.expected : JSON.stringify(g.expected, null, 2));

function describe(c: CaseLine | undefined, g: GoldenLine, index: string): string {
  const lines = [`── ${index} ${g.id}  [${g.status ?? 'no status'}${g.approvedBy ? ` by ${g.approvedBy}` : ''}]`];
  const src = c?.metadata?.source as { file?: string; line?: number; model?: string } | undefined;
  if (src) lines.push(`   from ${src.file}:${src.line} (${src.model})`);
  for (const m of c?.messages ?? []) lines.push(`   ${m.role.padEnd(9)} ${clip(m.content, 1500).replace(/\n/g, '\n             ')}`);
  if (c?.vars) lines.push(`   vars      ${clip(JSON.stringify(c.vars), 1500)}`);
  lines.push(`   expected  ${clip(expectedText(g), 2000).replace(/\n/g, '\n             ')}`);
  if (g.reference !== undefined) lines.push(`   reference ${clip(g.reference, 1000)}`);
  return lines.join('\n');
}

/**
 * `evalroute golden review`: on a terminal, each draft with its input, one key per decision;
 * `--list` prints them all with their status and changes nothing. Off a terminal without --list it
 * refuses: nobody can have reviewed anything, so nothing may look reviewed afterwards.
 */
export async function goldenReviewCommand(suiteDir: string, flags: GoldenReviewFlags): Promise<number> {
  const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
  if (!flags.list && !interactive) {
    throw new UsageError(
      `golden review asks for a decision on each draft and needs a terminal (stdin and stdout); nothing was reviewed or changed\n` +
        `  → run it in a terminal, or list the drafts with: evalroute golden review ${suiteDir} --list\n` +
        `    and approve the ones you checked with: evalroute golden approve ${suiteDir} --cases id1,id2`,
    );
  }
  const s = readSuiteGoldens(suiteDir, projectRoots(process.cwd(), flags.allowPath));
  const caseOf = new Map(s.cases.map((c) => [c.id, c]));
  const pending = s.goldens.filter((g) => flags.all || flags.list || g.status !== 'approved');
  const counts = summary(s);
  if (flags.list) {
    // One write: piping a long list into `head` should end quietly, not mid-loop.
    const shown = pending.map((g, i) => `${describe(caseOf.get(g.id), g, `${i + 1}/${pending.length}`)}\n\n`).join('');
    process.stdout.write(`${shown}${counts}\n`);
    return 0;
  }
  if (!pending.length) {
    process.stdout.write(`nothing to review in ${show(s.goldensFile)}: ${counts}\n`);
    return 0;
  }
  const approve: string[] = [];
  const reject: string[] = [];
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  // An iterator, not rl.question: answers typed ahead are queued instead of lost, and end of input
  // (Ctrl+D) or Ctrl+C ends the review like "q", keeping the decisions already made.
  const answers = rl[Symbol.asyncIterator]();
  rl.on('SIGINT', () => rl.close());
  try {
    for (let i = 0; i < pending.length; i++) {
      const g = pending[i]!;
      process.stdout.write(`\n${describe(caseOf.get(g.id), g, `${i + 1}/${pending.length}`)}\n   [a]pprove  [r]eject (drop the draft and its case)  [s]kip  [q]uit › `);
      const next = await answers.next();
      if (next.done) break;
      const answer = String(next.value).trim().toLowerCase();
      if (answer.startsWith('q')) break;
      if (answer.startsWith('a')) approve.push(g.id);
      else if (answer.startsWith('r')) {
        if (g.status === 'approved') process.stdout.write('   approved goldens are not dropped here; skipped\n');
        else reject.push(g.id);
      }
    }
  } finally {
    rl.close();
  }
  if (!approve.length && !reject.length) {
    process.stdout.write('no decisions; nothing changed\n');
    return 0;
  }
  let goldens = s.goldens;
  if (approve.length) {
    goldens = applyApproval(
      s.cases.map((c) => c.id),
      goldens,
      { ids: approve, by: approverName(flags.by), at: new Date().toISOString() },
    ).goldens;
  }
  if (reject.length) {
    goldens = applyRejection(goldens, reject);
    // Cases first: a golden without its case is reported by the loader, a case without a golden too,
    // but each write is atomic and both happen before we return.
    writeAtomic(s.casesFile, withoutCaseLines(readFileSync(s.casesFile, 'utf8'), reject));
  }
  writeGoldens(s.goldensFile, goldens);
  process.stdout.write(
    `${show(s.goldensFile)}: ${approve.length} approved, ${reject.length} rejected` +
      `${reject.length ? ` (draft and case removed from ${show(s.casesFile)}; git history keeps them)` : ''}; review the change with git diff\n`,
  );
  return 0;
}

function summary(s: SuiteGoldens): string {
  const approved = s.goldens.filter((g) => g.status === 'approved' || g.status === undefined).length;
  const reviewed = s.goldens.filter((g) => g.status === 'reviewed').length;
  const drafts = s.goldens.length - approved - reviewed;
  return `${s.cases.length} cases: ${approved} approved goldens, ${reviewed ? `${reviewed} reviewed (not approved yet), ` : ''}${drafts} unreviewed, ${s.cases.length - s.goldens.length} without a golden`;
}

/** `evalroute golden approve`: approve drafts, or take a model's outputs from a stored run as the new expected. */
export function goldenApproveCommand(suiteDir: string, flags: GoldenApproveFlags): number {
  if ((flags.run === undefined) !== (flags.model === undefined)) throw new UsageError('--run and --model go together: --run <id> --model <key> takes that model\'s outputs from the run');
  if (flags.cases && flags.allReviewed) throw new UsageError('give either --cases or --all-reviewed, not both');
  if (flags.run !== undefined && flags.allReviewed) {
    throw new UsageError('--run takes a model\'s outputs as the new expected values, which nobody has reviewed yet: name the cases you checked with --cases id1,id2');
  }
  const s = readSuiteGoldens(suiteDir, projectRoots(process.cwd(), flags.allowPath));
  const ids = flags.cases?.split(',').map((x) => x.trim()).filter(Boolean);
  let outputs: Map<string, string> | undefined;
  let from: string | undefined;
  if (flags.run !== undefined && flags.model !== undefined) {
    ({ outputs, from } = runOutputs(flags.db, flags.run, flags.model, s.name));
  }
  const result = applyApproval(
    s.cases.map((c) => c.id),
    s.goldens,
    {
      ...(ids?.length ? { ids } : {}),
      ...(flags.allReviewed ? { allReviewed: true } : {}),
      ...(outputs ? { outputs } : {}),
      ...(from ? { outputsFrom: from } : {}),
      by: approverName(flags.by),
      at: new Date().toISOString(),
    },
  );
  if (!result.approved.length) {
    const drafts = s.goldens.filter((g) => g.status === 'unreviewed').length;
    process.stdout.write(`nothing to approve in ${show(s.goldensFile)}: ${summary(s)}\n`);
    if (flags.allReviewed && drafts) {
      process.stdout.write(
        `--all-reviewed approves goldens marked "status": "reviewed" only; the ${drafts} unreviewed drafts stay drafts\n` +
          `  → review them on a terminal: evalroute golden review ${suiteDir}, or approve the ones you checked: --cases id1,id2\n`,
      );
    }
    return 0;
  }
  writeGoldens(s.goldensFile, result.goldens);
  const shown = result.approved.slice(0, 10).join(', ') + (result.approved.length > 10 ? `, … (${result.approved.length - 10} more)` : '');
  process.stdout.write(`${show(s.goldensFile)}: approved ${result.approved.length}${from ? ` from ${from}` : ''}: ${shown}\nreview the change with git diff before committing\n`);
  return 0;
}

function runOutputs(db: string, runId: string, model: string, suiteName: string): { outputs: Map<string, string>; from: string } {
  const file = resolve(db);
  if (!existsSync(file)) throw new UsageError(`no results database at ${file}\n  → pass --db FILE (the config's store:)`);
  const store = openStore(file, { readonly: true });
  try {
    const run = store.getRun(runId);
    if (!run) throw new UsageError(`no run "${runId}" in ${file}\n  → list runs with: evalroute runs --db ${db}`);
    if (run.suite !== suiteName) throw new UsageError(`run ${run.id} is of suite "${run.suite}", not "${suiteName}"\n  → pick a run of this suite (evalroute runs)`);
    const calls = store.getCalls(run.id);
    const outputs = new Map<string, string>();
    for (const c of calls) if (c.modelKey === model && c.repeat === 0 && c.completion) outputs.set(c.caseId, c.completion.text);
    if (!outputs.size) {
      const models = [...new Set(calls.map((c) => c.modelKey))];
      throw new UsageError(`run ${run.id} has no successful output of model "${model}"\n  → models in this run: ${models.join(', ') || 'none'}`);
    }
    return { outputs, from: `run ${run.id} model ${model}` };
  } finally {
    store.close();
  }
}
