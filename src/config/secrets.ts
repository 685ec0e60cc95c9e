/**
 * Config files are committed, shared and stored with every run, so they must not carry credentials.
 * These checks run on the parsed YAML before the schema and refuse a key where one does not belong,
 * without ever echoing the value.
 */
import { ConfigError } from '../core/errors.js';
import { hasKeyPrefix, looksLikeSecret } from '../core/redact.js';
import type { Locate, PathSegment } from './source.js';

// Parameter names that hold credentials in the APIs and SDKs evalroute talks to.
const SECRET_PARAM_NAME = /(?:^|[_-])(?:api[_-]?key|access[_-]?key|token|secret|password|passwd|authorization|auth)$/i;

const KEY_HINT = 'put the key in an environment variable and name it with apiKeyEnv: MY_API_KEY (then rotate the key if this file was shared)';

/**
 * Refuses `params` (model or suite) holding a credential: a key-like name with a string value, or a
 * value in a known key format. Such params would be stored with every run and sent in every request body.
 */
export function rejectSecretParams(params: unknown, path: PathSegment[], at: Locate): void {
  if (Array.isArray(params)) {
    params.forEach((v, i) => rejectSecretParams(v, [...path, i], at));
    return;
  }
  if (!params || typeof params !== 'object') return;
  for (const [name, value] of Object.entries(params)) {
    const here = [...path, name];
    if (typeof value === 'string' && ((SECRET_PARAM_NAME.test(name) && value.trim() !== '') || hasKeyPrefix(value))) {
      throw new ConfigError(at(here), 'this request parameter holds what looks like an API key or password; keys must never be written in config files', KEY_HINT);
    }
    rejectSecretParams(value, here, at);
  }
}

/** Refuses an `apiKeyEnv` that holds a key instead of a variable name; the value is never echoed. */
export function rejectKeyInApiKeyEnv(value: unknown, path: PathSegment[], at: Locate): void {
  if (typeof value === 'string' && looksLikeSecret(value)) {
    throw new ConfigError(
      at(path),
      'apiKeyEnv holds what looks like an API key itself; it must be the NAME of the environment variable that holds the key',
      'write apiKeyEnv: MY_API_KEY and export MY_API_KEY=<the key> (then rotate the key if this file was shared)',
    );
  }
}
