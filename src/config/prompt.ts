/**
 * Rendering a case into the conversation the models see. Templates are Handlebars in strict mode, so a
 * variable a case lacks is an error naming the case, never a silently empty prompt.
 */
import type Handlebars from 'handlebars';
import type { HelperOptions } from 'handlebars';
import { ConfigError, formatLocation } from '../core/errors.js';
import { handlebars } from '../core/handlebars.js';
import type { Case, ChatMessage, Suite } from '../core/types.js';

const hb = handlebars().create();
hb.registerHelper('letter', (i: unknown) => (typeof i === 'number' && i >= 0 ? letterOf(i) : ''));

/** 0 → A … 25 → Z, 26 → AA: answer-option labels. */
function letterOf(i: number): string {
  let s = '';
  for (let n = i; n >= 0; n = Math.floor(n / 26) - 1) s = String.fromCharCode(65 + (n % 26)) + s;
  return s;
}

/**
 * Strict mode does not check helper arguments, so `{{#each options}}` over a missing `options` would
 * render nothing. These wrappers make a missing list/object as loud as a missing `{{var}}`.
 */
class MissingBlockValue extends Error {
  constructor(readonly loc: string) {
    super('missing block value');
  }
}
for (const name of ['each', 'with'] as const) {
  const original = hb.helpers[name] as (this: unknown, ...args: unknown[]) => unknown;
  hb.registerHelper(name, function (this: unknown, ...args: unknown[]) {
    const options = args.at(-1) as HelperOptions & { loc?: { start: { line: number; column: number } } };
    if (args.length > 1 && args[0] === undefined && options.loc) {
      throw new MissingBlockValue(`${options.loc.start.line}:${options.loc.start.column}`);
    }
    return original.apply(this, args);
  });
}

interface CompiledTemplate {
  render: Handlebars.TemplateDelegate;
  /** `line:column` of each path expression and each/with block → its source, so errors name the full path. */
  expressions: Map<string, string>;
}

function compile(source: string): CompiledTemplate {
  const expressions = new Map<string, string>();
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const n = node as {
      type?: string;
      loc?: { start: { line: number; column: number } };
      path?: { original?: unknown };
      params?: { original?: unknown }[];
    };
    const where = n.loc && `${n.loc.start.line}:${n.loc.start.column}`;
    if (where && n.type === 'BlockStatement' && n.params?.[0]?.original !== undefined) expressions.set(where, String(n.params[0].original));
    // Strict-mode errors carry the position of the path expression itself.
    if (where && n.type === 'PathExpression' && typeof (n as { original?: unknown }).original === 'string') {
      expressions.set(where, (n as { original: string }).original);
    }
    for (const v of Object.values(node)) {
      if (Array.isArray(v)) v.forEach(visit);
      else if (v && typeof v === 'object' && v !== n.loc) visit(v);
    }
  };
  const ast = hb.parse(source);
  visit(ast);
  // A template of text only (a fixed system prompt, say) renders to that text: Handlebars' per-call set-up
  // (helpers, prototype access checks) would be most of a run's rendering time for nothing.
  if (ast.body.every((n) => n.type === 'ContentStatement')) {
    const text = ast.body.map((n) => (n as hbs.AST.ContentStatement).value).join('');
    return { render: () => text, expressions };
  }
  return { render: hb.compile(source, { strict: true, noEscape: true }), expressions };
}

/** The syntax error of a template, or undefined when it parses. */
export function checkTemplate(source: string): string | undefined {
  try {
    hb.parse(source);
    return undefined;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}

// Compiled once per suite: rendering 500 cases must not recompile the same template 500 times.
const cache = new WeakMap<Suite, { system?: CompiledTemplate; user?: CompiledTemplate }>();

function templatesOf(suite: Suite): { system?: CompiledTemplate; user?: CompiledTemplate } {
  let t = cache.get(suite);
  if (!t) {
    t = {};
    for (const part of ['system', 'user'] as const) {
      const source = suite.prompt[part];
      if (source === undefined) continue;
      try {
        t[part] = compile(source);
      } catch (e) {
        throw new ConfigError({ file: suite.file, path: `prompt.${part}` }, `invalid Handlebars template: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    cache.set(suite, t);
  }
  return t;
}

/** The conversation for a case: its own messages as they are, or the suite's templates filled with its vars. */
export function renderCase(suite: Suite, c: Case): ChatMessage[] {
  return withCaseAttachments(c, renderMessages(suite, c));
}

/** Case-level attachments go with the last user message, before any it carries itself. */
function withCaseAttachments(c: Case, messages: ChatMessage[]): ChatMessage[] {
  if (!c.attachments?.length) return messages;
  const last = messages.findLastIndex((m) => m.role === 'user');
  if (last < 0) throw new ConfigError(c.origin, `case "${c.id}" has attachments but its conversation has no user message`, 'add a prompt.user template or a user message');
  const target = messages[last]!;
  const out = [...messages];
  out[last] = { ...target, attachments: [...c.attachments, ...(target.attachments ?? [])] };
  return out;
}

function renderMessages(suite: Suite, c: Case): ChatMessage[] {
  if (c.messages) return c.messages;
  const templates = templatesOf(suite);
  const out: ChatMessage[] = [];
  for (const part of ['system', 'user'] as const) {
    const t = templates[part];
    if (!t) continue;
    out.push({ role: part, content: renderOne(t, part, suite, c) });
  }
  if (out.length === 0) {
    throw new ConfigError(c.origin, `case "${c.id}" has vars but ${suite.file} has no prompt template`, 'add prompt: { user: "…" } to suite.yaml, or give the case "messages"');
  }
  return out;
}

function renderOne(t: CompiledTemplate, part: 'system' | 'user', suite: Suite, c: Case): string {
  try {
    return t.render(c.vars ?? {});
  } catch (e) {
    let variable: string | undefined;
    if (e instanceof MissingBlockValue) variable = t.expressions.get(e.loc);
    else {
      const name = /^"([^"]+)" not defined/.exec((e as Error).message)?.[1];
      const { lineNumber, column } = e as { lineNumber?: number; column?: number };
      variable = name && (t.expressions.get(`${lineNumber}:${column}`) ?? name);
    }
    if (variable === undefined) {
      throw new ConfigError(c.origin, `case "${c.id}": rendering prompt.${part} of ${suite.file} failed: ${(e as Error).message}`);
    }
    throw new ConfigError(
      c.origin,
      `case "${c.id}" has no variable "${variable}", which prompt.${part} uses`,
      `add "${variable}" to the case's vars, or change the template in ${formatLocation({ file: suite.file, path: `prompt.${part}` })}`,
    );
  }
}
