import type { CallOutcome, CaseResult, FlakyCase, RepeatPolicy } from '../core/types.js';

const passedOnce = (o: CallOutcome) => o.pass && !o.error;

export interface RepeatVerdict {
  pass: boolean;
  passes: number;
  samples: number;
  /** Share of samples that disagree with the majority: 0 for a stable case, up to 0.5. */
  flipRate: number;
}

/**
 * One verdict from several samples. `majority` needs more than half (a tie fails: the gate must not
 * count a coin flip as a pass); `pass@k` needs any; `pass^k` needs every sample.
 */
export function repeatVerdict(samples: CallOutcome[], policy: RepeatPolicy): RepeatVerdict {
  const passes = samples.filter(passedOnce).length;
  const n = samples.length;
  const pass = policy === 'pass@k' ? passes > 0 : policy === 'pass^k' ? passes === n : passes * 2 > n;
  return { pass, passes, samples: n, flipRate: n ? Math.min(passes, n - passes) / n : 0 };
}


/** Did this side of the case pass, under the policy when the run repeated its calls. */
export function casePassed(result: CaseResult, side: 'baseline' | 'candidate', policy: RepeatPolicy): boolean {
  const samples = result.repeats?.[side];
  return samples ? repeatVerdict(samples, policy).pass : passedOnce(result[side]);
}

/** Cases whose outcome flipped across repeats, for either model. */
export function flakyCases(results: CaseResult[]): FlakyCase[] {
  const out: FlakyCase[] = [];
  for (const r of results) {
    if (!r.repeats) continue;
    const sides = r.repeats.candidate[0] === r.repeats.baseline[0] ? [r.repeats.baseline] : [r.repeats.baseline, r.repeats.candidate];
    for (const samples of sides) {
      const v = repeatVerdict(samples, 'majority');
      if (v.flipRate > 0) out.push({ caseId: r.caseId, model: samples[0]!.modelKey, passes: v.passes, samples: v.samples, flipRate: v.flipRate });
    }
  }
  return out;
}
