/**
 * Preloaded with `node --import` into a benchmarked child process: when the process exits, its peak
 * resident set size and its CPU time (user + system) are written to the file named by
 * BENCH_PROBE_FILE. Works for any command, the CLI and a peer's included, without changing it.
 */
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_PROBE_FILE;
if (file) {
  process.on('exit', () => {
    const { maxRSS, userCPUTime, systemCPUTime } = process.resourceUsage();
    writeFileSync(file, JSON.stringify({ maxRssKb: maxRSS, cpuMs: (userCPUTime + systemCPUTime) / 1000 }));
  });
}
