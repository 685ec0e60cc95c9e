/**
 * evalroute against the real Portkey gateway (@portkey-ai/gateway) forwarding to the mock LLM server:
 * (1) the offline target choice for every case equals the gateway's x-portkey-last-used-option-index,
 * over configs that together use every operator; (2) `run --through` gates what the gateway served.
 * Skips loudly (console.warn) when the gateway cannot start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, loadRouting, loadSuite } from '../src/config/load.js';
import { renderCase } from '../src/config/prompt.js';
import type { PortkeyTarget, Routing } from '../src/core/types.js';
import { graderNeedsGolden, graderTypes } from '../src/graders/registry.js';
import { createGatewayClient } from '../src/providers/gateway.js';
import { gatewayRequestBody } from '../src/routing/match.js';
import { run, routeSuite } from '../src/api/run.js';
import { openStore } from '../src/store/sqlite-store.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMockLlmServer, type MockLlmServer } from './support/mock-llm-server.js';
import { arithmeticResponder } from './support/project.js';
import { createPortkeyProject, type PortkeyProject } from './support/portkey-project.js';
import { startGatewayOrWarn, type PortkeyGateway } from './support/portkey-gateway.js';
import { ensureCliBuilt, runCli } from './support/cli.js';

let server: MockLlmServer;
let gateway: PortkeyGateway | undefined;
let project: PortkeyProject;

beforeAll(async () => {
  server = await startMockLlmServer({ responder: arithmeticResponder() });
  project = createPortkeyProject(server, 48);
  gateway = await startGatewayOrWarn('the Portkey gateway tests (test/portkey-gateway.test.ts)');
}, 30_000);

afterAll(async () => {
  await gateway?.close();
  await server?.close();
});

/** A target path cut at its first loadbalance node: below it the gateway draws at random. */
function comparable(path: string, root: PortkeyTarget): string {
  let node = root;
  const steps = path.match(/\.targets\[\d+\]/g) ?? [];
  let prefix = 'config';
  for (const step of steps) {
    if (node.mode === 'loadbalance') return prefix;
    prefix += step;
    node = node.targets![Number(/\d+/.exec(step)![0])]!;
  }
  return prefix;
}

function loadAll(name: string): { routing: Routing; suite: ReturnType<typeof loadSuite>; config: ReturnType<typeof loadConfig> } {
  const config = loadConfig(project.configFile, { cwd: project.dir });
  const routing = loadRouting(project.configs[name]!, config);
  const suite = loadSuite(project.suiteDir, { graderTypes: graderTypes(), graderNeedsGolden });
  return { config, routing, suite };
}

describe.each(['membership', 'numbers', 'nested'])('offline choice = the real gateway’s choice: %s', (name) => {
  it('agrees on 100% of cases', async (ctx) => {
    if (!gateway) return ctx.skip();
    const { config, routing, suite } = loadAll(name);
    const inputs = new Map(suite.cases.map((c) => [c.id, renderCase(suite, c)]));
    const offline = routeSuite(config, routing, suite, inputs);
    const client = createGatewayClient({
      url: gateway.baseURL,
      type: 'portkey',
      portkeyConfig: JSON.stringify(JSON.parse(readFileSync(routing.file, 'utf8'))),
      timeoutMs: 10_000,
    });
    const leafPaths = new Set<string>();
    const collect = (n: PortkeyTarget): void => (n.targets && n.mode ? n.targets.forEach(collect) : void leafPaths.add(n.path));
    collect(routing.portkey!);
    const disagreements: string[] = [];
    const used = new Set<string>();
    for (const c of suite.cases) {
      const messages = inputs.get(c.id)!;
      const { messages: _m, ...body } = gatewayRequestBody(c, messages, suite.params, 'big-1');
      const reply = await client.send({ caseId: c.id, body, messages, ...(c.metadata ? { metadata: c.metadata } : {}) }, AbortSignal.timeout(10_000));
      const served = reply.servedBy.portkeyTarget!;
      const mine = offline.get(c.id)!.rule;
      expect(leafPaths.has(served), `${c.id}: the gateway used ${served}`).toBe(true);
      if (comparable(served, routing.portkey!) !== comparable(mine, routing.portkey!)) disagreements.push(`${c.id}: evalroute ${mine}, gateway ${served}`);
      used.add(mine);
      // The served model is the leaf's model, so attribution by response model would agree too.
      const tier = routing.tiers.get(offline.get(c.id)!.tier)!;
      if (comparable(mine, routing.portkey!) === mine) expect(reply.servedBy.model).toBe(config.models.get(tier.model)!.model);
    }
    expect(disagreements).toEqual([]);
    // The suite reaches more than one target, so agreement is not trivial.
    expect(used.size).toBeGreaterThanOrEqual(3);
  }, 60_000);
});

describe('run --through the real Portkey gateway', () => {
  it('attributes each case to the tier the gateway served, calls only the baseline directly, and gates', async (ctx) => {
    if (!gateway) return ctx.skip();
    server.reset();
    const result = await run({
      suiteDir: project.suiteDir,
      routing: project.configs.membership!,
      through: gateway.baseURL,
      cwd: project.dir,
      env: project.env,
    });
    const { config, routing, suite } = loadAll('membership');
    const inputs = new Map(suite.cases.map((c) => [c.id, renderCase(suite, c)]));
    const offline = routeSuite(config, routing, suite, inputs);
    for (const r of result.results) expect(r.tier, r.caseId).toBe(offline.get(r.caseId)!.tier);
    // Tier models were called once per routed case, through the gateway (x-portkey headers never
    // reach upstream; the gateway's own request does); the baseline once per case, directly.
    const routedAway = result.results.filter((r) => r.tier !== 'frontier').length;
    const upstream = server.requests.filter((q) => q.model !== 'big-1');
    expect(upstream.length).toBe(routedAway);
    expect(server.requests.filter((q) => q.model === 'big-1').length).toBe(suite.cases.length + result.results.filter((r) => r.tier === 'frontier').length);
    expect(result.summary.tiers.map((t) => t.tier).sort()).toEqual(['cheap', 'frontier', 'mid']);
    // small-1 answers every odd (hard) case wrong, and the cheap tier gets hard cases: it regresses.
    const cheap = result.summary.tiers.find((t) => t.tier === 'cheap')!;
    expect(cheap.pass).toBe(false);
    expect(result.exitCode).toBe(1);
    // The stored routing content has the upstream key redacted; the stored tiers are the gateway's.
    const store = openStore(result.dbFile);
    try {
      const stored = store.getRun(result.runId)!;
      expect(stored.routingContent).not.toContain('sk-portkey-test');
      expect(new Map(store.getCases(result.runId).map((c) => [c.caseId, c.tier]))).toEqual(new Map(result.results.map((r) => [r.caseId, r.tier])));
    } finally {
      store.close();
    }
  }, 60_000);

  it('a served model no tier uses is a clear error (exit 2) naming the case, and nothing is stored', async (ctx) => {
    if (!gateway) return ctx.skip();
    ensureCliBuilt();
    // The gateway runs the membership config (it also serves mid-1); the routing file gates only big and small.
    const configText = readFileSync(project.configFile, 'utf8').replace('routing: portkey/membership.json', 'routing: two-tiers.yaml');
    const gwConfig = project.write('evalroute.gw.yaml', `${configText}gateway: { url: ${gateway.baseURL}, type: portkey, config: portkey/membership.json }\n`);
    project.write('two-tiers.yaml', 'baseline: big\ntiers:\n  cheap: { model: small }\n  frontier: { model: big }\nrules:\n  - { tier: frontier }\n');
    const res = await runCli(['run', project.suiteDir, '--config', gwConfig, '--db', 'through-error.db'], { cwd: project.dir, env: project.env });
    expect(res.status, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/served case "c\d+" \(request [^)]+\) with model "mid-1", which no tier of this routing file uses/);
    expect(existsSync(join(project.dir, 'through-error.db'))).toBe(false);
  }, 180_000);
});
