import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../src/api/run.js';
import { formatRunSummary } from '../src/report/console.js';

// The bundled demos show all three outcomes, offline, through the same run() the CLI uses.
const dir = mkdtempSync(join(tmpdir(), 'evalroute-demo-outcomes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function demo(routing: string) {
  const result = await run({ suiteDir: 'suites/mmlu-pro-tiers', routing: `suites/mmlu-pro-tiers/${routing}`, db: join(dir, `${routing}.db`), cwd: process.cwd() });
  const tier = (name: string) => result.summary.tiers.find((t) => t.tier === name)!;
  return { result, tier, text: formatRunSummary(result.summary, { color: false }) };
}

describe('bundled MMLU-Pro demo: one routing file per outcome', () => {
  it('routing.yaml (the README\'s main job): mid PASS, the trial cheap tier INCONCLUSIVE but warn-only → exit 0', async () => {
    const { result, tier, text } = await demo('routing.yaml');
    expect(tier('mid')).toMatchObject({ outcome: 'pass', cases: 105 });
    expect(tier('mid').ci![0]).toBeGreaterThan(-0.05);
    expect(tier('cheap')).toMatchObject({ outcome: 'inconclusive', onInconclusive: 'warn', cases: 70 });
    expect(tier('cheap').casesNeeded!.atZeroDelta).toBeGreaterThan(70);
    expect(result.exitCode).toBe(0);
    expect(text).toContain('✔ mid: PASS — at worst −3.2 pts at 95% confidence, margin 5');
    expect(text).toMatch(/\? cheap: INCONCLUSIVE — between −14\.2 pts and \+2\.0 pts, margin 5; ~[\d,]+ more cases would decide it/);
    expect(text).toContain('GATE PASSED with warnings: mid shown to hold its margin; not decided (onInconclusive: warn): cheap.');
  });

  it('routing-specialist.yaml: both tiers within the margin as estimates, but not decided → exit 4 with cases needed', async () => {
    const { result, tier, text } = await demo('routing-specialist.yaml');
    for (const name of ['cheap', 'mid']) {
      expect(tier(name).outcome).toBe('inconclusive');
      expect(tier(name).delta).toBeGreaterThan(-0.05);
      expect(tier(name).ci![0]).toBeLessThan(-0.05);
    }
    expect(result.exitCode).toBe(4);
    expect(text).toContain('GATE INCONCLUSIVE (exit 4): no tier failed, but cheap, mid are not decided');
    expect(text).not.toMatch(/holds/);
  });

  it('routing-aggressive.yaml: the cheap tier is shown to regress → exit 1', async () => {
    const { result, tier, text } = await demo('routing-aggressive.yaml');
    expect(tier('cheap').outcome).toBe('fail');
    expect(tier('cheap').ci![1]).toBeLessThan(-0.05);
    expect(result.exitCode).toBe(1);
    expect(text).toContain('✘ cheap: FAIL — regressed: at best −8.7 pts at 95% confidence, beyond the margin 5');
    expect(text).toContain('GATE FAILED: cheap regressed.');
  });
});
