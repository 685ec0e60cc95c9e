/**
 * A benchmarked child process: one library `run()` of a temp project, timed around the call only, so
 * the figure is the engine's (module loading is the start-up scenario's business). Prints one JSON line.
 *
 *   node scenario.js <suite-dir> <project-dir> <concurrency> <use|refresh>
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { run } from '../src/api/run.js';
import type { CacheMode } from '../src/engine/run-cases.js';
import { BENCH_ENV } from './project.js';

const [suiteDir, cwd, concurrency, cache] = process.argv.slice(2);
if (!suiteDir || !cwd || !concurrency || !cache) throw new Error('usage: scenario.js <suite-dir> <project-dir> <concurrency> <use|refresh>');

// How late the event loop runs timers while the calls are in flight: the delay every answer waits
// behind other work before the client can even read it.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
const cpuBefore = process.cpuUsage();
const started = performance.now();
// Phase marks, to tell set-up (loading, routing, opening the store) from the calls and the wrap-up.
let callsFrom = started;
let callsTo = started;
// CPU of the calls phase alone (first call to last settled call): set-up and wrap-up are fixed costs
// that say nothing about what one call costs.
let callsCpuFrom = cpuBefore;
let callsCpu = { user: 0, system: 0 };
const result = await run({
  suiteDir,
  cwd,
  env: BENCH_ENV,
  concurrency: Number(concurrency),
  cache: cache as CacheMode,
  onStart: () => {
    callsFrom = performance.now();
    callsCpuFrom = process.cpuUsage();
    loopDelay.enable();
  },
  onProgress: (event) => {
    callsTo = performance.now();
    // Only at the last call: process.cpuUsage() on every call cost ~0.07 ms each, which this process
    // then counted as the client's own CPU per call.
    if (event.done === event.total) callsCpu = process.cpuUsage(callsCpuFrom);
  },
});
const wallMs = performance.now() - started;
loopDelay.disable();
const cpu = process.cpuUsage(cpuBefore);
const cpuMs = (cpu.user + cpu.system) / 1000;
const callsCpuMs = (callsCpu.user + callsCpu.system) / 1000;
const phases = { setupMs: callsFrom - started, callsMs: callsTo - callsFrom, wrapUpMs: performance.now() - callsTo };
const calls = result.summary.models.reduce((n, m) => n + m.calls, 0);
const errors = result.summary.models.reduce((n, m) => n + m.errors, 0);
const loopDelayP99Ms = loopDelay.count ? loopDelay.percentile(99) / 1e6 : 0;
process.stdout.write(
  `${JSON.stringify({ wallMs, cpuMs, ...phases, callsCpuMs, loopDelayP99Ms, calls, errors, status: result.summary.status, pass: result.summary.pass, runId: result.runId, maxRssKb: process.resourceUsage().maxRSS })}\n`,
);
