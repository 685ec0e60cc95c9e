/**
 * docs/formats.md documents the production-log line format by example. Those examples are run: the
 * JSONL lines and the config and routing file shown beside them go into an empty folder and the
 * documented `evalroute audit logs.jsonl` must read every line and route it as the text says.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBuilt, runCli } from './support/cli.js';

const doc = readFileSync('docs/formats.md', 'utf8');
const logsSection = doc.slice(doc.indexOf('## Production logs'));

/** The fenced blocks of a language in `text`; YAML blocks name their file on the first line (`# routing.yaml`). */
const blocks = (text: string, lang: string) => [...text.matchAll(new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'gm'))].map((m) => m[1]!);

beforeAll(() => {
  ensureCliBuilt();
});

describe('docs/formats.md: production log lines', () => {
  it('keeps the hand-written section after the generated tables (the generator preserves it)', () => {
    expect(doc.indexOf('<!-- Hand-written from here on')).toBeGreaterThan(doc.indexOf('## goldens/'));
    expect(logsSection).toContain('`metadata.task`');
  });

  it('the documented example lines, config and routing file give the audit the text describes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evalroute-docs-formats-'));
    const [jsonl] = blocks(logsSection, 'jsonl');
    writeFileSync(join(dir, 'logs.jsonl'), jsonl!);
    const yamls = blocks(logsSection, 'yaml');
    expect(yamls).toHaveLength(2);
    for (const y of yamls) writeFileSync(join(dir, /^# (\S+)\n/.exec(y)![1]!), y);

    const r = await runCli(['audit', 'logs.jsonl', '--json', 'audit.json'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const audit = JSON.parse(readFileSync(join(dir, 'audit.json'), 'utf8')) as {
      requests: number;
      malformed: { count: number };
      formats: Record<string, number>;
      estimatedUsage: number;
      byUseCase: unknown;
      routing: { tiers: { tier: string; requests: number }[] };
    };
    // One line of each shape, none malformed, token counts read from the lines (not estimated).
    expect(audit.requests).toBe(3);
    expect(audit.malformed.count).toBe(0);
    expect(audit.formats).toEqual({ openai: 1, anthropic: 1, generic: 1, litellm: 0, portkey: 0 });
    expect(audit.estimatedUsage).toBe(0);
    // metadata.task sends classification and extraction to the cheap tier; metadata.team the summary to the frontier.
    expect(audit.routing.tiers.map((t) => [t.tier, t.requests])).toEqual([['cheap', 2], ['frontier', 1]]);
    for (const useCase of ['support', 'orders', 'notes']) expect(JSON.stringify(audit.byUseCase)).toContain(useCase);
    expect(r.stdout).toMatch(/^ops-notes\s+frontier\s+1$/m);
  });
});
