/**
 * `npm run bench -- <name> [args]`: builds the bundle (so Skiff starts as users start it), then runs
 * one benchmark from bench/ (default: api). Names: api, pods, proxy, mesh (`mesh dataplane` or
 * `mesh converge` for one half); the args after the name are left in process.argv for it.
 */
import { execFileSync } from 'node:child_process';

execFileSync(process.execPath, ['scripts/build.js'], { stdio: 'inherit' });
const name = process.argv[2] ?? 'api';
await import(`./${name}.ts`);
