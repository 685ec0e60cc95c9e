import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Vitest's default in run mode is one worker fewer than the CPUs: on a 2-core machine that is one
    // worker, and the suite runs file after file. Most files spend their time in spawned CLIs and local
    // servers, so two workers there halve the wall time; on bigger machines the default stays.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Each worker imports src/ once for all its files instead of once per file (a fresh fork per file cost
    // about a third of the suite's CPU). So a test file must leave the process as it found it: restore its
    // spies and process.env, remove its listeners, close its servers and stores.
    isolate: false,
  },
});
