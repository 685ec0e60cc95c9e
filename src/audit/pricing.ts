/**
 * Which price applies to a model id seen in the logs. Logs carry provider model ids, often dated
 * snapshots (`gpt-4.1-2025-04-14`), while the config names `gpt-4.1`; a snapshot takes the price of
 * the longest configured id it extends. An id nothing matches is unpriced — shown as unknown, never $0.
 */
import type { ModelConfig, Price } from '../core/types.js';

export interface PriceMatch {
  price: Price;
  /** Where the price came from, e.g. `config:gpt4` or `table`. */
  source: string;
}

export type PriceLookup = (modelId: string) => PriceMatch | undefined;

interface Entry {
  id: string;
  match: PriceMatch;
}

/**
 * Config prices win over the table: they are what this team actually pays. `table` lists further
 * model ids with their price and its source (e.g. the bundled public price list, aliases included).
 */
export function createPriceLookup(models: Iterable<ModelConfig> = [], table: Iterable<readonly [string, PriceMatch]> = []): PriceLookup {
  const configured: Entry[] = [];
  for (const m of models) {
    if (!m.price) continue;
    const match = { price: m.price, source: `config:${m.key}` };
    configured.push({ id: m.model.toLowerCase(), match });
    if (m.key !== m.model) configured.push({ id: m.key.toLowerCase(), match });
  }
  const listed: Entry[] = [...table].map(([id, match]) => ({ id: id.toLowerCase(), match }));
  const cache = new Map<string, PriceMatch | undefined>();
  return (modelId) => {
    const id = modelId.toLowerCase();
    if (cache.has(id)) return cache.get(id);
    const found = best(configured, id) ?? best(listed, id);
    cache.set(id, found);
    return found;
  };
}

/** Dated or pinned versions of a model id: `-2025-04-14`, `-20240620`, `@20240620`, `-0613`, `-latest`, `-v1:0`. */
const SNAPSHOT_SUFFIX = /^(?:[-@](?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|latest))+(?:-v\d+(?::\d+)?)?$/;

/**
 * True when a logged model id is `base` itself, a dated snapshot of it, or it behind a gateway prefix
 * (`openai/gpt-4.1`, `anthropic.claude-…`). `gpt-4.1-mini` is not a snapshot of `gpt-4.1`.
 */
export function isModelVersionOf(logged: string, base: string): boolean {
  const id = logged.toLowerCase();
  const b = base.toLowerCase();
  const forms = [id, id.slice(id.lastIndexOf('/') + 1), id.replace(/^[a-z0-9-]+\./, '')];
  return forms.some((f) => f.startsWith(b) && (f.length === b.length || SNAPSHOT_SUFFIX.test(f.slice(b.length))));
}

/** The exact id, else the longest listed id that `id` is a version of. */
function best(entries: Entry[], id: string): PriceMatch | undefined {
  let match: Entry | undefined;
  for (const e of entries) {
    if (isModelVersionOf(id, e.id) && (!match || e.id.length > match.id.length)) match = e;
  }
  return match?.match;
}
