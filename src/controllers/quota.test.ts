import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../api/types.ts';
import { type Env, startEnv, waitFor } from './env.test-helper.ts';
import { formatQuantity, parseQuantity } from '../api/quantity.ts';

function pod(name: string, resources?: Record<string, Record<string, string>>): KObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox', ...(resources ? { resources } : {}) }] } };
}

function quota(hard: Record<string, string>): KObject {
  return { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec: { hard } };
}

async function refused(env: Env, res: string, obj: KObject): Promise<string> {
  try {
    await env.registry.create(res, 'default', obj);
  } catch (e) {
    assert.equal((e as { reason?: string }).reason, 'Forbidden');
    return (e as Error).message;
  }
  throw new Error(`${obj.metadata.name} was admitted`);
}

test('a create past a count quota is Forbidden with upstream\'s message, and status.used follows', async () => {
  const env = startEnv();
  try {
    await env.registry.create('resourcequotas', 'default', quota({ pods: '1', configmaps: '2' }));
    await env.registry.create('pods', 'default', pod('a'));
    assert.equal(await refused(env, 'pods', pod('b')), 'pods "b" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1');
    const q = await waitFor('status', () => env.registry.getSync('resourcequotas', 'default', 'q').status?.used?.pods === '1' && env.registry.getSync('resourcequotas', 'default', 'q').status);
    assert.deepEqual(q.hard, { pods: '1', configmaps: '2' });
    assert.deepEqual(q.used, { pods: '1', configmaps: '0' });
    // Other namespaces are not counted, nor limited.
    await env.registry.create('namespaces', undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'free' } });
    await env.registry.create('pods', 'free', pod('c'));
  } finally {
    env.close();
  }
});

test('compute quotas need every container to state the value, and sum requests and limits', async () => {
  const env = startEnv();
  try {
    await env.registry.create('resourcequotas', 'default', quota({ 'requests.cpu': '1', 'limits.memory': '1Gi' }));
    assert.equal(await refused(env, 'pods', pod('bare')), 'pods "bare" is forbidden: failed quota: q: must specify limits.memory for: c; requests.cpu for: c');
    await env.registry.create('pods', 'default', pod('a', { requests: { cpu: '600m' }, limits: { memory: '512Mi' } }));
    assert.match(await refused(env, 'pods', pod('b', { requests: { cpu: '500m' }, limits: { memory: '256Mi' } })), /^pods "b" is forbidden: exceeded quota: q, requested: requests\.cpu=500m, used: requests\.cpu=600m, limited: requests\.cpu=1$/);
    await env.registry.create('pods', 'default', pod('c', { requests: { cpu: '400m' }, limits: { memory: '512Mi' } }));
    const q = await waitFor('status', () => env.registry.getSync('resourcequotas', 'default', 'q').status?.used?.['requests.cpu'] === '1' && env.registry.getSync('resourcequotas', 'default', 'q').status);
    assert.deepEqual(q.used, { 'requests.cpu': '1', 'limits.memory': '1Gi' });
  } finally {
    env.close();
  }
});

test('quantities parse and print as Kubernetes spells them', () => {
  assert.equal(parseQuantity('500m'), 0.5);
  assert.equal(parseQuantity('1Gi'), 1024 ** 3);
  assert.equal(parseQuantity('2'), 2);
  assert.equal(parseQuantity('lots'), undefined);
  assert.equal(formatQuantity('requests.cpu', 1.5), '1500m');
  assert.equal(formatQuantity('cpu', 2), '2');
  assert.equal(formatQuantity('limits.memory', 768 * 1024 ** 2), '768Mi');
  assert.equal(formatQuantity('requests.memory', 1000), '1000');
  assert.equal(formatQuantity('pods', 3), '3');
});
