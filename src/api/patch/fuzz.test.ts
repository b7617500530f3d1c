import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PatchError } from './index.ts';
import { liveDeployment } from './testdata.ts';
import { seededRandom } from '../../seeded.test-helper.ts';

const RUNS = 5000;


const KEYS = [
  'spec', 'template', 'metadata', 'labels', 'annotations', 'containers', 'env', 'ports', 'name', 'image', 'volumes',
  'volumeMounts', 'mountPath', 'containerPort', 'finalizers', 'strategy', 'rollingUpdate', 'type', 'replicas', 'status',
  'conditions', 'ownerReferences', 'uid', 'tolerations', 'emptyDir', 'configMap', 'a', '', '-', '0',
  '$patch', '$retainKeys', '$setElementOrder/containers', '$setElementOrder/env', '$setElementOrder/finalizers',
  '$setElementOrder/', '$deleteFromPrimitiveList/finalizers', '$deleteFromPrimitiveList/containers', '$deleteFromPrimitiveList/',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty',
];
const STRINGS = ['web', 'A', 'B', 'C', 'replace', 'delete', 'merge', 'bogus', 'Recreate', '', '/a', 'example.com/a', '__proto__', 'name', 'containerPort'];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

function randomValue(r: () => number, depth: number): unknown {
  const x = r();
  if (depth <= 0 || x < 0.35) {
    const y = r();
    if (y < 0.2) return null;
    if (y < 0.35) return r() < 0.5;
    if (y < 0.55) return pick(r, [0, 1, 80, 8080, -1, 1.5, 1e21]);
    return pick(r, STRINGS);
  }
  if (x < 0.65) {
    const out: unknown[] = [];
    const n = Math.floor(r() * 4);
    for (let i = 0; i < n; i++) out.push(randomValue(r, depth - 1));
    return out;
  }
  const out: Record<string, unknown> = {};
  const n = Math.floor(r() * 5);
  for (let i = 0; i < n; i++) {
    // JSON.parse semantics: keys such as __proto__ become own data properties.
    Object.defineProperty(out, pick(r, KEYS), { value: randomValue(r, depth - 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Replaces, deletes or inserts at a random spot of a JSON value (returns a new value). */
function mutate(r: () => number, v: unknown, depth = 0): unknown {
  if (depth > 0 && r() < 0.15) return randomValue(r, 3);
  if (Array.isArray(v)) {
    const out = v.map((x) => (r() < 0.5 ? mutate(r, x, depth + 1) : x));
    if (r() < 0.2) out.push(randomValue(r, 2));
    if (r() < 0.1) out.splice(Math.floor(r() * out.length), 1);
    return out;
  }
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (r() < 0.05) continue;
      Object.defineProperty(out, k, { value: r() < 0.5 ? mutate(r, x, depth + 1) : x, enumerable: true, writable: true, configurable: true });
    }
    if (r() < 0.25) Object.defineProperty(out, pick(r, KEYS), { value: randomValue(r, 2), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return r() < 0.3 ? randomValue(r, 1) : v;
}

const SEED_PATCHES: unknown[] = [
  { spec: { replicas: 3 } },
  { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-11-25T21:21:25Z' } } } } },
  { metadata: { labels: { 'istio-injection': null } } },
  { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: null, type: 'Recreate' } } },
  {
    spec: {
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'web' }, { name: 'sidecar' }],
          containers: [
            { name: 'web', '$setElementOrder/env': [{ name: 'C' }, { name: 'B' }], env: [{ name: 'C', value: '3' }, { $patch: 'delete', name: 'A' }], ports: [{ containerPort: 8080 }, { $patch: 'delete', containerPort: 80 }] },
            { name: 'sidecar', image: 'busybox' },
          ],
          '$setElementOrder/volumes': [{ name: 'a' }],
          volumes: [{ $retainKeys: ['configMap', 'name'], configMap: { name: 'cfg' }, emptyDir: null, name: 'a' }, { $patch: 'delete', name: 'b' }],
        },
      },
    },
  },
  { metadata: { '$deleteFromPrimitiveList/finalizers': ['example.com/a'], finalizers: ['example.com/c'] } },
];

/** Every JSON pointer into the live Deployment, to aim JSON patch operations at real paths. */
function pointers(v: unknown, base = ''): string[] {
  const out = [base];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...pointers(x, `${base}/${i}`)));
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) out.push(...pointers(x, `${base}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`));
  }
  return out;
}

function randomJsonPatch(r: () => number, paths: string[]): unknown {
  if (r() < 0.05) return randomValue(r, 3);
  const ops: unknown[] = [];
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const path = () => {
      const p = pick(r, paths);
      const y = r();
      if (y < 0.1) return `${p}/-`;
      if (y < 0.2) return `${p}/${pick(r, KEYS)}`;
      if (y < 0.25) return pick(r, ['', 'nope', '/~2', '/a~', 5, null]);
      return p;
    };
    const op: Record<string, unknown> = { op: pick(r, ['add', 'remove', 'replace', 'move', 'copy', 'test', 'bogus', 7]), path: path() };
    if (r() < 0.8) op.value = randomValue(r, 3);
    if (r() < 0.5) op.from = path();
    if (r() < 0.05) delete op.path;
    ops.push(r() < 0.03 ? randomValue(r, 1) : op);
  }
  return ops;
}

/** Asserts the value holds only JSON data (no symbols, undefined or functions leaked from internals). */
function assertJson(v: unknown): void {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') return assert.ok(Number.isFinite(v));
  if (Array.isArray(v)) return v.forEach(assertJson);
  assert.equal(typeof v, 'object', `unexpected ${typeof v} in result`);
  for (const k of Object.keys(v as object)) assertJson((v as Record<string, unknown>)[k]);
}

function fuzz(kind: string, seed: number, make: (r: () => number) => unknown, apply: (doc: unknown, patch: unknown) => unknown): void {
  const r = seededRandom(seed);
  let applied = 0;
  for (let i = 0; i < RUNS; i++) {
    const doc = liveDeployment();
    const patch = make(r);
    const docBefore = JSON.stringify(doc);
    const patchBefore = JSON.stringify(patch);
    try {
      assertJson(apply(doc, patch));
      applied++;
    } catch (err) {
      if (!(err instanceof PatchError)) {
        assert.fail(`${kind} run ${i} threw ${String(err)} for patch ${patchBefore}`);
      }
      assert.equal(err.code, 'SKIFF_ERR_PATCH');
      assert.ok([400, 413, 422].includes(err.status), `status ${err.status}`);
    }
    assert.equal(JSON.stringify(doc), docBefore, `${kind} run ${i} modified the document`);
    assert.equal(JSON.stringify(patch), patchBefore, `${kind} run ${i} modified the patch`);
  }
  assert.deepEqual(Object.keys(Object.prototype), [], 'Object.prototype was not polluted');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  // The generators must exercise both outcomes, or the test proves nothing.
  assert.ok(applied > RUNS / 20 && applied < RUNS, `${kind}: ${applied} of ${RUNS} applied`);
}

test('applyJsonPatch() returns a value or throws PatchError for 5,000 random patches, leaving inputs alone', () => {
  const paths = pointers(liveDeployment());
  fuzz('json', 1, (r) => randomJsonPatch(r, paths), applyJsonPatch);
});

test('applyMergePatch() returns a value or throws PatchError for 5,000 random patches, leaving inputs alone', () => {
  fuzz('merge', 2, (r) => (r() < 0.3 ? randomValue(r, 5) : mutate(r, pick(r, SEED_PATCHES))), applyMergePatch);
});

test('applyStrategicMergePatch() returns a value or throws PatchError for 5,000 random patches, leaving inputs alone', () => {
  fuzz('strategic', 3, (r) => (r() < 0.3 ? randomValue(r, 5) : mutate(r, pick(r, SEED_PATCHES))), (d, p) => applyStrategicMergePatch(d, p, 'deployments.apps'));
});
