import { plan, type PlanResult } from '../api/plan.js';
import { int, pct, table } from '../report/format.js';
import { plainPts } from '../core/format.js';

export interface PlanFlags {
  baselinePassRate: number;
  disagreement: number;
  margin: number;
  tiers: number;
  power: number;
  confidence: number;
  expectedDelta: number;
  json?: boolean;
}

/** `evalroute plan`: cases per tier for a gate that decides; 0 always (bad input throws, exit 2). */
export function planCommand(flags: PlanFlags): number {
  const result = plan(flags);
  process.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : formatPlan(result));
  return 0;
}

function formatPlan(r: PlanResult): string {
  const cases = (n: number | null) => (n === null ? 'impossible' : int(n));
  const lines = [
    `Plan: baseline pass rate ${pct(r.baselinePassRate)}, the models disagree on ${pct(r.disagreement)} of cases, margin ${plainPts(r.margin)} pts, ` +
      `${r.tiers} routed tier${r.tiers === 1 ? '' : 's'}, planned delta ${plainPts(r.expectedDelta)} pts`,
    '',
  ];
  if (r.casesPerTier === null) {
    lines.push(`No number of cases can show a tier holds when its true delta is at or below −${plainPts(r.margin)} pts: widen the margin or pick a better model.`);
  } else {
    lines.push(
      `→ ${cases(r.casesPerTier)} cases per tier (${cases(r.totalCases)} routed cases in all) give the gate ${pct(r.power, 0)} power to PASS ` +
        `when every tier is as good as planned (${pct(r.perTierPower, 1)} per tier, ${pct(r.confidence, 0)} intervals).`,
    );
  }
  lines.push(`  A tier with fewer than ${int(r.minimumCases)} cases cannot pass this margin even when no case disagrees.`, '');
  lines.push('If the disagreement rate is a guess:');
  lines.push(table(['disagreement', 'cases per tier'], r.byDisagreement.map((d) => [pct(d.disagreement, 0), cases(d.casesPerTier)])));
  lines.push('', 'Measure the disagreement of two models on a few dozen cases with `evalroute run` (b + c in the verdict), then plan again.');
  return `${lines.join('\n')}\n`;
}
