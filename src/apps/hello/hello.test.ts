import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorRate, flagOn, start } from './index.ts';
import { freePort, spawnApp } from '../app.test-helper.ts';

async function withApp(env: Record<string, string>, fn: (base: string, lines: string[]) => Promise<void>): Promise<void> {
  const lines: string[] = [];
  const app = await start({ host: '127.0.0.1', port: 0, env, log: (l) => lines.push(l) });
  try {
    await fn(`http://127.0.0.1:${app.port}`, lines);
  } finally {
    await app.close();
  }
}


test('any path answers 200 `Hello server - v1` ending in a newline', async () => {
  await withApp({}, async (base, lines) => {
    for (const path of ['/', '/v2', '/deep/path?x=1']) {
      const res = await fetch(base + path);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      assert.equal(await res.text(), 'Hello server - v1\n');
    }
    const post = await fetch(base + '/x', { method: 'POST', body: 'ignored' });
    assert.equal(post.status, 200);
    assert.equal(lines.length, 0, 'nothing is logged without LOG');
  });
});

test('VERSION sets the version in the body', async () => {
  await withApp({ VERSION: 'v2' }, async (base) => {
    assert.equal(await (await fetch(base)).text(), 'Hello server - v2\n');
  });
});

test('RANDOM_ERROR=1 always answers 503 (random)', async () => {
  await withApp({ RANDOM_ERROR: '1', VERSION: 'v3' }, async (base) => {
    for (let i = 0; i < 20; i++) {
      const res = await fetch(base);
      assert.equal(res.status, 503);
      assert.equal(await res.text(), 'Hello server - v3 - 503 (random)\n');
    }
  });
});

test('RANDOM_ERROR=0 never fails, and RANDOM_ERROR=0.5 fails some but not all', async () => {
  await withApp({ RANDOM_ERROR: '0' }, async (base) => {
    for (let i = 0; i < 30; i++) assert.equal((await fetch(base)).status, 200);
  });
  await withApp({ RANDOM_ERROR: '0.5' }, async (base) => {
    const seen = new Set<number>();
    for (let i = 0; i < 200 && seen.size < 2; i++) {
      const res = await fetch(base);
      await res.arrayBuffer();
      seen.add(res.status);
    }
    assert.deepEqual([...seen].sort(), [200, 503]);
  });
});

test('LOG=1 logs one line per request with the status', async () => {
  await withApp({ LOG: '1', RANDOM_ERROR: '1' }, async (base, lines) => {
    await (await fetch(base)).text();
    assert.deepEqual(lines, ['Hello server - v1 - 503 (random)']);
  });
  await withApp({ LOG: '1' }, async (base, lines) => {
    await (await fetch(base)).text();
    await (await fetch(base + '/a')).text();
    assert.deepEqual(lines, ['Hello server - v1 - 200', 'Hello server - v1 - 200']);
  });
});

test('`errorRate()` clamps to [0, 1] and treats garbage as 0; `flagOn()` reads LOG', () => {
  assert.equal(errorRate(undefined), 0);
  assert.equal(errorRate('abc'), 0);
  assert.equal(errorRate('-2'), 0);
  assert.equal(errorRate('7'), 1);
  assert.equal(errorRate('0.25'), 0.25);
  assert.equal(flagOn('1'), true);
  assert.equal(flagOn('0'), false);
  assert.equal(flagOn(''), false);
  assert.equal(flagOn(undefined), false);
});

test('`close()` is idempotent', async () => {
  const app = await start({ host: '127.0.0.1', port: 0, env: {} });
  await Promise.all([app.close(), app.close()]);
  await app.close();
});

test('`skiff app hello` runs it as a process, answers on PORT, logs, and exits 0 on SIGTERM', async () => {
  const port = await freePort();
  const { child, output } = spawnApp('hello', port, { LOG: '1', VERSION: 'v9' });
  try {
    let body = '';
    for (let i = 0; i < 100 && body === ''; i++) {
      try {
        body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.equal(body, 'Hello server - v9\n');
  } finally {
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
  assert.equal(output(), 'Hello server - v9 - 200\n');
});
