// Bundles the compiled CLI (dist/cli/main.js and the modules it imports, zod, yaml, commander and the
// two SDKs included) into dist/bundle/, which bin/evalroute.js runs. Node 20 loads ES modules file by
// file: the hundreds of files behind `evalroute run` took ~200 ms of resolving, reading and linking
// before any work, and the SDKs as many again at the first live call (@anthropic-ai/sdk ~210 ms,
// openai ~90 ms; bundled, ~30 and ~17 ms). The SDKs stay in chunks of their own, imported on the first
// live call only, so commands that call no model never load them. The library (dist/index.js) stays
// unbundled and imports the SDKs from node_modules.
//
// Left outside the bundle, loaded from node_modules when needed: better-sqlite3 (a native addon), the
// tokenizer (imported on first use, with its large tables) and the packages src/ loads with createRequire.
//
// Third-party code in the bundle is redistributed: every bundled package's licence goes with it, in
// dist/bundle/THIRD-PARTY-NOTICES.txt.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'rolldown';

const OUT = 'dist/bundle';
rmSync(OUT, { recursive: true, force: true });
const { output } = await build({
  input: 'dist/cli/main.js',
  platform: 'node',
  external: [/^node:/, 'better-sqlite3', 'gpt-tokenizer'],
  logLevel: 'warn',
  // Flat: package-files.ts finds templates and data one folder up from every chunk (dist/).
  output: { dir: OUT, format: 'esm', entryFileNames: 'main.js', chunkFileNames: '[name]-[hash].js' },
});
writeFileSync(join(OUT, 'THIRD-PARTY-NOTICES.txt'), notices(bundledPackages(output)));

/** The folder of every node_modules package a chunk of the bundle holds code of (the innermost one). */
function bundledPackages(chunks) {
  const roots = new Set();
  for (const chunk of chunks) {
    if (chunk.type !== 'chunk') continue;
    for (const id of chunk.moduleIds) {
      const m = /^(.*[\\/]node_modules[\\/](?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(id);
      if (m) roots.add(m[1]);
    }
  }
  return [...roots];
}

function notices(roots) {
  const entries = roots.map((root) => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const file = readdirSync(root).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
    if (!pkg.license && !file) throw new Error(`${pkg.name} is bundled into ${OUT} but states no licence: its terms cannot go with it`);
    const author = typeof pkg.author === 'string' ? pkg.author : pkg.author?.name;
    const repository = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
    // A few packages state their licence in package.json only: name it, with who holds the copyright.
    const text = file
      ? readFileSync(join(root, file), 'utf8').trim()
      : `${pkg.license} licence, as its package.json states; the package ships no licence file.${author ? ` Copyright: ${author}.` : ''}${repository ? ` Source: ${repository}.` : ''}`;
    return { name: pkg.name, version: pkg.version, license: pkg.license ?? 'see the text below', text };
  });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const rule = '='.repeat(78);
  return (
    'Third-party code bundled into this folder (the evalroute CLI), with the licence of each package.\n' +
    'Each is also installed with evalroute (as a dependency, or a dependency of one), with its own files.\n\n' +
    entries.map((e) => `${rule}\n${e.name} ${e.version} (${e.license})\n${rule}\n\n${e.text}\n`).join('\n')
  );
}
