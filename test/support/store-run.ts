/**
 * A run to hand `store.beginRun` in tests that write calls straight into a real store: every case on one
 * tier of the baseline model 'big', with empty config and routing. Tests override what they look at.
 */
import type { Case, NewRun } from '../../src/core/types.js';

export function newRun(cases: readonly Case[], over: Partial<NewRun> & { tier?: string } = {}): NewRun {
  const { tier = 'frontier', ...rest } = over;
  return {
    suite: 's',
    suiteDir: '/suites/s',
    configContent: '',
    routingFile: 'routing.yaml',
    routingContent: '',
    routingHash: 'h',
    cases: [...cases],
    assignment: new Map(cases.map((c) => [c.id, tier])),
    baseline: 'big',
    ...rest,
  };
}
