import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClusterManager } from './index.ts';
import type { ClusterManager, UpstreamCluster } from './types.ts';
import type { Cluster } from '../model.ts';
import { fakeEndpoints, makeCluster, send, sequence, startServer, until } from './upstream.test-helper.ts';

const managers: ClusterManager[] = [];
after(() => Promise.all(managers.map((m) => m.close())));

function one(cfg: Partial<Cluster>, random: () => number = Math.random): UpstreamCluster {
  const m = createClusterManager({ localAddress: '127.0.0.1', random });
  managers.push(m);
  m.update({ c: makeCluster({ name: 'c', ...cfg }) });
  return m.get('c')!;
}

function picks(c: UpstreamCluster, n: number, ctx = {}): string[] {
  return Array.from({ length: n }, () => c.choose(ctx)!.address);
}

function counts(list: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const a of list) m.set(a, (m.get(a) ?? 0) + 1);
  return m;
}

test('choose() ROUND_ROBIN cycles through ready hosts in order', () => {
  const eps = fakeEndpoints(4);
  eps[2].ready = false;
  const c = one({ lbPolicy: 'ROUND_ROBIN', endpoints: eps }, sequence([0]));
  assert.deepEqual(picks(c, 6), ['127.0.9.1', '127.0.9.2', '127.0.9.4', '127.0.9.1', '127.0.9.2', '127.0.9.4']);
});

test('choose() ROUND_ROBIN honours unequal weights', () => {
  const eps = fakeEndpoints(2);
  eps[0].weight = 3;
  const got = counts(picks(one({ lbPolicy: 'ROUND_ROBIN', endpoints: eps }), 8));
  assert.equal(got.get('127.0.9.1'), 6);
  assert.equal(got.get('127.0.9.2'), 2);
});

test('choose() RANDOM maps the random draw onto the hosts', () => {
  const c = one({ lbPolicy: 'RANDOM', endpoints: fakeEndpoints(3) }, sequence([0.1, 0.5, 0.9, 0.34]));
  assert.deepEqual(picks(c, 4), ['127.0.9.1', '127.0.9.2', '127.0.9.3', '127.0.9.2']);
});

test('choose() RANDOM with weights picks proportionally to weight', () => {
  const eps = fakeEndpoints(2);
  eps[1].weight = 3;
  // Total weight 4: draws below 0.25 land on the first host.
  const c = one({ lbPolicy: 'RANDOM', endpoints: eps }, sequence([0.1, 0.3, 0.6, 0.99]));
  assert.deepEqual(picks(c, 4), ['127.0.9.1', '127.0.9.2', '127.0.9.2', '127.0.9.2']);
});

test('choose() LEAST_REQUEST picks two random hosts and keeps the first on a tie', () => {
  const c = one({ lbPolicy: 'LEAST_REQUEST', endpoints: fakeEndpoints(3) }, sequence([0.9, 0.1]));
  assert.deepEqual(picks(c, 3), ['127.0.9.3', '127.0.9.3', '127.0.9.3']);
});

test('choose() LEAST_REQUEST (P2C) prefers the host with fewer active requests', async () => {
  const busy = await startServer('127.0.0.1');
  const idle = await startServer('127.0.0.2');
  busy.hold = true;
  // Draws alternate: first candidate = busy host (index 0), second = idle host (index 1).
  const c = one({ lbPolicy: 'LEAST_REQUEST', endpoints: [busy.endpoint, idle.endpoint] }, sequence([0.2, 0.7]));
  const busyHost = c.choose({})!;
  assert.equal(busyHost.address, '127.0.0.1'); // tie: the first candidate
  const inflight = [send(c, busyHost), send(c, busyHost)];
  await until(() => busy.held.length === 2);
  assert.deepEqual(picks(c, 4), ['127.0.0.2', '127.0.0.2', '127.0.0.2', '127.0.0.2']);
  busy.release();
  await Promise.all(inflight);
  await busy.close();
  await idle.close();
});

test('choose() never picks not-ready endpoints and returns undefined when none is ready', () => {
  const c = one({ endpoints: fakeEndpoints(2, { ready: false }) });
  assert.equal(c.choose({}), undefined);
});

test('choose() RING_HASH sends a key to the same host and keeps most keys when a host leaves', () => {
  const m = createClusterManager({ localAddress: '127.0.0.1' });
  managers.push(m);
  const eps = fakeEndpoints(4);
  m.update({ c: makeCluster({ name: 'c', lbPolicy: 'RING_HASH', endpoints: eps }) });
  const c = m.get('c')!;
  const before = new Map<string, string>();
  for (let i = 0; i < 400; i++) {
    const k = `user-${i}`;
    const a = c.choose({ hashKey: k })!.address;
    for (let j = 0; j < 3; j++) assert.equal(c.choose({ hashKey: k })!.address, a);
    before.set(k, a);
  }
  assert.equal(counts([...before.values()]).size, 4, 'keys spread over every host');
  // The ring is rebuilt with more points per remaining host (same total size), so a few keys move,
  // as in Envoy; keys of the removed host always move.
  m.update({ c: makeCluster({ name: 'c', lbPolicy: 'RING_HASH', endpoints: eps.slice(0, 3) }) });
  let stayed = 0;
  let kept = 0;
  for (const [k, a] of before) {
    const now = c.choose({ hashKey: k })!.address;
    if (a === '127.0.9.4') {
      assert.notEqual(now, a);
      continue;
    }
    kept++;
    if (now === a) stayed++;
  }
  assert.ok(stayed / kept > 0.8, `${stayed}/${kept} keys stayed`);
});

test('choose() RING_HASH without a key picks at random', () => {
  const c = one({ lbPolicy: 'RING_HASH', endpoints: fakeEndpoints(3), ringHash: { minimumRingSize: 64 } }, sequence([0.5, 0.99]));
  assert.deepEqual(picks(c, 2), ['127.0.9.2', '127.0.9.3']);
});

test('choose() MAGLEV is sticky per key and spreads keys', () => {
  const m = createClusterManager({ localAddress: '127.0.0.1' });
  managers.push(m);
  const eps = fakeEndpoints(3);
  m.update({ c: makeCluster({ name: 'c', lbPolicy: 'MAGLEV', maglev: { tableSize: 251 }, endpoints: eps }) });
  const c = m.get('c')!;
  const seen = new Map<string, string>();
  for (let i = 0; i < 300; i++) {
    const a = c.choose({ hashKey: `k${i}` })!.address;
    assert.equal(c.choose({ hashKey: `k${i}` })!.address, a);
    seen.set(`k${i}`, a);
  }
  const spread = counts([...seen.values()]);
  assert.equal(spread.size, 3);
  for (const n of spread.values()) assert.ok(n > 50, `each host gets a fair share (${[...spread.values()]})`);
  // Maglev's minimal disruption: most keys of the remaining hosts stay where they were.
  m.update({ c: makeCluster({ name: 'c', lbPolicy: 'MAGLEV', maglev: { tableSize: 251 }, endpoints: eps.slice(0, 2) }) });
  let stayed = 0;
  let kept = 0;
  for (const [k, a] of seen) {
    if (a === '127.0.9.3') continue;
    kept++;
    if (c.choose({ hashKey: k })!.address === a) stayed++;
  }
  assert.ok(stayed / kept > 0.8, `${stayed}/${kept} keys stayed`);
});

test('choose() avoids hosts already tried while others are available', () => {
  const rr = one({ lbPolicy: 'ROUND_ROBIN', endpoints: fakeEndpoints(3) }, sequence([0]));
  const avoid = new Set(['127.0.9.1:8080', '127.0.9.2:8080']);
  assert.deepEqual(picks(rr, 3, { avoid }), ['127.0.9.3', '127.0.9.3', '127.0.9.3']);

  const ring = one({ lbPolicy: 'RING_HASH', endpoints: fakeEndpoints(3) });
  const first = ring.choose({ hashKey: 'abc' })!;
  const other = ring.choose({ hashKey: 'abc', avoid: new Set([first.key]) })!;
  assert.notEqual(other.key, first.key);

  const mag = one({ lbPolicy: 'MAGLEV', maglev: { tableSize: 251 }, endpoints: fakeEndpoints(3) });
  const m1 = mag.choose({ hashKey: 'abc' })!;
  assert.notEqual(mag.choose({ hashKey: 'abc', avoid: new Set([m1.key]) })!.key, m1.key);
});

test('choose() accepts an avoided host when every host is avoided', () => {
  const c = one({ lbPolicy: 'LEAST_REQUEST', endpoints: fakeEndpoints(2) });
  const avoid = new Set(['127.0.9.1:8080', '127.0.9.2:8080']);
  assert.ok(c.choose({ avoid }));
});

test('choose() on passthrough returns the original destination; blackhole returns nothing', () => {
  const pt = one({ type: 'passthrough', lbPolicy: 'PASSTHROUGH' });
  const h = pt.choose({ original: { address: '127.0.7.7', port: 9999 } })!;
  assert.equal(h.key, '127.0.7.7:9999');
  assert.equal(pt.choose({ original: { address: '127.0.7.7', port: 9999 } }), h, 'the same host object is reused');
  assert.equal(pt.choose({}), undefined);
  const bh = one({ type: 'blackhole', endpoints: fakeEndpoints(1) });
  assert.equal(bh.choose({}), undefined);
});
