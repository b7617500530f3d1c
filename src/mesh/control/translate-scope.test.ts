import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KObject } from '../../api/index.ts';
import type { ProxyConfig, RouteAction } from '../proxy/model.ts';
import { buildIndex, buildProxyConfig } from './translate.ts';
import { podNamed, testdata, worldOf, yamlObjects } from './translate.test-helper.ts';

const NS = 'user11';
const fqdn = (name: string, ns = NS) => `${name}.${ns}.svc.cluster.local`;

function configs(yaml: string, ...pods: string[]): ProxyConfig[] {
  const w = worldOf([...testdata('bookinfo.yaml', NS), ...yamlObjects(yaml, NS)]);
  const idx = buildIndex(w);
  return pods.map((p) => buildProxyConfig(idx, podNamed(w, p)));
}

function firstCluster(a: RouteAction): string {
  assert.equal(a.kind, 'route');
  return (a as Extract<RouteAction, { kind: 'route' }>).clusters[0].cluster;
}

function reviewsCluster(cfg: ProxyConfig): string {
  return firstCluster(cfg.routes['9080'].virtualHosts.find((v) => v.domains.includes('reviews'))!.routes[0].action);
}

describe('what a sidecar sees', () => {
  it('routes VirtualService hosts that are not services on port 80', () => {
    const [cfg] = configs(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ext}
spec:
  hosts: [httpbin.org]
  http: [{timeout: 3s, route: [{destination: {host: httpbin.org}}]}]
`, 'productpage');
    assert.deepEqual(cfg.outbound['80'], { port: 80, protocol: 'http', routeConfig: '80' });
    const v = cfg.routes['80'].virtualHosts;
    assert.deepEqual(v.map((x) => x.name), ['httpbin.org:80', 'allow_any']);
    assert.equal(firstCluster(v[0].routes[0].action), 'outbound|80||httpbin.org');
  });

  it('imports the services an imported VirtualService routes to', () => {
    const [cfg] = configs(`
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default}
spec:
  egress: [{hosts: ["./reviews.${NS}.svc.cluster.local"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: ratings}}]}]
`, 'productpage');
    assert.deepEqual(Object.keys(cfg.clusters).filter((c) => c.startsWith('outbound')).sort(), [`outbound|9080||${fqdn('ratings')}`, `outbound|9080||${fqdn('reviews')}`]);
    assert.deepEqual(cfg.routes['9080'].virtualHosts.map((v) => v.name), [`${fqdn('ratings')}:9080`, `${fqdn('reviews')}:9080`, 'allow_any']);
  });

  it('applies a DestinationRule with a workloadSelector only to the pods it selects', () => {
    const [page, ratings] = configs(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: for-page}
spec:
  host: reviews
  workloadSelector: {matchLabels: {app: productpage}}
  trafficPolicy: {loadBalancer: {simple: RANDOM}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: everyone}
spec:
  host: reviews
  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
`, 'productpage', 'ratings');
    assert.equal(page.clusters[`outbound|9080||${fqdn('reviews')}`].lbPolicy, 'RANDOM');
    assert.equal(ratings.clusters[`outbound|9080||${fqdn('reviews')}`].lbPolicy, 'ROUND_ROBIN');
  });

  it('gives a service to the oldest VirtualService among exact hosts and the most specific wildcard', () => {
    const vs = (name: string, host: string, subset: string) => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}}
spec:
  hosts: ["${host}"]
  http: [{route: [{destination: {host: reviews, subset: ${subset}}}]}]
---`;
    const [wildFirst] = configs(vs('all', `*.${NS}.svc.cluster.local`, 'v1') + vs('exact', 'reviews', 'v2'), 'productpage');
    assert.equal(reviewsCluster(wildFirst), `outbound|9080|v1|${fqdn('reviews')}`);
    const [exactFirst] = configs(vs('exact', 'reviews', 'v2') + vs('all', `*.${NS}.svc.cluster.local`, 'v1'), 'productpage');
    assert.equal(reviewsCluster(exactFirst), `outbound|9080|v2|${fqdn('reviews')}`);
    // The broader wildcard loses to the more specific one even when older.
    const [specific] = configs(vs('broad', '*.svc.cluster.local', 'v3') + vs('narrow', `*.${NS}.svc.cluster.local`, 'v1'), 'productpage');
    assert.equal(reviewsCluster(specific), `outbound|9080|v1|${fqdn('reviews')}`);
  });

  it('resolves DNS ServiceEntries to loopback and selects pods for workloadSelector entries', () => {
    const [cfg] = configs(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: local}
spec:
  hosts: [localhost, web.127.0.0.7.nip.io, example.com]
  ports: [{number: 8080, name: http}]
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: internal}
spec:
  hosts: [ratings.internal]
  location: MESH_INTERNAL
  ports: [{number: 7000, name: http, targetPort: 9080}]
  workloadSelector: {labels: {app: ratings}}
`, 'productpage');
    const eps = (c: string) => cfg.clusters[c].endpoints.map((e) => `${e.address}:${e.port}`);
    assert.deepEqual(eps('outbound|8080||localhost'), ['127.0.0.1:8080']);
    assert.deepEqual(eps('outbound|8080||web.127.0.0.7.nip.io'), ['127.0.0.7:8080']);
    assert.deepEqual(eps('outbound|8080||example.com'), []);
    const internal = cfg.clusters['outbound|7000||ratings.internal'];
    assert.equal(internal.endpoints.length, 1);
    assert.equal(internal.endpoints[0].port, 9080);
    assert.equal(internal.endpoints[0].workload?.workload, 'ratings-v1');
  });

  it('exports a service only to the namespaces its annotation names', () => {
    const other = (ns: string): KObject[] => yamlObjects(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleep}
spec:
  selector: {matchLabels: {app: sleep}}
  template: {metadata: {labels: {app: sleep}}, spec: {containers: [{name: sleep, image: skiff/curl}]}}
`, ns);
    const svc = yamlObjects(`
apiVersion: v1
kind: Service
metadata: {name: api, namespace: backend, annotations: {networking.istio.io/exportTo: "frontend, ."}}
spec: {selector: {app: api}, ports: [{name: http, port: 8000}]}
`, 'backend');
    const w = worldOf([...svc, ...other('frontend'), ...other('elsewhere')]);
    const idx = buildIndex(w);
    const sees = (ns: string) => !!buildProxyConfig(idx, podNamed(w, 'sleep', ns)).clusters[`outbound|8000||${fqdn('api', 'backend')}`];
    assert.equal(sees('frontend'), true);
    assert.equal(sees('elsewhere'), false);
  });
});
