#!/usr/bin/env node
/**
 * Deterministic synthetic production logs for `evalroute audit` and `evalroute suite sample`: the same
 * seed always gives the same bytes. Lines mix the three formats evalroute reads (OpenAI Chat
 * Completions pairs, Anthropic Messages pairs, the generic form), several use cases with realistic
 * token sizes, some PII (e-mails, phones, Luhn-valid card numbers, IBANs), near-duplicates (the same
 * request with other digits, case or spacing) and, optionally, malformed lines.
 *
 *   node scripts/generate-logs.mjs --lines 1000000 --out /tmp/logs.jsonl.gz [--seed 7] [--malformed 0.001] [--days 90]
 *
 * Gzip when --gzip is given or --out ends in .gz. Importable: generateLogLines(opts), writeLogs(opts).
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { createGzip } from 'node:zlib';

function mulberry32(seed) {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Log-normal around `median` with spread `sigma`, as token counts of real traffic are. */
const lognormal = (rng, median, sigma) => {
  const u = Math.max(rng(), 1e-12);
  const v = rng();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return Math.max(1, Math.round(median * Math.exp(sigma * z)));
};

const pick = (rng, list) => list[Math.floor(rng() * list.length)];
const digits = (rng, n) => Array.from({ length: n }, () => Math.floor(rng() * 10)).join('');

function luhnComplete(partial) {
  let sum = 0;
  for (let i = 0; i < partial.length; i++) {
    let d = Number(partial[partial.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return partial + ((10 - (sum % 10)) % 10);
}

function ibanOf(rng) {
  const bban = digits(rng, 18);
  // ISO 13616 check digits for a German-style IBAN: DE00 + BBAN, rearranged, mod 97.
  const rearranged = `${bban}1314` + '00';
  let rem = 0;
  for (const ch of rearranged) rem = (rem * 10 + Number(ch)) % 97;
  const check = String(98 - rem).padStart(2, '0');
  return `DE${check}${bban}`.replace(/(.{4})/g, '$1 ').trim();
}

const FIRST = ['Alice', 'Bob', 'Chen', 'Dana', 'Emeka', 'Farah', 'Gustav', 'Hana', 'Ivan', 'Julia'];
const DOMAINS = ['example.com', 'mail.example.org', 'corp.example.net'];
const PRODUCTS = ['wireless earbuds', 'standing desk', 'espresso machine', 'running shoes', 'laptop sleeve', 'smart thermostat'];
const PII = {
  email: (rng) => `${pick(rng, FIRST).toLowerCase()}.${digits(rng, 3)}@${pick(rng, DOMAINS)}`,
  phone: (rng) =>
    pick(rng, [
      () => `(${digits(rng, 3).replace(/^0/, '4')}) 555-${digits(rng, 4)}`,
      () => `+44 20 ${digits(rng, 4)} ${digits(rng, 4)}`,
      () => `${digits(rng, 3).replace(/^0/, '6')}-555-${digits(rng, 4)}`,
      () => `+49 30 ${digits(rng, 7)}`,
    ])(),
  card: (rng) => luhnComplete(`4${digits(rng, 14)}`).replace(/(\d{4})(?=\d)/g, '$1 '),
  iban: (rng) => ibanOf(rng),
};

const SENTENCES = [
  'The quarterly results showed revenue growth of 12 percent driven by subscriptions.',
  'Customer churn decreased after the onboarding flow was simplified.',
  'The engineering team migrated the billing service to a new database cluster.',
  'Support tickets about delayed shipping doubled during the holiday period.',
  'A new pricing tier for small businesses launched in three regions.',
  'The security audit found no critical issues but recommended key rotation.',
  'Marketing spend shifted from paid search to partnerships and events.',
  'Latency of the checkout API dropped by forty milliseconds at the 99th percentile.',
];

const USE_CASES = [
  {
    name: 'support',
    weight: 35,
    system: 'You are a friendly customer support assistant for an online store. Be concise and polite.',
    user: (rng) => {
      const product = pick(rng, PRODUCTS);
      const order = digits(rng, 6);
      const base = pick(rng, [
        `Hi, my order #${order} for the ${product} hasn't arrived yet. It was supposed to come ${2 + Math.floor(rng() * 9)} days ago. Can you check?`,
        `I want to return the ${product} I bought last week (order ${order}). How do I get a refund?`,
        `The ${product} stopped working after ${1 + Math.floor(rng() * 30)} days. Is it covered by warranty?`,
        `Can I change the delivery address for order ${order}? I moved recently.`,
      ]);
      const r = rng();
      if (r < 0.15) return `${base} You can reach me at ${PII.email(rng)}.`;
      if (r < 0.25) return `${base} Call me back on ${PII.phone(rng)} please.`;
      if (r < 0.3) return `${base} I paid with card ${PII.card(rng)}.`;
      return base;
    },
    output: () => 'Thanks for reaching out! I have checked your order and will help you with the next steps.',
    inTokens: [180, 0.5],
    outTokens: [120, 0.5],
    turns: 0.25,
  },
  {
    name: 'classification',
    weight: 20,
    task: 'classification',
    system: 'Classify the customer message into one of: billing, shipping, returns, technical, other. Answer with the label only.',
    user: (rng) =>
      `${pick(rng, ['', 'Hello, ', 'Hi team, ', 'Urgent: ', 'Quick question: '])}${pick(rng, [
        `I was charged twice for the ${pick(rng, PRODUCTS)} (order ${digits(rng, 5)})`,
        `Where is my ${pick(rng, PRODUCTS)}? Tracking ${digits(rng, 10)} shows nothing`,
        `How do I reset my password on the ${pick(rng, ['app', 'website', 'tablet app', 'desktop client'])}?`,
        `Refund for the ${pick(rng, PRODUCTS)} please, it arrived ${pick(rng, ['broken', 'late', 'in the wrong colour', 'without a charger'])}`,
        `The ${pick(rng, PRODUCTS)} ${pick(rng, ['does not turn on', 'makes a noise', 'keeps disconnecting'])}`,
      ])}`,
    output: (rng) => pick(rng, ['billing', 'shipping', 'technical', 'returns']),
    inTokens: [90, 0.3],
    outTokens: [2, 0.3],
  },
  {
    name: 'extraction',
    weight: 15,
    task: 'extraction',
    structured: true,
    system: 'Extract the fields name, email, phone and iban from the message. Respond with a JSON object only.',
    user: (rng) => `New supplier registration: ${pick(rng, FIRST)} ${pick(rng, ['Smith', 'Ng', 'Okafor', 'Müller'])}, email ${PII.email(rng)}, phone ${PII.phone(rng)}, bank account ${PII.iban(rng)}.`,
    output: (rng, user) => {
      const email = /\S+@\S+\.[a-z]+/.exec(user)?.[0] ?? null;
      return JSON.stringify({ name: user.split(': ')[1]?.split(',')[0] ?? null, email, phone: /phone ([^,]+)/.exec(user)?.[1] ?? null, iban: /account ([^.]+)/.exec(user)?.[1] ?? null });
    },
    inTokens: [160, 0.3],
    outTokens: [60, 0.3],
  },
  {
    name: 'summarisation',
    weight: 12,
    system: 'Summarise the document in three bullet points.',
    user: (rng) => {
      const n = 4 + Math.floor(rng() * 14);
      return `Summarize the following report:\n\n${Array.from({ length: n }, () => pick(rng, SENTENCES)).join(' ')}`;
    },
    output: () => '- Revenue grew on subscriptions\n- Churn fell after onboarding changes\n- Infrastructure and pricing changes landed',
    inTokens: [1800, 0.7],
    outTokens: [150, 0.4],
  },
  {
    name: 'coding',
    weight: 10,
    system: 'You are an expert software engineer.',
    user: (rng) => {
      const field = pick(rng, ['price', 'quantity', 'weight', 'discount', 'tax']);
      const country = pick(rng, ['DE', 'FR', 'US', 'JP', 'BR']);
      return pick(rng, [
        () => `Why does this function return undefined?\n\`\`\`js\nfunction total(items) {\n  items.reduce((s, i) => s + i.${field}, 0);\n}\n\`\`\``,
        () => `Write a ${pick(rng, ['Python', 'TypeScript', 'Go', 'Rust'])} function that ${pick(rng, ['parses ISO dates and returns the weekday', 'deduplicates a list keeping order', 'validates an e-mail address', 'merges two sorted arrays'])}. Explain step by step.`,
        () => `Refactor this SQL to avoid the subquery:\n\`\`\`sql\nSELECT * FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE country = '${country}') ORDER BY ${field};\n\`\`\``,
        () => `Analyze the time complexity of ${pick(rng, ['merge sort', 'quicksort', 'binary search', 'heap insertion', 'Dijkstra with a binary heap'])} and prove the bound.`,
      ])();
    },
    output: () => 'The function never returns the value of reduce. Add a return statement:\n```js\nreturn items.reduce((s, i) => s + i.price, 0);\n```',
    inTokens: [700, 0.8],
    outTokens: [450, 0.6],
    turns: 0.35,
    tools: 0.3,
  },
  {
    name: 'analysis',
    weight: 5,
    system: 'You are a careful financial analyst.',
    user: (rng) => `Analyze the trade-offs between ${pick(rng, ['leasing and buying', 'monthly and annual billing', 'hiring and outsourcing'])} for a company with ${10 + Math.floor(rng() * 500)} employees. Think step by step.`,
    output: () => 'Step 1: compare the cash flows. Step 2: weigh flexibility against total cost. Conclusion: it depends on growth.',
    inTokens: [2500, 0.6],
    outTokens: [700, 0.5],
  },
  {
    name: 'translation',
    weight: 3,
    system: 'Translate the text into German.',
    user: (rng) => pick(rng, SENTENCES),
    output: () => 'Die Quartalsergebnisse zeigten ein Umsatzwachstum.',
    inTokens: [80, 0.3],
    outTokens: [70, 0.3],
  },
];
const TOTAL_WEIGHT = USE_CASES.reduce((s, u) => s + u.weight, 0);

const MODELS = [
  { id: 'gpt-4.1-2025-04-14', provider: 'openai', weight: 30 },
  { id: 'gpt-4.1-mini-2025-04-14', provider: 'openai', weight: 30 },
  { id: 'claude-sonnet-4-5', provider: 'anthropic', weight: 25 },
  { id: 'claude-haiku-4-5', provider: 'anthropic', weight: 10 },
  { id: 'llama-3.1-8b-instruct', provider: 'generic', weight: 5 },
];
const MODEL_WEIGHT = MODELS.reduce((s, m) => s + m.weight, 0);

function weighted(rng, list, total) {
  let x = rng() * total;
  for (const item of list) {
    x -= item.weight;
    if (x < 0) return item;
  }
  return list[list.length - 1];
}

/** A near-duplicate: same request with other digits, casing or spacing. */
function perturb(rng, text) {
  const r = rng();
  if (r < 0.4) return text.replace(/\d/g, () => String(Math.floor(rng() * 10)));
  if (r < 0.7) return text.toLowerCase();
  return text.replace(/ /g, () => (rng() < 0.1 ? '  ' : ' '));
}

function malformedLine(rng, i) {
  const kind = Math.floor(rng() * 3);
  if (kind === 0) return `{"request": {"model": "gpt-4.1", "messages": [{"role": "user", "content": "truncated line ${i}`;
  if (kind === 1) return JSON.stringify({ event: 'healthcheck', ok: true, n: i });
  return 'not json at all';
}

/**
 * Yields `lines` log lines (strings without newline). Options: seed (default 1), malformedRate (0),
 * duplicateRate (0.1), start (ISO date, default 2025-01-01), days (default 90).
 */
export function* generateLogLines(opts = {}) {
  const lines = opts.lines ?? 1000;
  const rng = mulberry32(opts.seed ?? 1);
  const malformedRate = opts.malformedRate ?? 0;
  const duplicateRate = opts.duplicateRate ?? 0.1;
  const start = Date.parse(opts.start ?? '2025-01-01T00:00:00Z');
  const spanMs = (opts.days ?? 90) * 86_400_000;
  const recent = [];
  for (let i = 0; i < lines; i++) {
    if (malformedRate > 0 && rng() < malformedRate) {
      yield malformedLine(rng, i);
      continue;
    }
    const ts = new Date(start + Math.floor(((i + rng()) / lines) * spanMs)).toISOString();
    let uc;
    let user;
    if (recent.length > 0 && rng() < duplicateRate) {
      const prev = pick(rng, recent);
      uc = prev.uc;
      user = perturb(rng, prev.user);
    } else {
      uc = weighted(rng, USE_CASES, TOTAL_WEIGHT);
      user = uc.user(rng);
      if (recent.length < 200) recent.push({ uc, user });
      else recent[Math.floor(rng() * recent.length)] = { uc, user };
    }
    const model = weighted(rng, MODELS, MODEL_WEIGHT);
    const output = uc.output(rng, user);
    const conversation = [{ role: 'user', content: user }];
    if (uc.turns && rng() < uc.turns) {
      conversation.push({ role: 'assistant', content: 'Could you give me a bit more detail?' }, { role: 'user', content: 'Sure — it is the same issue as before, nothing changed.' });
    }
    const usage = { input: lognormal(rng, uc.inTokens[0], uc.inTokens[1]), output: lognormal(rng, uc.outTokens[0], uc.outTokens[1]) };
    const metadata = { useCase: uc.name, userId: `u_${digits(rng, 6)}`, ...(uc.task ? { task: uc.task } : {}), ...(rng() < 0.2 ? { tags: ['beta'] } : {}) };
    const useTools = uc.tools && rng() < uc.tools;
    const format = rng() < 0.15 ? 'generic' : model.provider;
    const id = `req_${(opts.seed ?? 1).toString(36)}_${i.toString(36)}`;
    let obj;
    if (format === 'openai') {
      obj = {
        request: {
          model: model.id.replace(/-\d{4}-\d{2}-\d{2}$/, ''),
          messages: [{ role: 'system', content: uc.system }, ...conversation],
          ...(uc.structured ? { response_format: { type: 'json_object' } } : {}),
          ...(useTools ? { tools: [{ type: 'function', function: { name: 'run_tests', parameters: { type: 'object' } } }] } : {}),
        },
        response: {
          id,
          model: model.id,
          choices: [{ index: 0, message: { role: 'assistant', content: output }, finish_reason: 'stop' }],
          usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output },
        },
        metadata,
        timestamp: ts,
      };
    } else if (format === 'anthropic') {
      obj = {
        request: { model: model.id, system: uc.system, messages: conversation, max_tokens: 1024, ...(useTools ? { tools: [{ name: 'run_tests', input_schema: { type: 'object' } }] } : {}) },
        response: { id, type: 'message', role: 'assistant', model: model.id, content: [{ type: 'text', text: output }], usage: { input_tokens: usage.input, output_tokens: usage.output } },
        metadata,
        timestamp: ts,
      };
    } else {
      obj = {
        ...(conversation.length === 1 && rng() < 0.5 ? { input: user } : { messages: [{ role: 'system', content: uc.system }, ...conversation] }),
        output,
        model: model.id,
        usage,
        metadata,
        timestamp: ts,
      };
    }
    yield JSON.stringify(obj);
  }
}

/** Writes `lines` lines to `out` (gzip when `gzip` or a .gz name); resolves with counts. Honours back-pressure. */
export async function writeLogs(opts) {
  const gzip = opts.gzip ?? opts.out.endsWith('.gz');
  const file = createWriteStream(opts.out);
  const sink = gzip ? createGzip({ level: 6 }) : file;
  if (gzip) sink.pipe(file);
  let n = 0;
  let batch = [];
  for (const line of generateLogLines(opts)) {
    batch.push(line);
    n++;
    if (batch.length === 500) {
      if (!sink.write(`${batch.join('\n')}\n`)) await once(sink, 'drain');
      batch = [];
    }
  }
  if (batch.length) sink.write(`${batch.join('\n')}\n`);
  sink.end();
  await once(file, 'finish');
  return { lines: n, out: opts.out, gzip };
}

function parseArgs(argv) {
  const opts = { out: '', lines: 1000, seed: 1, malformedRate: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--lines') opts.lines = Number(next());
    else if (a === '--seed') opts.seed = Number(next());
    else if (a === '--out' || a === '-o') opts.out = next();
    else if (a === '--malformed') opts.malformedRate = Number(next());
    else if (a === '--duplicates') opts.duplicateRate = Number(next());
    else if (a === '--days') opts.days = Number(next());
    else if (a === '--start') opts.start = next();
    else if (a === '--gzip') opts.gzip = true;
    else throw new Error(`unknown option ${a}\nusage: node scripts/generate-logs.mjs --lines N --out FILE[.gz] [--seed N] [--malformed RATE] [--duplicates RATE] [--days N] [--start ISO] [--gzip]`);
  }
  if (!opts.out) throw new Error('--out FILE is required');
  if (!Number.isInteger(opts.lines) || opts.lines < 0) throw new Error('--lines must be a non-negative integer');
  return opts;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const opts = parseArgs(process.argv.slice(2));
    const started = Date.now();
    const r = await writeLogs(opts);
    process.stderr.write(`wrote ${r.lines} lines to ${r.out}${r.gzip ? ' (gzip)' : ''} in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
  } catch (e) {
    process.stderr.write(`generate-logs: ${e.message}\n`);
    process.exitCode = 2;
  }
}
