import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../../api/index.ts';
import type { ProxyConfig } from '../proxy/model.ts';
import { applyDelta } from '../stream/delta.ts';
import { deltaJson, FragmentWriter, snapshotJson } from './push.ts';
import { buildIndex, buildProxyConfig, type MeshWorld } from './translate.ts';
import { podNamed, testdata, worldOf, yamlObjects } from './translate.test-helper.ts';

const NS = 'user11';
const pods: Array<[string, string]> = [['productpage', NS], ['reviews-v1', NS], ['istio-ingressgateway', 'istio-system']];

const reviewsVs = (subset: string) => yamlObjects(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: ${subset}}}]
  - route: [{destination: {host: reviews, subset: v1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}, {name: v3, labels: {version: v3}}]
`, NS);

const gateway = (prefix: string) => yamlObjects(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec:
  hosts: ["*"]
  gateways: [web]
  http: [{match: [{uri: {prefix: ${prefix}}}], route: [{destination: {host: productpage, port: {number: 9080}}}]}]
`, NS);

const extraService = yamlObjects(`
apiVersion: v1
kind: Service
metadata: {name: catalog}
spec: {selector: {app: catalog}, ports: [{name: http, port: 9080}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: catalog}
spec:
  selector: {matchLabels: {app: catalog}}
  template:
    metadata: {labels: {app: catalog, version: v1}}
    spec: {containers: [{name: catalog, image: skiff/catalog, ports: [{containerPort: 9080}]}]}
`, NS);

const base = () => [...testdata('ingressgateway.yaml', 'istio-system'), ...testdata('bookinfo.yaml', NS)];

/** Successive states of a mesh; every step changes something a proxy sees. */
const steps: Array<{ what: string; objects: () => KObject[]; mesh?: MeshWorld['mesh'] }> = [
  { what: 'bookinfo', objects: () => [...base(), ...gateway('/')] },
  { what: 'a VirtualService and DestinationRule for reviews', objects: () => [...base(), ...gateway('/'), ...reviewsVs('v2')] },
  { what: 'the VirtualService routes to another subset', objects: () => [...base(), ...gateway('/'), ...reviewsVs('v3')] },
  { what: 'the gateway route changes', objects: () => [...base(), ...gateway('/productpage'), ...reviewsVs('v3')] },
  { what: 'a new service (virtual host and clusters inserted)', objects: () => [...base(), ...gateway('/productpage'), ...reviewsVs('v3'), ...extraService] },
  { what: 'mesh settings (top-level fields)', objects: () => [...base(), ...gateway('/productpage'), ...reviewsVs('v3'), ...extraService], mesh: { accessLog: false, outboundTrafficPolicy: 'REGISTRY_ONLY' } },
  { what: 'the VirtualService and the service go away', objects: () => [...base(), ...gateway('/productpage')] },
];

/** Each proxy's config at a step, from an index of its own (as one push computes it). */
function configs(step: (typeof steps)[number]): ProxyConfig[] {
  const w = worldOf(step.objects(), { mesh: step.mesh });
  const index = buildIndex(w);
  return pods.map(([name, ns]) => buildProxyConfig(index, podNamed(w, name, ns)));
}

const plain = (c: ProxyConfig): ProxyConfig => JSON.parse(JSON.stringify(c)) as ProxyConfig;

test('a snapshot spliced from fragments is the config; the same config pushed again is no change', () => {
  for (const step of steps) {
    const a = configs(step);
    const b = configs(step);
    const wa = new FragmentWriter();
    const wb = new FragmentWriter();
    for (let i = 0; i < pods.length; i++) {
      const ta = wa.encode(a[i]);
      assert.deepEqual(JSON.parse(snapshotJson(ta)), plain(a[i]), `${step.what}, ${pods[i][0]}`);
      assert.equal(deltaJson(ta, wb.encode(b[i])), undefined, `${step.what}, ${pods[i][0]}: nothing changed`);
    }
  }
});

test('a delta applied on top of the snapshot a proxy has equals the full new config, step after step', () => {
  const first = configs(steps[0]);
  const writer0 = new FragmentWriter();
  let sent = first.map((c) => writer0.encode(c));
  // What each proxy holds: the first snapshot as parsed JSON, then every delta merged in.
  let held = sent.map((t) => JSON.parse(snapshotJson(t)) as ProxyConfig);
  let changed = 0;
  for (const step of steps.slice(1)) {
    const next = configs(step);
    const writer = new FragmentWriter();
    const texts = next.map((c) => writer.encode(c));
    held = held.map((h, i) => {
      const d = deltaJson(sent[i], texts[i]);
      if (d === undefined) {
        assert.deepEqual(h, plain(next[i]), `${step.what}, ${pods[i][0]}: no delta, so no change`);
        return h;
      }
      changed++;
      assert.ok(d.length < snapshotJson(texts[i]).length, `${step.what}, ${pods[i][0]}: the delta is smaller than the snapshot`);
      const merged = applyDelta(h, JSON.parse(`{${d}}`));
      assert.deepEqual(merged, plain(next[i]), `${step.what}, ${pods[i][0]}`);
      return merged;
    });
    sent = texts;
  }
  assert.ok(changed >= 10, `most steps change most proxies (${changed})`);
});

test('a VirtualService change sends one virtual host; the others go as indexes; proxies sharing both versions share the delta', () => {
  const a = configs(steps[1]);
  const b = configs(steps[2]);
  const wa = new FragmentWriter();
  const wb = new FragmentWriter();
  const d = deltaJson(wa.encode(a[0]), wb.encode(b[0]))!;
  const msg = JSON.parse(`{${d}}`) as { routes: Record<string, { virtualHosts: unknown[] }>; clusters?: unknown; set?: unknown };
  assert.deepEqual(Object.keys(msg), ['routes']);
  const vhs = msg.routes['9080'].virtualHosts;
  assert.equal(vhs.filter((v) => typeof v === 'object').length, 1);
  vhs.forEach((v, i) => typeof v === 'number' && assert.equal(v, i, 'unchanged hosts keep their place'));
  // reviews-v1's sidecar shares productpage's outbound half: the same delta text.
  assert.equal(deltaJson(wa.encode(a[1]), wb.encode(b[1])), d);
});
