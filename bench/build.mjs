// Compiles the benchmark (and the src/ and test/support/ code it imports) into a git-ignored folder,
// then copies the non-TypeScript assets src/ reads at run time (templates, JSON data) beside it.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const OUT = join(root, 'node_modules/.cache/evalroute-bench');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'bench/tsconfig.json')], { stdio: 'inherit' });

const exts = ['.hbs', '.json', '.jsonl', '.css', '.md'];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (exts.some((e) => name.endsWith(e))) cpSync(p, join(OUT, p.slice(root.length + 1)));
  }
};
walk(join(root, 'src'));
cpSync(join(root, 'package.json'), join(OUT, 'package.json'));
