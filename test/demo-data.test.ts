// Consistency of the committed demo suites (built by scripts/build-demo-suites.mjs): every case has a
// golden and a recording for every configured model, routing files only name tiers and models that
// exist, and the routing files still tell the story their READMEs tell (one holds, one regresses).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Extractor, Normalizer } from '../src/graders/normalize.js';
import { compareScalar, extract } from '../src/graders/normalize.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface DemoCase {
  id: string;
  vars: Record<string, unknown>;
  task?: string;
  tags?: string[];
  metadata?: Record<string, unknown>;
}
interface DemoGolden {
  id: string;
  expected: string;
  reference?: string;
  status: string;
}
interface Recording {
  id: string;
  model: string;
  output: string;
}
interface ModelEntry {
  provider: string;
  model: string;
  path: string;
  price: { input?: number; output?: number; table?: string };
}
interface RoutingFile {
  baseline: string;
  tiers: Record<string, { model: string; gate?: { minPassRate: number; maxRegression: number } }>;
  rules: { name?: string; when?: { metadata?: Record<string, string[]>; maxInputChars?: number }; tier: string }[];
}

function readJsonl<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}
const readYaml = <T>(file: string): T => parse(readFileSync(file, 'utf8')) as T;

// The suites' template contract: Handlebars without HTML escaping, `letter` maps 0 → A.
const hbs = Handlebars.create();
hbs.registerHelper('letter', (i: number) => String.fromCharCode(65 + i));

function loadSuite(name: string) {
  const dir = join(ROOT, 'suites', name);
  const suite = readYaml<{
    name: string;
    cases: string;
    goldens: string;
    prompt: { system?: string; user: string };
    graders: { type: string; extract: Extractor; normalize: Normalizer[] }[];
  }>(join(dir, 'suite.yaml'));
  const config = readYaml<{ models: Record<string, ModelEntry>; routing: string }>(join(dir, 'evalroute.config.yaml'));
  const cases = readJsonl<DemoCase>(resolve(dir, suite.cases));
  const goldens = new Map(readJsonl<DemoGolden>(resolve(dir, suite.goldens)).map((g) => [g.id, g]));
  const recordings = new Map(
    Object.entries(config.models).map(([key, m]) => [key, readJsonl<Recording>(resolve(dir, m.path))]),
  );
  const render = (c: DemoCase): string => {
    const opts = { noEscape: true };
    const parts = [suite.prompt.system, suite.prompt.user].filter((t): t is string => t !== undefined);
    return parts.map((t) => hbs.compile(t, opts)(c.vars)).join('\n');
  };
  // The suite's own exact grader: its configured extractor and normalisers, from src/graders.
  const spec = suite.graders[0]!;
  const grade = (output: string, expected: string): boolean => {
    const got = extract(output, spec.extract);
    return got !== undefined && compareScalar(got, expected, spec.normalize).equal;
  };
  return { dir, suite, config, cases, goldens, recordings, render, grade };
}

type Loaded = ReturnType<typeof loadSuite>;

/** Tier → case ids, first matching rule wins (only the conditions these demo files use). */
function route(s: Loaded, routing: RoutingFile): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const c of s.cases) {
    const rule = routing.rules.find((r) => {
      const w = r.when;
      if (!w) return true;
      const metaOk = Object.entries(w.metadata ?? {}).every(([k, v]) => v.includes(String(c.metadata?.[k])));
      const sizeOk = w.maxInputChars === undefined || s.render(c).length <= w.maxInputChars;
      return metaOk && sizeOk;
    });
    if (!rule) throw new Error(`no rule matches ${c.id}`);
    out.set(rule.tier, [...(out.get(rule.tier) ?? []), c.id]);
  }
  return out;
}

function passMap(s: Loaded, key: string): Map<string, boolean> {
  return new Map((s.recordings.get(key) ?? []).map((r) => [r.id, s.grade(r.output, s.goldens.get(r.id)!.expected)]));
}

/** Point estimate of each gated tier's verdict: Δ ≥ −maxRegression and pass rate ≥ minPassRate. */
function verdicts(s: Loaded, routing: RoutingFile) {
  const base = passMap(s, routing.baseline);
  const result: Record<string, { n: number; delta: number; rate: number; margin: number; holds: boolean }> = {};
  for (const [tier, ids] of route(s, routing)) {
    const t = routing.tiers[tier]!;
    if (!t.gate) continue;
    const cand = passMap(s, t.model);
    const rate = ids.filter((id) => cand.get(id)).length / ids.length;
    const delta = rate - ids.filter((id) => base.get(id)).length / ids.length;
    const margin = t.gate.maxRegression;
    result[tier] = { n: ids.length, delta, rate, margin, holds: delta >= -margin && rate >= t.gate.minPassRate };
  }
  return result;
}

describe.each([
  { name: 'mmlu-pro-tiers', count: 490, routings: ['routing.yaml', 'routing-specialist.yaml', 'routing-aggressive.yaml'] },
  { name: 'gsm8k-routing', count: 500, routings: ['routing.yaml'] },
])('demo suite $name', ({ name, count, routings }) => {
  const s = loadSuite(name);

  it('has the expected number of cases with unique ids', () => {
    expect(s.suite.name).toBe(name);
    expect(s.cases).toHaveLength(count);
    expect(new Set(s.cases.map((c) => c.id)).size).toBe(count);
  });

  it('has exactly one approved golden per case', () => {
    expect(s.goldens.size).toBe(count);
    for (const c of s.cases) {
      const g = s.goldens.get(c.id);
      expect(g, c.id).toBeDefined();
      expect(g!.status).toBe('approved');
      expect(g!.expected).not.toBe('');
    }
  });

  it('has one recording per case for every configured model, with only id/model/output', () => {
    const ids = s.cases.map((c) => c.id).sort();
    for (const [key, rows] of s.recordings) {
      const m = s.config.models[key]!;
      expect(m.provider).toBe('recorded');
      expect(m.price.table ?? m.price.input, `${key} has a price`).toBeTruthy();
      expect(rows.map((r) => r.id).sort(), key).toEqual(ids);
      for (const r of rows) {
        expect(Object.keys(r), `${key} ${r.id}`).toEqual(['id', 'model', 'output']);
        expect(r.model).toBe(m.model);
        expect(typeof r.output).toBe('string');
      }
    }
  });

  it('renders every case through the prompt template', () => {
    for (const c of s.cases) expect(s.render(c)).not.toMatch(/\{\{|undefined/);
  });

  it.each(routings)('%s names only models and tiers that exist, and ends with a default rule', (file) => {
    const r = readYaml<RoutingFile>(join(s.dir, file));
    const models = Object.keys(s.config.models);
    expect(models).toContain(r.baseline);
    for (const t of Object.values(r.tiers)) expect(models).toContain(t.model);
    for (const rule of r.rules) expect(Object.keys(r.tiers)).toContain(rule.tier);
    expect(r.rules.at(-1)?.when).toBeUndefined();
  });
});

describe('demo routing outcomes (point estimates with the suites\' own graders, as the READMEs describe)', () => {
  it('mmlu-pro-tiers: routing.yaml sends 105 cases to a mid tier that gains, and 70 to a trial cheap tier', () => {
    const s = loadSuite('mmlu-pro-tiers');
    expect(s.render(s.cases[0]!)).toContain('\nJ. ');
    const v = verdicts(s, readYaml<RoutingFile>(join(s.dir, 'routing.yaml')));
    expect(v.mid).toMatchObject({ n: 105, holds: true });
    expect(v.mid!.delta).toBeGreaterThan(0.05);
    // The trial tier sits just beyond the margin: too few cases to tell (the gate says INCONCLUSIVE).
    expect(v.cheap).toMatchObject({ n: 70, holds: false });
    expect(v.cheap!.delta).toBeGreaterThan(-0.06);
  });

  it('mmlu-pro-tiers: routing-specialist.yaml is within the margin as point estimates in both tiers', () => {
    const s = loadSuite('mmlu-pro-tiers');
    const v = verdicts(s, readYaml<RoutingFile>(join(s.dir, 'routing-specialist.yaml')));
    expect(v.cheap).toMatchObject({ n: 140, holds: true });
    expect(v.mid).toMatchObject({ n: 105, holds: true });
  });

  it('mmlu-pro-tiers: routing-aggressive.yaml regresses the cheap tier while its pass rate clears the floor', () => {
    const s = loadSuite('mmlu-pro-tiers');
    const v = verdicts(s, readYaml<RoutingFile>(join(s.dir, 'routing-aggressive.yaml')));
    expect(v.cheap).toMatchObject({ n: 280, holds: false });
    expect(v.cheap!.delta).toBeLessThan(-0.1);
    expect(v.cheap!.rate).toBeGreaterThanOrEqual(0.6);
    expect(v.mid!.holds).toBe(true);
  });

  it('gsm8k-routing: the short-problems rule sends about half the suite to mixtral, which regresses', () => {
    const s = loadSuite('gsm8k-routing');
    const v = verdicts(s, readYaml<RoutingFile>(join(s.dir, 'routing.yaml')));
    expect(v.cheap!.n).toBe(270);
    expect(v.cheap!.holds).toBe(false);
    expect(v.cheap!.delta).toBeLessThan(-0.15);
  });
});
