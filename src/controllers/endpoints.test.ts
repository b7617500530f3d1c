import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../api/types.ts';
import { deployment, type Env, items, markPod, startEnv, waitFor } from './env.test-helper.ts';

function ep(env: Env, name: string): KObject | undefined {
  return items(env.registry, 'endpoints').find((e) => e.metadata.name === name);
}

/** The subsets of an Endpoints object (typed loosely: it is test data). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function subsetsOf(env: Env, name: string): any[] | undefined {
  return ep(env, name)?.subsets as never;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function slices(env: Env, svc: string): any[] {
  return items(env.registry, 'endpointslices.discovery.k8s.io', 'default', `kubernetes.io/service-name=${svc}`);
}

test('endpoints list ready pods under addresses and follow readiness changes', async () => {
  const env = startEnv();
  try {
    await env.registry.create('deployments.apps', 'default', deployment('web', 2));
    const svc = await env.registry.create('services', 'default', {
      metadata: { name: 'web', labels: { tier: 'front' } },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'metrics', port: 9090, targetPort: 9090 }] },
    });
    const pods = await waitFor('pods', () => {
      const p = items(env.registry, 'pods');
      return p.length === 2 && p;
    });
    await waitFor('empty endpoints', () => ep(env, 'web') && !ep(env, 'web')!.subsets);
    assert.deepEqual(ep(env, 'web')!.metadata.labels, { tier: 'front' });
    const a = markPod(env.registry, pods[0], true);
    const b = markPod(env.registry, pods[1], false);
    await waitFor('one ready, one not', () => {
      const s = subsetsOf(env, 'web');
      return s?.length === 1 && s[0].addresses?.length === 1 && s[0].notReadyAddresses?.length === 1;
    });
    const subset = subsetsOf(env, 'web')![0];
    assert.deepEqual(subset.addresses[0], { ip: a.status.podIP, nodeName: 'skiff-test', targetRef: { kind: 'Pod', namespace: 'default', name: a.metadata.name, uid: a.metadata.uid } });
    assert.equal(subset.notReadyAddresses[0].ip, b.status.podIP);
    // targetPort "http" resolves through the container port name.
    assert.deepEqual(subset.ports, [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'metrics', port: 9090, protocol: 'TCP' },
    ]);
    markPod(env.registry, pods[1], true);
    await waitFor('both ready', () => subsetsOf(env, 'web')?.[0]?.addresses?.length === 2 && !subsetsOf(env, 'web')?.[0]?.notReadyAddresses);
    markPod(env.registry, pods[0], false);
    await waitFor('first not ready again', () => subsetsOf(env, 'web')?.[0]?.notReadyAddresses?.[0]?.ip === a.status.podIP);

    const [slice] = await waitFor('one slice with both pods', () => {
      const s = slices(env, 'web');
      return s.length === 1 && s[0].endpoints?.length === 2 && s;
    });
    assert.ok(slice.metadata.name?.startsWith('web-'));
    assert.equal(slice.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
    assert.equal(slice.addressType, 'IPv4');
    assert.deepEqual(slice.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: svc.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    const first = slice.endpoints.find((e: { addresses: string[] }) => e.addresses[0] === a.status.podIP);
    assert.deepEqual(first.conditions, { ready: false, serving: false, terminating: false });
    assert.deepEqual(first.targetRef, { kind: 'Pod', namespace: 'default', name: a.metadata.name, uid: a.metadata.uid });
    assert.deepEqual(slice.ports, [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'metrics', port: 9090, protocol: 'TCP' },
    ]);

    // Status churn that changes nothing relevant causes no endpoint writes.
    await new Promise((r) => setTimeout(r, 50));
    const rv = ep(env, 'web')!.metadata.resourceVersion;
    const p = env.registry.getSync('pods', 'default', pods[1].metadata.name ?? '');
    env.registry.writeSync('pods', 'default', { ...p, status: { ...p.status, message: 'noise' } }, 'status');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(ep(env, 'web')!.metadata.resourceVersion, rv);

    await env.registry.delete('services', 'default', 'web');
    await waitFor('endpoints and slices gone', () => !ep(env, 'web') && slices(env, 'web').length === 0);
  } finally {
    env.close();
  }
});

test('services without a selector keep user-managed endpoints', async () => {
  const env = startEnv();
  try {
    await env.registry.create('services', 'default', { metadata: { name: 'ext' }, spec: { ports: [{ port: 80 }] } });
    await env.registry.create('endpoints', 'default', { metadata: { name: 'ext' }, subsets: [{ addresses: [{ ip: '127.0.0.9' }], ports: [{ port: 80 }] }] });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(subsetsOf(env, 'ext')?.[0]?.addresses?.[0]?.ip, '127.0.0.9');
    assert.equal(slices(env, 'ext').length, 0);
  } finally {
    env.close();
  }
});
