import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { createClusterManager } from './index.ts';
import type { ClusterManager, UpstreamCluster } from './types.ts';
import type { H2Call } from './h2-call.ts';
import { type Cluster, MAX_U32 } from '../model.ts';
import { type Result, makeCluster, send, until } from './upstream.test-helper.ts';

// This file's addresses: 127.77.42.0/24. The pool binds .1, servers listen on .2.
const LOCAL = '127.77.42.1';
const SERVER = '127.77.42.2';

interface H2Server {
  port: number;
  /** Sessions accepted, open now, and their peers' addresses. */
  sessions: number;
  open: number;
  peers: string[];
  held: Array<() => void>;
  close(): Promise<void>;
}

const managers: ClusterManager[] = [];
const servers: H2Server[] = [];
after(async () => {
  await Promise.all(managers.map((m) => m.close()));
  await Promise.all(servers.map((s) => s.close()));
});

/** An h2c server: `/hold` waits for release, `/goaway` answers then sends GOAWAY, `/refuse` and `/reset` reset the stream, anything else answers 200 with its path. */
async function h2Server(): Promise<H2Server> {
  const srv = http2.createServer();
  const live = new Set<http2.ServerHttp2Session>();
  const s: H2Server = {
    port: 0,
    sessions: 0,
    open: 0,
    peers: [],
    held: [],
    close: () => {
      for (const x of live) x.destroy();
      return new Promise((resolve) => srv.close(() => resolve()));
    },
  };
  srv.on('session', (x) => {
    s.sessions++;
    s.open++;
    s.peers.push(x.socket.remoteAddress ?? '');
    live.add(x);
    x.on('close', () => {
      s.open--;
      live.delete(x);
    });
  });
  srv.on('stream', (st, h) => {
    st.on('error', () => {});
    const path = String(h[':path']);
    st.resume();
    if (path === '/refuse') return st.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    if (path === '/reset') return st.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    const answer = (): void => {
      if (st.destroyed) return;
      st.respond({ ':status': 200 });
      st.end(path);
    };
    if (path === '/hold') return void s.held.push(answer);
    answer();
    if (path === '/goaway') st.session?.close();
  });
  await new Promise<void>((resolve) => srv.listen(0, SERVER, resolve));
  s.port = (srv.address() as net.AddressInfo).port;
  servers.push(s);
  return s;
}

function h2Cluster(port: number, cfg: Partial<Cluster> = {}): UpstreamCluster {
  const m = createClusterManager({ localAddress: LOCAL });
  managers.push(m);
  m.update({ c: makeCluster({ name: 'c', protocol: 'http2', endpoints: [{ address: SERVER, port, ready: true }], ...cfg }) });
  return m.get('c')!;
}

function breakers(maxConnections: number, maxPendingRequests: number, maxRequests: number): Cluster['circuitBreakers'] {
  return { maxConnections, maxPendingRequests, maxRequests, maxRetries: MAX_U32 };
}

function isOverflow(r: Result): boolean {
  return 'failure' in r && r.failure.reason === 'overflow';
}

function body(r: Result): string {
  return 'body' in r ? r.body : `failure ${r.failure.reason}`;
}

test('requests pending while the session connects all attach to it: one session, bound to the local address', async () => {
  const srv = await h2Server();
  const c = h2Cluster(srv.port);
  const host = c.choose({})!;
  const rs = await Promise.all(Array.from({ length: 6 }, (_, i) => send(c, host, `/r${i}`)));
  assert.deepEqual(rs.map(body), ['/r0', '/r1', '/r2', '/r3', '/r4', '/r5']);
  assert.equal(srv.sessions, 1);
  assert.deepEqual(srv.peers, [LOCAL]);
  const st = c.stats();
  assert.equal(st.upstream_cx_total, 1);
  assert.equal(st.upstream_rq_total, 6);
  await until(() => c.stats().upstream_rq_active === 0);
  assert.equal(c.stats().hosts[0].rq_active, 0);
});

test('maxPendingRequests overflows while no session is ready; maxRequests (streams) overflows at attach', async () => {
  const srv = await h2Server();
  const pending = h2Cluster(srv.port, { circuitBreakers: breakers(MAX_U32, 2, MAX_U32) });
  const h1 = pending.choose({})!;
  const a = await Promise.all([send(pending, h1, '/a'), send(pending, h1, '/b'), send(pending, h1, '/c')]);
  assert.deepEqual(a.map(isOverflow), [false, false, true]);
  assert.equal(pending.stats().upstream_rq_pending_overflow, 1);

  const streams = h2Cluster(srv.port, { circuitBreakers: breakers(MAX_U32, MAX_U32, 1) });
  const h2 = streams.choose({})!;
  const b = await Promise.all([send(streams, h2, '/a'), send(streams, h2, '/b'), send(streams, h2, '/c')]);
  assert.deepEqual(b.map(isOverflow), [false, true, true], 'one stream at a time across the cluster');
  // With a ready session the check happens at once (a stream counts until it closes, just after its response).
  await until(() => streams.stats().upstream_rq_active === 0);
  const held = send(streams, h2, '/hold');
  await until(() => srv.held.length === 1);
  assert.ok(isOverflow(await send(streams, h2, '/d')));
  srv.held.shift()!();
  assert.equal(body(await held), '/hold');
});

test('maxConnections caps sessions: a session at maxRequestsPerConnection drains and the next one waits for a slot', async () => {
  const srv = await h2Server();
  const c = h2Cluster(srv.port, { maxRequestsPerConnection: 2, circuitBreakers: breakers(1, MAX_U32, MAX_U32) });
  const host = c.choose({})!;
  const rs: Result[] = [];
  for (let i = 0; i < 5; i++) rs.push(await send(c, host, `/s${i}`));
  assert.deepEqual(rs.map(body), ['/s0', '/s1', '/s2', '/s3', '/s4']);
  assert.equal(srv.sessions, 3, 'two streams per session');
  await until(() => srv.open <= 1);
  assert.ok(c.stats().upstream_cx_active <= 1);
});

test('idle sessions close after idleTimeoutMs', async () => {
  const srv = await h2Server();
  const c = h2Cluster(srv.port, { idleTimeoutMs: 20 });
  assert.equal(body(await send(c, c.choose({})!, '/x')), '/x');
  await until(() => srv.open === 0);
  assert.equal(c.stats().upstream_cx_active, 0);
});

test('a connect failure fails the pending requests with the transport failure reason', async () => {
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, SERVER, () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const c = h2Cluster(port);
  const host = c.choose({})!;
  const rs = await Promise.all([send(c, host), send(c, host)]);
  for (const r of rs) assert.deepEqual(r, { failure: { reason: 'connect-failure', detail: 'delayed connect error: Connection refused' } });
  assert.equal(c.stats().upstream_cx_active, 0);
});

test('GOAWAY from the upstream: the stream in flight finishes, the next request opens a new session', async () => {
  const srv = await h2Server();
  const c = h2Cluster(srv.port);
  const host = c.choose({})!;
  assert.equal(body(await send(c, host, '/goaway')), '/goaway');
  assert.equal(body(await send(c, host, '/after')), '/after');
  assert.equal(srv.sessions, 2);
});

test('stream resets reach the router as errors: REFUSED_STREAM marks the call unprocessed, other codes as a remote reset', async () => {
  const srv = await h2Server();
  const c = h2Cluster(srv.port);
  const host = c.choose({})!;
  const reset = (path: string): Promise<H2Call> =>
    new Promise((resolve, reject) => {
      c.request(host, { method: 'GET', path, headers: ['host', 'svc'], endStream: true }, (err, creq) => {
        if (err) return reject(new Error(err.reason));
        const call = creq as unknown as H2Call;
        creq!.on('response', () => reject(new Error('unexpected response')));
        creq!.on('error', () => resolve(call));
        creq!.end();
      });
    });
  const refused = await reset('/refuse');
  assert.equal(refused.remoteReset, 2);
  assert.equal(refused.reusedSocket, true);
  const other = await reset('/reset');
  assert.equal(other.remoteReset, 1);
  assert.equal(other.reusedSocket, false);
  await until(() => c.stats().upstream_rq_active === 0);
  assert.equal(body(await send(c, host, '/ok')), '/ok', 'the session survives stream resets');
});
