/**
 * Reviewing and approving goldens. Approval is a file edit a reviewer can read as a git diff: the
 * goldens file is rewritten in case order with a fixed key order, only the targeted lines change, and
 * the write is atomic (temp file + rename) so an interrupted approve never loses a golden.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { ConfigError, UsageError } from '../core/errors.js';
import type { Suite } from '../core/types.js';
import { caseSchema, goldenSchema, suiteSchema } from '../config/schemas.js';
import type { CaseLine, GoldenLine } from '../config/schemas.js';
import type { ProjectRoots } from '../config/files.js';
import { readJsonl, readYaml } from '../config/source.js';
import { defaultGoldensFile, writeAtomic } from './suite-build.js';

/** A suite's cases and goldens as written in its files (not rendered), for review and approval. */
export interface SuiteGoldens {
  name: string;
  suiteFile: string;
  casesFile: string;
  goldensFile: string;
  cases: CaseLine[];
  goldens: GoldenLine[];
}

/**
 * `roots`: where the cases and goldens files may lie (the suite's project is added); approval rewrites
 * the goldens file, so a path in suite.yaml must not reach out of the project. Not given: anywhere.
 */
export function readSuiteGoldens(dir: string, roots?: ProjectRoots): SuiteGoldens {
  const target = resolve(dir);
  const suiteDir = existsSync(target) && statSync(target).isFile() ? dirname(target) : target;
  const suiteFile = resolve(suiteDir, 'suite.yaml');
  const { data, at } = readYaml(suiteFile, suiteSchema, { what: 'suite file', hint: 'pass the suite folder, e.g. suites/<name>' });
  const name = data.name ?? basename(suiteDir);
  const casesFile = resolve(suiteDir, data.cases ?? 'cases.jsonl');
  const goldensFile = data.goldens !== undefined ? resolve(suiteDir, data.goldens) : defaultGoldensFile(suiteDir, name);
  const confined = roots?.withSuite(suiteDir);
  confined?.check(casesFile, 'cases file', at(['cases']));
  confined?.check(goldensFile, 'goldens file', at(['goldens']));
  const cases = readJsonl(casesFile, caseSchema, 'cases file').map((r) => r.value);
  const goldens = existsSync(goldensFile) ? readJsonl(goldensFile, goldenSchema, 'goldens file').map((r) => r.value) : [];
  return { name, suiteFile, casesFile, goldensFile, cases, goldens };
}

export interface ApprovalRequest {
  /** Case ids to approve. */
  ids?: readonly string[];
  /**
   * Target every golden a person marked reviewed (`status: reviewed`), never an unreviewed draft: a
   * draft is a logged or recorded output nobody has checked.
   */
  allReviewed?: boolean;
  /** From a run: case id → the model's output, which becomes the new `expected`. */
  outputs?: ReadonlyMap<string, string>;
  /** Describes `outputs` in errors, e.g. `run 01J… model flash`. */
  outputsFrom?: string;
  by: string;
  /** ISO timestamp. */
  at: string;
}

export interface ApprovalResult {
  goldens: GoldenLine[];
  approved: string[];
}

const listIds = (ids: readonly string[]): string => {
  const shown = ids.slice(0, 10).map((i) => `"${i}"`).join(', ');
  return ids.length > 10 ? `${shown} and ${ids.length - 10} more` : shown;
};

/** A new expected keeps the shape of the old one: JSON stays JSON when the output parses. */
function expectedFromOutput(text: string, previous: unknown): unknown {
  if (previous !== null && typeof previous === 'object') {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed !== null && typeof parsed === 'object') return parsed;
    } catch {
      // The new output is not JSON: keep it as text, the diff will show it.
    }
  }
  return text;
}

/**
 * Pure: the goldens after approving the targeted cases. Untargeted goldens are returned unchanged;
 * unknown case ids (or ids without anything to approve) throw a UsageError naming them.
 */
export function applyApproval(caseIds: readonly string[], goldens: readonly GoldenLine[], req: ApprovalRequest): ApprovalResult {
  if (!req.ids?.length && !req.allReviewed) throw new UsageError('say which goldens to approve: --cases id1,id2 or --all-reviewed');
  const known = new Set(caseIds);
  const byId = new Map(goldens.map((g) => [g.id, g]));
  let targets: string[];
  if (req.ids?.length) {
    const unknown = req.ids.filter((id) => !known.has(id));
    if (unknown.length) throw new UsageError(`unknown case id(s): ${listIds(unknown)}\n  → use ids from the suite's cases.jsonl (evalroute golden review <suite> --list shows them)`);
    targets = [...new Set(req.ids)];
  } else {
    targets = caseIds.filter((id) => byId.get(id)?.status === 'reviewed');
  }
  if (req.outputs) {
    const missing = targets.filter((id) => !req.outputs!.has(id));
    if (req.ids?.length && missing.length) {
      throw new UsageError(`${req.outputsFrom ?? 'the run'} has no output for case(s) ${listIds(missing)}\n  → pick cases the run answered, or another run/model`);
    }
    targets = targets.filter((id) => req.outputs!.has(id));
  } else {
    const without = targets.filter((id) => !byId.has(id));
    if (without.length) {
      throw new UsageError(`case(s) ${listIds(without)} have no golden to approve\n  → take a model's output from a stored run: --run <id> --model <key>`);
    }
  }
  const targetSet = new Set(targets);
  const out: GoldenLine[] = [];
  const emit = (g: GoldenLine) => out.push(ordered(g));
  for (const id of caseIds) {
    const prev = byId.get(id);
    if (!targetSet.has(id)) {
      if (prev) emit(prev);
      continue;
    }
    const next: GoldenLine = { ...(prev ?? { id }) };
    if (req.outputs) next.expected = expectedFromOutput(req.outputs.get(id)!, prev?.expected);
    next.status = 'approved';
    next.approvedBy = req.by;
    next.approvedAt = req.at;
    emit(next);
  }
  // Goldens for ids no longer in the cases file are kept, not silently dropped; the loader will name them.
  for (const g of goldens) if (!known.has(g.id)) emit(g);
  return { goldens: out, approved: targets };
}

/**
 * Pure: the goldens after a reviewer rejected drafts, and the case ids to drop with them: a case without
 * a golden would stop the suite from loading, and its input stays in git history, to be re-added with a
 * correct expected. Approved goldens cannot be rejected this way.
 */
export function applyRejection(goldens: readonly GoldenLine[], ids: readonly string[]): GoldenLine[] {
  const drop = new Set(ids);
  const approved = goldens.filter((g) => drop.has(g.id) && g.status === 'approved').map((g) => g.id);
  if (approved.length) throw new UsageError(`golden(s) ${listIds(approved)} are approved; a review only rejects unreviewed drafts\n  → edit the goldens file, or approve a new output with --run`);
  return goldens.filter((g) => !drop.has(g.id)).map(ordered);
}

/** Pure: the cases file text without the lines of `ids`; every other line is kept byte for byte. */
export function withoutCaseLines(text: string, ids: readonly string[]): string {
  const drop = new Set(ids);
  return text
    .split(/(?<=\n)/)
    .filter((line) => {
      if (!line.trim()) return true;
      try {
        return !drop.has((JSON.parse(line) as { id?: unknown }).id as string);
      } catch {
        return true; // not ours to judge here; the loader names a malformed line
      }
    })
    .join('');
}

const KEY_ORDER = ['id', 'expected', 'reference', 'rubric', 'human', 'status', 'approvedBy', 'approvedAt'] as const;

/** Fixed key order, so re-writing a file only shows real changes in a diff. */
function ordered(g: GoldenLine): GoldenLine {
  const out: Record<string, unknown> = {};
  for (const k of KEY_ORDER) if (g[k] !== undefined) out[k] = g[k];
  for (const [k, v] of Object.entries(g)) if (!(k in out) && v !== undefined) out[k] = v;
  return out as GoldenLine;
}

export function writeGoldens(file: string, goldens: readonly GoldenLine[]): void {
  writeAtomic(file, goldens.map((g) => JSON.stringify(ordered(g))).join('\n') + (goldens.length ? '\n' : ''));
}

/**
 * A gate must not count goldens nobody has checked: drafts are logged outputs, possibly wrong. Throws
 * unless every golden of the suite is approved (or has no status: hand-written files predate review)
 * or the caller allows unreviewed ones.
 */
export function checkGoldensReviewed(suite: Suite, allow: boolean): void {
  if (allow) return;
  const unreviewed = [...suite.goldens.values()].filter((g) => g.status === 'unreviewed');
  if (!unreviewed.length) return;
  const first = unreviewed[0]!;
  const ids = unreviewed.slice(0, 5).map((g) => `"${g.id}"`).join(', ') + (unreviewed.length > 5 ? ', …' : '');
  throw new ConfigError(
    { file: suite.goldensFile ?? first.origin.file, line: first.origin.line },
    `${unreviewed.length} of ${suite.goldens.size} goldens are unreviewed (${ids}); a gate on unreviewed expectations can pass or fail for the wrong reason`,
    `review them: evalroute golden review ${suite.dir} (then golden approve), or pass --allow-unreviewed to count them anyway`,
  );
}
