import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeapBound, oldSpaceUsed } from './heap.ts';

const MB = 1024 * 1024;

/** A bound over a simulated old space: `gc()` leaves `live` bytes. */
function rig(o: { live: number; slack?: number; every?: number }) {
  const st = { used: o.live, live: o.live, gcs: 0 };
  const bound = new HeapBound({
    gc: () => {
      st.gcs++;
      st.used = st.live;
    },
    oldSpaceUsed: () => st.used,
    slack: o.slack ?? 2 * MB,
    every: o.every ?? 10,
  });
  const requests = (n: number, promotedEach = 0): void => {
    for (let i = 0; i < n; i++) {
      st.used += promotedEach;
      bound.requestDone();
    }
  };
  return { st, bound, requests };
}

test('collects once old space grew by the slack past what the last collection left, and only then', () => {
  const { st, requests } = rig({ live: 6 * MB });
  requests(10); // the first look sets the bound at 6 + 2 MB
  requests(1000, 1024); // +1 MB: below the bound
  assert.equal(st.gcs, 0);
  requests(1100, 1024); // past 8 MB
  assert.equal(st.gcs, 1);
  assert.ok(st.used < 6.1 * MB, 'collected back to the live set');
  requests(1000, 1024);
  assert.equal(st.gcs, 1, 'the bound is 2 MB above what the collection left');
  requests(2000, 1024);
  assert.equal(st.gcs, 2);
});

test('looks at the heap only every `every` requests, and never while idle', () => {
  let looks = 0;
  const bound = new HeapBound({ gc: () => assert.fail('no growth, no collection'), oldSpaceUsed: () => (looks++, MB), every: 100 });
  for (let i = 0; i < 99; i++) bound.requestDone();
  assert.equal(looks, 0);
  bound.requestDone();
  assert.equal(looks, 1);
  for (let i = 0; i < 300; i++) bound.requestDone();
  assert.equal(looks, 4);
});

test('follows V8 down when V8 collected on its own, so growth from there counts', () => {
  const { st, requests } = rig({ live: 6 * MB });
  requests(10); // bound 8 MB
  st.used = 7.5 * MB;
  requests(10);
  st.used = 4 * MB; // V8's own full GC: the live set shrank
  st.live = 4 * MB;
  requests(10); // bound 6 MB now
  st.used = 6.5 * MB;
  requests(10);
  assert.equal(st.gcs, 1);
});

test('a live set that grows (a bigger config) moves the bound up with it instead of collecting again and again', () => {
  const { st, requests } = rig({ live: 6 * MB });
  requests(10);
  st.live = 9 * MB;
  st.used = 9 * MB;
  requests(10);
  assert.equal(st.gcs, 1);
  requests(100);
  assert.equal(st.gcs, 1, 'now 2 MB above the 9 MB that live objects hold');
});

test('oldSpaceUsed() reads this process’s old space', () => {
  assert.ok(oldSpaceUsed() > 0);
});
