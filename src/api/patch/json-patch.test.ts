import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyJsonPatch, PatchError } from './index.ts';
import { liveDeployment } from './testdata.ts';

function rejects(fn: () => unknown, status: number): void {
  assert.throws(fn, (err: unknown) => err instanceof PatchError && err.code === 'SKIFF_ERR_PATCH' && err.status === status);
}

// RFC 6902 Appendix A (A.13, duplicate "op" members, cannot be expressed once the body is parsed).
const RFC6902: Array<[string, unknown, unknown[], unknown]> = [
  ['A.1 adding an object member', { foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux' }], { baz: 'qux', foo: 'bar' }],
  ['A.2 adding an array element', { foo: ['bar', 'baz'] }, [{ op: 'add', path: '/foo/1', value: 'qux' }], { foo: ['bar', 'qux', 'baz'] }],
  ['A.3 removing an object member', { baz: 'qux', foo: 'bar' }, [{ op: 'remove', path: '/baz' }], { foo: 'bar' }],
  ['A.4 removing an array element', { foo: ['bar', 'qux', 'baz'] }, [{ op: 'remove', path: '/foo/1' }], { foo: ['bar', 'baz'] }],
  ['A.5 replacing a value', { baz: 'qux', foo: 'bar' }, [{ op: 'replace', path: '/baz', value: 'boo' }], { baz: 'boo', foo: 'bar' }],
  ['A.6 moving a value', { foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } }, [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }], { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } }],
  ['A.7 moving an array element', { foo: ['all', 'grass', 'cows', 'eat'] }, [{ op: 'move', from: '/foo/1', path: '/foo/3' }], { foo: ['all', 'cows', 'eat', 'grass'] }],
  ['A.8 testing a value: success', { baz: 'qux', foo: ['a', 2, 'c'] }, [{ op: 'test', path: '/baz', value: 'qux' }, { op: 'test', path: '/foo/1', value: 2 }], { baz: 'qux', foo: ['a', 2, 'c'] }],
  ['A.10 adding a nested member object', { foo: 'bar' }, [{ op: 'add', path: '/child', value: { grandchild: {} } }], { foo: 'bar', child: { grandchild: {} } }],
  ['A.11 ignoring unrecognized elements', { foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux', xyz: 123 }], { foo: 'bar', baz: 'qux' }],
  ['A.14 ~ escape ordering', { '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: 10 }], { '/': 9, '~1': 10 }],
  ['A.16 adding an array value', { foo: ['bar'] }, [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }], { foo: ['bar', ['abc', 'def']] }],
];

for (const [name, doc, ops, want] of RFC6902) {
  test(`applyJsonPatch() follows RFC 6902 ${name}`, () => {
    const before = JSON.stringify(doc);
    assert.deepEqual(applyJsonPatch(doc, ops), want);
    assert.equal(JSON.stringify(doc), before, 'input is unmodified');
  });
}

test('applyJsonPatch() fails RFC 6902 A.9, A.12 and A.15 with 422', () => {
  rejects(() => applyJsonPatch({ baz: 'qux' }, [{ op: 'test', path: '/baz', value: 'bar' }]), 422);
  rejects(() => applyJsonPatch({ foo: 'bar' }, [{ op: 'add', path: '/baz/bat', value: 'qux' }]), 422);
  rejects(() => applyJsonPatch({ '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: '10' }]), 422);
});

test('applyJsonPatch() reports a missing path in the words of kube-apiserver', () => {
  assert.throws(
    () => applyJsonPatch(liveDeployment(), [{ op: 'remove', path: '/spec/template/spec/nodeSelector' }]),
    { message: 'remove operation does not apply: doc is missing path: "/spec/template/spec/nodeSelector": missing value' },
  );
  assert.throws(() => applyJsonPatch({}, [{ op: 'frob', path: '/a' }]), { message: 'Unexpected kind: frob' });
});

test('applyJsonPatch() applies the rollout undo style replace of a whole template', () => {
  const live = liveDeployment();
  const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.24' }] } };
  const out = applyJsonPatch(live, [
    { op: 'replace', path: '/spec/template', value: template },
    { op: 'replace', path: '/metadata/annotations', value: { 'deployment.kubernetes.io/revision': '3' } },
  ]) as any;
  assert.deepEqual(out.spec.template, template);
  assert.deepEqual(out.metadata.annotations, { 'deployment.kubernetes.io/revision': '3' });
  assert.deepEqual(live, liveDeployment());
});

test('applyJsonPatch() handles root paths, copy, escapes and appends', () => {
  assert.deepEqual(applyJsonPatch({ a: 1 }, [{ op: 'replace', path: '', value: [1] }]), [1]);
  assert.deepEqual(applyJsonPatch({ a: 1 }, [{ op: 'add', path: '', value: { b: 2 } }]), { b: 2 });
  const copied = applyJsonPatch({ a: { x: [1] } }, [{ op: 'copy', from: '/a', path: '/b' }, { op: 'add', path: '/b/x/-', value: 2 }]);
  assert.deepEqual(copied, { a: { x: [1] }, b: { x: [1, 2] } }, 'copy does not alias its source');
  assert.deepEqual(applyJsonPatch({ 'a/b': 1, 'm~n': 2 }, [{ op: 'remove', path: '/a~1b' }, { op: 'replace', path: '/m~0n', value: 3 }]), { 'm~n': 3 });
  assert.deepEqual(applyJsonPatch({ a: [] }, [{ op: 'add', path: '/a/0', value: 'x' }, { op: 'add', path: '/a/1', value: 'y' }]), { a: ['x', 'y'] });
  assert.deepEqual(applyJsonPatch({ a: { b: 1 } }, [{ op: 'move', from: '/a', path: '/a' }]), { a: { b: 1 } });
  assert.deepEqual(applyJsonPatch({ a: 1 }, [{ op: 'add', path: '/b', value: null }]), { a: 1, b: null });
});

test('applyJsonPatch() rejects bad bodies with 400 and bad operations with 422', () => {
  rejects(() => applyJsonPatch({}, { op: 'add', path: '/a', value: 1 }), 400);
  rejects(() => applyJsonPatch({}, null), 400);
  rejects(() => applyJsonPatch({}, ['add']), 400);
  rejects(() => applyJsonPatch({}, [{ op: 'add', value: 1 }]), 422);
  rejects(() => applyJsonPatch({}, [{ op: 'add', path: '/a' }]), 422);
  rejects(() => applyJsonPatch({}, [{ op: 'add', path: 'a', value: 1 }]), 422);
  rejects(() => applyJsonPatch({ a: [1] }, [{ op: 'add', path: '/a/01', value: 1 }]), 422);
  rejects(() => applyJsonPatch({ a: [1] }, [{ op: 'add', path: '/a/5', value: 1 }]), 422);
  rejects(() => applyJsonPatch({ a: [1] }, [{ op: 'remove', path: '/a/-' }]), 422);
  rejects(() => applyJsonPatch({ a: 1 }, [{ op: 'replace', path: '/b', value: 1 }]), 422);
  rejects(() => applyJsonPatch({ a: { b: 1 } }, [{ op: 'move', from: '/a', path: '/a/b/c' }]), 422);
  rejects(() => applyJsonPatch({ a: 1 }, [{ op: 'test', path: '/a~2', value: 1 }]), 422);
  rejects(() => applyJsonPatch({ a: 1 }, [{ op: 'remove', path: '' }]), 422);
  rejects(() => applyJsonPatch({}, new Array(10001).fill({ op: 'test', path: '', value: {} })), 413);
});

test('applyJsonPatch() never reads inherited properties or pollutes prototypes', () => {
  rejects(() => applyJsonPatch({}, [{ op: 'replace', path: '/constructor', value: 1 }]), 422);
  rejects(() => applyJsonPatch({}, [{ op: 'add', path: '/__proto__/polluted', value: 1 }]), 422);
  const out = applyJsonPatch({}, [{ op: 'add', path: '/__proto__', value: { polluted: 1 } }]) as object;
  assert.equal(({} as any).polluted, undefined);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.equal(JSON.stringify(out), '{"__proto__":{"polluted":1}}');
});

test('applyJsonPatch() refuses documents nested deeper than the limit with 400', () => {
  let deep: unknown = 1;
  for (let i = 0; i < 5000; i++) deep = [deep];
  rejects(() => applyJsonPatch({}, [{ op: 'add', path: '/a', value: deep }]), 400);
});
