import type { TierVerdict } from '../src/core/types.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../src/api/run.js';
import type { CallOutcome } from '../src/core/types.js';
import { repeatVerdict } from '../src/gate/repeats.js';
import { escapeMarkdown } from '../src/report/markdown.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { runOutputs } from './support/outputs.js';
import { createProject } from './support/project.js';

const sample = (pass: boolean, error = false): CallOutcome => ({
  caseId: 'c',
  modelKey: 'm',
  repeat: 0,
  requestHash: 'h',
  grades: [],
  pass,
  score: Number(pass),
  ...(error ? { error: { kind: 'server', message: 'boom' } } : {}),
});

describe('per-case verdict over repeated samples', () => {
  it('applies majority (a tie fails), pass@k and pass^k, and never counts an errored sample', () => {
    const twoOfThree = [sample(true), sample(false), sample(true)];
    expect(repeatVerdict(twoOfThree, 'majority')).toEqual({ pass: true, passes: 2, samples: 3, flipRate: 1 / 3 });
    expect(repeatVerdict(twoOfThree, 'pass^k').pass).toBe(false);
    expect(repeatVerdict([sample(false), sample(false), sample(true)], 'pass@k').pass).toBe(true);
    expect(repeatVerdict([sample(true), sample(false)], 'majority').pass).toBe(false);
    expect(repeatVerdict([sample(true, true), sample(true, true), sample(true)], 'majority')).toMatchObject({ pass: false, passes: 1 });
    expect(repeatVerdict([sample(true), sample(true)], 'majority').flipRate).toBe(0);
  });
});

describe('--repeat through the engine and both SDKs', () => {
  let server: MockLlmServer;
  beforeAll(async () => {
    server = await startMockLlmServer();
  });
  afterAll(() => server.close());
  beforeEach(() => server.reset());

  it('samples each (case, model) N times independently, reports flaky cases, and caches every sample', async () => {
    // Every case goes to the cheap tier; its model answers wrongly the 2nd time it sees the prompt of
    // cases 1, 3, 5 and 7: a flake that majority forgives and pass^k does not.
    const seen = new Map<string, number>();
    server.script((req) => {
      const m = /What is (\d+) \+ (\d+)\?/.exec(req.lastUserText)!;
      const a = Number(m[1]);
      const nth = (seen.get(req.model + req.lastUserText) ?? 0) + 1;
      seen.set(req.model + req.lastUserText, nth);
      const flaky = req.model === 'small-1' && a % 2 === 1 && a < 8 && nth === 2;
      return String(a + Number(m[2]) + (flaky ? 1 : 0));
    });
    const p = createProject(server, { cases: 10, rules: '  - { name: all, when: { task: arithmetic }, tier: cheap }\n  - { tier: frontier }' });

    // Default: every call counts (per-call). 4 of 30 samples fail: −13.3 pts, beyond the 5-pt screen.
    const perCall = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, repeats: 3 });
    expect(server.requests).toHaveLength(60);
    const perCallCheap = perCall.summary.tiers.find((t) => t.tier === 'cheap')! as TierVerdict & { designEffect?: number };
    expect(perCallCheap.passRate).toBeCloseTo(26 / 30, 12);
    expect(perCallCheap).toMatchObject({ baselinePassRate: 1, flaky: 4, pass: false });
    expect(perCall.summary.repeats).toMatchObject({ samples: 3, policy: 'per-call' });
    expect(perCall.summary.repeats!.flaky.map((f) => f.caseId).sort()).toEqual(['c001', 'c003', 'c005', 'c007']);
    expect(perCall.summary.repeats!.flaky[0]).toMatchObject({ model: 'small', passes: 2, samples: 3 });
    // Each flaky case failed one sample of three: no clustering, so 30 pairs count as 30 (see gate.test.ts).
    expect(perCallCheap.designEffect ?? 1).toBe(1);

    // Majority forgives the flake; re-decided from the cache with zero calls.
    server.reset();
    const majority = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, repeats: 3, repeatPolicy: 'majority' });
    expect(server.requests).toHaveLength(0);
    const cheap = majority.summary.tiers.find((t) => t.tier === 'cheap')!;
    expect(cheap).toMatchObject({ passRate: 1, baselinePassRate: 1, flaky: 4, pass: true });
    expect(cheap.reasons.join(' ')).toContain('4 flaky (case, model) pairs');

    // pass@k hides the per-call regression, so the verdict warns with the per-call figure.
    const any = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, repeats: 3, repeatPolicy: 'pass@k' });
    const anyCheap = any.summary.tiers.find((t) => t.tier === 'cheap')!;
    expect(anyCheap.passRate).toBe(1);
    const passAtK = 'warning: pass@k counts a case as passed when any sample passes, which hides per-call regressions (per-call delta −13.3 pts)';
    expect(anyCheap.reasons.join(' ')).toContain(passAtK);
    // Not only on the console: the PR comment, JUnit and the HTML report carry it with the cheap tier.
    const files = await runOutputs(any);
    expect(files.markdown).toContain(`  - ${escapeMarkdown(passAtK)}`);
    expect(files.junit).toMatch(new RegExp(`name="gate">[\\s\\S]*?- ${passAtK.replace(/[()]/g, '\\$&')}`));
    expect(files.html).toMatch(/<article class="card [^"]*" aria-label="Tier cheap: [^"]*">[\s\S]*?<li>warning: pass@k counts a case as passed when any sample passes/);

    // Every sample is its own cache entry: the strict policy re-decides from the cache with zero calls.
    server.reset();
    const strict = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, repeats: 3, repeatPolicy: 'pass^k' });
    expect(server.requests).toHaveLength(0);
    const strictCheap = strict.summary.tiers.find((t) => t.tier === 'cheap')!;
    expect(strictCheap.passRate).toBeCloseTo(0.6, 12);
    expect(strictCheap.pass).toBe(false);
    expect(strict.exitCode).toBe(1);
  });
});
