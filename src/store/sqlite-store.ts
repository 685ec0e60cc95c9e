/**
 * The results database: runs, the cases they routed, every model call with its grades. One SQLite file
 * (better-sqlite3, WAL) so a CI job can cache it, a reviewer can open it, and `simulate` can re-score
 * stored outputs with no API calls.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type {
  Attachment,
  CallError,
  CallOutcome,
  ChatMessage,
  Completion,
  Grade,
  NewRun,
  RunLockHolder,
  RunRecord,
  RunStatus,
  StoredBatch,
  RunSummary,
  Store,
  StoredCase,
} from '../core/types.js';
import { EvalrouteError, StoreError, UsageError } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { APP_MARKER, MIGRATIONS, STORE_SCHEMA_VERSION } from './schema.js';

export { STORE_SCHEMA_VERSION } from './schema.js';

export interface OpenStoreOptions {
  /** Open for reading only (reports, simulate): nothing is created, migrated or written. */
  readonly?: boolean;
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const BUSY_TIMEOUT_MS = 5000;
/**
 * The lock wait of the writes made while calls are in flight (saveCall, cacheCompletion). SQLite waits
 * synchronously, freezing every in-flight HTTP call of the process, so these wait briefly and report
 * `busy`; the engine waits again asynchronously (engine/store-retry.ts).
 */
const IN_RUN_BUSY_TIMEOUT_MS = 25;
const OTHER_DB_HINT = 'pass --db with another path (evalroute left this file untouched)';

/** True when `path` is a file that starts with the SQLite header. Missing or unreadable files are not. */
export function isSqliteFile(path: string): boolean {
  try {
    return readHeader(path).equals(SQLITE_MAGIC);
  } catch {
    return false;
  }
}

function readHeader(path: string): Buffer {
  const buf = Buffer.alloc(SQLITE_MAGIC.length);
  const fd = openSync(path, 'r');
  try {
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * Open (creating if needed) the results database at `file`. Everything that could make us reject the
 * file is checked before any write, so a foreign or newer database is never modified.
 */
export function openStore(file: string, opts: OpenStoreOptions = {}): SqliteStore {
  const path = resolve(file);
  const readonly = opts.readonly === true;
  const kind = inspectFile(path);
  if (kind === 'missing' && readonly) {
    throw new StoreError(path, 'no results database exists here', 'run `evalroute run` first, or pass --db with the path of an existing database');
  }
  let version = 0;
  if (kind === 'sqlite') version = probe(path);
  if (readonly && version < STORE_SCHEMA_VERSION) {
    throw new StoreError(
      path,
      version === 0 ? 'holds no evalroute results yet' : `uses results schema v${version}; this version needs v${STORE_SCHEMA_VERSION}`,
      'run a command that writes results (e.g. `evalroute run`) once to create or upgrade it, then retry',
    );
  }

  let db: Database.Database;
  try {
    if (!readonly) mkdirSync(dirname(path), { recursive: true });
    db = readonly ? openReadOnly(path) : new Database(path);
  } catch (e) {
    throw new StoreError(path, `cannot be opened: ${(e as Error).message}`, 'check the folder exists and is writable, or pass --db another path');
  }
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (!readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('foreign_keys = ON');
    if (!readonly) migrate(db, path);
  } catch (e) {
    db.close();
    throw toStoreError(path, 'prepare the database', e);
  }
  return new SqliteStore(db, path, readonly);
}

function inspectFile(path: string): 'missing' | 'empty' | 'sqlite' {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) {
      throw new StoreError(path, 'is a folder, not a results database file', 'pass --db with a file path, e.g. .evalroute/evalroute.db');
    }
    size = st.size;
  } catch (e) {
    if (e instanceof StoreError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw new StoreError(path, `cannot be read: ${(e as Error).message}`, OTHER_DB_HINT);
  }
  if (size === 0) return 'empty';
  let header: Buffer;
  try {
    header = readHeader(path);
  } catch (e) {
    throw new StoreError(path, `cannot be read: ${(e as Error).message}`, OTHER_DB_HINT);
  }
  if (!header.equals(SQLITE_MAGIC)) {
    throw new StoreError(path, 'is not an evalroute results database (it is not an SQLite file)', OTHER_DB_HINT);
  }
  return 'sqlite';
}

/**
 * Look inside an existing SQLite file through a read-only connection and decide whether we may use it.
 * Returns its schema version. A read-only connection to a WAL database creates empty -wal/-shm files
 * that it cannot remove; when we reject the file we remove the ones we created, so it is left as found.
 */
function probe(path: string): number {
  const createdByUs = [`${path}-wal`, `${path}-shm`].filter((p) => !existsSync(p));
  let db: Database.Database | undefined;
  let verdict: StoreError | undefined;
  let version = 0;
  try {
    db = openReadOnly(path);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    version = db.pragma('user_version', { simple: true }) as number;
    const tables = db
      .prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`)
      .pluck()
      .all() as string[];
    const ours =
      tables.includes('evalroute_meta') &&
      db.prepare('SELECT value FROM evalroute_meta WHERE key = ?').pluck().get(APP_MARKER.key) === APP_MARKER.value;
    if (!ours && (tables.length > 0 || version > 0)) {
      const shown = tables.slice(0, 5).join(', ') + (tables.length > 5 ? ', …' : '');
      verdict = new StoreError(
        path,
        `is an SQLite database but not an evalroute results database (${tables.length ? `tables: ${shown}` : `user_version ${version}`})`,
        OTHER_DB_HINT,
      );
    } else if (version > STORE_SCHEMA_VERSION) {
      verdict = new StoreError(
        path,
        `created by a newer evalroute (schema v${version}, this version knows v${STORE_SCHEMA_VERSION}); upgrade evalroute or use another --db`,
      );
    }
  } catch (e) {
    verdict = new StoreError(path, `cannot be read as an SQLite database: ${(e as Error).message}`, OTHER_DB_HINT);
  } finally {
    db?.close();
  }
  if (verdict) {
    removeEmptySidecars(path, createdByUs);
    throw verdict;
  }
  return version;
}

/**
 * A read-only connection. SQLite needs to create the -shm file next to a WAL database even to read it,
 * which fails in a read-only folder (a downloaded CI artifact, a mounted volume). There the file is read
 * into memory and opened from that copy — with its header set back from WAL to rollback mode, which is
 * how an in-memory database must be — unless a -wal file still holds changes the copy would miss.
 */
function openReadOnly(path: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    // The connection opens lazily: the first read is where a missing -shm shows.
    db.pragma('schema_version');
    return db;
  } catch (e) {
    db?.close();
    const code = e instanceof Database.SqliteError ? e.code : '';
    if (code !== 'SQLITE_READONLY_DIRECTORY' && code !== 'SQLITE_CANTOPEN' && !code.startsWith('SQLITE_READONLY')) throw e;
    const wal = `${path}-wal`;
    if (existsSync(wal) && statSync(wal).size > 0) {
      throw new StoreError(
        path,
        'is in a read-only folder and its -wal file holds changes not yet in the database, so it cannot be read here',
        'open it once from a writable folder (any evalroute command, e.g. evalroute runs), or copy the folder somewhere writable',
      );
    }
    const image = readFileSync(path);
    if (image.length > 19 && image[18] === 2 && image[19] === 2) image[18] = image[19] = 1;
    return new Database(image, { readonly: true });
  }
}

function removeEmptySidecars(path: string, created: string[]): void {
  const wal = `${path}-wal`;
  try {
    if (created.includes(wal) && existsSync(wal) && statSync(wal).size > 0) return;
    for (const p of created) if (existsSync(p)) unlinkSync(p);
  } catch {
    // Best effort: leftover empty sidecar files do not change the database itself.
  }
}

/** Apply pending migrations in one immediate transaction, so two processes never migrate at once. */
function migrate(db: Database.Database, path: string): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > STORE_SCHEMA_VERSION) {
      throw new StoreError(
        path,
        `created by a newer evalroute (schema v${version}, this version knows v${STORE_SCHEMA_VERSION}); upgrade evalroute or use another --db`,
      );
    }
    for (let v = version; v < STORE_SCHEMA_VERSION; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}

/** A lock is stale when its process is gone; only a process on this host can be checked. */
function isStale(holder: RunLockHolder, host: string): boolean {
  if (holder.host !== host) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else — still alive.
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function toStoreError(file: string, what: string, e: unknown): Error {
  if (e instanceof EvalrouteError) return e;
  if (e instanceof Database.SqliteError) {
    const code = e.code;
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
      return new StoreError(file, `is locked by another process; could not ${what}`, 'wait for the other evalroute command to finish, or pass --db another path', { busy: true });
    }
    if (code === 'SQLITE_FULL') return new StoreError(file, `could not ${what}: the disk is full`, 'free some space and resume the run');
    if (code.startsWith('SQLITE_READONLY')) {
      return new StoreError(file, `could not ${what}: the file or its folder is read-only`, 'check permissions, or pass --db a writable path');
    }
    return new StoreError(file, `could not ${what}: ${e.message} (${code})`);
  }
  return e instanceof Error ? e : new Error(String(e));
}

// ───────────────────────────── rows ─────────────────────────────

export interface RunRow {
  id: string;
  suite: string;
  suite_dir: string;
  status: RunStatus;
  started_at: string;
  finished_at: string | null;
  config_content: string;
  routing_file: string;
  routing_content: string;
  routing_hash: string;
  git_commit: string | null;
  baseline: string;
  summary_json: string | null;
  fingerprint_json: string | null;
}

interface CaseRow {
  case_id: string;
  tier: string;
  case_json: string;
  golden_json: string | null;
  input_json: string | null;
}

/** Columns that rebuild a Completion; shared by the cache lookup and getCalls. */
interface CompletionRow {
  text: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cached_input_tokens: number | null;
  tokens_estimated: number | null;
  latency_ms: number | null;
  cost_usd: number | null;
  request_id: string | null;
  api_model: string | null;
  attempts: number | null;
  cached: number | null;
}

interface ResponseRow extends CompletionRow {
  case_id: string;
  model_key: string;
  repeat: number;
  request_hash: string;
  error_kind: string | null;
  error_message: string | null;
  error_status: number | null;
  pass: number;
  score: number;
}

interface GradeRow {
  case_id: string;
  model_key: string;
  repeat: number;
  grader: string;
  score: number;
  pass: number;
  explanation: string | null;
  error: string | null;
}

const COMPLETION_COLUMNS =
  'text, input_tokens, output_tokens, cached_input_tokens, tokens_estimated, latency_ms, cost_usd, request_id, api_model, attempts, cached';

const RUN_ID_CHARS = /^[A-Za-z0-9_-]+$/;

function newRunId(at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `r${stamp}-${randomBytes(2).toString('hex')}`;
}

function bool(v: boolean | undefined): number | null {
  return v === undefined ? null : v ? 1 : 0;
}

function callKey(caseId: string, modelKey: string, repeat: number): string {
  return `${caseId}\u0000${modelKey}\u0000${repeat}`;
}

/**
 * JSON of a case or conversation with each attachment reduced to its reference; the bytes go to the
 * attachments table once per content hash (`found` collects them), never into every row that uses them.
 */
function jsonWithAttachmentRefs(value: unknown, found: Map<string, Attachment>, hasFiles: boolean): string {
  // Without files the replacer would change nothing, and a replacer costs JSON.stringify its fast path.
  if (!hasFiles) return JSON.stringify(value);
  return JSON.stringify(value, (key, v: unknown) => {
    if (key !== 'attachments' || !Array.isArray(v)) return v;
    return (v as Attachment[]).map(({ data, ...ref }) => {
      found.set(ref.sha256, { ...ref, data });
      return ref;
    });
  });
}

const carriesFiles = (m: ChatMessage): boolean => Boolean(m.attachments?.length);

function withoutOrigin<T extends { origin: unknown }>(value: T): Omit<T, 'origin'> {
  const { origin: _origin, ...rest } = value;
  return rest;
}

function rowToCompletion(row: CompletionRow): Completion | undefined {
  if (row.text === null) return undefined;
  const c: Completion = {
    text: row.text,
    usage: { input: row.input_tokens ?? 0, output: row.output_tokens ?? 0 },
    latencyMs: row.latency_ms ?? 0,
  };
  if (row.cached_input_tokens !== null) c.usage.cachedInput = row.cached_input_tokens;
  if (row.tokens_estimated !== null) c.usage.estimated = row.tokens_estimated === 1;
  if (row.cost_usd !== null) c.costUsd = row.cost_usd;
  if (row.request_id !== null) c.requestId = row.request_id;
  if (row.api_model !== null) c.model = row.api_model;
  if (row.attempts !== null) c.attempts = row.attempts;
  if (row.cached !== null) c.cached = row.cached === 1;
  return c;
}

function rowToGrade(row: GradeRow): Grade {
  const g: Grade = { grader: row.grader, score: row.score, pass: row.pass === 1 };
  if (row.explanation !== null) g.explanation = row.explanation;
  if (row.error !== null) g.error = row.error;
  return g;
}

// ───────────────────────────── the store ─────────────────────────────

export class SqliteStore implements Store {
  readonly #db: Database.Database;
  readonly #stmt;
  readonly #beginTx;
  readonly #saveTx;
  /** Runs this store locked (lockRun), released on close. */
  readonly #locked = new Set<string>();
  readonly #lockToken = randomBytes(8).toString('hex');

  constructor(
    db: Database.Database,
    /** Absolute path of the database file. */
    readonly file: string,
    readonly readonly: boolean,
  ) {
    this.#db = db;
    this.#stmt = {
      runExists: db.prepare<[string], 1>('SELECT 1 FROM runs WHERE id = ?').pluck(),
      insertRun: db.prepare(
        `INSERT INTO runs (id, suite, suite_dir, status, started_at, config_content, routing_file, routing_content, routing_hash, git_commit, baseline, fingerprint_json)
         VALUES (@id, @suite, @suite_dir, 'running', @started_at, @config_content, @routing_file, @routing_content, @routing_hash, @git_commit, @baseline, @fingerprint_json)`,
      ),
      insertCase: db.prepare(
        `INSERT INTO run_cases (run_id, case_id, ordinal, tier, case_json, golden_json, input_json)
         VALUES (@run_id, @case_id, @ordinal, @tier, @case_json, @golden_json, @input_json)`,
      ),
      insertAttachment: db.prepare<[string, string, number, Buffer]>('INSERT OR IGNORE INTO attachments (sha256, media_type, bytes, data) VALUES (?, ?, ?, ?)'),
      getAttachment: db.prepare<[string], Buffer>('SELECT data FROM attachments WHERE sha256 = ?').pluck(),
      finishRun: db.prepare('UPDATE runs SET status = ?, finished_at = ?, summary_json = ? WHERE id = ?'),
      deleteGrades: db.prepare('DELETE FROM grades WHERE run_id = ? AND case_id = ? AND model_key = ? AND repeat = ?'),
      deleteResponse: db.prepare('DELETE FROM responses WHERE run_id = ? AND case_id = ? AND model_key = ? AND repeat = ?'),
      insertResponse: db.prepare(
        `INSERT INTO responses (run_id, case_id, model_key, repeat, request_hash, ${COMPLETION_COLUMNS},
           error_kind, error_message, error_status, pass, score, created_at)
         VALUES (@run_id, @case_id, @model_key, @repeat, @request_hash, @text, @input_tokens, @output_tokens, @cached_input_tokens,
           @tokens_estimated, @latency_ms, @cost_usd, @request_id, @api_model, @attempts, @cached,
           @error_kind, @error_message, @error_status, @pass, @score, @created_at)`,
      ),
      insertGrade: db.prepare(
        `INSERT INTO grades (run_id, case_id, model_key, repeat, grader, ordinal, score, pass, explanation, error)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      // A row served from the cache is a copy; prefer the newest real call so its original cost is kept.
      findCached: db.prepare<[string], CompletionRow>(
        `SELECT ${COMPLETION_COLUMNS} FROM responses
         WHERE request_hash = ? AND error_kind IS NULL AND text IS NOT NULL
         ORDER BY cached ASC, id DESC LIMIT 1`,
      ),
      findExtraCached: db.prepare<[string], { completion_json: string }>('SELECT completion_json FROM call_cache WHERE request_hash = ?'),
      cacheExtra: db.prepare<[string, string, string]>(
        'INSERT INTO call_cache (request_hash, completion_json, created_at) VALUES (?, ?, ?) ON CONFLICT (request_hash) DO UPDATE SET completion_json = excluded.completion_json, created_at = excluded.created_at',
      ),
      listRuns: db.prepare<[number], RunRow>('SELECT * FROM runs ORDER BY started_at DESC, rowid DESC LIMIT ?'),
      getRun: db.prepare<[string], RunRow>('SELECT * FROM runs WHERE id = ?'),
      // GLOB is case-sensitive and index-friendly; callers only pass [A-Za-z0-9_-], so no escaping is needed.
      runsByPrefix: db.prepare<[string], RunRow>(`SELECT * FROM runs WHERE id GLOB ? || '*' ORDER BY started_at DESC LIMIT 6`),
      getCases: db.prepare<[string], CaseRow>(
        'SELECT case_id, tier, case_json, golden_json, input_json FROM run_cases WHERE run_id = ? ORDER BY ordinal',
      ),
      getResponses: db.prepare<[string], ResponseRow>(
        `SELECT r.case_id, r.model_key, r.repeat, r.request_hash, ${COMPLETION_COLUMNS.split(', ').map((c) => `r.${c}`).join(', ')},
           r.error_kind, r.error_message, r.error_status, r.pass, r.score
         FROM responses r LEFT JOIN run_cases c ON c.run_id = r.run_id AND c.case_id = r.case_id
         WHERE r.run_id = ? ORDER BY c.ordinal, r.case_id, r.model_key, r.repeat`,
      ),
      getGrades: db.prepare<[string], GradeRow>(
        'SELECT case_id, model_key, repeat, grader, score, pass, explanation, error FROM grades WHERE run_id = ? ORDER BY ordinal',
      ),
    };
    this.#beginTx = db.transaction((run: NewRun, startedAt: Date): string => this.#insertRun(run, startedAt));
    this.#saveTx = db.transaction((runId: string, outcomes: readonly CallOutcome[]): void => {
      if (this.#stmt.runExists.get(runId) === undefined) {
        throw new StoreError(this.file, `run "${runId}" does not exist in this database`, 'start the run with beginRun before saving calls');
      }
      for (const o of outcomes) this.#insertCall(runId, o);
    });
  }

  beginRun(run: NewRun): string {
    this.#assertWritable('start a run');
    const seen = new Set<string>();
    for (const c of run.cases) {
      if (seen.has(c.id)) {
        throw new StoreError(this.file, `case id "${c.id}" appears twice in the run (${c.origin.file}:${c.origin.line})`, 'give every case a unique id');
      }
      seen.add(c.id);
      if (!run.assignment.has(c.id)) {
        throw new StoreError(this.file, `case "${c.id}" has no tier in the run's routing assignment`, 'route every case before starting a run');
      }
    }
    try {
      return this.#beginTx.immediate(run, new Date());
    } catch (e) {
      throw toStoreError(this.file, 'start a run', e);
    }
  }

  #insertRun(run: NewRun, startedAt: Date): string {
    let id = newRunId(startedAt);
    while (this.#stmt.runExists.get(id) !== undefined) id = newRunId(startedAt);
    this.#stmt.insertRun.run({
      id,
      suite: run.suite,
      suite_dir: run.suiteDir,
      started_at: startedAt.toISOString(),
      // The store is shared as a CI artifact: whatever a caller hands in, no credential is written.
      config_content: redact(run.configContent),
      routing_file: run.routingFile,
      routing_content: redact(run.routingContent),
      routing_hash: run.routingHash,
      git_commit: run.gitCommit ?? null,
      baseline: run.baseline,
      fingerprint_json: run.fingerprint ?? null,
    });
    const attachments = new Map<string, Attachment>();
    run.cases.forEach((c, ordinal) => {
      const golden = run.goldens?.get(c.id);
      const input = run.inputs?.get(c.id);
      this.#stmt.insertCase.run({
        run_id: id,
        case_id: c.id,
        ordinal,
        tier: run.assignment.get(c.id)!,
        case_json: jsonWithAttachmentRefs(withoutOrigin(c), attachments, Boolean(c.attachments?.length || c.messages?.some(carriesFiles))),
        golden_json: golden ? JSON.stringify(withoutOrigin(golden)) : null,
        input_json: input ? jsonWithAttachmentRefs(input, attachments, input.some(carriesFiles)) : null,
      });
    });
    for (const a of attachments.values()) this.#stmt.insertAttachment.run(a.sha256, a.mediaType, a.bytes, a.data);
    return id;
  }

  saveCall(runId: string, outcome: CallOutcome): void {
    this.saveCalls(runId, [outcome]);
  }

  saveCalls(runId: string, outcomes: readonly CallOutcome[]): void {
    this.#assertWritable('save a call');
    for (const outcome of outcomes) this.#assertDistinctGraders(outcome);
    try {
      this.#withShortBusyWait(() => this.#saveTx.immediate(runId, outcomes));
    } catch (e) {
      const [only] = outcomes;
      const what =
        outcomes.length === 1 && only
          ? `save case "${only.caseId}" for model "${only.modelKey}" in run ${runId}`
          : `save ${outcomes.length} calls in run ${runId}`;
      throw toStoreError(this.file, what, e);
    }
  }

  #assertDistinctGraders(outcome: CallOutcome): void {
    const names = new Set<string>();
    for (const g of outcome.grades) {
      if (names.has(g.grader)) {
        throw new StoreError(
          this.file,
          `case "${outcome.caseId}", model "${outcome.modelKey}": two grades are named "${g.grader}"`,
          'give each grader a unique name in suite.yaml',
        );
      }
      names.add(g.grader);
    }
  }

  // db.pragma() each time, not a prepared statement: SQLite applies busy_timeout while preparing the
  // PRAGMA, so running a statement prepared earlier would not switch it (store-busy fails then).
  #withShortBusyWait<T>(write: () => T): T {
    this.#db.pragma(`busy_timeout = ${IN_RUN_BUSY_TIMEOUT_MS}`);
    try {
      return write();
    } finally {
      this.#db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }

  /** Delete then insert (rather than update) so the row id says which answer is newest, for the cache. */
  #insertCall(runId: string, o: CallOutcome): void {
    const key = [runId, o.caseId, o.modelKey, o.repeat] as const;
    this.#stmt.deleteGrades.run(...key);
    this.#stmt.deleteResponse.run(...key);
    const c = o.completion;
    this.#stmt.insertResponse.run({
      run_id: runId,
      case_id: o.caseId,
      model_key: o.modelKey,
      repeat: o.repeat,
      request_hash: o.requestHash,
      text: c?.text ?? null,
      input_tokens: c?.usage.input ?? null,
      output_tokens: c?.usage.output ?? null,
      cached_input_tokens: c?.usage.cachedInput ?? null,
      tokens_estimated: bool(c?.usage.estimated),
      latency_ms: c?.latencyMs ?? null,
      cost_usd: c?.costUsd ?? null,
      request_id: c?.requestId ?? o.error?.requestId ?? null,
      api_model: c?.model ?? null,
      attempts: c?.attempts ?? o.error?.attempts ?? null,
      cached: bool(c?.cached),
      error_kind: o.error?.kind ?? null,
      error_message: o.error?.message ?? null,
      error_status: o.error?.status ?? null,
      pass: o.pass ? 1 : 0,
      score: o.score,
      created_at: new Date().toISOString(),
    });
    o.grades.forEach((g, ordinal) => {
      this.#stmt.insertGrade.run(...key, g.grader, ordinal, g.score, g.pass ? 1 : 0, g.explanation ?? null, g.error ?? null);
    });
  }

  findCachedCompletion(requestHash: string): Completion | undefined {
    const row = this.#stmt.findCached.get(requestHash);
    let c = row ? rowToCompletion(row) : undefined;
    if (!c) {
      const extra = this.#stmt.findExtraCached.get(requestHash);
      if (extra) c = JSON.parse(extra.completion_json) as Completion;
    }
    if (c) c.cached = true;
    return c;
  }

  cacheCompletion(requestHash: string, completion: Completion): void {
    this.#assertWritable('cache a call');
    const { cached: _cached, ...stored } = completion;
    try {
      this.#withShortBusyWait(() => this.#stmt.cacheExtra.run(requestHash, JSON.stringify(stored), new Date().toISOString()));
    } catch (e) {
      throw toStoreError(this.file, 'cache a judge call', e);
    }
  }

  finishRun(runId: string, status: RunStatus, summary: RunSummary): void {
    this.#assertWritable('finish a run');
    let changes: number;
    try {
      changes = this.#stmt.finishRun.run(status, new Date().toISOString(), JSON.stringify(summary), runId).changes;
    } catch (e) {
      throw toStoreError(this.file, `finish run ${runId}`, e);
    }
    if (changes === 0) throw new StoreError(this.file, `run "${runId}" does not exist in this database`, 'check the run id with `evalroute runs`');
  }

  saveBatch(runId: string, batch: StoredBatch): void {
    this.#assertWritable('save a batch');
    try {
      this.#db
        .prepare(
          'INSERT OR REPLACE INTO batches (run_id, model_key, provider, batch_id, status, items_json, submitted_at, collected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(runId, batch.modelKey, batch.provider, batch.batchId, batch.status, JSON.stringify(batch.items), batch.submittedAt ?? new Date().toISOString(), batch.collectedAt ?? null);
    } catch (e) {
      throw toStoreError(this.file, `save batch ${batch.batchId} of run ${runId}`, e);
    }
  }

  getBatches(runId: string): StoredBatch[] {
    const rows = this.#db
      .prepare<[string], { model_key: string; provider: string; batch_id: string; status: StoredBatch['status']; items_json: string; submitted_at: string; collected_at: string | null }>(
        'SELECT * FROM batches WHERE run_id = ? ORDER BY submitted_at, rowid',
      )
      .all(runId);
    return rows.map((r) => ({
      modelKey: r.model_key,
      provider: r.provider,
      batchId: r.batch_id,
      status: r.status,
      items: JSON.parse(r.items_json) as StoredBatch['items'],
      submittedAt: r.submitted_at,
      ...(r.collected_at ? { collectedAt: r.collected_at } : {}),
    }));
  }

  markBatchCollected(runId: string, batchId: string): void {
    this.#assertWritable('mark a batch collected');
    try {
      this.#db.prepare("UPDATE batches SET status = 'collected', collected_at = ? WHERE run_id = ? AND batch_id = ?").run(new Date().toISOString(), runId, batchId);
    } catch (e) {
      throw toStoreError(this.file, `mark batch ${batchId} of run ${runId} collected`, e);
    }
  }

  /** Newest first. A non-positive or infinite limit lists every run. */
  listRuns(limit = 20): RunRecord[] {
    const n = Number.isFinite(limit) && limit > 0 ? Math.floor(limit) : -1;
    return this.#stmt.listRuns.all(n).map((r) => this.#toRecord(r));
  }

  /**
   * By exact id, by the word `latest`, or by a unique id prefix. An ambiguous prefix is a usage error
   * (listing the candidates) rather than a silent pick.
   */
  getRun(runId: string): RunRecord | undefined {
    if (runId === 'latest') {
      const row = this.#stmt.listRuns.get(1);
      return row ? this.#toRecord(row) : undefined;
    }
    const exact = this.#stmt.getRun.get(runId);
    if (exact) return this.#toRecord(exact);
    if (!RUN_ID_CHARS.test(runId)) return undefined;
    const matches = this.#stmt.runsByPrefix.all(runId);
    if (matches.length > 1) {
      const shown = matches.slice(0, 5).map((r) => r.id).join(', ') + (matches.length > 5 ? ', …' : '');
      throw new UsageError(`run id prefix "${runId}" matches several runs in ${this.file} (${shown})\n  → give more characters of the id, or use "latest"`);
    }
    return matches[0] ? this.#toRecord(matches[0]) : undefined;
  }

  /** Cases with their attachments' bytes read back from the attachments table, one Buffer per file. */
  getCases(runId: string): StoredCase[] {
    const loaded = new Map<string, Buffer>();
    return this.#stmt.getCases.all(runId).map((row) => {
      const stored: StoredCase = {
        caseId: row.case_id,
        tier: row.tier,
        case: this.#withAttachmentData(this.#parse(row.case_json, `case "${row.case_id}" of run ${runId}`), loaded, row.case_id) as StoredCase['case'],
      };
      if (row.golden_json !== null) stored.golden = this.#parse(row.golden_json, `golden of case "${row.case_id}"`) as NonNullable<StoredCase['golden']>;
      if (row.input_json !== null) {
        stored.input = this.#withAttachmentData(this.#parse(row.input_json, `input of case "${row.case_id}"`), loaded, row.case_id) as NonNullable<StoredCase['input']>;
      }
      return stored;
    });
  }

  #withAttachmentData(value: unknown, loaded: Map<string, Buffer>, caseId: string): unknown {
    const visit = (v: unknown): void => {
      if (Array.isArray(v)) return v.forEach(visit);
      if (!v || typeof v !== 'object') return;
      const o = v as Record<string, unknown>;
      if (Array.isArray(o.attachments)) {
        for (const ref of o.attachments as Attachment[]) {
          let data = loaded.get(ref.sha256);
          if (!data) {
            data = this.#stmt.getAttachment.get(ref.sha256);
            if (!data) throw new StoreError(this.file, `attachment ${ref.name} (sha256 ${ref.sha256}) of case "${caseId}" is missing from the attachments table`, 'the database was copied or merged without its attachments; re-run the suite');
            loaded.set(ref.sha256, data);
          }
          ref.data = data;
        }
      }
      if (Array.isArray(o.messages)) visit(o.messages);
    };
    visit(value);
    return value;
  }

  /** One query per table, joined in memory: fast enough for tens of thousands of calls. */
  getCalls(runId: string): CallOutcome[] {
    const gradesByCall = new Map<string, Grade[]>();
    for (const row of this.#stmt.getGrades.all(runId)) {
      const key = callKey(row.case_id, row.model_key, row.repeat);
      const list = gradesByCall.get(key);
      if (list) list.push(rowToGrade(row));
      else gradesByCall.set(key, [rowToGrade(row)]);
    }
    return this.#stmt.getResponses.all(runId).map((row) => {
      const outcome: CallOutcome = {
        caseId: row.case_id,
        modelKey: row.model_key,
        repeat: row.repeat,
        requestHash: row.request_hash,
        grades: gradesByCall.get(callKey(row.case_id, row.model_key, row.repeat)) ?? [],
        pass: row.pass === 1,
        score: row.score,
      };
      const completion = rowToCompletion(row);
      if (completion) outcome.completion = completion;
      if (row.error_kind !== null) {
        const error: CallError = { kind: row.error_kind, message: row.error_message ?? '' };
        if (row.request_id !== null) error.requestId = row.request_id;
        if (row.error_status !== null) error.status = row.error_status;
        if (row.attempts !== null) error.attempts = row.attempts;
        outcome.error = error;
      }
      return outcome;
    });
  }

  lockRun(runId: string): void {
    this.#assertWritable('lock a run');
    const me: RunLockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
    let holder: RunLockHolder | undefined;
    try {
      // Immediate: two processes checking the lock at once must not both see it free.
      holder = this.#db.transaction((): RunLockHolder | undefined => {
        const row = this.#db
          .prepare<[string], { pid: number; host: string; token: string; started_at: string }>('SELECT pid, host, token, started_at FROM run_locks WHERE run_id = ?')
          .get(runId);
        const held = row && { pid: row.pid, host: row.host, startedAt: row.started_at };
        if (held && row.token !== this.#lockToken && !isStale(held, me.host)) return held;
        this.#db
          .prepare('INSERT OR REPLACE INTO run_locks (run_id, pid, host, token, started_at) VALUES (?, ?, ?, ?, ?)')
          .run(runId, me.pid, me.host, this.#lockToken, me.startedAt);
        return undefined;
      }).immediate();
      if (!holder) this.#locked.add(runId);
    } catch (e) {
      throw toStoreError(this.file, `lock run ${runId}`, e);
    }
    if (holder) {
      throw new StoreError(
        this.file,
        `run ${runId} is being run by another evalroute ${holder.pid === me.pid && holder.host === me.host ? 'call in this process' : 'process'} (pid ${holder.pid} on host ${holder.host}, since ${holder.startedAt}); ` +
          'two processes would pay for the same calls',
        holder.host === me.host
          ? `wait for process ${holder.pid} to finish (or stop it), then resume again`
          : `wait for that process to finish; if it is gone, delete its lock: sqlite3 ${this.file} "DELETE FROM run_locks WHERE run_id = '${runId}'"`,
      );
    }
  }

  unlockRun(runId: string): void {
    if (this.readonly || !this.#db.open) return;
    try {
      this.#db.prepare('DELETE FROM run_locks WHERE run_id = ? AND token = ?').run(runId, this.#lockToken);
      this.#locked.delete(runId);
    } catch {
      // A lock left behind names a dead process, which the next run takes over.
    }
  }

  /** Also releases the run locks this store took, so a finished or failed run never stays locked. */
  close(): void {
    for (const runId of [...this.#locked]) this.unlockRun(runId);
    if (this.#db.open) this.#db.close();
  }

  #assertWritable(what: string): void {
    if (this.readonly) throw new StoreError(this.file, `was opened read-only, so evalroute cannot ${what}`, 'open the store without readonly to write results');
  }

  #parse(text: string, what: string): unknown {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new StoreError(this.file, `the stored ${what} is not valid JSON (${(e as Error).message})`, 'the database was edited or damaged; start a new run');
    }
  }

  #toRecord(row: RunRow): RunRecord {
    const rec: RunRecord = {
      id: row.id,
      suite: row.suite,
      suiteDir: row.suite_dir,
      status: row.status,
      startedAt: row.started_at,
      configContent: row.config_content,
      routingFile: row.routing_file,
      routingContent: row.routing_content,
      routingHash: row.routing_hash,
      baseline: row.baseline,
    };
    if (row.finished_at !== null) rec.finishedAt = row.finished_at;
    if (row.git_commit !== null) rec.gitCommit = row.git_commit;
    if (row.summary_json !== null) rec.summary = this.#parse(row.summary_json, `summary of run ${row.id}`) as RunSummary;
    if (row.fingerprint_json) rec.fingerprint = row.fingerprint_json;
    return rec;
  }
}
