#!/usr/bin/env node
// Bundles the TypeScript sources into dist/skiff.js with esbuild (about 0.1 s), so that `skiff up`
// starts without compiling on the fly. Runs on `npm install` (prepare), before `npm test`, and by hand.
// bin/skiff.js falls back to running the sources through tsx when dist/ is missing or older than src/.
import { build } from 'esbuild';
import { readdirSync, statSync, unlinkSync } from 'node:fs';
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
// Old chunks pile up (every build names them by hash). Keep the last 10 minutes' worth: a process
// started from the previous bundle may still import its chunks lazily.
const current = new Set(Object.keys(result.metafile.outputs).map((o) => relative(join(root, 'dist'), join(root, o))));
const chunks = join(root, 'dist', 'chunks');
for (const name of readdirSync(chunks)) {
  const p = join(chunks, name);
  if (!current.has(join('chunks', name)) && Date.now() - statSync(p).mtimeMs > 600_000) unlinkSync(p);
}
