/**
 * Reading YAML and JSONL files so that every problem points at a line: YAML nodes keep their source
 * offsets, and zod issue paths are walked back through the document to the offending key.
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Node } from 'yaml';
import type { z } from 'zod';
import { ConfigError, formatLocation } from '../core/errors.js';
import type { SourceLocation } from '../core/errors.js';
import { checkSize, MAX_NAMED_FILE_BYTES, regularFileSize, unreadable } from './files.js';

export type PathSegment = string | number;
export type Locate = (path: readonly PathSegment[]) => SourceLocation;

/** `tiers.cheap.gate`, `rules[2].when`, `models["gpt-4.1"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const seg of path) {
    if (typeof seg === 'number') s += `[${seg}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(String(seg))) s += s ? `.${String(seg)}` : String(seg);
    else s += `[${JSON.stringify(String(seg))}]`;
  }
  return s;
}

/**
 * How the loaders get a named file's text: `readText` reads it from disk; a stored run's texts can stand
 * in for its files (see config/load.ts `loadStoredRouting`).
 */
export type TextReader = (file: string, what: string, hint?: string) => { raw: Buffer; text: string };

export function readText(file: string, what: string, hint?: string): { raw: Buffer; text: string } {
  checkSize(regularFileSize(file, what, hint !== undefined ? { hint } : {}), MAX_NAMED_FILE_BYTES, what, { file });
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (e) {
    throw unreadable(file, what, e);
  }
  return { raw, text: stripBom(decodeUtf8(raw, file)) };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Strict UTF-8: a Latin-1 or Windows-1252 file decoded leniently would reach the models with U+FFFD
 * where the user's characters were, and be cached and graded that way without anyone noticing.
 */
function decodeUtf8(raw: Buffer, file: string): string {
  try {
    return utf8.decode(raw);
  } catch {
    let start = 0;
    for (let line = 1; ; line++) {
      const end = raw.indexOf(0x0a, start);
      const slice = raw.subarray(start, end === -1 ? raw.length : end);
      try {
        utf8.decode(slice);
      } catch {
        throw new ConfigError({ file, line }, 'the file is not valid UTF-8 (this line holds bytes that are not UTF-8 text)', 'save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)');
      }
      if (end === -1) throw new ConfigError({ file }, 'the file is not valid UTF-8', 'save the file as UTF-8');
      start = end + 1;
    }
  }
}

/** Longest line a JSONL file may have; a longer one is almost always a broken export, not a case. */
export const MAX_JSONL_LINE_CHARS = 10 * 1024 * 1024;

function stripBom(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

export interface YamlSource<T> {
  file: string;
  /** File content as read (BOM removed). */
  text: string;
  raw: Buffer;
  data: T;
  /** Location of the node at `path`, or of its nearest existing ancestor. */
  at: Locate;
}

/** Parses a YAML file and validates it; syntax and schema problems become ConfigErrors with lines. */
export function readYaml<S extends z.ZodType>(
  file: string,
  schema: S,
  opts: {
    what: string;
    /** Shown when the file does not exist. */
    hint?: string;
    /** Runs on the plain parsed value before the schema, for problems that deserve their own message. */
    precheck?: (value: Record<string, unknown>, at: Locate) => void;
    /** Where the text comes from; default: the file on disk. */
    read?: TextReader;
  },
): YamlSource<z.infer<S>> {
  const { what } = opts;
  const { raw, text } = (opts.read ?? readText)(file, what, opts.hint);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const syntax = doc.errors[0];
  if (syntax) {
    const line = syntax.linePos?.[0].line;
    throw new ConfigError(
      { file, ...(line !== undefined ? { line } : {}) },
      `invalid YAML: ${syntax.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
      'fix the YAML syntax (indentation, quotes, a missing ":" are the usual causes)',
    );
  }
  const lineOf = (offset: number) => lineCounter.linePos(offset).line;
  const at = (path: readonly PathSegment[]): SourceLocation => {
    const line = locateLine(doc.contents, path, lineOf);
    return { file, ...(line !== undefined ? { line } : {}), ...(path.length ? { path: formatPath(path) } : {}) };
  };
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (e) {
    // The yaml library refuses documents whose aliases expand exponentially ("billion laughs").
    throw new ConfigError({ file }, `${what} cannot be expanded: ${(e as Error).message}`, 'use fewer YAML aliases (*name); write the values out instead');
  }
  if (value === null || value === undefined) {
    throw new ConfigError({ file }, `${what} is empty`, 'see docs for the expected format');
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError({ file, line: 1 }, `${what} must be a mapping of keys to values at the top level`);
  }
  opts.precheck?.(value as Record<string, unknown>, at);
  const data = parseWith(schema, value, at, schemaAt(schema));
  return { file, text, raw, data, at };
}

/** Validates `value`; the first issue (plus a count of the rest) becomes a ConfigError at its location. */
export function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  at: Locate,
  knownKeys: (path: readonly PathSegment[]) => string[] = schemaAt(schema),
): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw problemsError(result.error.issues.flatMap((issue) => explain(issue, at, knownKeys)));
}

/** Every problem at once, in file order, so one edit fixes them all: the first, then "also …" lines. */
export function problemsError(problems: readonly Problem[]): ConfigError {
  const sorted = [...problems].sort((a, b) => (a.loc.line ?? 0) - (b.loc.line ?? 0));
  const [first, ...rest] = sorted as [Problem, ...Problem[]];
  const also = rest.slice(0, 9).map((p) => `\n  also ${formatLocation(p.loc)}: ${p.text}${p.hint ? ` (${p.hint})` : ''}`);
  if (rest.length > 9) also.push(`\n  … and ${rest.length - 9} more`);
  return new ConfigError(first.loc, first.text + also.join(''), first.hint);
}

export interface Problem {
  loc: SourceLocation;
  text: string;
  hint?: string;
}

function explain(issue: z.core.$ZodIssue, at: Locate, knownKeys: (path: readonly PathSegment[]) => string[]): Problem[] {
  const path = issue.path.filter((p): p is PathSegment => typeof p !== 'symbol');
  if (issue.code !== 'unrecognized_keys') return [{ loc: at(path), text: describeIssue(issue) }];
  const allowed = knownKeys(path);
  return issue.keys.map((key) => {
    const guess = closest(key, allowed);
    return {
      loc: at([...path, key]),
      text: `unknown key "${key}"`,
      hint: (guess ? `did you mean "${guess}"? ` : '') + (allowed.length ? `allowed keys here: ${allowed.join(', ')}` : 'remove it'),
    };
  });
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_union') {
    // The branch messages ("expected string", "expected array") together say what was allowed.
    const expected = issue.errors.flatMap((branch) => branch.filter((i) => i.path.length === 0 && i.code === 'invalid_type').map((i) => (i as { expected: string }).expected));
    if (expected.length) return `invalid value: expected ${[...new Set(expected)].join(' or ')}`;
  }
  if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) {
    return `missing required key "${String(issue.path.at(-1))}"`;
  }
  return issue.message.replace(/^Invalid input: /, '');
}

function locateLine(root: unknown, path: readonly PathSegment[], lineOf: (offset: number) => number): number | undefined {
  let node = root;
  let line = nodeLine(node, lineOf);
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) break;
      // The key's line reads best: `minPassRate: 1.5` or `cheap:` above a nested block.
      line = nodeLine(pair.key, lineOf) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) break;
      line = nodeLine(item, lineOf) ?? line;
      node = item;
    } else {
      break;
    }
  }
  return line;
}

function nodeLine(node: unknown, lineOf: (offset: number) => number): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? lineOf(range[0]) : undefined;
}

/** The keys a strict object accepts at `path`, for "did you mean" hints. */
export function schemaAt(root: z.ZodType): (path: readonly PathSegment[]) => string[] {
  return (path) => {
    let s: unknown = unwrap(root);
    for (const seg of path) {
      const def = (s as { def?: Record<string, unknown> }).def;
      if (!def) return [];
      if (def.type === 'object') s = (def.shape as Record<string, unknown>)[String(seg)];
      else if (def.type === 'record') s = def.valueType;
      else if (def.type === 'array') s = def.element;
      else return [];
      s = unwrap(s);
    }
    const def = (s as { def?: Record<string, unknown> } | undefined)?.def;
    return def?.type === 'object' ? Object.keys(def.shape as object) : [];
  };
}

function unwrap(s: unknown): unknown {
  let cur = s as { def?: { type?: string; innerType?: unknown } } | undefined;
  while (cur?.def && (cur.def.type === 'optional' || cur.def.type === 'default' || cur.def.type === 'nullable')) {
    cur = cur.def.innerType as typeof cur;
  }
  return cur;
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDist) [best, bestDist] = [c, d];
  }
  return bestDist <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

export interface JsonlRecord<T> {
  value: T;
  line: number;
}

/**
 * Reads a JSONL file: one JSON object per line, blank lines allowed. Every line is validated; an error
 * names the file, the line and the field.
 */
export function readJsonl<S extends z.ZodType>(file: string, schema: S, what: string, hint?: string): JsonlRecord<z.infer<S>>[] {
  const { text } = readText(file, what, hint);
  const out: JsonlRecord<z.infer<S>>[] = [];
  const known = schemaAt(schema);
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const src = lines[i]!;
    const line = i + 1;
    if (src.length > MAX_JSONL_LINE_CHARS) {
      throw new ConfigError(
        { file, line },
        `line is ${(src.length / 1024 / 1024).toFixed(1)} MB; evalroute accepts lines of up to ${MAX_JSONL_LINE_CHARS / 1024 / 1024} MB`,
        'check the line is one record (not a whole export on one line), or shorten the case',
      );
    }
    if (!src.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(src);
    } catch (e) {
      throw new ConfigError({ file, line }, `invalid JSON: ${(e as Error).message}`, 'each line must be one complete JSON object');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ConfigError({ file, line }, `expected a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
    }
    const at = (path: readonly PathSegment[]): SourceLocation => ({ file, line, ...(path.length ? { path: formatPath(path) } : {}) });
    out.push({ value: parseWith(schema, value, at, known), line });
  }
  return out;
}
