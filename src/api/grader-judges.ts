import { ConfigError } from '../core/errors.js';
import { withGrade } from '../graders/registry.js';
import type { Case, Completion, EvalConfig, GradeContext, Grader, ModelConfig, Provider, Suite } from '../core/types.js';

/**
 * The judge model each judge grader names with its own `model:` (by grader index), checked against the
 * config. Graders without one use the config's `judge:`. `run` and `simulate` must resolve judges the
 * same way, or simulate would replay grades of a different judge than a run of the same suite asks.
 */
export function graderJudgeModels(config: EvalConfig, suite: Suite): Map<number, ModelConfig> {
  const byGrader = new Map<number, ModelConfig>();
  suite.graders.forEach((spec, i) => {
    if (spec.type !== 'judge' || typeof spec.model !== 'string') return;
    const m = config.models.get(spec.model);
    if (!m) {
      throw new ConfigError(
        { file: suite.file, path: `graders[${i}].model` },
        `judge model "${spec.model}" is not defined in ${config.file}`,
        `use one of: ${[...config.models.keys()].join(', ')}`,
      );
    }
    byGrader.set(i, m);
  });
  return byGrader;
}

/**
 * A judge grader needs a judge model: its own `model:` or the config's `judge:`. Without one every call
 * would be made and then every grade would error, so it is refused before any call (exit 2).
 */
export function checkJudgeConfigured(config: EvalConfig, suite: Suite): void {
  suite.graders.forEach((spec, i) => {
    if (spec.type !== 'judge' || typeof spec.model === 'string' || config.judge) return;
    throw new ConfigError(
      { file: suite.file, path: `graders[${i}]` },
      `the judge grader "${spec.name ?? 'judge'}" has no judge model: ${config.file} has no judge: and the grader names no model:`,
      `add judge: { model: <model key> } to ${config.file}, or model: <model key> to this grader`,
    );
  });
}

/** The graders with each one that names its own judge model handed that judge instead of the config's. */
export function withOwnJudges(graders: readonly Grader[], byGrader: Map<number, ModelConfig>, judgeFor: (m: ModelConfig) => Provider): Grader[] {
  return graders.map((grader, i) => {
    const m = byGrader.get(i);
    return m ? withJudge(grader, judgeFor(m)) : grader;
  });
}

function withJudge(grader: Grader, judge: Provider): Grader {
  return withGrade(grader, (c: Case, out: Completion, ctx: GradeContext) => grader.grade(c, out, { ...ctx, judge }));
}
