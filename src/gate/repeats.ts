import { usable } from '../core/calls.js';
import type { CallOutcome, CaseResult, FlakyCase, RepeatPolicy } from '../core/types.js';
const passedOnce = (o: CallOutcome) => o.pass && usable(o);

export interface RepeatVerdict {
  pass: boolean;
  passes: number;
  samples: number;
  /** Share of samples that disagree with the majority: 0 for a stable case, up to 0.5. */
  flipRate: number;
}

/**
 * One verdict from several samples. `majority` needs more than half (a tie fails: the gate must not
 * count a coin flip as a pass); `pass@k` needs any; `pass^k` needs every sample. (`per-call` has no
 * per-case verdict; here it reads as majority, which is what flakiness is measured against.)
 */
export function repeatVerdict(samples: CallOutcome[], policy: RepeatPolicy): RepeatVerdict {
  const passes = samples.filter(passedOnce).length;
  const n = samples.length;
  const pass = policy === 'pass@k' ? passes > 0 : policy === 'pass^k' ? passes === n : passes * 2 > n;
  return { pass, passes, samples: n, flipRate: n ? Math.min(passes, n - passes) / n : 0 };
}

/** Why a case is left out of the paired comparison. Errors are neither passes nor failures. */
export type Exclusion = 'baseline-error' | 'candidate-error' | 'grade-error';

/**
 * One case as the paired comparison reads it: `pairs` (baseline, candidate) outcomes — one per repeat
 * under `per-call`, one per case under the per-case policies — or the reason it cannot be compared.
 */
export type CaseComparison =
  | { caseId: string; pairs: Array<{ baseline: boolean; candidate: boolean }> }
  | { caseId: string; excluded: Exclusion };

export function compareCase(r: CaseResult, policy: RepeatPolicy): CaseComparison {
  const baseline = r.repeats?.baseline ?? [r.baseline];
  const candidate = r.repeats?.candidate ?? [r.candidate];
  if (policy === 'per-call') {
    // Sample i of the baseline is paired with sample i of the candidate; a pair with an error on
    // either side is dropped, the case only when no pair is left.
    const pairs: Array<{ baseline: boolean; candidate: boolean }> = [];
    for (let i = 0; i < Math.min(baseline.length, candidate.length); i++) {
      const b = baseline[i]!;
      const c = candidate[i]!;
      if (usable(b) && usable(c)) pairs.push({ baseline: passedOnce(b), candidate: passedOnce(c) });
    }
    return pairs.length ? { caseId: r.caseId, pairs } : { caseId: r.caseId, excluded: exclusion(baseline, candidate) };
  }
  const b = baseline.filter(usable);
  const c = candidate.filter(usable);
  if (!b.length || !c.length) return { caseId: r.caseId, excluded: exclusion(baseline, candidate) };
  return { caseId: r.caseId, pairs: [{ baseline: repeatVerdict(b, policy).pass, candidate: repeatVerdict(c, policy).pass }] };
}

function exclusion(baseline: CallOutcome[], candidate: CallOutcome[]): Exclusion {
  if (baseline.some((o) => o.error)) return 'baseline-error';
  if (candidate.some((o) => o.error)) return 'candidate-error';
  return 'grade-error';
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
