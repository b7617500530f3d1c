import assert from 'node:assert/strict';
import http from 'node:http';
import type http2 from 'node:http2';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { closeH2, endedWithHeaders, h2App, h2Connect, h2Request } from './h2.test-helper.ts';
import type { Proxy } from './index.ts';
import type { Cluster, ProxyConfig } from './model.ts';
import { app, closeAll, cluster, defaultRoute, emptyConfig, meta, node, routeConfig, send, startProxy, until, withOutbound } from './proxy.test-helper.ts';

// This file's addresses: 127.77.40.0/24. Client pod .1 (app .2), server pod .3 (apps .4).
const CLIENT_POD = '127.77.40.1';
const SERVER_POD = '127.77.40.3';
const SERVER_APP = '127.77.40.4';
const H2_PORT = 9090;
const H1_PORT = 9080;
const HOLD_PORT = 9091;
const DEAD_PORT = 9092;

const H2_FQDN = 'echo2.default.svc.cluster.local';
const H1_FQDN = 'web.default.svc.cluster.local';
const H2_CLUSTER = `outbound|${H2_PORT}||${H2_FQDN}`;
const H1_CLUSTER = `outbound|${H1_PORT}||${H1_FQDN}`;
const HOLD_CLUSTER = 'outbound|9091||hold.default.svc.cluster.local';
const DEAD_CLUSTER = 'outbound|9092||dead.default.svc.cluster.local';

let client: Proxy;
let server: Proxy;
let clientLogs: string[];
let serverLogs: string[];
let out: number;
let clientAdmin: number;
let h2AppPort: number;
let h2Sessions: () => number;
const h1Seen: http.IncomingMessage[] = [];
const h2Servers: http2.Http2Server[] = [];
const h1Servers: http.Server[] = [];
const held: Array<() => void> = [];
let holdSeen = 0;

before(async () => {
  // The h2c app echoes what it got: request headers as x-echo-*, the body, request trailers as a response trailer.
  const echo = await h2App(SERVER_APP, (stream, headers, body, trailers) => {
    stream.respond({ ':status': 201, 'content-type': 'text/plain', 'x-echo-req': String(headers['x-req'] ?? ''), 'x-echo-te': String(headers.te ?? '') }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'x-app-trailer': 'done', 'x-got-req-trailer': String(trailers?.['x-req-trailer'] ?? '') }));
    stream.end(body.length ? body : 'empty');
  });
  h2AppPort = echo.port;
  h2Sessions = echo.sessions;
  // An h2c app that holds requests until released (overflow test).
  const hold = await h2App(SERVER_APP, (stream) => {
    holdSeen++;
    held.push(() => {
      stream.respond({ ':status': 200 });
      stream.end('released');
    });
  });
  const web = await app(SERVER_APP, 0, (req, res, body) => {
    h1Seen.push(req);
    res.writeHead(200, { 'content-type': 'text/plain', 'x-http-version': req.httpVersion });
    res.end(`h1:${body}`);
  });
  h2Servers.push(echo.server, hold.server);
  h1Servers.push(web.server);

  const c = await startProxy({ podIP: CLIENT_POD, appIP: '127.77.40.2' });
  client = c.proxy;
  clientLogs = c.logs;
  out = c.out;
  clientAdmin = c.admin;
  const s = await startProxy({ podIP: SERVER_POD, appIP: SERVER_APP });
  server = s.proxy;
  serverLogs = s.logs;

  // Server side: inbound 9090 (HTTP/2 to the app: the control plane's inbound cluster for a grpc/http2 port), 9080 (HTTP/1.1).
  const inbound2 = cluster(`inbound|${H2_PORT}||`, [], { protocol: 'http2' });
  await server.apply(
    {
      ...emptyConfig(node('echo-v1', SERVER_POD, { appIP: SERVER_APP })),
      inbound: [
        { port: H2_PORT, bindPort: H2_PORT, appPort: echo.port, protocol: 'http', cluster: `inbound|${H2_PORT}||`, services: [{ host: H2_FQDN, name: 'echo2', namespace: 'default' }] },
        { port: H1_PORT, bindPort: H1_PORT, appPort: web.port, protocol: 'http', cluster: `inbound|${H1_PORT}||`, services: [{ host: H1_FQDN, name: 'web', namespace: 'default' }] },
      ],
      clusters: { [inbound2.name]: inbound2 },
    },
    's1',
  );

  const dest = meta('echo-v1');
  const h2Cluster = cluster(H2_CLUSTER, [{ address: SERVER_POD, port: H2_PORT, workload: dest }], { protocol: 'http2', service: { host: H2_FQDN, name: 'echo2', namespace: 'default', port: H2_PORT } });
  const h1Cluster = cluster(H1_CLUSTER, [{ address: SERVER_POD, port: H1_PORT, workload: dest }], { service: { host: H1_FQDN, name: 'web', namespace: 'default', port: H1_PORT } });
  // Straight to the holding app, one stream at a time across the cluster.
  const holdCluster = cluster(HOLD_CLUSTER, [{ address: SERVER_APP, port: hold.port }], { protocol: 'http2', circuitBreakers: { maxConnections: 1, maxPendingRequests: 1, maxRequests: 1, maxRetries: 3 } });
  const deadPort = await closedPort(SERVER_APP);
  const deadCluster = cluster(DEAD_CLUSTER, [{ address: SERVER_APP, port: deadPort }], { protocol: 'http2' });
  let cfg: ProxyConfig = emptyConfig(node('client-v1', CLIENT_POD));
  cfg = withOutbound(cfg, H2_PORT, routeConfig(String(H2_PORT), ['echo2', H2_FQDN], [defaultRoute(H2_CLUSTER)]), [h2Cluster]);
  cfg = withOutbound(cfg, H1_PORT, routeConfig(String(H1_PORT), ['web', H1_FQDN], [defaultRoute(H1_CLUSTER)]), [h1Cluster]);
  cfg = withOutbound(cfg, HOLD_PORT, routeConfig(String(HOLD_PORT), ['hold'], [defaultRoute(HOLD_CLUSTER)]), [holdCluster]);
  cfg = withOutbound(cfg, DEAD_PORT, routeConfig(String(DEAD_PORT), ['dead'], [defaultRoute(DEAD_CLUSTER)]), [deadCluster as Cluster]);
  await client.apply(cfg, 'c1');
});

after(async () => {
  for (const release of held.splice(0)) release();
  await Promise.all([client.close(), server.close()]);
  await closeH2(h2Servers);
  await closeAll(h1Servers);
});

function closedPort(ip: string): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, ip, () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

test('h2c client → outbound → inbound → h2c app: headers, body and trailers both ways, HTTP/2 in the access logs', async () => {
  const session = await h2Connect(CLIENT_POD, out);
  try {
    const r = await h2Request(session, { ':path': '/echo', ':authority': `echo2:${H2_PORT}`, 'x-req': 'a' }, 'hello over h2', { 'x-req-trailer': 'rt' });
    assert.equal(r.status, 201);
    assert.equal(r.headers['x-echo-req'], 'a');
    assert.equal(r.headers.server, 'envoy');
    assert.equal(r.body.toString(), 'hello over h2');
    assert.equal(r.trailers?.['x-app-trailer'], 'done', 'response trailers reach the client');
    assert.equal(r.trailers?.['x-got-req-trailer'], 'rt', 'request trailers reach the app');
  } finally {
    session.close();
  }
  await until(() => clientLogs.some((l) => l.includes('/echo')) && serverLogs.some((l) => l.includes('/echo')));
  assert.match(clientLogs.find((l) => l.includes('/echo'))!, /"POST \/echo HTTP\/2" 201 - via_upstream /);
  assert.match(serverLogs.find((l) => l.includes('/echo'))!, /"POST \/echo HTTP\/2" 201 - via_upstream /);
});

test('an HTTP/1.1 client reaches an http2 cluster: translated both ways, reason phrase restored', async () => {
  const res = await new Promise<{ status: number; message: string; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request({ host: CLIENT_POD, port: out, method: 'POST', path: `http://echo2:${H2_PORT}/h1`, headers: { 'x-req': 'b' }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, message: res.statusMessage ?? '', headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end('chunked body');
  });
  assert.equal(res.status, 201);
  assert.equal(res.message, 'Created');
  assert.equal(res.headers['x-echo-req'], 'b');
  assert.equal(res.body, 'chunked body');
  assert.equal(res.headers['x-app-trailer'], undefined, 'trailers are not forwarded to HTTP/1.1 clients (Envoy default)');
});

test('an h2c client reaches an HTTP/1.1 cluster, bodiless requests included', async () => {
  const session = await h2Connect(CLIENT_POD, out);
  try {
    const post = await h2Request(session, { ':path': '/x', ':authority': `web:${H1_PORT}` }, 'payload');
    assert.equal(post.status, 200);
    assert.equal(post.body.toString(), 'h1:payload');
    assert.equal(post.headers['x-http-version'], '1.1');
    const get = await h2Request(session, { ':path': '/y', ':authority': `web:${H1_PORT}` });
    assert.equal(get.status, 200);
    assert.equal(get.body.toString(), 'h1:');
    const seen = h1Seen.at(-1)!;
    assert.equal(seen.headers.host, `web:${H1_PORT}`, ':authority becomes Host');
    assert.equal(seen.headers['transfer-encoding'], undefined, 'a request without body is sent without one');
  } finally {
    session.close();
  }
});

test('concurrent requests to an http2 cluster share one upstream session', async () => {
  const before = h2Sessions();
  const session = await h2Connect(CLIENT_POD, out);
  try {
    const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => h2Request(session, { ':path': `/c${i}`, ':authority': `echo2:${H2_PORT}` }, `m${i}`)));
    assert.deepEqual(
      rs.map((r) => r.body.toString()),
      Array.from({ length: 8 }, (_, i) => `m${i}`),
    );
  } finally {
    session.close();
  }
  assert.equal(h2Sessions() - before, 0, 'the server proxy reuses its session to the app');
  const stats = (await send(CLIENT_POD, clientAdmin, '/stats')).body;
  assert.match(stats, new RegExp(`^cluster\\.${H2_CLUSTER.replace(/[|.]/g, '\\$&')}\\.upstream_cx_total: 1$`, 'm'), 'every request so far rode one session');
});

test('an http2 cluster overflows on maxRequests (active streams): 503 UO with x-envoy-overloaded', async () => {
  const first = send(CLIENT_POD, out, `http://hold:${HOLD_PORT}/first`);
  await until(() => holdSeen === 1);
  const second = await send(CLIENT_POD, out, `http://hold:${HOLD_PORT}/second`);
  assert.equal(second.status, 503);
  assert.equal(second.headers['x-envoy-overloaded'], 'true');
  assert.equal(second.body, 'upstream connect error or disconnect/reset before headers. reset reason: overflow');
  held.shift()!();
  assert.equal((await first).body, 'released');
  await until(() => clientLogs.some((l) => l.includes('/second')));
  assert.match(clientLogs.find((l) => l.includes('/second'))!, /" 503 UO upstream_reset_before_response_started\{overflow\} /);
});

test('a connect failure to an http2 cluster is UF, retried by the default policy', async () => {
  const session = await h2Connect(CLIENT_POD, out);
  try {
    const r = await h2Request(session, { ':path': '/nope', ':authority': `dead:${DEAD_PORT}` });
    assert.equal(r.status, 503);
    assert.match(r.body.toString(), /retried and the latest reset reason: connection failure/);
  } finally {
    session.close();
  }
  await until(() => clientLogs.some((l) => l.includes('/nope')));
  assert.match(clientLogs.find((l) => l.includes('/nope'))!, /"GET \/nope HTTP\/2" 503 UF,URX /);
});

test('HTTP/1.1 Upgrade: h2c is ignored: the request is answered over HTTP/1.1', async () => {
  const text = await new Promise<string>((resolve, reject) => {
    const s = net.connect(out, CLIENT_POD, () => {
      s.write(`GET http://web:${H1_PORT}/up HTTP/1.1\r\nHost: web:${H1_PORT}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n`);
    });
    let got = '';
    s.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      if (got.includes('h1:')) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
  });
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  const seen = h1Seen.at(-1)!;
  assert.equal(seen.url, '/up');
  assert.equal(seen.headers.upgrade, undefined);
  assert.equal(seen.headers['http2-settings'], undefined);
});

test('local replies to h2 clients are single HEADERS frames when bodiless, and carry their body otherwise', async () => {
  const session = await h2Connect(CLIENT_POD, out);
  try {
    // No virtual host for this name on the port: REGISTRY_ONLY is off, so ALLOW_ANY refuses a non-loopback name with a body.
    const refused = await h2Request(session, { ':path': '/', ':authority': `nowhere.example:${H1_PORT}` });
    assert.equal(refused.status, 502);
    assert.match(refused.body.toString(), /cannot pass/);
    assert.equal(endedWithHeaders(refused), false);
  } finally {
    session.close();
  }
});

test('drainInbound() sends GOAWAY on inbound HTTP/2 sessions after their streams, then they close', async () => {
  const session = await h2Connect(SERVER_POD, H2_PORT);
  const r = await h2Request(session, { ':path': '/before-drain', ':authority': `echo2:${H2_PORT}` }, 'x');
  assert.equal(r.status, 201);
  let goaway = false;
  session.on('goaway', () => (goaway = true));
  const closed = new Promise<void>((resolve) => session.on('close', () => resolve()));
  await server.drainInbound();
  await closed;
  assert.ok(goaway, 'the client was told to go away');
});
