/**
 * Gateway in the loop (`run --through <url>` or `gateway:` in the config): every case goes to the
 * team's running gateway, which decides the model; the case is attributed to the tier that model
 * serves and the gateway's answer is that tier's output. The baseline is still called directly by the
 * engine, so any router — a Portkey config, LiteLLM's auto router, OpenRouter auto — is gated as a
 * black box on what it actually did.
 */
import { readFileSync } from 'node:fs';
import pLimit from 'p-limit';
import { ConfigError, RunIncompleteError, UsageError } from '../core/errors.js';
import { registerSecret } from '../core/redact.js';
import type { ChatMessage, Completion, EvalConfig, GatewayKind, Routing, Suite } from '../core/types.js';
import { prefetchKey } from '../engine/run-cases.js';
import { createGatewayClient, type GatewayClient, type ServedBy } from '../providers/gateway.js';
import { gatewayRequestBody } from '../routing/match.js';
import { portkeyLeaves } from '../routing/portkey.js';

export interface ThroughOptions {
  /** `--through`: overrides the config's `gateway.url`. */
  url?: string;
  env: Record<string, string | undefined>;
  signal: AbortSignal;
  /** Called after each case's gateway request. */
  onCase?: (done: number, total: number) => void;
}

export interface GatewayRouting {
  url: string;
  type: GatewayKind;
  /** caseId → tier, as the gateway served it. */
  tierOf: Map<string, string>;
  /** The gateway's answers, standing in for the tier model's call (never for the baseline's). */
  prefetched: Map<string, Completion>;
  /** caseId → what the gateway said about the model that served it. */
  servedBy: Map<string, ServedBy>;
}

/** The gateway settings a run uses, or undefined when the run does not go through one. */
export function gatewayUrl(config: EvalConfig, through: string | false | undefined): string | undefined {
  if (through === false) return undefined;
  const url = through ?? config.gateway?.url;
  if (url === undefined) return undefined;
  try {
    new URL(url);
  } catch {
    throw new UsageError(`--through needs the gateway's base URL (e.g. http://127.0.0.1:8787/v1), got "${url}"`);
  }
  return url;
}

/** Sends every case through the gateway and attributes it to a tier; nothing is stored yet. */
export async function routeThroughGateway(
  ctx: { config: EvalConfig; routing: Routing; suite: Suite; inputs: Map<string, ChatMessage[]> },
  url: string,
  opts: ThroughOptions,
): Promise<GatewayRouting> {
  const { config, routing, suite, inputs } = ctx;
  const gw = config.gateway ?? {};
  const type: GatewayKind = gw.type ?? (routing.portkey ? 'portkey' : 'openai');
  const client = createGatewayClient({
    url,
    type,
    ...portkeyConfigOf(type, gw.config, routing),
    ...apiKeyOf(gw.apiKeyEnv, opts.env),
    timeoutMs: gw.timeoutMs ?? 60_000,
  });
  const model = gw.model ?? config.models.get(routing.baseline)!.model;
  const attribute = attributor(config, routing, url);
  const limit = pLimit(gw.concurrency ?? 8);
  const out: GatewayRouting = { url, type, tierOf: new Map(), prefetched: new Map(), servedBy: new Map() };
  const failures: string[] = [];
  let done = 0;
  await Promise.all(
    suite.cases.map((c) =>
      limit(async () => {
        if (opts.signal.aborted) return;
        const messages = inputs.get(c.id)!;
        const { messages: _m, ...body } = gatewayRequestBody(c, messages, suite.params, model);
        const reply = await send(client, { caseId: c.id, body, messages, ...(c.metadata ? { metadata: c.metadata } : {}), ...(c.tags ? { tags: c.tags } : {}) }, opts.signal, failures);
        opts.onCase?.(++done, suite.cases.length);
        if (!reply) return;
        const tier = attribute(c.id, reply.servedBy, reply.completion.requestId);
        out.tierOf.set(c.id, tier);
        out.servedBy.set(c.id, reply.servedBy);
        const tierModel = routing.tiers.get(tier)!.model;
        if (tierModel !== routing.baseline) out.prefetched.set(prefetchKey(c.id, tierModel, 0), reply.completion);
      }),
    ),
  );
  if (opts.signal.aborted) throw new RunIncompleteError('interrupted while sending cases through the gateway; nothing was stored');
  if (failures.length > 0) {
    throw new RunIncompleteError(
      `${failures.length} of ${suite.cases.length} requests to the gateway at ${url} failed, so those cases have no tier; nothing was stored\n` +
        failures.slice(0, 5).map((f) => `  ${f}`).join('\n') +
        (failures.length > 5 ? `\n  … and ${failures.length - 5} more` : '') +
        '\n  → check that the gateway is up and reaches its models, then run again',
    );
  }
  return out;
}

async function send(client: GatewayClient, req: Parameters<GatewayClient['send']>[0], signal: AbortSignal, failures: string[]) {
  try {
    return await client.send(req, signal);
  } catch (err) {
    // The first line says what happened; the hints under it would repeat for every case.
    failures.push(`case "${req.caseId}": ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

/** Portkey's OSS gateway keeps no configs: the config travels with every request. */
function portkeyConfigOf(type: GatewayKind, file: string | undefined, routing: Routing): { portkeyConfig?: string } {
  if (type !== 'portkey') return {};
  const source = file ?? (routing.portkey ? routing.file : undefined);
  if (source === undefined) return {};
  try {
    return { portkeyConfig: JSON.stringify(JSON.parse(readFileSync(source, 'utf8'))) };
  } catch (e) {
    throw new ConfigError({ file: source }, `cannot read the Portkey config to send to the gateway: ${(e as Error).message}`, 'set gateway.config to a Portkey config JSON file');
  }
}

function apiKeyOf(name: string | undefined, env: Record<string, string | undefined>): { apiKey?: string } {
  if (name === undefined) return {};
  const key = env[name];
  if (!key) throw new UsageError(`gateway.apiKeyEnv names ${name}, which is not set\n  → export ${name}=<the gateway key>, or remove apiKeyEnv for a gateway without keys`);
  registerSecret(key);
  return { apiKey: key };
}

/**
 * Which tier served a case: the Portkey target the gateway reports, else the configured model whose
 * model id the response names (narrowed by LiteLLM's api-base header when several share it).
 */
function attributor(config: EvalConfig, routing: Routing, url: string) {
  const leafTier = new Map(routing.portkey ? portkeyLeaves(routing.portkey).map((l) => [l.path, l.tier!]) : []);
  const tiersOfModel = (key: string) => [...routing.tiers.values()].filter((t) => t.model === key).map((t) => t.name);
  return (caseId: string, served: ServedBy, requestId: string | undefined): string => {
    const where = `case "${caseId}"${requestId ? ` (request ${requestId})` : ''}`;
    if (served.portkeyTarget && leafTier.size > 0) {
      const tier = leafTier.get(served.portkeyTarget);
      if (tier) return tier;
      throw new ConfigError(
        { file: routing.file },
        `the gateway at ${url} served ${where} from ${served.portkeyTarget}, which is not a target of this config`,
        'gate the config the gateway runs: pass it with --routing (or gateway.config)',
      );
    }
    const byId = [...config.models].filter(([key, m]) => served.model !== undefined && (m.model === served.model || key === served.model));
    let keys = byId.map(([key]) => key);
    if (keys.length > 1 && served.litellmApiBase) {
      const base = served.litellmApiBase.replace(/\/+$/, '');
      const narrowed = byId.filter(([, m]) => m.baseURL?.replace(/\/+$/, '') === base).map(([key]) => key);
      if (narrowed.length > 0) keys = narrowed;
    }
    const tiers = [...new Set(keys.flatMap(tiersOfModel))];
    if (tiers.length === 1) return tiers[0]!;
    const said = [
      `model "${served.model ?? '(none)'}"`,
      ...(served.litellmModelId ? [`x-litellm-model-id ${served.litellmModelId}`] : []),
      ...(served.litellmApiBase ? [`x-litellm-model-api-base ${served.litellmApiBase}`] : []),
    ].join(', ');
    throw new ConfigError(
      { file: routing.file },
      tiers.length === 0
        ? `the gateway at ${url} served ${where} with ${said}, which no tier of this routing file uses`
        : `the gateway at ${url} served ${where} with ${said}, which tiers ${tiers.join(', ')} all use, so evalroute cannot tell which one it was`,
      `give each model the gateway can pick a tier (tiers: { <name>: { model: <key whose model id is ${served.model ?? '…'}> } })`,
    );
  };
}
