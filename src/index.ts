/**
 * The library API: `import { run } from 'evalroute'` gives the same results as the CLI, without
 * touching process.exit, so teams can drive evalroute from their own scripts or from vitest.
 */
export { run, loadProject, type RunOptions, type RunResult } from './api/run.js';
export * from './core/types.js';
export * from './core/errors.js';
export { registerProvider } from './providers/registry.js';
export { registerGrader } from './graders/registry.js';
