import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, StoreError, type StoreEvent } from './index.ts';

function withStore(fn: (dir: string) => void, opts = {}): void {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-store-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  void opts;
}

const json = (name: string) => (rv: number) => JSON.stringify({ metadata: { name, resourceVersion: String(rv) } });

test('put() numbers every write with the next global revision', () => {
  withStore((dir) => {
    const s = new Store(join(dir, 'db'));
    const a = s.put('pods', 'ns', 'a', 'absent', json('a'));
    const b = s.put('pods', 'ns', 'b', 'absent', json('b'));
    const a2 = s.put('pods', 'ns', 'a', a.rv, json('a'));
    assert.deepEqual([a.rv, b.rv, a2.rv], [1, 2, 3]);
    assert.equal(s.revision, 3);
    assert.equal(JSON.parse(s.get('pods', 'ns', 'a')!.json).metadata.resourceVersion, '3');
    s.close();
  });
});

test('put() refuses a create of an existing key and a stale compare-and-swap', () => {
  withStore((dir) => {
    const s = new Store(join(dir, 'db'));
    const a = s.put('pods', 'ns', 'a', 'absent', json('a'));
    assert.throws(() => s.put('pods', 'ns', 'a', 'absent', json('a')), (e: StoreError) => e.reason === 'AlreadyExists');
    s.put('pods', 'ns', 'a', a.rv, json('a'));
    assert.throws(() => s.put('pods', 'ns', 'a', a.rv, json('a')), (e: StoreError) => e.reason === 'Conflict');
    assert.throws(() => s.put('pods', 'ns', 'nosuch', 'present', json('x')), (e: StoreError) => e.reason === 'NotFound');
    assert.equal(s.revision, 2, 'failed writes take no revision');
    s.close();
  });
});

test('the revision keeps increasing across a restart even when the newest object was deleted', () => {
  withStore((dir) => {
    let s = new Store(join(dir, 'db'));
    s.put('cm', 'ns', 'a', 'absent', json('a'));
    s.put('cm', 'ns', 'b', 'absent', json('b'));
    s.remove('cm', 'ns', 'b', 'present', json('b'));
    s.close();
    s = new Store(join(dir, 'db'));
    assert.equal(s.revision, 3);
    assert.equal(s.list('cm').length, 1);
    assert.equal(s.put('cm', 'ns', 'c', 'absent', json('c')).rv, 4);
    s.close();
  });
});

test('since() replays events after a revision and answers undefined when it is too old', () => {
  withStore((dir) => {
    const s = new Store(join(dir, 'db'), { historySize: 5 });
    for (let i = 0; i < 10; i++) s.put('cm', 'ns', `c${i}`, 'absent', json(`c${i}`));
    assert.deepEqual(s.since(8)!.map((e) => e.rv), [9, 10]);
    assert.deepEqual(s.since(10), []);
    assert.equal(s.since(1), undefined);
    s.close();
    const again = new Store(join(dir, 'db'), { historySize: 5 });
    assert.equal(again.since(9), undefined, 'history is not kept across restarts: older watches relist');
    assert.deepEqual(again.since(10), []);
    again.close();
  });
});

test('subscribe() hears every committed change in order, and a failing listener harms nothing', () => {
  withStore((dir) => {
    const s = new Store(join(dir, 'db'));
    const seen: StoreEvent[] = [];
    s.subscribe(() => {
      throw new Error('listener bug');
    });
    const off = s.subscribe((e) => seen.push(e));
    const a = s.put('cm', 'ns', 'a', 'absent', json('a'));
    s.put('cm', 'ns', 'a', a.rv, json('a'));
    s.remove('cm', 'ns', 'a', 'present', json('a'));
    off();
    s.put('cm', 'ns', 'b', 'absent', json('b'));
    assert.deepEqual(seen.map((e) => `${e.type}@${e.rv}`), ['ADDED@1', 'MODIFIED@2', 'DELETED@3']);
    s.close();
  });
});

test('list() returns one resource, optionally in one namespace, sorted by namespace then name', () => {
  withStore((dir) => {
    const s = new Store(join(dir, 'db'));
    s.put('cm', 'b', 'x', 'absent', json('x'));
    s.put('cm', 'a', 'y', 'absent', json('y'));
    s.put('cm', 'a', 'x', 'absent', json('x'));
    s.put('pods', 'a', 'p', 'absent', json('p'));
    assert.deepEqual(s.list('cm').map((o) => o.key), ['cm/a/x', 'cm/a/y', 'cm/b/x']);
    assert.deepEqual(s.list('cm', 'a').map((o) => o.name), ['x', 'y']);
    assert.equal(s.count('cm'), 3);
    s.close();
    assert.throws(() => s.put('cm', 'a', 'z', 'absent', json('z')), (e: StoreError) => e.reason === 'Closed');
  });
});
