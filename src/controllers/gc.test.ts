import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deployment, items, startEnv, waitFor } from './env.test-helper.ts';

const DEP = 'deployments.apps';
const RS = 'replicasets.apps';

test('deleting a deployment (background) collects its ReplicaSet and pods', async () => {
  const env = startEnv();
  try {
    await env.registry.create(DEP, 'default', deployment('web', 2));
    await waitFor('pods', () => items(env.registry, 'pods').length === 2);
    await env.registry.delete(DEP, 'default', 'web', { propagationPolicy: 'Background' });
    await waitFor('replicasets and pods gone', () => items(env.registry, RS).length === 0 && items(env.registry, 'pods').length === 0);
  } finally {
    env.close();
  }
});

test('foreground deletion keeps the owner until its dependents are gone', async () => {
  const env = startEnv();
  try {
    await env.registry.create(DEP, 'default', deployment('web', 2));
    await waitFor('pods', () => items(env.registry, 'pods').length === 2);
    const seen: string[] = [];
    const w = env.registry.watch(DEP, 'default', { resourceVersion: String(env.store.revision) }, (ev) => {
      seen.push(`${ev.type}:${ev.object.metadata.deletionTimestamp ? 'deleting' : 'live'}:${items(env.registry, 'pods').length}`);
    });
    const answer = await env.registry.delete(DEP, 'default', 'web', { propagationPolicy: 'Foreground' });
    assert.ok(answer.metadata.deletionTimestamp);
    assert.deepEqual(answer.metadata.finalizers, ['foregroundDeletion']);
    await waitFor('deployment gone', () => items(env.registry, DEP).length === 0);
    w.close();
    assert.equal(items(env.registry, RS).length, 0);
    assert.equal(items(env.registry, 'pods').length, 0);
    // When the deployment finally went, no pod was left.
    assert.match(seen[seen.length - 1], /^DELETED:deleting:0$/);
  } finally {
    env.close();
  }
});

test('orphan deletion leaves dependents without the owner reference', async () => {
  const env = startEnv();
  try {
    await env.registry.create(DEP, 'default', deployment('web', 1));
    await waitFor('pods', () => items(env.registry, 'pods').length === 1);
    await env.registry.delete(DEP, 'default', 'web', { propagationPolicy: 'Orphan' });
    await waitFor('deployment gone', () => items(env.registry, DEP).length === 0);
    await waitFor('replicaset orphaned', () => {
      const rs = items(env.registry, RS);
      return rs.length === 1 && !(rs[0].metadata.ownerReferences ?? []).length;
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(items(env.registry, 'pods').length, 1);
  } finally {
    env.close();
  }
});

test('an object whose owner is already gone is collected; one with a live owner left is only unlinked', async () => {
  const env = startEnv();
  try {
    const owner = await env.registry.create('configmaps', 'default', { metadata: { name: 'owner' }, data: {} });
    const ghost = { apiVersion: 'v1', kind: 'ConfigMap', name: 'ghost', uid: '00000000-0000-0000-0000-000000000000' };
    await env.registry.create('configmaps', 'default', { metadata: { name: 'orphan', ownerReferences: [ghost] }, data: {} });
    await env.registry.create('configmaps', 'default', {
      metadata: { name: 'shared', ownerReferences: [ghost, { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid ?? '' }] },
      data: {},
    });
    await waitFor('orphan collected', () => !items(env.registry, 'configmaps').some((c) => c.metadata.name === 'orphan'));
    await waitFor('shared unlinked', () => env.registry.getSync('configmaps', 'default', 'shared').metadata.ownerReferences?.length === 1);
    assert.equal(env.registry.getSync('configmaps', 'default', 'shared').metadata.ownerReferences?.[0].name, 'owner');
  } finally {
    env.close();
  }
});
