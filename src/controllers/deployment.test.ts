import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../api/types.ts';
import { deployment, type Env, items, markPod, startEnv, waitFor } from './env.test-helper.ts';

const DEP = 'deployments.apps';
const RS = 'replicasets.apps';

function getDeploy(env: Env, name: string): KObject {
  return env.registry.getSync(DEP, 'default', name);
}

/** Plays kubelet: every pending pod becomes Running and Ready. */
function readyAll(env: Env): void {
  for (const p of items(env.registry, 'pods')) {
    if (p.status?.phase !== 'Running') markPod(env.registry, p, true);
  }
}

function rolledOut(env: Env, name: string): boolean {
  const d = getDeploy(env, name);
  const s = d.status ?? {};
  const want = d.spec.replicas;
  return s.observedGeneration === d.metadata.generation && s.updatedReplicas === want && s.replicas === want && s.availableReplicas === want;
}

async function rollOut(env: Env, name: string): Promise<void> {
  await waitFor(`deployment ${name} rolled out`, () => {
    readyAll(env);
    return rolledOut(env, name);
  });
}

function revisions(env: Env): Record<string, string | undefined> {
  return Object.fromEntries(items(env.registry, RS).map((rs) => [rs.metadata.name, rs.metadata.annotations?.['deployment.kubernetes.io/revision']]));
}

test('a deployment creates one ReplicaSet and its pods, and reports availability once they are ready', async () => {
  const env = startEnv();
  try {
    await env.registry.create(DEP, 'default', deployment('web', 3));
    const rs = await waitFor('replicaset', () => items(env.registry, RS)[0]);
    const hash = rs.metadata.labels?.['pod-template-hash'];
    assert.match(hash ?? '', /^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
    assert.equal(rs.metadata.name, `web-${hash}`);
    assert.equal(rs.spec.selector.matchLabels['pod-template-hash'], hash);
    assert.deepEqual(rs.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: getDeploy(env, 'web').metadata.uid, controller: true, blockOwnerDeletion: true }]);
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'], '3');
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/max-replicas'], '4');
    const pods = await waitFor('3 pods', () => {
      const p = items(env.registry, 'pods');
      return p.length === 3 && p;
    });
    for (const p of pods) {
      assert.ok(p.metadata.name?.startsWith(`${rs.metadata.name}-`));
      assert.equal(p.metadata.labels?.['pod-template-hash'], hash);
      assert.equal(p.metadata.ownerReferences?.[0].kind, 'ReplicaSet');
      assert.equal(p.metadata.ownerReferences?.[0].uid, rs.metadata.uid);
    }
    await waitFor('status counts replicas', () => getDeploy(env, 'web').status?.replicas === 3);
    const pending = getDeploy(env, 'web');
    assert.equal(pending.status.availableReplicas, undefined);
    assert.equal(pending.status.conditions.find((c: { type: string }) => c.type === 'Available').reason, 'MinimumReplicasUnavailable');
    await rollOut(env, 'web');
    const d = getDeploy(env, 'web');
    assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    assert.equal(d.status.readyReplicas, 3);
    const avail = d.status.conditions.find((c: { type: string }) => c.type === 'Available');
    assert.deepEqual([avail.status, avail.reason, avail.message], ['True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.']);
    await waitFor('Progressing NewReplicaSetAvailable', () => {
      const c = getDeploy(env, 'web').status.conditions.find((x: { type: string }) => x.type === 'Progressing');
      return c?.reason === 'NewReplicaSetAvailable' && c.message === `ReplicaSet "${rs.metadata.name}" has successfully progressed.`;
    });
    const rsNow = env.registry.getSync(RS, 'default', rs.metadata.name ?? '');
    assert.deepEqual(rsNow.status, { replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1 });
    await waitFor('events recorded', () => {
      const msgs = items(env.registry, 'events').map((e) => `${e.reason} ${e.message}`);
      return msgs.includes(`ScalingReplicaSet Scaled up replica set ${rs.metadata.name} from 0 to 3`) && msgs.filter((m) => m.startsWith('SuccessfulCreate Created pod: ')).length === 3;
    });
    const ev = items(env.registry, 'events').find((e) => e.reason === 'ScalingReplicaSet')!;
    assert.match(ev.metadata.name ?? '', /^web\.[0-9a-f]{16}$/);
    assert.deepEqual(ev.involvedObject, { kind: 'Deployment', namespace: 'default', name: 'web', uid: d.metadata.uid, apiVersion: 'apps/v1', resourceVersion: (ev.involvedObject as { resourceVersion: string }).resourceVersion });
    assert.deepEqual(ev.source, { component: 'deployment-controller' });
    assert.equal(ev.count, 1);
    assert.equal(ev.type, 'Normal');
  } finally {
    env.close();
  }
});

test('scaling up and down changes only the ReplicaSet size and records events', async () => {
  const env = startEnv();
  try {
    await env.registry.create(DEP, 'default', deployment('web', 2));
    await rollOut(env, 'web');
    const rsName = items(env.registry, RS)[0].metadata.name;
    await env.registry.patch(DEP, 'default', 'web', 'merge', { spec: { replicas: 5 } });
    await rollOut(env, 'web');
    assert.equal(items(env.registry, 'pods').length, 5);
    assert.equal(items(env.registry, RS).length, 1);
    await env.registry.patch(DEP, 'default', 'web', 'merge', { spec: { replicas: 1 } });
    await waitFor('scaled down to 1 pod', () => items(env.registry, 'pods').length === 1 && rolledOut(env, 'web'));
    const rs = env.registry.getSync(RS, 'default', rsName ?? '');
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'], '1');
    await waitFor('scale events', () => {
      const msgs = items(env.registry, 'events').map((e) => e.message);
      return msgs.includes(`Scaled up replica set ${rsName} from 2 to 5`) && msgs.includes(`Scaled down replica set ${rsName} from 5 to 1`) && msgs.filter((m) => String(m).startsWith('Deleted pod: ')).length === 4;
    });
  } finally {
    env.close();
  }
});

test('a template change rolls out a new ReplicaSet within maxSurge and maxUnavailable', async () => {
  const env = startEnv();
  try {
    await env.registry.create(DEP, 'default', deployment('web', 4, { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } }));
    await rollOut(env, 'web');
    const first = items(env.registry, RS)[0].metadata.name;
    // Watch every ReplicaSet write and check the rollout invariants on each.
    const sizes = new Map<string, number>();
    let maxTotal = 0;
    const w = env.registry.watch(RS, 'default', { resourceVersion: String(env.store.revision) }, (ev) => {
      if (ev.type === 'DELETED') sizes.delete(ev.object.metadata.name ?? '');
      else sizes.set(ev.object.metadata.name ?? '', ev.object.spec.replicas);
      maxTotal = Math.max(maxTotal, [...sizes.values()].reduce((a, b) => a + b, 0));
    });
    for (const rs of items(env.registry, RS)) sizes.set(rs.metadata.name ?? '', rs.spec.replicas);
    let minAvailable = Infinity;
    await env.registry.patch(DEP, 'default', 'web', 'strategic', { spec: { template: { spec: { containers: [{ name: 'app', image: 'userlist:2' }] } } } });
    await waitFor('new replicaset', () => items(env.registry, RS).length === 2);
    // Kubelet: one pod at a time, so the controller has to step.
    await waitFor('rolled out', () => {
      const pending = items(env.registry, 'pods').find((p) => p.status?.phase !== 'Running');
      if (pending) markPod(env.registry, pending, true);
      const ready = items(env.registry, 'pods').filter((p) => p.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True')).length;
      minAvailable = Math.min(minAvailable, ready);
      return rolledOut(env, 'web') && items(env.registry, 'pods').length === 4;
    });
    w.close();
    assert.ok(maxTotal <= 5, `at most replicas + maxSurge pods wanted, saw ${maxTotal}`);
    assert.ok(minAvailable >= 3, `at least replicas - maxUnavailable pods ready, saw ${minAvailable}`);
    const d = getDeploy(env, 'web');
    assert.equal(d.status.updatedReplicas, 4);
    assert.equal(d.status.availableReplicas, 4);
    assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
    const rss = items(env.registry, RS);
    const old = rss.find((r) => r.metadata.name === first)!;
    const neu = rss.find((r) => r.metadata.name !== first)!;
    assert.equal(old.spec.replicas, 0);
    assert.equal(neu.spec.replicas, 4);
    assert.deepEqual(revisions(env), { [first ?? '']: '1', [neu.metadata.name ?? '']: '2' });
    for (const p of items(env.registry, 'pods')) assert.equal(p.spec.containers[0].image, 'userlist:2');
    await waitFor('complete condition', () => getDeploy(env, 'web').status.conditions.some((c: { reason: string; message: string }) => c.reason === 'NewReplicaSetAvailable' && c.message === `ReplicaSet "${neu.metadata.name}" has successfully progressed.`));
  } finally {
    env.close();
  }
});

test('rollout undo (the template patched back) reuses the old ReplicaSet and bumps its revision', async () => {
  const env = startEnv();
  try {
    await env.registry.create(DEP, 'default', deployment('web', 2));
    await rollOut(env, 'web');
    const rs1 = items(env.registry, RS)[0];
    const template1 = rs1.spec.template;
    await env.registry.patch(DEP, 'default', 'web', 'strategic', { spec: { template: { spec: { containers: [{ name: 'app', image: 'userlist:2' }] } } } });
    await waitFor('second replicaset', () => items(env.registry, RS).length === 2);
    await rollOut(env, 'web');
    // kubectl rollout undo: a JSON patch putting the old template back, without the hash label.
    const t = JSON.parse(JSON.stringify(template1));
    delete t.metadata.labels['pod-template-hash'];
    await env.registry.patch(DEP, 'default', 'web', 'json', [{ op: 'replace', path: '/spec/template', value: t }]);
    await waitFor('revision 3 on the first replicaset', () => revisions(env)[rs1.metadata.name ?? ''] === '3');
    await rollOut(env, 'web');
    assert.equal(items(env.registry, RS).length, 2);
    const back = env.registry.getSync(RS, 'default', rs1.metadata.name ?? '');
    assert.equal(back.spec.replicas, 2);
    assert.equal(back.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1');
    await waitFor('deployment revision 3', () => getDeploy(env, 'web').metadata.annotations?.['deployment.kubernetes.io/revision'] === '3');
    for (const p of items(env.registry, 'pods')) assert.equal(p.spec.containers[0].image, 'userlist:1');
  } finally {
    env.close();
  }
});

test('rollout restart makes a new ReplicaSet; pause holds a rollout until resumed', async () => {
  const env = startEnv();
  try {
    await env.registry.create(DEP, 'default', deployment('web', 1));
    await rollOut(env, 'web');
    await env.registry.patch(DEP, 'default', 'web', 'strategic', { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-01-01T00:00:00Z' } } } } });
    await waitFor('restart replicaset', () => items(env.registry, RS).length === 2);
    await rollOut(env, 'web');
    await env.registry.patch(DEP, 'default', 'web', 'merge', { spec: { paused: true } });
    await waitFor('paused condition', () => getDeploy(env, 'web').status.conditions.some((c: { reason: string }) => c.reason === 'DeploymentPaused'));
    await env.registry.patch(DEP, 'default', 'web', 'strategic', { spec: { template: { spec: { containers: [{ name: 'app', image: 'userlist:3' }] } } } });
    await waitFor('generation observed while paused', () => {
      const d = getDeploy(env, 'web');
      return d.status.observedGeneration === d.metadata.generation;
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(items(env.registry, RS).length, 2, 'no new ReplicaSet while paused');
    await env.registry.patch(DEP, 'default', 'web', 'merge', { spec: { paused: false } });
    await waitFor('rollout after resume', () => items(env.registry, RS).length === 3);
    await rollOut(env, 'web');
    for (const p of items(env.registry, 'pods')) assert.equal(p.spec.containers[0].image, 'userlist:3');
  } finally {
    env.close();
  }
});

test('Recreate scales the old ReplicaSet to zero and waits for its pods before scaling up the new one', async () => {
  const env = startEnv();
  try {
    await env.registry.create(DEP, 'default', deployment('web', 2, { strategy: { type: 'Recreate' } }));
    await rollOut(env, 'web');
    let overlap = false;
    const w = env.registry.watch('pods', 'default', { resourceVersion: String(env.store.revision) }, () => {
      const images = new Set(items(env.registry, 'pods').map((p) => p.spec.containers[0].image));
      if (images.size > 1) overlap = true;
    });
    await env.registry.patch(DEP, 'default', 'web', 'strategic', { spec: { template: { spec: { containers: [{ name: 'app', image: 'userlist:2' }] } } } });
    await waitFor('new pods', () => items(env.registry, 'pods').filter((p) => p.spec.containers[0].image === 'userlist:2').length === 2);
    await rollOut(env, 'web');
    w.close();
    assert.equal(overlap, false, 'old and new pods never coexist');
  } finally {
    env.close();
  }
});

test('old ReplicaSets beyond revisionHistoryLimit are deleted', async () => {
  const env = startEnv();
  try {
    await env.registry.create(DEP, 'default', deployment('web', 1, { revisionHistoryLimit: 1 }));
    await rollOut(env, 'web');
    for (const image of ['userlist:2', 'userlist:3']) {
      await env.registry.patch(DEP, 'default', 'web', 'strategic', { spec: { template: { spec: { containers: [{ name: 'app', image }] } } } });
      await waitFor(`rollout to ${image}`, () => {
        readyAll(env);
        return rolledOut(env, 'web') && items(env.registry, 'pods').every((p) => p.spec.containers[0].image === image);
      });
    }
    await waitFor('history trimmed to one old replicaset', () => items(env.registry, RS).length === 2);
    assert.deepEqual(Object.values(revisions(env)).sort(), ['2', '3']);
  } finally {
    env.close();
  }
});
