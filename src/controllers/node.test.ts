import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startEnv, waitFor } from './env.test-helper.ts';

test('the node object exists with labels, Ready condition, addresses and capacity, and comes back when deleted', async () => {
  const env = startEnv({ nodeName: 'laptop' });
  try {
    const node = await waitFor('node ready', () => {
      const n = env.registry.listSync('nodes', undefined).items.find((x) => x.metadata.name === 'laptop');
      return n?.status?.conditions?.length ? n : undefined;
    });
    assert.equal(node.metadata.labels?.['kubernetes.io/hostname'], 'laptop');
    assert.equal(node.metadata.labels?.['kubernetes.io/os'], 'linux');
    assert.equal(node.metadata.labels?.['node-role.kubernetes.io/control-plane'], '');
    assert.match(node.metadata.labels?.['kubernetes.io/arch'] ?? '', /^(amd64|arm64|.+)$/);
    const ready = node.status.conditions.find((c: { type: string }) => c.type === 'Ready');
    assert.deepEqual([ready.status, ready.reason, ready.message], ['True', 'KubeletReady', 'kubelet is posting ready status']);
    for (const t of ['MemoryPressure', 'DiskPressure', 'PIDPressure']) assert.equal(node.status.conditions.find((c: { type: string }) => c.type === t).status, 'False');
    assert.deepEqual(node.status.addresses, [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: 'laptop' }]);
    assert.equal(node.status.nodeInfo.kubeletVersion, 'v1.32.0+skiff');
    assert.equal(node.status.capacity.pods, '110');
    assert.match(node.status.capacity.memory, /^\d+Ki$/);
    // Quiet between heartbeats: no rewrite storm.
    const rv = node.metadata.resourceVersion;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(env.registry.getSync('nodes', undefined, 'laptop').metadata.resourceVersion, rv);
    await env.registry.delete('nodes', undefined, 'laptop');
    await waitFor('node recreated', () => env.registry.listSync('nodes', undefined).items.some((x) => x.metadata.name === 'laptop' && x.status?.conditions));
  } finally {
    env.close();
  }
});
