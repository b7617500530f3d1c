import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deployment, items, startEnv, waitFor } from './env.test-helper.ts';

test('namespaces get the name label, phase Active and the kubernetes finalizer', async () => {
  const env = startEnv();
  try {
    const ns = await env.registry.create('namespaces', undefined, { metadata: { name: 'team-a', labels: { x: 'y' } } });
    assert.deepEqual(ns.metadata.labels, { x: 'y', 'kubernetes.io/metadata.name': 'team-a' });
    assert.deepEqual(ns.status, { phase: 'Active' });
    assert.deepEqual(ns.spec.finalizers, ['kubernetes']);
    // Removing the label or the finalizer of a live namespace does not stick.
    const upd = await env.registry.update('namespaces', undefined, { ...ns, metadata: { ...ns.metadata, labels: {} }, spec: { finalizers: [] } });
    assert.equal(upd.metadata.labels?.['kubernetes.io/metadata.name'], 'team-a');
    assert.deepEqual(upd.spec.finalizers, ['kubernetes']);
  } finally {
    env.close();
  }
});

test('every namespace has a default ServiceAccount, recreated when deleted', async () => {
  const env = startEnv();
  try {
    await env.registry.create('namespaces', undefined, { metadata: { name: 'team-b' } });
    await waitFor('default sa', () => items(env.registry, 'serviceaccounts', 'team-b').some((s) => s.metadata.name === 'default'));
    const first = env.registry.getSync('serviceaccounts', 'team-b', 'default');
    await env.registry.delete('serviceaccounts', 'team-b', 'default');
    await waitFor('recreated', () => {
      const sa = items(env.registry, 'serviceaccounts', 'team-b').find((s) => s.metadata.name === 'default');
      return sa && sa.metadata.uid !== first.metadata.uid;
    });
  } finally {
    env.close();
  }
});

test('deleting a namespace empties it, then removes it', async () => {
  const env = startEnv();
  try {
    await env.registry.create('namespaces', undefined, { metadata: { name: 'team-c' } });
    await env.registry.create('deployments.apps', 'team-c', deployment('web', 2));
    await env.registry.create('configmaps', 'team-c', { metadata: { name: 'cfg' }, data: { a: 'b' } });
    await env.registry.create('services', 'team-c', { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });
    await waitFor('pods', () => items(env.registry, 'pods', 'team-c').length === 2);
    const answer = await env.registry.delete('namespaces', undefined, 'team-c');
    assert.equal(answer.status.phase, 'Terminating');
    await waitFor('namespace gone', () => !env.registry.listSync('namespaces', undefined).items.some((n) => n.metadata.name === 'team-c'));
    for (const res of ['pods', 'deployments.apps', 'replicasets.apps', 'configmaps', 'services', 'endpoints', 'endpointslices.discovery.k8s.io', 'serviceaccounts']) {
      assert.equal(env.store.count(env.registry.info(res).key, 'team-c'), 0, `${res} left in team-c`);
    }
  } finally {
    env.close();
  }
});
