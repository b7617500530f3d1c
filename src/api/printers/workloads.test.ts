import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../types.ts';
import { printerFor } from './index.ts';

const NOW = Date.parse('2025-01-01T00:10:00Z');
const meta = { name: 'web', namespace: 'default', creationTimestamp: '2025-01-01T00:00:00Z' };
const template = { spec: { containers: [{ name: 'app', image: 'nginx:1.27' }, { name: 'proxy', image: 'envoy' }] } };

test('printerFor("deployments.apps") prints ready/desired, up-to-date, available and wide template columns', () => {
  const d: KObject = { metadata: meta, spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template }, status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 } };
  const p = printerFor('deployments.apps');
  assert.deepEqual(p.columns.map((c) => c.name), ['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers', 'Images', 'Selector']);
  assert.deepEqual(p.cells(d, NOW), ['web', '2/3', 3, 2, '10m', 'app,proxy', 'nginx:1.27,envoy', 'app=web']);
});

test('printerFor("replicasets.apps") prints desired, current, ready as integers', () => {
  const rs: KObject = { metadata: meta, spec: { replicas: 2, selector: { matchLabels: { app: 'web', 'pod-template-hash': 'abc' } }, template }, status: { replicas: 2, readyReplicas: 1 } };
  assert.deepEqual(printerFor('replicasets.apps').cells(rs, NOW), ['web', 2, 2, 1, '10m', 'app,proxy', 'nginx:1.27,envoy', 'app=web,pod-template-hash=abc']);
});

test('printerFor("jobs.batch") prints Complete with completions and duration', () => {
  const job: KObject = {
    metadata: meta,
    spec: { completions: 1, template, selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u1' } } },
    status: { succeeded: 1, startTime: '2025-01-01T00:00:00Z', completionTime: '2025-01-01T00:00:07Z', conditions: [{ type: 'Complete', status: 'True' }] },
  };
  assert.deepEqual(printerFor('jobs.batch').cells(job, NOW).slice(0, 5), ['web', 'Complete', '1/1', '7s', '10m']);
  const running: KObject = { metadata: meta, spec: { parallelism: 2, template }, status: { startTime: '2025-01-01T00:09:00Z' } };
  assert.deepEqual(printerFor('jobs.batch').cells(running, NOW).slice(1, 4), ['Running', '0/1 of 2', '60s']);
});

test('printerFor() formats ingress class, hosts, ports and ingressclass parameters', () => {
  const ing: KObject = { metadata: meta, spec: { rules: [{ host: 'a.example' }, { host: 'b.example' }], tls: [{ hosts: ['a.example'] }] }, status: { loadBalancer: { ingress: [{ ip: '172.18.0.3' }] } } };
  assert.deepEqual(printerFor('ingresses.networking.k8s.io').cells(ing, NOW), ['web', '<none>', 'a.example,b.example', '172.18.0.3', '80, 443', '10m']);
  const star: KObject = { metadata: meta, spec: { ingressClassName: 'skiff', rules: [{ http: {} }] } };
  assert.deepEqual(printerFor('ingresses.networking.k8s.io').cells(star, NOW).slice(1, 5), ['skiff', '*', '', '80']);
  const ic: KObject = { metadata: { ...meta, name: 'skiff' }, spec: { controller: 'skiff.dev/ingress', parameters: { apiGroup: 'k8s.example.com', kind: 'IngressParameters', name: 'p' } } };
  assert.deepEqual(printerFor('ingressclasses.networking.k8s.io').cells(ic, NOW), ['skiff', 'skiff.dev/ingress', 'IngressParameters.k8s.example.com/p', '10m']);
});

test('printerFor("endpointslices.discovery.k8s.io") prints address type, ports and endpoints', () => {
  const es: KObject = { metadata: meta, addressType: 'IPv4', ports: [{ name: 'http', port: 8181, protocol: 'TCP' }], endpoints: [{ addresses: ['127.42.0.5'] }, { addresses: ['127.42.0.6'] }] };
  assert.deepEqual(printerFor('endpointslices.discovery.k8s.io').cells(es, NOW), ['web', 'IPv4', '8181', '127.42.0.5,127.42.0.6', '10m']);
  assert.deepEqual(printerFor('endpointslices.discovery.k8s.io').cells({ metadata: meta, addressType: 'IPv4' }, NOW).slice(2, 4), ['<unset>', '<unset>']);
});

test('printerFor() counts configmap and secret data and serviceaccount secrets', () => {
  assert.deepEqual(printerFor('configmaps').cells({ metadata: meta, data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } }, NOW), ['web', 3, '10m']);
  assert.deepEqual(printerFor('secrets').cells({ metadata: meta, type: 'kubernetes.io/tls', data: { 'tls.crt': '', 'tls.key': '' } }, NOW), ['web', 'kubernetes.io/tls', 2, '10m']);
  assert.deepEqual(printerFor('serviceaccounts').cells({ metadata: meta }, NOW), ['web', 0, '10m']);
});

test('printerFor() gives CRDs a raw Created At date column and unknown kinds Name/Age', () => {
  const crd = printerFor('customresourcedefinitions.apiextensions.k8s.io');
  assert.deepEqual(crd.columns.map((c) => [c.name, c.type]), [['Name', 'string'], ['Created At', 'date']]);
  assert.deepEqual(crd.cells({ metadata: { name: 'virtualservices.networking.istio.io', creationTimestamp: '2025-01-01T00:00:00Z' } }, NOW), ['virtualservices.networking.istio.io', '2025-01-01T00:00:00Z']);
  const other = printerFor('widgets.example.com');
  assert.deepEqual(other.columns.map((c) => c.name), ['Name', 'Age']);
  assert.deepEqual(other.cells({ metadata: meta }, NOW), ['web', '10m']);
});

test('every built-in printer puts a Name column with format "name" and emits one cell per column', () => {
  const keys = ['pods', 'services', 'endpoints', 'namespaces', 'nodes', 'configmaps', 'secrets', 'serviceaccounts', 'events', 'deployments.apps', 'replicasets.apps',
    'statefulsets.apps', 'daemonsets.apps', 'jobs.batch', 'cronjobs.batch', 'ingresses.networking.k8s.io', 'ingressclasses.networking.k8s.io',
    'endpointslices.discovery.k8s.io', 'leases.coordination.k8s.io', 'rolebindings.rbac.authorization.k8s.io', 'roles.rbac.authorization.k8s.io'];
  for (const key of keys) {
    const p = printerFor(key);
    assert.ok(p.columns.some((c) => c.name === 'Name' && c.format === 'name'), key);
    assert.equal(p.cells({ metadata: meta }, NOW).length, p.columns.length, key);
  }
});
