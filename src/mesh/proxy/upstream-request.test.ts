import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CompiledDest } from './compiled.ts';
import { tailOf } from './upstream-request.ts';

const pairs = (operation: string | undefined, peer: string | undefined): string[] => {
  const h = ['host', 'svc'];
  if (operation) h.push('x-envoy-decorator-operation', operation);
  if (peer !== undefined) h.push('x-skiff-peer', peer);
  h.push('x-envoy-attempt-count', '1');
  return h;
};

test('tailOf renders the last pairs once per destination, and again when the operation or the peer differs', () => {
  const d = { name: 'd', cum: 1 } as CompiledDest;
  const first = tailOf(d, 'op-1', 'peer-1', pairs('op-1', 'peer-1'), 2);
  assert.equal(first, '\r\nx-envoy-decorator-operation: op-1\r\nx-skiff-peer: peer-1\r\nx-envoy-attempt-count: 1');
  // Same inputs: the rendered text is reused, not built from the pairs again.
  assert.equal(tailOf(d, 'op-1', 'peer-1', ['host', 'svc', 'x', 'y'], 2), first);
  assert.equal(tailOf(d, 'op-2', 'peer-1', pairs('op-2', 'peer-1'), 2), '\r\nx-envoy-decorator-operation: op-2\r\nx-skiff-peer: peer-1\r\nx-envoy-attempt-count: 1');
  assert.equal(tailOf(d, 'op-2', 'peer-2', pairs('op-2', 'peer-2'), 2), '\r\nx-envoy-decorator-operation: op-2\r\nx-skiff-peer: peer-2\r\nx-envoy-attempt-count: 1');
  assert.equal(tailOf(d, undefined, undefined, pairs(undefined, undefined), 2), '\r\nx-envoy-attempt-count: 1');
});
