import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../api/types.ts';
import { ipToNum } from './service-ips.ts';
import { startEnv, waitFor } from './env.test-helper.ts';

function svc(name: string, spec: Record<string, unknown> = {}): KObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ port: 80 }], ...spec } };
}

async function rejects(p: Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(p, (e: { code?: number; message?: string }) => {
    assert.equal(e.code, 422);
    assert.ok(e.message?.includes(message), e.message);
    return true;
  });
}

test('cluster IPs are unique, in 127.43.0.0/16, kept on update, and 127.43.0.1 is reserved', async () => {
  const env = startEnv({ disable: ['node'] });
  try {
    const ips = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const s = await env.registry.create('services', 'default', svc(`s${i}`));
      const ip = s.spec.clusterIP as string;
      assert.match(ip, /^127\.43\.\d+\.\d+$/);
      assert.notEqual(ip, '127.43.0.1');
      assert.deepEqual(s.spec.clusterIPs, [ip]);
      assert.deepEqual(s.spec.ipFamilies, ['IPv4']);
      ips.add(ip);
    }
    assert.equal(ips.size, 30);
    const s0 = env.registry.getSync('services', 'default', 's0');
    const upd = await env.registry.update('services', 'default', { ...s0, spec: { ...s0.spec, clusterIP: undefined, clusterIPs: undefined } });
    assert.equal(upd.spec.clusterIP, s0.spec.clusterIP);
    const headless = await env.registry.create('services', 'default', svc('headless', { clusterIP: 'None' }));
    assert.deepEqual(headless.spec.clusterIPs, ['None']);
    const wanted = await env.registry.create('services', 'default', svc('wanted', { clusterIP: '127.43.200.7' }));
    assert.equal(wanted.spec.clusterIP, '127.43.200.7');
    await rejects(env.registry.create('services', 'default', svc('dup', { clusterIP: '127.43.200.7' })), 'failed to allocate IP 127.43.200.7: provided IP is already allocated');
    await rejects(env.registry.create('services', 'default', svc('reserved', { clusterIP: '127.43.0.1' })), 'provided IP is already allocated');
    await rejects(
      env.registry.create('services', 'default', svc('outside', { clusterIP: '10.0.0.1' })),
      'spec.clusterIPs: Invalid value: []string{"10.0.0.1"}: failed to allocate IP 10.0.0.1: the provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is 127.43.0.0/16',
    );
    const k = await env.registry.create('services', 'default', svc('kubernetes', { clusterIP: '127.43.0.1' }));
    assert.equal(k.spec.clusterIP, '127.43.0.1');
    // A released address can be asked for again.
    await env.registry.delete('services', 'default', 'wanted');
    const again = await env.registry.create('services', 'default', svc('again', { clusterIP: '127.43.200.7' }));
    assert.equal(ipToNum(again.spec.clusterIP), ipToNum('127.43.200.7'));
  } finally {
    env.close();
  }
});

test('node ports are allocated in 30000-32767, honoured when free, and conflicts are rejected', async () => {
  const env = startEnv({ disable: ['node'] });
  try {
    const a = await env.registry.create('services', 'default', svc('a', { type: 'NodePort', ports: [{ name: 'x', port: 80 }, { name: 'y', port: 81 }] }));
    const ports = a.spec.ports.map((p: { nodePort: number }) => p.nodePort);
    for (const p of ports) assert.ok(p >= 30000 && p <= 32767, String(p));
    assert.notEqual(ports[0], ports[1]);
    const b = await env.registry.create('services', 'default', svc('b', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }));
    assert.equal(b.spec.ports[0].nodePort, 30080);
    await rejects(env.registry.create('services', 'default', svc('c', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] })), 'spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated');
    // Updating b without its nodePort keeps it.
    const cur = env.registry.getSync('services', 'default', 'b');
    const upd = await env.registry.update('services', 'default', { ...cur, spec: { ...cur.spec, ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }] } });
    assert.equal(upd.spec.ports[0].nodePort, 30080);
    // Back to ClusterIP: node ports are dropped.
    const back = await env.registry.update('services', 'default', { ...upd, spec: { ...upd.spec, type: 'ClusterIP' } });
    assert.equal(back.spec.ports[0].nodePort, undefined);
  } finally {
    env.close();
  }
});

test('LoadBalancer services get node ports and an ingress address', async () => {
  const env = startEnv({ disable: ['node'] });
  try {
    const lb = await env.registry.create('services', 'default', svc('gw', { type: 'LoadBalancer' }));
    assert.ok(lb.spec.ports[0].nodePort >= 30000);
    await waitFor('ingress', () => env.registry.getSync('services', 'default', 'gw').status?.loadBalancer?.ingress?.[0]?.ip === '127.0.0.1');
    assert.deepEqual(env.registry.getSync('services', 'default', 'gw').status.loadBalancer.ingress, [{ ip: '127.0.0.1', ipMode: 'VIP' }]);
  } finally {
    env.close();
  }
});
