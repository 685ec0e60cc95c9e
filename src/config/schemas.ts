/**
 * zod schemas of every file evalroute reads. They are the authority on the formats: JSON Schemas for
 * editors are generated from them (z.toJSONSchema), so they stay plain (no transforms) and described.
 * Objects are strict so a typo is an error with its path, not a silently ignored key.
 */
import { z } from 'zod';
import { LIMITS } from './limits.js';

const fraction = z.number().min(0).max(1);

// An empty condition would silently match every case (or none): refused with a message saying so.
const EMPTY_LIST = 'empty list: a condition must name at least one value (drop the key to not filter on it)';
const stringOrList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1, EMPTY_LIST)]);
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const envVarName = (example: string) => z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, `must be an environment variable name such as ${example}`);
// Calls in flight and per-call timeouts are bounded alike wherever they are set (a model, the gateway): see LIMITS.
const concurrency = z.int().positive().max(LIMITS.concurrency);
const timeoutMs = z.int().min(LIMITS.minTimeoutMs).max(LIMITS.maxTimeoutMs, `must be at most ${LIMITS.maxTimeoutMs} (one hour)`);

// ───────────────────────────── evalroute.config.yaml ─────────────────────────────

export const gateSchema = z
  .strictObject({
    minPassRate: fraction.optional().describe("Absolute floor for the tier's pass rate (0..1)"),
    maxRegression: fraction.optional().describe('Largest tolerated drop of pass rate vs the baseline (0..1)'),
    rule: z
      .enum(['noninferiority', 'point', 'significant'])
      .optional()
      .describe('noninferiority (default): PASS / FAIL / INCONCLUSIVE from the 95% interval; point and significant are two-outcome screening rules'),
    confidence: z.number().gt(0).lt(1).optional().describe('Confidence level of intervals (default 0.95)'),
    onInconclusive: z
      .enum(['fail', 'warn'])
      .optional()
      .describe('An inconclusive tier blocks the gate with exit 4 (fail, default) or only warns (warn)'),
  })
  .describe('Quality bar the tier must meet');

// One object form for both cases, so a typo stays an "unknown key" error with a hint: either input and
// output are given, or `table` names a bundled list price (and any figure given overrides the table's).
export const priceSchema = z
  .strictObject({
    table: z
      .string()
      .min(1)
      .optional()
      .describe('Name of an entry of the bundled, dated price table (e.g. gpt-4o, claude-sonnet-4-5); figures given here override it'),
    input: z.number().nonnegative().optional().describe('USD per 1M input tokens (required without table)'),
    output: z.number().nonnegative().optional().describe('USD per 1M output tokens (required without table)'),
    cachedInput: z.number().nonnegative().optional().describe('USD per 1M cached input tokens'),
  })
  .describe('Price of the model in USD per million tokens: { input, output } or { table: <name> }; omit for an unpriced model');

export const modelSchema = z
  .strictObject({
    provider: z
      .string()
      .min(1)
      .optional()
      .describe('Provider type: openai, anthropic, azure, recorded, mixture, … (required unless the entry overrides an imported LiteLLM model)'),
    model: z
      .string()
      .min(1)
      .optional()
      .describe("The provider's model id (e.g. gpt-4o). Required except for `recorded`, where it defaults to the key"),
    baseURL: z.url().optional().describe('API base URL, for OpenAI-compatible endpoints (the endpoint for azure)'),
    baseURLEnv: envVarName('MY_API_BASE')
      .optional()
      .describe('Name of the environment variable holding the API base URL, read when the model is first called'),
    apiVersion: z.string().min(1).optional().describe('Azure OpenAI API version (provider azure)'),
    apiKeyEnv: envVarName('MY_API_KEY')
      .optional()
      .describe('Name of the environment variable holding the API key (never the key itself)'),
    params: z.record(z.string(), z.unknown()).optional().describe('Request parameters: temperature, max_tokens, seed, … (default {})'),
    price: priceSchema.optional(),
    concurrency: concurrency.optional().describe(`Max calls in flight for this model (default 8, at most ${LIMITS.concurrency})`),
    timeoutMs: timeoutMs
      .optional()
      .describe(`Per-call timeout in milliseconds (default 60000, from ${LIMITS.minTimeoutMs} to ${LIMITS.maxTimeoutMs})`),
    maxRetries: z.int().nonnegative().max(LIMITS.maxRetries).optional().describe(`Retries of a retryable failure (default 4, at most ${LIMITS.maxRetries})`),
    rpm: z.number().min(1).max(LIMITS.perMinute).optional().describe('Requests per minute evalroute paces this model to (every retry counts; at least 1)'),
    tpm: z
      .number()
      .min(1)
      .max(LIMITS.perMinute)
      .optional()
      .describe('Tokens per minute evalroute paces this model to (prompt estimate + max output tokens, corrected by reported usage)'),
    adaptiveConcurrency: z
      .boolean()
      .optional()
      .describe('Halve calls in flight when the API keeps answering 429 (5 in a row, or a third of the last 40 attempts) and recover one slot per 10 successes; scattered 429s are only retried after their Retry-After, without holding a slot (default true)'),
    path: z.string().min(1).optional().describe('`recorded` provider: JSONL of recorded outputs, relative to the config file'),
    deployments: z
      .array(
        z.strictObject({
          model: z.string().min(1).describe('Model key of one deployment'),
          weight: z.number().positive().optional().describe('Share of traffic relative to the other deployments (default 1)'),
        }),
      )
      .min(1)
      .optional()
      .describe('`mixture` provider: load-balanced deployments; each case goes to one, picked by weight'),
  })
  .describe('One model the suite can call');


export const configSchema = z
  .strictObject({
    store: z
      .string()
      .min(1)
      .optional()
      .describe('Results database, relative to this file (default .evalroute/evalroute.db in the working folder)'),
    models: z
      .record(z.string().min(1), modelSchema)
      .optional()
      .describe('Models by key; routing files refer to these keys. Entries here override imported LiteLLM models'),
    litellm: z
      .strictObject({
        config: z.string().min(1).describe("A LiteLLM proxy config.yaml, relative to this file; its model_list is imported by model_name"),
        proxy: z.url().optional().describe('Call every imported model through this LiteLLM proxy (OpenAI-compatible) instead of directly'),
        apiKeyEnv: z.string().optional().describe('Environment variable holding the proxy key (default LITELLM_API_KEY)'),
        baseline: z
          .string()
          .min(1)
          .optional()
          .describe('Model key of the baseline when a LiteLLM config is the routing file (tiers come from its tags)'),
        route: z
          .string()
          .min(1)
          .optional()
          .describe('The model_name requests use, whose tagged deployments become tiers (default: the only tagged one)'),
        gate: gateSchema.optional().describe('Quality bar of every tier read from a LiteLLM config'),
      })
      .optional()
      .describe('Import models and prices from a LiteLLM proxy config, as it is'),
    judge: z
      .strictObject({ model: z.string().min(1).describe('Model key used by judge graders') })
      .optional()
      .describe('The model judge graders call'),
    routing: z.string().min(1).optional().describe('Routing file, relative to this file: a routing.yaml or a Portkey gateway config (JSON)'),
    baseline: z
      .string()
      .min(1)
      .optional()
      .describe('Baseline model key for routing files that name none (Portkey gateway configs)'),
    gate: gateSchema
      .optional()
      .describe('Quality bar of every tier of a routing file that sets none (Portkey gateway configs)'),
    gateway: z
      .strictObject({
        url: z.url().optional().describe('Base URL of the running gateway (OpenAI-compatible, e.g. http://127.0.0.1:8787/v1); run --through overrides it'),
        type: z
          .enum(['portkey', 'litellm', 'openai'])
          .optional()
          .describe('How the gateway takes case metadata and reports the model it used (default: portkey for a Portkey routing file, else openai)'),
        config: z.string().min(1).optional().describe('Portkey config sent in x-portkey-config, relative to this file (default: the routing file when it is one)'),
        model: z.string().min(1).optional().describe('Model name the requests ask the gateway for (default: the case\'s params.model, else the baseline model id)'),
        apiKeyEnv: envVarName('MY_API_KEY').optional().describe('Environment variable holding the gateway key, sent as a Bearer token'),
        concurrency: concurrency.optional().describe(`Requests to the gateway in flight (default 8, at most ${LIMITS.concurrency})`),
        timeoutMs: timeoutMs
          .optional()
          .describe(`Per-request timeout in milliseconds (default 60000, from ${LIMITS.minTimeoutMs} to ${LIMITS.maxTimeoutMs})`),
      })
      .optional()
      .describe('Gateway in the loop: run sends every case through this gateway and gates the tier that served it'),
  })
  .describe('evalroute.config.yaml');

// ───────────────────────────── routing.yaml ─────────────────────────────

export const tierSchema = z
  .strictObject({
    model: z.string().min(1).describe('Model key from the config'),
    gate: gateSchema.optional(),
  })
  .describe('A tier: a model and its quality bar');

export const conditionSchema = z
  .strictObject({
    task: stringOrList.optional().describe("Case's task equals this (or one of these)"),
    tags: stringOrList.optional().describe('Case has at least one of these tags'),
    metadata: z
      .record(z.string(), z.union([scalar, z.array(scalar).min(1, EMPTY_LIST)]))
      .optional()
      .describe('Every key must equal the value, or one of the values when a list is given'),
    match: z
      .string()
      .min(1)
      .optional()
      .describe('Regular expression over the rendered input, in RE2 syntax (linear time: no backreferences or lookaround); a leading (?i) makes it case-insensitive'),
    maxInputChars: z.int().nonnegative().optional().describe('Rendered input has at most this many characters'),
    minInputChars: z.int().nonnegative().optional().describe('Rendered input has at least this many characters'),
    maxInputTokens: z.int().nonnegative().optional().describe('Rendered input has at most this many tokens (o200k)'),
    minInputTokens: z.int().nonnegative().optional().describe('Rendered input has at least this many tokens (o200k)'),
    hasImage: z.boolean().optional().describe('The case attaches an image (true) or no image (false)'),
    hasPdf: z.boolean().optional().describe('The case attaches a PDF (true) or no PDF (false)'),
  })
  .describe('All given conditions must hold');

export const ruleSchema = z
  .strictObject({
    name: z.string().min(1).optional().describe('Rule name shown in reports (default rule-<position>)'),
    when: conditionSchema.optional().describe('Omit on the last rule: it is the default'),
    tier: z.string().min(1).describe('Tier the matching cases go to'),
  })
  .describe('Routing rule; the first match wins');

export const budgetSchema = z
  .strictObject({
    useCase: z.string().min(1),
    frontierTokensPerMonth: z.number().positive().optional(),
    usdPerMonth: z.number().positive().optional(),
    alertAt: z.number().gt(0).max(1).optional().describe('Fraction of the budget that raises an alert (default 0.7)'),
  })
  .describe('Monthly budget of a use case; give frontierTokensPerMonth or usdPerMonth');

export const routingSchema = z
  .strictObject({
    baseline: z.string().min(1).describe('Model key of the frontier baseline every tier is compared with'),
    gate: gateSchema.optional().describe("Defaults for every tier's gate; a tier's own gate: overrides them key by key"),
    tiers: z.record(z.string().min(1), tierSchema),
    rules: z.array(ruleSchema).min(1).describe('Ordered; first match wins; the last rule has no `when`'),
    budgets: z.array(budgetSchema).optional(),
  })
  .describe('routing.yaml');

// ───────────────────────────── suites ─────────────────────────────

export const graderSpecSchema = z
  .looseObject({
    type: z.string().min(1).describe('Registered grader type: exact, schema, judge, …'),
    name: z.string().min(1).optional().describe('Name in reports (default: the type)'),
    when: conditionSchema
      .pick({ task: true, tags: true, metadata: true })
      .optional()
      .describe('Grade only the cases that match (task, tags, metadata; all given must hold); default: every case'),
  })
  .describe('A grader; the other keys are its options');

export const suiteSchema = z
  .strictObject({
    name: z.string().min(1).optional().describe('Suite name (default: folder name)'),
    description: z.string().optional(),
    cases: z.string().min(1).optional().describe('Cases JSONL, relative to suite.yaml (default cases.jsonl)'),
    goldens: z
      .string()
      .min(1)
      .optional()
      .describe('Goldens JSONL, relative to suite.yaml (default ../../goldens/<name>.jsonl)'),
    prompt: z
      .strictObject({
        system: z.string().optional().describe('Handlebars template of the system message'),
        user: z.string().optional().describe('Handlebars template of the user message'),
      })
      .optional(),
    params: z.record(z.string(), z.unknown()).optional().describe("Merged over each model's params"),
    graders: z.array(graderSpecSchema).min(1),
  })
  .describe('suites/<name>/suite.yaml');

const attachmentList = z
  .array(z.string().min(1))
  .min(1)
  .describe('Images (PNG, JPEG, GIF, WebP) or PDFs: paths relative to the suite folder, or data: URLs');

export const chatMessageSchema = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
  attachments: attachmentList.optional(),
});

// Ids end up in tables, file names of reports, JUnit XML and terminal lines: any printable text is fine
// (spaces, quotes, any script), control characters (newlines, tabs, escapes) are not.
// eslint-disable-next-line no-control-regex
const caseId = z.string().min(1).regex(/^[^\u0000-\u001f\u007f-\u009f]+$/, 'must not contain control characters (newlines, tabs, escapes)');

export const caseSchema = z
  .strictObject({
    id: caseId,
    vars: z.record(z.string(), z.unknown()).optional().describe('Variables of the prompt template'),
    messages: z.array(chatMessageSchema).min(1).optional().describe('A ready conversation, used as is'),
    attachments: attachmentList.optional().describe('Files attached to the last user message after rendering'),
    task: z.string().min(1).optional(),
    tags: z.array(z.string()).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    params: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Request parameters of the production request (max_tokens, user, …): sent to every model, seen by gateway conditions on params.*'),
  })
  .describe('One line of cases.jsonl; exactly one of vars and messages');

export const goldenSchema = z
  .strictObject({
    id: caseId.describe('Id of the case this golden belongs to'),
    expected: z.unknown().optional().describe('Accepted value, list of accepted values, or JSON object'),
    reference: z.string().optional(),
    rubric: z.string().optional(),
    human: z
      .strictObject({
        pass: z.boolean().optional(),
        preference: z.enum(['candidate', 'baseline', 'tie']).optional(),
      })
      .optional(),
    status: z
      .enum(['approved', 'reviewed', 'unreviewed'])
      .optional()
      .describe('unreviewed: a draft nobody checked; reviewed: a person checked it, approve with golden approve --all-reviewed; approved: vouched for'),
    approvedBy: z.string().min(1).optional().describe('Who approved this golden (evalroute golden approve)'),
    approvedAt: z.string().min(1).optional().describe('When it was approved (ISO 8601)'),
  })
  .describe('One line of goldens/<name>.jsonl');

export type ConfigFile = z.infer<typeof configSchema>;
export type RoutingFile = z.infer<typeof routingSchema>;
export type SuiteFile = z.infer<typeof suiteSchema>;
export type CaseLine = z.infer<typeof caseSchema>;
export type GoldenLine = z.infer<typeof goldenSchema>;
