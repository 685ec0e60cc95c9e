import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../src/core/types.js';
import { ensureCliBuilt } from './support/cli.js';

// The frontier budget guard through the real CLI on the offline MMLU-Pro demo (no tier fails; exit 0):
// 71% of a budget warns and still exits 0; 101% fails the gate with its own reason and exits 1.
const suite = resolve('suites/mmlu-pro-tiers');
const cli = resolve('bin/evalroute.js');

function gate(routingFile: string, db: string) {
  const out = join(db, '..', `${Math.random().toString(36).slice(2)}.json`);
  const r = spawnSync('node', [cli, 'run', suite, '--routing', routingFile, '--db', db, '--monthly-requests', '1000000', '--json', out, '-q'], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, summary: JSON.parse(readFileSync(out, 'utf8')) as RunSummary };
}

describe('monthly frontier-token budgets', () => {
  it('warn at 71% (exit 0) and fail the gate at 101% (exit 1)', () => {
    ensureCliBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'evalroute-budget-'));
    const db = join(dir, 'r.db');
    const routing = join(dir, 'routing.yaml');
    const base = readFileSync(join(suite, 'routing.yaml'), 'utf8');

    writeFileSync(routing, base);
    const plain = gate(routing, db);
    const projected = plain.summary.cost!.projection!.useCases.find((u) => u.useCase === 'multiple-choice')!.frontierTokensPerMonth;
    expect(projected).toBeGreaterThan(0);

    const withBudget = (limit: number) => `${base}\nbudgets:\n  - { useCase: multiple-choice, frontierTokensPerMonth: ${Math.round(limit)}, alertAt: 0.7 }\n`;
    writeFileSync(routing, withBudget(projected / 0.71));
    const warn = gate(routing, db);
    expect(warn.status).toBe(0);
    expect(warn.summary.budgets![0]).toMatchObject({ status: 'warn' });
    expect(warn.summary.budgets![0]!.used!).toBeCloseTo(0.71, 3);
    expect(warn.stdout).toMatch(/WARN/);

    writeFileSync(routing, withBudget(projected / 1.01));
    const over = gate(routing, db);
    expect(over.status).toBe(1);
    expect(over.summary.pass).toBe(false);
    expect(over.summary.tiers.every((t) => t.outcome !== 'fail')).toBe(true);
    expect(over.summary.outcome).toBe('fail');
    expect(over.summary.budgets![0]).toMatchObject({ status: 'fail' });
    expect(over.stdout).toMatch(/budget/i);
  });
});
