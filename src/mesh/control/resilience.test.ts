// The control plane going away and coming back, with a real proxy in between: routing keeps working
// on the last config, and the new config lands when the control plane returns (issue 4, resilience).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { makeRegistry, type RegistryFixture } from '../../api/testing.test-helper.ts';
import type { KObject } from '../../api/index.ts';
import { istioCrds } from '../config/index.ts';
import { Proxy } from '../proxy/index.ts';
import { ControlPlane } from './server.ts';
import { StreamClient } from '../stream/index.ts';

// This file's own loopback block: client pod .1, reviews pods .11 (v1) and .13 (v3).
const CLIENT = '127.42.231.1';
const V1 = '127.42.231.11';
const V3 = '127.42.231.13';
let fx: RegistryFixture;
const closers: Array<() => unknown> = [];

function pod(name: string, ip: string, labels: Record<string, string>, sidecar: boolean): KObject {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'user11', labels },
    spec: { nodeName: 'n', containers: [{ name: 'c', image: 'x' }], ...(sidecar ? { initContainers: [{ name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.27.1', restartPolicy: 'Always' }] } : {}) },
  };
}

async function addPod(p: KObject, ip: string): Promise<void> {
  const created = fx.reg.createSync('pods', 'user11', p);
  await fx.reg.updateStatus('pods', 'user11', { ...created, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } });
}

function vsTo(subset: string): Record<string, unknown> {
  return { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset } }] }] };
}

/** A GET through the proxy's outbound listener, as an app with HTTP_PROXY sends it. */
function viaProxy(): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: CLIENT, port: 15001, path: 'http://reviews:9080/', headers: { host: 'reviews:9080' }, agent: false }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(`${res.statusCode} ${b}`));
    });
    req.on('error', reject);
    req.end();
  });
}

async function until(fn: () => Promise<boolean> | boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  fx = makeRegistry({ namespaces: ['default', 'user11'] });
  for (const crd of istioCrds()) fx.reg.createSync('customresourcedefinitions.apiextensions.k8s.io', undefined, crd);
  fx.reg.createSync('services', 'user11', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews', namespace: 'user11' }, spec: { clusterIP: '127.43.231.9', selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080, targetPort: 9080 }] } });
  await addPod(pod('client', CLIENT, { app: 'client' }, true), CLIENT);
  await addPod(pod('reviews-v1', V1, { app: 'reviews', version: 'v1' }, false), V1);
  await addPod(pod('reviews-v3', V3, { app: 'reviews', version: 'v3' }, false), V3);
  fx.reg.createSync('endpointslices.discovery.k8s.io', 'user11', {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'reviews-abc', namespace: 'user11', labels: { 'kubernetes.io/service-name': 'reviews' } },
    addressType: 'IPv4', ports: [{ name: 'http', port: 9080, protocol: 'TCP' }],
    endpoints: [V1, V3].map((ip, i) => ({ addresses: [ip], conditions: { ready: true }, targetRef: { kind: 'Pod', name: i === 0 ? 'reviews-v1' : 'reviews-v3', namespace: 'user11' } })),
  });
  fx.reg.createSync('destinationrules.networking.istio.io', 'user11', { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'reviews', namespace: 'user11' }, spec: { host: 'reviews', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v3', labels: { version: 'v3' } }] } });
  fx.reg.createSync('virtualservices.networking.istio.io', 'user11', { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'reviews', namespace: 'user11' }, spec: vsTo('v1') });
  for (const [ip, body] of [[V1, 'v1'], [V3, 'v3']]) {
    const s = http.createServer((_q, r) => r.end(body));
    await new Promise<void>((r) => s.listen(9080, ip, r));
    closers.push(() => new Promise((r) => s.close(r)));
  }
});
after(async () => {
  for (const c of closers.reverse()) await c();
  fx.close();
});

test('a sidecar keeps routing on its last config while the control plane is gone, and takes the new one when it returns', async () => {
  let cp = new ControlPlane({ client: fx.reg, debounceMs: 5 });
  await cp.start();
  const port = Number(new URL(cp.address.replace('ws:', 'http:')).port);
  const token = cp.token;
  const proxy = new Proxy({ podIP: CLIENT, appIP: CLIENT, kind: 'sidecar', log: () => {} });
  await proxy.start();
  closers.push(() => proxy.close());
  const stream = new StreamClient({ address: cp.address, token, namespace: 'user11', pod: 'client', backoffMs: 20, maxBackoffMs: 100, apply: (c, v) => proxy.apply(c, v), onState: (s) => proxy.setControlPlaneState(s) });
  stream.start();
  closers.push(() => stream.close());
  await until(async () => proxy.ready && (await viaProxy().catch(() => '')) === '200 v1');

  await cp.close();
  // The VirtualService changes while nobody pushes it: the proxy keeps the old route.
  const cur = await fx.reg.get('virtualservices.networking.istio.io', 'user11', 'reviews');
  await fx.reg.update('virtualservices.networking.istio.io', 'user11', { ...cur, spec: vsTo('v3') });
  for (let i = 0; i < 5; i++) assert.equal(await viaProxy(), '200 v1');

  cp = new ControlPlane({ client: fx.reg, debounceMs: 5, port, token });
  await cp.start();
  closers.push(() => cp.close());
  await until(async () => (await viaProxy()) === '200 v3');
  for (let i = 0; i < 5; i++) assert.equal(await viaProxy(), '200 v3');
});
