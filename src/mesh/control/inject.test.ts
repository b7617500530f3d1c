import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/index.ts';
import { hasSidecar, injectionAdmission, injectionRequired, workloadName } from './inject.ts';

function pod(meta: Partial<KObject['metadata']> = {}, spec: Record<string, unknown> = {}): KObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'user11', ...meta }, spec: { containers: [{ name: 'app', image: 'x' }], ...spec } };
}

test('injectionRequired() follows the namespace label, with the pod label or annotation overriding it', () => {
  assert.equal(injectionRequired(pod(), { 'istio-injection': 'enabled' }), true);
  assert.equal(injectionRequired(pod(), undefined), false);
  assert.equal(injectionRequired(pod(), { 'istio-injection': 'disabled' }), false);
  assert.equal(injectionRequired(pod({ labels: { 'sidecar.istio.io/inject': 'false' } }), { 'istio-injection': 'enabled' }), false);
  assert.equal(injectionRequired(pod({ annotations: { 'sidecar.istio.io/inject': 'false' } }), { 'istio-injection': 'enabled' }), false);
  assert.equal(injectionRequired(pod({ labels: { 'sidecar.istio.io/inject': 'true' } }), undefined), true);
  // The label wins over the annotation.
  assert.equal(injectionRequired(pod({ labels: { 'sidecar.istio.io/inject': 'true' }, annotations: { 'sidecar.istio.io/inject': 'false' } }), undefined), true);
  // Never into system namespaces, host-network pods, or pods that already have a proxy.
  assert.equal(injectionRequired(pod({ namespace: 'kube-system' }), { 'istio-injection': 'enabled' }), false);
  assert.equal(injectionRequired(pod({}, { hostNetwork: true }), { 'istio-injection': 'enabled' }), false);
  assert.equal(injectionRequired(pod({}, { initContainers: [{ name: 'istio-proxy', image: 'y' }] }), { 'istio-injection': 'enabled' }), false);
});

test('the admission hook adds istio-proxy as a native sidecar with Istio labels and annotations, on create only', () => {
  const hook = injectionAdmission(() => ({ 'istio-injection': 'enabled' }));
  const p = pod({ labels: { app: 'reviews', version: 'v2', 'pod-template-hash': 'abc12' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'reviews-v2-abc12', uid: 'u', controller: true }] });
  hook(p, undefined);
  const init = p.spec?.initContainers as Array<Record<string, any>>;
  assert.equal(init[0].name, 'istio-proxy');
  assert.equal(init[0].restartPolicy, 'Always');
  assert.match(init[0].image, /istio\/proxyv2/);
  assert.deepEqual(init[0].args.slice(0, 2), ['proxy', 'sidecar']);
  assert.equal(init[0].startupProbe.httpGet.port, 15021);
  assert.equal(p.metadata.labels?.['service.istio.io/canonical-name'], 'reviews');
  assert.equal(p.metadata.labels?.['service.istio.io/canonical-revision'], 'v2');
  assert.equal(p.metadata.labels?.['security.istio.io/tlsMode'], 'istio');
  assert.equal(p.metadata.annotations?.['kubectl.kubernetes.io/default-container'], 'app');
  assert.equal(init[0].env.find((e: { name: string }) => e.name === 'ISTIO_META_WORKLOAD_NAME').value, 'reviews-v2');
  assert.ok(hasSidecar(p));
  const q = pod();
  hook(q, pod());
  assert.equal(hasSidecar(q), false);
});

test('workloadName() is the Deployment behind a ReplicaSet, else the owner, else the pod', () => {
  assert.equal(workloadName(pod({ labels: { 'pod-template-hash': 'h1' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-h1', uid: 'u1', controller: true }] })), 'web');
  assert.equal(workloadName(pod({ ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'u2', controller: true }] })), 'db');
  assert.equal(workloadName(pod({ name: 'solo' })), 'solo');
});
