/**
 * The CI files we ship are code users copy: they must parse, follow the GitHub Actions / GitLab CI
 * format, reference only steps, jobs and contexts that exist, and call evalroute with flags it has.
 * actionlint is not a dependency, so this checks the format against a compact schema of its own.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { caseAnchor } from '../src/report/base-vs-head.js';
import { MARKDOWN_MARKER, regressedMarkdown } from '../src/report/markdown.js';

const GITHUB_WORKFLOWS = ['.github/workflows/ci.yml', 'examples/github/routing-gate.yml', 'examples/github/sharded-gate.yml', 'examples/github/budget-check.yml', 'examples/github/gateway-gate.yml'];
const GITLAB = 'examples/gitlab/.gitlab-ci.yml';

// ───────────────────────────── GitHub Actions schema ─────────────────────────────

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const env = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), scalar);
const expr = z.string().regex(/^\$\{\{.*\}\}$/s);
const SCOPES = [
  'actions', 'attestations', 'checks', 'contents', 'deployments', 'discussions', 'id-token', 'issues', 'models',
  'packages', 'pages', 'pull-requests', 'repository-projects', 'security-events', 'statuses',
] as const;
const permissions = z.union([
  z.enum(['read-all', 'write-all']),
  z.partialRecord(z.enum(SCOPES), z.enum(['read', 'write', 'none'])),
]);
/**
 * owner/repo[/path]@<full commit SHA>: a tag can be moved to other code, a commit cannot. The release
 * the SHA belongs to is named in a comment on the same line (YAML drops it; see PINS below).
 */
const USES = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+(\/[A-Za-z0-9_./-]+)?@[0-9a-f]{40}$/;

const step = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/).optional(),
    name: z.string().optional(),
    if: z.union([z.string(), z.boolean()]).optional(),
    uses: z.string().regex(USES, 'uses must pin owner/repo@<40-hex commit SHA>').optional(),
    run: z.string().min(1).optional(),
    with: z.record(z.string(), scalar).optional(),
    env: env.optional(),
    shell: z.string().optional(),
    'working-directory': z.string().optional(),
    'continue-on-error': z.union([z.boolean(), expr]).optional(),
    'timeout-minutes': z.union([z.number().positive(), expr]).optional(),
  })
  .refine((s) => (s.uses === undefined) !== (s.run === undefined), 'a step has exactly one of uses and run')
  .refine((s) => s.uses !== undefined || s.with === undefined, 'with: only applies to uses steps');
type Step = z.infer<typeof step>;

const job = z.strictObject({
  name: z.string().optional(),
  'runs-on': z.union([z.string(), z.array(z.string()).min(1)]),
  needs: z.union([z.string(), z.array(z.string())]).optional(),
  if: z.union([z.string(), z.boolean()]).optional(),
  permissions: permissions.optional(),
  env: env.optional(),
  'timeout-minutes': z.union([z.number().positive(), expr]).optional(),
  'continue-on-error': z.union([z.boolean(), expr]).optional(),
  concurrency: z.union([z.string(), z.strictObject({ group: z.string(), 'cancel-in-progress': z.union([z.boolean(), expr]).optional() })]).optional(),
  strategy: z
    .strictObject({
      matrix: z.record(z.string(), z.union([z.array(z.unknown()).min(1), expr])),
      'fail-fast': z.boolean().optional(),
      'max-parallel': z.number().int().positive().optional(),
    })
    .optional(),
  outputs: z.record(z.string(), z.string()).optional(),
  steps: z.array(step).min(1),
});
type Job = z.infer<typeof job>;

const filters = z
  .strictObject({
    branches: z.array(z.string()).optional(),
    'branches-ignore': z.array(z.string()).optional(),
    paths: z.array(z.string()).min(1).optional(),
    'paths-ignore': z.array(z.string()).optional(),
    tags: z.array(z.string()).optional(),
    types: z.array(z.string()).optional(),
  })
  .refine((f) => !(f.paths && f['paths-ignore']), 'paths and paths-ignore cannot be combined')
  .refine((f) => !(f.branches && f['branches-ignore']), 'branches and branches-ignore cannot be combined');
const EVENTS = ['push', 'pull_request', 'pull_request_target', 'workflow_dispatch', 'schedule', 'workflow_call', 'merge_group', 'release'] as const;

const workflow = z.strictObject({
  name: z.string().optional(),
  on: z.union([z.enum(EVENTS), z.array(z.enum(EVENTS)).min(1), z.partialRecord(z.enum(EVENTS), z.union([z.null(), filters, z.array(z.unknown())]))]),
  permissions: permissions.optional(),
  env: env.optional(),
  concurrency: job.shape.concurrency,
  jobs: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/), job).refine((j) => Object.keys(j).length > 0, 'no jobs'),
});
type Workflow = z.infer<typeof workflow>;

// ───────────────────────────── expressions ─────────────────────────────

const CONTEXTS = new Set(['github', 'env', 'secrets', 'steps', 'matrix', 'needs', 'inputs', 'runner', 'vars', 'job', 'strategy']);
const FUNCTIONS = new Set(['always', 'success', 'failure', 'cancelled', 'hashFiles', 'contains', 'startsWith', 'endsWith', 'format', 'join', 'toJSON', 'fromJSON']);
const GITHUB_KEYS = new Set([
  'action', 'actor', 'api_url', 'base_ref', 'event', 'event_name', 'head_ref', 'job', 'ref', 'ref_name', 'repository',
  'repository_owner', 'run_attempt', 'run_id', 'run_number', 'server_url', 'sha', 'token', 'workflow', 'workspace',
]);
const RUNNER_KEYS = new Set(['os', 'arch', 'name', 'temp', 'tool_cache', 'debug']);
/** Outputs of the actions the workflows read from, per their action.yml. */
const ACTION_OUTPUTS: Record<string, string[]> = {
  'actions/cache/restore': ['cache-hit', 'cache-primary-key', 'cache-matched-key'],
  'actions/cache': ['cache-hit'],
  'actions/upload-artifact': ['artifact-id', 'artifact-url', 'artifact-digest'],
  'actions/github-script': ['result'],
};

/** Every `${{ … }}` body in a string; throws when one is not closed. String literals may contain braces. */
function expressions(s: string): string[] {
  const out: string[] = [];
  let i = s.indexOf('${{');
  while (i >= 0) {
    let j = i + 3;
    let quoted = false;
    for (; j < s.length; j++) {
      if (s[j] === "'") quoted = !quoted;
      else if (!quoted && s.startsWith('}}', j)) break;
    }
    if (j >= s.length) throw new Error(`unclosed \${{ in ${JSON.stringify(s.slice(i, i + 60))}`);
    const body = s.slice(i + 3, j);
    if (body.includes('${{')) throw new Error(`nested \${{ in ${JSON.stringify(body)}`);
    out.push(body);
    i = s.indexOf('${{', j + 2);
  }
  return out;
}

interface Ref {
  context: string;
  path: string[];
}

/** Context references of one expression body (string literals removed, function names skipped). */
function references(body: string): Ref[] {
  const code = body.replace(/'(?:[^']|'')*'/g, "''");
  let depth = 0;
  for (const ch of code) {
    depth += ch === '(' ? 1 : ch === ')' ? -1 : 0;
    if (depth < 0) throw new Error(`unbalanced parentheses in ${body}`);
  }
  if (depth !== 0) throw new Error(`unbalanced parentheses in ${body}`);
  const refs: Ref[] = [];
  for (const m of code.matchAll(/(?<![\w.-])([A-Za-z_][\w-]*)((?:\.[\w-]+|\.\*|\[[^\]]*\])*)(\s*\()?/g)) {
    const [, head, rest, call] = m;
    if (call) {
      if (!FUNCTIONS.has(head!)) throw new Error(`unknown function ${head}() in ${body}`);
      continue;
    }
    if (['true', 'false', 'null'].includes(head!)) continue;
    refs.push({ context: head!, path: rest!.split('.').filter(Boolean) });
  }
  return refs;
}

/** Every string in a value with where it sits, plus bare `if:` conditions as expressions. */
function strings(v: unknown, where: string, out: { where: string; text: string; isIf: boolean }[] = []) {
  if (typeof v === 'string') out.push({ where, text: v, isIf: where.endsWith('.if') });
  else if (Array.isArray(v)) v.forEach((x, i) => strings(x, `${where}[${i}]`, out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) strings(x, `${where}.${k}`, out);
  return out;
}

const actionOf = (uses: string) => uses.slice(0, uses.indexOf('@'));

/** Problems of a parsed workflow beyond its shape: references, needs, outputs, injection. */
function lint(wf: Workflow): string[] {
  const problems: string[] = [];
  const jobs = wf.jobs;
  const needsOf = (j: Job) => (j.needs === undefined ? [] : Array.isArray(j.needs) ? j.needs : [j.needs]);
  for (const [name, j] of Object.entries(jobs)) {
    for (const n of needsOf(j)) if (!jobs[n]) problems.push(`jobs.${name}.needs: no job "${n}"`);
  }
  // A cycle of needs would never start.
  const visiting = new Set<string>();
  const done = new Set<string>();
  const visit = (name: string): void => {
    if (done.has(name)) return;
    if (visiting.has(name)) throw new Error(`needs cycle through ${name}`);
    visiting.add(name);
    for (const n of needsOf(jobs[name]!)) if (jobs[n]) visit(n);
    visiting.delete(name);
    done.add(name);
  };
  try {
    Object.keys(jobs).forEach(visit);
  } catch (e) {
    problems.push((e as Error).message);
  }

  const check = (where: string, v: unknown, j: Job | undefined, before: Step[]) => {
    for (const s of strings(v, where)) {
      let bodies: string[];
      try {
        bodies = expressions(s.text);
        if (s.isIf && bodies.length === 0) bodies = [s.text];
      } catch (e) {
        problems.push(`${s.where}: ${(e as Error).message}`);
        continue;
      }
      for (const body of bodies) {
        let refs: Ref[];
        try {
          refs = references(body);
        } catch (e) {
          problems.push(`${s.where}: ${(e as Error).message}`);
          continue;
        }
        for (const r of refs) problems.push(...checkRef(r, `${s.where}: ${r.context}.${r.path.join('.')}`, j, before));
      }
      // Untrusted PR text interpolated into a shell script runs as code; pass it through env instead.
      if (s.where.endsWith('.run') && /\$\{\{[^}]*(github\.event\.(pull_request|issue|comment|review)|github\.head_ref)/.test(s.text)) {
        problems.push(`${s.where}: untrusted input interpolated into a run script (use env:)`);
      }
    }
  };

  const checkRef = (r: Ref, where: string, j: Job | undefined, before: Step[]): string[] => {
    const [first, second, third] = r.path;
    if (!CONTEXTS.has(r.context)) return [`${where}: unknown context "${r.context}"`];
    if (r.context === 'github' && first && !GITHUB_KEYS.has(first)) return [`${where}: github has no "${first}"`];
    if (r.context === 'runner' && first && !RUNNER_KEYS.has(first)) return [`${where}: runner has no "${first}"`];
    if (r.context === 'matrix') {
      const keys = Object.keys(j?.strategy?.matrix ?? {});
      if (!first || !keys.includes(first)) return [`${where}: no matrix key "${first}" (have: ${keys.join(', ') || 'no matrix'})`];
    }
    if (r.context === 'needs' && (!j || !first || !(Array.isArray(j.needs) ? j.needs : [j.needs]).includes(first))) {
      return [`${where}: job does not need "${first}"`];
    }
    if (r.context === 'steps') {
      const target = before.find((s) => s.id === first);
      if (!target) return [`${where}: no earlier step with id "${first}"`];
      if (!['outputs', 'outcome', 'conclusion'].includes(second ?? '')) return [`${where}: steps.${first} has no "${second}"`];
      if (second === 'outputs') {
        if (!third) return [`${where}: which output?`];
        if (target.run !== undefined) {
          const writes = new RegExp(`(^|[\\s"'])${third.replace(/[-]/g, '\\-')}=.*>>\\s*"?\\$GITHUB_OUTPUT`, 'm');
          if (!writes.test(target.run)) return [`${where}: step "${first}" never writes output "${third}" to $GITHUB_OUTPUT`];
        } else {
          const known = ACTION_OUTPUTS[actionOf(target.uses!)];
          if (known && !known.includes(third)) return [`${where}: ${actionOf(target.uses!)} has no output "${third}" (has: ${known.join(', ')})`];
        }
      }
    }
    return [];
  };

  check('on', wf.on, undefined, []);
  check('env', wf.env, undefined, []);
  check('concurrency', wf.concurrency, undefined, []);
  for (const [name, j] of Object.entries(jobs)) {
    const { steps, ...rest } = j;
    check(`jobs.${name}`, rest, j, []);
    const ids = steps.map((s) => s.id).filter(Boolean);
    if (new Set(ids).size !== ids.length) problems.push(`jobs.${name}: duplicate step ids`);
    steps.forEach((s, i) => check(`jobs.${name}.steps[${i}]`, s, j, steps.slice(0, i)));
  }
  return problems;
}

function loadWorkflow(file: string): Workflow {
  const doc: unknown = parse(readFileSync(file, 'utf8'), { strict: true, uniqueKeys: true });
  const parsed = workflow.safeParse(doc);
  if (!parsed.success) throw new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** Runs the schema and the reference checks on YAML text; returns the problems found. */
function problemsOf(yamlText: string): string[] {
  const parsed = workflow.safeParse(parse(yamlText));
  if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  return lint(parsed.data);
}

// ───────────────────────────── tests ─────────────────────────────

describe('GitHub workflow checker', () => {
  const base = (steps: string, extra = '') => `on: { pull_request: null }\njobs:\n  a:\n    runs-on: ubuntu-latest\n${extra}    steps:\n${steps}`;

  it('accepts a well-formed workflow', () => {
    expect(problemsOf(base('      - id: x\n        run: echo "n=1" >> "$GITHUB_OUTPUT"\n      - run: echo ${{ steps.x.outputs.n }}\n'))).toEqual([]);
  });

  it.each([
    ['a step with both uses and run', '      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1\n        run: ls\n', /exactly one of uses and run/],
    ['an unpinned action', '      - uses: actions/checkout@main\n', /commit SHA/],
    ['an action pinned by tag only', '      - uses: actions/checkout@v4\n', /commit SHA/],
    ['a misspelt step key', '      - run: ls\n        with_: {}\n', /with_/],
    ['an unclosed expression', '      - run: echo ${{ github.sha\n', /unclosed/],
    ['an unknown context', '      - run: echo ${{ secret.KEY }}\n', /unknown context "secret"/],
    ['a typo in github.*', '      - run: echo ${{ github.base_reff }}\n', /github has no "base_reff"/],
    ['an unknown function', "      - if: alwayz()\n        run: ls\n", /unknown function alwayz/],
    ['a step id that does not exist', '      - run: echo ${{ steps.nope.outputs.x }}\n', /no earlier step with id "nope"/],
    ['a step read before it runs', '      - run: echo ${{ steps.later.outcome }}\n      - id: later\n        run: ls\n', /no earlier step with id "later"/],
    ['an output the run step never writes', '      - id: x\n        run: echo hi\n      - run: echo ${{ steps.x.outputs.code }}\n', /never writes output "code"/],
    ['an output the action does not have', '      - id: u\n        uses: actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f\n        with: { name: a, path: a }\n      - run: echo ${{ steps.u.outputs.url }}\n', /has no output "url"/],
    ['a matrix key that does not exist', '      - run: echo ${{ matrix.nod }}\n', /no matrix key "nod"/],
    ['PR text interpolated into a script', '      - run: echo "${{ github.event.pull_request.title }}"\n', /untrusted input/],
  ])('rejects %s', (_name, steps, problem) => {
    const problems = problemsOf(base(steps, '    strategy: { matrix: { node: [20] } }\n'));
    expect(problems.join('\n')).toMatch(problem);
  });

  it('rejects needs of a missing job, invalid permissions and paths with paths-ignore', () => {
    const wf = `on: { pull_request: { paths: [a], paths-ignore: [b] } }\npermissions: { pull-requests: admin }\njobs:\n  a:\n    runs-on: x\n    needs: [b]\n    steps: [{ run: ls }]\n`;
    const problems = problemsOf(wf).join('\n');
    expect(problems).toMatch(/paths and paths-ignore/);
    expect(problems).toMatch(/permissions/);
    const needs = problemsOf(`on: push\njobs:\n  a:\n    runs-on: x\n    needs: b\n    steps: [{ run: ls }]\n`);
    expect(needs).toEqual(['jobs.a.needs: no job "b"']);
  });
});

/**
 * The commits the workflows pin, by release, read from each action's git tags (github.com/actions/*).
 * Bumping an action means changing the SHA and its comment in every file, and this table.
 */
const PINS: Record<string, { sha: string; release: string }> = {
  'actions/checkout': { sha: '3d3c42e5aac5ba805825da76410c181273ba90b1', release: 'v7.0.1' },
  'actions/setup-node': { sha: '820762786026740c76f36085b0efc47a31fe5020', release: 'v7.0.0' },
  'actions/cache': { sha: '27d5ce7f107fe9357f9df03efb73ab90386fccae', release: 'v5.0.5' },
  'actions/upload-artifact': { sha: 'bbbca2ddaa5d8feaa63e36b76fdaad77386f024f', release: 'v7.0.0' },
  'actions/download-artifact': { sha: '3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c', release: 'v8.0.1' },
  'actions/github-script': { sha: 'ed597411d8f924073f98dfc5c65a23a2325f34cd', release: 'v8.0.0' },
};

describe.each(GITHUB_WORKFLOWS)('%s', (file) => {
  it('parses, matches the workflow schema and references only what exists', () => {
    const wf = loadWorkflow(file);
    expect(lint(wf)).toEqual([]);
  });

  it('pins every action to the known commit of a release and names the release beside it', () => {
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => /^\s*(- )?uses:/.test(l));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const m = /uses: ([\w.-]+\/[\w.-]+)(\/[\w./-]+)?@([0-9a-f]{40}) # (v[\d.]+)$/.exec(line.trim().replace(/^- /, ''));
      expect(m, `${file}: ${line.trim()} (want owner/repo@<sha> # vX.Y.Z)`).not.toBeNull();
      const pin = PINS[m![1]!];
      expect(pin, `${file}: ${m![1]} is not in PINS`).toBeDefined();
      expect({ sha: m![3], release: m![4] }, `${file}: ${line.trim()}`).toEqual(pin);
    }
  });

  it('sets up a Node.js that is still maintained (22 or 24; Node 20 reached end of life in April 2026)', () => {
    const versions = Object.values(loadWorkflow(file).jobs)
      .flatMap((j) => [...j.steps.filter((s) => s.uses?.startsWith('actions/setup-node@')).map((s) => s.with?.['node-version']), ...((j.strategy?.matrix.node as unknown[]) ?? [])])
      .filter((v) => typeof v === 'number' || (typeof v === 'string' && !v.startsWith('${{')));
    for (const v of versions) expect([20, 22, 24], String(v)).toContain(Number(v));
    // The project itself still tests Node 20 (engines: >=20); the examples users copy use a maintained one.
    if (file.startsWith('examples/')) for (const v of versions) expect([22, 24]).toContain(Number(v));
  });

  it('asks for read-only contents by default and more only on the job that comments', () => {
    const wf = loadWorkflow(file);
    expect(wf.permissions).toEqual({ contents: 'read' });
    for (const [name, j] of Object.entries(wf.jobs)) {
      const writes = Object.entries(j.permissions ?? {}).filter(([, v]) => v === 'write').map(([k]) => k);
      expect(writes, `jobs.${name}`).toEqual(j.steps.some((s) => s.uses?.startsWith('actions/github-script@')) ? ['pull-requests'] : []);
    }
  });
});

describe('project CI', () => {
  it('runs typecheck, lint and tests on Node 20, 22 and 24 with a Chromium for the browser tests', () => {
    const wf = loadWorkflow('.github/workflows/ci.yml');
    const test = Object.values(wf.jobs)[0]!;
    expect(test.strategy?.matrix.node).toEqual([20, 22, 24]);
    const runs = test.steps.map((s) => s.run ?? '');
    for (const cmd of ['npm ci', 'npm run typecheck', 'npm run lint', 'npm test']) expect(runs).toContain(cmd);
    const browser = runs.find((r) => r.includes('EVALROUTE_CHROMIUM'))!;
    expect(browser).toContain('>> "$GITHUB_ENV"');
    expect(runs.indexOf(browser)).toBeLessThan(runs.indexOf('npm test'));
  });

  it('runs the slow tests too: the GitHub workflow and .ci/run both set EVALROUTE_SLOW_TESTS=1', () => {
    const test = Object.values(loadWorkflow('.github/workflows/ci.yml').jobs)[0]!;
    expect(test.steps.find((s) => s.run === 'npm test')?.env?.EVALROUTE_SLOW_TESTS).toBe('1');
    expect(readFileSync('.ci/run', 'utf8')).toMatch(/^EVALROUTE_SLOW_TESTS=1 npm test$/m);
  });
});

describe('example routing gate workflow', () => {
  const wf = loadWorkflow('examples/github/routing-gate.yml');
  const steps = wf.jobs.gate!.steps;
  const gateStep = steps.find((s) => s.id === 'gate')!;
  const on = wf.on as Record<string, { paths?: string[]; branches?: string[] }>;
  const WATCHED = ['routing.yaml', 'suites/**', 'goldens/**', 'evalroute.config.yaml'];

  it('triggers on routing, suite, golden and config changes with least privilege', () => {
    expect(on.pull_request?.paths).toEqual(WATCHED);
    expect(wf.jobs.gate!.if).toBe("github.event_name == 'pull_request'");
    expect(wf.jobs.gate!.permissions).toEqual({ contents: 'read', 'pull-requests': 'write' });
  });

  it('warms the response cache on pushes to main under the key prefix pull requests restore', () => {
    expect(on.push).toEqual({ branches: ['main'], paths: WATCHED });
    const warm = wf.jobs['warm-cache']!;
    expect(warm.if).toBe("github.event_name == 'push'");
    expect(warm.permissions).toBeUndefined();
    const restoreOf = (j: Job) => j.steps.find((s) => s.uses?.startsWith('actions/cache/restore@'))!;
    const saveOf = (j: Job) => j.steps.find((s) => s.uses?.startsWith('actions/cache/save@'))!;
    const runStep = warm.steps.find((s) => s.run?.includes('npx evalroute run'))!;
    expect(runStep.run).toContain('--db "$EVALROUTE_DB"');
    expect(runStep.env?.OPENAI_API_KEY).toBe('${{ secrets.OPENAI_API_KEY }}');
    // The same path and key scheme on both sides, so a PR's restore-keys prefix matches main's saved key.
    expect(restoreOf(warm).with?.key).toBe(restoreOf(wf.jobs.gate!).with?.key);
    expect(restoreOf(warm).with?.path).toBe(saveOf(wf.jobs.gate!).with?.path);
    expect(saveOf(warm).with?.key).toBe('${{ steps.cache.outputs.cache-primary-key }}');
    expect(String(saveOf(warm).if)).toMatch(/^always\(\)/);
    const prefix = String(restoreOf(wf.jobs.gate!).with?.['restore-keys']).split('\n')[0]!;
    expect(String(restoreOf(warm).with?.key).startsWith(prefix)).toBe(true);
    // Main's own verdict (exit 1) must not stop the cache from being saved or fail the push.
    expect(warm.steps.at(-1)!.if).toContain("steps.warm.outputs.exit-code != '1'");
  });

  it('restores and saves the results cache, posts the comment and uploads the report even when the gate fails, then propagates its exit code', () => {
    const at = (pred: (s: Step) => boolean) => steps.findIndex(pred);
    const restore = at((s) => s.uses?.startsWith('actions/cache/restore@') === true);
    const gate = steps.indexOf(gateStep);
    const comment = at((s) => s.uses?.startsWith('actions/github-script@') === true);
    const upload = at((s) => s.uses?.startsWith('actions/upload-artifact@') === true);
    const save = at((s) => s.uses?.startsWith('actions/cache/save@') === true);
    const fail = steps.length - 1;
    expect(restore).toBeGreaterThanOrEqual(0);
    expect(restore).toBeLessThan(gate);
    for (const i of [comment, upload, save]) {
      expect(i).toBeGreaterThan(gate);
      expect(String(steps[i]!.if)).toMatch(/^always\(\)/);
    }
    expect(steps[save]!.with?.key).toBe('${{ steps.cache.outputs.cache-primary-key }}');
    expect(String(steps[restore]!.with?.['restore-keys'])).toContain("evalroute-${{ runner.os }}-${{ hashFiles('suites/**', 'goldens/**') }}-");
    // The gate step itself never fails the job, so later steps run; the last step fails it.
    expect(gateStep.run).toMatch(/set \+e[\s\S]*code=\$\?[\s\S]*exit-code=\$code" >> "\$GITHUB_OUTPUT"/);
    expect(gateStep.run).not.toMatch(/\bexit \$/);
    expect(steps[fail]!.if).toBe("always() && steps.gate.outputs.exit-code != '0'");
    expect(steps[fail]!.run).toContain('exit "${CODE:-1}"');
  });

  it('falls back to --offline without secrets and updates its own comment by the report marker', () => {
    expect(gateStep.env?.OPENAI_API_KEY).toBe('${{ secrets.OPENAI_API_KEY }}');
    expect(gateStep.run).toMatch(/if \[ -z "\$\{OPENAI_API_KEY:-\}\$\{ANTHROPIC_API_KEY:-\}" \][\s\S]*offline="--offline"/);
    const script = String(steps.find((s) => s.uses?.startsWith('actions/github-script@'))!.with?.script);
    expect(script).toContain(`'${MARKDOWN_MARKER}'`);
    expect(script).toContain('updateComment');
    expect(script).toContain("readFileSync('gate.md'");
    expect(gateStep.run).toContain('--markdown gate.md');
    expect(gateStep.run).toContain('cat gate.md >> "$GITHUB_STEP_SUMMARY"');
    const base = steps.find((s) => s.run?.includes('/tmp/base-routing.yaml'))!;
    expect(base.run).toContain('git show "origin/$BASE_REF:routing.yaml" > /tmp/base-routing.yaml');
  });

  it('passes --report-url, so the comment\'s case links open the uploaded report at that case', async () => {
    const runPage = '${{ github.server_url }}/${{ github.repository }}/actions/runs/${{ github.run_id }}';
    expect(wf.jobs.gate!.env?.REPORT_URL).toBe(runPage);
    expect(gateStep.run).toMatch(/evalroute gate [\s\S]*--report report\.html --report-url "\$REPORT_URL"/);
    // The report is uploaded as the file itself, so its artifact URL opens it in a browser.
    const upload = steps.find((s) => s.id === 'upload')!;
    expect(upload.uses).toMatch(/^actions\/upload-artifact@/);
    expect(upload.with).toMatchObject({ path: 'report.html', archive: false });
    const comment = steps.find((s) => s.uses?.startsWith('actions/github-script@'))!;
    expect(comment.env?.ARTIFACT_URL).toBe('${{ steps.upload.outputs.artifact-url }}');

    // Run the comment step's own script on a comment written with that --report-url.
    const reportUrl = 'https://github.com/acme/bot/actions/runs/42';
    const artifactUrl = 'https://github.com/acme/bot/actions/runs/42/artifacts/7';
    const md = `${MARKDOWN_MARKER}\n${regressedMarkdown([{ id: 'refund 7', tier: 'cheap', model: 'mini', baselineModel: 'big', baselinePasses: true }], reportUrl)}\n`;
    expect(md).toContain(`(${reportUrl}#${caseAnchor('refund 7')})`);
    const posted: string[] = [];
    const github = {
      paginate: async () => [],
      rest: { issues: { listComments: {}, createComment: async (c: { body: string }) => void posted.push(c.body), updateComment: async () => undefined } },
    };
    const context = { repo: { owner: 'acme', repo: 'bot' }, payload: { pull_request: { number: 5 } } };
    const fakeRequire = (name: string) => {
      expect(name).toBe('fs');
      return { readFileSync: (file: string) => (file === 'gate.md' ? md : '') };
    };
    const saved = { REPORT_URL: process.env.REPORT_URL, ARTIFACT_URL: process.env.ARTIFACT_URL };
    Object.assign(process.env, { REPORT_URL: reportUrl, ARTIFACT_URL: artifactUrl });
    try {
      const script = new AsyncFunction('require', 'github', 'context', 'core', String(comment.with?.script)) as (...args: unknown[]) => Promise<void>;
      await script(fakeRequire, github, context, { warning: () => undefined });
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    expect(posted).toHaveLength(1);
    expect(posted[0]).toContain(`[refund 7](${artifactUrl}#${caseAnchor('refund 7')})`);
    expect(posted[0]).toContain(`all in the [HTML report](${artifactUrl})`);
    expect(posted[0]).not.toContain(reportUrl + '#');
  });
});

describe('sharded example workflow', () => {
  const wf = loadWorkflow('examples/github/sharded-gate.yml');

  it('runs on pushes to main too, so the merged database it caches is there for pull requests', () => {
    const on = wf.on as Record<string, { branches?: string[] }>;
    expect(on.push?.branches).toEqual(['main']);
    const restore = wf.jobs.shard!.steps.find((s) => s.uses?.startsWith('actions/cache/restore@'))!;
    const save = wf.jobs.gate!.steps.find((s) => s.uses?.startsWith('actions/cache/save@'))!;
    expect(String(save.with?.key).startsWith(String(restore.with?.['restore-keys']))).toBe(true);
  });
});

describe('example budget check workflow', () => {
  const wf = loadWorkflow('examples/github/budget-check.yml');
  const steps = Object.values(wf.jobs)[0]!.steps;
  const check = steps.find((s) => s.id === 'budgets')!;

  it('runs on a schedule with read-only permissions, checks the routing file budgets and fails the job over 100%', () => {
    const on = wf.on as Record<string, unknown>;
    expect(on.schedule).toEqual([{ cron: expect.stringMatching(/^\S+ \S+ \* \* \*$/) }]);
    expect(wf.permissions).toEqual({ contents: 'read' });
    expect(check.run).toContain('npx evalroute audit logs.jsonl --budgets routing.yaml --json budgets.json');
    expect(check.run).toMatch(/set \+e[\s\S]*code=\$\?[\s\S]*exit-code=\$code" >> "\$GITHUB_OUTPUT"/);
    const last = steps.at(-1)!;
    expect(last.if).toBe("always() && steps.budgets.outputs.exit-code != '0'");
    expect(last.run).toContain('exit "${CODE:-1}"');
    // The export reads the key from a secret, never from the file.
    const exportStep = steps.find((s) => s.run?.includes('/spend/logs'))!;
    expect(exportStep.env?.LITELLM_MASTER_KEY).toBe('${{ secrets.LITELLM_MASTER_KEY }}');
  });
});

describe('example gateway gate workflow', () => {
  const wf = loadWorkflow('examples/github/gateway-gate.yml');
  const steps = Object.values(wf.jobs)[0]!.steps;
  const gateStep = steps.find((s) => s.id === 'gate')!;

  it('starts the gateway this project tests against, waits for it, then gates the head config through it', () => {
    const start = steps.findIndex((s) => s.run?.includes('@portkey-ai/gateway') === true);
    expect(start).toBeGreaterThanOrEqual(0);
    expect(start).toBeLessThan(steps.indexOf(gateStep));
    const pinned = /@portkey-ai\/gateway@(\d+)\.\d+\.\d+ --port=8787 --headless .*&/.exec(steps[start]!.run!)?.[1];
    const tested = (JSON.parse(readFileSync('package.json', 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['@portkey-ai/gateway'];
    expect(tested).toMatch(new RegExp(`^\\^${pinned}\\.`));
    expect(steps[start]!.run).toMatch(/curl -fsS http:\/\/127\.0\.0\.1:8787\/[\s\S]*exit 1/);
    expect(gateStep.run).toMatch(/gate "\$SUITE" --routing "\$PORTKEY_CONFIG" --base-routing \/tmp\/base-config\.json \\\n\s+--through http:\/\/127\.0\.0\.1:8787\/v1/);
    expect(steps.at(-1)!.run).toContain('exit "${CODE:-1}"');
  });
});

// ───────────────────────────── GitLab ─────────────────────────────

const GITLAB_RESERVED = new Set(['stages', 'variables', 'default', 'include', 'workflow', 'image', 'services', 'cache', 'before_script', 'after_script']);
const gitlabJob = z.looseObject({
  stage: z.string(),
  image: z.string().optional(),
  script: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  rules: z.array(z.looseObject({ if: z.string().optional(), changes: z.array(z.string()).optional(), when: z.string().optional() })).optional(),
  artifacts: z
    .strictObject({
      when: z.enum(['always', 'on_success', 'on_failure']).optional(),
      expose_as: z.string().optional(),
      paths: z.array(z.string()).optional(),
      reports: z.looseObject({ junit: z.union([z.string(), z.array(z.string())]).optional() }).optional(),
      expire_in: z.string().optional(),
    })
    .optional(),
  cache: z.looseObject({ key: z.union([z.string(), z.looseObject({})]), paths: z.array(z.string()).min(1), when: z.enum(['always', 'on_success', 'on_failure']).optional() }).optional(),
});

describe(GITLAB, () => {
  const doc = parse(readFileSync(GITLAB, 'utf8'), { strict: true, uniqueKeys: true }) as Record<string, unknown>;
  const stages = z.array(z.string()).min(1).parse(doc.stages);
  const jobs = Object.entries(doc).filter(([k]) => !GITLAB_RESERVED.has(k) && !k.startsWith('.'));

  it('parses and has stages and jobs with a script in a declared stage', () => {
    expect(jobs.length).toBeGreaterThan(0);
    for (const [name, j] of jobs) {
      const parsed = gitlabJob.safeParse(j);
      expect(parsed.success ? [] : parsed.error.issues.map((i) => `${name}.${i.path.join('.')}: ${i.message}`)).toEqual([]);
      expect(stages).toContain(parsed.data!.stage);
    }
  });

  it('reports JUnit from the file the gate writes and posts its note by the report marker', () => {
    const [, raw] = jobs[0]!;
    const j = gitlabJob.parse(raw);
    const script = ([] as string[]).concat(j.script).join('\n');
    const junit = /--junit (\S+)/.exec(script)?.[1];
    expect(junit).toBeDefined();
    expect(j.artifacts?.reports?.junit).toBe(junit);
    expect(j.artifacts?.when).toBe('always');
    expect(script).toContain(MARKDOWN_MARKER);
    expect(script).toMatch(/exit \$code\s*$/);
    expect(j.rules?.[0]?.if).toBe('$CI_PIPELINE_SOURCE == "merge_request_event"');
  });
});

// ───────────── the scripts inside the YAML are valid code ─────────────

/** `bash -n`: syntax only, nothing runs. Expressions become a placeholder word, as GitHub substitutes them first. */
function bashSyntaxError(script: string): string | undefined {
  try {
    execFileSync('bash', ['-n'], { input: script.replace(/\$\{\{[\s\S]*?\}\}/g, 'X'), stdio: ['pipe', 'ignore', 'pipe'] });
    return undefined;
  } catch (e) {
    return String((e as { stderr?: Buffer }).stderr ?? e);
  }
}

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => unknown;

describe('scripts embedded in the CI files', () => {
  it.each(GITHUB_WORKFLOWS)('%s: every run script is valid bash and every github-script is valid JavaScript', (file) => {
    for (const j of Object.values(loadWorkflow(file).jobs)) {
      for (const s of j.steps) {
        if (s.run !== undefined) expect(bashSyntaxError(s.run), s.name ?? s.run).toBeUndefined();
        if (s.uses?.startsWith('actions/github-script@')) {
          // github-script runs the script as the body of an async function with these arguments.
          expect(() => new AsyncFunction('require', 'github', 'context', 'core', 'glob', 'io', 'exec', String(s.with?.script))).not.toThrow();
        }
      }
    }
  });

  it('the GitLab job script is valid bash, and its inline node script is valid JavaScript', () => {
    const doc = parse(readFileSync(GITLAB, 'utf8')) as Record<string, { script: string[] }>;
    const script = doc['routing-gate']!.script.join('\n');
    expect(bashSyntaxError(script)).toBeUndefined();
    const js = /node --input-type=module -e '([\s\S]*?)'/.exec(script)?.[1];
    expect(js).toBeDefined();
    expect(() => new AsyncFunction(js!)).not.toThrow();
  });

  it('the syntax checks catch broken scripts', () => {
    expect(bashSyntaxError('if [ -z "$A" ]; then echo x')).toMatch(/syntax error|unexpected end of file/);
    expect(() => new AsyncFunction('const x = ;')).toThrow(SyntaxError);
  });
});

// ───────────── the examples call evalroute only with flags it has ─────────────

describe('evalroute invocations in the examples', () => {
  const calls = [...GITHUB_WORKFLOWS, GITLAB].flatMap((file) =>
    [...readFileSync(file, 'utf8').replace(/\\\n\s*/g, ' ').matchAll(/npx evalroute (\w+)([^\n]*)/g)].map((m) => ({ file, command: m[1]!, args: m[2]! })),
  );

  it('finds the gate call in every example', () => {
    expect(calls.filter((c) => c.command === 'gate').map((c) => c.file)).toEqual(['examples/github/routing-gate.yml', 'examples/github/gateway-gate.yml', GITLAB]);
  });

  it.each(calls.map((c) => [c.file, c.command, c] as const))('%s: every flag of `evalroute %s` exists', (_file, command, call) => {
    const help = execFileSync(process.execPath, ['bin/evalroute.js', command, '--help'], { encoding: 'utf8' });
    const flags = [...call.args.matchAll(/(?<=\s|^)(--[a-z][a-z-]*)/g)].map((m) => m[1]!);
    expect(flags.length).toBeGreaterThan(0);
    const missing = flags.filter((f) => !new RegExp(`(^|[\\s,])${f}(\\s|$|=|\\[|<)`, 'm').test(help));
    expect(missing, `evalroute ${command} --help does not list ${missing.join(', ')}`).toEqual([]);
  });
});
