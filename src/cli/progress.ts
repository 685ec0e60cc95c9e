/**
 * Run progress on stderr: a live bar on an interactive terminal (cli-progress), plain periodic lines in
 * CI or when piped, so logs stay free of control characters. `--verbose` adds one line per failed call.
 */
import { escapeControl } from '../core/control-chars.js';
import { createRequire } from 'node:module';
import type * as CliProgress from 'cli-progress';
import type { SingleBar } from 'cli-progress';
import type { ProgressEvent } from '../engine/run-cases.js';
import type { RetryWait } from '../engine/retry.js';
import { usd } from '../report/format.js';

export interface ProgressReporter {
  onProgress: (e: ProgressEvent) => void;
  /** Clears the bar before the summary is printed. */
  stop: () => void;
  /** A line worth seeing while the run goes on (a long retry wait), printed above the bar. */
  notice: (text: string) => void;
}

export function progressReporter(opts: { quiet?: boolean; verbose?: boolean; env: Record<string, string | undefined> }): ProgressReporter {
  if (opts.quiet) return { onProgress: () => undefined, stop: () => undefined, notice: () => undefined };
  const interactive = process.stderr.isTTY === true && !opts.env.CI && opts.env.TERM !== 'dumb';
  const line = interactive ? liveBar() : plainLines();
  return {
    onProgress: (e) => {
      if (opts.verbose && e.last?.error) {
        const err = e.last.error;
        line.log(`  ✘ ${e.last.caseId} on ${e.last.modelKey}: ${err.kind}${err.requestId ? ` (request ${err.requestId})` : ''}: ${escapeControl(err.message.split('\n')[0] ?? '')}`);
      }
      line.update(e);
    },
    stop: line.stop,
    notice: (text) => line.log(text),
  };
}

/** Calls that must have finished before an ETA is shown: early calls (SDK start-up, cold caches) mislead. */
export const ETA_MIN_DONE = 10;
/** …and the share of the run they must make up, so a long run's ETA rests on a real sample. */
export const ETA_MIN_SHARE = 0.05;

/**
 * Seconds left at the current rate, or undefined until enough calls finished to estimate it (a run
 * that ends 2 s later must not first promise "ETA 720s").
 */
export function etaSeconds(done: number, total: number, elapsedMs: number): number | undefined {
  if (done >= total || elapsedMs <= 0) return undefined;
  if (done < Math.max(ETA_MIN_DONE, Math.ceil(total * ETA_MIN_SHARE))) return undefined;
  return Math.ceil(((total - done) * elapsedMs) / done / 1000);
}

/** Off a terminal (CI logs): a line per tenth of the run, or after this long without one. */
export const PLAIN_LINE_EVERY_MS = 30_000;

/** Whether a plain progress line is due: the run crossed into a new tenth, 30 s passed, or it is done. */
export function plainLineDue(e: { done: number; total: number }, last: { done: number; atMs: number }, nowMs: number): boolean {
  if (e.done >= e.total) return true;
  const tenth = (n: number) => Math.floor((n * 10) / Math.max(1, e.total));
  return tenth(e.done) > tenth(last.done) || nowMs - last.atMs >= PLAIN_LINE_EVERY_MS;
}

/** Waits shorter than this pass silently: ordinary backoff. Longer ones are printed, so a run never looks hung. */
export const LONG_WAIT_MS = 5_000;

/**
 * One line for a wait before a retry, or undefined when it is short and unremarkable. A wait longer than
 * the model's own per-call timeout is never silent, however short: it is more than a whole call may take.
 */
export function describeRetryWait(w: RetryWait & { modelKey: string; callTimeoutMs?: number }, capSeconds: number): string | undefined {
  const overTimeout = w.callTimeoutMs !== undefined && w.delayMs > w.callTimeoutMs;
  if (w.delayMs < LONG_WAIT_MS && !w.capped && !overTimeout) return undefined;
  const secs = (ms: number) => `${ms < 10_000 ? Number((ms / 1000).toFixed(1)) : Math.round(ms / 1000)} s`;
  const what = `${w.error.kind}${w.error.status !== undefined ? ` (${w.error.status})` : ''}`;
  const asked = w.askedMs !== undefined ? `; the API asked for ${secs(w.askedMs)}${w.capped ? `, cut to --max-retry-wait ${capSeconds}` : ''}` : '';
  const longer = overTimeout ? ` (longer than the model's timeoutMs, ${secs(w.callTimeoutMs!)})` : '';
  return `  waiting ${secs(w.delayMs)}${longer} before retry ${w.attempt} of ${w.caseId !== undefined ? `case "${w.caseId}" on ` : ''}model "${w.modelKey}": ${what}${asked}`;
}

function rate(e: ProgressEvent, started: number): number {
  const secs = (Date.now() - started) / 1000;
  return secs > 0 ? e.done / secs : 0;
}

function plainLines() {
  const started = Date.now();
  const last = { done: 0, atMs: started };
  const log = (text: string) => process.stderr.write(`${text}\n`);
  return {
    log,
    update(e: ProgressEvent) {
      const now = Date.now();
      if (!plainLineDue(e, last, now)) return;
      last.done = e.done;
      last.atMs = now;
      const eta = etaSeconds(e.done, e.total, now - started);
      log(`  ${e.done}/${e.total} calls · ${e.cached} cached · ${e.errors} errors · ${usd(e.costUsd)} · ${rate(e, started).toFixed(0)}/s${eta !== undefined ? ` · ETA ${eta}s` : ''}`);
    },
    stop: () => undefined,
  };
}

function liveBar() {
  // Loaded only on a terminal, so CI runs and --help never pay for it.
  const { SingleBar: Bar } = createRequire(import.meta.url)('cli-progress') as typeof CliProgress;
  const started = Date.now();
  let bar: SingleBar | undefined;
  const payload = (e: ProgressEvent) => {
    const eta = etaSeconds(e.done, e.total, Date.now() - started);
    return { cached: e.cached, errors: e.errors, spend: usd(e.costUsd), rate: rate(e, started).toFixed(0), etaText: eta !== undefined ? ` · ETA ${eta}s` : '' };
  };
  return {
    log(text: string) {
      // Print above the bar rather than through it.
      if (bar) bar.stop();
      process.stderr.write(`${text}\n`);
      bar = undefined;
    },
    update(e: ProgressEvent) {
      if (!bar) {
        bar = new Bar({
          stream: process.stderr,
          format: '  {bar} {value}/{total} calls · {cached} cached · {errors} errors · {spend} · {rate}/s{etaText}',
          barsize: 24,
          hideCursor: true,
          clearOnComplete: true,
        });
        bar.start(e.total, e.done, payload(e));
      } else {
        bar.update(e.done, payload(e));
      }
      if (e.done === e.total) this.stop();
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
