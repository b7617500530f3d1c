import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KObject } from '../../api/index.ts';
import type { ProxyConfig } from '../proxy/model.ts';
import { portProtocol } from './hosts.ts';
import { buildIndex, buildProxyConfig } from './translate.ts';
import { podNamed, testdata, worldOf, yamlObjects } from './translate.test-helper.ts';

const NS = 'shop';
const fqdn = (name: string, ns = NS) => `${name}.${ns}.svc.cluster.local`;

function configFor(objects: KObject[], pod: string, podNs = NS): ProxyConfig {
  const w = worldOf(objects);
  return buildProxyConfig(buildIndex(w), podNamed(w, pod, podNs));
}

/** A Deployment and a Service `name` with one port. */
function workload(name: string, port: { name?: string; port: number; appProtocol?: string }, labels: Record<string, string> = {}): string {
  return `
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec: {selector: {app: ${name}}, ports: [${JSON.stringify(port)}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  selector: {matchLabels: {app: ${name}}}
  template: {metadata: {labels: ${JSON.stringify({ app: name, ...labels })}}, spec: {containers: [{name: app, image: x, ports: [{containerPort: ${port.port}}]}]}}
`;
}

const services = [
  workload('edge', { name: 'https', port: 443 }),
  workload('web-a', { name: 'tls-a', port: 8443 }),
  workload('web-b', { name: 'b', port: 8443, appProtocol: 'tls' }),
  workload('client', { name: 'http', port: 8080 }, { role: 'client' }),
].join('---\n');

const edgeVs = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: edge}
spec:
  hosts: [edge]
  tcp:
  - route: [{destination: {host: web-b}}]
  tls:
  - match: [{port: 443, sniHosts: [a.example.com]}, {sniHosts: [A.example.com], sourceLabels: {role: other}}]
    route: [{destination: {host: web-a}}]
  - match: [{sniHosts: ["*.example.com"], destinationSubnets: [127.43.0.0/16]}, {sniHosts: [a.example.com]}]
    route:
    - {destination: {host: web-a}, weight: 30}
    - {destination: {host: web-b}, weight: 70}
  - match: [{sniHosts: [c.example.com], sourceLabels: {role: other}}]
    route: [{destination: {host: web-b}}]
  - match: [{sniHosts: [d.example.com], port: 8443}]
    route: [{destination: {host: web-b}}]
`;

describe('VirtualService tls[] (sidecar)', () => {
  it('routes a TLS port by SNI: static filters applied, unreachable duplicates dropped, tcp[] ignored, every name of the host keyed', () => {
    const cfg = configFor(yamlObjects(`${services}---\n${edgeVs}`, NS), 'client');
    const op = cfg.outbound['443'];
    assert.equal(op.protocol, 'tcp');
    const rules = op.tls!.edge;
    assert.deepEqual(rules, [
      { sniHosts: ['a.example.com'], clusters: [{ cluster: `outbound|8443||${fqdn('web-a')}`, weight: 100 }] },
      {
        sniHosts: ['*.example.com'],
        destinationSubnets: ['127.43.0.0/16'],
        clusters: [
          { cluster: `outbound|8443||${fqdn('web-a')}`, weight: 30 },
          { cluster: `outbound|8443||${fqdn('web-b')}`, weight: 70 },
        ],
      },
    ]);
    assert.equal(op.tls![fqdn('edge')], rules);
    assert.equal(op.tls![`edge.${NS}`], rules);
    // The TCP route of a TLS port stays the service's own cluster: tcp[] rules do not apply to TLS ports.
    assert.deepEqual(op.tcp!.edge, [{ clusters: [{ cluster: `outbound|443||${fqdn('edge')}`, weight: 100 }] }]);
    assert.equal(cfg.clusters[`outbound|443||${fqdn('edge')}`].protocol, 'tcp');
  });

  it('leaves TLS ports without applicable tls[] rules as plain TCP, and keeps tls[] off non-TLS ports', () => {
    const filtered = `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web-a}
spec:
  hosts: [web-a]
  tls:
  - match: [{sniHosts: [x.example.com], sourceLabels: {role: nobody}}]
    route: [{destination: {host: web-b}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: client}
spec:
  hosts: [client]
  tls:
  - match: [{sniHosts: [client.example.com]}]
    route: [{destination: {host: web-b}}]
`;
    const cfg = configFor(yamlObjects(`${services}---\n${filtered}`, NS), 'client');
    assert.equal(cfg.outbound['8443'].tls, undefined);
    assert.deepEqual(cfg.outbound['8443'].tcp!['web-a'], [{ clusters: [{ cluster: `outbound|8443||${fqdn('web-a')}`, weight: 100 }] }]);
    assert.equal(cfg.outbound['8080'].protocol, 'http');
    assert.equal(cfg.outbound['8080'].tls, undefined);
  });

  it('reads TLS from port names https-*/tls-* and appProtocol', () => {
    assert.equal(portProtocol('https-web'), 'tls');
    assert.equal(portProtocol('tls'), 'tls');
    assert.equal(portProtocol('x', { appProtocol: 'HTTPS' }), 'tls');
    assert.equal(portProtocol('tcp-db'), 'tcp');
  });
});

describe('VirtualService tls[] (gateway PASSTHROUGH)', () => {
  const gw = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge-gw}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: tls, protocol: TLS}
    hosts: ["*.example.com"]
    tls: {mode: PASSTHROUGH}
  - port: {number: 9443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: cert}
  - port: {number: 9444, name: tls-plain, protocol: TLS}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: first}
spec:
  hosts: [a.example.com, b.example.com]
  gateways: [edge-gw]
  tls:
  - match: [{sniHosts: [a.example.com], sourceLabels: {ignored: on-gateways}}, {sniHosts: [b.example.com], port: 8443}]
    route: [{destination: {host: web-a, port: {number: 8443}}}]
  - match: [{sniHosts: [b.example.com], gateways: [mesh]}]
    route: [{destination: {host: web-b}}]
  - match: [{sniHosts: [b.example.com]}]
    route: [{destination: {host: web-b}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: second}
spec:
  hosts: ["*.example.com"]
  gateways: [${NS}/edge-gw]
  tls:
  - match: [{sniHosts: [a.example.com]}]
    route: [{destination: {host: web-b}}]
  - match: [{sniHosts: ["*.example.com"]}]
    route: [{destination: {host: web-b}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: elsewhere}
spec:
  hosts: [other.org]
  gateways: [edge-gw]
  tls:
  - match: [{sniHosts: [other.org]}]
    route: [{destination: {host: web-b}}]
`;

  it('binds tls[] rules of VirtualServices whose hosts meet the server hosts; a repeated SNI name is skipped; TLS termination is left out', () => {
    const w = worldOf([...testdata('ingressgateway.yaml', 'istio-system'), ...yamlObjects(`${services}---\n${gw}`, NS)]);
    const cfg = buildProxyConfig(buildIndex(w), podNamed(w, 'istio-ingressgateway', 'istio-system'));
    assert.deepEqual(cfg.gateway.map((g) => [g.port, g.bindPort, g.protocol]), [[443, 8443, 'tcp'], [9444, 9444, 'tcp']]);
    const pass = cfg.gateway[0];
    assert.equal(pass.routeConfig, undefined);
    assert.deepEqual(pass.tls, [
      { sniHosts: ['a.example.com'], clusters: [{ cluster: `outbound|8443||${fqdn('web-a')}`, weight: 100 }] },
      { sniHosts: ['b.example.com'], clusters: [{ cluster: `outbound|8443||${fqdn('web-b')}`, weight: 100 }] },
      { sniHosts: ['*.example.com'], clusters: [{ cluster: `outbound|8443||${fqdn('web-b')}`, weight: 100 }] },
    ]);
    // A TLS server without tls settings is opaque TCP (tcp[] rules), not SNI routing.
    assert.equal(cfg.gateway[1].tls, undefined);
    assert.deepEqual(cfg.gateway[1].tcp, []);
  });
});
