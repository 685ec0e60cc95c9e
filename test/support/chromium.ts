/**
 * Support for the HTML report tests: launching the system Chromium (playwright-core, no bundled browser)
 * and the synthetic run the report is rendered from, shared by the Node and the browser tests.
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import type { CallOutcome, Grade, RunRecord, RunSummary, StoredCase, TierVerdict } from '../../src/core/types.js';
import type { ReportInput } from '../../src/report/report-data.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM_PATH);

/** playwright-core is imported lazily so the Node-only report test never loads it. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

// ───────────────────────────── report fixture ─────────────────────────────

export const XSS = '<script>window.__pwned=1</script>';
export const XSS_OUTPUT = `Refund approved. ${XSS} <img src=x onerror="window.__pwned=2"> </textarea> done`;

type Kind = 'regression' | 'improvement' | 'both-fail' | 'both-pass';

interface CasePlan {
  id: string;
  tier: 'cheap' | 'mid' | 'frontier';
  kind: Kind | 'base-pass' | 'base-fail';
  task: string;
  /** Candidate call errored. */
  error?: boolean;
  xss?: boolean;
}

export const MODEL_OF = { cheap: 'flash', mid: 'mixtral', frontier: 'gpt4' } as const;
export const PRICE = { gpt4: 0.01, flash: 0.0005, mixtral: 0.002 };

/**
 * 20 cases: cheap (flash) 3 regressions (one an errored call, one carrying an XSS payload), 1 improvement,
 * 1 both-fail, 3 both-pass; mid (mixtral) 1 / 1 / 1 / 3; frontier (= baseline gpt4) 5 pass, 1 fail.
 */
export function smallPlan(): CasePlan[] {
  const p: CasePlan[] = [];
  const push = (tier: CasePlan['tier'], kind: CasePlan['kind'], n: number, extra: Partial<CasePlan> = {}) => {
    for (let i = 0; i < n; i++) p.push({ id: `${tier}-${kind}-${p.length}`, tier, kind, task: p.length % 2 ? 'extraction' : 'classification', ...extra });
  };
  push('cheap', 'both-pass', 2);
  push('cheap', 'regression', 1, { xss: true });
  push('cheap', 'regression', 1, { error: true });
  push('cheap', 'regression', 1);
  push('cheap', 'improvement', 1);
  push('cheap', 'both-fail', 1);
  push('cheap', 'both-pass', 1);
  push('mid', 'regression', 1);
  push('mid', 'both-pass', 3);
  push('mid', 'improvement', 1);
  push('mid', 'both-fail', 1);
  push('frontier', 'base-pass', 5);
  push('frontier', 'base-fail', 1);
  return p;
}

/** n cases cycling through every kind, for the 5,000-case smoothness check. */
export function largePlan(n: number): CasePlan[] {
  const kinds: [CasePlan['tier'], CasePlan['kind']][] = [
    ['cheap', 'both-pass'], ['cheap', 'regression'], ['cheap', 'both-pass'], ['mid', 'improvement'], ['mid', 'both-pass'],
    ['cheap', 'both-fail'], ['frontier', 'base-pass'], ['mid', 'regression'], ['cheap', 'both-pass'], ['frontier', 'base-fail'],
  ];
  return Array.from({ length: n }, (_, i) => {
    const [tier, kind] = kinds[i % kinds.length]!;
    return { id: `case-${String(i).padStart(5, '0')}`, tier, kind, task: ['intent', 'extraction', 'qa'][i % 3]! };
  });
}

const grade = (grader: string, pass: boolean, explanation: string): Grade => ({ grader, score: pass ? 1 : 0, pass, explanation });

function call(caseId: string, modelKey: string, pass: boolean, text: string, priced: boolean, error = false): CallOutcome {
  if (error) {
    return {
      caseId, modelKey, repeat: 0, requestHash: `h-${caseId}-${modelKey}`,
      error: { kind: 'rate_limit', message: 'HTTP 429 after 3 attempts', status: 429, requestId: 'req_429' },
      grades: [], pass: false, score: 0,
    };
  }
  const price = PRICE[modelKey as keyof typeof PRICE];
  return {
    caseId, modelKey, repeat: 0, requestHash: `h-${caseId}-${modelKey}`,
    completion: {
      text, usage: { input: 120, output: 30 }, latencyMs: 420, requestId: `req-${caseId}-${modelKey}`,
      ...(priced ? { costUsd: price } : {}),
    },
    grades: [
      grade('exact', pass, pass ? 'matches the expected label' : `expected "refund" but got "${text.slice(0, 20)}"`),
      grade('judge', pass, pass ? 'faithful' : 'misses the key fact'),
    ],
    pass,
    score: pass ? 1 : 0,
  };
}

export interface FixtureOptions {
  /** Give mixtral no price (the "unpriced model"). Default true. */
  unpricedMid?: boolean;
  plan?: CasePlan[];
  runId?: string;
  /** Flip these case ids' candidate outcome (for run-vs-run). */
  flip?: string[];
}

export function buildFixture(opts: FixtureOptions = {}): ReportInput {
  const plan = opts.plan ?? smallPlan();
  const unpricedMid = opts.unpricedMid ?? true;
  const flip = new Set(opts.flip ?? []);
  const runId = opts.runId ?? 'run-2024-head';
  const cases: StoredCase[] = [];
  const calls: CallOutcome[] = [];
  for (const c of plan) {
    const candModel = MODEL_OF[c.tier];
    const question = `Customer ${c.id} asks: can I get a refund for order #${c.id.length * 7}?`;
    cases.push({
      caseId: c.id,
      tier: c.tier,
      case: { id: c.id, vars: { question }, task: c.task, tags: [c.tier === 'cheap' ? 'short' : 'long'] },
      golden: { id: c.id, expected: 'refund', reference: 'Refunds are possible within 30 days.' },
      input: [
        { role: 'system', content: 'You are a support classifier. Answer with one label.' },
        { role: 'user', content: c.xss ? `${question} ${XSS}` : question },
      ],
    });
    const basePass = c.kind === 'regression' || c.kind === 'both-pass' || c.kind === 'base-pass';
    let candPass = c.kind === 'improvement' || c.kind === 'both-pass' || c.kind === 'base-pass';
    if (flip.has(c.id)) candPass = !candPass;
    const baseText = basePass ? 'The answer is refund, within 30 days of purchase.' : 'The answer is cancel the order.';
    calls.push(call(c.id, 'gpt4', basePass, baseText, true));
    if (candModel !== 'gpt4') {
      const candText = c.xss ? XSS_OUTPUT : candPass ? 'The answer is refund, within thirty days.' : 'The answer is exchange the item.';
      calls.push(call(c.id, candModel, candPass, candText, candModel === 'mixtral' ? !unpricedMid : true, c.error === true));
    }
  }
  const tierCases = (t: string) => plan.filter((c) => c.tier === t).length;
  const tiers: TierVerdict[] = [
    {
      tier: 'cheap', model: 'flash', baselineModel: 'gpt4', cases: tierCases('cheap'), passRate: 0.25, baselinePassRate: 0.75,
      delta: -0.5, errors: 1, outcome: 'fail', pass: false, headline: 'FAIL — regressed: at best −20.0 pts at 95% confidence, beyond the margin 3',
      reasons: ['pass rate 25.0% is below the floor 85.0%', 'drop of 50.0 pts exceeds maxRegression 3.0 pts'],
      ci: [-0.8, -0.2], pValue: 0.031, rule: 'noninferiority', costPer1k: 0.5, baselineCostPer1k: 10,
    },
    {
      tier: 'mid', model: 'mixtral', baselineModel: 'gpt4', cases: tierCases('mid'), passRate: 0.667, baselinePassRate: 0.667,
      delta: 0, errors: 0, outcome: 'inconclusive', pass: false, onInconclusive: 'warn',
      headline: 'INCONCLUSIVE — between −25.0 pts and +25.0 pts, margin 5; ~300 more cases would decide it at the observed delta (300 more if the models are truly equal)',
      casesNeeded: { atObservedDelta: 306, atZeroDelta: 306, power: 0.8 },
      reasons: ['onInconclusive: warn — this tier does not block the gate'], ci: [-0.25, 0.25], pValue: 1, rule: 'noninferiority',
      costPer1k: unpricedMid ? null : 2, baselineCostPer1k: 10,
    },
    {
      tier: 'frontier', model: 'gpt4', baselineModel: 'gpt4', cases: tierCases('frontier'), passRate: 0.833, baselinePassRate: 0.833,
      delta: 0, errors: 0, outcome: 'pass', pass: true, headline: 'baseline — the model every tier is compared with', reasons: [], costPer1k: 10, baselineCostPer1k: 10,
    },
  ];
  const summary: RunSummary = {
    runId, suite: 'support-intents', status: 'complete', outcome: 'fail', pass: false, tiers,
    models: [
      { model: 'gpt4', calls: plan.length, errors: 0, inputTokens: 120 * plan.length, outputTokens: 30 * plan.length, costUsd: plan.length * PRICE.gpt4 },
      { model: 'flash', calls: tierCases('cheap'), errors: 1, inputTokens: 840, outputTokens: 210, costUsd: 0.0035 },
      { model: 'mixtral', calls: tierCases('mid'), errors: 0, inputTokens: 720, outputTokens: 180, costUsd: unpricedMid ? null : 0.012 },
    ],
  };
  const run: RunRecord = {
    id: runId, suite: 'support-intents', suiteDir: '/repo/suites/support-intents', status: 'complete',
    startedAt: '2024-05-02T10:15:00.000Z', finishedAt: '2024-05-02T10:17:31.000Z',
    configContent: '', routingFile: 'routing.yaml', routingContent: '', routingHash: 'a3f9c2e1b4d5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff',
    gitCommit: '9c1e2d3f4a5b6c7d8e9f00112233445566778899', baseline: 'gpt4', summary,
  };
  return { run, cases, calls, summary };
}
