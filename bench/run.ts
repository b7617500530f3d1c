/** `npm run bench -- <name>`: builds the bundle (so Skiff starts as users start it), then runs one benchmark from bench/ (default: api). */
import { execFileSync } from 'node:child_process';

execFileSync(process.execPath, ['scripts/build.js'], { stdio: 'inherit' });
const name = process.argv[2] ?? 'api';
await import(`./${name}.ts`);
