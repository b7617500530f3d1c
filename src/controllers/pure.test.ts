import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../api/types.ts';
import { computeHash, equalIgnoreHash, fnv32a, safeEncode } from './hash.ts';
import { deploySpec, maxSurge, maxUnavailable, newRSNewReplicas, proportionalSizes, resolveFenceposts, setCondition, newCondition, type DeployStatus } from './deployment-util.ts';
import { computeSubsets, findPort } from './endpoints-util.ts';
import { deletionOrder } from './replicaset.ts';
import { WorkQueue } from './queue.ts';

test('fnv32a matches the reference vectors', () => {
  assert.equal(fnv32a(''), 0x811c9dc5);
  assert.equal(fnv32a('a'), 0xe40c292c);
  assert.equal(fnv32a('foobar'), 0xbf9cf968);
});

test('computeHash is deterministic, key-order independent, safe-alphabet, and changes with collisionCount', () => {
  const a = computeHash({ metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c', image: 'i' }] } });
  const b = computeHash({ spec: { containers: [{ image: 'i', name: 'c' }] }, metadata: { labels: { app: 'x' } } });
  assert.equal(a, b);
  assert.match(a, /^[bcdfghjklmnpqrstvwxz2456789]+$/);
  assert.notEqual(computeHash({ a: 1 }, 1), computeHash({ a: 1 }));
  assert.equal(safeEncode('0123456789'), '456789bcdf');
});

test('equalIgnoreHash ignores only the pod-template-hash label', () => {
  const t = { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c' }] } };
  assert.ok(equalIgnoreHash(t, { metadata: { labels: { app: 'x', 'pod-template-hash': 'abc' } }, spec: { containers: [{ name: 'c' }] } }));
  assert.ok(!equalIgnoreHash(t, { metadata: { labels: { app: 'y' } }, spec: { containers: [{ name: 'c' }] } }));
});

function d(spec: Record<string, unknown>): KObject {
  return { metadata: { name: 'd' }, spec };
}

test('fenceposts: surge rounds up, unavailable rounds down, both zero means one unavailable', () => {
  assert.deepEqual(resolveFenceposts('25%', '25%', 3), [1, 0]);
  assert.deepEqual(resolveFenceposts('25%', '25%', 10), [3, 2]);
  assert.deepEqual(resolveFenceposts(0, 0, 5), [0, 1]);
  assert.deepEqual(resolveFenceposts(2, '50%', 5), [2, 2]);
  const spec = deploySpec(d({ replicas: 4 }));
  assert.equal(maxSurge(spec), 1);
  assert.equal(maxUnavailable(spec), 1);
  assert.equal(maxSurge(deploySpec(d({ replicas: 4, strategy: { type: 'Recreate' } }))), 0);
  assert.equal(maxUnavailable(deploySpec(d({ replicas: 1, strategy: { rollingUpdate: { maxUnavailable: 5, maxSurge: 0 } } }))), 1);
});

function rs(name: string, replicas: number, created: string, annotations: Record<string, string> = {}): KObject {
  return { metadata: { name, creationTimestamp: created, annotations }, spec: { replicas } };
}

test('newRSNewReplicas scales up within maxSurge', () => {
  const spec = deploySpec(d({ replicas: 4, strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } }));
  const old = rs('old', 4, '2026-01-01T00:00:00Z');
  const neu = rs('new', 0, '2026-01-02T00:00:00Z');
  assert.equal(newRSNewReplicas(spec, [old, neu], neu), 1);
  old.spec.replicas = 2;
  neu.spec.replicas = 2;
  assert.equal(newRSNewReplicas(spec, [old, neu], neu), 3);
});

test('proportional scaling spreads a change by ReplicaSet size, leftovers to the largest', () => {
  // 10 replicas, surge 3: sizes 8 (old) + 5 (new) at max 13; scale to 20 (surge 5 → 25).
  const spec = deploySpec(d({ replicas: 20 }));
  const old = rs('old', 8, '2026-01-01T00:00:00Z', { 'deployment.kubernetes.io/max-replicas': '13' });
  const neu = rs('new', 5, '2026-01-02T00:00:00Z', { 'deployment.kubernetes.io/max-replicas': '13' });
  const { sizes, op } = proportionalSizes(spec, 13, [old, neu]);
  assert.equal(op, 'up');
  assert.equal((sizes.get('old') ?? 0) + (sizes.get('new') ?? 0), 25);
  assert.equal(sizes.get('old'), 15);
  assert.equal(sizes.get('new'), 10);
});

test('setCondition keeps lastTransitionTime when only the reason changes and moves the condition last', () => {
  const s: DeployStatus = {};
  setCondition(s, newCondition('Progressing', 'True', 'NewReplicaSetCreated', 'a', 0));
  setCondition(s, newCondition('Available', 'False', 'MinimumReplicasUnavailable', 'b', 0));
  setCondition(s, newCondition('Progressing', 'True', 'ReplicaSetUpdated', 'c', 5000));
  assert.deepEqual(s.conditions!.map((c) => c.type), ['Available', 'Progressing']);
  assert.equal(s.conditions![1].lastTransitionTime, '1970-01-01T00:00:00Z');
  assert.equal(s.conditions![1].lastUpdateTime, '1970-01-01T00:00:05Z');
});

function pod(name: string, ip: string | undefined, ready: boolean, ports: Array<{ name?: string; containerPort: number }> = []): KObject {
  return {
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: { app: 'x' } },
    spec: { containers: [{ name: 'c', ports }] },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

test('computeSubsets groups addresses by the ports they resolve', () => {
  const svc: KObject = { metadata: { name: 's', namespace: 'default' }, spec: { selector: { app: 'x' }, ports: [{ name: 'web', port: 80, targetPort: 'web' }] } };
  const a = pod('a', '127.42.0.2', true, [{ name: 'web', containerPort: 8080 }]);
  const b = pod('b', '127.42.0.3', false, [{ name: 'web', containerPort: 9090 }]);
  const c = pod('c', undefined, true, [{ name: 'web', containerPort: 8080 }]);
  const e = pod('e', '127.42.0.4', true, []);
  assert.equal(findPort(e, { targetPort: 'web' }), undefined);
  const subsets = computeSubsets(svc, [a, b, c, e]);
  assert.equal(subsets.length, 2);
  const by8080 = subsets.find((s) => (s.ports as Array<{ port: number }>)[0].port === 8080)!;
  assert.deepEqual((by8080.addresses as Array<{ ip: string }>).map((x) => x.ip), ['127.42.0.2']);
  const by9090 = subsets.find((s) => (s.ports as Array<{ port: number }>)[0].port === 9090)!;
  assert.deepEqual((by9090.notReadyAddresses as Array<{ ip: string }>).map((x) => x.ip), ['127.42.0.3']);
  assert.deepEqual(computeSubsets(svc, []), []);
});

test('deletionOrder prefers unscheduled, pending, not ready, then newer pods', () => {
  const mk = (name: string, o: { node?: string; phase?: string; ready?: boolean; created?: string }): KObject => ({
    metadata: { name, creationTimestamp: o.created ?? '2026-01-01T00:00:00Z' },
    spec: { nodeName: o.node },
    status: { phase: o.phase, conditions: [{ type: 'Ready', status: o.ready ? 'True' : 'False' }] },
  });
  const pods = [
    mk('running-ready-old', { node: 'n', phase: 'Running', ready: true }),
    mk('running-ready-new', { node: 'n', phase: 'Running', ready: true, created: '2026-02-01T00:00:00Z' }),
    mk('running-unready', { node: 'n', phase: 'Running' }),
    mk('pending', { node: 'n', phase: 'Pending' }),
    mk('unscheduled', { phase: 'Pending' }),
  ];
  assert.deepEqual([...pods].sort(deletionOrder).map((p) => p.metadata.name), ['unscheduled', 'pending', 'running-unready', 'running-ready-new', 'running-ready-old']);
});

test('WorkQueue collapses bursts per key, never runs a key twice at once, and retries failures', async () => {
  const runs: string[] = [];
  let active = 0;
  let maxActive = 0;
  let failOnce = true;
  const q = new WorkQueue(
    async (k) => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs.push(k);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      if (k === 'b' && failOnce) {
        failOnce = false;
        throw new Error('boom');
      }
    },
    { name: 't', concurrency: 4, baseDelayMs: 1 },
  );
  for (let i = 0; i < 100; i++) q.add('a');
  q.add('b');
  q.start();
  await new Promise((r) => setTimeout(r, 1));
  q.add('a'); // while running: one more run afterwards
  const end = Date.now() + 2000;
  while ((q.length > 0 || runs.filter((r) => r === 'b').length < 2) && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  q.close();
  assert.equal(runs.filter((r) => r === 'a').length, 2);
  assert.equal(runs.filter((r) => r === 'b').length, 2);
  assert.ok(maxActive <= 2);
});
