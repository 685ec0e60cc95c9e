import type { CallOutcome } from './types.js';

/**
 * A call that produced an output every grader could judge: the only kind that enters a comparison.
 * An errored call or a grade error (e.g. no readable judge verdict) is neither a pass nor a failure.
 */
export const usable = (o: CallOutcome): boolean => !o.error && !o.grades.some((g) => g.error);

/** A call that passed: an errored call never does, whatever its `pass` field says. */
export const passed = (o: CallOutcome): boolean => o.pass && !o.error;
