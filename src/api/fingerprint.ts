/**
 * What decides a run's results, hashed part by part and stored with the run. A resume continues a run
 * with the calls and grades it already stored; if the suite, prompt, graders, goldens, cases or models
 * changed in between, old outputs graded the old way would be mixed with new ones and the verdict would
 * describe neither version. So `--resume` compares the fingerprints and refuses (exit 2), saying exactly
 * what changed; a fresh run is the way to evaluate the new version.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { MAX_NAMED_FILE_BYTES } from '../config/files.js';
import { resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import type { EvalConfig, ModelConfig, Suite } from '../core/types.js';
import { canonicalJson } from '../core/canonical-json.js';

export interface RunFingerprint {
  version: 1;
  /** Prompt template and the suite's request params. */
  prompt: string;
  /** Grader specs and the files they name (schemas, modules, templates). */
  graders: string;
  /** Per model the run uses (and the judge): provider, model id, endpoint, params. */
  models: Record<string, string>;
  /** Per case: vars or messages, attachments, task, tags, metadata (rendering is the prompt's part). */
  cases: Record<string, string>;
  /** Per case with a golden: what a correct output is. */
  goldens: Record<string, string>;
}

/** Key-sorted JSON in which bytes (attachments) stand as their sha256. */
const stableJson = (value: unknown): string => canonicalJson(value, bytesAsDigest);

function bytesAsDigest(v: unknown): unknown {
  if (v instanceof Uint8Array) return digestOf(v);
  // A Buffer reaches the replacer already turned into { type: 'Buffer', data } by its toJSON.
  if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
    return `sha256:${createHash('sha256').update(Buffer.from((v as { data: number[] }).data)).digest('hex')}`;
  }
  return v;
}

/**
 * `sha256:` + hex of the bytes, once per distinct buffer: every case attaching a file shares its Buffer,
 * and one fingerprint is made at each run's start and resume.
 */
const digests = new WeakMap<Uint8Array, string>();
function digestOf(bytes: Uint8Array): string {
  let d = digests.get(bytes);
  if (d === undefined) digests.set(bytes, (d = `sha256:${createHash('sha256').update(bytes).digest('hex')}`));
  return d;
}

const hash = (value: unknown): string => createHash('sha256').update(stableJson(value)).digest('hex').slice(0, 16);

/** Contents of the files a grader spec names (any string option that is a file in the suite folder). */
function graderFiles(suite: Suite): Record<string, string> {
  const files: Record<string, string> = {};
  for (const spec of suite.graders) {
    for (const v of Object.values(spec)) {
      if (typeof v !== 'string' || v.length > 4096 || v.includes('\n')) continue;
      const path = resolve(suite.dir, v);
      try {
        // Grader files were vetted when the graders were built; the size bound keeps an option that merely
        // names some huge file (a rubric that reads like a path) from being pulled into memory here.
        const st = statSync(path);
        if (st.isFile() && st.size <= MAX_NAMED_FILE_BYTES) files[v] = createHash('sha256').update(readFileSync(path)).digest('hex');
      } catch {
        // Not a file: an ordinary option value.
      }
    }
  }
  return files;
}

/** What a model answers with: not its price or pacing, which change cost and speed but not outputs. */
function modelIdentity(m: ModelConfig): unknown {
  return { provider: m.provider, model: m.model, baseURL: m.baseURL ?? null, apiVersion: m.apiVersion ?? null, params: m.params, path: m.path ?? null };
}

export function runFingerprint(ctx: {
  suite: Suite;
  config: EvalConfig;
  /** Model keys the run calls (baseline, tier models, judges). */
  models: Iterable<string>;
}): RunFingerprint {
  const { suite, config } = ctx;
  const models: Record<string, string> = {};
  for (const key of [...new Set(ctx.models)].sort()) {
    const m = config.models.get(key);
    if (m) models[key] = hash(modelIdentity(m));
  }
  const cases: Record<string, string> = {};
  const goldens: Record<string, string> = {};
  for (const c of suite.cases) {
    const { origin: _origin, attachments, ...rest } = c;
    // Attachment bytes stand as their digest, put in place here: left to JSON.stringify, a Buffer's toJSON
    // first copies it into an array of numbers (~40 ms a megabyte, per case attaching it).
    cases[c.id] = hash(attachments ? { ...rest, attachments: attachments.map((a) => ({ ...a, data: digestOf(a.data) })) } : rest);
    const g = suite.goldens.get(c.id);
    if (g) {
      const { origin: _o, status: _s, human: _h, ...expectation } = g;
      goldens[c.id] = hash(expectation);
    }
  }
  return {
    version: 1,
    prompt: hash({ prompt: suite.prompt, params: suite.params }),
    graders: hash({ graders: suite.graders, files: graderFiles(suite), judge: config.judge ?? null }),
    models,
    cases,
    goldens,
  };
}

/** What differs between the stored and the current fingerprint, one phrase per part; empty when equal. */
export function fingerprintChanges(stored: RunFingerprint, current: RunFingerprint): string[] {
  const changes: string[] = [];
  if (stored.prompt !== current.prompt) changes.push('the prompt or the suite params changed');
  if (stored.graders !== current.graders) changes.push('the graders (or a file they use, or the judge) changed');
  const perKey = (what: string, a: Record<string, string>, b: Record<string, string>): void => {
    const changed = Object.keys(b).filter((k) => k in a && a[k] !== b[k]);
    const added = Object.keys(b).filter((k) => !(k in a));
    const removed = Object.keys(a).filter((k) => !(k in b));
    const list = (ids: string[]) => ids.slice(0, 5).map((id) => `"${id}"`).join(', ') + (ids.length > 5 ? `, … (${ids.length} in all)` : '');
    if (changed.length) changes.push(`${what} changed: ${list(changed)}`);
    if (added.length) changes.push(`${what} added: ${list(added)}`);
    if (removed.length) changes.push(`${what} removed: ${list(removed)}`);
  };
  perKey('models', stored.models, current.models);
  perKey('cases', stored.cases, current.cases);
  perKey('goldens', stored.goldens, current.goldens);
  return changes;
}

/**
 * Refuses to resume `runId` when what decides its results changed since it started. Runs stored before
 * fingerprints existed cannot be checked, so they cannot be resumed either.
 */
export function checkResumable(runId: string, stored: string | undefined, current: RunFingerprint): void {
  const fresh = 'start a new run (without --resume) to evaluate the current version';
  if (stored === undefined) {
    throw new UsageError(`run ${runId} was stored by an older evalroute that did not record what decided its results, so a resume could mix versions\n  → ${fresh}`);
  }
  let previous: RunFingerprint;
  try {
    previous = JSON.parse(stored) as RunFingerprint;
  } catch {
    throw new UsageError(`run ${runId}: its stored fingerprint is not valid JSON (the database was edited?)\n  → ${fresh}`);
  }
  const changes = fingerprintChanges(previous, current);
  if (changes.length) {
    throw new UsageError(
      `cannot resume run ${runId}: what decides its results changed since it started, so its stored outputs and grades belong to the old version:\n` +
        `${changes.map((c) => `  - ${c}`).join('\n')}\n  → ${fresh}, or restore the files as they were to finish the old one`,
    );
  }
}
