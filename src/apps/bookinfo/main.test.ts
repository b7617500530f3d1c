import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { request } from './testing.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

test('main.ts runs a service as a process, logs requests and exits 0 on SIGTERM', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'ratings'], {
    env: { ...process.env, POD_IP: '127.0.0.1', PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let out = '';
    child.stdout.setEncoding('utf8');
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (chunk: string) => {
        out += chunk;
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`main.ts exited early with ${code}`)));
    });
    const r = await request(port, '/ratings/0');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body).ratings, { Reviewer1: 5, Reviewer2: 4 });
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0);
    assert.match(out, /"GET \/ratings\/0 HTTP\/1\.1" 200/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('main.ts refuses an unknown service with a usage message', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'bogus'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => { err += c; });
  const [code] = await once(child, 'exit');
  assert.equal(code, 2);
  assert.match(err, /usage: main\.ts/);
});
