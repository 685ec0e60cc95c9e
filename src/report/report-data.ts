import { diffWords, diffWordsWithSpace } from 'diff';
import { sumCosts } from '../core/cost.js';
import { usable } from '../core/calls.js';
import { gateHeadline, type GateHeadline } from './verdict-text.js';
import { failureCause, type FailureCause } from './failure-cause.js';
import type {
  AttachmentRef,
  CallError,
  CallOutcome,
  ChatMessage,
  Golden,
  Grade,
  ModelUsage,
  RunRecord,
  RunStatus,
  RunSummary,
  StoredCase,
  TierVerdict,
} from '../core/types.js';
import type { GateComparison } from './base-vs-head.js';

/**
 * How a case moved between the baseline and its tier's model. `baseline` = the case is routed to the
 * baseline model itself (nothing to compare); `missing` = one of the two calls has no stored result
 * (incomplete run), so it is neither a regression nor a pass.
 */
export type Outcome = 'regression' | 'improvement' | 'both-fail' | 'both-pass' | 'baseline' | 'missing';

/** Display order: what a reviewer must look at first comes first. */
export const OUTCOME_ORDER: readonly Outcome[] = ['regression', 'improvement', 'both-fail', 'missing', 'both-pass', 'baseline'];

export const OUTCOME_LABELS: Readonly<Record<Outcome, string>> = {
  regression: 'Regression',
  improvement: 'Improvement',
  'both-fail': 'Both fail',
  missing: 'No result',
  'both-pass': 'Both pass',
  baseline: 'Baseline tier',
};

/** -1 = only in the baseline output, 1 = only in the candidate output, 0 = in both. */
export type DiffOp = -1 | 0 | 1;
export type DiffSegment = [DiffOp, string];

export interface ReportSide {
  model: string;
  pass: boolean;
  score: number;
  /** null when the call errored. */
  text: string | null;
  error?: CallError;
  grades: Grade[];
  inputTokens: number | null;
  outputTokens: number | null;
  latencyMs: number | null;
  /** null = unpriced or no completion. */
  costUsd: number | null;
  cached: boolean;
  requestId?: string;
}

export interface ReportCase {
  id: string;
  tier: string;
  task?: string;
  tags: string[];
  outcome: Outcome;
  /** The rendered conversation the models saw, else the case's own messages; null when neither is stored. */
  input: ReportMessage[] | null;
  vars?: Record<string, unknown>;
  golden?: Omit<Golden, 'origin'>;
  baseline: ReportSide | null;
  /** The same object as `baseline` when the case's tier uses the baseline model. */
  candidate: ReportSide | null;
  sameModel: boolean;
  /**
   * Word diff baseline → candidate. Concatenating ops 0 and -1 gives the baseline text exactly, ops 0 and 1
   * the candidate text, so the HTML can drop both texts. null when there is nothing to diff (same model, an
   * errored side) or the outputs are too different for a useful word diff.
   */
  diff: DiffSegment[] | null;
}

export interface ReportTier extends TierVerdict {
  isBaselineTier: boolean;
  /** USD saved per 1k requests of this tier vs sending them to the baseline; null when either side is unpriced. */
  savedPer1k: number | null;
  /** Share of the baseline cost saved (0.8 = 80 % cheaper); null when unpriced or the baseline is free. */
  savedFraction: number | null;
}

export interface ReportCost {
  cases: number;
  /** Sum over cases of the tier model's call cost (the routed configuration). */
  routedUsd: number | null;
  /** Sum over cases of the baseline call cost (everything sent to the frontier model). */
  allFrontierUsd: number | null;
  savedUsd: number | null;
  savedFraction: number | null;
  routedPer1k: number | null;
  allFrontierPer1k: number | null;
  /** Models whose completions carry no cost: any of them makes the totals unpriced. */
  unpricedModels: string[];
  /** Errored or missing calls: not billed, left out of the sums. */
  callsWithoutCompletion: number;
}

/** One point of the cost-vs-quality view. */
export interface ModelPoint {
  model: string;
  /**
   * Cases compared (repeat 0): for a routed model, those where it and the baseline both gave a gradable
   * output, so its pass rate and the baseline's below are on the same cases; for the baseline, every
   * case it gave a gradable output on. Errored calls are left out, never counted as failures.
   */
  cases: number;
  passes: number;
  passRate: number;
  /** The baseline's pass rate on the same cases (routed models only). */
  baselinePassRate?: number;
  errors: number;
  /** Mean cost per call × 1000; null when any completion of the model is unpriced. */
  costPer1k: number | null;
  isBaseline: boolean;
  /** True when no other model is at least as cheap and at least as good, and strictly better at one. */
  pareto: boolean;
}

export interface RunChange {
  id: string;
  tier: string;
  baseModel: string;
  headModel: string;
}

export interface RunVsRun {
  baseRunId: string;
  baseStartedAt: string;
  baseRoutingHash: string;
  baseGitCommit?: string;
  newlyFailing: RunChange[];
  newlyPassing: RunChange[];
  stillPassing: number;
  stillFailing: number;
  /** Cases whose candidate model differs between the runs (the routing moved them). */
  rerouted: number;
  onlyInHead: number;
  onlyInBase: number;
}

export interface ReportMeta {
  suite: string;
  runId: string;
  status: RunStatus;
  pass: boolean;
  /** The gate's closing line, worded as in every other report. */
  gate: GateHeadline;
  routingFile: string;
  routingHash: string;
  gitCommit?: string;
  startedAt: string;
  finishedAt?: string;
  baseline: string;
  models: ModelUsage[];
}

export interface ReportData {
  meta: ReportMeta;
  tiers: ReportTier[];
  cost: ReportCost;
  groups: { outcome: Outcome; label: string; count: number }[];
  /** Sorted: regressions first, then OUTCOME_ORDER; suite order within a group. */
  cases: ReportCase[];
  models: ModelPoint[];
  filters: { tiers: string[]; graders: string[]; tasks: string[]; tags: string[] };
  runVsRun?: RunVsRun;
  /** `evalroute gate`: the base routing vs this run's (head) routing, and the cases that moved tier. */
  baseVsHead?: GateComparison;
  /** When most calls failed: what failed, the URL tried and the likely fix, shown before anything else. */
  failure?: FailureCause;
  /** Run-level caveats the verdict rests on (e.g. selection bias), as on the console. */
  warnings: string[];
}

export interface ReportInput {
  run: RunRecord;
  cases: StoredCase[];
  calls: CallOutcome[];
  summary: RunSummary;
  baseRun?: { run: RunRecord; calls: CallOutcome[] };
  comparison?: GateComparison;
}

/** Word diffs of huge, unrelated outputs cost a lot and show nothing useful; beyond this many edits we skip. */
const MAX_DIFF_EDITS = 2000;

export function buildReportData(input: ReportInput): ReportData {
  const { run, summary } = input;
  const baselineKey = run.baseline;
  const tierModel = new Map(summary.tiers.map((t) => [t.tier, t.model]));
  const calls = indexCalls(input.calls);

  const cases: ReportCase[] = input.cases.map((sc) => {
    const candidateKey = tierModel.get(sc.tier) ?? baselineKey;
    const sameModel = candidateKey === baselineKey;
    const baseCall = calls.get(sc.caseId)?.get(baselineKey);
    const candCall = sameModel ? baseCall : calls.get(sc.caseId)?.get(candidateKey);
    const baseline = baseCall ? toSide(baseCall) : null;
    const candidate = sameModel ? baseline : candCall ? toSide(candCall) : null;
    const rc: ReportCase = {
      id: sc.caseId,
      tier: sc.tier,
      tags: sc.case.tags ?? [],
      outcome: classify(baseline, candidate, sameModel),
      input: reportMessages(sc.input ?? sc.case.messages),
      baseline,
      candidate,
      sameModel,
      diff: !sameModel && baseline?.text != null && candidate?.text != null ? wordDiff(baseline.text, candidate.text) : null,
    };
    if (sc.case.task !== undefined) rc.task = sc.case.task;
    if (sc.case.vars !== undefined) rc.vars = sc.case.vars;
    if (sc.golden !== undefined) rc.golden = sc.golden;
    return rc;
  });

  const rank = new Map(OUTCOME_ORDER.map((o, i) => [o, i]));
  // Array.prototype.sort is stable, so suite order survives within each group.
  cases.sort((a, b) => rank.get(a.outcome)! - rank.get(b.outcome)!);

  const data: ReportData = {
    meta: buildMeta(run, summary),
    tiers: summary.tiers.map(toReportTier),
    cost: overallCost(cases),
    groups: OUTCOME_ORDER.map((outcome) => ({
      outcome,
      label: OUTCOME_LABELS[outcome],
      count: cases.filter((c) => c.outcome === outcome).length,
    })),
    cases,
    models: modelPoints(input.calls, baselineKey, summary.models.map((m) => m.model)),
    filters: {
      tiers: unique([...summary.tiers.map((t) => t.tier), ...cases.map((c) => c.tier)]),
      graders: unique(cases.flatMap((c) => [...(c.baseline?.grades ?? []), ...(c.candidate?.grades ?? [])].map((g) => g.grader))),
      tasks: unique(cases.flatMap((c) => (c.task === undefined ? [] : [c.task]))).sort(),
      tags: unique(cases.flatMap((c) => c.tags)).sort(),
    },
    warnings: summary.warnings ?? [],
  };
  const failure = failureCause(summary);
  if (failure) data.failure = failure;
  if (input.baseRun) data.runVsRun = compareRuns(cases, input.baseRun);
  if (input.comparison) data.baseVsHead = input.comparison;
  return data;
}

function buildMeta(run: RunRecord, summary: RunSummary): ReportMeta {
  const meta: ReportMeta = {
    suite: run.suite,
    runId: run.id,
    status: summary.status,
    pass: summary.pass,
    gate: gateHeadline(summary),
    routingFile: run.routingFile,
    routingHash: run.routingHash,
    startedAt: run.startedAt,
    baseline: run.baseline,
    models: summary.models,
  };
  if (run.gitCommit !== undefined) meta.gitCommit = run.gitCommit;
  if (run.finishedAt !== undefined) meta.finishedAt = run.finishedAt;
  return meta;
}

/** caseId → modelKey → the repeat-0 call (the report shows one sample per side). */
function indexCalls(calls: CallOutcome[]): Map<string, Map<string, CallOutcome>> {
  const byCase = new Map<string, Map<string, CallOutcome>>();
  for (const c of calls) {
    if (c.repeat !== 0) continue;
    let m = byCase.get(c.caseId);
    if (!m) byCase.set(c.caseId, (m = new Map()));
    m.set(c.modelKey, c);
  }
  return byCase;
}

function toSide(o: CallOutcome): ReportSide {
  const c = o.completion;
  const side: ReportSide = {
    model: o.modelKey,
    pass: o.pass,
    score: o.score,
    text: c ? c.text : null,
    grades: o.grades,
    inputTokens: c ? c.usage.input : null,
    outputTokens: c ? c.usage.output : null,
    latencyMs: c ? c.latencyMs : null,
    costUsd: c?.costUsd ?? null,
    cached: c?.cached ?? false,
  };
  if (o.error) side.error = o.error;
  const requestId = c?.requestId ?? o.error?.requestId;
  if (requestId !== undefined) side.requestId = requestId;
  return side;
}

function classify(baseline: ReportSide | null, candidate: ReportSide | null, sameModel: boolean): Outcome {
  if (!baseline || !candidate) return 'missing';
  if (sameModel) return 'baseline';
  if (baseline.pass) return candidate.pass ? 'both-pass' : 'regression';
  return candidate.pass ? 'improvement' : 'both-fail';
}

/**
 * `diffWords` ignores whitespace while matching and can then rebuild the baseline with the candidate's
 * spacing. The report drops both texts and rebuilds them from the segments, so whenever that would not
 * give back the exact outputs we fall back to the whitespace-aware word diff.
 */
export function wordDiff(before: string, after: string): DiffSegment[] | null {
  for (const fn of [diffWords, diffWordsWithSpace]) {
    const changes = fn(before, after, { maxEditLength: MAX_DIFF_EDITS });
    if (!changes) return null;
    const segs: DiffSegment[] = [];
    for (const ch of changes) {
      if (!ch.value) continue;
      const op: DiffOp = ch.added ? 1 : ch.removed ? -1 : 0;
      const last = segs[segs.length - 1];
      if (last && last[0] === op) last[1] += ch.value;
      else segs.push([op, ch.value]);
    }
    if (joinSide(segs, -1) === before && joinSide(segs, 1) === after) return segs;
  }
  return null;
}

/** Rebuilds one side of a diff: side -1 = baseline, 1 = candidate. */
export function joinSide(segs: DiffSegment[], side: -1 | 1): string {
  return segs.filter(([op]) => op !== -side).map(([, t]) => t).join('');
}

function toReportTier(t: TierVerdict): ReportTier {
  const cost = t.costPer1k ?? null;
  const base = t.baselineCostPer1k ?? null;
  const priced = cost !== null && base !== null;
  return {
    ...t,
    isBaselineTier: t.model === t.baselineModel,
    savedPer1k: priced ? base - cost : null,
    savedFraction: priced && base > 0 ? (base - cost) / base : null,
  };
}

function overallCost(cases: ReportCase[]): ReportCost {
  const unpriced = new Set<string>();
  let withoutCompletion = 0;
  // Errored or missing calls were not billed; an unpriced completion makes the total unknown, never free.
  const costOf = (s: ReportSide | null): number | null | undefined => {
    if (!s || s.text === null) {
      withoutCompletion++;
      return 0;
    }
    if (s.costUsd === null) unpriced.add(s.model);
    return s.costUsd;
  };
  const routed: (number | null | undefined)[] = [];
  const frontier: (number | null | undefined)[] = [];
  for (const c of cases) {
    const cand = costOf(c.candidate);
    routed.push(cand);
    frontier.push(c.sameModel ? cand : costOf(c.baseline));
  }
  const routedUsd = sumCosts(routed);
  const allFrontierUsd = sumCosts(frontier);
  const per1k = (x: number | null) => (x === null || cases.length === 0 ? null : (x / cases.length) * 1000);
  const saved = routedUsd !== null && allFrontierUsd !== null ? allFrontierUsd - routedUsd : null;
  return {
    cases: cases.length,
    routedUsd,
    allFrontierUsd,
    savedUsd: saved,
    savedFraction: saved !== null && allFrontierUsd ? saved / allFrontierUsd : null,
    routedPer1k: per1k(routedUsd),
    allFrontierPer1k: per1k(allFrontierUsd),
    unpricedModels: [...unpriced].sort(),
    callsWithoutCompletion: withoutCompletion,
  };
}

function modelPoints(calls: CallOutcome[], baselineKey: string, order: string[]): ModelPoint[] {
  const byModel = new Map<string, CallOutcome[]>();
  for (const c of calls) {
    if (c.repeat !== 0) continue;
    const list = byModel.get(c.modelKey) ?? [];
    list.push(c);
    byModel.set(c.modelKey, list);
  }
  const keys = unique([...order.filter((k) => byModel.has(k)), ...byModel.keys()]);
  const baselineByCase = new Map((byModel.get(baselineKey) ?? []).map((c) => [c.caseId, c]));
  const points = keys.map((model): ModelPoint => {
    const list = byModel.get(model)!;
    const done = list.filter((c) => c.completion);
    const total = sumCosts(done.map((c) => c.completion!.costUsd));
    const isBaseline = model === baselineKey;
    // Pass rates are compared on the same cases: where this model and the baseline both gave a gradable output.
    const compared = list.filter((c) => usable(c) && (isBaseline || (baselineByCase.has(c.caseId) && usable(baselineByCase.get(c.caseId)!))));
    const passes = compared.filter((c) => c.pass).length;
    const point: ModelPoint = {
      model,
      cases: compared.length,
      passes,
      passRate: compared.length ? passes / compared.length : 0,
      errors: list.length - done.length,
      costPer1k: total === null || list.length === 0 ? null : (total / list.length) * 1000,
      isBaseline,
      pareto: false,
    };
    if (!isBaseline) point.baselinePassRate = compared.length ? compared.filter((c) => baselineByCase.get(c.caseId)!.pass).length / compared.length : 0;
    return point;
  });
  for (const p of points) {
    if (p.costPer1k === null) continue;
    const pc = p.costPer1k;
    // Quality is the paired difference to the baseline (0 for the baseline itself): raw pass rates of
    // models run on different cases are not comparable.
    const gain = (m: ModelPoint) => (m.baselinePassRate === undefined ? 0 : m.passRate - m.baselinePassRate);
    p.pareto = !points.some((q) => q !== p && q.costPer1k !== null && q.costPer1k <= pc && gain(q) >= gain(p) && (q.costPer1k < pc || gain(q) > gain(p)));
  }
  return points;
}

/**
 * The base run has no stored case list here, so its candidate per case is inferred the way the engine
 * calls models: the baseline for every case, plus the tier model when it differs.
 */
function compareRuns(cases: ReportCase[], base: { run: RunRecord; calls: CallOutcome[] }): RunVsRun {
  const baseCalls = indexCalls(base.calls);
  const result: RunVsRun = {
    baseRunId: base.run.id,
    baseStartedAt: base.run.startedAt,
    baseRoutingHash: base.run.routingHash,
    newlyFailing: [],
    newlyPassing: [],
    stillPassing: 0,
    stillFailing: 0,
    rerouted: 0,
    onlyInHead: 0,
    onlyInBase: 0,
  };
  if (base.run.gitCommit !== undefined) result.baseGitCommit = base.run.gitCommit;
  const seen = new Set<string>();
  for (const c of cases) {
    seen.add(c.id);
    const m = baseCalls.get(c.id);
    const baseCand = m ? ([...m.values()].find((o) => o.modelKey !== base.run.baseline) ?? m.get(base.run.baseline)) : undefined;
    if (!baseCand || !c.candidate) {
      result.onlyInHead++;
      continue;
    }
    if (baseCand.modelKey !== c.candidate.model) result.rerouted++;
    const change: RunChange = { id: c.id, tier: c.tier, baseModel: baseCand.modelKey, headModel: c.candidate.model };
    if (baseCand.pass && !c.candidate.pass) result.newlyFailing.push(change);
    else if (!baseCand.pass && c.candidate.pass) result.newlyPassing.push(change);
    else if (c.candidate.pass) result.stillPassing++;
    else result.stillFailing++;
  }
  for (const id of baseCalls.keys()) if (!seen.has(id)) result.onlyInBase++;
  return result;
}

function unique<T>(xs: Iterable<T>): T[] {
  return [...new Set(xs)];
}

/** A message as reports show it: attachments by name, small images inline as thumbnails. */
export interface ReportMessage {
  role: ChatMessage['role'];
  content: string;
  attachments?: (AttachmentRef & { dataUrl?: string })[];
}

/** Images up to this size are inlined as data URLs; larger ones and PDFs appear by name only. */
export const THUMBNAIL_MAX_BYTES = 200 * 1024;

function reportMessages(messages: readonly ChatMessage[] | undefined): ReportMessage[] | null {
  if (!messages) return null;
  return messages.map(({ attachments, ...m }) => {
    if (!attachments?.length) return m;
    return {
      ...m,
      attachments: attachments.map(({ data, ...ref }) =>
        ref.kind === 'image' && data.length <= THUMBNAIL_MAX_BYTES ? { ...ref, dataUrl: `data:${ref.mediaType};base64,${data.toString('base64')}` } : ref,
      ),
    };
  });
}
