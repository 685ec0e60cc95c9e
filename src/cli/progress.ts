/**
 * Run progress on stderr: a live bar on an interactive terminal (cli-progress), plain periodic lines in
 * CI or when piped, so logs stay free of control characters. `--verbose` adds one line per failed call.
 */
import { createRequire } from 'node:module';
import type * as CliProgress from 'cli-progress';
import type { SingleBar } from 'cli-progress';
import type { ProgressEvent } from '../engine/run-cases.js';
import { usd } from '../report/format.js';

export interface ProgressReporter {
  onProgress: (e: ProgressEvent) => void;
  /** Clears the bar before the summary is printed. */
  stop: () => void;
}

export function progressReporter(opts: { quiet?: boolean; verbose?: boolean; env: Record<string, string | undefined> }): ProgressReporter {
  if (opts.quiet) return { onProgress: () => undefined, stop: () => undefined };
  const interactive = process.stderr.isTTY === true && !opts.env.CI && opts.env.TERM !== 'dumb';
  const line = interactive ? liveBar() : plainLines();
  return {
    onProgress: (e) => {
      if (opts.verbose && e.last?.error) {
        const err = e.last.error;
        line.log(`  ✘ ${e.last.caseId} on ${e.last.modelKey}: ${err.kind}${err.requestId ? ` (request ${err.requestId})` : ''}: ${err.message.split('\n')[0]}`);
      }
      line.update(e);
    },
    stop: line.stop,
  };
}

function rateAndEta(e: ProgressEvent, started: number) {
  const secs = (Date.now() - started) / 1000;
  const rate = secs > 0 ? e.done / secs : 0;
  return { rate, eta: rate > 0 && e.done < e.total ? Math.ceil((e.total - e.done) / rate) : 0 };
}

function plainLines() {
  const started = Date.now();
  let lastPrint = 0;
  const log = (text: string) => process.stderr.write(`${text}\n`);
  return {
    log,
    update(e: ProgressEvent) {
      const now = Date.now();
      if (e.done !== e.total && now - lastPrint < 2000) return;
      lastPrint = now;
      const { rate, eta } = rateAndEta(e, started);
      log(`  ${e.done}/${e.total} calls · ${e.cached} cached · ${e.errors} errors · ${usd(e.costUsd)} · ${rate.toFixed(0)}/s${eta ? ` · ETA ${eta}s` : ''}`);
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
    const { rate } = rateAndEta(e, started);
    return { cached: e.cached, errors: e.errors, spend: usd(e.costUsd), rate: rate.toFixed(0) };
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
          format: '  {bar} {value}/{total} calls · {cached} cached · {errors} errors · {spend} · {rate}/s · ETA {eta_formatted}',
          barsize: 24,
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 50,
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
