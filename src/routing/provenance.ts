/**
 * Which cases a routing file was chosen on. `evalroute suggest` picks, per class, the cheapest model that
 * passes on the suite's cases; a gate on those same cases then re-uses the luck that made the choice, so
 * its deltas are optimistic (selection bias — see docs/statistics.md). suggest records the cases it chose
 * on in a comment line of the routing file it writes, and `run`/`gate` warn when they gate on them.
 *
 * The chosen-on cases are described by a rule plus a check: the suite, the holdout split (fraction and
 * seed; a case's side depends only on its id, so it can be recomputed for any later case list) and the
 * sha256 of the sorted ids of the cases chosen on.
 */
import { createHash } from 'node:crypto';
import { seededUnit } from '../core/seeded.js';

export interface SelectionProvenance {
  suite: string;
  /** Cases the per-class choices were made on. */
  cases: number;
  /** Cases of the suite then (chosen-on + held out + unscored). */
  of: number;
  /** Fraction of the suite held out of the choice (0 = chosen on every case). */
  holdout: number;
  seed: number;
  /** `sha256:` + hex of the chosen-on case ids, sorted, one per line. */
  ids: string;
}

const MARKER = '# evalroute:chosen-on ';

/** Whether a case is held out of the choice: the first 8 hex digits of sha256(seed:id) as a uniform draw. */
export function isHeldOut(caseId: string, holdout: number, seed: number): boolean {
  if (holdout <= 0) return false;
  return seededUnit(`${seed}:${caseId}`) < holdout;
}

export function caseIdsHash(ids: Iterable<string>): string {
  return `sha256:${createHash('sha256').update([...ids].sort().join('\n'), 'utf8').digest('hex')}`;
}

/** The comment line suggest writes into the routing file: human-readable, and parsed back by `readProvenance`. */
export function provenanceComment(p: SelectionProvenance): string {
  return `${MARKER}${JSON.stringify(p)}`;
}

/** The provenance recorded in a routing file's text, if it has a well-formed one. */
export function readProvenance(routingText: string): SelectionProvenance | undefined {
  const line = routingText.split('\n').find((l) => l.startsWith(MARKER));
  if (!line) return undefined;
  try {
    const p = JSON.parse(line.slice(MARKER.length)) as Partial<SelectionProvenance>;
    const ok =
      typeof p.suite === 'string' && typeof p.cases === 'number' && typeof p.of === 'number' && typeof p.holdout === 'number' && typeof p.seed === 'number' && typeof p.ids === 'string';
    return ok ? (p as SelectionProvenance) : undefined;
  } catch {
    return undefined; // a hand-edited comment is not worth failing a gate over
  }
}

/**
 * The warning a gate on `caseIds` of `suite` owes its reader when the routing file was chosen on some of
 * them; undefined when it was not (another suite, no provenance, or only held-out cases gated).
 */
export function selectionBiasWarning(routingText: string, suite: string, caseIds: readonly string[]): string | undefined {
  const p = readProvenance(routingText);
  if (!p || p.suite !== suite) return undefined;
  const chosenSide = caseIds.filter((id) => !isHeldOut(id, p.holdout, p.seed));
  if (chosenSide.length === 0) return undefined;
  const what = `the routing file was chosen by \`evalroute suggest\` on ${p.cases} cases of suite ${suite}`;
  const why = 'its deltas here are optimistic, since the choice kept the models that were lucky on those cases';
  const fix =
    p.holdout > 0
      ? 'the held-out figure in its header is the fair one; gate it on cases it was not chosen on'
      : 'rerun suggest with --holdout 0.5 for a fair figure, or gate it on cases it was not chosen on';
  if (caseIdsHash(chosenSide) === p.ids) {
    const share = chosenSide.length === caseIds.length ? `all ${caseIds.length} gated cases are` : `${chosenSide.length} of the ${caseIds.length} gated cases are`;
    return `selection bias: ${what}, and ${share} those same cases: ${why}. ${capital(fix)}.`;
  }
  return `selection bias: ${what}; the cases gated here are not exactly those (the suite or shard differs), but up to ${chosenSide.length} of the ${caseIds.length} may be among them: ${why}. ${capital(fix)}.`;
}

const capital = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
