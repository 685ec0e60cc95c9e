import { createHash } from 'node:crypto';
import type { ChatMessage, CompletionRequest, Provider } from '../core/types.js';
import { canonicalJson } from '../core/canonical-json.js';

/**
 * Attachments enter the key by content hash, media type and name, never by their bytes: hashing the
 * sha256 is as exact and costs nothing per call. Text-only conversations are hashed exactly as before
 * attachments existed, so earlier cached responses keep matching.
 */
function hashableMessages(messages: readonly ChatMessage[]): unknown {
  if (!messages.some((m) => m.attachments?.length)) return messages;
  return messages.map(({ attachments, ...m }) =>
    attachments?.length ? { ...m, attachments: attachments.map((a) => ({ mediaType: a.mediaType, name: a.name, sha256: a.sha256 })) } : m,
  );
}

/** The response-cache key: same provider identity, messages, params and repeat index → same answer. */
export function requestHash(provider: Provider, req: CompletionRequest): string {
  return createHash('sha256')
    .update(provider.identity)
    .update('\0')
    .update(canonicalJson(hashableMessages(req.messages)))
    .update('\0')
    .update(canonicalJson(req.params))
    .update('\0')
    .update(String(req.repeat))
    .digest('hex');
}

/**
 * The key a gateway's answer is stored under (`run --through`): derived from the model's own request
 * hash, so a resumed run through the gateway finds it again, but never equal to it, so the response
 * cache never hands the gateway's answer to a direct call of the model.
 */
export function gatewayAnswerHash(directHash: string): string {
  return createHash('sha256').update('gateway\0').update(directHash).digest('hex');
}
