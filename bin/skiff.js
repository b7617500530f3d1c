#!/usr/bin/env node
// Skiff's command-line entry point. It runs the esbuild bundle in dist/ when that is at least as new
// as every source file (a stat walk of src/ costs a few milliseconds); otherwise it runs the
// TypeScript sources through tsx, so a stale bundle can never hide a change.
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/skiff.js', import.meta.url);

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    t = Math.max(t, e.isDirectory() ? newest(p) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? statSync(p).mtimeMs : 0);
  }
  return t;
}

function bundleIsFresh() {
  try {
    return statSync(dist).mtimeMs >= newest(fileURLToPath(new URL('../src', import.meta.url)));
  } catch {
    return false;
  }
}

if (bundleIsFresh()) {
  // Pods' built-in apps start the bundle directly, without this check (it costs each pod ~50 ms).
  process.env.SKIFF_BIN ??= fileURLToPath(dist);
  await import(dist.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
