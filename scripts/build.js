#!/usr/bin/env node
// Bundles the TypeScript sources into dist/skiff.js with esbuild (about 0.1 s), so that `skiff up`
// starts without compiling on the fly. Runs on `npm install` (prepare), before `npm test`, and by hand.
// bin/skiff.js falls back to running the sources through tsx when dist/ is missing or older than src/.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build({
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
});
