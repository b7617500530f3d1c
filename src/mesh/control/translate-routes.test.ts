import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KObject } from '../../api/index.ts';
import type { ProxyConfig, Route, RouteAction } from '../proxy/model.ts';
import { compileFault, compileRetry, compileRouteMatch, resolveGatewayName } from './routes-compile.ts';
import { buildIndex, buildProxyConfig } from './translate.ts';
import { podNamed, testdata, worldOf, yamlObjects } from './translate.test-helper.ts';

const NS = 'user11';
const fqdn = (name: string, ns = NS) => `${name}.${ns}.svc.cluster.local`;

function reviewsRoutes(vsYaml: string, extra: KObject[] = [], pod = 'productpage'): Route[] {
  const w = worldOf([...testdata('bookinfo.yaml', NS), ...yamlObjects(vsYaml, NS), ...extra]);
  const cfg: ProxyConfig = buildProxyConfig(buildIndex(w), podNamed(w, pod));
  return cfg.routes['9080'].virtualHosts.find((v) => v.domains.includes('reviews'))!.routes;
}

function route(a: RouteAction): Extract<RouteAction, { kind: 'route' }> {
  assert.equal(a.kind, 'route');
  return a as Extract<RouteAction, { kind: 'route' }>;
}

describe('compileRouteMatch', () => {
  it('translates uri, case, headers, withoutHeaders, pseudo-headers and query params', () => {
    const m = compileRouteMatch({
      uri: { regex: '/api/v[0-9]+/.*' },
      ignoreUriCase: true,
      headers: { 'X-User': { prefix: 'j' }, present: {}, star: { regex: '*' } },
      withoutHeaders: { debug: {}, mode: { exact: 'test' } },
      method: { exact: 'GET' },
      authority: { exact: 'reviews:9080' },
      scheme: { exact: 'http' },
      queryParams: { b: { exact: '' }, a: {} },
    });
    assert.deepEqual(m, {
      path: { regex: '/api/v[0-9]+/.*' },
      caseSensitive: false,
      headers: [
        { name: 'debug', present: true, invert: true },
        { name: 'mode', match: { exact: 'test' }, invert: true },
        { name: 'present', present: true },
        { name: 'star', present: true },
        { name: 'x-user', match: { prefix: 'j' } },
        { name: ':method', match: { exact: 'GET' } },
        { name: ':authority', match: { exact: 'reviews:9080' } },
        { name: ':scheme', match: { exact: 'http' } },
      ],
      query: [{ name: 'a', present: true }, { name: 'b', match: { exact: '' } }],
    });
    assert.deepEqual(compileRouteMatch(undefined), { path: { prefix: '/' } });
  });
});

describe('compileRetry', () => {
  it('uses Istio 1.24 defaults, honours attempts 0, status codes and consistent hashing', () => {
    assert.deepEqual(compileRetry(undefined, true).retryIgnorePreviousHosts, false);
    assert.deepEqual(compileRetry({ attempts: 0 }, false), { numRetries: 0, retryOn: [], retryIgnorePreviousHosts: false, backoffBaseMs: 25 });
    assert.deepEqual(compileRetry({ attempts: 3, perTryTimeout: '2s', retryOn: '5xx, 503,reset', backoff: '100ms' }, false), {
      numRetries: 3,
      retryOn: ['5xx', 'reset', 'retriable-status-codes'],
      retriableStatusCodes: [503],
      perTryTimeoutMs: 2000,
      retryIgnorePreviousHosts: true,
      backoffBaseMs: 100,
    });
    // Attempts without retryOn keep the default conditions.
    assert.deepEqual(compileRetry({ attempts: 5 }, false).retryOn, ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes']);
  });
});

describe('compileFault', () => {
  it('treats a missing percentage as never and keeps legacy delay percent', () => {
    assert.deepEqual(compileFault({ abort: { httpStatus: 503 } }), { abort: { httpStatus: 503, perMillion: 0 } });
    assert.deepEqual(compileFault({ delay: { fixedDelay: '1.5s', percent: 30 } }), { delay: { fixedDelayMs: 1500, perMillion: 300000 } });
    assert.deepEqual(compileFault({ delay: { fixedDelay: '5s', percentage: { value: 0.1 } } }), { delay: { fixedDelayMs: 5000, perMillion: 1000 } });
    assert.equal(compileFault({ delay: { exponentialDelay: '1s' } }), undefined);
  });
});

describe('resolveGatewayName', () => {
  it('expands short, dotted, legacy and ./ names', () => {
    assert.equal(resolveGatewayName('bookinfo-gateway', 'user02'), 'user02/bookinfo-gateway');
    assert.equal(resolveGatewayName('istio-system/gw', 'user02'), 'istio-system/gw');
    assert.equal(resolveGatewayName('./gw', 'user02'), 'user02/gw');
    assert.equal(resolveGatewayName('gw.istio-system.svc.cluster.local', 'user02'), 'istio-system/gw');
    assert.equal(resolveGatewayName('gw.istio-system', 'user02'), 'istio-system/gw');
    assert.equal(resolveGatewayName('mesh', 'user02'), 'mesh');
  });
});

describe('VirtualService routes on a sidecar', () => {
  it('translates every action field of an http rule', () => {
    const routes = reviewsRoutes(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - name: primary
    match: [{name: api, uri: {prefix: /api}}]
    rewrite: {uri: /v2, authority: reviews-internal}
    timeout: 1.5s
    retries: {attempts: 4, retryOn: gateway-error}
    headers:
      request: {set: {x-a: "1", host: ignored}, add: {x-b: "2"}, remove: [x-c, ":path"]}
      response: {set: {x-d: "3"}}
    mirror: {host: ratings}
    corsPolicy: {allowOrigins: [{exact: "https://a.example"}], allowMethods: [GET], maxAge: 24h, allowCredentials: true}
    route:
    - destination: {host: reviews, subset: v1}
      weight: 70
      headers: {request: {set: {x-v: v1}}}
    - destination: {host: reviews, subset: v2}
      weight: 0
    - destination: {host: reviews.${NS}.svc.cluster.local, subset: v3, port: {number: 9080}}
      weight: 30
    mirrorPercentage: {value: 12.5}
  - match: [{uri: {exact: /old}}]
    redirect: {uri: /new, authority: example.com, redirectCode: 308, derivePort: FROM_REQUEST_PORT}
  - match: [{uri: {exact: /gone}}]
    directResponse: {status: 410, body: {string: gone}}
  - route: [{destination: {host: reviews, subset: v1}}]
  - route: [{destination: {host: reviews, subset: v2}}]
`);
    assert.equal(routes.length, 4, 'the rule after a catch-all is unreachable and dropped');
    const [primary, redirect, direct, last] = routes;
    assert.equal(primary.name, 'primary.api');
    assert.deepEqual(primary.match, { path: { prefix: '/api' } });
    const a = route(primary.action);
    assert.deepEqual(a.clusters, [
      { cluster: `outbound|9080|v1|${fqdn('reviews')}`, weight: 70, headers: { request: { set: { 'x-v': 'v1' } } } },
      { cluster: `outbound|9080|v3|${fqdn('reviews')}`, weight: 30 },
    ]);
    assert.equal(a.timeoutMs, 1500);
    assert.equal(a.retry.numRetries, 4);
    assert.deepEqual(a.retry.retryOn, ['gateway-error']);
    assert.equal(a.prefixRewrite, '/v2');
    assert.equal(a.hostRewrite, 'reviews-internal');
    assert.deepEqual(a.mirrors, [{ cluster: `outbound|9080||${fqdn('ratings')}`, perMillion: 125000 }]);
    assert.deepEqual(primary.headers, { request: { set: { 'x-a': '1' }, add: { 'x-b': '2' }, remove: ['x-c'] }, response: { set: { 'x-d': '3' } } });
    assert.deepEqual(primary.cors, { allowOrigins: [{ exact: 'https://a.example' }], allowMethods: ['GET'], maxAge: '86400', allowCredentials: true, unmatchedPreflights: 'FORWARD' });
    assert.equal(primary.operation, 'reviews:9080/api*');
    // FROM_REQUEST_PORT is resolved to the port being built.
    assert.deepEqual(redirect.action, { kind: 'redirect', responseCode: 308, path: '/new', host: 'example.com', port: 9080 });
    assert.deepEqual(direct.action, { kind: 'direct', status: 410, body: 'gone' });
    assert.equal(direct.operation, 'reviews:9080/gone');
    assert.equal(last.name, undefined);
    assert.deepEqual(route(last.action).clusters, [{ cluster: `outbound|9080|v1|${fqdn('reviews')}`, weight: 100 }]);
    assert.equal(last.operation, `${fqdn('reviews')}:9080/*`);
  });

  it('defaults mirrors to 100 % and drops an explicit 0 %', () => {
    const routes = reviewsRoutes(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /a}}]
    route: [{destination: {host: reviews}}]
    mirrors: [{destination: {host: ratings}}, {destination: {host: details}, percentage: {value: 0}}]
  - route: [{destination: {host: reviews}}]
    mirror: {host: ratings}
    mirrorPercentage: {value: 0}
`);
    assert.deepEqual(route(routes[0].action).mirrors, [{ cluster: `outbound|9080||${fqdn('ratings')}`, perMillion: 1000000 }]);
    assert.equal(route(routes[1].action).mirrors, undefined);
  });

  it('drops matches for another port, another gateway or another source namespace', () => {
    const routes = reviewsRoutes(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  gateways: [mesh, bookinfo-gateway]
  http:
  - match: [{port: 8080, uri: {prefix: /a}}, {port: 9080, uri: {prefix: /b}}]
    route: [{destination: {host: reviews, subset: v1}}]
  - match: [{gateways: [bookinfo-gateway], uri: {prefix: /c}}, {gateways: [mesh], uri: {prefix: /d}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - match: [{sourceNamespace: other, uri: {prefix: /e}}, {sourceNamespace: ${NS}, uri: {prefix: /f}}]
    route: [{destination: {host: reviews, subset: v3}}]
`);
    assert.deepEqual(routes.map((r) => r.match.path), [{ prefix: '/b' }, { prefix: '/d' }, { prefix: '/f' }]);
  });

  it('ignores a VirtualService bound only to a gateway', () => {
    const routes = reviewsRoutes(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  gateways: [bookinfo-gateway]
  http: [{route: [{destination: {host: reviews, subset: v2}}]}]
`);
    assert.equal(routes[0].name, 'default');
  });

  it('sets the consistent-hash policy of the destination rule on routes and keeps retries on the same host', () => {
    const dr = yamlObjects(`
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy: {loadBalancer: {consistentHash: {httpCookie: {name: user, ttl: 10s}}}}
  subsets:
  - {name: v1, labels: {version: v1}, trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: X-User, maglev: {}}}}}
`, NS);
    const plain = reviewsRoutes('', dr);
    const d = route(plain[0].action);
    assert.deepEqual(d.hashPolicy, [{ cookie: { name: 'user', ttlMs: 10000 } }]);
    const viaVs = reviewsRoutes(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews, subset: v1}}]}]
`, dr);
    const a = route(viaVs[0].action);
    assert.deepEqual(a.hashPolicy, [{ header: 'x-user' }]);
    assert.equal(a.retry.retryIgnorePreviousHosts, false);
    const w = worldOf([...testdata('bookinfo.yaml', NS), ...dr]);
    const cfg = buildProxyConfig(buildIndex(w), podNamed(w, 'productpage'));
    assert.equal(cfg.clusters[`outbound|9080||${fqdn('reviews')}`].lbPolicy, 'RING_HASH');
    assert.deepEqual(cfg.clusters[`outbound|9080||${fqdn('reviews')}`].ringHash, { minimumRingSize: 1024 });
    assert.equal(cfg.clusters[`outbound|9080|v1|${fqdn('reviews')}`].lbPolicy, 'MAGLEV');
    assert.deepEqual(cfg.clusters[`outbound|9080|v1|${fqdn('reviews')}`].maglev, { tableSize: 65537 });
  });

  it('merges delegate VirtualServices into the root rule', () => {
    const routes = reviewsRoutes(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: root}
spec:
  hosts: [reviews]
  http:
  - name: r
    match: [{uri: {prefix: /api}}]
    timeout: 3s
    delegate: {name: leaf}
  - route: [{destination: {host: reviews, subset: v1}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: leaf}
spec:
  http:
  - name: l
    match: [{uri: {prefix: /api/v2}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - match: [{uri: {prefix: /other}}]
    route: [{destination: {host: reviews, subset: v3}}]
`);
    assert.equal(routes.length, 2, 'the conflicting delegate rule (/other is not under /api) is dropped');
    assert.equal(routes[0].name, 'r-l');
    assert.deepEqual(routes[0].match.path, { prefix: '/api/v2' });
    assert.equal(route(routes[0].action).timeoutMs, 3000);
    assert.deepEqual(route(routes[0].action).clusters[0].cluster, `outbound|9080|v2|${fqdn('reviews')}`);
  });
});
