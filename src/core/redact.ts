/**
 * Secrets must never reach the database, reports, logs or error messages. Key values read from the
 * environment are registered here once; every string that leaves evalroute from a provider (error
 * bodies, messages) passes through `redact`.
 */

const knownSecrets = new Set<string>();

/** Remember a secret value so `redact` removes it wherever it appears. Short values are ignored. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 8) knownSecrets.add(value);
}

const KEY_PATTERNS: RegExp[] = [
  /\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{8,}/g, // OpenAI / Anthropic style keys
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, // Authorization header values
  /("?(?:x-api-key|api[_-]?key|authorization)"?\s*[:=]\s*"?)[^"\s,}]{8,}/gi, // key: value echoes
];

export function redact(text: string): string {
  let out = text;
  for (const secret of knownSecrets) out = out.split(secret).join('[REDACTED]');
  out = out.replace(KEY_PATTERNS[0]!, '[REDACTED]');
  out = out.replace(KEY_PATTERNS[1]!, '$1 [REDACTED]');
  out = out.replace(KEY_PATTERNS[2]!, '$1[REDACTED]');
  return out;
}

/** Query parameters that may carry a credential (e.g. Azure's `api-key`, signed URLs' `sig`). */
const SECRET_PARAM = /key|token|secret|sig|auth|pass/i;

/**
 * A URL fit for messages and reports: user:password@ and credential-looking query values are removed,
 * then the text is redacted like any other. Text that is not a URL is only redacted.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return redact(url);
  }
  parsed.username = '';
  parsed.password = '';
  const query = [...parsed.searchParams].map(([name, value]) => `${name}=${SECRET_PARAM.test(name) ? '***' : encodeURIComponent(redact(value))}`);
  parsed.search = '';
  return `${redact(parsed.toString())}${query.length ? `?${query.join('&')}` : ''}`;
}
