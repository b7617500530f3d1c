#!/usr/bin/env node
// Bundles the TypeScript sources into dist/skiff.js with esbuild (about 0.1 s), so that `skiff up`
// starts without compiling on the fly. Runs on `npm install` (prepare), before `npm test`, and by hand.
// bin/skiff.js falls back to running the sources through tsx when dist/ is missing or older than src/.
import { build } from 'esbuild';
import { readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const result = await build({
  entryPoints: { skiff: join(root, 'src', 'cli', 'main.ts') },
  outdir: join(root, 'dist'),
  // Code splitting keeps `skiff app <id>` (one process per pod) from loading the API server, SQLite
  // and the validators: each command imports only its own chunks.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
  metafile: true,
  absWorkingDir: root,
});
// esbuild escapes non-ASCII characters in strings but keeps them in the comments it preserves and in
// regular expressions. One such character makes V8 hold the whole chunk's source as a two-byte
// string: the proxy's 257 KB chunk took 515 KB of every sidecar's heap. \uXXXX means the same in a
// regular expression and is only text in a comment, so the output becomes ASCII, line for line.
for (const out of Object.keys(result.metafile.outputs)) {
  if (!out.endsWith('.js')) continue;
  const file = join(root, out);
  const text = readFileSync(file, 'utf8');
  // eslint-disable-next-line no-control-regex
  const ascii = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (ascii !== text) writeFileSync(file, ascii);
}
// Old chunks pile up (every build names them by hash). Keep the last 10 minutes' worth: a process
// started from the previous bundle may still import its chunks lazily.
const current = new Set(Object.keys(result.metafile.outputs).map((o) => relative(join(root, 'dist'), join(root, o))));
const chunks = join(root, 'dist', 'chunks');
for (const name of readdirSync(chunks)) {
  const p = join(chunks, name);
  if (!current.has(join('chunks', name)) && Date.now() - statSync(p).mtimeMs > 600_000) unlinkSync(p);
}
