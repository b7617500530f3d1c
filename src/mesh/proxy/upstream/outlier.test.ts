import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClusterManager } from './index.ts';
import type { ClusterManager, UpstreamHost } from './types.ts';
import type { ClusterImpl } from './cluster.ts';
import type { Cluster, OutlierDetection } from '../model.ts';
import { fakeEndpoints, makeCluster } from './upstream.test-helper.ts';

const managers: ClusterManager[] = [];
after(() => Promise.all(managers.map((m) => m.close())));

/** Istio's defaults for an outlierDetection block; the interval is long so only tick() sweeps. */
function od(over: Partial<OutlierDetection> = {}): OutlierDetection {
  return {
    consecutive5xx: 5,
    enforcingConsecutive5xx: 100,
    consecutiveGatewayFailure: 5,
    enforcingConsecutiveGatewayFailure: 0,
    consecutiveLocalOriginFailure: 5,
    splitExternalLocalOriginErrors: false,
    intervalMs: 10_000,
    baseEjectionTimeMs: 30_000,
    maxEjectionTimeMs: 300_000,
    maxEjectionPercent: 10,
    ...over,
  };
}

interface Fixture {
  c: ClusterImpl;
  m: ClusterManager;
  clock: { now: number };
  host(i: number): UpstreamHost;
  ejected(): string[];
  cfg: Cluster;
}

function fixture(outlier: OutlierDetection, hosts = 2, over: Partial<Cluster> = {}): Fixture {
  const clock = { now: 1_000_000 };
  const m = createClusterManager({ localAddress: '127.0.0.1', now: () => clock.now });
  managers.push(m);
  const cfg = makeCluster({ name: 'c', endpoints: fakeEndpoints(hosts), outlierDetection: outlier, healthyPanicThreshold: 0, ...over });
  m.update({ c: cfg });
  const c = m.get('c') as ClusterImpl;
  const byIndex = (i: number): UpstreamHost => {
    // choose() with round robin visits every host; find the one with this address.
    for (let k = 0; k < 10 * hosts; k++) {
      const h = c.choose({});
      if (h?.address === `127.0.9.${i + 1}`) return h;
    }
    const all = c.stats().hosts;
    throw new Error(`host ${i} not choosable (${JSON.stringify(all.map((h) => h.healthFlags))})`);
  };
  const handles = new Map<number, UpstreamHost>();
  return {
    c,
    m,
    clock,
    cfg,
    host(i) {
      if (!handles.has(i)) handles.set(i, byIndex(i));
      return handles.get(i)!;
    },
    ejected() {
      return c
        .stats()
        .hosts.filter((h) => h.healthFlags.includes('/failed_outlier_check'))
        .map((h) => h.address);
    },
  };
}

function fail(f: Fixture, i: number, n: number, status = 503): void {
  const h = f.host(i);
  for (let k = 0; k < n; k++) f.c.report(h, { status });
}

test('a host is ejected at the Nth consecutive 5xx, at once', () => {
  const f = fixture(od({ consecutive5xx: 3, maxEjectionPercent: 100 }));
  fail(f, 0, 2, 500);
  assert.deepEqual(f.ejected(), []);
  assert.equal(f.c.stats().hosts[0].consecutive5xx, 2);
  fail(f, 0, 1, 500);
  assert.deepEqual(f.ejected(), ['127.0.9.1']);
  const st = f.c.stats();
  assert.equal(st.outlier_detection_ejections_active, 1);
  assert.equal(st.outlier_detection_ejections_enforced_total, 1);
  assert.equal(st.hosts[0].healthy, false);
  assert.equal(st.hosts[0].ejections, 1);
  for (let k = 0; k < 6; k++) assert.equal(f.c.choose({})!.address, '127.0.9.2');
});

test('a non-5xx response resets the consecutive counter', () => {
  const f = fixture(od({ consecutive5xx: 3, maxEjectionPercent: 100 }));
  fail(f, 0, 2, 502);
  fail(f, 0, 1, 404);
  fail(f, 0, 2, 500);
  assert.deepEqual(f.ejected(), []);
  fail(f, 0, 1, 500);
  assert.deepEqual(f.ejected(), ['127.0.9.1']);
});

test('local connect failures count as 503 and timeouts as 504', () => {
  const f = fixture(od({ consecutive5xx: 2, maxEjectionPercent: 100 }));
  const h = f.host(1);
  f.c.report(h, { local: 'connect-failure' });
  f.c.report(h, { local: 'timeout' });
  assert.deepEqual(f.ejected(), ['127.0.9.2']);
});

test('the gateway-error detector counts only 502/503/504 and is off unless enforced', () => {
  const off = fixture(od({ consecutive5xx: 100, consecutiveGatewayFailure: 2, maxEjectionPercent: 100 }));
  fail(off, 0, 3, 503);
  assert.deepEqual(off.ejected(), [], 'enforcing_consecutive_gateway_failure 0 (Istio default) never ejects');

  const on = fixture(od({ consecutive5xx: 100, consecutiveGatewayFailure: 2, enforcingConsecutiveGatewayFailure: 100, maxEjectionPercent: 100 }));
  fail(on, 0, 1, 503);
  fail(on, 0, 1, 500); // another 5xx resets the gateway counter
  fail(on, 0, 1, 504);
  assert.deepEqual(on.ejected(), []);
  fail(on, 0, 1, 502);
  assert.deepEqual(on.ejected(), ['127.0.9.1']);
});

test('maxEjectionPercent is strict: 10 % of two hosts ejects none', () => {
  const f = fixture(od({ consecutive5xx: 1, maxEjectionPercent: 10 }));
  fail(f, 1, 1);
  assert.deepEqual(f.ejected(), []);
  assert.equal(f.c.stats().outlier_detection_ejections_overflow, 1);
  const f50 = fixture(od({ consecutive5xx: 1, maxEjectionPercent: 50 }));
  fail(f50, 0, 1);
  fail(f50, 1, 1);
  assert.deepEqual(f50.ejected(), ['127.0.9.1'], '50 % allows one host of two');
  assert.equal(f50.c.stats().outlier_detection_ejections_overflow, 1);
});

test('with maxEjectionPercent 100 every host can go and choose() finds none when panic is off', () => {
  const f = fixture(od({ consecutive5xx: 1, maxEjectionPercent: 100 }));
  fail(f, 0, 1);
  fail(f, 1, 1);
  assert.deepEqual(f.ejected(), ['127.0.9.1', '127.0.9.2']);
  assert.equal(f.c.choose({}), undefined);
});

test('below the panic threshold choose() balances over ejected hosts too', () => {
  const f = fixture(od({ consecutive5xx: 1, maxEjectionPercent: 100 }), 3, { healthyPanicThreshold: 50 });
  fail(f, 0, 1);
  // 2 of 3 healthy (67 %): no panic, the ejected host is skipped.
  for (let k = 0; k < 6; k++) assert.notEqual(f.c.choose({})!.address, '127.0.9.1');
  fail(f, 1, 1);
  // 1 of 3 healthy (33 % < 50 %): panic, all hosts are balanced again.
  const seen = new Set(Array.from({ length: 6 }, () => f.c.choose({})!.address));
  assert.deepEqual([...seen].sort(), ['127.0.9.1', '127.0.9.2', '127.0.9.3']);
});

test('an ejected host returns at the first interval tick after the base ejection time', () => {
  const f = fixture(od({ consecutive5xx: 1, maxEjectionPercent: 100 }));
  fail(f, 0, 1);
  f.clock.now += 29_999;
  f.c.tickOutlier();
  assert.deepEqual(f.ejected(), ['127.0.9.1']);
  f.clock.now += 1;
  assert.deepEqual(f.ejected(), ['127.0.9.1'], 'only a tick brings it back');
  f.c.tickOutlier();
  assert.deepEqual(f.ejected(), []);
  assert.equal(f.c.stats().outlier_detection_ejections_active, 0);
  assert.equal(f.c.stats().hosts[0].consecutive5xx, 0);
});

test('the ejection time grows with consecutive ejections and decays while the host stays healthy', () => {
  const f = fixture(od({ consecutive5xx: 1, maxEjectionPercent: 100, baseEjectionTimeMs: 1_000, maxEjectionTimeMs: 2_500, intervalMs: 100 }));
  const returnsAfter = (): number => {
    fail(f, 0, 1);
    const start = f.clock.now;
    while (f.ejected().length > 0) {
      f.clock.now += 100;
      f.c.tickOutlier();
    }
    return f.clock.now - start;
  };
  assert.equal(returnsAfter(), 1_000);
  assert.equal(returnsAfter(), 2_000);
  assert.equal(returnsAfter(), 2_500, 'capped at maxEjectionTime');
  assert.equal(returnsAfter(), 2_500);
  // Healthy for many intervals: the multiplier decays back to 1 (one step per interval healthy).
  for (let k = 0; k < 10; k++) {
    f.clock.now += 100;
    f.c.tickOutlier();
  }
  assert.equal(returnsAfter(), 1_000);
  assert.equal(f.c.stats().hosts[0].ejections, 5);
});

test('update() keeps ejections and counters of hosts that stay; new hosts join healthy', () => {
  const f = fixture(od({ consecutive5xx: 2, maxEjectionPercent: 100 }), 3);
  fail(f, 0, 2);
  fail(f, 1, 1);
  f.m.update({ c: { ...f.cfg, endpoints: [...fakeEndpoints(4)] } });
  const st = f.c.stats();
  assert.deepEqual(f.ejected(), ['127.0.9.1']);
  assert.equal(st.hosts[1].consecutive5xx, 1);
  assert.equal(st.hosts[3].healthFlags, 'healthy');
  // Removing the ejected host drops its ejection from the count.
  f.m.update({ c: { ...f.cfg, endpoints: fakeEndpoints(4).slice(1) } });
  assert.equal(f.c.stats().outlier_detection_ejections_active, 0);
  assert.equal(f.c.stats().hosts.length, 3);
});

test('report() for a host no longer in the cluster is ignored', () => {
  const f = fixture(od({ consecutive5xx: 1, maxEjectionPercent: 100 }), 2);
  const gone = f.host(0);
  f.m.update({ c: { ...f.cfg, endpoints: fakeEndpoints(2).slice(1) } });
  f.c.report(gone, { status: 503 });
  assert.deepEqual(f.ejected(), []);
  assert.equal(f.c.stats().outlier_detection_ejections_overflow, 0);
});
