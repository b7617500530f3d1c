import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startEnv, waitFor } from './env.test-helper.ts';

test('the scheduler binds a new pod to the node, marks it PodScheduled and records a Scheduled event', async () => {
  const env = startEnv({ nodeName: 'laptop' });
  try {
    env.registry.createSync('pods', 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    const pod = await waitFor('bound', () => {
      const p = env.registry.getSync('pods', 'default', 'p');
      return p.spec.nodeName && p.status?.conditions?.length ? p : undefined;
    });
    assert.equal(pod.spec.nodeName, 'laptop');
    assert.equal(pod.status.phase, 'Pending', 'binding does not run it: that is the kubelet');
    assert.deepEqual(
      pod.status.conditions.map((c: { type: string; status: string }) => [c.type, c.status]),
      [['PodScheduled', 'True']],
    );
    const ev = await waitFor('event', () => env.registry.listSync('events', 'default').items.find((e) => e.reason === 'Scheduled'));
    assert.equal(ev.message, 'Successfully assigned default/p to laptop');
    assert.equal((ev.source as { component: string }).component, 'default-scheduler');
  } finally {
    env.close();
  }
});

test('a pod that already names its node is left alone', async () => {
  const env = startEnv({ nodeName: 'laptop' });
  try {
    env.registry.createSync('pods', 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pinned' }, spec: { nodeName: 'elsewhere', containers: [{ name: 'c', image: 'busybox' }] } });
    env.registry.createSync('pods', 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'other' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    await waitFor('other bound', () => env.registry.getSync('pods', 'default', 'other').spec.nodeName === 'laptop');
    const pinned = env.registry.getSync('pods', 'default', 'pinned');
    assert.equal(pinned.spec.nodeName, 'elsewhere');
    assert.equal(pinned.status.conditions, undefined);
  } finally {
    env.close();
  }
});
