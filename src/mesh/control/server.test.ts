import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { makeRegistry, type RegistryFixture } from '../../api/testing.test-helper.ts';
import type { KObject } from '../../api/index.ts';
import { istioCrds } from '../config/index.ts';
import type { ProxyConfig } from '../proxy/index.ts';
import { ControlPlane, type ControlPlaneOptions, podChangeMatters } from './server.ts';
import { StreamClient } from '../stream/index.ts';
import { until } from '../stream/stream.test-helper.ts';

let fx: RegistryFixture;
const closers: Array<() => unknown> = [];

function vs(dest: string): KObject {
  return { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'reviews', namespace: 'user11' }, spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: dest } }] }] } };
}

/** The clusters the reviews vhost routes to in a pushed config. */
function reviewsClusters(c: ProxyConfig): string[] {
  const vh = Object.values(c.routes).flatMap((r) => r.virtualHosts).find((v) => v.domains.includes('reviews.user11.svc.cluster.local'));
  return (vh?.routes ?? []).flatMap((r) => (r.action.kind === 'route' ? r.action.clusters.map((x) => x.cluster) : []));
}

before(async () => {
  fx = makeRegistry({ namespaces: ['default', 'user11'] });
  for (const crd of istioCrds()) fx.reg.createSync('customresourcedefinitions.apiextensions.k8s.io', undefined, crd);
  fx.reg.createSync('services', 'user11', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews', namespace: 'user11' }, spec: { clusterIP: '127.43.9.9', selector: { app: 'reviews' }, ports: [{ name: 'http', port: 9080, targetPort: 9080 }] } });
  const pod = fx.reg.createSync('pods', 'user11', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client', namespace: 'user11', labels: { app: 'client' } }, spec: { nodeName: 'n', containers: [{ name: 'c', image: 'curlimages/curl' }], initContainers: [{ name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.27.1', restartPolicy: 'Always' }] } });
  await fx.reg.updateStatus('pods', 'user11', { ...pod, status: { phase: 'Running', podIP: '127.42.200.1' } });
});
/** A started control plane on the fixture's registry (5 ms debounce unless `opts` says otherwise), closed after the tests. */
async function startCp(opts: Partial<ControlPlaneOptions> = {}): Promise<ControlPlane> {
  const cp = new ControlPlane({ client: fx.reg, debounceMs: 5, ...opts });
  await cp.start();
  closers.push(() => cp.close());
  return cp;
}

/** A stream client for pod user11/client that records every config it applies, in order. */
function recordingProxy(cp: ControlPlane): Array<{ config: ProxyConfig; version: string }> {
  const got: Array<{ config: ProxyConfig; version: string }> = [];
  const client = new StreamClient({ address: cp.address, token: cp.token, namespace: 'user11', pod: 'client', apply: async (config, version) => void got.push({ config, version }) });
  client.start();
  closers.push(() => client.close());
  return got;
}

after(async () => {
  for (const c of closers.reverse()) await c();
  fx.close();
});

test('a proxy gets its snapshot on connect, a new one after a VirtualService change, and its ACKs are tracked', async () => {
  const cp = await startCp();
  const got = recordingProxy(cp);
  await until(() => got.length >= 1);
  assert.deepEqual(reviewsClusters(got[0].config), ['outbound|9080||reviews.user11.svc.cluster.local']);
  await fx.reg.create('virtualservices.networking.istio.io', 'user11', vs('v1'));
  await until(() => got.length >= 2);
  assert.deepEqual(reviewsClusters(got.at(-1)!.config), ['outbound|9080|v1|reviews.user11.svc.cluster.local']);
  const st = await until(() => cp.status().find((s) => s.acked === got.at(-1)!.version));
  assert.equal(st.pod, 'client');
  // An unrelated change (another namespace's object) computes the same snapshot: nothing is sent.
  const pushes = cp.pushes;
  await fx.reg.create('configmaps', 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'default' } });
  await fx.reg.create('namespaces', undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(cp.pushes, pushes);
});

test('busy() spans each apply: on before it, off once the answer is sent', async () => {
  const cp = await startCp();
  const events: boolean[] = [];
  const during: boolean[] = [];
  const client = new StreamClient({
    address: cp.address, token: cp.token, namespace: 'user11', pod: 'client',
    apply: async () => void during.push(events.at(-1)!),
    busy: (on) => events.push(on),
  });
  client.start();
  closers.push(() => client.close());
  await until(() => cp.status().some((s) => s.pod === 'client' && s.acked));
  await fx.reg.update('virtualservices.networking.istio.io', 'user11', { ...(await fx.reg.get('virtualservices.networking.istio.io', 'user11', 'reviews')), spec: vs('v3').spec });
  await until(() => during.length >= 2 && events.at(-1) === false);
  assert.ok(during.every((b) => b), 'every apply ran while busy');
  assert.deepEqual(events, events.map((_, i) => i % 2 === 0), 'on and off alternate, starting on');
});

test('a NACK keeps the proxy on its previous version and is reported', async () => {
  const cp = await startCp();
  let applied: string | undefined;
  let reject = false;
  const client = new StreamClient({
    address: cp.address, token: cp.token, namespace: 'user11', pod: 'client',
    apply: async (_c, v) => {
      if (reject) throw new Error('bad regex "("');
      applied = v;
    },
  });
  client.start();
  closers.push(() => client.close());
  await until(() => applied);
  const good = applied;
  reject = true;
  await fx.reg.update('virtualservices.networking.istio.io', 'user11', { ...(await fx.reg.get('virtualservices.networking.istio.io', 'user11', 'reviews')), spec: vs('v2').spec });
  const st = await until(() => cp.status().find((s) => s.nack));
  assert.equal(st.nack, 'bad regex "("');
  assert.equal(st.acked, good);
  assert.equal(client.version, good);
});

test('the stream refuses a wrong token', async () => {
  const cp = await startCp();
  const ws = new WebSocket(`${cp.address}/v1/config?pod=user11/client`, { headers: { authorization: 'Bearer nope' } });
  const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)).on('error', () => resolve(-1)));
  assert.equal(status, 401);
});

test('a proxy keeps its last config while the control plane is gone and catches up when it returns', async () => {
  let cp = new ControlPlane({ client: fx.reg, debounceMs: 5 });
  await cp.start();
  const port = Number(new URL(cp.address.replace('ws:', 'http:')).port);
  const got: ProxyConfig[] = [];
  const states: boolean[] = [];
  const client = new StreamClient({ address: cp.address, token: cp.token, namespace: 'user11', pod: 'client', backoffMs: 20, maxBackoffMs: 100, apply: async (c) => void got.push(c), onState: (s) => states.push(s.connected) });
  client.start();
  closers.push(() => client.close());
  await until(() => got.length >= 1);
  const token = cp.token;
  await cp.close();
  await until(() => states.at(-1) === false);
  await fx.reg.update('virtualservices.networking.istio.io', 'user11', { ...(await fx.reg.get('virtualservices.networking.istio.io', 'user11', 'reviews')), spec: vs('v3').spec });
  const seen = got.length;
  // The token is per control plane run; the new one takes over the old one's, as skiff up restarting with the same secret would.
  cp = await startCp({ port, token });
  await until(() => got.length > seen && reviewsClusters(got.at(-1)!).includes('outbound|9080|v3|reviews.user11.svc.cluster.local'));
});

/** A proxy's end of the stream by hand: every message the control plane sends, in order. */
async function rawProxy(cp: ControlPlane): Promise<{ next(): Promise<Record<string, unknown>>; reply(m: Record<string, unknown>): void; close(): void }> {
  const ws = new WebSocket(`${cp.address}/v1/config?pod=user11/client`, { headers: { authorization: `Bearer ${cp.token}` } });
  const queue: Array<Record<string, unknown>> = [];
  ws.on('message', (d) => queue.push(JSON.parse(String(d)) as Record<string, unknown>));
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  closers.push(() => ws.terminate());
  return {
    next: () => until(() => queue.shift()),
    reply: (m) => ws.send(JSON.stringify(m)),
    close: () => ws.terminate(),
  };
}

async function setReviews(subset: string): Promise<void> {
  await fx.reg.update('virtualservices.networking.istio.io', 'user11', { ...(await fx.reg.get('virtualservices.networking.istio.io', 'user11', 'reviews')), spec: vs(subset).spec });
}

test('after the first snapshot a change goes as a delta; merged in, it is the config a new proxy gets whole', async () => {
  const cp = await startCp();
  const got = recordingProxy(cp);
  await until(() => got.length >= 1);
  assert.equal(cp.deltas, 0, 'the first config is a snapshot');
  await setReviews('v2');
  await until(() => got.length >= 2);
  assert.equal(cp.deltas, 1);
  assert.deepEqual(reviewsClusters(got[1].config), ['outbound|9080|v2|reviews.user11.svc.cluster.local']);
  assert.equal(got[1].config.clusters, got[0].config.clusters, 'unchanged parts are the objects the proxy already has');
  const fresh: ProxyConfig[] = [];
  const other = new StreamClient({ address: cp.address, token: cp.token, namespace: 'user11', pod: 'client', apply: async (config) => void fresh.push(config) });
  other.start();
  closers.push(() => other.close());
  await until(() => fresh.length >= 1);
  assert.deepEqual(got[1].config, fresh[0]);
});

test('a NACKed delta is followed by a full snapshot at the next change; deltas resume after it', async () => {
  const cp = await startCp();
  const p = await rawProxy(cp);
  const m1 = await p.next();
  assert.equal(m1.type, 'config');
  p.reply({ type: 'ack', version: m1.version, nonce: m1.nonce });
  await setReviews('v1');
  const m2 = await p.next();
  assert.equal(m2.type, 'delta');
  assert.equal(m2.base, m1.version);
  p.reply({ type: 'nack', version: m2.version, nonce: m2.nonce, error: 'bad regex' });
  await until(() => cp.status().find((s) => s.nack === 'bad regex'));
  await setReviews('v3');
  const m3 = await p.next();
  assert.equal(m3.type, 'config', 'the proxy kept an older config: no delta fits it');
  assert.deepEqual(reviewsClusters(m3.config as ProxyConfig), ['outbound|9080|v3|reviews.user11.svc.cluster.local']);
  p.reply({ type: 'ack', version: m3.version, nonce: m3.nonce });
  await setReviews('v2');
  const m4 = await p.next();
  assert.equal(m4.type, 'delta');
  assert.equal(m4.base, m3.version);
});

test('a proxy that lacks a delta\'s base gets a full snapshot at once; a reconnecting proxy starts with one', async () => {
  const cp = await startCp();
  const p = await rawProxy(cp);
  const m1 = await p.next();
  p.reply({ type: 'ack', version: m1.version, nonce: m1.nonce });
  await setReviews('v1');
  const m2 = await p.next();
  assert.equal(m2.type, 'delta');
  // No change in the world, yet the proxy asks: the control plane sends the current config whole.
  p.reply({ type: 'nack', version: m2.version, nonce: m2.nonce, error: 'delta from version x', resync: true });
  const m3 = await p.next();
  assert.equal(m3.type, 'config');
  assert.deepEqual(reviewsClusters(m3.config as ProxyConfig), ['outbound|9080|v1|reviews.user11.svc.cluster.local']);
  p.close();
  const again = await rawProxy(cp);
  const m4 = await again.next();
  assert.equal(m4.type, 'config');
  assert.deepEqual(m4.config, m3.config);
});

test('only pod changes that some proxy config reads make a push: status writes of probes and containers do not', () => {
  const pod: KObject = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'p', namespace: 'user11', resourceVersion: '5', labels: { app: 'a' } },
    spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80 }] }] },
    status: { phase: 'Running', podIP: '127.42.0.9', conditions: [{ type: 'Ready', status: 'False' }], containerStatuses: [{ name: 'c', ready: false, restartCount: 0 }] },
  };
  const next = (f: (p: KObject) => void): KObject => {
    const n = structuredClone(pod);
    n.metadata.resourceVersion = '6';
    f(n);
    return n;
  };
  // Probe results and container states: nothing a proxy sees.
  assert.equal(podChangeMatters('MODIFIED', next((p) => {
    p.status.conditions = [{ type: 'Ready', status: 'True' }];
    p.status.containerStatuses = [{ name: 'c', ready: true, restartCount: 1 }];
  }), pod), false);
  // Labels, annotations, the address, the phase and the spec are read by the translation.
  assert.equal(podChangeMatters('MODIFIED', next((p) => (p.metadata.labels = { app: 'b' })), pod), true);
  assert.equal(podChangeMatters('MODIFIED', next((p) => (p.metadata.annotations = { 'sidecar.istio.io/inject': 'false' })), pod), true);
  assert.equal(podChangeMatters('MODIFIED', next((p) => (p.status.podIP = '127.42.0.10')), pod), true);
  assert.equal(podChangeMatters('MODIFIED', next((p) => (p.status.phase = 'Succeeded')), pod), true);
  assert.equal(podChangeMatters('MODIFIED', next((p) => (p.spec.containers[0].ports = [{ containerPort: 81 }])), pod), true);
  assert.equal(podChangeMatters('ADDED', pod, undefined), true);
  assert.equal(podChangeMatters('DELETED', pod, undefined), true);
});

test('a lone change is pushed at once; changes that follow it within the debounce window wait for the burst to settle, at most debounceMaxMs', async () => {
  // A one-minute debounce: only the leading edge and the burst cap can deliver within the test's wait.
  const cp = await startCp({ debounceMs: 60_000, debounceMaxMs: 300 });
  const got = recordingProxy(cp);
  await until(() => got.length >= 1);
  await setReviews('v1');
  await until(() => reviewsClusters(got.at(-1)!.config).includes('outbound|9080|v1|reviews.user11.svc.cluster.local'));
  const n = got.length;
  await setReviews('v2');
  await setReviews('v3');
  await until(() => reviewsClusters(got.at(-1)!.config).includes('outbound|9080|v3|reviews.user11.svc.cluster.local'));
  // v2 came within the window of v1, and v3 within that of v2: one push for both, after the cap.
  assert.equal(got.length, n + 1);
});
