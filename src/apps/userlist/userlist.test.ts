import { test } from 'node:test';
import assert from 'node:assert/strict';
import { start, type User } from './index.ts';
import { encodeBlockJpeg } from './jpeg.ts';
import { inventUsers } from './users.ts';
import { freePort, spawnApp } from '../app.test-helper.ts';

async function withApp(fn: (base: string, users: readonly User[]) => Promise<void>, env: Record<string, string> = {}): Promise<void> {
  const app = await start({ host: '127.0.0.1', port: 0, env });
  try {
    await fn(`http://127.0.0.1:${app.port}`, app.users);
  } finally {
    await app.close();
  }
}


test('`/users/1` answers the user as JSON in the original field order', async () => {
  await withApp(async (base, users) => {
    const res = await fetch(`${base}/users/1`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const text = await res.text();
    assert.match(text, /^\{"id":1,"name":"[^"]+","gender":"[FM]","image":"\/assets\/image\/cat1\.jpg"\}$/);
    assert.deepEqual(JSON.parse(text), users[0]);
  });
});

test('`/users` answers all 10 users with ids 1..10', async () => {
  await withApp(async (base) => {
    const list = (await (await fetch(`${base}/users`)).json()) as User[];
    assert.deepEqual(list.map((u) => u.id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const u of list) {
      assert.ok(u.name.length > 0);
      assert.ok(u.gender === 'F' || u.gender === 'M');
    }
  });
});

test('an unknown, non-numeric or huge id answers a Spring Boot style 404', async () => {
  await withApp(async (base) => {
    for (const id of ['99', 'abc', '0', '-1', '99999999999999999999999', '01']) {
      const res = await fetch(`${base}/users/${id}`);
      assert.equal(res.status, 404, id);
      assert.equal(res.headers.get('content-type'), 'application/json');
      const body = (await res.json()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body), ['timestamp', 'status', 'error', 'path']);
      assert.equal(body.status, 404);
      assert.equal(body.error, 'Not Found');
      assert.equal(body.path, `/users/${id}`);
      assert.match(String(body.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
    }
    const other = await fetch(`${base}/nope?x=1`);
    assert.equal(other.status, 404);
    assert.equal(((await other.json()) as { path: string }).path, '/nope');
  });
});

test('a browser asking for HTML gets the Whitelabel Error Page on 404', async () => {
  await withApp(async (base) => {
    const res = await fetch(`${base}/users/77`, { headers: { accept: 'text/html' } });
    assert.equal(res.status, 404);
    assert.match(await res.text(), /Whitelabel Error Page.*status=404/s);
  });
});

test('a POST answers 405 Method Not Allowed', async () => {
  await withApp(async (base) => {
    const res = await fetch(`${base}/users/1`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
    assert.equal(((await res.json()) as { error: string }).error, 'Method Not Allowed');
  });
});

test('`/` answers the User List page, and every image it references is served as a JPEG', async () => {
  await withApp(async (base, users) => {
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = await res.text();
    assert.match(html, /<title>User List<\/title>/);
    for (const u of users) assert.ok(html.includes(u.name.replace(/'/g, '&#39;')), u.name);
    const srcs = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(srcs.length, 10);
    for (const src of srcs) {
      const img = await fetch(base + src);
      assert.equal(img.status, 200, src);
      assert.equal(img.headers.get('content-type'), 'image/jpeg');
      const bytes = Buffer.from(await img.arrayBuffer());
      assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xd8]);
      assert.deepEqual([...bytes.subarray(-2)], [0xff, 0xd9]);
    }
    assert.equal((await fetch(`${base}/assets/image/cat0.jpg`)).status, 404);
    assert.equal((await fetch(`${base}/assets/image/cat11.jpg`)).status, 404);
  });
});

test('every response names the replica in X-Hostname', async () => {
  await withApp(async (base) => {
    for (const p of ['/', '/users', '/users/2', '/users/x']) {
      assert.equal((await fetch(base + p)).headers.get('x-hostname'), 'userlist-abc12');
    }
  }, { HOSTNAME: 'userlist-abc12' });
});

test('two instances invent different users', async () => {
  const a = await start({ host: '127.0.0.1', port: 0, env: {} });
  const b = await start({ host: '127.0.0.1', port: 0, env: {} });
  try {
    const ua = await (await fetch(`http://127.0.0.1:${a.port}/users`)).text();
    const ub = await (await fetch(`http://127.0.0.1:${b.port}/users`)).text();
    assert.notEqual(ua, ub);
  } finally {
    await Promise.all([a.close(), b.close(), a.close()]);
  }
});

test('`inventUsers()` is deterministic under an injected random source', () => {
  let s = 1;
  const rng = (): number => ((s = (s * 16807) % 2147483647) / 2147483647);
  const first = inventUsers(10, rng);
  s = 1;
  assert.deepEqual(inventUsers(10, rng), first);
});

test('`encodeBlockJpeg()` writes SOF0 with the grid size and rejects ragged grids', () => {
  const jpg = encodeBlockJpeg([[[255, 0, 0], [0, 255, 0], [0, 0, 255]], [[0, 0, 0], [255, 255, 255], [128, 128, 128]]]);
  const sof = jpg.indexOf(Buffer.from([0xff, 0xc0]));
  assert.ok(sof > 0);
  assert.equal(jpg.readUInt16BE(sof + 5), 16); // height
  assert.equal(jpg.readUInt16BE(sof + 7), 24); // width
  assert.throws(() => encodeBlockJpeg([[[0, 0, 0]], []]), RangeError);
});

test('`skiff app userlist` runs it as a process, answers on PORT and exits 0 on SIGTERM', async () => {
  const port = await freePort();
  const { child, output } = spawnApp('userlist', port);
  try {
    let status = 0;
    for (let i = 0; i < 100 && status === 0; i++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/users/3`);
        status = res.status;
        assert.equal(((await res.json()) as User).id, 3);
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.equal(status, 200);
  } finally {
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
  assert.match(output(), /^userlist started on 127\.0\.0\.1:\d+ with 10 users\n$/);
});
