import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventCleaner, EventRecorder } from './events.ts';
import { items, startEnv } from './env.test-helper.ts';

test('EventRecorder writes core/v1 Events and aggregates repeats into a count', async () => {
  const env = startEnv({ disable: ['node', 'events'] });
  const rec = new EventRecorder(env.registry);
  try {
    const cm = await env.registry.create('configmaps', 'default', { metadata: { name: 'cfg' }, data: {} });
    rec.record(cm, 'Warning', 'Broken', 'it broke', 'test-controller');
    await rec.flush();
    rec.record(cm, 'Warning', 'Broken', 'it broke', 'test-controller');
    await rec.flush();
    rec.record(cm, 'Normal', 'Fixed', 'it works', 'test-controller');
    await rec.flush();
    const evs = items(env.registry, 'events');
    assert.equal(evs.length, 2);
    const broken = evs.find((e) => e.reason === 'Broken')!;
    assert.equal(broken.count, 2);
    assert.equal(broken.type, 'Warning');
    assert.match(broken.metadata.name ?? '', /^cfg\.[0-9a-f]{16}$/);
    assert.match(String(broken.firstTimestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(broken.eventTime, null);
    assert.equal(broken.reportingComponent, 'test-controller');
    assert.deepEqual(broken.involvedObject, { kind: 'ConfigMap', namespace: 'default', name: 'cfg', uid: cm.metadata.uid, apiVersion: 'v1', resourceVersion: cm.metadata.resourceVersion });
    // Failures are swallowed and counted.
    rec.record({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'x', namespace: 'missing-ns', uid: 'u' } }, 'Normal', 'R', 'm', 'c');
    await rec.flush();
    assert.equal(rec.dropped, 1);
  } finally {
    rec.close();
    env.close();
  }
});

test('EventCleaner deletes events older than the TTL', async () => {
  const env = startEnv({ disable: ['node', 'events'] });
  const cleaner = new EventCleaner(env.registry, { ttlMs: 60_000 });
  try {
    const old = new Date(Date.now() - 120_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    for (const [name, t] of [['old.1', old], ['new.1', now]]) {
      await env.registry.create('events', 'default', { metadata: { name }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' }, reason: 'R', message: 'm', type: 'Normal', firstTimestamp: t, lastTimestamp: t, count: 1 });
    }
    assert.equal(await cleaner.sweep(), 1);
    assert.deepEqual(items(env.registry, 'events').map((e) => e.metadata.name), ['new.1']);
  } finally {
    cleaner.close();
    env.close();
  }
});
