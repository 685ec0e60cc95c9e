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
  },
});
