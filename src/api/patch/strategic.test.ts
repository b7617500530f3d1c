import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyStrategicMergePatch, PatchError } from './index.ts';
import { liveDeployment } from './testdata.ts';

const DEPLOY = 'deployments.apps';

function smp(doc: unknown, patch: unknown, key = DEPLOY): any {
  return applyStrategicMergePatch(doc, patch, key);
}

function rejects(fn: () => unknown, status: number): void {
  assert.throws(fn, (err: unknown) => err instanceof PatchError && err.code === 'SKIFF_ERR_PATCH' && err.status === status);
}

test('applyStrategicMergePatch() applies the kubectl apply "replicas only" patch (§8.3)', () => {
  const live = liveDeployment();
  const out = smp(live, {
    metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"new":true}\n' } },
    spec: { replicas: 3 },
  });
  const want = liveDeployment();
  want.spec.replicas = 3;
  want.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'] = '{"new":true}\n';
  assert.deepEqual(out, want);
  assert.deepEqual(live, liveDeployment(), 'input is unmodified');
});

test('applyStrategicMergePatch() applies the env/ports/image/new container/remove volumes patch (§8.3)', () => {
  const live = liveDeployment();
  // That apply started from a live object without mounts (all volumes were being removed).
  delete live.spec.template.spec.containers[0].volumeMounts;
  const patch = {
    spec: {
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'web' }, { name: 'sidecar' }],
          containers: [
            {
              name: 'web',
              image: 'nginx:1.26',
              '$setElementOrder/env': [{ name: 'C' }, { name: 'B' }],
              env: [{ name: 'C', value: '3' }, { name: 'B', value: '22' }, { $patch: 'delete', name: 'A' }],
              '$setElementOrder/ports': [{ containerPort: 8080 }],
              ports: [{ containerPort: 8080 }, { $patch: 'delete', containerPort: 80 }],
            },
            { name: 'sidecar', image: 'busybox', command: ['sleep', 'infinity'] },
          ],
          volumes: null,
        },
      },
    },
  };
  const out = smp(live, patch);
  const spec = out.spec.template.spec;
  assert.deepEqual(spec.containers, [
    {
      name: 'web',
      image: 'nginx:1.26',
      imagePullPolicy: 'IfNotPresent',
      env: [{ name: 'C', value: '3' }, { name: 'B', value: '22' }],
      ports: [{ containerPort: 8080 }],
      resources: {},
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
    },
    { name: 'sidecar', image: 'busybox', command: ['sleep', 'infinity'] },
  ]);
  assert.equal('volumes' in spec, false);
  assert.deepEqual(spec.tolerations, live.spec.template.spec.tolerations);
  assert.equal(out.spec.replicas, 1);
});

test('applyStrategicMergePatch() keeps maxUnavailable when $retainKeys lists rollingUpdate (§8.3)', () => {
  const out = smp(liveDeployment(), { spec: { strategy: { $retainKeys: ['rollingUpdate', 'type'], rollingUpdate: { maxSurge: 1 } } } });
  assert.deepEqual(out.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: '25%' } });
});

test('applyStrategicMergePatch() drops rollingUpdate when switching the strategy to Recreate (§8.3)', () => {
  const out = smp(liveDeployment(), { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: null, type: 'Recreate' } } });
  assert.deepEqual(out.spec.strategy, { type: 'Recreate' });
});

test('applyStrategicMergePatch() swaps a volume source with $retainKeys and deletes a volume and its mount (§8.3)', () => {
  const out = smp(liveDeployment(), {
    spec: {
      template: {
        spec: {
          '$setElementOrder/volumes': [{ name: 'a' }],
          volumes: [
            { $retainKeys: ['configMap', 'name'], configMap: { name: 'cfg' }, emptyDir: null, name: 'a' },
            { $patch: 'delete', name: 'b' },
          ],
          containers: [{ name: 'web', '$setElementOrder/volumeMounts': [{ mountPath: '/a' }], volumeMounts: [{ $patch: 'delete', mountPath: '/b' }] }],
        },
      },
    },
  });
  const spec = out.spec.template.spec;
  assert.deepEqual(spec.volumes, [{ name: 'a', configMap: { name: 'cfg' } }]);
  assert.deepEqual(spec.containers[0].volumeMounts, [{ name: 'a', mountPath: '/a' }]);
  assert.equal(spec.containers[0].image, 'nginx:1.25');
  assert.equal(spec.containers.length, 1);
});

test('applyStrategicMergePatch() adds the rollout restart annotation next to existing template metadata', () => {
  const out = smp(liveDeployment(), { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-11-25T21:21:25Z' } } } } });
  assert.deepEqual(out.spec.template.metadata, {
    creationTimestamp: null,
    labels: { app: 'web' },
    annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-11-25T21:21:25Z' },
  });
});

test('applyStrategicMergePatch() deletes a label given null, as kubectl label key- does', () => {
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'user11', labels: { 'istio-injection': 'enabled', team: 'a' } } };
  const out = smp(ns, { metadata: { labels: { 'istio-injection': null } } }, 'namespaces');
  assert.deepEqual(out.metadata.labels, { team: 'a' });
});

test('applyStrategicMergePatch() edits replicas and status as kubectl edit sends them', () => {
  const out = smp(liveDeployment(), { spec: { replicas: 4 }, status: { replicas: 4 } });
  assert.equal(out.spec.replicas, 4);
  assert.equal(out.status.replicas, 4);
  assert.equal(out.status.conditions.length, 2);
});

test('applyStrategicMergePatch() orders a merged list by $setElementOrder', () => {
  const live = liveDeployment();
  live.spec.template.spec.containers.push({ name: 'b', image: 'b' }, { name: 'c', image: 'c' });
  const out = smp(live, {
    spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'c' }, { name: 'web' }, { name: 'b' }], containers: [{ name: 'c', image: 'c2' }] } } },
  });
  assert.deepEqual(out.spec.template.spec.containers.map((c: any) => `${c.name}=${c.image}`), ['c=c2', 'web=nginx:1.25', 'b=b']);
});

test('applyStrategicMergePatch() puts a new merge-list element first without $setElementOrder, as upstream does', () => {
  const out = smp(liveDeployment(), { spec: { template: { spec: { containers: [{ name: 'redis', image: 'redis' }] } } } });
  assert.deepEqual(out.spec.template.spec.containers.map((c: any) => c.name), ['redis', 'web']);
});

test('applyStrategicMergePatch() merges env by name and leaves other entries in place', () => {
  const out = smp(liveDeployment(), { spec: { template: { spec: { containers: [{ name: 'web', env: [{ name: 'B', value: 'x' }] }] } } } });
  assert.deepEqual(out.spec.template.spec.containers[0].env, [{ name: 'A', value: '1' }, { name: 'B', value: 'x' }]);
});

test('applyStrategicMergePatch() removes a list element with $patch: delete', () => {
  const out = smp(liveDeployment(), { spec: { template: { spec: { containers: [{ name: 'web', env: [{ $patch: 'delete', name: 'A' }] }] } } } });
  assert.deepEqual(out.spec.template.spec.containers[0].env, [{ name: 'B', value: '2' }]);
});

test('applyStrategicMergePatch() replaces a whole list with a $patch: replace element', () => {
  const out = smp(liveDeployment(), { spec: { template: { spec: { containers: [{ name: 'web', env: [{ $patch: 'replace' }, { name: 'Z', value: '9' }] }] } } } });
  assert.deepEqual(out.spec.template.spec.containers[0].env, [{ name: 'Z', value: '9' }]);
});

test('applyStrategicMergePatch() deletes a map with $patch: delete and replaces one with $patch: replace', () => {
  const del = smp(liveDeployment(), { spec: { strategy: { $patch: 'delete' } } });
  assert.equal('strategy' in del.spec, false);
  const rep = smp(liveDeployment(), { spec: { selector: { $patch: 'replace', matchLabels: { tier: 'x' } } } });
  assert.deepEqual(rep.spec.selector, { matchLabels: { tier: 'x' } });
  const labels = smp(liveDeployment(), { metadata: { labels: { $patch: 'replace', only: 'me' } } });
  assert.deepEqual(labels.metadata.labels, { only: 'me' });
});

test('applyStrategicMergePatch() removes finalizers with $deleteFromPrimitiveList and set-merges new ones', () => {
  const del = smp(liveDeployment(), { metadata: { '$deleteFromPrimitiveList/finalizers': ['example.com/a'] } });
  assert.deepEqual(del.metadata.finalizers, ['example.com/b']);
  const add = smp(liveDeployment(), { metadata: { finalizers: ['example.com/b', 'example.com/c'] } });
  assert.deepEqual(add.metadata.finalizers, ['example.com/a', 'example.com/b', 'example.com/c']);
  const both = smp(liveDeployment(), {
    metadata: { '$setElementOrder/finalizers': ['example.com/b', 'example.com/c'], finalizers: ['example.com/c'], '$deleteFromPrimitiveList/finalizers': ['example.com/a'] },
  });
  assert.deepEqual(both.metadata.finalizers, ['example.com/b', 'example.com/c']);
});

test('applyStrategicMergePatch() replaces lists without a merge key (tolerations, command, selector expressions)', () => {
  const out = smp(liveDeployment(), { spec: { template: { spec: { tolerations: [{ key: 'gpu', operator: 'Exists' }] } } } });
  assert.deepEqual(out.spec.template.spec.tolerations, [{ key: 'gpu', operator: 'Exists' }]);
});

test('applyStrategicMergePatch() merges status conditions by type and ownerReferences by uid', () => {
  const live = liveDeployment();
  live.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u1' }];
  const out = smp(live, {
    metadata: { ownerReferences: [{ uid: 'u1', controller: true }] },
    status: { conditions: [{ type: 'Available', status: 'False' }] },
  });
  assert.deepEqual(out.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u1', controller: true }]);
  assert.deepEqual(out.status.conditions[0], { type: 'Available', status: 'False', reason: 'MinimumReplicasAvailable' });
  assert.equal(out.status.conditions.length, 2);
});

test('applyStrategicMergePatch() finds the pod template of each workload kind', () => {
  const podSpec = (image: string) => ({ containers: [{ name: 'a', image: 'a:1' }, { name: 'b', image }] });
  // Each case wraps a pod spec where that resource keeps it.
  const cases: Array<[string, (spec: any) => any, (o: any) => any]> = [
    ['pods', (spec) => ({ spec }), (o) => o.spec],
    ['podtemplates', (spec) => ({ template: { spec } }), (o) => o.template.spec],
    ['replicationcontrollers', (spec) => ({ spec: { template: { spec } } }), (o) => o.spec.template.spec],
    ['replicasets.apps', (spec) => ({ spec: { template: { spec } } }), (o) => o.spec.template.spec],
    ['statefulsets.apps', (spec) => ({ spec: { template: { spec } } }), (o) => o.spec.template.spec],
    ['daemonsets.apps', (spec) => ({ spec: { template: { spec } } }), (o) => o.spec.template.spec],
    ['jobs.batch', (spec) => ({ spec: { template: { spec } } }), (o) => o.spec.template.spec],
    ['cronjobs.batch', (spec) => ({ spec: { jobTemplate: { spec: { template: { spec } } } } }), (o) => o.spec.jobTemplate.spec.template.spec],
  ];
  for (const [key, wrap, at] of cases) {
    const doc = { metadata: { name: 'x' }, ...wrap(podSpec('b:1')) };
    const out = smp(doc, wrap({ containers: [{ name: 'b', image: 'b:2' }] }), key);
    assert.deepEqual(at(out).containers, podSpec('b:2').containers, key);
  }
  // An unknown resource key falls back to ObjectMeta-only keys, so the list is replaced.
  const other = smp({ metadata: { name: 'x' }, spec: podSpec('b:1') }, { spec: { containers: [{ name: 'b', image: 'b:2' }] } }, 'widgets.example.com');
  assert.deepEqual(other.spec.containers, [{ name: 'b', image: 'b:2' }]);
});

test('applyStrategicMergePatch() merges service ports by port', () => {
  const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }, { name: 'grpc', port: 9090, protocol: 'TCP' }] } };
  const out = smp(svc, { spec: { ports: [{ port: 80, targetPort: 9000 }] } }, 'services');
  assert.deepEqual(out.spec.ports, [{ name: 'http', port: 80, targetPort: 9000, protocol: 'TCP' }, { name: 'grpc', port: 9090, protocol: 'TCP' }]);
});

test('applyStrategicMergePatch() strips directives from values new to the object', () => {
  const live = liveDeployment();
  delete live.spec.template.spec.volumes;
  const out = smp(live, {
    spec: { template: { spec: { '$setElementOrder/volumes': [{ name: 'n' }], volumes: [{ name: 'n', emptyDir: {}, $retainKeys: ['emptyDir', 'name'] }, { $patch: 'delete', name: 'gone' }] } } },
  });
  assert.deepEqual(out.spec.template.spec.volumes, [{ name: 'n', emptyDir: {} }]);
});

test('applyStrategicMergePatch() rejects malformed patches with PatchError', () => {
  rejects(() => smp(liveDeployment(), [1]), 400);
  rejects(() => smp(liveDeployment(), null), 400);
  rejects(() => smp(liveDeployment(), { spec: { $patch: 'explode' } }), 400);
  rejects(() => smp(liveDeployment(), { spec: { strategy: { $retainKeys: 'type' } } }), 400);
  rejects(() => smp(liveDeployment(), { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: { maxSurge: 1 } } } }), 422);
  rejects(() => smp(liveDeployment(), { spec: { template: { spec: { containers: [{ image: 'no-name' }] } } } }), 400);
  rejects(() => smp(liveDeployment(), { spec: { template: { spec: { '$setElementOrder/containers': 'web' } } } }), 400);
  rejects(() => smp(liveDeployment(), { metadata: { finalizers: [['nested']] } }), 422);
  rejects(() => smp(liveDeployment(), { $patch: 'delete' }), 422);
});

test('applyStrategicMergePatch() does not pollute prototypes through __proto__ keys', () => {
  const patch = JSON.parse('{"metadata":{"labels":{"__proto__":{"polluted":"yes"}}},"__proto__":{"polluted":"yes"}}');
  const out = smp(liveDeployment(), patch);
  assert.equal(({} as any).polluted, undefined);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(JSON.parse(JSON.stringify(out)).metadata.labels, JSON.parse('{"app":"web","__proto__":{"polluted":"yes"}}'));
});
