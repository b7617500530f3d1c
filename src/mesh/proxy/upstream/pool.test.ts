import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { createClusterManager } from './index.ts';
import type { ClusterManager, UpstreamCluster } from './types.ts';
import type { Cluster } from '../model.ts';
import { MAX_U32 } from '../model.ts';
import { type Result, type TestServer, makeCluster, send, startServer, until } from './upstream.test-helper.ts';

const managers: ClusterManager[] = [];
const servers: TestServer[] = [];
after(async () => {
  await Promise.all(managers.map((m) => m.close()));
  await Promise.all(servers.map((s) => s.close()));
});

async function server(address = '127.0.0.1', delayMs = 0): Promise<TestServer> {
  const s = await startServer(address, delayMs);
  servers.push(s);
  return s;
}

function cluster(cfg: Partial<Cluster>, localAddress = '127.0.0.1'): UpstreamCluster {
  const m = createClusterManager({ localAddress });
  managers.push(m);
  m.update({ c: makeCluster({ name: 'c', ...cfg }) });
  return m.get('c')!;
}

function breakers(maxConnections: number, maxPendingRequests: number, maxRequests = MAX_U32): Cluster['circuitBreakers'] {
  return { maxConnections, maxPendingRequests, maxRequests, maxRetries: MAX_U32 };
}

function isOverflow(r: Result): boolean {
  return 'failure' in r && r.failure.reason === 'overflow';
}

/**
 * `clients` closed-loop clients sharing `total` requests (as fortio -c/-n). Each waits a timer turn
 * after a response, as a real client would wait for the 503 to cross the network.
 */
async function closedLoop(c: UpstreamCluster, clients: number, total: number): Promise<{ ok: number; overflow: number }> {
  let ok = 0;
  let overflow = 0;
  let left = total;
  const host = c.choose({})!;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (left-- > 0) {
        const r = await send(c, host);
        if (isOverflow(r)) overflow++;
        else if ('status' in r && r.status === 200) ok++;
        else assert.fail(`unexpected result ${JSON.stringify(r)}`);
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    }),
  );
  return { ok, overflow };
}

test('request() reuses one keep-alive connection bound to the local address', async () => {
  const s = await server();
  const c = cluster({ endpoints: [s.endpoint] }, '127.0.0.3');
  const h = c.choose({})!;
  for (let i = 0; i < 3; i++) assert.deepEqual(await send(c, h, `/r${i}`), { status: 200, body: `/r${i}` });
  assert.equal(s.accepted, 1);
  assert.deepEqual(s.peers, ['127.0.0.3']);
  const st = c.stats();
  assert.equal(st.upstream_cx_total, 1);
  assert.equal(st.upstream_rq_total, 3);
  assert.equal(st.upstream_rq_active, 0);
  assert.equal(st.hosts[0].rq_total, 3);
});

test('request() with maxRequestsPerConnection 1 opens a new connection per request and closes it after', async () => {
  const s = await server();
  const c = cluster({ endpoints: [s.endpoint], maxRequestsPerConnection: 1 });
  const h = c.choose({})!;
  for (let i = 0; i < 3; i++) assert.equal(((await send(c, h)) as { status: number }).status, 200);
  assert.equal(s.accepted, 3);
  await s.waitOpen(0);
  assert.equal(c.stats().upstream_cx_active, 0);
});

test('maxConnections alone queues requests instead of failing them', async () => {
  const s = await server('127.0.0.1', 1);
  const c = cluster({ endpoints: [s.endpoint], circuitBreakers: breakers(1, MAX_U32) });
  const r = await closedLoop(c, 5, 20);
  assert.deepEqual(r, { ok: 20, overflow: 0 });
  assert.equal(s.maxOpen, 1);
  assert.ok(c.stats().upstream_cx_overflow > 0, 'upstream_cx_overflow counts the blocked connection attempts');
});

test('circuit breaking as in the Istio task: 1 connection, 1 pending, 1 request per connection', async () => {
  const s = await server('127.0.0.1', 1);
  const cfg = { endpoints: [s.endpoint], circuitBreakers: breakers(1, 1), maxRequestsPerConnection: 1 };
  const c1 = cluster(cfg);
  assert.deepEqual(await closedLoop(c1, 1, 20), { ok: 20, overflow: 0 }, 'one client never overflows');

  const shares: number[] = [];
  for (const clients of [2, 3, 10]) {
    const c = cluster(cfg);
    const r = await closedLoop(c, clients, 30);
    assert.equal(r.ok + r.overflow, 30);
    assert.ok(r.ok > 0, `${clients} clients: some requests pass (${JSON.stringify(r)})`);
    const st = c.stats();
    assert.equal(st.upstream_rq_pending_overflow, r.overflow);
    assert.equal(st.upstream_rq_pending_active, 0);
    shares.push(r.overflow / 30);
  }
  assert.ok(shares[1] > 0, `3 clients overflow (${shares})`);
  assert.ok(shares[2] > shares[0], `10 clients overflow a larger share than 2 (${shares})`);
});

test('request() overflows when active requests reach maxRequests', async () => {
  const s = await server();
  s.hold = true;
  const c = cluster({ endpoints: [s.endpoint], circuitBreakers: breakers(MAX_U32, MAX_U32, 1) });
  const h = c.choose({})!;
  const first = send(c, h);
  await until(() => s.held.length === 1);
  const second = await send(c, h);
  assert.ok(isOverflow(second));
  assert.equal(c.stats().upstream_rq_pending_overflow, 1);
  s.release();
  assert.equal(((await first) as { status: number }).status, 200);
  // The slot is free again and the idle connection is reused.
  s.hold = false;
  assert.equal(((await send(c, h)) as { status: number }).status, 200);
});

test('request() fails with connect-failure and Envoy wording when the port refuses', async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const c = cluster({ endpoints: [{ address: '127.0.0.1', port, ready: true }] });
  const h = c.choose({})!;
  // Both pending requests of the host fail with the one connect failure, as Envoy purges them.
  const [a, b] = await Promise.all([send(c, h), send(c, h)]);
  const want = { failure: { reason: 'connect-failure', detail: 'delayed connect error: Connection refused' } };
  assert.deepEqual(a, want);
  assert.deepEqual(b, want);
  assert.equal(c.stats().upstream_rq_pending_active, 0);
  // The second connection (dialled for the second request) fails on its own.
  await until(() => c.stats().upstream_cx_active === 0);
});

/** A listener that never accepts (python, listen backlog 0) with its queue already full: SYNs to it are dropped. */
async function blackholePort(t: { skip(msg: string): void }): Promise<{ port: number; stop(): void } | undefined> {
  const py = spawn('python3', ['-S', '-c', 'import socket,sys\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()'], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const port = await new Promise<number>((resolve) => {
    py.on('error', () => resolve(0));
    py.stdout.once('data', (d) => resolve(Number(String(d).trim())));
  });
  if (!port) {
    t.skip('python3 is not available for a non-accepting listener');
    return undefined;
  }
  const filler = net.connect({ host: '127.0.0.1', port });
  filler.on('error', () => {});
  await new Promise((r) => filler.once('connect', r));
  return {
    port,
    stop() {
      filler.destroy();
      py.kill();
    },
  };
}

test('request() fails with connect-timeout when the connection cannot be established in time', async (t) => {
  const bh = await blackholePort(t);
  if (!bh) return;
  try {
    const c = cluster({ endpoints: [{ address: '127.0.0.1', port: bh.port, ready: true }], connectTimeoutMs: 150 });
    const r = await send(c, c.choose({})!);
    assert.deepEqual(r, { failure: { reason: 'connect-timeout', detail: 'connect timeout' } });
    assert.equal(c.stats().upstream_cx_active, 0);
  } finally {
    bh.stop();
  }
});

test('a cancelled pending request never calls back and leaves the queue', async () => {
  const s = await server();
  s.hold = true;
  const c = cluster({ endpoints: [s.endpoint], circuitBreakers: breakers(1, 5) });
  const h = c.choose({})!;
  const first = send(c, h);
  await until(() => s.held.length === 1);
  let called = false;
  const handle = c.request(h, { method: 'GET', path: '/', headers: ['host', 'svc'] }, () => (called = true));
  assert.equal(c.stats().upstream_rq_pending_active, 1);
  handle.cancel();
  assert.equal(c.stats().upstream_rq_pending_active, 0);
  s.hold = false;
  s.release();
  await first;
  const third = await send(c, h);
  assert.equal((third as { status: number }).status, 200);
  assert.equal(called, false);
});

test('idle pooled connections close after idleTimeoutMs', async () => {
  const s = await server();
  const c = cluster({ endpoints: [s.endpoint], idleTimeoutMs: 40 });
  assert.equal(((await send(c, c.choose({})!)) as { status: number }).status, 200);
  assert.equal(s.open.size, 1);
  await s.waitOpen(0);
  assert.equal(c.stats().upstream_cx_active, 0);
});

test('connectTcp() enforces maxConnections at once and frees the slot when the socket closes', async () => {
  const s = await server();
  const c = cluster({ endpoints: [s.endpoint], protocol: 'tcp', circuitBreakers: breakers(1, MAX_U32) }, '127.0.0.4');
  const h = c.choose({})!;
  const connect = () =>
    new Promise<{ err?: string; socket?: net.Socket }>((resolve) => c.connectTcp(h, (err, socket) => resolve({ err: err?.reason, socket })));
  const a = await connect();
  assert.ok(a.socket);
  assert.equal((await connect()).err, 'overflow');
  assert.equal(c.stats().upstream_cx_overflow, 1);
  a.socket.destroy();
  await until(() => c.stats().upstream_cx_active === 0);
  const b = await connect();
  assert.ok(b.socket);
  assert.equal(b.socket.localAddress, '127.0.0.4');
  b.socket.destroy();
});

test('connectTcp() reports a refused port as connect-failure', async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const c = cluster({ endpoints: [{ address: '127.0.0.1', port, ready: true }], protocol: 'tcp' });
  const err = await new Promise((resolve) => c.connectTcp(c.choose({})!, (e) => resolve(e)));
  assert.deepEqual(err, { reason: 'connect-failure', detail: 'delayed connect error: Connection refused' });
});

test('tryRetry() counts concurrent retries against maxRetries', () => {
  const c = cluster({ circuitBreakers: { maxConnections: MAX_U32, maxPendingRequests: MAX_U32, maxRequests: MAX_U32, maxRetries: 2 } });
  assert.equal(c.tryRetry(), true);
  assert.equal(c.tryRetry(), true);
  assert.equal(c.tryRetry(), false);
  c.retryDone();
  assert.equal(c.tryRetry(), true);
  const st = c.stats();
  assert.equal(st.upstream_rq_retry, 3);
  assert.equal(st.upstream_rq_retry_overflow, 1);
});

test('passthrough clusters send to the original destination; blackhole refuses', async () => {
  const s = await server('127.0.0.5');
  const c = cluster({ type: 'passthrough', lbPolicy: 'PASSTHROUGH' }, '127.0.0.6');
  const h = c.choose({ original: { address: '127.0.0.5', port: s.port } })!;
  assert.deepEqual(await send(c, h, '/pt'), { status: 200, body: '/pt' });
  assert.deepEqual(s.peers, ['127.0.0.6']);
  assert.equal(c.stats().hosts[0].rq_total, 1);
  const bh = cluster({ type: 'blackhole' });
  assert.equal((await send(bh, h)).hasOwnProperty('failure'), true);
});
