/**
 * A run to hand `store.beginRun` in tests that write calls straight into a real store: every case on one
 * tier of the baseline model 'big', with empty config and routing. Tests override what they look at.
 */
import type { Case, CaseResult, NewRun, Store } from '../../src/core/types.js';
import { pairRunResults } from '../../src/store/merge.js';

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

/** The gate's view of a stored run, read from `store` as `evalroute merge` and `show` build it. */
export function storedRunResults(store: Pick<Store, 'getRun' | 'getCases' | 'getCalls'>, runId: string, tiers: ReadonlyMap<string, { model: string }>): CaseResult[] {
  return pairRunResults(store.getRun(runId)!.baseline, store.getCases(runId), store.getCalls(runId), tiers);
}
