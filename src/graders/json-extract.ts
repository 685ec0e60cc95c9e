/**
 * Finding the JSON in a model's output. Models wrap JSON in code fences or put a sentence before it;
 * a grader that only accepted bare JSON would grade formatting habits instead of content.
 */

export type JsonExtraction =
  | { ok: true; value: unknown; source: 'whole' | 'fenced' | 'embedded' }
  | { ok: false; error: string };

function tryParse(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

const FENCE_LANG = /^[ \t]*([\w-]*)/;

/**
 * Code fences (```lang … ```), found with indexOf: a single regex for them backtracks quadratically on
 * an unclosed fence or a long run of backticks, and model outputs can be megabytes.
 */
function fencedBlocks(text: string): Array<{ lang: string; body: string }> {
  const blocks: Array<{ lang: string; body: string }> = [];
  for (let at = 0; ; ) {
    const open = text.indexOf('```', at);
    const newline = open < 0 ? -1 : text.indexOf('\n', open + 3);
    const close = newline < 0 ? -1 : text.indexOf('```', newline + 1);
    if (close < 0) return blocks;
    blocks.push({ lang: FENCE_LANG.exec(text.slice(open + 3, newline))![1]!.toLowerCase(), body: text.slice(newline + 1, close) });
    at = close + 3;
  }
}

/** End index (exclusive) of the balanced value opening at `start`, or -1. Brackets inside strings don't count. */
function balancedEnd(text: string, start: number): number {
  const stack: string[] = [];
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') stack.push(ch === '{' ? '}' : ']');
    else if (ch === '}' || ch === ']') {
      if (stack.pop() !== ch) return -1;
      if (stack.length === 0) return i + 1;
    }
  }
  return -1;
}

/** Prose may contain brackets too (`[see below]`); give up after this many candidates that aren't JSON. */
const MAX_EMBEDDED_TRIES = 20;

/**
 * The JSON value in `text`: the whole text; else the first fenced block that parses (```json blocks
 * first); else the first balanced `{…}` or `[…]` that parses. On failure, the parse error of the most
 * likely candidate (a fenced block, else the first balanced value, else the whole text).
 */
export function extractJson(text: string): JsonExtraction {
  const whole = tryParse(text.trim());
  if (whole.ok) return { ...whole, source: 'whole' };

  const fences = fencedBlocks(text);
  fences.sort((a, b) => Number(b.lang.startsWith('json')) - Number(a.lang.startsWith('json')));
  let firstError: string | undefined;
  for (const f of fences) {
    const r = tryParse(f.body.trim());
    if (r.ok) return { ...r, source: 'fenced' };
    firstError ??= `in the fenced block: ${r.error}`;
  }

  let tries = 0;
  for (let i = 0; i < text.length && tries < MAX_EMBEDDED_TRIES; i++) {
    const ch = text[i];
    if (ch !== '{' && ch !== '[') continue;
    tries++;
    const end = balancedEnd(text, i);
    if (end < 0) {
      // Nothing opened later can be the answer's outermost value; don't return a fragment of it.
      firstError ??= `unbalanced ${ch} at character ${i + 1}, the output may be cut off`;
      break;
    }
    const r = tryParse(text.slice(i, end));
    if (r.ok) return { ...r, source: 'embedded' };
    firstError ??= `in the value at character ${i + 1}: ${r.error}`;
    i = end - 1;
  }
  return { ok: false, error: firstError ?? whole.error };
}
