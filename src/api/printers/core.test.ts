import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../types.ts';
import { endpointsPrinter, eventPrinter, formatEndpoints, namespacePrinter, nodePrinter, servicePorts, servicePrinter } from './core.ts';

const NOW = Date.parse('2025-01-01T00:00:10Z');
const meta = { name: 'x', namespace: 'default', creationTimestamp: '2025-01-01T00:00:00Z' };

function svc(spec: Record<string, unknown>, status: Record<string, unknown> = {}): KObject {
  return { metadata: { ...meta, name: 'web' }, spec, status };
}

test('servicePorts() prints port/proto and port:nodePort/proto, comma-joined', () => {
  assert.equal(servicePorts([{ port: 80, protocol: 'TCP' }]), '80/TCP');
  assert.equal(servicePorts([{ port: 80, nodePort: 30080, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }]), '80:30080/TCP,53/UDP');
  assert.equal(servicePorts([{ port: 8080 }]), '8080/TCP');
  assert.equal(servicePorts(undefined), '');
});

test('servicePrinter prints <none> ports, <none> external IP for ClusterIP, <pending> for LoadBalancer without ingress', () => {
  assert.deepEqual(servicePrinter.cells(svc({ type: 'ClusterIP', clusterIPs: ['10.96.0.10'], selector: { app: 'web' } }), NOW), ['web', 'ClusterIP', '10.96.0.10', '<none>', '<none>', '10s', 'app=web']);
  const lb = svc({ type: 'LoadBalancer', clusterIP: '10.96.0.11', ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }] });
  assert.deepEqual(servicePrinter.cells(lb, NOW).slice(1, 5), ['LoadBalancer', '10.96.0.11', '<pending>', '80:30080/TCP']);
  const lbReady = svc({ type: 'LoadBalancer', clusterIPs: ['10.96.0.11'] }, { loadBalancer: { ingress: [{ ip: '172.18.0.3' }, { hostname: 'lb.example' }] } });
  assert.equal(servicePrinter.cells(lbReady, NOW)[3], '172.18.0.3,lb.example');
  assert.equal(servicePrinter.cells(svc({ type: 'NodePort', externalIPs: ['1.2.3.4'] }), NOW)[3], '1.2.3.4');
  assert.equal(servicePrinter.cells(svc({ type: 'ExternalName', externalName: 'db.example.com' }), NOW)[3], 'db.example.com');
  assert.equal(servicePrinter.cells(svc({ clusterIP: 'None' }), NOW)[6], '<none>');
});

test('formatEndpoints() lists up to three ip:port pairs then + N more..., <none> when empty', () => {
  const ep = (subsets: unknown): KObject => ({ metadata: meta, subsets });
  assert.equal(formatEndpoints(ep(undefined)), '<none>');
  assert.equal(formatEndpoints(ep([{ addresses: [{ ip: '127.42.0.5' }, { ip: '127.42.0.6' }], ports: [{ port: 8181 }] }])), '127.42.0.5:8181,127.42.0.6:8181');
  const five = [{ addresses: [1, 2, 3, 4, 5].map((i) => ({ ip: `10.0.0.${i}` })), ports: [{ port: 80 }] }];
  assert.equal(formatEndpoints(ep(five)), '10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more...');
  assert.equal(formatEndpoints(ep([{ addresses: [{ ip: 'fd00::1' }], ports: [{ port: 80 }] }])), '[fd00::1]:80');
  assert.equal(formatEndpoints(ep([{ addresses: [{ ip: '10.0.0.1' }] }])), '10.0.0.1');
  assert.deepEqual(endpointsPrinter.columns.map((c) => c.name), ['Name', 'Endpoints', 'Age']);
});

test('nodePrinter prints Ready, control-plane role and <none> roles', () => {
  const node: KObject = {
    metadata: { ...meta, name: 'node1', labels: { 'node-role.kubernetes.io/control-plane': '' } },
    spec: {},
    status: { conditions: [{ type: 'Ready', status: 'True' }], addresses: [{ type: 'InternalIP', address: '172.18.0.2' }], nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'Debian', kernelVersion: '6.1', containerRuntimeVersion: 'skiff://0.1' } },
  };
  assert.deepEqual(nodePrinter.cells(node, NOW), ['node1', 'Ready', 'control-plane', '10s', 'v1.32.0', '172.18.0.2', '<none>', 'Debian', '6.1', 'skiff://0.1']);
  const bare: KObject = { metadata: { ...meta, name: 'n2' }, spec: { unschedulable: true }, status: { conditions: [{ type: 'Ready', status: 'False' }] } };
  assert.deepEqual(nodePrinter.cells(bare, NOW).slice(1, 3), ['NotReady,SchedulingDisabled', '<none>']);
});

test('namespacePrinter prints the phase, Active by default and Terminating while deleting', () => {
  assert.deepEqual(namespacePrinter.cells({ metadata: meta, status: { phase: 'Active' } }, NOW), ['x', 'Active', '10s']);
  assert.equal(namespacePrinter.cells({ metadata: { ...meta, deletionTimestamp: meta.creationTimestamp } }, NOW)[1], 'Terminating');
});

test('eventPrinter prints lower-case kind/name objects and the wide columns in upstream order', () => {
  const ev: KObject = {
    metadata: { ...meta, name: 'web-1.17f' },
    type: 'Normal', reason: 'Scheduled', message: 'Successfully assigned default/web-1 to node1 ',
    involvedObject: { kind: 'Pod', name: 'web-1', fieldPath: 'spec.containers{app}' },
    source: { component: 'default-scheduler' },
    firstTimestamp: '2025-01-01T00:00:00Z', lastTimestamp: '2025-01-01T00:00:05Z', count: 2,
  };
  assert.deepEqual(eventPrinter.cells(ev, NOW), ['5s', 'Normal', 'Scheduled', 'pod/web-1', 'spec.containers{app}', 'default-scheduler', 'Successfully assigned default/web-1 to node1', '10s', 2, 'web-1.17f']);
  assert.deepEqual(eventPrinter.columns.filter((c) => c.priority === 0).map((c) => c.name), ['Last Seen', 'Type', 'Reason', 'Object', 'Message']);
  const fresh: KObject = { metadata: meta, eventTime: '2025-01-01T00:00:01.000000Z', involvedObject: { kind: 'Node' }, reportingComponent: 'kubelet', reportingInstance: 'node1' };
  const cells = eventPrinter.cells(fresh, NOW);
  assert.deepEqual([cells[0], cells[3], cells[5], cells[8]], ['9s', 'node', 'kubelet, node1', 1]);
});
