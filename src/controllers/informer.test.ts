import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Registry } from '../api/registry.ts';
import type { Client, WatchEvent } from '../api/types.ts';
import { Store } from '../store/index.ts';
import { Informer } from './informer.ts';
import { waitFor } from './env.test-helper.ts';

test('an informer relists after a watch ERROR and reports what changed meanwhile', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-'));
  const store = new Store(path.join(dir, 'db.sqlite'));
  const registry = new Registry(store);
  registry.createSync('namespaces', undefined, { metadata: { name: 'default' } });
  // The registry's own watch, except that the test can cut it with a 410 as a server would.
  let cut: (() => void) | undefined;
  let stopped = false;
  const client: Client = {
    get: (r, n, name) => registry.get(r, n, name),
    list: (r, n, o) => registry.list(r, n, o),
    create: (r, n, o) => registry.create(r, n, o),
    update: (r, n, o) => registry.update(r, n, o),
    updateStatus: (r, n, o) => registry.updateStatus(r, n, o),
    patch: (r, n, name, t, p) => registry.patch(r, n, name, t, p),
    delete: (r, n, name, o) => registry.delete(r, n, name, o),
    watch(res: string, ns: string | undefined, opts: object, h: (ev: WatchEvent) => void) {
      const w = registry.watch(res, ns, opts, (ev) => !stopped && h(ev));
      cut = () => {
        stopped = true;
        h({ type: 'ERROR', object: { metadata: {}, code: 410, reason: 'Expired' } });
      };
      return w;
    },
  };
  const inf = new Informer(client, 'configmaps');
  const seen: string[] = [];
  inf.onChange((t, o) => seen.push(`${t} ${o.metadata.name}`));
  try {
    registry.createSync('configmaps', 'default', { metadata: { name: 'a' } });
    registry.createSync('configmaps', 'default', { metadata: { name: 'b' } });
    inf.start();
    await inf.whenSynced();
    assert.deepEqual(seen.sort(), ['ADDED a', 'ADDED b']);
    cut!();
    // Missed while the watch was down.
    registry.deleteSync('configmaps', 'default', 'a');
    registry.createSync('configmaps', 'default', { metadata: { name: 'c' } });
    stopped = false;
    await waitFor('relist', () => seen.includes('DELETED a') && seen.includes('ADDED c'));
    assert.deepEqual(inf.list('default').map((o) => o.metadata.name).sort(), ['b', 'c']);
    registry.createSync('configmaps', 'default', { metadata: { name: 'd' } });
    await waitFor('watching again', () => seen.includes('ADDED d'));
  } finally {
    inf.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
