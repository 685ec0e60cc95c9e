/**
 * `evalroute merge`: combines the results databases of sharded CI jobs into one.
 *
 * Two things happen. (1) Every run of every input is copied as it is (same run id), so the merged file
 * keeps the full history and serves as the response cache of the next build. (2) The latest run of each
 * input — the shard that job just ran — is combined with the other inputs' latest runs of the same suite
 * and routing file into one *merged run* holding all their cases and calls, which `show`, `report` and
 * the gate read like any other run.
 *
 * Merging is idempotent and conflict-checked. A run id present on both sides must describe the same run
 * (same suite, routing, config, cases); a call present on both sides must have the same request hash.
 * Anything else is an error naming the run, case and model, and nothing is written. A copy may only add:
 * calls the other side lacks, a success where the other side stored an error for the same request (a
 * resumed run), a `complete` status where the other side was still unfinished. The merged run's id is
 * derived from its source runs, so merging the same files again finds it and adds nothing.
 *
 * Copies go through SQL (ATTACH + INSERT … SELECT) so a 20,000-case store never passes through JS.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { StoreError, UsageError } from '../core/errors.js';
import type { CallOutcome, CaseResult, RunStatus, StoredCase } from '../core/types.js';
import { openStore, type RunRow as StoredRunRow } from './sqlite-store.js';
import { byCodeUnits } from '../core/compare.js';

export interface MergeSource {
  /** Absolute path of the input database. */
  db: string;
  runId: string;
  status: RunStatus;
  cases: number;
}

export interface MergedRun {
  id: string;
  suite: string;
  routingHash: string;
  /** complete only when every source run is complete. */
  status: RunStatus;
  sources: MergeSource[];
  cases: number;
  calls: number;
  /** 'created' first time, 'updated' when a source run progressed since, 'unchanged' otherwise. */
  change: 'created' | 'updated' | 'unchanged';
}

export interface MergeResult {
  output: string;
  /** Runs copied from the inputs (the merged runs not included). */
  runsAdded: number;
  runsUpdated: number;
  callsAdded: number;
  merged: MergedRun[];
}

export interface MergeOptions {
  /** Each merged run must combine exactly this many shard runs (a missing shard artifact is an error). */
  expectShards?: number;
}

type RunRow = Omit<StoredRunRow, 'summary_json'>;

/** Columns of `runs` that make a run what it is; two copies of one run id must agree on all of them. */
const RUN_IDENTITY = ['suite', 'suite_dir', 'started_at', 'config_content', 'routing_file', 'routing_content', 'routing_hash', 'git_commit', 'baseline'] as const;
const RESPONSE_COLUMNS = [
  'run_id', 'case_id', 'model_key', 'repeat', 'request_hash', 'text', 'input_tokens', 'output_tokens', 'cached_input_tokens',
  'tokens_estimated', 'latency_ms', 'cost_usd', 'request_id', 'api_model', 'attempts', 'cached', 'error_kind', 'error_message',
  'error_status', 'pass', 'score', 'created_at',
].join(', ');
const GRADE_COLUMNS = 'run_id, case_id, model_key, repeat, grader, ordinal, score, pass, explanation, error';
const CASE_COLUMNS = 'run_id, case_id, ordinal, tier, case_json, golden_json, input_json';
const SAME_CALL = (a: string, b: string) =>
  `${a}.run_id = ${b}.run_id AND ${a}.case_id = ${b}.case_id AND ${a}.model_key = ${b}.model_key AND ${a}.repeat = ${b}.repeat`;
const STATUS_RANK: Record<RunStatus, number> = { complete: 0, incomplete: 1, interrupted: 2, running: 3 };

/**
 * Merges `inputs` into `output` (created when missing; its existing runs are kept). Throws StoreError
 * on a conflict, UsageError on bad arguments; on either, `output` is left as it was.
 */
export function mergeStores(inputs: string[], output: string, opts: MergeOptions = {}): MergeResult {
  const out = resolve(output);
  const files = [...new Set(inputs.map((f) => resolve(f)))];
  if (!files.length) throw new UsageError('evalroute merge needs at least one input database\n  → evalroute merge shard-1.db shard-2.db -o merged.db');
  if (files.includes(out)) {
    throw new UsageError(`${out} is both an input and the output of the merge\n  → write to a new file with -o, or leave the output out of the inputs (merge adds to an existing output)`);
  }
  // openStore validates each input (an evalroute database, a schema we know) without writing to it.
  const latest = files.map((file) => {
    const store = openStore(file, { readonly: true });
    try {
      const run = store.listRuns(1)[0];
      if (!run) throw new StoreError(file, 'holds no runs to merge', 'pass the database a shard job wrote with `evalroute run --shard i/n --db FILE`');
      return { db: file, runId: run.id };
    } finally {
      store.close();
    }
  });
  openStore(out).close(); // create or migrate the output first, so the copy below finds our schema

  // Everything is first gathered in a staging file — inputs one at a time (SQLite attaches at most
  // ten files at once), conflicts between inputs checked there — and only then copied into the output
  // in a single transaction, so a conflict anywhere leaves the output untouched.
  const stageDir = mkdtempSync(join(tmpdir(), 'evalroute-merge-'));
  const stageFile = join(stageDir, 'stage.db');
  try {
    openStore(stageFile).close();
    const stage = new Database(stageFile);
    let planned: Planned[];
    try {
      stage.pragma('foreign_keys = ON');
      files.forEach((file, i) => {
        stage.prepare('ATTACH DATABASE ? AS src').run(file);
        try {
          const earlier = `the inputs before it (${files.slice(0, i).join(', ')})`;
          stage.transaction(() => absorb(stage, file, earlier))();
        } finally {
          stage.exec('DETACH DATABASE src');
        }
      });
      planned = stage.transaction(() => stageMergedRuns(stage, latest, opts))();
    } finally {
      stage.close();
    }

    const db = new Database(out);
    try {
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      db.prepare('ATTACH DATABASE ? AS src').run(stageFile);
      const counts = db.transaction(() => absorb(db, `the inputs (${files.join(', ')})`, out, { errorFile: out })).immediate();
      db.exec('DETACH DATABASE src');
      const mergedIds = new Set(planned.map((m) => m.id));
      const shardRuns = [...counts.byRun].filter(([id]) => !mergedIds.has(id)).map(([, c]) => c);
      return {
        output: out,
        runsAdded: shardRuns.filter((c) => c.added).length,
        runsUpdated: shardRuns.filter((c) => c.updated).length,
        callsAdded: counts.callsAdded - planned.reduce((n, m) => n + (counts.callsByRun.get(m.id) ?? 0), 0),
        merged: planned.map((m) => {
          const c = counts.byRun.get(m.id);
          return { ...m, change: c?.added ? 'created' : c?.updated ? 'updated' : 'unchanged' };
        }),
      };
    } finally {
      db.close();
    }
  } finally {
    rmSync(stageDir, { recursive: true, force: true });
  }
}

/** `m<newest source start>-<hash of the sources>`: stable, so a second merge of the same shards finds it. */
export function mergedRunId(suite: string, routingHash: string, sourceRunIds: string[], startedAt: string): string {
  const hash = createHash('sha256').update([suite, routingHash, ...[...sourceRunIds].sort()].join('\u0000')).digest('hex');
  const stamp = startedAt.replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `m${stamp}-${hash.slice(0, 8)}`;
}

type Planned = Omit<MergedRun, 'change'>;

/**
 * Adds to the staging database one merged run per (suite, routing hash) of the inputs' latest runs,
 * built from the copies of those runs the staging database already holds.
 */
function stageMergedRuns(stage: Database.Database, latest: { db: string; runId: string }[], opts: MergeOptions): Planned[] {
  const dbOf = new Map<string, string>();
  for (const l of latest) if (!dbOf.has(l.runId)) dbOf.set(l.runId, l.db);
  const sources = [...dbOf].map(([id, db]) => {
    const run = stage.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow;
    const cases = stage.prepare('SELECT count(*) FROM run_cases WHERE run_id = ?').pluck().get(id) as number;
    return { ...run, db, cases };
  });
  const groups = new Map<string, typeof sources>();
  for (const s of sources) {
    const key = `${s.suite}\u0000${s.routing_hash}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }

  const planned: Planned[] = [];
  for (const group of groups.values()) {
    group.sort((a, b) => byCodeUnits(a.id, b.id));
    const first = group[0]!;
    if (opts.expectShards !== undefined && group.length !== opts.expectShards) {
      throw new UsageError(
        `suite "${first.suite}" (routing ${first.routing_hash.slice(0, 12)}): expected ${opts.expectShards} shard runs, found ${group.length} (${group.map((s) => `${s.id} in ${s.db}`).join(', ')})\n` +
          '  → check that every shard job uploaded its database and that all shards ran the same routing file',
      );
    }
    const ids = group.map((s) => s.id);
    const clash = stage
      .prepare(`SELECT case_id, group_concat(run_id, ' and ') AS runs FROM run_cases WHERE run_id IN (${ids.map(() => '?').join(',')}) GROUP BY case_id HAVING count(*) > 1 LIMIT 1`)
      .get(...ids) as { case_id: string; runs: string } | undefined;
    if (clash) {
      throw new StoreError(
        group.map((s) => s.db).join(', '),
        `case "${clash.case_id}" is in shard runs ${clash.runs}; shards of one suite must not overlap`,
        'give every job of the matrix a different --shard i/n with the same n',
      );
    }
    const startedAt = group.map((s) => s.started_at).sort().at(-1)!;
    const finishedAt = group.every((s) => s.finished_at !== null) ? group.map((s) => s.finished_at!).sort().at(-1)! : null;
    const worst = group.map((s) => s.status).sort((a, b) => STATUS_RANK[a] - STATUS_RANK[b]).at(-1)!;
    // A shard still `running` was killed; the merged run cannot be resumed as a whole, so it is interrupted.
    const status: RunStatus = worst === 'running' ? 'interrupted' : worst;
    const id = mergedRunId(first.suite, first.routing_hash, ids, startedAt);
    stage
      .prepare(
        `INSERT INTO runs (id, suite, suite_dir, status, started_at, finished_at, config_content, routing_file, routing_content, routing_hash, git_commit, baseline)
         VALUES (@id, @suite, @suite_dir, @status, @started_at, @finished_at, @config_content, @routing_file, @routing_content, @routing_hash, @git_commit, @baseline)`,
      )
      .run({
        ...pick(first, RUN_IDENTITY),
        id,
        status,
        started_at: startedAt,
        finished_at: finishedAt,
        git_commit: new Set(group.map((s) => s.git_commit)).size === 1 ? first.git_commit : null,
      });
    let offset = 0;
    for (const s of group) {
      stage
        .prepare(`INSERT INTO run_cases (${CASE_COLUMNS}) SELECT ?, case_id, ordinal + ?, tier, case_json, golden_json, input_json FROM run_cases WHERE run_id = ?`)
        .run(id, offset, s.id);
      offset += s.cases;
    }
    const marks = ids.map(() => '?').join(',');
    stage
      .prepare(`INSERT INTO responses (${RESPONSE_COLUMNS}) SELECT ?, ${RESPONSE_COLUMNS.replace('run_id, ', '')} FROM responses WHERE run_id IN (${marks}) ORDER BY id`)
      .run(id, ...ids);
    stage
      .prepare(`INSERT INTO grades (${GRADE_COLUMNS}) SELECT ?, ${GRADE_COLUMNS.replace('run_id, ', '')} FROM grades WHERE run_id IN (${marks})`)
      .run(id, ...ids);
    planned.push({
      id,
      suite: first.suite,
      routingHash: first.routing_hash,
      status,
      sources: group.map((s) => ({ db: s.db, runId: s.id, status: s.status, cases: s.cases })),
      cases: offset,
      calls: stage.prepare('SELECT count(*) FROM responses WHERE run_id = ?').pluck().get(id) as number,
    });
  }
  return planned;
}

interface AbsorbCounts {
  callsAdded: number;
  callsByRun: Map<string, number>;
  byRun: Map<string, { added: boolean; updated: boolean }>;
}

/**
 * Copies everything of the database attached as `src` into main, after checking that nothing in it
 * contradicts what main holds. Runs inside the caller's transaction, so a conflict writes nothing.
 * `theirs`/`ours` name the two sides in error messages; the error is filed under `opts.errorFile`.
 */
function absorb(db: Database.Database, theirs: string, ours: string, opts: { errorFile?: string } = {}): AbsorbCounts {
  const errorFile = opts.errorFile ?? theirs;
  const hint = `${theirs} and ${ours} disagree about the same run; merge into a new output file, or leave out the database that does not belong`;
  const bad = db
    .prepare(
      `SELECT s.id, ${RUN_IDENTITY.map((c) => `s.${c} IS NOT m.${c} AS d_${c}`).join(', ')}
       FROM src.runs s JOIN main.runs m ON m.id = s.id WHERE ${RUN_IDENTITY.map((c) => `s.${c} IS NOT m.${c}`).join(' OR ')} LIMIT 1`,
    )
    .get() as ({ id: string } & Record<string, number>) | undefined;
  if (bad) {
    const fields = RUN_IDENTITY.filter((c) => bad[`d_${c}`]).join(', ');
    throw new StoreError(errorFile, `run ${bad.id} is in ${theirs} and in ${ours} with different content (${fields} differ)`, hint);
  }
  const badCase = db
    .prepare(
      `SELECT s.run_id, s.case_id, m.case_id IS NULL AS missing FROM src.run_cases s
       JOIN main.runs r ON r.id = s.run_id
       LEFT JOIN main.run_cases m ON m.run_id = s.run_id AND m.case_id = s.case_id
       WHERE m.case_id IS NULL OR s.tier IS NOT m.tier OR s.case_json IS NOT m.case_json LIMIT 1`,
    )
    .get() as { run_id: string; case_id: string; missing: number } | undefined;
  if (badCase) {
    const what = badCase.missing ? `has case "${badCase.case_id}" in ${theirs} but not in ${ours}` : `routes or defines case "${badCase.case_id}" differently in ${theirs} and ${ours}`;
    throw new StoreError(errorFile, `run ${badCase.run_id} ${what}`, hint);
  }
  const badCall = db
    .prepare(
      `SELECT s.run_id, s.case_id, s.model_key, s.repeat, s.request_hash AS theirs, m.request_hash AS ours
       FROM src.responses s JOIN main.responses m ON ${SAME_CALL('m', 's')} WHERE s.request_hash IS NOT m.request_hash LIMIT 1`,
    )
    .get() as { run_id: string; case_id: string; model_key: string; repeat: number; theirs: string; ours: string } | undefined;
  if (badCall) {
    throw new StoreError(
      errorFile,
      `run ${badCall.run_id}, case "${badCall.case_id}", model "${badCall.model_key}", repeat ${badCall.repeat}: ` +
        `request hash ${badCall.theirs.slice(0, 12)} in ${theirs} but ${badCall.ours.slice(0, 12)} in ${ours}`,
      hint,
    );
  }

  const counts: AbsorbCounts = { callsAdded: 0, callsByRun: new Map(), byRun: new Map() };
  const newRuns = db.prepare('SELECT id FROM src.runs WHERE id NOT IN (SELECT id FROM main.runs)').pluck().all() as string[];
  for (const id of newRuns) counts.byRun.set(id, { added: true, updated: false });
  // Source order is kept, so a merged run (staged last) stays the `latest` among runs that started together.
  db.exec('INSERT INTO main.runs SELECT * FROM src.runs WHERE id NOT IN (SELECT id FROM main.runs) ORDER BY rowid');
  // Cases of runs main already had are identical (checked above), so IGNORE only skips exact duplicates.
  db.exec(`INSERT OR IGNORE INTO main.run_cases (${CASE_COLUMNS}) SELECT ${CASE_COLUMNS} FROM src.run_cases`);
  // Attachments are keyed by content hash, so the same file in both databases is one row.
  if (hasTable(db, 'attachments')) {
    db.exec('INSERT OR IGNORE INTO main.attachments (sha256, media_type, bytes, data) SELECT sha256, media_type, bytes, data FROM src.attachments');
  }
  // Judge answers: `simulate` re-grades judge graders from them, and the next build's judge reuses them.
  if (hasTable(db, 'call_cache')) {
    db.exec('INSERT OR IGNORE INTO main.call_cache (request_hash, completion_json, created_at) SELECT request_hash, completion_json, created_at FROM src.call_cache');
  }

  // A resumed run: main stored an error where src has the answer to the same request.
  const upgraded = db
    .prepare(
      `SELECT m.id, m.run_id FROM main.responses m JOIN src.responses s ON ${SAME_CALL('m', 's')}
       WHERE m.error_kind IS NOT NULL AND s.error_kind IS NULL`,
    )
    .all() as { id: number; run_id: string }[];
  const drop = db.prepare('DELETE FROM main.responses WHERE id = ?'); // its grades go too (ON DELETE CASCADE)
  for (const u of upgraded) drop.run(u.id);

  db.exec('CREATE TEMP TABLE IF NOT EXISTS merge_new (run_id TEXT, case_id TEXT, model_key TEXT, repeat INTEGER, PRIMARY KEY (run_id, case_id, model_key, repeat))');
  db.exec('DELETE FROM temp.merge_new');
  db.exec(
    `INSERT INTO temp.merge_new SELECT s.run_id, s.case_id, s.model_key, s.repeat FROM src.responses s
     WHERE NOT EXISTS (SELECT 1 FROM main.responses m WHERE ${SAME_CALL('m', 's')})`,
  );
  // Source row order is kept: the response cache prefers the newest row of a request hash.
  db.exec(
    `INSERT INTO main.responses (${RESPONSE_COLUMNS}) SELECT ${RESPONSE_COLUMNS.split(', ').map((c) => `s.${c}`).join(', ')}
     FROM src.responses s JOIN temp.merge_new n ON ${SAME_CALL('n', 's')} ORDER BY s.id`,
  );
  db.exec(
    `INSERT INTO main.grades (${GRADE_COLUMNS}) SELECT ${GRADE_COLUMNS.split(', ').map((c) => `g.${c}`).join(', ')}
     FROM src.grades g JOIN temp.merge_new n ON ${SAME_CALL('n', 'g')}`,
  );
  for (const row of db.prepare('SELECT run_id, count(*) AS n FROM temp.merge_new GROUP BY run_id').all() as { run_id: string; n: number }[]) {
    counts.callsByRun.set(row.run_id, row.n);
    counts.callsAdded += row.n;
  }

  // A run that finished on src's side while main's copy was unfinished: src's status and result are newer.
  const finished = db
    .prepare(`SELECT s.id FROM src.runs s JOIN main.runs m ON m.id = s.id WHERE s.status = 'complete' AND m.status <> 'complete'`)
    .pluck()
    .all() as string[];
  const finish = db.prepare(
    `UPDATE main.runs SET (status, finished_at, summary_json) = (SELECT status, finished_at, summary_json FROM src.runs WHERE id = ?) WHERE id = ?`,
  );
  for (const id of finished) finish.run(id, id);
  for (const id of new Set([...counts.callsByRun.keys(), ...finished, ...upgraded.map((u) => u.run_id)])) {
    if (!counts.byRun.has(id)) counts.byRun.set(id, { added: false, updated: true });
  }
  return counts;
}

function pick<T extends object, K extends keyof T>(obj: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) out[k] = obj[k];
  return out;
}

/**
 * The gate's view of a stored run (merged or not), from its case and call rows: per case its tier, the
 * baseline call and the tier model's call (repeat 0), ready for `decideAll`. A case whose calls are not
 * all stored is left out, as `run()` leaves out the cases an interrupted run never finished. `tiers` is
 * the run's routing as its loader built it (config/load.ts `loadStoredRouting`); a tier it does not name
 * falls back to the model the case's other call went to.
 */
export function pairRunResults(
  baseline: string,
  cases: readonly Pick<StoredCase, 'caseId' | 'tier'>[],
  outcomes: readonly CallOutcome[],
  tiers: ReadonlyMap<string, { model: string }>,
): CaseResult[] {
  // caseId → model → its samples by repeat index: every repeat counts, as in the run that stored them.
  const calls = new Map<string, Map<string, CallOutcome[]>>();
  for (const o of outcomes) {
    const byModel = calls.get(o.caseId) ?? new Map<string, CallOutcome[]>();
    const samples = byModel.get(o.modelKey) ?? [];
    samples[o.repeat] = o;
    byModel.set(o.modelKey, samples);
    calls.set(o.caseId, byModel);
  }
  const results: CaseResult[] = [];
  for (const c of cases) {
    const byModel = calls.get(c.caseId);
    const baselines = byModel?.get(baseline)?.filter((o) => o !== undefined);
    if (!byModel || !baselines?.length) continue;
    const model = tiers.get(c.tier)?.model ?? [...byModel.keys()].find((k) => k !== baseline) ?? baseline;
    const candidates = model === baseline ? baselines : byModel.get(model)?.filter((o) => o !== undefined);
    if (!candidates?.length) continue;
    results.push({
      caseId: c.caseId,
      tier: c.tier,
      baseline: baselines[0]!,
      candidate: candidates[0]!,
      ...(baselines.length > 1 || candidates.length > 1 ? { repeats: { baseline: baselines, candidate: candidates } } : {}),
    });
  }
  return results;
}

/** Whether the attached input database (an older schema version, maybe) has this table. */
function hasTable(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM src.sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}
