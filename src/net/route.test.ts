import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClusterIndex, pickFrom, type PortTable } from './cluster.ts';
import { forwardHeaders } from './heads.ts';
import { endpointTargets, loopbackNameAddress, parseRequestTarget, serviceName, splitHostPort, target } from './names.ts';
import { netErrors, route, type RouteRequest } from './route.ts';

function index(): ClusterIndex {
  const ix = new ClusterIndex();
  ix.onService('ADDED', { metadata: { namespace: 'shop', name: 'cart', uid: 's1' }, spec: { clusterIP: '127.43.1.2', ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
  ix.onService('ADDED', { metadata: { namespace: 'shop', name: 'alias' }, spec: { type: 'ExternalName', externalName: 'cart.shop.svc.cluster.local' } });
  ix.onService('ADDED', { metadata: { namespace: 'shop', name: 'away' }, spec: { type: 'ExternalName', externalName: 'example.com' } });
  ix.onEndpoints('ADDED', {
    metadata: { namespace: 'shop', name: 'cart' },
    subsets: [{ addresses: [{ ip: '127.42.0.2' }, { ip: '10.0.0.9' }], notReadyAddresses: [{ ip: '127.42.0.3' }], ports: [{ name: 'http', port: 8080 }] }],
  });
  ix.onPod('ADDED', { metadata: { namespace: 'shop', name: 'p', uid: 'p1', annotations: { 'skiff.dev/port-map': '{"80":10080}' } }, status: { phase: 'Running', podIP: '127.42.0.5' } }, undefined);
  return ix;
}

const from = (host: string, port?: number): RouteRequest => ({ ns: 'shop', ip: '127.42.0.5', host, port, defaultPort: 80 });

test('route() refuses non-loopback destinations before any connection exists', () => {
  const ix = index();
  for (const host of ['10.1.2.3', '192.168.1.1', '8.8.8.8', '::ffff:10.0.0.1', '2001:db8::1']) {
    const r = route(ix, from(host));
    assert.equal(r.ok, false, host);
    assert.equal(!r.ok && r.code, netErrors.notLoopback, host);
    assert.equal(!r.ok && r.status, 403);
  }
  for (const host of ['example.com', 'a.b.c.d', 'away']) {
    const r = route(ix, from(host));
    assert.equal(!r.ok && r.code, netErrors.unknownHost, host);
  }
});

test('route() maps services, pods, localhost and loopback names', () => {
  const ix = index();
  assert.deepEqual(route(ix, from('cart')), { ok: true, host: '127.42.0.2', port: 8080, label: 'cart.shop:80' });
  assert.deepEqual(route(ix, from('127.43.1.2')), { ok: true, host: '127.42.0.2', port: 8080, label: 'cart.shop:80' });
  assert.deepEqual(route(ix, from('alias')), { ok: true, host: '127.42.0.2', port: 8080, label: 'cart.shop:80' });
  // The port-map annotation turns the container port into the port the app bound.
  assert.deepEqual(route(ix, from('localhost')), { ok: true, host: '127.42.0.5', port: 10080, label: 'localhost:80' });
  assert.deepEqual(route(ix, from('127.42.0.5', 81)), { ok: true, host: '127.42.0.5', port: 81, label: '127.42.0.5:81' });
  assert.deepEqual(route(ix, from('web.127.0.0.1.nip.io')), { ok: true, host: '127.0.0.1', port: 80, label: 'web.127.0.0.1.nip.io:80' });
  assert.deepEqual(route(ix, from('127.9.9.9', 5)), { ok: true, host: '127.9.9.9', port: 5, label: '127.9.9.9:5' });
  const r = route(ix, from('cart', 81));
  assert.equal(!r.ok && r.code, netErrors.noPort);
});

test('endpoint targets keep only ready loopback addresses and count all for messages', () => {
  const ep = { metadata: {}, subsets: [{ addresses: [{ ip: '127.42.0.2' }, { ip: '10.0.0.9' }], notReadyAddresses: [{ ip: '127.42.0.3' }], ports: [{ port: 9 }] }] };
  assert.deepEqual(endpointTargets(ep, '', (_ip, p) => p), { ready: [target('127.42.0.2', 9)], total: 3 });
  assert.deepEqual(endpointTargets(ep, 'http', (_ip, p) => p), { ready: [], total: 0 });
});

test('pickFrom() round robins, pins ClientIP affinity until expiry, and unpins an endpoint that left', () => {
  const t: PortTable = { name: '', port: 80, eps: [target('127.42.0.2', 1), target('127.42.0.3', 1)], keys: new Set(['127.42.0.2:1', '127.42.0.3:1']), total: 2, rr: 0, sticky: undefined, affinityMs: 0 };
  assert.deepEqual([0, 1, 2, 3].map(() => pickFrom(t, undefined, 0)?.host), ['127.42.0.2', '127.42.0.3', '127.42.0.2', '127.42.0.3']);
  t.sticky = new Map();
  t.affinityMs = 1000;
  const first = pickFrom(t, 'c', 0)!;
  for (let i = 0; i < 5; i++) assert.equal(pickFrom(t, 'c', 500 + i)!.key, first.key);
  assert.notEqual(pickFrom(t, 'd', 0)!.key, first.key);
  t.keys = new Set([...t.keys].filter((k) => k !== first.key));
  t.eps = t.eps.filter((e) => e.key !== first.key);
  assert.notEqual(pickFrom(t, 'c', 600)!.key, first.key);
  t.eps = [];
  assert.equal(pickFrom(t, 'c', 700), undefined);
});

test('name helpers parse the forms a proxy sees', () => {
  assert.deepEqual(serviceName('a', 'web'), { ns: 'a', name: 'web' });
  assert.deepEqual(serviceName('a', 'web.b'), { ns: 'b', name: 'web' });
  assert.deepEqual(serviceName('a', 'web.b.svc'), { ns: 'b', name: 'web' });
  assert.deepEqual(serviceName('a', 'web.b.svc.cluster.local'), { ns: 'b', name: 'web' });
  assert.equal(serviceName('a', 'web.b.pod'), undefined);
  assert.equal(serviceName('a', '127.0.0.1'), undefined);
  assert.deepEqual(splitHostPort('[::1]:8080'), { host: '::1', port: 8080 });
  assert.deepEqual(splitHostPort('Web.:81'), { host: 'web', port: 81 });
  assert.equal(splitHostPort('web:99999'), undefined);
  assert.deepEqual(parseRequestTarget('http://web:81/a?b#c', undefined), { host: 'web', port: 81, path: '/a?b' });
  assert.deepEqual(parseRequestTarget('HTTP://web?q', undefined), { host: 'web', port: undefined, path: '/?q' });
  assert.deepEqual(parseRequestTarget('/x', 'web.ns'), { host: 'web.ns', port: undefined, path: '/x' });
  assert.equal(parseRequestTarget('https://web/', undefined), undefined);
  assert.equal(loopbackNameAddress('app.localhost'), '127.0.0.1');
  assert.equal(loopbackNameAddress('x.127-0-0-2.sslip.io'), '127.0.0.2');
  assert.equal(loopbackNameAddress('x.10.0.0.1.nip.io'), undefined);
});

test('forwardHeaders() drops hop-by-hop and proxy headers, keeping upgrade headers for upgrades', () => {
  const raw = ['Host', 'web', 'Proxy-Connection', 'keep-alive', 'Connection', 'Upgrade, X-Hop', 'X-Hop', '1', 'Upgrade', 'websocket', 'Proxy-Authorization', 'x', 'Transfer-Encoding', 'chunked', 'X-Keep', 'y'];
  assert.deepEqual(forwardHeaders(raw, 'request'), ['Host', 'web', 'Transfer-Encoding', 'chunked', 'X-Keep', 'y']);
  assert.deepEqual(forwardHeaders(raw, 'upgrade'), ['Host', 'web', 'Connection', 'Upgrade, X-Hop', 'Upgrade', 'websocket', 'Transfer-Encoding', 'chunked', 'X-Keep', 'y']);
  assert.deepEqual(forwardHeaders(raw, 'response'), ['Host', 'web', 'X-Keep', 'y']);
});
