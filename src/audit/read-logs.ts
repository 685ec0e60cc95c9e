/**
 * Streaming log reading: one line at a time through readline, so a log of millions of lines never
 * sits in memory. Gzip is recognised by its magic bytes (logs are often rotated as `.1`, `.log` or
 * `.jsonl.gz` alike), not by the file name.
 */
import { closeSync, createReadStream, existsSync, openSync, readSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { UsageError } from '../core/errors.js';
import { normaliseLogLine } from './log-record.js';
import type { LogRecord } from './log-record.js';

export function isGzipFile(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

export function openLogStream(file: string): Readable {
  if (!existsSync(file)) throw new UsageError(`log file ${file} not found\n  → check the path (gzip files are read as they are)`);
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  if (!isGzipFile(file)) return raw;
  const gunzip = createGunzip();
  // Errors of the file stream would otherwise not reach the consumer of the gunzip stream.
  raw.on('error', (e) => gunzip.destroy(e));
  return raw.pipe(gunzip);
}

export interface LogLine {
  file: string;
  /** 1-based line number in the (decompressed) file. */
  line: number;
  text: string;
}

/** Every non-blank line of the files, in order. */
export async function* readLogLines(files: readonly string[]): AsyncGenerator<LogLine> {
  for (const file of files) {
    const rl = createInterface({ input: openLogStream(file), crlfDelay: Infinity });
    let line = 0;
    try {
      for await (const text of rl) {
        line++;
        if (text.trim()) yield { file, line, text };
      }
    } catch (e) {
      throw new UsageError(`${file}:${line + 1}: cannot read the log: ${(e as Error).message}\n  → a truncated or corrupt gzip file stops here; re-copy the file`);
    }
  }
}

export interface MalformedLine {
  file: string;
  line: number;
  problem: string;
}

export type LogEntry = { ok: true; file: string; line: number; record: LogRecord } | { ok: false; malformed: MalformedLine };

/** Parsed and normalised lines; a bad line is reported as an entry, never thrown, so one bad line cannot stop an audit. */
export async function* readLogRecords(files: readonly string[]): AsyncGenerator<LogEntry> {
  for await (const { file, line, text } of readLogLines(files)) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      yield { ok: false, malformed: { file, line, problem: `invalid JSON: ${(e as Error).message}` } };
      continue;
    }
    const record = normaliseLogLine(value);
    if (typeof record === 'string') yield { ok: false, malformed: { file, line, problem: record } };
    else yield { ok: true, file, line, record };
  }
}
