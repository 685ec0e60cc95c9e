/**
 * The shared vocabulary of evalroute. Every other folder imports from here; this file imports nothing.
 * Config loading produces these shapes (after zod validation and normalisation); providers, graders,
 * routing, the engine, stats, gate, store and reports consume them.
 */

// ───────────────────────────── Inputs: cases and goldens ─────────────────────────────

export type Role = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: Role;
  content: string;
  /** Images and PDFs sent with this message, before its text. Absent on text-only messages. */
  attachments?: Attachment[];
}

export type AttachmentKind = 'image' | 'pdf';

/** What identifies an attached file without its bytes: what the store and reports keep. */
export interface AttachmentRef {
  kind: AttachmentKind;
  /** Detected from the bytes (magic number), never from the file name. */
  mediaType: string;
  /** The path as the case wrote it (relative to the suite folder), or `data-url` for an inline one. */
  name: string;
  /** sha256 of the bytes, hex: the cache key and the store's row key. */
  sha256: string;
  bytes: number;
  /** Pixel size read from the image header, for token estimates. */
  width?: number;
  height?: number;
}

/** An attached file with its bytes. One Buffer per distinct file, shared by every case that attaches it. */
export interface Attachment extends AttachmentRef {
  data: Buffer;
}

/** Where a record came from, so every error can name the file and line. */
export interface Origin {
  file: string;
  line: number;
}

export interface Case {
  id: string;
  /** Template variables for the suite's Handlebars prompt (mutually exclusive with `messages`). */
  vars?: Record<string, unknown>;
  /** A ready conversation; used as is instead of the suite's prompt template. */
  messages?: ChatMessage[];
  /** Files attached to the last user message after rendering. */
  attachments?: Attachment[];
  task?: string;
  tags?: string[];
  metadata?: Record<string, unknown>;
  /** Request parameters the case's production request carried (max_tokens, user, …): sent to every model and seen by gateway conditions on `params.*`. */
  params?: Record<string, unknown>;
  origin: Origin;
}

/** unreviewed: a draft (e.g. a logged output); reviewed: a person checked it but it is not approved yet. */
export type GoldenStatus = 'approved' | 'reviewed' | 'unreviewed';

export interface Golden {
  id: string;
  /** What a correct output is: one accepted value, a list of accepted values, or a JSON object. */
  expected?: unknown;
  /** A reference answer for judges. */
  reference?: string;
  rubric?: string;
  /** A human verdict used to calibrate judges. */
  human?: { pass?: boolean; preference?: 'candidate' | 'baseline' | 'tie' };
  status?: GoldenStatus;
  origin: Origin;
}

// ───────────────────────────── Models and providers ─────────────────────────────

export interface Price {
  /** USD per 1M input tokens. */
  input: number;
  /** USD per 1M output tokens. */
  output: number;
  /** USD per 1M cached input tokens, where the provider discounts them. */
  cachedInput?: number;
}

export interface ModelConfig {
  /** The key the config file uses for this model (e.g. `flash`). */
  key: string;
  /** Registered provider type: `openai`, `anthropic`, `recorded`, … */
  provider: string;
  /** The provider's model id (e.g. `gpt-4.1`). For `recorded`, a display name. */
  model: string;
  baseURL?: string;
  /** Environment variable holding the base URL (a LiteLLM `api_base: os.environ/NAME`), read when the provider is built. */
  baseURLEnv?: string;
  /** Azure OpenAI API version (provider `azure`). */
  apiVersion?: string;
  /** Name of the environment variable holding the API key. Never the key itself. */
  apiKeyEnv?: string;
  /** Request parameters passed to the API (temperature, max_tokens, seed, …). */
  params: Record<string, unknown>;
  price?: Price;
  /** Max calls in flight for this model. */
  concurrency: number;
  timeoutMs: number;
  maxRetries: number;
  /** Requests per minute the engine paces this model to (client-side token bucket). */
  rpm?: number;
  /** Tokens per minute (prompt estimate + max output, corrected by the usage the API reports). */
  tpm?: number;
  /** Halve calls in flight on repeated 429s and recover gradually. Default true. */
  adaptiveConcurrency?: boolean;
  /**
   * Provider `mixture` (a gateway's load-balanced model): the deployments and their traffic weights. Each
   * case is served by one deployment, picked by weight from the case id, so the mixture is evaluated and
   * costed in the proportions the gateway sends traffic.
   */
  deployments?: { weight: number; model: ModelConfig }[];
  /** `recorded` provider: JSONL file of recorded outputs, absolute path. */
  path?: string;
}

export interface CompletionRequest {
  caseId: string;
  /** Fully rendered conversation, system message first when there is one. */
  messages: ChatMessage[];
  /** Model params merged over the model's defaults. */
  params: Record<string, unknown>;
  /** Repeat index (0 for the first sample); part of the cache key. */
  repeat: number;
}

export interface TokenUsage {
  input: number;
  output: number;
  cachedInput?: number;
  /** True when the figures come from a tokenizer estimate, not the API. */
  estimated?: boolean;
}

export interface Completion {
  text: string;
  usage: TokenUsage;
  latencyMs: number;
  /** Filled by the engine from the model's price; absent when the model is unpriced. */
  costUsd?: number;
  /** The provider's request/response id, for support tickets and error messages. */
  requestId?: string;
  /** The model id the API says answered. */
  model?: string;
  /** Attempts the call took (1 = first try succeeded). */
  attempts?: number;
  /** True when the completion was served from the response cache. */
  cached?: boolean;
}

/**
 * One configured model, ready to answer. Implementations throw `ProviderError` on failure and must
 * honour `signal` (abort = stop waiting, throw `ProviderError` kind `aborted`).
 */
export interface Provider {
  /** The model key from the config. */
  readonly key: string;
  /**
   * Stable identity for the response cache: provider type, model id, base URL and default params.
   * Two providers with the same identity give interchangeable answers.
   */
  readonly identity: string;
  complete(req: CompletionRequest, signal: AbortSignal): Promise<Completion>;
}

export interface ProviderContext {
  /** Environment to read API keys from (the CLI passes process.env; tests pass their own). */
  env: Record<string, string | undefined>;
}

export type ProviderFactory = (model: ModelConfig, ctx: ProviderContext) => Provider;

// ───────────────────────────── Grading ─────────────────────────────

export interface Grade {
  /** Grader name as configured (defaults to its type). */
  grader: string;
  /** 0..1 */
  score: number;
  pass: boolean;
  explanation?: string;
  /** Set when the grader could not decide (e.g. judge error); such a grade never counts as a pass. */
  error?: string;
  /** Calls a judge grader made for this grade; their cost belongs to the judge, never to the tier. */
  judgeUsage?: { calls: number; inputTokens: number; outputTokens: number; costUsd?: number };
}

export interface GradeContext {
  golden?: Golden;
  /** The baseline model's completion for the same case (pairwise judging). */
  baseline?: Completion;
  /** The request that produced the output being graded. */
  request: CompletionRequest;
  /** The judge model, when the suite configures one. Graders never construct providers. */
  judge?: Provider;
  signal: AbortSignal;
}

export interface Grader {
  readonly name: string;
  /** True when the grader cannot work without a golden for the case. */
  readonly needsGolden: boolean;
  /** True when grading a tier model's output needs the baseline's output for the same case (pairwise). */
  readonly needsBaseline?: boolean;
  grade(c: Case, output: Completion, ctx: GradeContext): Promise<Grade>;
  /** Set when suite.yaml gives the grader a `when:`: the cases it grades (others get no grade from it). */
  readonly appliesTo?: (c: Case) => boolean;
}

/** A grader entry of suite.yaml: `type` picks the registered factory, the rest is its options. */
export interface GraderSpec {
  type: string;
  name?: string;
  /** Grade only the cases that match (task, tags, metadata); absent = every case. */
  when?: CaseCondition;
  [option: string]: unknown;
}

/**
 * Vets a file a suite or config names before it is read or imported (config/files.ts: inside the
 * project, a regular file, not too large); throws a ConfigError at `where`.
 */
export type FileCheck = (file: string, what: string, where: { file: string; path?: string }) => void;

export interface GraderFactoryContext {
  /** Absolute folder of the suite, for graders that load files (schemas, modules). */
  suiteDir: string;
  /** Where the spec sits, for errors. */
  location: { file: string; path: string };
  /** Run on every file the spec names before it is read; absent, files are read as named. */
  checkFile?: FileCheck;
}

export type GraderFactory = (spec: GraderSpec, ctx: GraderFactoryContext) => Grader;

// ───────────────────────────── Suite, config, routing ─────────────────────────────

export interface PromptTemplate {
  system?: string;
  user?: string;
}

export interface Suite {
  name: string;
  /** Absolute folder of the suite. */
  dir: string;
  /** Absolute path of suite.yaml. */
  file: string;
  description?: string;
  prompt: PromptTemplate;
  graders: GraderSpec[];
  /** Params merged over every model's params for this suite (e.g. max_tokens). */
  params: Record<string, unknown>;
  cases: Case[];
  goldens: Map<string, Golden>;
  casesFile: string;
  goldensFile?: string;
  /** Vets the files graders name (schemas, templates, modules) as the suite's own files were. */
  checkFile?: FileCheck;
}

export type GateRule = 'point' | 'noninferiority' | 'significant';

/** What a tier's verdict (or the whole gate) concludes: shown to hold, shown to fail, or not decided. */
export type Outcome = 'pass' | 'fail' | 'inconclusive';

/** What an inconclusive tier does to the gate: block it (exit 4) or only warn. */
export type InconclusivePolicy = 'fail' | 'warn';

export interface GateThresholds {
  /** Absolute floor for the tier's pass rate (0..1). */
  minPassRate?: number;
  /** Largest tolerated drop of pass rate vs the baseline on the same cases (0..1). */
  maxRegression?: number;
  rule?: GateRule;
  /** Confidence level of intervals, default 0.95. */
  confidence?: number;
  /** An inconclusive tier blocks the gate (`fail`, default: exit 4) or only warns (`warn`). */
  onInconclusive?: InconclusivePolicy;
}

export interface TierConfig {
  name: string;
  model: string;
  gate: GateThresholds;
}

/** Conditions on a case's own fields, for routing rules and for graders chosen per case (`when:`). */
export interface CaseCondition {
  /** The case's task is one of these. */
  task?: string[];
  /** The case has at least one of these tags. */
  tags?: string[];
  /** Each key must equal the value, or one of the values when a list is given. */
  metadata?: Record<string, unknown>;
}

export interface RuleCondition extends CaseCondition {
  /** Regular expression tested against the rendered input text. */
  match?: string;
  maxInputChars?: number;
  minInputChars?: number;
  maxInputTokens?: number;
  minInputTokens?: number;
  /** The case attaches at least one image (true) or none (false). */
  hasImage?: boolean;
  /** The case attaches at least one PDF (true) or none (false). */
  hasPdf?: boolean;
}

export interface RoutingRule {
  name: string;
  when?: RuleCondition;
  tier: string;
}

export interface Budget {
  useCase: string;
  frontierTokensPerMonth?: number;
  usdPerMonth?: number;
  alertAt: number;
}

export interface Routing {
  /** Absolute path of the routing file. */
  file: string;
  /** Raw content, stored with each run so a verdict can always be traced to the exact rules. */
  content: string;
  /** sha256 of content, hex. */
  hash: string;
  /** Model key of the frontier baseline every tier is compared with. */
  baseline: string;
  tiers: Map<string, TierConfig>;
  rules: RoutingRule[];
  budgets: Budget[];
  /** Set when the routing file is a Portkey gateway config: its target tree decides instead of `rules` (empty then). */
  portkey?: PortkeyTarget;
}

/** Portkey's routing strategies; a node without one is a leaf that calls a provider. */
export type PortkeyMode = 'conditional' | 'fallback' | 'loadbalance' | 'single';

/** A Portkey condition as the config writes it: `query` is Portkey's query object, kept as is. */
export interface PortkeyCondition {
  query: Record<string, unknown>;
  then: string;
}

/** One node of a Portkey config's target tree. */
export interface PortkeyTarget {
  /** What the gateway reports in `x-portkey-last-used-option-index`, e.g. `config.targets[2].targets[0]`. */
  path: string;
  name?: string;
  /** Loadbalance weight (the gateway's default is 1). */
  weight: number;
  mode?: PortkeyMode;
  conditions?: PortkeyCondition[];
  default?: string;
  targets?: PortkeyTarget[];
  /** Leaves only: the tier (and so the model) this target serves. */
  tier?: string;
}

export interface EvalConfig {
  /** Absolute path of evalroute.config.yaml. */
  file: string;
  content: string;
  models: Map<string, ModelConfig>;
  judge?: { model: string };
  /** Absolute path of the results database. */
  store: string;
  /** Absolute path of the routing file named by the config, if any. */
  routing?: string;
  /** One line each: what an imported gateway config holds that evalroute skipped or ignored. */
  warnings?: string[];
  /** Imported models evalroute cannot call, by key, and why; naming one in a routing file is an error with this reason. */
  unavailable?: ReadonlyMap<string, string>;
  /** A model the gateway would serve under this key though no entry names it (LiteLLM wildcards). */
  resolveModel?: (key: string) => ModelConfig | undefined;
  /** The `litellm:` block, for reading a LiteLLM config as the routing file. */
  litellm?: { config: string; proxy?: string; apiKeyEnv?: string; baseline?: string; route?: string; gate?: GateThresholds };
  /** Baseline model key for routing files that name none (Portkey gateway configs). */
  baseline?: string;
  /** Quality bar of the tiers of routing files that set none (Portkey gateway configs). */
  gate?: GateThresholds;
  /** The running gateway `run` sends cases through (`gateway:`; `run --through` sets or overrides its url). */
  gateway?: GatewayConfig;
}

/** How a gateway takes case metadata and reports the model that served a request. */
export type GatewayKind = 'portkey' | 'litellm' | 'openai';

export interface GatewayConfig {
  /** OpenAI-compatible base URL (…/v1); absent until `--through` gives one. */
  url?: string;
  type?: GatewayKind;
  /** Absolute path of the Portkey config sent in `x-portkey-config`. */
  config?: string;
  /** Model name the requests ask for. */
  model?: string;
  apiKeyEnv?: string;
  concurrency?: number;
  timeoutMs?: number;
}

// ───────────────────────────── Results ─────────────────────────────

export interface CallError {
  kind: string;
  message: string;
  requestId?: string;
  status?: number;
  /** Attempts made before giving up (1 = failed without a retry). */
  attempts?: number;
  /** The endpoint called (credentials removed); not stored, the message names it too. */
  url?: string;
}

/** One (case, model, repeat) call and its grades. */
export interface CallOutcome {
  caseId: string;
  modelKey: string;
  repeat: number;
  /** sha256 of (provider identity, messages, params, repeat): the response-cache key. */
  requestHash: string;
  completion?: Completion;
  error?: CallError;
  grades: Grade[];
  /** True only when the call succeeded and every grader passed. */
  pass: boolean;
  /** Mean grader score, 0 when the call errored. */
  score: number;
}

/** A case as the gate sees it: its tier, the baseline outcome and the tier model's outcome. */
export interface CaseResult {
  caseId: string;
  tier: string;
  baseline: CallOutcome;
  /** Same object as `baseline` when the tier's model is the baseline model. */
  candidate: CallOutcome;
  /** Every sample when the run repeats calls (`--repeat N`); `baseline`/`candidate` are then sample 0. */
  repeats?: { baseline: CallOutcome[]; candidate: CallOutcome[] };
}

/**
 * How several samples of one (case, model) enter the gate: every call counts (`per-call`, the default:
 * the pass rate users will see in production), or one verdict per case from most of them, any of them,
 * or all of them.
 */
export type RepeatPolicy = 'per-call' | 'majority' | 'pass@k' | 'pass^k';

/** A (case, model) whose outcome flipped across repeated samples. */
export interface FlakyCase {
  caseId: string;
  model: string;
  passes: number;
  samples: number;
  /** Share of samples that disagree with the majority (0..0.5). */
  flipRate: number;
}

export interface TierVerdict {
  tier: string;
  model: string;
  baselineModel: string;
  cases: number;
  passRate: number;
  baselinePassRate: number;
  delta: number;
  /** Calls of this tier's model that errored: their cases are left out of the comparison, never failed. */
  errors: number;
  /** What the data show: `pass` only when the tier is shown to hold (`pass` below is `outcome === 'pass'`). */
  outcome: Outcome;
  pass: boolean;
  /** One line naming the outcome and what it rests on, e.g. "PASS — at worst −3.1 pts at 95% confidence, margin 5". */
  headline: string;
  /** Which rule decided, the interval, and any warnings; every verdict explains itself. */
  reasons: string[];
  /**
   * Set when the data cannot decide this tier at all (shown as NOT DECIDED): every call errored, the run
   * stopped before it was complete, or the tier's results are missing from the stored summary.
   */
  undecided?: 'all-errored' | 'run-incomplete' | 'not-in-summary';
  /** Cases in the paired comparison: routed cases minus those with an errored call or grade on either side. */
  compared?: number;
  /** Cases left out because a judge (or another grader) could not give a verdict, on either side. */
  gradeErrors?: number;
  /** What an inconclusive outcome does to the gate (from the tier's or the routing file's gate). */
  onInconclusive?: InconclusivePolicy;
  /**
   * For a tier that is not decided: total cases (routed to this tier, error-free) that would decide it
   * with 80% power, at the observed delta and discordance (null when the observed delta sits exactly on
   * the margin) and if the two models were truly equal.
   */
  casesNeeded?: { atObservedDelta: number | null; atZeroDelta: number; power: number };
  /** Confidence interval of delta (paired). */
  ci?: [number, number];
  /** The confidence level of `ci` (the tier's `gate.confidence`); summaries stored before it was kept used 0.95. */
  confidence?: number;
  pValue?: number;
  rule?: GateRule;
  flaky?: number;
  costPer1k?: number | null;
  baselineCostPer1k?: number | null;
  savings?: number | null;
  /** `run --sequential`: the look that decided this tier and the cases it used. */
  sequential?: SequentialLook;
}

/** Where a tier of a sequential run was decided: at `look` of `looks`, on `casesUsed` of `casesRouted`. */
export interface SequentialLook {
  look: number;
  looks: number;
  casesUsed: number;
  casesRouted: number;
}

/**
 * The design of a sequential run (`run --sequential`), stored in its summary so that its verdicts can be
 * replayed from the stored results and a resume continues the same looks.
 */
export interface SequentialDesign {
  looks: number;
  /** One-sided error of each claim at the margin. */
  alpha: number;
  /** Seed of the per-tier case order. */
  seed: number;
  passBoundary: 'obrien-fleming' | 'pocock' | 'lan-demets-obf';
  failBoundary: 'obrien-fleming' | 'pocock' | 'lan-demets-obf';
  /** Critical values (Z scale) per look, and the two-sided interval levels they correspond to. */
  passZ: number[];
  failZ: number[];
  passConfidence: number[];
  failConfidence: number[];
}

export interface ModelUsage {
  model: string;
  calls: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  /** null when the model has no price ("unpriced", never counted as free). */
  costUsd: number | null;
  /** True when some of the token counts come from a tokenizer estimate, not the API. */
  estimatedTokens?: boolean;
}

/** Traffic projection of a routing file at a monthly request volume (`--monthly-requests`). */
export interface CostProjection {
  monthlyRequests: number;
  routedUsdPerMonth: number | null;
  allFrontierUsdPerMonth: number | null;
  savedUsdPerMonth: number | null;
  /** Use case = case `metadata.useCase`, else `task`, else `default`; its share of traffic is its share of the suite. */
  useCases: UseCaseProjection[];
}

export interface UseCaseProjection {
  useCase: string;
  cases: number;
  requestsPerMonth: number;
  /** Input + output tokens per month of the requests that stay on the baseline (frontier) model. */
  frontierTokensPerMonth: number;
  /** Routed cost per month of this use case; null when a model it uses is unpriced. */
  usdPerMonth: number | null;
}

/** Cost of the run's routing vs sending every case to the baseline, at the configured prices. */
export interface CostSummary {
  cases: number;
  /** Σ over cases of the tier model's call cost. */
  routedUsd: number | null;
  /** Σ over cases of the baseline model's call cost. */
  allFrontierUsd: number | null;
  savedUsd: number | null;
  /** 1 − routed / all-frontier; null when unpriced. */
  savings: number | null;
  routedPer1k: number | null;
  allFrontierPer1k: number | null;
  /** Models without a price: any of them makes the totals it enters null (never free). */
  unpricedModels: string[];
  /** True when some figures rest on tokenizer estimates. */
  estimatedTokens: boolean;
  /** Models priced from the bundled price table: entry name and the date its figures apply to. */
  tablePrices?: { model: string; table: string; asOf: string }[];
  /** Judge calls made while grading: evaluation cost, never part of the routed cost. */
  judge?: { model?: string; calls: number; inputTokens: number; outputTokens: number; costUsd: number | null };
  projection?: CostProjection;
}

export type BudgetState = 'ok' | 'warn' | 'fail' | 'not-evaluated';

export interface BudgetStatus {
  useCase: string;
  metric: 'frontierTokensPerMonth' | 'usdPerMonth';
  limit: number;
  /** Projected monthly figure; null when not evaluated. */
  projected: number | null;
  /** projected / limit; null when not evaluated. */
  used: number | null;
  alertAt: number;
  status: BudgetState;
  /** One line for reports: what was measured against what, or why it was not evaluated. */
  message: string;
}

export type RunStatus = 'running' | 'complete' | 'incomplete' | 'interrupted';

/** The `--json` document. Keep existing fields stable; later features add fields. */
export interface RunSummary {
  runId: string;
  suite: string;
  status: RunStatus;
  /** The gate's conclusion: fail if a tier failed (or a budget is over), inconclusive if a blocking tier is not decided. */
  outcome?: Outcome;
  pass: boolean;
  tiers: TierVerdict[];
  models: ModelUsage[];
  cost?: CostSummary;
  /** Budgets of the routing file; any `fail` fails the gate. */
  budgets?: BudgetStatus[];
  /** `asOf` date of the bundled price table, when some model's price comes from it. */
  priceTableDate?: string;
  /** Errored calls grouped by kind and model, most frequent first; absent when none errored. */
  errors?: RunErrorGroup[];
  /** `--max-cost`: the cap, what the run spent, and the calls left unmade because of it. */
  costCap?: { capUsd: number; spentUsd: number; notAttempted: number };
  /** With `--repeat N`: samples per (case, model), the per-case policy, and the cases that flipped. */
  repeats?: { samples: number; policy: RepeatPolicy; flaky: FlakyCase[] };
  /** `run --sequential`: the looks and boundaries the tiers were decided with. */
  sequential?: SequentialDesign;
  /** Run-level caveats the verdict rests on (e.g. gating on the cases the routing file was chosen on). */
  warnings?: string[];
}

export interface RunErrorGroup {
  kind: string;
  model: string;
  count: number;
  /** One message of the group (redacted), to show what went wrong. */
  example?: string;
  /** HTTP status and endpoint (credentials removed) of that example, when known. */
  status?: number;
  url?: string;
}

// ───────────────────────────── Store ─────────────────────────────

export interface NewRun {
  suite: string;
  suiteDir: string;
  configContent: string;
  routingFile: string;
  routingContent: string;
  routingHash: string;
  gitCommit?: string;
  cases: Case[];
  /** caseId → tier, as routed for this run. */
  assignment: Map<string, string>;
  baseline: string;
  /** Goldens of the suite, stored beside each case so reports can show the expectation later. */
  goldens?: Map<string, Golden>;
  /** caseId → rendered conversation, stored so reports can show exactly what the models saw. */
  inputs?: Map<string, ChatMessage[]>;
  /** JSON of what decides the run's results (api/fingerprint.ts); a resume must find the same. */
  fingerprint?: string;
}

export interface RunRecord {
  id: string;
  suite: string;
  suiteDir: string;
  status: RunStatus;
  startedAt: string;
  finishedAt?: string;
  configContent: string;
  routingFile: string;
  routingContent: string;
  routingHash: string;
  gitCommit?: string;
  baseline: string;
  summary?: RunSummary;
  /** See NewRun.fingerprint; absent on runs stored before fingerprints existed. */
  fingerprint?: string;
}

/** Who is making a run's calls: one process at a time, so two resumes never pay for the same calls. */
export interface RunLockHolder {
  pid: number;
  host: string;
  startedAt: string;
}

export interface StoredCase {
  caseId: string;
  tier: string;
  case: Omit<Case, 'origin'>;
  golden?: Omit<Golden, 'origin'>;
  input?: ChatMessage[];
}

/** Persistence of runs, calls and grades. Writes are durable as soon as the method returns. */
export interface Store {
  beginRun(run: NewRun): string;
  /** A successful completion for this request hash from any earlier run, for the response cache. */
  findCachedCompletion(requestHash: string): Completion | undefined;
  /** Keep a successful call that belongs to no case row (a judge call) for the response cache. */
  cacheCompletion(requestHash: string, completion: Completion): void;
  /** Persist one call with its grades atomically. Saving the same (run, case, model, repeat) twice replaces it. */
  saveCall(runId: string, outcome: CallOutcome): void;
  /** Persist several calls in one transaction: all of them or, on an error, none. */
  saveCalls(runId: string, outcomes: readonly CallOutcome[]): void;
  finishRun(runId: string, status: RunStatus, summary: RunSummary): void;
  listRuns(limit?: number): RunRecord[];
  getRun(runId: string): RunRecord | undefined;
  getCases(runId: string): StoredCase[];
  getCalls(runId: string): CallOutcome[];
  /** Record a submitted provider batch of this run at once, so a crash or `--no-wait` can collect it. */
  saveBatch(runId: string, batch: StoredBatch): void;
  getBatches(runId: string): StoredBatch[];
  markBatchCollected(runId: string, batchId: string): void;
  /**
   * Take the run's lock for this process. A lock of a dead process on this host is taken over; a live
   * holder (or one on another host) makes this throw a StoreError naming it.
   */
  lockRun(runId: string): void;
  /** Release this process's lock of the run (no-op when it holds none). */
  unlockRun(runId: string): void;
  close(): void;
}

/** A provider batch submitted for a run (`run --batch`); `items` map custom ids back to calls. */
export interface StoredBatch {
  modelKey: string;
  provider: string;
  batchId: string;
  status: 'submitted' | 'collected';
  items: Array<{ customId: string; caseId: string; repeat: number; requestHash: string }>;
  submittedAt?: string;
  collectedAt?: string;
}
