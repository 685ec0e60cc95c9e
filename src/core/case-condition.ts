/**
 * Conditions on a case's own fields (task, tags, metadata): shared by routing rules and by graders
 * chosen per case, so both read `when:` the same way. Pure.
 */
import type { Case, CaseCondition } from './types.js';

export function caseMatches(w: CaseCondition, c: Pick<Case, 'task' | 'tags' | 'metadata'>): boolean {
  if (w.task && (c.task === undefined || !w.task.includes(c.task))) return false;
  if (w.tags && !w.tags.some((t) => c.tags?.includes(t))) return false;
  if (w.metadata) {
    for (const [key, want] of Object.entries(w.metadata)) {
      if (!metadataMatches(c.metadata?.[key], want)) return false;
    }
  }
  return true;
}

/**
 * A wanted list means "one of these"; a case value that is itself a list (e.g. several categories)
 * matches when any of its elements does. Comparison is strict: `1` and `"1"` differ.
 */
function metadataMatches(have: unknown, want: unknown): boolean {
  if (have === undefined) return false;
  const wanted = Array.isArray(want) ? want : [want];
  const values = Array.isArray(have) ? have : [have];
  return values.some((v) => wanted.includes(v));
}
