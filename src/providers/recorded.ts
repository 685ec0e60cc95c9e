/**
 * Replays real recorded outputs from a JSONL file, one line per case:
 * `{"id": "...", "output": "...", "usage"?: {"input": n, "output": n}, "latency_ms"?: n, ...}`.
 * This lets a suite compare models whose outputs were captured elsewhere (public benchmark dumps,
 * production logs) without any API call or key.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError, ProviderError, stoppedError, UsageError } from '../core/errors.js';
import type { Completion, CompletionRequest, ModelConfig, Provider, ProviderFactory, TokenUsage } from '../core/types.js';
import { estimateUsage } from './shared.js';

export interface Recording {
  output: string;
  usage?: { input: number; output: number };
  latencyMs?: number;
  /** 1-based line in the file, for messages. */
  line: number;
}

/** Parses a recordings file; a line that is not a valid recording is a ConfigError naming file:line. */
export async function loadRecordings(file: string): Promise<Map<string, Recording>> {
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'recordings file not found' : `cannot read recordings file (${String(err)})`;
    throw new ConfigError({ file }, why, 'check the model\'s `path` in the config (it resolves relative to the config file)');
  }
  const recordings = new Map<string, Recording>();
  const lines = content.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.trim();
    if (text === '') continue;
    const line = i + 1;
    const fail = (problem: string): never => {
      throw new ConfigError({ file, line }, problem, 'each line must be {"id": string, "output": string, "usage"?: {"input": n, "output": n}}');
    };
    let rec: unknown;
    try {
      rec = JSON.parse(text);
    } catch (err) {
      fail(`not valid JSON (${(err as Error).message})`);
    }
    if (!rec || typeof rec !== 'object' || Array.isArray(rec)) fail('a recording must be a JSON object');
    const r = rec as Record<string, unknown>;
    if (typeof r.id !== 'string' || r.id === '') fail('"id" must be a non-empty string');
    if (typeof r.output !== 'string') fail(`"output" must be a string (case "${String(r.id)}")`);
    const id = r.id as string;
    const previous = recordings.get(id);
    if (previous) fail(`case "${id}" is recorded twice (first on line ${previous.line}); keep one recording per case`);
    const entry: Recording = { output: r.output as string, line };
    if (r.usage !== undefined) {
      const u = r.usage as Record<string, unknown> | null;
      if (!u || !isCount(u.input) || !isCount(u.output)) fail(`"usage" must be {"input": n, "output": n} with non-negative numbers (case "${id}")`);
      entry.usage = { input: u!.input as number, output: u!.output as number };
    }
    if (r.latency_ms !== undefined) {
      if (!isCount(r.latency_ms)) fail(`"latency_ms" must be a non-negative number (case "${id}")`);
      entry.latencyMs = r.latency_ms as number;
    }
    recordings.set(id, entry);
  }
  return recordings;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

export class RecordedProvider implements Provider {
  readonly key: string;
  readonly identity: string;
  readonly #file: string;
  #recordings: Promise<Map<string, Recording>> | undefined;

  constructor(private readonly model: ModelConfig) {
    if (!model.path) {
      throw new UsageError(
        `model "${model.key}" uses the recorded provider but has no path\n  → set models.${model.key}.path in the config to a JSONL file of recorded outputs`,
      );
    }
    this.key = model.key;
    this.#file = model.path;
    this.identity = `recorded|${model.path}|${model.model}`;
  }

  async complete(req: CompletionRequest, signal: AbortSignal): Promise<Completion> {
    if (signal.aborted) throw stoppedError();
    // One shared promise: concurrent first calls must not read and parse the file once each.
    const recordings = await (this.#recordings ??= loadRecordings(this.#file));
    const rec = recordings.get(req.caseId);
    if (!rec) {
      throw new ProviderError(
        `missing recording: case "${req.caseId}" has no recorded output for model "${this.key}" in ${this.#file}\n` +
          `  → record it (add a line {"id": "${req.caseId}", "output": …} to that file), or route the case to another model`,
        { kind: 'missing_recording', retryable: false },
      );
    }
    const usage: TokenUsage = rec.usage ?? (await estimateUsage(req.messages, rec.output));
    return { text: rec.output, usage, latencyMs: rec.latencyMs ?? 0, model: this.model.model };
  }
}

export const createRecordedProvider: ProviderFactory = (model) => new RecordedProvider(model);
