/**
 * `run --shard i/n` + `merge` on runs whose routing file is a gateway config (a Portkey config, a
 * tag-routed LiteLLM config): the merged verdict must be the one an unsharded run gives. Such files
 * take their tiers and gates from evalroute.config.yaml (`gate:`, `litellm.gate`), so the merge has to
 * rebuild the routing the way the run did, from the stored config and routing texts.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
// The library entry, as a merge job written in TypeScript would call it.
import { merge, run, UsageError, type RunResult, type RunSummary } from '../src/index.js';
import { loadStoredRouting } from '../src/config/load.js';
import { gateExitCode } from '../src/gate/outcome.js';
import { openStore } from '../src/store/sqlite-store.js';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { createPortkeyProject } from './support/portkey-project.js';
import { createTagRoutedProject } from './support/litellm-project.js';
import { arithmeticResponder, createProject, type TestProject } from './support/project.js';

const SHARDS = 3;

let server: MockLlmServer;
let tmp: string;
beforeAll(async () => {
  server = await startMockLlmServer();
  tmp = mkdtempSync(join(tmpdir(), 'evalroute-merge-gateway-'));
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  server.script(arithmeticResponder());
});

/** The verdict as `show` and the exit code see it. */
const verdictOf = (s: RunSummary) => ({
  status: s.status,
  pass: s.pass,
  outcome: s.outcome,
  exitCode: gateExitCode(s),
  tiers: [...s.tiers].sort((a, b) => a.tier.localeCompare(b.tier)),
  budgets: s.budgets,
});

/**
 * Runs the project whole, then in SHARDS shard stores, removes the project and merges the stores; the
 * merged run's verdict is recomputed from what they hold.
 */
async function wholeAndMerged(p: TestProject, name: string): Promise<{ whole: RunResult; merged: RunSummary }> {
  const whole = await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, db: join(tmp, `${name}-whole.db`) });
  const dbs: string[] = [];
  for (let i = 1; i <= SHARDS; i++) {
    const db = join(tmp, `${name}-shard-${i}.db`);
    await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, db, shard: { index: i, count: SHARDS } });
    dbs.push(db);
  }
  // The merge job has only the shard stores: the routing is rebuilt from the texts stored with the runs.
  rmSync(p.dir, { recursive: true, force: true });
  const out = join(tmp, `${name}-merged.db`);
  const result = await merge({ inputs: dbs, output: out, shards: SHARDS });
  expect(result.merged).toHaveLength(1);
  // The verdict is stored with the merged run, for `show` to gate on.
  const store = openStore(out, { readonly: true });
  try {
    expect(store.getRun(result.merged[0]!.id)!.summary).toEqual(result.summaries[0]);
  } finally {
    store.close();
  }
  return { whole, merged: result.summaries[0]! };
}

describe('merging shards of a run whose routing file is a gateway config', () => {
  it('Portkey config: the tiers take the config gate, and the merged verdict is the unsharded one', async () => {
    const p = createPortkeyProject(server, 48);
    // The point screen decides these small tiers (cheap fails, mid passes); the default rule would leave
    // them undecided. So a merge that lost the config's gate would give another verdict.
    p.write('evalroute.config.yaml', readFileSync(p.configFile, 'utf8').replace('gate: { minPassRate: 0.8, maxRegression: 0.05 }', 'gate: { minPassRate: 0.8, maxRegression: 0.05, rule: point }'));
    const { whole, merged } = await wholeAndMerged(p, 'portkey');
    expect(whole.summary.tiers.map((t) => [t.tier, t.outcome]).sort()).toEqual([
      ['cheap', 'fail'],
      ['frontier', 'pass'],
      ['mid', 'pass'],
    ]);
    expect(whole.summary.tiers.find((t) => t.tier === 'cheap')!.ci).toBeDefined();
    expect(whole.exitCode).toBe(1);
    expect(verdictOf(merged)).toEqual(verdictOf(whole.summary));
  }, 60_000);

  it('tag-routed LiteLLM config: the tiers take litellm.gate, and the merged verdict is the unsharded one', async () => {
    const p = createTagRoutedProject(server, { smallTags: ['hard'], gate: '{ minPassRate: 0.4, maxRegression: 0.05, rule: point }' });
    const { whole, merged } = await wholeAndMerged(p, 'litellm');
    // Hard cases go to small-1, which gets them wrong; the others (easy) to the default deployment, the
    // baseline's model, which the point screen passes and the default rule leaves undecided on 20 cases.
    expect(whole.summary.tiers.map((t) => [t.tier, t.cases, t.outcome]).sort()).toEqual([
      ['default', 20, 'pass'],
      ['hard', 20, 'fail'],
    ]);
    expect(whole.exitCode).toBe(1);
    expect(verdictOf(merged)).toEqual(verdictOf(whole.summary));
  }, 60_000);

  it('a stored config that no longer builds the routing is a usage error naming the merged run and the cause', async () => {
    const p = createPortkeyProject(server, 12);
    const db = join(tmp, 'unloadable.db');
    await run({ suiteDir: p.suiteDir, cwd: p.dir, env: p.env, db });
    // The Portkey config names no baseline; without the config's `baseline:` the tiers cannot be built.
    const d = new Database(db);
    d.prepare("UPDATE runs SET config_content = replace(config_content, 'baseline: big', '')").run();
    d.close();
    const attempt = merge({ inputs: [db], output: join(tmp, 'unloadable-merged.db') });
    await expect(attempt).rejects.toThrow(UsageError);
    await expect(attempt).rejects.toThrow(/^run m\S+: the config and routing file stored with it no longer build its routing: the stored copy of \S+evalroute\.config\.yaml \(at baseline\): \S+membership\.json is a Portkey gateway config, which names no baseline model\n {2}→ merge with/);
  }, 60_000);

  it('the stored config resolves the files it names from where it stood: a LiteLLM import beside it, the routing file in a subfolder', () => {
    const p = createProject(server);
    p.write('gateway.yaml', `model_list:\n  - model_name: cheap-llm\n    litellm_params: { model: openai/small-1, api_base: ${server.openaiBaseURL}, api_key: os.environ/BIG_KEY }\n`);
    const config = p.write(
      'evalroute.config.yaml',
      `models:\n  big: { provider: openai, model: big-1, baseURL: ${server.openaiBaseURL}, apiKeyEnv: BIG_KEY }\nlitellm: { config: gateway.yaml }\nrouting: rules/routing.yaml\n`,
    );
    const routing = p.write('rules/routing.yaml', 'baseline: big\ntiers:\n  cheap: { model: cheap-llm, gate: { rule: point } }\nrules:\n  - { tier: cheap }\n');
    const rebuilt = loadStoredRouting({ configContent: readFileSync(config, 'utf8'), routingFile: routing, routingContent: readFileSync(routing, 'utf8') });
    // cheap-llm exists only in gateway.yaml, which sits beside the config, not beside the routing file.
    expect(rebuilt.tiers.get('cheap')).toEqual({ name: 'cheap', model: 'cheap-llm', gate: { rule: 'point' } });
  });
});
