// Copies non-TypeScript assets (Handlebars templates, JSON data) next to the compiled code.
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const exts = ['.hbs', '.json', '.jsonl', '.css', '.md'];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (exts.some((e) => name.endsWith(e))) cpSync(p, p.replace(/^src/, 'dist'));
  }
}
if (existsSync('src')) walk('src');
