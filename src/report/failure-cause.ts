/**
 * When most calls of a run fail, the verdict table is noise ("delta 0.0 pts within the margin" of two
 * columns of errors): the cause is the news. This turns the run's error groups into what a user must
 * read first — what failed, the URL that was called and the likely fix — for the console and Markdown.
 */
import type { RunErrorGroup, RunSummary } from '../core/types.js';
import { int, pct } from './format.js';

/** From this share of errored calls on, the failure leads the output. */
export const FAILURE_LEADS_AT = 0.5;

export interface FailureCause {
  /**
   * Every call errored, or every call of the baseline model (every tier is compared with it): there is
   * nothing to decide, so the verdict table is left out.
   */
  noVerdict: boolean;
  headline: string;
  causes: { model: string; calls: number; what: string; url?: string; fix: string }[];
}

export function failureCause(summary: RunSummary): FailureCause | undefined {
  const calls = summary.models.reduce((n, m) => n + m.calls, 0);
  const errored = summary.models.reduce((n, m) => n + m.errors, 0);
  const groups = (summary.errors ?? []).filter((g) => g.kind !== 'aborted' && g.kind !== 'budget');
  if (calls === 0 || errored / calls < FAILURE_LEADS_AT || groups.length === 0) return undefined;
  const baselineName = summary.tiers[0]?.baselineModel;
  const baseline = summary.models.find((m) => m.model === baselineName);
  const baselineFailed = baseline !== undefined && baseline.calls > 0 && baseline.errors === baseline.calls;
  const headline =
    errored === calls
      ? `Every call failed (${int(errored)} of ${int(calls)}): there is no verdict to show. Fix the cause below and run again.`
      : baselineFailed
        ? `Every call to the baseline model ${baseline.model} failed (${int(baseline.errors)} of ${int(baseline.calls)}; ${int(errored)} of ${int(calls)} calls in all): no tier can be compared with it, so there is no verdict. Fix the cause below and run again.`
        : `${int(errored)} of ${int(calls)} calls failed (${pct(errored / calls)}): the verdicts below rest on errors. Fix the cause first.`;
  // One line per model and kind is enough: the same failure repeated per case says nothing new.
  const causes = groups.map((g) => ({
    model: g.model,
    calls: g.count,
    // The URL gets its own line.
    what: (firstLine(g.example) ?? g.kind.replace('_', ' ')).replace(`, POST ${g.url}`, ''),
    ...(g.url ? { url: g.url } : {}),
    fix: likelyFix(g),
  }));
  return { noVerdict: errored === calls || baselineFailed, headline, causes };
}

function firstLine(text: string | undefined): string | undefined {
  return text?.split('\n')[0];
}

/**
 * The most likely fix for a group of failures. The shapes recognised are the mistakes new users make:
 * an OpenAI-compatible base URL without its `/v1`, an Anthropic base URL with one too many, a server
 * that is not running, a key that is wrong. Otherwise the provider's own next step (the message's "→"
 * line) stands.
 */
export function likelyFix(g: Pick<RunErrorGroup, 'kind' | 'status' | 'url' | 'example'>): string {
  const path = g.url ? pathOf(g.url) : undefined;
  if (g.kind === 'not_found' && path !== undefined) {
    const base = g.url!.replace(/\/(chat\/completions|v1\/messages)(\?.*)?$/, '');
    if (path.endsWith('/v1/v1/messages')) {
      return `the Anthropic SDK appends /v1/messages to the base URL itself: drop the trailing /v1 (baseURL: ${base.replace(/\/v1$/, '')})`;
    }
    if (path.endsWith('/chat/completions') && !/\/v\d+[a-z]*\//.test(path) && !path.includes('/openai/deployments/')) {
      return `does the base URL end in /v1? OpenAI-compatible servers usually serve ${base}/v1/chat/completions (baseURL: ${base}/v1)`;
    }
    return `the server answered 404 at ${g.url}: check the base URL's path and the model id in the config`;
  }
  if (g.kind === 'connection' && g.url && /ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(g.example ?? '')) {
    return `nothing answered at ${originOf(g.url)}: is the server running, and are the host and port in the base URL right?`;
  }
  const next = g.example?.split('\n').find((l) => l.trim().startsWith('→'));
  return next ? next.trim().replace(/^→\s*/, '') : 'see the error message above';
}

function pathOf(url: string): string | undefined {
  try {
    return new URL(url).pathname;
  } catch {
    return undefined;
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

/** Console lines: the headline, then per (model, kind) what failed, where, and what to try. */
export function formatFailureCause(cause: FailureCause): string {
  const out = [cause.headline];
  for (const c of cause.causes) {
    out.push('', `  ✘ ${c.model}: ${int(c.calls)} calls — ${c.what}`);
    if (c.url) out.push(`    URL tried: ${c.url}`);
    out.push(`    likely fix: ${c.fix}`);
  }
  return out.join('\n');
}
