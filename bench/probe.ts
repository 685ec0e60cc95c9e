/**
 * Preloaded with `node --import` into a benchmarked child process: when the process exits, its peak
 * resident set size is written to the file named by BENCH_PROBE_FILE. Works for any command, the CLI
 * included, without changing it.
 */
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_PROBE_FILE;
if (file) {
  process.on('exit', () => {
    writeFileSync(file, JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS }));
  });
}
