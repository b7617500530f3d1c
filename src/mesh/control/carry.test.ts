// A push's index built on the previous one (world.ts carried()) must give what a fresh index gives,
// whatever changed in between, and must keep the very objects a change leaves alone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KObject } from '../../api/index.ts';
import { deltaJson, FragmentWriter } from './push.ts';
import { buildIndex, buildProxyConfig, type MeshIndex, type MeshWorld } from './translate.ts';
import { podNamed, testdata, worldOf } from './translate.test-helper.ts';

const NS = 'bi';

function start(): MeshWorld {
  return worldOf([...testdata('bookinfo.yaml', NS), ...testdata('ingressgateway.yaml', 'istio-ingress'), ...testdata('reviews-routing.yaml', NS)]);
}

/** `w` with the object `name` of list `field` replaced by `edit(copy)` (or added when missing, removed when edit gives undefined). */
function change(w: MeshWorld, field: keyof Omit<MeshWorld, 'mesh'>, name: string, edit: (o: KObject) => KObject | undefined, added?: KObject): MeshWorld {
  const list = w[field];
  const at = list.findIndex((o) => o.metadata.name === name || o.metadata.name?.startsWith(`${name}-`));
  if (at < 0) return { ...w, [field]: [...list, added!] };
  const next = edit(structuredClone(list[at]));
  return { ...w, [field]: next ? list.map((o, i) => (i === at ? next : o)) : list.filter((_, i) => i !== at) };
}

const istio = (kind: string, name: string, spec: unknown): KObject => ({ apiVersion: 'networking.istio.io/v1', kind, metadata: { name, namespace: NS, creationTimestamp: '2025-02-01T00:00:00Z' }, spec });

/** Every change a push can follow, one after another. */
const steps: Array<[string, (w: MeshWorld) => MeshWorld]> = [
  ['nothing', (w) => ({ ...w })],
  ['a VirtualService route', (w) => change(w, 'virtualServices', 'reviews', (o) => ((o.spec.http[0].route[0].destination.subset = 'v1'), o))],
  ['a DestinationRule policy', (w) => change(w, 'destinationRules', 'reviews', (o) => ((o.spec.trafficPolicy = { connectionPool: { tcp: { maxConnections: 1 } } }), o))],
  ['a Service port', (w) => change(w, 'services', 'ratings', (o) => (o.spec.ports.push({ name: 'grpc', port: 9090, targetPort: 9090 }), o))],
  ['a pod label', (w) => change(w, 'pods', 'reviews-v2', (o) => ((o.metadata.labels!.version = 'v3'), o))],
  ['an endpoint going unready', (w) => change(w, 'endpointSlices', 'details', (o) => (((o.endpoints as Array<{ conditions: { ready: boolean } }>)[0].conditions.ready = false), o))],
  ['a ServiceEntry', (w) => change(w, 'serviceEntries', 'ext', (o) => o, istio('ServiceEntry', 'ext', { hosts: ['api.example.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'DNS' }))],
  ['a Sidecar importing only its namespace', (w) => change(w, 'sidecars', 'default', (o) => o, istio('Sidecar', 'default', { egress: [{ hosts: ['./*'] }] }))],
  ['a VirtualService routing outside the Sidecar', (w) => change(w, 'virtualServices', 'ext', (o) => o, istio('VirtualService', 'ext', { hosts: ['details'], http: [{ route: [{ destination: { host: 'api.example.com' } }] }] }))],
  ['the Sidecar removed', (w) => change(w, 'sidecars', 'default', () => undefined)],
  ['the mesh settings', (w) => ({ ...w, mesh: { connectTimeoutMs: 2500, accessLog: false } })],
  ['a Gateway host', (w) => change(w, 'gateways', 'bookinfo-gateway', (o) => ((o.spec.servers[0].hosts = ['bookinfo.example.com']), o))],
  ['a namespace label', (w) => change(w, 'namespaces', NS, (o) => ((o.metadata.labels = { ...o.metadata.labels, team: 'a' }), o))],
  ['a DestinationRule removed', (w) => change(w, 'destinationRules', 'reviews', () => undefined)],
  ['a pod removed', (w) => change(w, 'pods', 'productpage', () => undefined)],
];

const json = (index: MeshIndex, w: MeshWorld): string[] => w.pods.map((p) => JSON.stringify(buildProxyConfig(index, p)));

describe('an index built on the previous push', () => {
  it('gives every proxy the config a fresh index gives, change after change', () => {
    let w = start();
    let prev = buildIndex(w);
    json(prev, w);
    for (const [what, step] of steps) {
      w = step(w);
      const index = buildIndex(w, prev);
      assert.deepEqual(json(index, w), json(buildIndex(w), w), `after ${what}`);
      prev = index;
    }
  });

  it('keeps what a VirtualService change leaves alone, and builds anew what it does not', () => {
    const w1 = start();
    const i1 = buildIndex(w1);
    const pod = podNamed(w1, 'productpage', NS);
    const a = buildProxyConfig(i1, pod);
    const w2 = change(w1, 'virtualServices', 'reviews', (o) => ((o.spec.http[0].route[0].destination.subset = 'v1'), o));
    const i2 = buildIndex(w2, i1);
    const b = buildProxyConfig(i2, pod);
    assert.equal(b.clusters, a.clusters, 'the cluster map is the last push’s');
    assert.equal(b.node, a.node);
    assert.equal(b.inbound, a.inbound);
    assert.equal(i2.byHost, i1.byHost, 'the service registry is taken over');
    assert.notEqual(b.routes, a.routes);
    // A DestinationRule change rebuilds the clusters.
    const w3 = change(w2, 'destinationRules', 'reviews', (o) => ((o.spec.trafficPolicy = { loadBalancer: { simple: 'RANDOM' } }), o));
    const c = buildProxyConfig(buildIndex(w3, i2), pod);
    assert.notEqual(c.clusters, b.clusters);
    assert.equal(c.clusters['outbound|9080|v1|reviews.bi.svc.cluster.local'].lbPolicy, 'RANDOM');
  });

  it('makes a route-only delta with one writer across pushes, and serializes carried parts once', () => {
    const w1 = start();
    const i1 = buildIndex(w1);
    const pod = podNamed(w1, 'productpage', NS);
    const writer = new FragmentWriter();
    const t1 = writer.encode(buildProxyConfig(i1, pod));
    const w2 = change(w1, 'virtualServices', 'reviews', (o) => ((o.spec.http[0].route[0].destination.subset = 'v1'), o));
    const t2 = writer.encode(buildProxyConfig(buildIndex(w2, i1), pod));
    assert.equal(t2.clusters.shared, t1.clusters.shared, 'the shared clusters are the same fragments');
    assert.equal(t2.top.get('node'), t1.top.get('node'));
    const delta = JSON.parse(`{${deltaJson(t1, t2)}}`) as Record<string, unknown>;
    assert.deepEqual(Object.keys(delta), ['routes']);
  });
});
