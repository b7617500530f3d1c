import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newRequestId, randomHex } from './ids.ts';

test('newRequestId() gives UUID v4s, all different, across refills of its batch', () => {
  const seen = new Set<string>();
  const nibbles = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const id = newRequestId();
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    seen.add(id);
    nibbles.add(id[0]);
  }
  assert.equal(seen.size, 1000);
  assert.equal(nibbles.size, 16);
});

test('randomHex() gives trace and span ids of the asked length, all different, across refills', () => {
  const seen = new Set<string>();
  // Mixed sizes, as requests take a trace id and a span id: offsets into a batch do not stay aligned.
  for (let i = 0; i < 1000; i++) {
    const trace = randomHex(16);
    const span = randomHex(8);
    assert.match(trace, /^[0-9a-f]{32}$/);
    assert.match(span, /^[0-9a-f]{16}$/);
    seen.add(trace).add(span);
  }
  assert.equal(seen.size, 2000);
});
