import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../api/types.ts';
import { startEnv } from './env.test-helper.ts';

function pod(name: string, resources?: Record<string, Record<string, string>>): KObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox', ...(resources ? { resources } : {}) }] } };
}

const limits = {
  apiVersion: 'v1',
  kind: 'LimitRange',
  metadata: { name: 'lr' },
  spec: { limits: [{ type: 'Container', default: { cpu: '500m', memory: '256Mi' }, defaultRequest: { cpu: '100m' }, max: { cpu: '1' } }] },
};

test('a LimitRange gives containers its defaults, and quota then counts them', async () => {
  const env = startEnv();
  try {
    await env.registry.create('limitranges', 'default', limits);
    await env.registry.create('resourcequotas', 'default', { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec: { hard: { 'limits.cpu': '2', 'requests.memory': '1Gi' } } });
    const p = await env.registry.create('pods', 'default', pod('bare'));
    assert.deepEqual(p.spec.containers[0].resources, { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '256Mi' } });
    const own = await env.registry.create('pods', 'default', pod('own', { limits: { cpu: '800m' } }));
    assert.deepEqual(own.spec.containers[0].resources, { limits: { cpu: '800m', memory: '256Mi' }, requests: { cpu: '800m', memory: '256Mi' } });
  } finally {
    env.close();
  }
});

test('a container past the LimitRange max is Forbidden with upstream\'s message', async () => {
  const env = startEnv();
  try {
    await env.registry.create('limitranges', 'default', limits);
    await assert.rejects(env.registry.create('pods', 'default', pod('big', { limits: { cpu: '2' } })), (e: unknown) => {
      assert.equal((e as { reason?: string }).reason, 'Forbidden');
      assert.equal((e as Error).message, 'pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2');
      return true;
    });
  } finally {
    env.close();
  }
});
