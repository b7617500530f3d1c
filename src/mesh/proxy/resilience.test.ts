import assert from 'node:assert/strict';
import type http from 'node:http';
import { request as httpRequest } from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import type { Proxy } from './index.ts';
import type { Cluster, Route, RouteAction } from './model.ts';
import { app, closeAll, cluster, emptyConfig, freePort, node, routeConfig, send, startProxy, until, withOutbound } from './proxy.test-helper.ts';

// This file's addresses: 127.77.2.0/24.
const POD = '127.77.2.1';
const APP = '127.77.2.2';
const APP2 = '127.77.2.3';
const DEAD = '127.77.2.4';

let proxy: Proxy;
let logs: string[];
let out: number;
let appPort: number;
let app2Port: number;
let deadPort: number;
const servers: http.Server[] = [];
/** Scripted statuses per path: the app answers the next one each time (then 200). */
const script = new Map<string, number[]>();
const hits = new Map<string, number>();
const held: http.ServerResponse[] = [];
const seen: Array<{ url?: string; attempt?: string; body: string; headers: http.IncomingHttpHeaders }> = [];

before(async () => {
  const a = await app(APP, 0, (req, res, body) => {
    const path = (req.url ?? '/').split('?')[0];
    hits.set(path, (hits.get(path) ?? 0) + 1);
    seen.push({ url: req.url, attempt: req.headers['x-envoy-attempt-count'] as string, body, headers: req.headers });
    if (path === '/hold') return void held.push(res);
    if (path === '/overloaded') {
      // Another proxy's overflow answer, passed back to this one.
      res.writeHead(503, { 'x-envoy-overloaded': 'true' });
      return void res.end('overflow');
    }
    const st = script.get(path)?.shift() ?? 200;
    res.writeHead(st, { 'content-type': 'text/plain' });
    res.end(`${st}`);
  });
  const b = await app(APP2, 0, (req, res, body) => {
    seen.push({ url: `mirror:${req.url}`, body, headers: req.headers });
    res.end('mirror');
  });
  servers.push(a.server, b.server);
  appPort = a.port;
  app2Port = b.port;
  deadPort = await freePort(DEAD);
  const p = await startProxy({ podIP: POD });
  proxy = p.proxy;
  logs = p.logs;
  out = p.out;
});

after(async () => {
  for (const r of held) r.destroy();
  await proxy.close();
  await closeAll(servers);
});

const C = 'outbound|80||svc.default.svc.cluster.local';

function r(extra: Partial<Route>, action: Partial<RouteAction & { kind: 'route' }> = {}, clusterName = C): Route {
  return {
    name: 'r',
    match: {},
    ...extra,
    action: { kind: 'route', clusters: [{ cluster: clusterName, weight: 100 }], timeoutMs: 0, retry: { numRetries: 0, retryOn: [], retryIgnorePreviousHosts: true, backoffBaseMs: 1 }, ...action },
  };
}

async function apply(routes: Route[], clusters: Cluster[] = [cluster(C, [{ address: APP, port: appPort }])]): Promise<void> {
  const rc = routeConfig('80', ['svc', 'svc.default.svc.cluster.local'], routes);
  await proxy.apply(withOutbound(emptyConfig(node('client', POD)), 80, rc, [...clusters, cluster('mirror', [{ address: APP2, port: app2Port }])]), `v${Math.random()}`);
}

const get = (path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}) => send(POD, out, `http://svc${path}`, opts);
const lastLog = () => logs.at(-1)!;

test('fault abort answers its status with body "fault filter abort" and flag FI, never reaching the app', async () => {
  await apply([r({ fault: { abort: { httpStatus: 418, perMillion: 1000000 } } })]);
  hits.clear();
  const res = await get('/f');
  assert.equal(res.status, 418);
  assert.equal(res.body, 'fault filter abort');
  assert.equal(res.headers['content-type'], 'text/plain');
  assert.equal(res.headers['content-length'], '18');
  assert.equal(hits.get('/f'), undefined);
  assert.match(lastLog(), /" 418 FI fault_filter_abort /);
});

test('fault delay marks DI, still reaches the app, and does not count against the route timeout', async () => {
  // The delay is longer than the route timeout; the upstream itself has the whole timeout to answer.
  await apply([r({ fault: { delay: { fixedDelayMs: 500, perMillion: 1000000 } } }, { timeoutMs: 400 })]);
  const res = await get('/d');
  assert.equal(res.status, 200);
  assert.match(lastLog(), /" 200 DI via_upstream /);
  await apply([r({ fault: { delay: { fixedDelayMs: 1, perMillion: 1000000 }, abort: { httpStatus: 503, perMillion: 1000000 } } })]);
  assert.equal((await get('/d')).status, 503);
  assert.match(lastLog(), /" 503 DI,FI fault_filter_abort /);
});

test('a fault percentage of 0 never fires', async () => {
  await apply([r({ fault: { abort: { httpStatus: 500, perMillion: 0 } } })]);
  assert.equal((await get('/z')).status, 200);
});

test('route timeout answers 504 "upstream request timeout" with flag UT and x-envoy-expected-rq-timeout-ms upstream', async () => {
  await apply([r({}, { timeoutMs: 80 })]);
  seen.length = 0;
  const res = await get('/hold');
  assert.equal(res.status, 504);
  assert.equal(res.body, 'upstream request timeout');
  assert.match(lastLog(), /" 504 UT upstream_response_timeout /);
  assert.equal(seen[0].headers['x-envoy-expected-rq-timeout-ms'], '80');
});

test('per-try timeout retries (5xx policy) and ends in 504 UT,URX', async () => {
  await apply([r({}, { timeoutMs: 0, retry: { numRetries: 1, retryOn: ['5xx'], perTryTimeoutMs: 40, retryIgnorePreviousHosts: true, backoffBaseMs: 1 } })]);
  hits.clear();
  const res = await get('/hold');
  assert.equal(res.status, 504);
  assert.equal(hits.get('/hold'), 2);
  assert.match(lastLog(), /" 504 UT,URX upstream_per_try_timeout /);
});

test('5xx responses are retried with retryOn 5xx; x-envoy-attempt-count counts the attempts', async () => {
  await apply([r({}, { retry: { numRetries: 2, retryOn: ['5xx'], retryIgnorePreviousHosts: true, backoffBaseMs: 1 } })]);
  script.set('/flaky', [503, 500]);
  seen.length = 0;
  const res = await get('/flaky');
  assert.equal(res.status, 200);
  assert.deepEqual(
    seen.map((s) => s.attempt),
    ['1', '2', '3'],
  );
  assert.match(lastLog(), /" 200 - via_upstream /);
  script.set('/bad', [503, 503, 503]);
  const bad = await get('/bad');
  assert.equal(bad.status, 503, 'the last upstream answer is returned');
  assert.equal(bad.body, '503');
  assert.match(lastLog(), /" 503 URX via_upstream /);
  // A 5xx carrying x-envoy-overloaded is never retried (Envoy's wouldRetryFromHeaders).
  seen.length = 0;
  const over = await get('/overloaded');
  assert.equal(over.status, 503);
  assert.equal(over.headers['x-envoy-overloaded'], 'true');
  assert.deepEqual(
    seen.map((s) => s.attempt),
    ['1'],
  );
});

test('the default retry policy does not retry a 503 (Istio ≥1.24) but retries a POST body it buffered on retriable-status-codes', async () => {
  await apply([r({}, { retry: { numRetries: 2, retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'], retryIgnorePreviousHosts: true, backoffBaseMs: 1 } })]);
  script.set('/once', [503]);
  hits.clear();
  assert.equal((await get('/once')).status, 503);
  assert.equal(hits.get('/once'), 1);
  await apply([r({}, { retry: { numRetries: 1, retryOn: ['503'], retryIgnorePreviousHosts: true, backoffBaseMs: 1 } })]);
  script.set('/post', [503]);
  seen.length = 0;
  const res = await get('/post', { method: 'POST', body: 'payload', headers: { 'content-type': 'text/plain' } });
  assert.equal(res.status, 200);
  assert.deepEqual(
    seen.map((s) => s.body),
    ['payload', 'payload'],
  );
});

test('connect failure with retries answers 503 "... retried and the latest reset reason: connection failure" with UF,URX; without retries UF only', async () => {
  const dead = [cluster(C, [{ address: DEAD, port: deadPort }])];
  await apply([r({}, { retry: { numRetries: 2, retryOn: ['connect-failure'], retryIgnorePreviousHosts: true, backoffBaseMs: 1 } })], dead);
  const res = await get('/x');
  assert.equal(res.status, 503);
  assert.equal(res.body, 'upstream connect error or disconnect/reset before headers. retried and the latest reset reason: connection failure');
  assert.match(lastLog(), /" 503 UF,URX upstream_reset_before_response_started\{remote_connection_failure\} /);
  await apply([r({})], dead);
  const once = await get('/x');
  assert.equal(once.body, 'upstream connect error or disconnect/reset before headers. reset reason: connection failure');
  assert.match(lastLog(), /" 503 UF upstream_reset_before_response_started/);
});

/** A raw upstream on DEAD that answers every request with `bytes` and closes, routed to by the one route. */
async function rawUpstream(bytes: string): Promise<net.Server> {
  const server = net.createServer((sock) => sock.once('data', () => sock.end(bytes)));
  await new Promise<void>((resolve) => server.listen(0, DEAD, resolve));
  await apply([r({})], [cluster(C, [{ address: DEAD, port: (server.address() as net.AddressInfo).port }])]);
  return server;
}

test('an upstream answer that is not HTTP is a protocol error: 503 "reset reason: protocol error" with flag UPE', async () => {
  const garbage = await rawUpstream('HTTP/1.1 OK no status\r\n\r\n');
  try {
    const res = await get('/x');
    assert.equal(res.status, 503);
    assert.equal(res.body, 'upstream connect error or disconnect/reset before headers. reset reason: protocol error');
    assert.match(lastLog(), /" 503 UPE upstream_reset_before_response_started\{protocol_error\} /);
  } finally {
    await new Promise((resolve) => garbage.close(resolve));
  }
});

test('an upstream that goes away mid-body cuts the response: flag UC, upstream_reset_after_response_started', async () => {
  // The head promises 100,000 bytes; ten come, then the connection closes.
  const cutter = await rawUpstream('HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n0123456789');
  try {
    const before = logs.length;
    const got = await new Promise<{ status: number; bytes: number; complete: boolean }>((resolve) => {
      const req = httpRequest({ host: POD, port: out, path: 'http://svc/cut', agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('close', () => resolve({ status: res.statusCode ?? 0, bytes, complete: res.complete }));
      });
      req.on('error', () => {});
      req.end();
    });
    assert.equal(got.status, 200);
    assert.equal(got.bytes, 10);
    assert.equal(got.complete, false);
    await until(() => logs.length > before);
    assert.match(lastLog(), /" 200 UC upstream_reset_after_response_started\{connection_termination\} /);
  } finally {
    await new Promise((resolve) => cutter.close(resolve));
  }
});

test('a large response reaches a client that stops reading for a while, every byte in order', async () => {
  // 8 MiB: more than the loopback socket buffers hold, so the proxy must wait for the client.
  const body = Buffer.alloc(8 * 1024 * 1024);
  for (let i = 0; i < body.length; i += 4) body.writeUInt32BE(i, i);
  const big = await app(DEAD, 0, (_req, res) => {
    res.writeHead(200, { 'content-length': String(body.length) });
    res.end(body);
  });
  try {
    await apply([r({})], [cluster(C, [{ address: DEAD, port: big.port }])]);
    const got = await new Promise<Buffer>((resolve, reject) => {
      const req = httpRequest({ host: POD, port: out, path: 'http://svc/big', agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.pause();
        setTimeout(() => {
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
          res.resume();
        }, 300);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(got.length, body.length);
    assert.ok(got.equals(body), 'the body arrives unchanged');
    assert.match(lastLog(), /" 200 - via_upstream /);
  } finally {
    await closeAll([big.server]);
  }
});

test('a retry refused by the maxRetries budget is not attempted and adds UO', async () => {
  const c = cluster(C, [{ address: APP, port: appPort }], { circuitBreakers: { maxConnections: 100, maxPendingRequests: 100, maxRequests: 100, maxRetries: 0 } });
  await apply([r({}, { retry: { numRetries: 2, retryOn: ['5xx'], retryIgnorePreviousHosts: true, backoffBaseMs: 1 } })], [c]);
  script.set('/budget', [503]);
  hits.clear();
  const res = await get('/budget');
  assert.equal(res.status, 503);
  assert.equal(hits.get('/budget'), 1);
  assert.match(lastLog(), /" 503 UO via_upstream /);
});

test('circuit-breaker overflow answers 503 with the overflow body, x-envoy-overloaded and UO, and is never retried', async () => {
  const c = cluster(C, [{ address: APP, port: appPort }], { circuitBreakers: { maxConnections: 1, maxPendingRequests: 1, maxRequests: 1, maxRetries: 100 } });
  await apply([r({}, { retry: { numRetries: 2, retryOn: ['5xx', 'reset', 'connect-failure'], retryIgnorePreviousHosts: true, backoffBaseMs: 1 } })], [c]);
  held.length = 0;
  hits.clear();
  const first = get('/hold');
  await until(() => held.length === 1);
  const second = get('/hold');
  await until(() => proxy.registry.expose().includes(`envoy_cluster_upstream_rq_pending_active{cluster_name="${C}"} 1`));
  const third = await get('/hold');
  assert.equal(third.status, 503);
  assert.equal(third.body, 'upstream connect error or disconnect/reset before headers. reset reason: overflow');
  assert.equal(third.headers['x-envoy-overloaded'], 'true');
  assert.match(lastLog(), /" 503 UO upstream_reset_before_response_started\{overflow\} /);
  assert.equal(hits.get('/hold'), 1);
  for (const h of held.splice(0)) h.end('done');
  await until(() => held.length === 1);
  for (const h of held.splice(0)) h.end('done');
  assert.equal((await first).status, 200);
  assert.equal((await second).status, 200);
});

test('mirrors send a copy to the mirror cluster and discard its answer; Host is unchanged', async () => {
  await apply([r({}, { mirrors: [{ cluster: 'mirror', perMillion: 1000000 }] })]);
  seen.length = 0;
  const res = await get('/m', { method: 'POST', body: 'copy me', headers: { 'content-type': 'text/plain' } });
  assert.equal(res.body, '200');
  await until(() => seen.some((s) => s.url === 'mirror:/m'));
  const m = seen.find((s) => s.url === 'mirror:/m')!;
  assert.equal(m.body, 'copy me');
  assert.equal(m.headers.host, 'svc');
});

test('CORS: allowed preflights are answered, simple requests get allow-origin, unmatched preflights are forwarded', async () => {
  await apply([r({ cors: { allowOrigins: [{ exact: 'https://ok.example' }], allowMethods: ['GET', 'POST'], allowHeaders: ['x-a'], exposeHeaders: ['x-b'], maxAge: '60', allowCredentials: true } })]);
  hits.clear();
  const pre = await get('/c', { method: 'OPTIONS', headers: { origin: 'https://ok.example', 'access-control-request-method': 'POST' } });
  assert.equal(pre.status, 200);
  assert.equal(pre.headers['access-control-allow-origin'], 'https://ok.example');
  assert.equal(pre.headers['access-control-allow-methods'], 'GET,POST');
  assert.equal(pre.headers['access-control-allow-headers'], 'x-a');
  assert.equal(pre.headers['access-control-max-age'], '60');
  assert.equal(pre.headers['access-control-allow-credentials'], 'true');
  assert.equal(hits.get('/c'), undefined);
  const simple = await get('/c', { headers: { origin: 'https://ok.example' } });
  assert.equal(simple.headers['access-control-allow-origin'], 'https://ok.example');
  assert.equal(simple.headers['access-control-expose-headers'], 'x-b');
  const other = await get('/c', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
  assert.equal(other.headers['access-control-allow-origin'], undefined);
  assert.equal(hits.get('/c'), 2, 'the unmatched preflight and the simple request reached the app');
});
