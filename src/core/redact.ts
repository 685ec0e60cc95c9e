/**
 * Secrets must never reach the database, reports, logs or error messages. Key values read from the
 * environment are registered here once; every string that leaves evalroute from a provider (error
 * bodies, messages) or from a config file (stored config, printed base URLs) passes through `redact`.
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

// `scheme://user:password@host`: a password in a base URL is as secret as a key. Only the userinfo
// goes; the host stays so messages still say where a call went.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@?#"'<>]+@/gi;

export function redact(text: string): string {
  let out = text;
  for (const secret of knownSecrets) out = out.split(secret).join('[REDACTED]');
  out = out.replace(URL_USERINFO, '$1[REDACTED]@');
  out = out.replace(KEY_PATTERNS[0]!, '[REDACTED]');
  out = out.replace(KEY_PATTERNS[1]!, '$1 [REDACTED]');
  out = out.replace(KEY_PATTERNS[2]!, '$1[REDACTED]');
  return out;
}

// Prefixes of widely used credential formats (OpenAI/Anthropic, AWS, GitHub, Slack, Google, Stripe, HF, Groq, xAI).
const KEY_PREFIX = /^(?:sk[-_]|sk-ant-|rk_|pk_live|AKIA|ASIA|gh[pousr]_|github_pat_|xox[abpr]-|AIza|hf_|gsk_|xai-)/;

/**
 * True when `value` looks like a credential rather than a name or a setting: a known key prefix, or a
 * long token mixing upper case, lower case and digits (names are words; keys are random).
 */
export function looksLikeSecret(value: string): boolean {
  const v = value.trim();
  if (v.length < 12 || /\s/.test(v)) return false;
  return hasKeyPrefix(v) || (v.length >= 20 && /[a-z]/.test(v) && /[A-Z]/.test(v) && /\d/.test(v));
}

/** True when `value` starts like a known credential format (sk-…, AKIA…, ghp_…). */
export function hasKeyPrefix(value: string): boolean {
  const v = value.trim();
  return v.length >= 12 && !/\s/.test(v) && KEY_PREFIX.test(v);
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
