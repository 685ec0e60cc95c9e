/**
 * Text from outside (provider error bodies, file contents quoted in errors) is printed on terminals and
 * stored. Control characters in it must not act: ESC starts terminal sequences (cursor moves, colours,
 * clearing lines) and CR returns to the line start, so a message could overwrite the verdict.
 */

// C0 controls but tab and newline, DEL, and C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Control characters become visible `\u001b`-style escapes. With `singleLine`, newlines are escaped
 * too, so the text cannot start a line of its own (a fake "GATE PASSED" line).
 */
export function escapeControl(text: string, opts: { singleLine?: boolean } = {}): string {
  const escaped = text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return opts.singleLine ? escaped.replace(/\r?\n/g, '\\n') : escaped;
}
