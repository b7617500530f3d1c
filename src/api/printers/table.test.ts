import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../types.ts';
import { printerFor, toTable } from './index.ts';

const NOW = Date.parse('2025-01-01T00:00:06Z');
const pod: KObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web-1', namespace: 'user11', uid: 'u-1', resourceVersion: '1019', creationTimestamp: '2025-01-01T00:00:00Z',
    labels: { app: 'web' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc', uid: 'u-0', controller: true }],
    managedFields: [{ manager: 'kubectl' }],
  },
  spec: { nodeName: 'node1', containers: [{ name: 'app', image: 'nginx' }] },
  status: { phase: 'Running', podIPs: [{ ip: '10.244.0.11' }], containerStatuses: [{ name: 'app', ready: true, restartCount: 0, state: { running: {} } }] },
};

test('toTable() builds a meta.k8s.io/v1 Table with columnDefinitions, cells and PartialObjectMetadata rows', () => {
  const t = toTable(printerFor('pods'), [pod], { now: NOW, resourceVersion: '1020' }) as {
    kind: string; apiVersion: string; metadata: { resourceVersion: string };
    columnDefinitions: Array<{ name: string; priority: number }>;
    rows: Array<{ cells: unknown[]; object: { kind: string; apiVersion: string; metadata: Record<string, unknown> } }>;
  };
  assert.equal(t.kind, 'Table');
  assert.equal(t.apiVersion, 'meta.k8s.io/v1');
  assert.deepEqual(t.metadata, { resourceVersion: '1020' });
  assert.equal(t.columnDefinitions.length, 9);
  assert.deepEqual(t.rows[0].cells, ['web-1', '1/1', 'Running', '0', '6s', '10.244.0.11', 'node1', '<none>', '<none>']);
  assert.equal(t.rows[0].object.kind, 'PartialObjectMetadata');
  assert.equal(t.rows[0].object.apiVersion, 'meta.k8s.io/v1');
  assert.equal(t.rows[0].object.metadata.namespace, 'user11');
  assert.deepEqual(t.rows[0].object.metadata.labels, { app: 'web' });
  assert.equal(t.rows[0].object.metadata.managedFields, undefined);
  assert.equal((t.rows[0].object.metadata.ownerReferences as unknown[]).length, 1);
});

test('toTable() omits the row object for None, embeds it for Object, and drops columns when asked', () => {
  const none = toTable(printerFor('pods'), [pod], { now: NOW, resourceVersion: '1', includeObject: 'None', withColumns: false }) as { columnDefinitions: unknown[]; rows: Array<Record<string, unknown>> };
  assert.equal('object' in none.rows[0], false);
  assert.deepEqual(none.columnDefinitions, []);
  const full = toTable(printerFor('pods'), [pod], { now: NOW, resourceVersion: '1', includeObject: 'Object' }) as { rows: Array<{ object: KObject }> };
  assert.equal(full.rows[0].object, pod);
});

test('toTable() marks succeeded pods with a Completed row condition and returns empty rows for no objects', () => {
  const done: KObject = { ...pod, status: { phase: 'Succeeded' } };
  const t = toTable(printerFor('pods'), [done], { now: NOW, resourceVersion: '1' }) as { rows: Array<{ conditions?: Array<{ type: string; reason: string }> }> };
  assert.deepEqual(t.rows[0].conditions?.map((c) => [c.type, c.reason]), [['Completed', 'Succeeded']]);
  const empty = toTable(printerFor('services'), [], { now: NOW, resourceVersion: '7' }) as { rows: unknown[] };
  assert.deepEqual(empty.rows, []);
});
