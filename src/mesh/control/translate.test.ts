import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KObject } from '../../api/index.ts';
import type { ProxyConfig, RouteAction, VirtualHost } from '../proxy/model.ts';
import { appIPFor, buildIndex, buildProxyConfig, isGatewayPod, type MeshWorld } from './translate.ts';
import { podNamed, testdata, worldOf, yamlObjects } from './translate.test-helper.ts';

const NS = 'user11';
const fqdn = (name: string, ns = NS) => `${name}.${ns}.svc.cluster.local`;

function configFor(objects: KObject[], pod: string, podNs = NS, mesh?: MeshWorld['mesh']): ProxyConfig {
  const w = worldOf(objects, { mesh });
  return buildProxyConfig(buildIndex(w), podNamed(w, pod, podNs));
}

function vhost(cfg: ProxyConfig, port: number, host: string): VirtualHost {
  const v = cfg.routes[String(port)]?.virtualHosts.find((x) => x.domains.includes(host));
  assert.ok(v, `no vhost for ${host} on ${port}`);
  return v;
}

function routeAction(a: RouteAction): Extract<RouteAction, { kind: 'route' }> {
  assert.equal(a.kind, 'route');
  return a as Extract<RouteAction, { kind: 'route' }>;
}

const bookinfo = () => testdata('bookinfo.yaml', NS);

describe('buildProxyConfig (sidecar)', () => {
  it('gives a service without VirtualService the default route, its short names and cluster IP as domains', () => {
    const cfg = configFor(bookinfo(), 'productpage');
    const v = vhost(cfg, 9080, 'reviews');
    assert.equal(v.name, `${fqdn('reviews')}:9080`);
    assert.deepEqual(v.domains.slice(0, 4), [fqdn('reviews'), 'reviews', `reviews.${NS}`, `reviews.${NS}.svc`]);
    assert.match(v.domains[4], /^127\.43\./);
    assert.equal(v.routes.length, 1);
    const r = v.routes[0];
    assert.equal(r.name, 'default');
    assert.equal(r.operation, `${fqdn('reviews')}:9080/*`);
    const a = routeAction(r.action);
    assert.deepEqual(a.clusters, [{ cluster: `outbound|9080||${fqdn('reviews')}`, weight: 100 }]);
    assert.equal(a.timeoutMs, 0);
    assert.deepEqual(a.retry, { numRetries: 2, retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'], retryIgnorePreviousHosts: true, backoffBaseMs: 25 });
    assert.deepEqual(cfg.outbound['9080'], { port: 9080, protocol: 'http', routeConfig: '9080' });
    const last = cfg.routes['9080'].virtualHosts.at(-1)!;
    assert.equal(last.name, 'allow_any');
    assert.equal(routeAction(last.routes[0].action).clusters[0].cluster, 'PassthroughCluster');
  });

  it('builds clusters with Istio defaults, endpoints from slices with pod labels and workload metadata', () => {
    const cfg = configFor(bookinfo(), 'productpage');
    const c = cfg.clusters[`outbound|9080||${fqdn('reviews')}`];
    assert.equal(c.type, 'eds');
    assert.equal(c.protocol, 'http1');
    assert.equal(c.lbPolicy, 'LEAST_REQUEST');
    assert.equal(c.connectTimeoutMs, 10000);
    assert.equal(c.idleTimeoutMs, 3600000);
    assert.equal(c.maxRequestsPerConnection, 0);
    assert.deepEqual(c.circuitBreakers, { maxConnections: 4294967295, maxPendingRequests: 4294967295, maxRequests: 4294967295, maxRetries: 4294967295 });
    assert.equal(c.outlierDetection, undefined);
    assert.equal(c.healthyPanicThreshold, 50);
    assert.deepEqual(c.service, { host: fqdn('reviews'), name: 'reviews', namespace: NS, port: 9080 });
    assert.equal(c.endpoints.length, 3);
    const v2 = c.endpoints.find((e) => e.labels?.version === 'v2')!;
    assert.equal(v2.port, 9080);
    assert.equal(v2.ready, true);
    assert.deepEqual(v2.workload, {
      workload: 'reviews-v2', namespace: NS, app: 'reviews', version: 'v2', canonicalService: 'reviews', canonicalRevision: 'v2',
      principal: `spiffe://cluster.local/ns/${NS}/sa/bookinfo-reviews`, meshed: true,
    });
    assert.ok(cfg.clusters.PassthroughCluster && cfg.clusters.BlackHoleCluster);
  });

  it('fills the node from the pod and derives the app address', () => {
    const cfg = configFor(bookinfo(), 'reviews-v2');
    const n = cfg.node;
    assert.equal(n.kind, 'sidecar');
    assert.match(n.id, new RegExp(`^sidecar~127\\.42\\.0\\.\\d+~reviews-v2-[^.]+\\.${NS}~${NS}\\.svc\\.cluster\\.local$`));
    assert.equal(n.workload, 'reviews-v2');
    assert.equal(n.canonicalService, 'reviews');
    assert.equal(n.canonicalRevision, 'v2');
    assert.equal(n.appIP, appIPFor(n.podIP));
    assert.equal(appIPFor('127.42.3.7'), '127.44.3.7');
    assert.deepEqual(cfg.accessLog, { enabled: true });
    assert.deepEqual(cfg.tracing, { samplingPerMillion: 10000 });
    assert.equal(cfg.outboundTrafficPolicy, 'ALLOW_ANY');
  });

  it('lists inbound ports with the selecting services and an app cluster', () => {
    const cfg = configFor(bookinfo(), 'reviews-v1');
    assert.deepEqual(cfg.inbound, [{ port: 9080, bindPort: 9080, appPort: 9080, protocol: 'http', cluster: 'inbound|9080||', services: [{ host: fqdn('reviews'), name: 'reviews', namespace: NS }] }]);
    const c = cfg.clusters['inbound|9080||'];
    assert.deepEqual(c.endpoints, [{ address: cfg.node.appIP, port: 9080, ready: true }]);
  });

  it('takes inbound ports from a Service targetPort when the pod declares none, and applies the port map', () => {
    const objs = yamlObjects(`
apiVersion: v1
kind: Pod
metadata: {name: hello-server-1, labels: {app: hello}, annotations: {skiff.dev/port-map: '{"80":20080}'}}
spec: {containers: [{name: hello, image: skiff/hello}]}
---
apiVersion: v1
kind: Service
metadata: {name: hello-svc}
spec:
  selector: {app: hello}
  ports: [{name: http, port: 8080}, {name: web, port: 81, targetPort: 80}]
`, NS);
    const w = worldOf(objs);
    const idx = buildIndex(w);
    const cfg = buildProxyConfig(idx, podNamed(w, 'hello-server-1'));
    assert.deepEqual(cfg.inbound.map((p) => [p.port, p.bindPort, p.appPort, p.protocol]), [[80, 20080, 20080, 'http'], [8080, 8080, 8080, 'http']]);
    assert.equal(cfg.inbound[0].services[0].name, 'hello-svc');
    // Endpoints of the service point at the bound port.
    const c = cfg.clusters[`outbound|81||${fqdn('hello-svc')}`];
    assert.deepEqual(c.endpoints.map((e) => e.port), [20080]);
  });

  it('hides services not exported to the namespace and those a Sidecar does not import', () => {
    const objs = [
      ...bookinfo(),
      ...yamlObjects(`
apiVersion: v1
kind: Service
metadata: {name: secret, namespace: other, annotations: {networking.istio.io/exportTo: "."}}
spec: {selector: {app: secret}, ports: [{name: http, port: 8000}]}
---
apiVersion: v1
kind: Service
metadata: {name: shared, namespace: other}
spec: {selector: {app: shared}, ports: [{name: http, port: 8000}]}
`, 'other'),
    ];
    const cfg = configFor(objs, 'productpage');
    assert.ok(cfg.clusters[`outbound|8000||${fqdn('shared', 'other')}`]);
    assert.equal(cfg.clusters[`outbound|8000||${fqdn('secret', 'other')}`], undefined);
    assert.equal(cfg.routes['8000'].virtualHosts.some((v) => v.domains.includes(fqdn('secret', 'other'))), false);

    const sidecar = yamlObjects(`
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default}
spec:
  egress: [{hosts: ["./*", "istio-system/*"]}]
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
`, NS);
    const scoped = configFor([...objs, ...sidecar], 'productpage');
    assert.equal(scoped.clusters[`outbound|8000||${fqdn('shared', 'other')}`], undefined);
    assert.equal(scoped.outbound['8000'], undefined);
    assert.ok(scoped.clusters[`outbound|9080||${fqdn('reviews')}`]);
    assert.equal(scoped.outboundTrafficPolicy, 'REGISTRY_ONLY');
    const last = scoped.routes['9080'].virtualHosts.at(-1)!;
    assert.equal(last.name, 'block_all');
    assert.deepEqual(last.routes[0].action, { kind: 'direct', status: 502 });
  });

  it('resolves DestinationRules client namespace first, then the service namespace, then the root namespace', () => {
    const dr = (ns: string, name: string, consecutive: number, extra = '') => yamlObjects(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}, namespace: ${ns}}
spec:
  host: reviews.${NS}.svc.cluster.local
  ${extra}
  trafficPolicy: {outlierDetection: {consecutive5xxErrors: ${consecutive}}}
`, ns);
    const client = yamlObjects(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleep, namespace: client}
spec:
  selector: {matchLabels: {app: sleep}}
  template: {metadata: {labels: {app: sleep}}, spec: {containers: [{name: sleep, image: skiff/curl}]}}
`, 'client');
    const od = (lists: KObject[][]) => configFor([...bookinfo(), ...client, ...lists.flat()], 'sleep', 'client').clusters[`outbound|9080||${fqdn('reviews')}`].outlierDetection?.consecutive5xx;
    assert.equal(od([dr('istio-system', 'root', 3)]), 3);
    assert.equal(od([dr('istio-system', 'root', 3), dr(NS, 'svc', 4)]), 4);
    assert.equal(od([dr('istio-system', 'root', 3), dr(NS, 'svc', 4), dr('client', 'mine', 5)]), 5);
    // Not exported to the client: the service namespace's rule is skipped, the root one applies.
    assert.equal(od([dr('istio-system', 'root', 3), dr(NS, 'svc', 4, 'exportTo: ["."]')]), 3);
    // A rule in a third namespace never applies.
    assert.equal(od([dr('elsewhere', 'x', 7)]), undefined);
  });

  it('lets port-level settings replace the whole policy and subsets replace whole components', () => {
    const objs = [
      ...bookinfo(),
      ...yamlObjects(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    connectionPool: {tcp: {maxConnections: 7}, http: {http1MaxPendingRequests: 3}}
    portLevelSettings:
    - port: {number: 9080}
      connectionPool: {http: {http2MaxRequests: 9}}
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      connectionPool: {http: {maxRetries: 4}}
`, NS),
    ];
    const cfg = configFor(objs, 'productpage');
    const base = cfg.clusters[`outbound|9080||${fqdn('reviews')}`];
    // The port-level entry replaced everything: load balancer back to the default, only http2MaxRequests set.
    assert.equal(base.lbPolicy, 'LEAST_REQUEST');
    assert.deepEqual(base.circuitBreakers, { maxConnections: 4294967295, maxPendingRequests: 4294967295, maxRequests: 9, maxRetries: 4294967295 });
    const v1 = cfg.clusters[`outbound|9080|v1|${fqdn('reviews')}`];
    assert.equal(v1.circuitBreakers.maxRequests, 9);
    assert.deepEqual(v1.endpoints.map((e) => e.labels?.version), ['v1']);
    const v2 = cfg.clusters[`outbound|9080|v2|${fqdn('reviews')}`];
    assert.deepEqual(v2.circuitBreakers, { maxConnections: 4294967295, maxPendingRequests: 4294967295, maxRequests: 4294967295, maxRetries: 4 });
  });

  it('falls back to the default route when every route of a VirtualService is filtered out by sourceLabels', () => {
    const vs = yamlObjects(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{sourceLabels: {app: productpage}}]
    route: [{destination: {host: reviews, subset: v2}}]
`, NS);
    const fromPage = configFor([...bookinfo(), ...vs], 'productpage');
    assert.equal(routeAction(vhost(fromPage, 9080, 'reviews').routes[0].action).clusters[0].cluster, `outbound|9080|v2|${fqdn('reviews')}`);
    const fromRatings = configFor([...bookinfo(), ...vs], 'ratings');
    const r = vhost(fromRatings, 9080, 'reviews').routes;
    assert.equal(r.length, 1);
    assert.equal(r[0].name, 'default');
  });

  it('lets the first VirtualService for a host win and expands short destination names from the VS namespace', () => {
    const vs = (name: string, subset: string) => yamlObjects(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}}
spec:
  hosts: [reviews.${NS}.svc.cluster.local]
  http: [{route: [{destination: {host: reviews, subset: ${subset}}}]}]
`, NS);
    const cfg = configFor([...bookinfo(), ...vs('first', 'v1'), ...vs('second', 'v3')], 'productpage');
    const v = vhost(cfg, 9080, 'reviews');
    assert.equal(routeAction(v.routes[0].action).clusters[0].cluster, `outbound|9080|v1|${fqdn('reviews')}`);
  });

  it('translates ServiceEntry hosts, keeping only loopback endpoints', () => {
    const se = yamlObjects(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext}
spec:
  hosts: [api.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}, {number: 5432, name: tcp-db, protocol: TCP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.5}, {address: 203.0.113.9}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: any}
spec:
  hosts: [passthrough.example.com]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: NONE
`, NS);
    const cfg = configFor([...bookinfo(), ...se], 'productpage');
    const c = cfg.clusters['outbound|80||api.example.com'];
    assert.deepEqual(c.endpoints.map((e) => `${e.address}:${e.port}`), ['127.0.0.5:80']);
    assert.equal(c.endpoints[0].workload, undefined);
    assert.deepEqual(vhost(cfg, 80, 'api.example.com').domains, ['api.example.com']);
    assert.equal(cfg.outbound['5432'].protocol, 'tcp');
    assert.deepEqual(cfg.outbound['5432'].tcp!['api.example.com'], [{ clusters: [{ cluster: 'outbound|5432||api.example.com', weight: 100 }] }]);
    assert.equal(cfg.clusters['outbound|443||passthrough.example.com'].type, 'passthrough');
  });

  it('routes TCP ports by VirtualService tcp rules, keyed by every name of the service', () => {
    const objs = yamlObjects(`
apiVersion: v1
kind: Service
metadata: {name: db}
spec: {selector: {app: db}, ports: [{name: tcp, port: 5432}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db-v1}
spec:
  selector: {matchLabels: {app: db}}
  template: {metadata: {labels: {app: db, version: v1}}, spec: {containers: [{name: db, image: x, ports: [{containerPort: 5432}]}]}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db}
spec:
  hosts: [db]
  tcp:
  - route:
    - {destination: {host: db, subset: a}, weight: 80}
    - {destination: {host: db, subset: b}, weight: 20}
`, NS);
    const cfg = configFor(objs, 'db-v1');
    const tcp = cfg.outbound['5432'].tcp!;
    assert.deepEqual(tcp.db, [{ clusters: [{ cluster: `outbound|5432|a|${fqdn('db')}`, weight: 80 }, { cluster: `outbound|5432|b|${fqdn('db')}`, weight: 20 }] }]);
    assert.equal(tcp[fqdn('db')], tcp.db);
    assert.equal(cfg.inbound[0].protocol, 'tcp');
  });

  it('is deterministic: the same world in any list order gives byte-identical JSON, with nothing undefined', () => {
    const objs = [...bookinfo(), ...testdata('ingressgateway.yaml', 'istio-system'), ...yamlObjects(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec: {host: reviews, subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {end-user: {exact: jason}}, queryParams: {b: {}, a: {exact: x}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}, weight: 90}, {destination: {host: reviews, subset: v2}, weight: 10}]
`, NS)];
    const w = worldOf(objs);
    const json = (world: MeshWorld) => {
      const idx = buildIndex(world);
      return world.pods.map((p) => JSON.stringify(buildProxyConfig(idx, p))).sort();
    };
    const reversed = Object.fromEntries(Object.entries(w).map(([k, v]) => [k, Array.isArray(v) ? [...v].reverse() : v])) as unknown as MeshWorld;
    assert.deepEqual(json(reversed), json(w));
    const idx = buildIndex(w);
    for (const p of w.pods) {
      const cfg = buildProxyConfig(idx, p);
      assert.deepStrictEqual(JSON.parse(JSON.stringify(cfg)), cfg, `config of ${p.metadata.name} holds undefined values`);
    }
  });
});

describe('isGatewayPod', () => {
  it('recognizes gateway labels and a lone proxyv2 container', () => {
    const pod = (labels: Record<string, string>, images: string[]): KObject => ({ metadata: { labels }, spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } });
    assert.equal(isGatewayPod(pod({ istio: 'ingressgateway' }, ['x'])), true);
    assert.equal(isGatewayPod(pod({ istio: 'egressgateway' }, ['x'])), true);
    assert.equal(isGatewayPod(pod({}, ['docker.io/istio/proxyv2:1.27.1'])), true);
    assert.equal(isGatewayPod(pod({}, ['docker.io/istio/proxyv2:1.27.1', 'app'])), false);
    assert.equal(isGatewayPod(pod({ app: 'reviews' }, ['skiff/reviews'])), false);
  });
});
