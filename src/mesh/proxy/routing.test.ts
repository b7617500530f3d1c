import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import type { Route } from './model.ts';
import { app, closeAll, cluster, cycle, defaultRoute, emptyConfig, named, node, routeConfig, send, startProxy, withOutbound } from './proxy.test-helper.ts';
import type { Proxy } from './index.ts';

// This file's addresses: 127.77.1.0/24.
const POD = '127.77.1.1';
const APP_A = '127.77.1.2';
const APP_B = '127.77.1.3';

let proxy: Proxy;
let logs: string[];
let out: number;
let random: () => number;
const servers: Array<{ close(cb?: () => void): unknown }> = [];
let portA: number;
let portB: number;
const seenA: Array<{ url?: string; headers: Record<string, unknown> }> = [];

before(async () => {
  const a = await app(APP_A, 0, (req, res, body) => {
    seenA.push({ url: req.url, headers: { ...req.headers } });
    res.writeHead(200, { 'content-type': 'text/plain', 'x-served-by': 'a', 'x-remove-me': '1' });
    res.end(req.url === '/echo' ? body : 'a');
  });
  const b = await app(APP_B, 0, named('b'));
  servers.push(a.server, b.server);
  portA = a.port;
  portB = b.port;
  random = Math.random;
  const p = await startProxy({ podIP: POD, random: () => random() });
  proxy = p.proxy;
  logs = p.logs;
  out = p.out;
});

after(async () => {
  await proxy.close();
  await closeAll(servers);
});

function direct(body: string, match: Route['match'], name = body): Route {
  return { name, match, action: { kind: 'direct', status: 200, body } };
}

async function applyRoutes(routes: Route[], extra: { clusters?: ReturnType<typeof cluster>[] } = {}): Promise<void> {
  const rc = routeConfig('9080', ['reviews', 'reviews.default', 'reviews.default.svc.cluster.local', '*.wild.example', 'pre.*'], routes);
  const cfg = withOutbound(emptyConfig(node('client', POD)), 9080, rc, [cluster('outbound|9080||a', [{ address: APP_A, port: portA }]), cluster('outbound|9080||b', [{ address: APP_B, port: portB }]), ...(extra.clusters ?? [])]);
  await proxy.apply(cfg, String(Math.random()));
}

const get = (path: string, headers?: Record<string, string>, host = 'reviews:9080') => send(POD, out, `http://${host}${path}`, { headers });

test('route() matches path exact, prefix and regex; first match wins; no match is 404 NR with an empty body', async () => {
  await applyRoutes([
    direct('exact', { path: { exact: '/a' } }),
    direct('prefix', { path: { prefix: '/a' } }),
    direct('regex', { path: { regex: '/r/[0-9]+' } }),
    direct('nocase', { path: { prefix: '/CaSe' }, caseSensitive: false }),
  ]);
  assert.equal((await get('/a')).body, 'exact');
  assert.equal((await get('/a?x=1')).body, 'exact', 'the query is not part of the path');
  assert.equal((await get('/ab')).body, 'prefix', 'prefix is a character prefix');
  assert.equal((await get('/r/12')).body, 'regex');
  const partial = await get('/r/12x');
  assert.equal(partial.status, 404, 'regex is a full match');
  assert.equal((await get('/case/x')).body, 'nocase');
  const nr = await get('/zzz');
  assert.equal(nr.status, 404);
  assert.equal(nr.body, '');
  assert.equal(nr.headers['content-length'], '0');
  assert.equal(nr.headers.server, 'envoy');
  assert.match(logs.at(-1)!, /" 404 NR route_not_found /);
});

test('route() matches headers, :authority with port, :method, presence, inverted and query parameters', async () => {
  await applyRoutes([
    direct('hdr', { headers: [{ name: 'end-user', match: { exact: 'jason' } }] }),
    direct('auth', { headers: [{ name: ':authority', match: { exact: 'reviews:9080' } }, { name: ':method', match: { exact: 'PUT' } }] }),
    direct('present', { headers: [{ name: 'x-present', present: true }] }),
    direct('without', { path: { prefix: '/w' }, headers: [{ name: 'x-block', present: true, invert: true }] }),
    direct('notequal', { path: { prefix: '/n' }, headers: [{ name: 'x-v', match: { exact: 'no' }, invert: true }] }),
    direct('query', { query: [{ name: 'q', match: { regex: 'v[0-9]' } }, { name: 'e', match: { exact: '' } }] }),
    direct('qpresent', { query: [{ name: 'flag', present: true }] }),
  ]);
  assert.equal((await get('/x', { 'end-user': 'jason' })).body, 'hdr');
  assert.equal((await get('/x', { 'end-user': 'jasonx' })).status, 404);
  assert.equal((await send(POD, out, 'http://reviews:9080/x', { method: 'PUT' })).body, 'auth');
  assert.equal((await send(POD, out, 'http://reviews.default:9080/x', { method: 'PUT' })).status, 404, ':authority is the Host as sent');
  assert.equal((await get('/x', { 'x-present': '' })).body, 'present');
  assert.equal((await get('/w')).body, 'without');
  assert.equal((await get('/w', { 'x-block': '1' })).status, 404);
  assert.equal((await get('/n')).body, 'notequal', 'missing header matches an inverted value matcher');
  assert.equal((await get('/n', { 'x-v': 'no' })).status, 404);
  assert.equal((await get('/x?q=v1&e=')).body, 'query');
  assert.equal((await get('/x?q=v1&e=1')).status, 404);
  assert.equal((await get('/x?flag')).body, 'qpresent');
});

test('virtual hosts are found by exact name, *.suffix and prefix.*, ignoring the port; origin-form with Host works too', async () => {
  await applyRoutes([direct('ok', {})]);
  assert.equal((await get('/', undefined, 'reviews.default.svc.cluster.local:9080')).body, 'ok');
  assert.equal((await get('/', undefined, 'x.wild.example:9080')).body, 'ok');
  assert.equal((await get('/', undefined, 'pre.anything:9080')).body, 'ok');
  const origin = await send(POD, out, '/', { headers: { host: 'reviews:9080' } });
  assert.equal(origin.body, 'ok');
});

test('weighted clusters split requests by weight; headers ops apply per route and destination', async () => {
  // 0, .25, .5, .75, ...: exactly three picks in four land below 75/100.
  random = cycle(4);
  await applyRoutes([
    {
      name: 'split',
      match: {},
      headers: { request: { set: { 'x-route': 'r' }, remove: ['x-drop'] }, response: { set: { 'x-resp': 'yes' }, remove: ['x-remove-me'] } },
      action: {
        kind: 'route',
        clusters: [
          { cluster: 'outbound|9080||a', weight: 75, headers: { request: { add: { 'x-dest': 'a' } } } },
          { cluster: 'outbound|9080||b', weight: 25 },
        ],
        timeoutMs: 0,
        retry: { numRetries: 0, retryOn: [], retryIgnorePreviousHosts: true, backoffBaseMs: 25 },
      },
    },
  ]);
  const counts: Record<string, number> = { a: 0, b: 0 };
  for (let i = 0; i < 40; i++) counts[(await get('/w')).body]++;
  random = () => 0;
  assert.equal(counts.a, 30);
  assert.equal(counts.b, 10);
  seenA.length = 0;
  const r = await get('/echo', { 'x-drop': '1', 'x-route': 'client' });
  random = Math.random;
  assert.equal(r.headers['x-served-by'], 'a');
  const h = seenA.at(-1)!.headers;
  assert.equal(h['x-route'], 'r');
  assert.equal(h['x-drop'], undefined);
  assert.equal(h['x-dest'], 'a');
  assert.equal(h['x-envoy-attempt-count'], '1');
  assert.equal(h['x-forwarded-proto'], 'http');
  assert.match(String(h['x-request-id']), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(r.headers['x-remove-me'], undefined);
  assert.equal(r.headers['x-resp'], 'yes');
  assert.equal(r.headers.server, 'envoy');
  assert.match(String(r.headers['x-envoy-upstream-service-time']), /^\d+$/);
});

test('a missing cluster is 503 NC with an empty body; a cluster without ready endpoints is 503 UH', async () => {
  await applyRoutes([defaultRoute('outbound|9080|v9|missing', { match: { path: { prefix: '/nc' } } }), defaultRoute('outbound|9080||sick')], {
    clusters: [cluster('outbound|9080||sick', [{ address: APP_A, port: portA, ready: false }])],
  });
  const nc = await get('/nc');
  assert.equal(nc.status, 503);
  assert.equal(nc.body, '');
  assert.match(logs.at(-1)!, /" 503 NC cluster_not_found /);
  const uh = await get('/uh');
  assert.equal(uh.status, 503);
  assert.equal(uh.body, 'no healthy upstream');
  assert.equal(uh.headers['content-type'], 'text/plain');
  assert.match(logs.at(-1)!, /" 503 UH no_healthy_upstream /);
});

test('redirect answers 301 with Location; direct response answers its status and body', async () => {
  await applyRoutes([
    { name: 'r1', match: { path: { prefix: '/old' } }, action: { kind: 'redirect', prefixRewrite: '/new', responseCode: 301 } },
    { name: 'r2', match: { path: { exact: '/moved' } }, action: { kind: 'redirect', path: '/there', host: 'example.com', scheme: 'https', responseCode: 302 } },
    { name: 'd', match: { path: { exact: '/teapot' } }, action: { kind: 'direct', status: 418, body: 'short and stout' } },
  ]);
  const r1 = await get('/old/x?y=1');
  assert.equal(r1.status, 301);
  assert.equal(r1.headers.location, 'http://reviews:9080/new/x?y=1');
  assert.equal(r1.body, '');
  const r2 = await get('/moved');
  assert.equal(r2.status, 302);
  assert.equal(r2.headers.location, 'https://example.com/there');
  const d = await get('/teapot');
  assert.equal(d.status, 418);
  assert.equal(d.body, 'short and stout');
  assert.equal(d.headers['content-type'], 'text/plain');
});

test('prefixRewrite replaces the matched prefix and sets x-envoy-original-path; regexRewrite and hostRewrite apply', async () => {
  const rc = routeConfig('9080', ['reviews'], [
    { ...defaultRoute('outbound|9080||a'), match: { path: { prefix: '/api/' } }, action: { ...(defaultRoute('outbound|9080||a').action as object), prefixRewrite: '/', hostRewrite: 'internal.example' } as Route['action'] },
    { ...defaultRoute('outbound|9080||a'), match: { path: { prefix: '/v1/' } }, action: { ...(defaultRoute('outbound|9080||a').action as object), regexRewrite: { pattern: '^/v1/(\\w+)/(\\d+)$', substitution: '/\\2/\\1' } } as Route['action'] },
  ]);
  await proxy.apply(withOutbound(emptyConfig(node('client', POD)), 9080, rc, [cluster('outbound|9080||a', [{ address: APP_A, port: portA }])]), 'rw');
  seenA.length = 0;
  await get('/api/users?id=3');
  assert.equal(seenA[0].url, '/users?id=3');
  assert.equal(seenA[0].headers['x-envoy-original-path'], '/api/users?id=3');
  assert.equal(seenA[0].headers.host, 'internal.example');
  await get('/v1/books/42');
  assert.equal(seenA[1].url, '/42/books');
  assert.match(logs.at(-1)!, /"GET \/v1\/books\/42 HTTP\/1.1"/, 'the access log shows the original path');
});

test('the access log line follows Istio\'s default format field by field', async () => {
  await applyRoutes([defaultRoute('outbound|9080||b')]);
  await get('/log?x=1', { 'user-agent': 'curl/8', 'x-request-id': 'rid-1', 'x-forwarded-for': '10.0.0.9' });
  const line = logs.at(-1)!;
  const re = new RegExp(
    String.raw`^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "GET /log\?x=1 HTTP/1\.1" 200 - via_upstream - "-" 0 1 \d+ \d+ "10\.0\.0\.9" "curl/8" "rid-1" "reviews:9080" "127\.77\.1\.3:${portB}" outbound\|9080\|\|b 127\.77\.1\.1:\d+ 127\.77\.1\.1:${out} 127\.0\.0\.1:\d+ - default$`,
  );
  assert.match(line, re);
});

test('the route\'s hash policy gives the cluster a consistent-hash key: one x-user always lands on one host', async () => {
  const both = cluster('outbound|9080||ring', [{ address: APP_A, port: portA }, { address: APP_B, port: portB }], { lbPolicy: 'RING_HASH', ringHash: { minimumRingSize: 1024 } });
  const base = defaultRoute('outbound|9080||ring');
  await applyRoutes([{ ...base, action: { ...(base.action as object), hashPolicy: [{ header: 'x-user' }] } as Route['action'] }], { clusters: [both] });
  for (const user of ['alice', 'bob', 'carol']) {
    const first = (await get('/h', { 'x-user': user })).body;
    for (let i = 0; i < 5; i++) assert.equal((await get('/h', { 'x-user': user })).body, first);
  }
});

test('a relayed response keeps the upstream lines it may, as read or lowercased, and drops hop-by-hop and the proxy\'s own', async () => {
  // An upstream that answers each request with the head `reply` says (raw bytes, so the names' case is the test's).
  let reply = '';
  const raw = net.createServer((c) => c.on('data', () => c.write(reply)));
  await new Promise<void>((resolve) => raw.listen(0, '127.77.1.4', resolve));
  servers.push(raw);
  const port = (raw.address() as net.AddressInfo).port;
  await applyRoutes([{ ...defaultRoute('outbound|9080||raw'), headers: { response: { set: { 'x-resp': 'yes' }, remove: ['x-remove-me'] } } }], {
    clusters: [cluster('outbound|9080||raw', [{ address: '127.77.1.4', port }])],
  });
  /** The response head and body as the client reads them, with the service time blanked. */
  const fetchRaw = async (): Promise<string> => {
    const c = net.connect(out, POD);
    c.write('GET http://reviews:9080/raw HTTP/1.1\r\nhost: reviews:9080\r\n\r\n');
    let text = '';
    for await (const d of c) {
      text += (d as Buffer).toString('latin1');
      if (/\r\n\r\n(ok|2\r\nok\r\n0\r\n\r\n)$/.test(text)) break;
    }
    c.destroy();
    return text.replace(/x-envoy-upstream-service-time: \d+/, 'x-envoy-upstream-service-time: N');
  };
  const lines = (names: (n: string) => string): string =>
    ['HTTP/1.1 200 OK', 'date: Tue, 01 Dec 2026 10:00:00 GMT', 'connection: keep-alive, x-hop', 'x-hop: 1', 'x-keep: a', 'server: upstream', 'x-remove-me: 1',
      'x-envoy-upstream-service-time: 99', 'keep-alive: timeout=5', 'x-after:  b ', 'content-length: 2']
      .map((l, i) => (i === 0 ? l : names(l.slice(0, l.indexOf(':'))) + l.slice(l.indexOf(':'))))
      .join('\r\n') + '\r\n\r\nok';
  const expected = 'HTTP/1.1 200 OK\r\ndate: Tue, 01 Dec 2026 10:00:00 GMT\r\nx-keep: a\r\nx-after: b\r\ncontent-length: 2\r\nx-resp: yes\r\nserver: envoy\r\nx-envoy-upstream-service-time: N\r\n\r\nok';
  // Lowercase names: the kept lines go on as read (the value's whitespace too).
  reply = lines((n) => n);
  assert.equal(await fetchRaw(), expected.replace('x-after: b', 'x-after:  b '));
  // Names in other cases are lowercased, pair by pair, to the same header lines.
  reply = lines((n) => n.replace(/(^|-)[a-z]/g, (m) => m.toUpperCase()));
  assert.equal(await fetchRaw(), expected);
  reply = lines((n) => (n === 'x-keep' ? 'X-KEEP' : n));
  assert.equal(await fetchRaw(), expected);
  // A chunked upstream body is framed again by the proxy: its Transfer-Encoding line is not passed on.
  reply = 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-keep: a\r\n\r\n2\r\nok\r\n0\r\n\r\n';
  assert.match(await fetchRaw(), /^HTTP\/1\.1 200 OK\r\nx-keep: a\r\nx-resp: yes\r\nserver: envoy\r\nx-envoy-upstream-service-time: N\r\ndate: [^\r]+\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n$/);
});
