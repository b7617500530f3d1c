import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyMergePatch, PatchError } from './index.ts';
import { mergeValue } from './merge-patch.ts';
import { cloneJson } from './json.ts';
import { liveDeployment } from './testdata.ts';

function rejects(fn: () => unknown, status: number): void {
  assert.throws(fn, (err: unknown) => err instanceof PatchError && err.code === 'SKIFF_ERR_PATCH' && err.status === status);
}

// RFC 7386 Appendix A, all fifteen cases.
const RFC7386: Array<[unknown, unknown, unknown]> = [
  [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
  [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  [{ a: 'b' }, { a: null }, {}],
  [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
  [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  [['a', 'b'], ['c', 'd'], ['c', 'd']],
  [{ a: 'b' }, ['c'], ['c']],
  [{ a: 'foo' }, null, null],
  [{ a: 'foo' }, 'bar', 'bar'],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: 'b', c: null }, { a: 'b' }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

test('mergeValue() reproduces every RFC 7386 Appendix A example', () => {
  for (const [target, patch, want] of RFC7386) {
    assert.deepEqual(mergeValue(cloneJson(target, 'document'), cloneJson(patch, 'patch')), want, JSON.stringify([target, patch]));
  }
});

test('applyMergePatch() matches RFC 7386 for every object patch and leaves the input alone', () => {
  for (const [target, patch, want] of RFC7386) {
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) continue;
    const before = JSON.stringify(target);
    assert.deepEqual(applyMergePatch(target, patch), want);
    assert.equal(JSON.stringify(target), before);
  }
});

test('applyMergePatch() rejects a non-object patch with 400, as kube-apiserver does', () => {
  rejects(() => applyMergePatch({ a: 1 }, ['c']), 400);
  rejects(() => applyMergePatch({ a: 1 }, null), 400);
  rejects(() => applyMergePatch({ a: 1 }, 'bar'), 400);
});

test('applyMergePatch() adds and removes a namespace label as kubectl label sends it', () => {
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'user11', labels: { 'kubernetes.io/metadata.name': 'user11' } } };
  const on = applyMergePatch(ns, { metadata: { labels: { 'istio-injection': 'enabled' } } }) as any;
  assert.deepEqual(on.metadata.labels, { 'kubernetes.io/metadata.name': 'user11', 'istio-injection': 'enabled' });
  const off = applyMergePatch(on, { metadata: { labels: { 'istio-injection': null } } }) as any;
  assert.deepEqual(off.metadata.labels, { 'kubernetes.io/metadata.name': 'user11' });
});

test('applyMergePatch() scales and replaces lists wholesale', () => {
  const out = applyMergePatch(liveDeployment(), { spec: { replicas: 3, template: { spec: { containers: [{ name: 'x', image: 'x' }] } } } }) as any;
  assert.equal(out.spec.replicas, 3);
  assert.deepEqual(out.spec.template.spec.containers, [{ name: 'x', image: 'x' }]);
  assert.equal(out.spec.template.spec.dnsPolicy, 'ClusterFirst');
});

test('applyMergePatch() keeps __proto__ as plain data', () => {
  const out = applyMergePatch({}, JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}')) as object;
  assert.equal(({} as any).polluted, undefined);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.equal(JSON.stringify(out), '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}');
});
