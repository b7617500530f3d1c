#!/usr/bin/env node
// Runs every test: unit tests beside the code (src/**/*.test.ts) and end-to-end tests (test/e2e/*.test.ts),
// through node:test with tsx. Pass paths or a --unit / --e2e flag to narrow the run.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
let files = args.filter((a) => !a.startsWith('--'));
if (files.length === 0) {
  const unit = !args.includes('--e2e');
  const e2e = !args.includes('--unit');
  if (unit) files.push(...find('src'));
  if (e2e) files.push(...find('test'));
}
// e2e tests start bin/skiff.js, which runs the bundle when it is fresh: build it first.
const b = spawnSync(process.execPath, ['scripts/build.js'], { stdio: 'inherit' });
if (b.status !== 0) process.exit(b.status ?? 1);
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
