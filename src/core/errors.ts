/**
 * Every failure evalroute reports is one of these classes. Each carries a stable `code` (for tests and
 * machine consumers) and the process exit code the CLI maps it to. Messages say what went wrong, where,
 * and what to do next — they are shown to users as they are.
 */

export type ExitCode = 0 | 1 | 2 | 3;

export abstract class EvalrouteError extends Error {
  abstract readonly code: string;
  /** Exit code the CLI uses when this error ends a command. */
  readonly exitCode: ExitCode = 2;
}

export interface SourceLocation {
  file: string;
  /** 1-based line number (JSONL files, YAML files where known). */
  line?: number;
  /** Dot path inside a YAML/JSON document, e.g. `tiers.cheap.gate.minPassRate`. */
  path?: string;
}

export function formatLocation(loc: SourceLocation): string {
  let s = loc.file;
  if (loc.line !== undefined) s += `:${loc.line}`;
  if (loc.path) s += ` (at ${loc.path})`;
  return s;
}

/** A config, routing, suite, case or golden file is wrong. Exit 2. */
export class ConfigError extends EvalrouteError {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly location: SourceLocation,
    readonly problem: string,
    readonly hint?: string,
  ) {
    super(`${formatLocation(location)}: ${problem}${hint ? `\n  → ${hint}` : ''}`);
    this.name = 'ConfigError';
  }
}

/** The command line itself is wrong (unknown run id, conflicting flags…). Exit 2. */
export class UsageError extends EvalrouteError {
  readonly code = 'USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An API key the config asks for is not in the environment. Exit 2, before any call is made. */
export class MissingKeyError extends EvalrouteError {
  readonly code = 'MISSING_API_KEY';
  constructor(
    readonly modelKey: string,
    readonly envVar: string,
    /** What the variable holds: an API key, or a base URL a gateway config reads from the environment. */
    readonly what: 'API key' | 'base URL' = 'API key',
  ) {
    super(
      `model "${modelKey}" needs ${what === 'API key' ? 'an API key' : 'its base URL'} in the environment variable ${envVar}, which is not set\n` +
        `  → export ${envVar}=…${what === 'API key' ? ' (or set apiKeyEnv on the model)' : ' (or set baseURL on the model)'}, or use --offline to run from cached responses only`,
    );
    this.name = 'MissingKeyError';
  }
}

/** The results database cannot be used (not SQLite, newer schema, locked…). Exit 2; never modified. */
export class StoreError extends EvalrouteError {
  readonly code = 'STORE_INVALID';
  /** Another connection holds the write lock: the same write may succeed a moment later. */
  readonly busy: boolean;
  constructor(
    readonly file: string,
    problem: string,
    hint?: string,
    opts: { busy?: boolean } = {},
  ) {
    super(`${file}: ${problem}${hint ? `\n  → ${hint}` : ''}`);
    this.name = 'StoreError';
    this.busy = opts.busy === true;
  }
}

export type ProviderErrorKind =
  | 'rate_limit'
  | 'server'
  | 'timeout'
  | 'connection'
  | 'auth'
  | 'bad_request'
  | 'not_found'
  | 'malformed_response'
  | 'missing_recording'
  | 'offline_miss'
  | 'budget'
  | 'aborted';

/**
 * One model call failed. Not fatal to a run: the engine stores it as that case's error and counts it.
 * `retryable` tells the retry policy whether another attempt can help.
 */
export class ProviderError extends EvalrouteError {
  readonly code = 'PROVIDER_ERROR';
  readonly kind: ProviderErrorKind;
  readonly retryable: boolean;
  readonly status?: number;
  readonly requestId?: string;
  /** Milliseconds the provider asked us to wait (Retry-After / retry-after-ms). */
  readonly retryAfterMs?: number;
  /** The endpoint that was called, credentials removed: a wrong base URL shows at a glance. */
  readonly url?: string;
  constructor(
    message: string,
    opts: { kind: ProviderErrorKind; retryable: boolean; status?: number; requestId?: string; retryAfterMs?: number; url?: string },
  ) {
    super(message);
    this.name = 'ProviderError';
    this.kind = opts.kind;
    this.retryable = opts.retryable;
    if (opts.status !== undefined) this.status = opts.status;
    if (opts.requestId !== undefined) this.requestId = opts.requestId;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
    if (opts.url !== undefined) this.url = opts.url;
  }
}

/** What a call that the run's stop cut short fails with: not stored, redone on resume. */
export function stoppedError(): ProviderError {
  return new ProviderError('call aborted: the run is stopping', { kind: 'aborted', retryable: false });
}

/** A grader could not produce a verdict (judge returned garbage twice, schema file broken…). */
export class GraderError extends EvalrouteError {
  readonly code = 'GRADER_ERROR';
  constructor(
    readonly grader: string,
    message: string,
  ) {
    super(message);
    this.name = 'GraderError';
  }
}

/** The run could not finish with enough data to gate on. Exit 3. */
export class RunIncompleteError extends EvalrouteError {
  readonly code = 'RUN_INCOMPLETE';
  override readonly exitCode = 3;
  constructor(message: string) {
    super(message);
    this.name = 'RunIncompleteError';
  }
}
