import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KObject } from '../../api/index.ts';
import type { ProxyConfig, RouteAction } from '../proxy/model.ts';
import { intersectHosts, durationMs, parseExportTo, portProtocol, resolveHost } from './hosts.ts';
import { buildIndex, buildProxyConfig } from './translate.ts';
import { podNamed, testdata, worldOf, yamlObjects } from './translate.test-helper.ts';

const NS = 'shop';
const fqdn = (name: string, ns = NS) => `${name}.${ns}.svc.cluster.local`;

function gateway(yaml: string, extra: KObject[] = []): ProxyConfig {
  const w = worldOf([...testdata('ingressgateway.yaml', 'istio-system'), ...testdata('bookinfo.yaml', NS), ...yamlObjects(yaml, NS), ...extra]);
  return buildProxyConfig(buildIndex(w), podNamed(w, 'istio-ingressgateway', 'istio-system'));
}

function cluster(a: RouteAction): string {
  assert.equal(a.kind, 'route');
  return (a as Extract<RouteAction, { kind: 'route' }>).clusters[0].cluster;
}

const gw = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*.example.com", "${NS}/exact.test"]
  - port: {number: 9000, name: tcp, protocol: TCP}
    hosts: ["*"]
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: web-cert}
`;

describe('buildProxyConfig (gateway)', () => {
  it('intersects server and VirtualService hosts, merges routes per host and moves catch-alls last', () => {
    const cfg = gateway(`${gw}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a}
spec:
  hosts: ["a.example.com", "other.org", "exact.test"]
  gateways: [web]
  http:
  - route: [{destination: {host: productpage}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b}
spec:
  hosts: ["*.example.com"]
  gateways: [${NS}/web]
  http:
  - match: [{uri: {prefix: /reviews}}]
    route: [{destination: {host: reviews}}]
  - match: [{gateways: [mesh]}]
    route: [{destination: {host: ratings}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: c}
spec:
  hosts: ["a.example.com"]
  gateways: [web.${NS}]
  http:
  - match: [{uri: {prefix: /details}}]
    route: [{destination: {host: details}}]
`);
    // HTTPS termination is not modelled: only the HTTP and TCP servers become ports.
    assert.deepEqual(cfg.gateway.map((g) => [g.port, g.bindPort, g.protocol]), [[80, 8080, 'http'], [9000, 9000, 'tcp']]);
    const vhosts = cfg.routes['http.80'].virtualHosts;
    assert.deepEqual(vhosts.map((v) => v.name), ['*.example.com:80', 'a.example.com:80', 'exact.test:80']);
    const a = vhosts[1];
    assert.deepEqual(a.routes.map((r) => cluster(r.action)), [`outbound|9080||${fqdn('details')}`, `outbound|9080||${fqdn('productpage')}`]);
    const wild = vhosts[0];
    // The match bound to `mesh` only is not for the gateway.
    assert.deepEqual(wild.routes.map((r) => cluster(r.action)), [`outbound|9080||${fqdn('reviews')}`]);
  });

  it('takes the bind port from the gateway Service, else the server port', () => {
    const cfg = gateway(gw.replace('number: 80,', 'number: 15021,'));
    assert.deepEqual(cfg.gateway.map((g) => [g.port, g.bindPort]), [[9000, 9000], [15021, 15021]]);
  });

  it('routes TCP servers by the tcp rules of bound VirtualServices', () => {
    const cfg = gateway(`${gw}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: t}
spec:
  hosts: ["*"]
  gateways: [web]
  tcp:
  - match: [{port: 9000}]
    route: [{destination: {host: details, port: {number: 9080}}}]
`);
    assert.deepEqual(cfg.gateway[1].tcp, [{ clusters: [{ cluster: `outbound|9080||${fqdn('details')}`, weight: 100 }] }]);
  });

  it('ignores Gateways whose selector does not match and server hosts of other namespaces', () => {
    const cfg = gateway(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web}
spec:
  selector: {istio: egressgateway}
  servers: [{port: {number: 81, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web2}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["elsewhere/*"]
    tls: {httpsRedirect: true}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a}
spec:
  hosts: ["a.example.com"]
  gateways: [web2]
  http: [{route: [{destination: {host: productpage}}]}]
`);
    assert.deepEqual(cfg.gateway, [{ port: 80, bindPort: 8080, protocol: 'http', httpsRedirect: true, routeConfig: 'http.80' }]);
    assert.deepEqual(cfg.routes['http.80'].virtualHosts.map((v) => v.name), ['blackhole:80']);
  });

  it('sees every exported service as a cluster', () => {
    const cfg = gateway(gw);
    assert.ok(cfg.clusters[`outbound|9080||${fqdn('reviews')}`]);
    assert.ok(cfg.clusters[`outbound|80||${fqdn('istio-ingressgateway', 'istio-system')}`]);
  });
});

describe('host and value helpers', () => {
  it('intersects hosts keeping the more specific name', () => {
    assert.deepEqual(intersectHosts(['*'], ['bookinfo.example.com']), ['bookinfo.example.com']);
    assert.deepEqual(intersectHosts(['*.example.com'], ['a.example.com', 'example.com', '*.a.example.com']), ['a.example.com', '*.a.example.com']);
    assert.deepEqual(intersectHosts(['a.example.com'], ['*']), ['a.example.com']);
  });

  it('resolves short names, parses durations, exportTo and port protocols', () => {
    assert.equal(resolveHost('Reviews', 'ns'), 'reviews.ns.svc.cluster.local');
    assert.equal(resolveHost('reviews.ns', 'x'), 'reviews.ns');
    assert.equal(resolveHost('*', 'x'), '*');
    assert.equal(durationMs('1m30s'), 90000);
    assert.equal(durationMs('250ms'), 250);
    assert.equal(durationMs('2h'), 7200000);
    assert.equal(durationMs('bad'), undefined);
    assert.equal(parseExportTo(['*', '.'], 'ns'), undefined);
    assert.deepEqual([...parseExportTo(['.', 'other'], 'ns')!], ['ns', 'other']);
    assert.deepEqual([...parseExportTo('~', 'ns')!], []);
    assert.equal(portProtocol('http-web'), 'http');
    assert.equal(portProtocol('grpc-web-x'), 'http2');
    assert.equal(portProtocol('grpc'), 'http2');
    assert.equal(portProtocol('mongo-db'), 'tcp');
    assert.equal(portProtocol(undefined), 'auto');
    assert.equal(portProtocol('web', { appProtocol: 'http' }), 'http');
    assert.equal(portProtocol('x', { appProtocol: 'kubernetes.io/h2c' }), 'http2');
    assert.equal(portProtocol('dns', { transport: 'UDP' }), 'udp');
    assert.equal(portProtocol(undefined, { port: 3306 }), 'tcp');
    assert.equal(portProtocol('http', { port: 3306 }), 'http');
  });
});
