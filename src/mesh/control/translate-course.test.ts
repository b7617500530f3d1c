// The course's own YAML (../shared/fixtures/course/istio) through the translation, asserting what Istio 1.27 would configure.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { KObject } from '../../api/index.ts';
import type { ProxyConfig, RouteAction } from '../proxy/model.ts';
import { buildIndex, buildProxyConfig } from './translate.ts';
import { haveCourse, loadYaml, podNamed, testdata, worldOf } from './translate.test-helper.ts';

const NS = 'user11';
const fqdn = (name: string, ns = NS) => `${name}.${ns}.svc.cluster.local`;

/** Skips the test when ../shared is not there (a fresh clone of the project alone). */
function needCourse(t: TestContext): boolean {
  if (haveCourse()) return true;
  t.skip('../shared not found: the course fixtures live in shared/fixtures/course');
  return false;
}

function bookinfo(...files: string[]): KObject[] {
  return [...loadYaml('bookinfo/11.bookinfo.yaml', NS), ...loadYaml('bookinfo/13.destination-rule-all.yaml', NS), ...files.flatMap((f) => loadYaml(`bookinfo/${f}`, NS))];
}

function sidecar(objects: KObject[], pod: string, ns = NS): ProxyConfig {
  const w = worldOf(objects);
  return buildProxyConfig(buildIndex(w), podNamed(w, pod, ns));
}

function routesOf(cfg: ProxyConfig, host: string, port = 9080) {
  const v = cfg.routes[String(port)].virtualHosts.find((x) => x.domains.includes(host));
  assert.ok(v, `no vhost for ${host}`);
  return v.routes;
}

function clustersOf(a: RouteAction): Array<[string, number]> {
  assert.equal(a.kind, 'route');
  return (a as Extract<RouteAction, { kind: 'route' }>).clusters.map((c) => [c.cluster, c.weight]);
}

describe('course bookinfo routing', () => {
  it('21.virtual-service-all-v1 sends every service to subset v1', (t) => {
    if (!needCourse(t)) return;
    const cfg = sidecar(bookinfo('21.virtual-service-all-v1.yaml'), 'productpage');
    for (const svc of ['productpage', 'reviews', 'ratings', 'details']) {
      const routes = routesOf(cfg, svc);
      assert.equal(routes.length, 1, svc);
      assert.deepEqual(clustersOf(routes[0].action), [[`outbound|9080|v1|${fqdn(svc)}`, 100]]);
      assert.ok(cfg.clusters[`outbound|9080|v1|${fqdn(svc)}`], `subset cluster for ${svc}`);
    }
    assert.deepEqual(cfg.clusters[`outbound|9080|v1|${fqdn('reviews')}`].endpoints.map((e) => e.labels?.version), ['v1']);
  });

  it('22.virtual-service-reviews-50-v3 splits reviews 50/50 between v1 and v3', (t) => {
    if (!needCourse(t)) return;
    const routes = routesOf(sidecar(bookinfo('22.virtual-service-reviews-50-v3.yaml'), 'productpage'), 'reviews');
    assert.equal(routes.length, 1);
    assert.deepEqual(clustersOf(routes[0].action), [[`outbound|9080|v1|${fqdn('reviews')}`, 50], [`outbound|9080|v3|${fqdn('reviews')}`, 50]]);
    // Weighted routes name the VirtualService in their operation.
    assert.equal(routes[0].operation, 'reviews:9080/*');
  });

  it('23.virtual-service-reviews-v3 sends reviews to v3', (t) => {
    if (!needCourse(t)) return;
    const routes = routesOf(sidecar(bookinfo('23.virtual-service-reviews-v3.yaml'), 'productpage'), 'reviews');
    assert.deepEqual(clustersOf(routes[0].action), [[`outbound|9080|v3|${fqdn('reviews')}`, 100]]);
  });

  it('24.virtual-service-reviews-test-v2 matches end-user exact jason first', (t) => {
    if (!needCourse(t)) return;
    const routes = routesOf(sidecar(bookinfo('24.virtual-service-reviews-test-v2.yaml'), 'productpage'), 'reviews');
    assert.equal(routes.length, 2);
    assert.deepEqual(routes[0].match, { path: { prefix: '/' }, headers: [{ name: 'end-user', match: { exact: 'jason' } }] });
    assert.deepEqual(clustersOf(routes[0].action), [[`outbound|9080|v2|${fqdn('reviews')}`, 100]]);
    assert.deepEqual(routes[1].match, { path: { prefix: '/' } });
    assert.deepEqual(clustersOf(routes[1].action), [[`outbound|9080|v1|${fqdn('reviews')}`, 100]]);
  });

  it('25.virtual-service-ratings-test-delay delays jason 7 s, every time', (t) => {
    if (!needCourse(t)) return;
    const routes = routesOf(sidecar(bookinfo('25.virtual-service-ratings-test-delay.yaml'), 'reviews-v2'), 'ratings');
    assert.deepEqual(routes[0].fault, { delay: { fixedDelayMs: 7000, perMillion: 1000000 } });
    assert.equal(routes[1].fault, undefined);
  });

  it('26.virtual-service-ratings-test-abort aborts jason with 500, every time', (t) => {
    if (!needCourse(t)) return;
    const routes = routesOf(sidecar(bookinfo('26.virtual-service-ratings-test-abort.yaml'), 'reviews-v2'), 'ratings');
    assert.deepEqual(routes[0].fault, { abort: { httpStatus: 500, perMillion: 1000000 } });
    assert.deepEqual(clustersOf(routes[0].action), [[`outbound|9080|v1|${fqdn('ratings')}`, 100]]);
  });

  it('27.virtual-service-ratings-500-fi-rate aborts half of all requests', (t) => {
    if (!needCourse(t)) return;
    const routes = routesOf(sidecar(bookinfo('27.virtual-service-ratings-500-fi-rate.yaml'), 'reviews-v3'), 'ratings');
    assert.equal(routes.length, 1);
    assert.deepEqual(routes[0].fault, { abort: { httpStatus: 500, perMillion: 500000 } });
  });
});

describe('course destination rules', () => {
  it('hello-dr turns on outlier detection with the panic threshold off', (t) => {
    if (!needCourse(t)) return;
    const objs = [...loadYaml('hello/11.hello-pod-svc.yaml', NS), ...loadYaml('hello/12.hello-dr.yaml', NS)];
    const cfg = sidecar(objs, 'hello-server-1');
    const c = cfg.clusters[`outbound|8080||${fqdn('hello-svc')}`];
    assert.deepEqual(c.outlierDetection, {
      consecutive5xx: 1,
      enforcingConsecutive5xx: 100,
      consecutiveGatewayFailure: 5,
      enforcingConsecutiveGatewayFailure: 0,
      consecutiveLocalOriginFailure: 5,
      splitExternalLocalOriginErrors: false,
      intervalMs: 1000,
      baseEjectionTimeMs: 120000,
      maxEjectionTimeMs: 300000,
      maxEjectionPercent: 100,
    });
    assert.equal(c.healthyPanicThreshold, 0);
    assert.equal(c.endpoints.length, 2);
    assert.deepEqual(c.endpoints.map((e) => e.workload?.workload), ['hello-server-1', 'hello-server-2']);
    // The hello pods declare no containerPort: the inbound port comes from the Service.
    assert.deepEqual(cfg.inbound.map((p) => [p.port, p.protocol, p.services[0]?.name]), [[8080, 'http', 'hello-svc']]);
  });

  for (const withTcp of [false, true]) {
    it(`dr-httpbin sets the circuit breakers${withTcp ? ' (with tcp.maxConnections: 1, as the course applies it)' : ''}`, (t) => {
      if (!needCourse(t)) return;
      const dr = loadYaml('httpbin/13.dr-httpbin.yaml', NS);
      if (withTcp) dr[0].spec.trafficPolicy.connectionPool.tcp = { maxConnections: 1 };
      const objs = [...loadYaml('httpbin/11.httpbin-deploy-svc.yaml', NS), ...loadYaml('httpbin/12.fortio-pod.yaml', NS), ...dr];
      const cfg = sidecar(objs, 'fortio');
      const c = cfg.clusters[`outbound|8000||${fqdn('httpbin')}`];
      assert.deepEqual(c.circuitBreakers, { maxConnections: withTcp ? 1 : 4294967295, maxPendingRequests: 1, maxRequests: 4294967295, maxRetries: 4294967295 });
      assert.equal(c.maxRequestsPerConnection, 1);
      assert.equal(c.outlierDetection, undefined);
      assert.equal(c.healthyPanicThreshold, 50);
      assert.deepEqual(c.endpoints.map((e) => e.port), [80]);
      assert.deepEqual(cfg.inbound.map((p) => [p.port, p.protocol]), [[8079, 'http'], [8080, 'http']]);
      assert.equal(cfg.clusters['inbound|8079||'].protocol, 'http2');
    });
  }
});

describe('course gateway', () => {
  function gatewayConfig(objects: KObject[]): ProxyConfig {
    const w = worldOf([...testdata('ingressgateway.yaml', 'istio-system'), ...objects]);
    return buildProxyConfig(buildIndex(w), podNamed(w, 'istio-ingressgateway', 'istio-system'));
  }

  it('12.bookinfo-gw-vs binds the VirtualService host to the `*` server on 80, bound at 8080', (t) => {
    if (!needCourse(t)) return;
    const cfg = gatewayConfig(bookinfo('12.bookinfo-gw-vs.yaml'));
    assert.equal(cfg.node.kind, 'gateway');
    assert.match(cfg.node.id, /^router~127\.42\./);
    assert.equal(cfg.node.appIP, undefined);
    assert.deepEqual(cfg.gateway, [{ port: 80, bindPort: 8080, protocol: 'http', routeConfig: 'http.80' }]);
    const vhosts = cfg.routes['http.80'].virtualHosts;
    const host = 'bookinfo.user03.cloud.20.249.174.177.nip.io';
    assert.deepEqual(vhosts.map((v) => [v.name, v.domains]), [[`${host}:80`, [host]]]);
    const routes = vhosts[0].routes;
    assert.deepEqual(routes.map((r) => r.match.path), [{ exact: '/productpage' }, { prefix: '/static' }, { exact: '/login' }, { exact: '/logout' }, { prefix: '/api/v1/products' }]);
    for (const r of routes) assert.deepEqual(clustersOf(r.action), [[`outbound|9080||${fqdn('productpage')}`, 100]]);
    assert.ok(cfg.clusters[`outbound|9080||${fqdn('productpage')}`]);
    assert.deepEqual(cfg.outbound, {});
    assert.deepEqual(cfg.inbound, []);
  });

  it('answers 404 on a port without VirtualService: a `*` vhost without routes', (t) => {
    if (!needCourse(t)) return;
    const gwOnly = bookinfo('12.bookinfo-gw-vs.yaml').filter((o) => o.kind !== 'VirtualService');
    const cfg = gatewayConfig(gwOnly);
    assert.deepEqual(cfg.routes['http.80'].virtualHosts, [{ name: 'blackhole:80', domains: ['*'], routes: [] }]);
  });
});
