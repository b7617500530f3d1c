import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../api/types.ts';
import { type Env, items, markPod, startEnv, waitFor } from './env.test-helper.ts';
import { ordinalOf } from './statefulset.ts';

const STS = 'statefulsets.apps';

function statefulSet(name: string, replicas: number, extra: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'db', image: 'busybox', command: ['sleep', '1d'] }] } },
      ...extra,
    },
  };
}

function names(env: Env): string[] {
  return items(env.registry, 'pods').filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name ?? '').sort();
}

function ready(env: Env, name: string): void {
  markPod(env.registry, env.registry.getSync('pods', 'default', name), true);
}

function getSet(env: Env, name: string): KObject {
  return env.registry.getSync(STS, 'default', name);
}

test('OrderedReady makes <set>-0 first, <set>-1 only once -0 is Ready, with hostname, subdomain and a claim per pod', async () => {
  const env = startEnv();
  try {
    await env.registry.create(STS, 'default', statefulSet('db', 2, { volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }] }));
    await waitFor('db-0', () => names(env).includes('db-0'));
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(names(env), ['db-0'], 'db-1 waits for db-0');
    const p0 = env.registry.getSync('pods', 'default', 'db-0');
    assert.equal(p0.spec.hostname, 'db-0');
    assert.equal(p0.spec.subdomain, 'db');
    assert.equal(p0.metadata.labels?.['statefulset.kubernetes.io/pod-name'], 'db-0');
    assert.equal(p0.metadata.labels?.['apps.kubernetes.io/pod-index'], '0');
    assert.deepEqual(p0.spec.volumes.find((v: { name: string }) => v.name === 'data'), { name: 'data', persistentVolumeClaim: { claimName: 'data-db-0' } });
    assert.ok(env.registry.getSync('persistentvolumeclaims', 'default', 'data-db-0'));
    ready(env, 'db-0');
    await waitFor('db-1', () => names(env).includes('db-1'));
    ready(env, 'db-1');
    const s = await waitFor('status', () => getSet(env, 'db').status?.readyReplicas === 2 && getSet(env, 'db').status);
    assert.equal(s.replicas, 2);
    assert.equal(s.updatedReplicas, 2);
    assert.equal(s.currentRevision, s.updateRevision);
    assert.match(s.updateRevision, /^db-\w+$/);
  } finally {
    env.close();
  }
});

test('scaling down removes the highest ordinal first and keeps its claim', async () => {
  const env = startEnv();
  try {
    await env.registry.create(STS, 'default', statefulSet('web', 3, { podManagementPolicy: 'Parallel', volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: {} }] }));
    await waitFor('3 pods at once', () => names(env).length === 3);
    for (const n of names(env)) ready(env, n);
    const cur = getSet(env, 'web');
    await env.registry.update(STS, 'default', { ...cur, spec: { ...cur.spec, replicas: 1 } });
    await waitFor('web-0 only', () => names(env).join() === 'web-0');
    assert.ok(env.registry.getSync('persistentvolumeclaims', 'default', 'data-web-2'), 'claims are retained');
  } finally {
    env.close();
  }
});

test('a template change rolls pods from the highest ordinal down, one at a time, above the partition', async () => {
  const env = startEnv();
  try {
    await env.registry.create(STS, 'default', statefulSet('r', 3, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } }));
    for (const n of ['r-0', 'r-1', 'r-2']) {
      await waitFor(n, () => names(env).includes(n));
      ready(env, n);
    }
    const oldRev = (await waitFor('ready', () => getSet(env, 'r').status?.readyReplicas === 3 && getSet(env, 'r').status)).updateRevision;
    const cur = getSet(env, 'r');
    const tmpl = { ...cur.spec.template, metadata: { ...cur.spec.template.metadata, annotations: { v: '2' } } };
    await env.registry.update(STS, 'default', { ...cur, spec: { ...cur.spec, template: tmpl } });
    const hash = (p: string): string | undefined => env.registry.getSync('pods', 'default', p).metadata.labels?.['controller-revision-hash'];
    const first = hash('r-2');
    await waitFor('r-2 replaced', () => names(env).includes('r-2') && hash('r-2') !== first);
    assert.equal(hash('r-1'), first, 'r-1 waits until r-2 is Ready');
    ready(env, 'r-2');
    await waitFor('r-1 replaced', () => names(env).includes('r-1') && hash('r-1') !== first);
    ready(env, 'r-1');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(hash('r-0'), first, 'r-0 is below the partition');
    const s = getSet(env, 'r').status;
    assert.notEqual(s.updateRevision, oldRev);
    assert.equal(s.updatedReplicas, 2);
  } finally {
    env.close();
  }
});

test('ordinalOf reads <set>-<n> only', () => {
  assert.equal(ordinalOf('db', 'db-0'), 0);
  assert.equal(ordinalOf('db', 'db-12'), 12);
  assert.equal(ordinalOf('db', 'db-012'), -1);
  assert.equal(ordinalOf('db', 'dbx-1'), -1);
  assert.equal(ordinalOf('db', 'db-a'), -1);
});
