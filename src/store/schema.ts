/**
 * The results database schema, as an ordered list of migrations. Migration i takes a database from
 * `PRAGMA user_version = i` to `i + 1`; never edit a shipped migration, append a new one instead.
 */

/** Marker row that tells our databases apart from any other SQLite file that happens to be passed as --db. */
export const APP_MARKER = { key: 'app', value: 'evalroute' } as const;

export const MIGRATIONS: readonly string[] = [
  // v1
  `
  CREATE TABLE evalroute_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  INSERT INTO evalroute_meta (key, value) VALUES ('${APP_MARKER.key}', '${APP_MARKER.value}');

  CREATE TABLE runs (
    id              TEXT PRIMARY KEY,
    suite           TEXT NOT NULL,
    suite_dir       TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('running', 'complete', 'incomplete', 'interrupted')),
    started_at      TEXT NOT NULL,
    finished_at     TEXT,
    config_content  TEXT NOT NULL,
    routing_file    TEXT NOT NULL,
    routing_content TEXT NOT NULL,
    routing_hash    TEXT NOT NULL,
    git_commit      TEXT,
    baseline        TEXT NOT NULL,
    summary_json    TEXT
  );
  CREATE INDEX runs_by_start ON runs (started_at);
  CREATE INDEX runs_by_suite ON runs (suite, started_at);
  CREATE INDEX runs_by_routing ON runs (routing_hash);

  CREATE TABLE run_cases (
    run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    case_id     TEXT NOT NULL,
    ordinal     INTEGER NOT NULL,
    tier        TEXT NOT NULL,
    case_json   TEXT NOT NULL,
    golden_json TEXT,
    input_json  TEXT,
    PRIMARY KEY (run_id, case_id)
  );

  CREATE TABLE responses (
    id                  INTEGER PRIMARY KEY,
    run_id              TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    case_id             TEXT NOT NULL,
    model_key           TEXT NOT NULL,
    repeat              INTEGER NOT NULL,
    request_hash        TEXT NOT NULL,
    text                TEXT,
    input_tokens        INTEGER,
    output_tokens       INTEGER,
    cached_input_tokens INTEGER,
    tokens_estimated    INTEGER,
    latency_ms          REAL,
    cost_usd            REAL,
    request_id          TEXT,
    api_model           TEXT,
    attempts            INTEGER,
    cached              INTEGER,
    error_kind          TEXT,
    error_message       TEXT,
    error_status        INTEGER,
    pass                INTEGER NOT NULL,
    score               REAL NOT NULL,
    created_at          TEXT NOT NULL,
    UNIQUE (run_id, case_id, model_key, repeat)
  );
  -- The response cache only ever serves successes, so the index holds only those.
  CREATE INDEX responses_cache ON responses (request_hash, cached) WHERE error_kind IS NULL;

  CREATE TABLE grades (
    run_id      TEXT NOT NULL,
    case_id     TEXT NOT NULL,
    model_key   TEXT NOT NULL,
    repeat      INTEGER NOT NULL,
    grader      TEXT NOT NULL,
    ordinal     INTEGER NOT NULL,
    score       REAL NOT NULL,
    pass        INTEGER NOT NULL,
    explanation TEXT,
    error       TEXT,
    PRIMARY KEY (run_id, case_id, model_key, repeat, grader),
    FOREIGN KEY (run_id, case_id, model_key, repeat)
      REFERENCES responses (run_id, case_id, model_key, repeat) ON DELETE CASCADE
  );
  `,
  // v2: calls that belong to no (case, model) row — judge calls — so reruns can reuse them too.
  `
  CREATE TABLE call_cache (
    request_hash    TEXT PRIMARY KEY,
    completion_json TEXT NOT NULL,
    created_at      TEXT NOT NULL
  );
  `,
  // Attached images and PDFs, once per distinct content; run_cases.input_json refers to them by sha256.
  `
  CREATE TABLE attachments (
    sha256     TEXT PRIMARY KEY,
    media_type TEXT NOT NULL,
    bytes      INTEGER NOT NULL,
    data       BLOB NOT NULL
  );
  `,
  // Provider batches of a run (`run --batch`), saved on submission so `batch collect` can fetch them later.
  `
  CREATE TABLE batches (
    run_id       TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    model_key    TEXT NOT NULL,
    provider     TEXT NOT NULL,
    batch_id     TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('submitted', 'collected')),
    items_json   TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    collected_at TEXT,
    PRIMARY KEY (run_id, model_key, batch_id)
  );
  `,
  // What decided the run's results (suite, prompt, graders, cases, goldens, models), so a resume can
  // refuse to mix versions; and the lock a process holds while it makes a run's calls.
  `
  ALTER TABLE runs ADD COLUMN fingerprint_json TEXT;
  CREATE TABLE run_locks (
    run_id     TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    pid        INTEGER NOT NULL,
    host       TEXT NOT NULL,
    -- Tells two stores of one process apart (library use), where pid and host are the same.
    token      TEXT NOT NULL,
    started_at TEXT NOT NULL
  );
  `,
];

/** The schema version this code writes and understands. */
export const STORE_SCHEMA_VERSION = MIGRATIONS.length;
