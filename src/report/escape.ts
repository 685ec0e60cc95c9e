/**
 * Untrusted text (model names and keys from a PR's config, tier names, provider error messages, model
 * output) must be shown as text, never as markup or terminal control.
 */

/**
 * Escapes text for a Markdown table cell or list item (the PR comment): pipes would split the cell,
 * newlines end the row, `<tag` would be HTML, `[text](url)` / `![img](url)` would be links and images
 * (a tracking pixel in a PR comment), `@name` would notify a GitHub user and a bare `https://` would
 * autolink. Emphasis and brackets are left as they are (harmless, and the raw text stays readable);
 * a bare "<0.001" too, so numbers read as in the console. The zero-width space breaks the mention and
 * the autolink without changing what a reader sees.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/\]\(/g, ']\\(')
    .replace(/<(?=[A-Za-z/!?])/g, '&lt;')
    .replace(/@(?=\w)/g, '@\u200b')
    .replace(/:\/\//g, ':\u200b//')
    .replace(/\r?\n/g, '<br>');
}
