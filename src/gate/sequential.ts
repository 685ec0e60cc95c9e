/**
 * Sequential gating (`run --sequential`): each tier is decided at up to K looks on growing random subsets
 * of its cases, and a tier stops being called once it is decided. Pure and seeded: the same stored
 * results and the same design replay to the same verdicts.
 *
 * The design (see docs/statistics.md, "Sequential runs", for the simulations behind it):
 * - PASS at look k when the lower bound of the interval at the O'Brien–Fleming level of that look clears
 *   −margin: very strict early (z 4.56 at the first of 5 looks), close to the fixed design at the last
 *   (2.04 instead of 1.96), so false PASS stays at the fixed design's 2.5% and almost no power is lost.
 * - FAIL at look k when the upper bound of the interval at the Pocock level (one constant, 2.41 for 5
 *   looks) is below −margin: a clear regression is shown early, and the chance of calling a tier that
 *   sits exactly on the margin a FAIL stays at 2.5% over all looks.
 * - Otherwise the tier goes on to the next look; after the last it is INCONCLUSIVE.
 * minPassRate is a floor on the point estimate, too noisy on a subset to stop on: it can block an early
 * PASS but only fails a tier at the last look.
 */
import { confidenceLevel } from '../core/format.js';
import type { CaseResult, Outcome, Routing, SequentialDesign, SequentialLook, TierConfig } from '../core/types.js';
import { createRng } from '../stats/rng.js';
import { equalFractions, groupSequentialBoundaries, lookSizes, type BoundaryShape } from '../stats/sequential.js';
import { decideTier, DEFAULT_RULE, DEFAULT_SEED, type DecideOptions, type DecideTierInput, type GateVerdict } from './decide.js';

/** 5 looks: the fewest at which the design met both savings targets in the simulations (3 did not). */
export const DEFAULT_SEQUENTIAL_LOOKS = 5;
export const PASS_BOUNDARY: BoundaryShape = 'obrien-fleming';
export const FAIL_BOUNDARY: BoundaryShape = 'pocock';
/** One-sided error of each claim (PASS at the margin, FAIL at the margin): a 95% two-sided interval's. */
export const SEQUENTIAL_ALPHA = 0.025;

export function sequentialDesign(opts: { looks?: number; seed?: number } = {}): SequentialDesign {
  const looks = opts.looks ?? DEFAULT_SEQUENTIAL_LOOKS;
  const pass = groupSequentialBoundaries({ looks, alpha: SEQUENTIAL_ALPHA, shape: PASS_BOUNDARY });
  const fail = groupSequentialBoundaries({ looks, alpha: SEQUENTIAL_ALPHA, shape: FAIL_BOUNDARY });
  return {
    looks,
    alpha: SEQUENTIAL_ALPHA,
    seed: opts.seed ?? DEFAULT_SEED,
    passBoundary: PASS_BOUNDARY,
    failBoundary: FAIL_BOUNDARY,
    passZ: pass.z,
    failZ: fail.z,
    passConfidence: pass.confidence,
    failConfidence: fail.confidence,
  };
}

/**
 * Each tier's cases in the order the looks take them: a seeded shuffle per tier, so every look sees a
 * random subset of every tier (the first cases of a suite are often its easiest or its newest).
 */
export function sequentialOrder(caseIds: readonly string[], tierOf: ReadonlyMap<string, string>, seed: number): Map<string, string[]> {
  const byTier = new Map<string, string[]>();
  for (const id of caseIds) {
    const tier = tierOf.get(id);
    if (tier === undefined) continue;
    const list = byTier.get(tier);
    if (list) list.push(id);
    else byTier.set(tier, [id]);
  }
  for (const [tier, ids] of byTier) {
    const rng = createRng(seed ^ stringHash(tier));
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
  }
  return byTier;
}

export interface ReplayInput extends DecideOptions {
  routing: Pick<Routing, 'baseline' | 'tiers'> & { file?: string };
  design: SequentialDesign;
  /** From sequentialOrder. */
  order: ReadonlyMap<string, string[]>;
  /** The results at hand (all looks so far). */
  results: readonly CaseResult[];
}

export interface ReplayResult {
  /** Per configured tier, in routing order: its verdict at the look that decided it, or so far. */
  verdicts: Array<GateVerdict & { sequential: SequentialLook }>;
  /** Cases the undecided tiers need for their next look and that have no result yet. */
  pending: string[];
}

/**
 * Walks the looks over the results at hand. A tier is decided at the first look whose boundary it
 * crosses; a tier whose next look lacks results lists those cases in `pending` (and carries its verdict
 * at its last complete look); after the last look an undecided tier is INCONCLUSIVE.
 */
export function replayLooks(input: ReplayInput): ReplayResult {
  const { routing, design, order } = input;
  const byId = new Map(input.results.map((r) => [r.caseId, r]));
  const options: DecideOptions = {
    ...(input.repeatPolicy ? { repeatPolicy: input.repeatPolicy } : {}),
    ...(input.seed !== undefined ? { seed: input.seed } : {}),
    ...(input.resamples !== undefined ? { resamples: input.resamples } : {}),
    ...((input.routingFile ?? routing.file) !== undefined ? { routingFile: (input.routingFile ?? routing.file)! } : {}),
  };
  const verdicts: ReplayResult['verdicts'] = [];
  const pending: string[] = [];
  const fractions = equalFractions(design.looks);
  for (const tier of routing.tiers.values()) {
    const ids = order.get(tier.name) ?? [];
    const sizes = lookSizes(ids.length, fractions);
    // Each look only tries its verdict (no bootstrap cross-check); the one reported is decided again in full.
    type Look = { verdict: GateVerdict; input: DecideTierInput; look: number; used: number };
    let decided: Look | undefined;
    let latest: Look | undefined;
    // Screening rules (point, significant) always decide, so a look could not leave them open: they
    // take no early look and decide once, on all their cases, exactly as a fixed run would.
    const screening = (tier.gate.rule ?? DEFAULT_RULE) !== 'noninferiority';
    for (let k = 0; k < design.looks && !decided; k++) {
      const used = sizes[k]!;
      const missing = ids.slice(0, used).filter((id) => !byId.has(id));
      if (missing.length) {
        pending.push(...missing);
        break;
      }
      const results = ids.slice(0, used).map((id) => byId.get(id)!);
      const last = k === design.looks - 1;
      const tryAt = (tierAt: TierConfig): Look => {
        const input: DecideTierInput = { ...options, tier: tierAt, baselineModel: routing.baseline, results };
        return { verdict: decideTier({ ...input, crossCheck: false }), input, look: k + 1, used };
      };
      if (screening) {
        if (last) decided = tryAt(tier);
        continue;
      }
      const byPass = tryAt(atLevel(tier, design.passConfidence[k]!, true));
      if (byPass.verdict.outcome === 'pass') decided = byPass;
      else {
        const byFail = tryAt(atLevel(tier, design.failConfidence[k]!, last));
        if (byFail.verdict.outcome === 'fail') decided = byFail;
        // Undecided after the last look: the PASS-level interval is the one that did not clear the margin
        // (unless it lies below it, which the wider FAIL-level interval does not confirm).
        else if (last) decided = byPass.verdict.outcome === 'inconclusive' ? byPass : byFail;
        else latest = byPass;
      }
    }
    const at = decided ?? latest;
    const verdict = decideTier(at?.input ?? { ...options, tier, baselineModel: routing.baseline, results: [] });
    const sequential: SequentialLook = { look: at?.look ?? 0, looks: design.looks, casesUsed: at?.used ?? 0, casesRouted: ids.length };
    // A tier with nothing to compare (the baseline's own, or no cases) has no look worth explaining.
    if (ids.length > 0 && tier.model !== routing.baseline) {
      verdict.reasons.push(lookReason(sequential, decided !== undefined, verdict.outcome, design, screening ? tier.gate.rule : undefined));
      if (decided && sequential.look < sequential.looks) verdict.headline += ` (stopped at look ${sequential.look} of ${sequential.looks}, on ${sequential.casesUsed} of ${sequential.casesRouted} cases)`;
      // The INCONCLUSIVE headline names no level; after K looks it is not the usual 95%.
      else if (decided && !screening && verdict.outcome === 'inconclusive') verdict.headline += ` (after ${sequential.looks} looks, ${confidenceLevel(verdict.confidence)} interval)`;
    }
    verdicts.push({ ...verdict, sequential });
  }
  return { verdicts, pending };
}

/**
 * The tier's gate at one look's interval level; without its minPassRate floor when `withFloor` is false
 * (an interim FAIL must rest on the interval, not on a noisy point estimate).
 */
function atLevel(tier: TierConfig, confidence: number, withFloor: boolean): TierConfig {
  const { minPassRate, ...gate } = tier.gate;
  return { ...tier, gate: { ...gate, confidence, ...(withFloor && minPassRate !== undefined ? { minPassRate } : {}) } };
}

function lookReason(s: SequentialLook, decided: boolean, outcome: Outcome, design: SequentialDesign, screeningRule?: string): string {
  const where = `look ${s.look} of ${s.looks}, on ${s.casesUsed} of ${s.casesRouted} routed cases`;
  if (screeningRule && decided) return `sequential run: rule ${screeningRule} is a screening rule and always decides, so it was decided on all ${s.casesUsed} cases, with no early look`;
  if (!decided) {
    return s.look === 0
      ? `sequential run: not decided — no look completed`
      : `sequential run: not decided yet at ${where}; the next look's cases have no results`;
  }
  const k = s.look - 1;
  const boundary =
    outcome === 'pass'
      ? `PASS boundary z=${design.passZ[k]!.toFixed(2)} (${confidenceLevel(design.passConfidence[k]!)} interval)`
      : `FAIL boundary z=${design.failZ[k]!.toFixed(2)} (${confidenceLevel(design.failConfidence[k]!)} interval)`;
  const stop = s.look < s.looks ? 'stopped early at' : 'decided at';
  return outcome === 'inconclusive'
    ? `sequential run: crossed no boundary by the last look (${where})`
    : `sequential run: ${stop} ${where}, ${boundary}`;
}

/** FNV-1a, so each tier's shuffle has its own stream from the one seed. */
function stringHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}
