import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { LIMITS, pickStatus, start, type RunningApp } from './index.ts';
import { pyDumps } from './pyjson.ts';
import { titleCase } from './request.ts';
import { freePort, spawnApp } from '../app.test-helper.ts';

let app: RunningApp;
let base: string;

before(async () => {
  app = await start({ host: '127.0.0.1', port: 0, env: {} });
  base = `http://127.0.0.1:${app.port}`;
});
after(() => app.close());

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response documents are checked field by field
type Json = Record<string, any>;

async function json(path: string, init?: RequestInit): Promise<Json> {
  const res = await fetch(base + path, init);
  assert.equal(res.status, 200, path);
  assert.equal(res.headers.get('content-type'), 'application/json');
  return (await res.json()) as Json;
}

/** A raw request with node:http, for headers fetch will not let us set or redirects it would follow. */
function raw(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('`/get` echoes args, Title-Cased headers, origin and url in httpbin\'s layout', async () => {
  const res = await fetch(`${base}/get?a=1&a=2&b=x`, { headers: { 'x-b3-traceid': 'abc', 'x-forwarded-for': '10.1.2.3' } });
  const text = await res.text();
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.match(text, /^\{\n  "args": \{\n    "a": \[\n      "1", \n      "2"\n    \], \n    "b": "x"\n  \}, \n  "headers": \{/);
  assert.ok(text.endsWith('}\n'));
  const body = JSON.parse(text) as Json;
  assert.deepEqual(Object.keys(body), ['args', 'headers', 'origin', 'url']);
  assert.equal(body.headers['X-B3-Traceid'], 'abc');
  assert.equal(body.headers.Host, `127.0.0.1:${app.port}`);
  assert.equal(body.headers['X-Forwarded-For'], undefined, 'proxy headers are hidden like httpbin does');
  assert.equal(body.origin, '10.1.2.3', 'origin prefers X-Forwarded-For');
  assert.equal(body.url, `${base}/get?a=1&a=2&b=x`);
  const shown = await json('/get?show_env=1', { headers: { 'x-forwarded-for': '10.1.2.3' } });
  assert.equal(shown.headers['X-Forwarded-For'], '10.1.2.3');
  assert.equal((await json('/get')).origin, '127.0.0.1');
});

test('`/get` honours X-Forwarded-Proto in url and refuses POST with 405', async () => {
  assert.match((await json('/get', { headers: { 'x-forwarded-proto': 'https' } })).url, /^https:\/\//);
  const res = await fetch(`${base}/get`, { method: 'POST', body: 'x' });
  assert.equal(res.status, 405);
  assert.match(res.headers.get('allow') ?? '', /GET/);
  assert.match(await res.text(), /<title>405 Method Not Allowed<\/title>/);
});

test('`/headers`, `/ip`, `/user-agent` and `/uuid` answer their one-key documents', async () => {
  const h = await json('/headers', { headers: { 'x-envoy-attempt-count': '1' } });
  assert.deepEqual(Object.keys(h), ['headers']);
  assert.equal(h.headers['X-Envoy-Attempt-Count'], '1');
  assert.deepEqual(await json('/ip'), { origin: '127.0.0.1' });
  assert.deepEqual(await json('/ip', { headers: { 'x-forwarded-for': '1.2.3.4, 10.0.0.1' } }), { origin: '1.2.3.4, 10.0.0.1' });
  assert.deepEqual(await json('/user-agent', { headers: { 'user-agent': 'curl/8.0' } }), { 'user-agent': 'curl/8.0' });
  const u = await json('/uuid');
  assert.match(u.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('`/anything` and `/anything/*` take any method and echo data, json, form, files and method', async () => {
  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND']) {
    const body = method === 'GET' ? undefined : '{"k":[1,"ü"]}';
    const a = await json('/anything/deep/path?q=1', { method, body, headers: { 'content-type': 'application/json' } });
    assert.deepEqual(Object.keys(a).sort(), ['args', 'data', 'files', 'form', 'headers', 'json', 'method', 'origin', 'url']);
    assert.equal(a.method, method);
    assert.deepEqual(a.args, { q: '1' });
    if (body !== undefined) {
      assert.equal(a.data, body);
      assert.deepEqual(a.json, { k: [1, 'ü'] });
    } else assert.equal(a.json, null);
  }
  const bin = await json('/anything', { method: 'POST', body: new Uint8Array([0xff, 0x00, 0xfe]) });
  assert.equal(bin.data, 'data:application/octet-stream;base64,/wD+');
  assert.equal(bin.json, null);
});

test('`/post` `/put` `/patch` `/delete` echo the body and answer 405 to other methods', async () => {
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    const path = `/${method.toLowerCase()}`;
    const form = await json(path, { method, body: new URLSearchParams([['f', '1'], ['f', '2'], ['g', 'x y']]) });
    assert.deepEqual(form.form, { f: ['1', '2'], g: 'x y' });
    assert.equal(form.data, '');
    assert.equal(form.method, undefined, 'only /anything shows the method');
    assert.equal((await fetch(base + path, { method: method === 'POST' ? 'PUT' : 'POST' })).status, 405);
  }
  const fd = new FormData();
  fd.append('field', 'v');
  fd.append('upload', new Blob(['hello']), 'h.txt');
  fd.append('bin', new Blob([new Uint8Array([0, 200])], { type: 'image/png' }), 'b.png');
  const mp = await json('/post', { method: 'POST', body: fd });
  assert.deepEqual(mp.form, { field: 'v' });
  assert.deepEqual(mp.files, { upload: 'hello', bin: 'data:image/png;base64,AMg=' });
});

test('`/status/418` answers 418 with the teapot, and other codes answer bare', async () => {
  const tea = await fetch(`${base}/status/418`);
  assert.equal(tea.status, 418);
  assert.equal(tea.headers.get('x-more-info'), 'http://tools.ietf.org/html/rfc2324');
  assert.match(await tea.text(), /-=\[ teapot \]=-/);
  for (const code of [200, 201, 204, 404, 500, 503]) {
    const res = await fetch(`${base}/status/${code}`, { method: code === 201 ? 'POST' : 'GET' });
    assert.equal(res.status, code);
    assert.equal(await res.text(), '');
  }
  const moved = await raw('/status/302');
  assert.equal(moved.status, 302);
  assert.equal(moved.headers.location, '/redirect/1');
  assert.equal((await raw('/status/401')).headers['www-authenticate'], 'Basic realm="Fake Realm"');
});

test('`/status/{a,b}` picks among codes, weighted `200:0.5,500:0.5` too; invalid codes answer 400', async () => {
  const seen = new Set<number>();
  for (let i = 0; i < 60 && seen.size < 2; i++) seen.add((await fetch(`${base}/status/200,503`)).status);
  assert.deepEqual([...seen].sort(), [200, 503]);
  assert.equal((await fetch(`${base}/status/500:0,201:1`)).status, 201);
  for (const bad of ['abc', '99', '1000', '200,x', '200:y', '-1', '200:1:2']) {
    const res = await fetch(`${base}/status/${bad}`);
    assert.equal(res.status, 400, bad);
    assert.equal(await res.text(), 'Invalid status code');
  }
  assert.equal(pickStatus('200:0.5,500:0.5', () => 0.1), 200);
  assert.equal(pickStatus('200:0.5,500:0.5', () => 0.9), 500);
  assert.equal(pickStatus('200,500', () => 0.999999), 500);
  assert.equal(pickStatus('x'), null);
});

test('`/delay/1` answers after a second with the request echoed; bad delays answer 500', async () => {
  const t0 = Date.now();
  const d = await json('/delay/1?x=1');
  assert.ok(Date.now() - t0 >= 950, 'waited about a second');
  assert.deepEqual(Object.keys(d), ['args', 'data', 'files', 'form', 'headers', 'origin', 'url']);
  assert.deepEqual(d.args, { x: '1' });
  assert.equal(LIMITS.delaySeconds, 10);
  for (const bad of ['abc', '-1', 'nan']) assert.equal((await fetch(`${base}/delay/${bad}`)).status, 500, bad);
});

test('`/delay/{s}` cancels its timer when the client goes away', async () => {
  function timers(): number {
    return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  }
  const before = timers();
  const ac = new AbortController();
  const pending = fetch(`${base}/delay/10`, { signal: ac.signal }).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 150));
  assert.ok(timers() > before, 'the delay timer is armed');
  ac.abort();
  await pending;
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(timers() <= before, 'the delay timer is gone');
});

test('`/bytes/{n}` answers n random bytes, the same bytes as CPython for a seed, capped at 100 KiB', async () => {
  const res = await fetch(`${base}/bytes/1024`);
  assert.equal(res.headers.get('content-type'), 'application/octet-stream');
  assert.equal((await res.arrayBuffer()).byteLength, 1024);
  const seeded = Buffer.from(await (await fetch(`${base}/bytes/12?seed=42`)).arrayBuffer());
  // python3 -c "import random; random.seed(42); print([random.randint(0,255) for _ in range(12)])"
  assert.deepEqual([...seeded], [57, 12, 140, 125, 114, 71, 52, 44, 216, 16, 15, 47]);
  assert.equal((await (await fetch(`${base}/bytes/999999999999999999999`)).arrayBuffer()).byteLength, 100 * 1024);
  assert.equal((await fetch(`${base}/bytes/10?seed=abc`)).status, 500);
  assert.equal((await fetch(`${base}/bytes/-5`)).status, 404);
});

test('`/stream/{n}` answers n JSON lines, chunked, capped at 100', async () => {
  const res = await raw('/stream/3?a=b');
  assert.equal(res.headers['transfer-encoding'], 'chunked');
  const lines = res.body.trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0], /^\{"url": "http:\/\/127\.0\.0\.1:\d+\/stream\/3\?a=b", "args": \{"a": "b"\}, "headers": \{/);
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as Json).id), [0, 1, 2]);
  assert.equal((await raw('/stream/100000')).body.trimEnd().split('\n').length, 100);
});

test('`/html`, `/json`, `/robots.txt`, `/deny` and `/` answer httpbin\'s fixed documents', async () => {
  const html = await fetch(`${base}/html`);
  assert.equal(html.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.match(await html.text(), /<h1>Herman Melville - Moby-Dick<\/h1>\s*<div>\s*<p>/);
  assert.equal((await json('/json')).slideshow.title, 'Sample Slide Show');
  const robots = await fetch(`${base}/robots.txt`);
  assert.equal(robots.headers.get('content-type'), 'text/plain');
  assert.equal(await robots.text(), 'User-agent: *\nDisallow: /deny\n');
  assert.match(await (await fetch(`${base}/deny`)).text(), /YOU SHOULDN'T BE HERE/);
  assert.match(await (await fetch(`${base}/`)).text(), /httpbin/);
});

test('`/response-headers` sets the query as headers and lists them with a self-consistent Content-Length', async () => {
  const res = await raw('/response-headers?X-Test=1&freeform=a&freeform=b&Content-Length=9');
  assert.equal(res.headers['x-test'], '1');
  const body = JSON.parse(res.body) as Json;
  assert.deepEqual(body, { 'Content-Length': String(Buffer.byteLength(res.body)), 'Content-Type': 'application/json', 'X-Test': '1', freeform: ['a', 'b'] });
  assert.equal(res.headers['content-length'], String(Buffer.byteLength(res.body)));
  assert.equal((await raw('/response-headers?bad%0Aname=1')).status, 200, 'unsendable headers are skipped');
});

test('`/cookies`, `/cookies/set` and `/cookies/delete` read and set cookies, redirecting to /cookies', async () => {
  assert.deepEqual(JSON.parse((await raw('/cookies', { cookie: 'a=1; b="two"; __utma=x' })).body), { cookies: { a: '1', b: 'two' } });
  const set = await raw('/cookies/set?k=v&sp=a%20b');
  assert.equal(set.status, 302);
  assert.equal(set.headers.location, '/cookies');
  assert.deepEqual(set.headers['set-cookie'], ['k=v; Path=/', 'sp="a b"; Path=/']);
  assert.deepEqual((await raw('/cookies/set/n/v')).headers['set-cookie'], ['n=v; Path=/']);
  const del = await raw('/cookies/delete?k');
  assert.match(String(del.headers['set-cookie']), /^k=; Expires=Thu, 01-Jan-1970 00:00:00 GMT; Max-Age=0; Path=\/$/);
  assert.equal((await raw('/cookies/set?x=%0D%0A')).headers['set-cookie']?.[0], 'x="\\015\\012"; Path=/');
});

test('`/redirect/3` hops through relative redirects to /get; absolute=true gives absolute URLs', async () => {
  const r = await raw('/redirect/3');
  assert.equal(r.status, 302);
  assert.equal(r.headers.location, '/relative-redirect/2');
  assert.match(r.body, /Redirecting\.\.\./);
  assert.equal((await raw('/relative-redirect/1')).headers.location, '/get');
  assert.equal((await raw('/redirect/2?absolute=true')).headers.location, `${base}/absolute-redirect/1`);
  assert.equal((await raw('/absolute-redirect/1')).headers.location, `${base}/get`);
  const followed = await fetch(`${base}/redirect/3`);
  assert.equal(followed.url, `${base}/get`);
  assert.equal((await raw('/redirect/0')).status, 500);
  assert.equal((await raw('/redirect/x')).status, 404);
  const to = await raw('/redirect-to?url=http%3A%2F%2Fexample.com%2F&status_code=307');
  assert.equal(to.status, 307);
  assert.equal(to.headers.location, 'http://example.com/');
});

test('`/gzip` answers gzip-encoded JSON', async () => {
  const res = await fetch(`${base}/gzip`);
  assert.equal(res.headers.get('content-encoding'), 'gzip');
  const body = (await res.json()) as Json;
  assert.equal(body.gzipped, true);
  assert.equal(body.method, 'GET');
});

test('unknown paths answer Werkzeug\'s 404 page; OPTIONS answers a CORS preflight', async () => {
  const res = await fetch(`${base}/nope/%zz`);
  assert.equal(res.status, 404);
  assert.match(await res.text(), /<title>404 Not Found<\/title>/);
  const pre = await raw('/get', { origin: 'http://x.test', 'access-control-request-headers': 'x-a' }, 'OPTIONS');
  assert.equal(pre.status, 200);
  assert.equal(pre.headers['access-control-allow-origin'], 'http://x.test');
  assert.equal(pre.headers['access-control-allow-headers'], 'x-a');
  assert.match(String(pre.headers.allow), /GET/);
});

test('a body over 10 MiB answers 413 without being read', async () => {
  const res = await new Promise<number>((resolve, reject) => {
    const req = http.request(`${base}/post`, { method: 'POST', headers: { 'content-length': String(11 * 1024 * 1024) } }, (r) => {
      r.resume();
      resolve(r.statusCode ?? 0);
    });
    req.on('error', reject);
    req.write('only a little');
  });
  assert.equal(res, 413);
});

test('`pyDumps()` writes Python\'s json layout and `titleCase()` Python\'s str.title()', () => {
  assert.equal(pyDumps({ b: [1, 'é'], a: {} }, true), '{\n  "a": {}, \n  "b": [\n    1, \n    "\\u00e9"\n  ]\n}');
  assert.equal(pyDumps({ b: 1, a: null }), '{"b": 1, "a": null}');
  assert.equal(pyDumps('\u007f😀'), '"\\u007f\\ud83d\\ude00"');
  assert.equal(titleCase('x-b3-traceid'), 'X-B3-Traceid');
  assert.equal(titleCase('x-b3spanid'), 'X-B3Spanid');
});


test('`skiff app httpbin` runs it as a process, answers on PORT and exits 0 on SIGTERM', async () => {
  const port = await freePort();
  const { child, output } = spawnApp('httpbin', port);
  try {
    let status = 0;
    for (let i = 0; i < 100 && status === 0; i++) {
      try {
        status = (await fetch(`http://127.0.0.1:${port}/status/418`)).status;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.equal(status, 418);
  } finally {
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
  assert.equal(output(), `httpbin listening at: http://127.0.0.1:${port}\n`);
});
