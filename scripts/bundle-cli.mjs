// Bundles the compiled CLI (dist/cli/main.js and the modules it imports, zod, yaml and commander
// included) into dist/bundle/, which bin/evalroute.js runs. Node 20 loads ES modules file by file: the
// hundreds of files behind `evalroute run` took ~200 ms of resolving, reading and linking before any
// work; bundled, a cached rerun of the MMLU demo ends ~80–100 ms sooner. The library (dist/index.js)
// stays unbundled.
//
// Left outside the bundle, loaded from node_modules when needed: better-sqlite3 (a native addon), the
// SDKs and the tokenizer (imported on first use) and the packages src/ loads with createRequire.
import { rmSync } from 'node:fs';
import { build } from 'rolldown';

const OUT = 'dist/bundle';
rmSync(OUT, { recursive: true, force: true });
await build({
  input: 'dist/cli/main.js',
  platform: 'node',
  external: [/^node:/, 'better-sqlite3', /^openai(\/|$)/, /^@anthropic-ai\/sdk(\/|$)/, 'gpt-tokenizer'],
  logLevel: 'warn',
  // Flat: package-files.ts finds templates and data one folder up from every chunk (dist/).
  output: { dir: OUT, format: 'esm', entryFileNames: 'main.js', chunkFileNames: '[name]-[hash].js' },
});
