import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../api/types.ts';
import { type Env, items, markPod, startEnv, waitFor } from './env.test-helper.ts';

const DS = 'daemonsets.apps';

function daemonSet(name: string, extra: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'agent', image: 'busybox', command: ['sleep', '1d'] }], ...extra } },
    },
  };
}

function live(env: Env, app: string): KObject[] {
  return items(env.registry, 'pods', 'default', `app=${app}`).filter((p) => !p.metadata.deletionTimestamp);
}

function getSet(env: Env, name: string): KObject {
  return env.registry.getSync(DS, 'default', name);
}

test('a DaemonSet runs one pod on the node, pinned by node affinity, and reports it', async () => {
  const env = startEnv();
  try {
    await env.registry.create(DS, 'default', daemonSet('agent'));
    const [pod] = await waitFor('a pod', () => live(env, 'agent').length === 1 && live(env, 'agent'));
    assert.ok(pod.metadata.name?.startsWith('agent-'));
    assert.deepEqual(pod.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms, [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['skiff-test'] }] }]);
    markPod(env.registry, pod, true);
    const s = await waitFor('ready', () => getSet(env, 'agent').status?.numberReady === 1 && getSet(env, 'agent').status);
    assert.equal(s.desiredNumberScheduled, 1);
    assert.equal(s.currentNumberScheduled, 1);
    assert.equal(s.updatedNumberScheduled, 1);
    assert.equal(s.numberAvailable, 1);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(live(env, 'agent').length, 1, 'one pod per node, never two');
    // A template change replaces the pod.
    const cur = getSet(env, 'agent');
    const tmpl = { ...cur.spec.template, metadata: { ...cur.spec.template.metadata, annotations: { v: '2' } } };
    await env.registry.update(DS, 'default', { ...cur, spec: { ...cur.spec, template: tmpl } });
    await waitFor('a new pod', () => live(env, 'agent').length === 1 && live(env, 'agent')[0].metadata.name !== pod.metadata.name);
  } finally {
    env.close();
  }
});

test('a DaemonSet whose nodeSelector matches no node runs nothing', async () => {
  const env = startEnv();
  try {
    await env.registry.create(DS, 'default', daemonSet('gpu', { nodeSelector: { accelerator: 'gpu' } }));
    const s = await waitFor('status', () => getSet(env, 'gpu').status);
    assert.equal(s.desiredNumberScheduled, 0);
    assert.equal(live(env, 'gpu').length, 0);
  } finally {
    env.close();
  }
});
