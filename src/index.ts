/**
 * The library API: `import { run } from 'evalroute'` gives the same results as the CLI, without
 * touching process.exit, so teams can drive evalroute from their own scripts or from vitest.
 */
import type { z } from 'zod';
import type { configSchema } from './config/schemas.js';

export { run, loadProject, type RunOptions, type RunResult, type LoadedProject } from './api/run.js';
export {
  simulate,
  type SimulateOptions,
  type SimulateResult,
  type RoutingScore,
  type OverallScore,
  type ModelAccuracy,
  type MissingPair,
  type CurveOptions,
  type CurveReport,
  type CurveSeries,
} from './api/simulate.js';
export { gate, type GateOptions, type GateResult, type GateJson, type MovedCase, type MovedCases, type TierTransition } from './api/gate.js';
export { suggest, type SuggestOptions, type SuggestResult, type ClassChoice, type CandidateVerdict } from './api/suggest.js';
export { merge, type MergeOptions, type MergeRunsResult } from './api/merge.js';
export type { MergedRun, MergeSource } from './store/merge.js';
export type { GateVerdict } from './gate/decide.js';
export type { CacheMode, ProgressEvent } from './engine/run-cases.js';
export type { Shard } from './engine/shard.js';
export { agreement, type AgreementResult } from './stats/agreement.js';
export * from './core/types.js';
export * from './core/errors.js';
export { registerProvider } from './providers/registry.js';
export { registerGrader, type GraderDefinition } from './graders/registry.js';

/** What evalroute.config.yaml may hold, as written (before defaults), checked by the same zod schema. */
export type ConfigFileShape = z.input<typeof configSchema>;

/**
 * Rejects keys the schema does not know, at any depth. A plain `T extends ConfigFileShape` would
 * accept `{ store, modles }`, since a generic argument escapes TypeScript's excess-property check;
 * the config schema is strict, so such a typo would only surface when evalroute loads the YAML.
 */
type Exact<T, S> = unknown extends S
  ? T // free-form values such as `params`
  : T extends object
    ? NonNullable<S> extends object
      ? { [K in keyof T]: K extends keyof NonNullable<S> ? Exact<T[K], NonNullable<S>[K]> : never }
      : T
    : T;

/**
 * Identity helper for teams that generate evalroute.config.yaml from TypeScript: the object is typed
 * by the config schema, so a misspelt key or a wrong type fails in the editor, not in CI.
 * It checks nothing at run time; evalroute validates the written YAML when it loads it.
 */
export function defineConfig<T extends ConfigFileShape>(config: T & NoInfer<Exact<T, ConfigFileShape>>): T {
  return config;
}
