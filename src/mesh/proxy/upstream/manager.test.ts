import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClusterManager } from './index.ts';
import type { ClusterManager } from './types.ts';
import { MAX_U32 } from '../model.ts';
import { type TestServer, makeCluster, send, startServer, until } from './upstream.test-helper.ts';

const managers: ClusterManager[] = [];
const servers: TestServer[] = [];
after(async () => {
  await Promise.all(managers.map((m) => m.close()));
  await Promise.all(servers.map((s) => s.close()));
});

async function server(address: string): Promise<TestServer> {
  const s = await startServer(address);
  servers.push(s);
  return s;
}

function manager(): ClusterManager {
  const m = createClusterManager({ localAddress: '127.0.0.1' });
  managers.push(m);
  return m;
}

test('update() keeps active requests of hosts that stay, adds new hosts and drains removed ones', async () => {
  const a = await server('127.0.1.1');
  const b = await server('127.0.1.2');
  const m = manager();
  const cfg = makeCluster({ name: 'c', endpoints: [a.endpoint] });
  m.update({ c: cfg });
  const c = m.get('c')!;
  a.hold = true;
  const inflight = send(c, c.choose({})!);
  await until(() => a.held.length === 1);

  m.update({ c: { ...cfg, endpoints: [a.endpoint, b.endpoint] } });
  assert.equal(m.get('c'), c, 'the cluster object is kept');
  const hosts = c.stats().hosts;
  assert.deepEqual(hosts.map((h) => [h.address, h.rq_active]), [['127.0.1.1', 1], ['127.0.1.2', 0]]);

  // b gets an idle keep-alive connection, then leaves the cluster: the connection closes.
  const hb = Array.from({ length: 4 }, () => c.choose({})!).find((h) => h.address === '127.0.1.2')!;
  assert.equal(((await send(c, hb)) as { status: number }).status, 200);
  assert.equal(b.open.size, 1);
  m.update({ c: { ...cfg, endpoints: [a.endpoint] } });
  await b.waitOpen(0);
  assert.deepEqual(c.stats().hosts.map((h) => h.address), ['127.0.1.1']);

  a.release();
  assert.equal(((await inflight) as { status: number }).status, 200);
  assert.equal(c.stats().upstream_rq_active, 0);
});

test('update() applies new circuit-breaker limits to the live pool', async () => {
  const a = await server('127.0.1.3');
  const m = manager();
  const cfg = makeCluster({ name: 'c', endpoints: [a.endpoint] });
  m.update({ c: cfg });
  const c = m.get('c')!;
  const h = c.choose({})!;
  a.hold = true;
  const first = send(c, h);
  await until(() => a.held.length === 1);
  m.update({ c: { ...cfg, circuitBreakers: { maxConnections: MAX_U32, maxPendingRequests: MAX_U32, maxRequests: 1, maxRetries: MAX_U32 } } });
  assert.deepEqual(await send(c, h), { failure: { reason: 'overflow' } });
  a.hold = false;
  a.release();
  await first;
});

test('a removed cluster disappears, lets its busy request finish and closes its connections', async () => {
  const a = await server('127.0.1.4');
  const m = manager();
  m.update({ c: makeCluster({ name: 'c', endpoints: [a.endpoint] }), d: makeCluster({ name: 'd', endpoints: [a.endpoint] }) });
  const c = m.get('c')!;
  a.hold = true;
  const inflight = send(c, c.choose({})!);
  await until(() => a.held.length === 1);
  m.update({ d: makeCluster({ name: 'd', endpoints: [a.endpoint] }) });
  assert.equal(m.get('c'), undefined);
  assert.deepEqual(m.all().map((x) => x.config.name), ['d']);
  a.release();
  assert.equal(((await inflight) as { status: number }).status, 200);
  await a.waitOpen(0);
});

test('close() fails pending requests, destroys connections and is idempotent', async () => {
  const a = await server('127.0.1.5');
  const m = manager();
  m.update({ c: makeCluster({ name: 'c', endpoints: [a.endpoint], circuitBreakers: { maxConnections: 1, maxPendingRequests: 10, maxRequests: MAX_U32, maxRetries: MAX_U32 } }) });
  const c = m.get('c')!;
  const h = c.choose({})!;
  a.hold = true;
  const busy = send(c, h).catch((e: Error) => ({ error: (e as NodeJS.ErrnoException).code }));
  await until(() => a.held.length === 1);
  const pending = send(c, h);
  await m.close();
  await m.close();
  assert.deepEqual(await pending, { failure: { reason: 'connect-failure', detail: 'connection pool closed' } });
  assert.deepEqual(await busy, { error: 'ECONNRESET' });
  await a.waitOpen(0);
  assert.equal(m.get('c'), undefined);
});
