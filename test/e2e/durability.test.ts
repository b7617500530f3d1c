import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSkiff, eventually } from './harness.ts';
import { rawClient } from './api.ts';

test('every write acknowledged with a 2xx survives kill -9, and resourceVersions keep increasing', async () => {
  const first = await startSkiff();
  const dataDir = first.dataDir;
  const api = rawClient(dataDir, first.apiPort);
  const acked = new Map<string, number>();
  let stop = false;
  let errors = 0;
  const writer = async (w: number): Promise<void> => {
    for (let i = 0; !stop; i++) {
      const name = `w${w}-${i}`;
      try {
        const r = await api.send('POST', '/api/v1/namespaces/default/configmaps', JSON.stringify({ metadata: { name }, data: { i: String(i) } }));
        if (r.status === 201) acked.set(name, Number((JSON.parse(r.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion));
      } catch {
        errors++; // The kill cuts requests in flight; those were never acknowledged.
        return;
      }
    }
  };
  const writers = Array.from({ length: 8 }, (_, w) => writer(w));
  await eventually(() => acked.size >= 400, 30_000, 20);
  first.proc.kill('SIGKILL');
  stop = true;
  await Promise.all(writers);
  await first.stop();
  api.close();
  assert.ok(acked.size >= 400, `only ${acked.size} writes were acknowledged before the kill`);

  const second = await startSkiff({ dataDir });
  try {
    const api2 = rawClient(dataDir, second.apiPort);
    const list = await api2.send('GET', '/api/v1/namespaces/default/configmaps');
    const items = (JSON.parse(list.body) as { items: Array<{ metadata: { name: string; resourceVersion: string } }> }).items;
    const present = new Map(items.map((i) => [i.metadata.name, Number(i.metadata.resourceVersion)]));
    const lost = [...acked.keys()].filter((n) => !present.has(n));
    assert.deepEqual(lost, [], `${lost.length} acknowledged writes were lost`);
    for (const [name, rv] of acked) assert.equal(present.get(name), rv, `${name} kept its resourceVersion`);
    const maxAcked = Math.max(...acked.values());
    const after = await api2.send('POST', '/api/v1/namespaces/default/configmaps', JSON.stringify({ metadata: { name: 'after-restart' } }));
    assert.equal(after.status, 201);
    assert.ok(Number((JSON.parse(after.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion) > maxAcked);
    api2.close();
  } finally {
    await second.stop();
    second.cleanup();
  }
});

test('a second skiff up on a data dir in use refuses with a clear message', async () => {
  const first = await startSkiff();
  try {
    await assert.rejects(startSkiff({ dataDir: first.dataDir }), /is in use by another skiff \(pid \d+\)/);
    const r = await first.kubectl(['get', 'ns', 'default', '-o', 'name']);
    assert.equal(r.stdout.trim(), 'namespace/default');
  } finally {
    await first.stop();
  }
  // After a clean stop, the same data dir starts again with everything kept.
  const again = await startSkiff({ dataDir: first.dataDir });
  try {
    const r = await again.kubectl(['get', 'crd', 'virtualservices.networking.istio.io', '-o', 'name']);
    assert.equal(r.stdout.trim(), 'customresourcedefinition.apiextensions.k8s.io/virtualservices.networking.istio.io');
  } finally {
    assert.equal(await again.stop(), 0);
    again.cleanup();
  }
});
