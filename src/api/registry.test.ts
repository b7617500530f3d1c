import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from './errors.ts';
import { podDeletion } from './registry.ts';
import { configMap, deployment, makeRegistry, widgetCrd } from './testing.test-helper.ts';
import type { KObject, WatchEvent } from './types.ts';

/** Runs fn and returns the ApiError it throws (failing when it throws nothing or something else). */
function apiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  assert.fail('expected an ApiError');
}

const crdKey = 'customresourcedefinitions.apiextensions.k8s.io';

test('`listSync()` pages with limit and continue until every object is returned exactly once', (t) => {
  const f = makeRegistry({ namespaces: ['default', 'other'] });
  t.after(() => f.close());
  for (let i = 0; i < 25; i++) f.reg.createSync('configmaps', i % 2 ? 'default' : 'other', configMap(`cm-${String(i).padStart(2, '0')}`));
  const seen: string[] = [];
  let cont: string | undefined;
  let pages = 0;
  do {
    const page = f.reg.listSync('configmaps', undefined, { limit: 4, continue: cont });
    assert.ok(page.items.length <= 4);
    seen.push(...page.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`));
    cont = page.metadata.continue;
    pages++;
  } while (cont);
  assert.equal(pages, 7);
  assert.equal(seen.length, 25);
  assert.equal(new Set(seen).size, 25);
  // The same through the JSON fast path the server uses.
  const all = JSON.parse(f.reg.listJson('configmaps', 'default', {})) as { kind: string; items: KObject[] };
  assert.equal(all.kind, 'ConfigMapList');
  assert.equal(all.items.length, 12);
});

test('`listSync()` pages a label-selected list without skipping or repeating matches', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  for (let i = 0; i < 25; i++) f.reg.createSync('configmaps', 'default', configMap(`cm-${String(i).padStart(2, '0')}`, { parity: i % 2 ? 'odd' : 'even' }));
  const seen: string[] = [];
  let cont: string | undefined;
  do {
    const page = f.reg.listSync('configmaps', 'default', { limit: 5, continue: cont, labelSelector: 'parity=odd' });
    seen.push(...page.items.map((o) => o.metadata.name ?? ''));
    cont = page.metadata.continue;
  } while (cont);
  assert.deepEqual(seen, Array.from({ length: 12 }, (_, i) => `cm-${String(2 * i + 1).padStart(2, '0')}`));
});

test('`listSync()` answers a continue token it did not make with 400 BadRequest', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  for (const bad of ['garbage!!', Buffer.from('{"x":1}').toString('base64url'), 'e30']) {
    const e = apiError(() => f.reg.listSync('configmaps', 'default', { limit: 1, continue: bad }));
    assert.equal(e.code, 400);
    assert.equal(e.reason, 'BadRequest');
  }
});

test('`listSync()` filters by label selector and field selector, and rejects a bad label selector with 400', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  f.reg.createSync('configmaps', 'default', configMap('a', { app: 'web', tier: 'front' }));
  f.reg.createSync('configmaps', 'default', configMap('b', { app: 'web' }));
  f.reg.createSync('configmaps', 'default', configMap('c', { app: 'db' }));
  const names = (o: { labelSelector?: string; fieldSelector?: string }): string[] => f.reg.listSync('configmaps', 'default', o).items.map((x) => x.metadata.name ?? '');
  assert.deepEqual(names({ labelSelector: 'app=web' }), ['a', 'b']);
  assert.deepEqual(names({ labelSelector: 'app==web,tier' }), ['a']);
  assert.deepEqual(names({ labelSelector: 'app!=web' }), ['c']);
  assert.deepEqual(names({ labelSelector: 'app in (db,cache)' }), ['c']);
  assert.deepEqual(names({ labelSelector: 'app notin (db)' }), ['a', 'b']);
  assert.deepEqual(names({ labelSelector: '!tier' }), ['b', 'c']);
  assert.deepEqual(names({ fieldSelector: 'metadata.name=b' }), ['b']);
  assert.deepEqual(names({ fieldSelector: 'metadata.name!=b,metadata.namespace=default' }), ['a', 'c']);
  assert.equal(apiError(() => f.reg.listSync('configmaps', 'default', { labelSelector: 'app in web' })).code, 400);
  assert.equal(apiError(() => f.reg.listSync('configmaps', 'default', { fieldSelector: 'metadata.name' })).code, 400);
});

test('`getSync()` of a missing object throws 404 NotFound with the kubectl message and details', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  const s = apiError(() => f.reg.getSync('pods', 'default', 'nosuch')).toStatus();
  assert.deepEqual(s, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'NotFound', code: 404, message: 'pods "nosuch" not found', details: { name: 'nosuch', group: undefined, kind: 'pods' } });
  const d = apiError(() => f.reg.getSync('deployments.apps', 'default', 'web')).toStatus();
  assert.equal(d.message, 'deployments.apps "web" not found');
  assert.deepEqual(d.details, { name: 'web', group: 'apps', kind: 'deployments' });
  assert.equal(apiError(() => f.reg.info('nosuchthings')).code, 404);
});

test('`createSync()` sets server metadata, and a second create of the name is 409 AlreadyExists', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  const body = deployment('web');
  body.metadata.uid = 'client-uid';
  body.metadata.resourceVersion = '999';
  body.metadata.creationTimestamp = null;
  body.status = { replicas: 9 };
  const d = f.reg.createSync('deployments.apps', 'default', body);
  assert.notEqual(d.metadata.uid, 'client-uid');
  assert.match(d.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
  assert.match(String(d.metadata.creationTimestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(d.metadata.resourceVersion, String(f.store.revision));
  assert.equal(d.metadata.generation, 1);
  assert.equal(d.metadata.namespace, 'default');
  assert.equal(d.status, undefined, 'status is not settable on create');
  assert.equal(body.metadata.uid, 'client-uid', 'the caller body is not changed unless owned');
  const e = apiError(() => f.reg.createSync('deployments.apps', 'default', deployment('web')));
  assert.equal(e.code, 409);
  assert.deepEqual(e.toStatus(), {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    reason: 'AlreadyExists',
    code: 409,
    message: 'deployments.apps "web" already exists',
    details: { name: 'web', group: 'apps', kind: 'deployments' },
  });
});

test('`createSync()` fills a generateName with 5 random characters and never clashes', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  const names = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const o = f.reg.createSync('configmaps', 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'web-' } });
    assert.match(o.metadata.name ?? '', /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.equal(o.metadata.generateName, 'web-');
    names.add(o.metadata.name ?? '');
  }
  assert.equal(names.size, 20);
});

test('`createSync()` rejects a mismatched namespace, kind or apiVersion with 400, and a missing namespace with 404', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  const other = configMap('x');
  other.metadata.namespace = 'kube-system';
  assert.equal(apiError(() => f.reg.createSync('configmaps', 'default', other)).code, 400);
  assert.equal(apiError(() => f.reg.createSync('configmaps', 'default', { ...configMap('x'), kind: 'Secret' })).code, 400);
  assert.equal(apiError(() => f.reg.createSync('configmaps', 'default', { ...configMap('x'), apiVersion: 'apps/v1' })).code, 400);
  const nf = apiError(() => f.reg.createSync('configmaps', 'nosuch', configMap('x')));
  assert.equal(nf.code, 404);
  assert.equal(nf.message, 'namespaces "nosuch" not found');
});

test('`update()` with a stale resourceVersion is 409 Conflict with the kubectl message; a missing object is 404', async (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  const a = f.reg.createSync('deployments.apps', 'default', deployment('web'));
  await f.reg.update('deployments.apps', 'default', { ...a, metadata: { ...a.metadata, labels: { app: 'web', x: '1' } } });
  const e = await f.reg.update('deployments.apps', 'default', a).catch((x: unknown) => x);
  assert.ok(e instanceof ApiError);
  assert.deepEqual(e.toStatus(), {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    reason: 'Conflict',
    code: 409,
    message: 'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again',
    details: { name: 'web', group: 'apps', kind: 'deployments' },
  });
  const nf = await f.reg.update('configmaps', 'default', configMap('nosuch')).catch((x: unknown) => x);
  assert.ok(nf instanceof ApiError && nf.reason === 'NotFound');
  // Without a resourceVersion the update is unconditional.
  const u = await f.reg.update('deployments.apps', 'default', deployment('web'));
  assert.equal(u.metadata.uid, a.metadata.uid);
});

test('`update()` with another object\'s uid is 409 Conflict even when the body is owned', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  f.reg.createSync('configmaps', 'default', configMap('c'));
  for (const owned of [false, true]) {
    const body = configMap('c');
    body.metadata.uid = '00000000-0000-0000-0000-000000000000';
    const e = apiError(() => f.reg.writeSync('configmaps', 'default', body, 'main', { owned }));
    assert.equal(e.reason, 'Conflict', `owned=${owned}`);
    assert.match(e.message, /Precondition failed: UID in precondition/);
  }
});

test('`deleteSync()` removes an object without finalizers at once, and a second delete is 404', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  const c = f.reg.createSync('configmaps', 'default', configMap('c'));
  const gone = f.reg.deleteSync('configmaps', 'default', 'c');
  assert.equal(gone.metadata.uid, c.metadata.uid);
  assert.equal(Number(gone.metadata.resourceVersion), f.store.revision, 'the deleted state carries the delete revision');
  assert.equal(f.store.get('configmaps', 'default', 'c'), undefined);
  const e = apiError(() => f.reg.deleteSync('configmaps', 'default', 'c'));
  assert.equal(e.code, 404);
  assert.equal(e.message, 'configmaps "c" not found');
});

test('`deleteSync()` preconditions on uid and resourceVersion give 409 Conflict', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  const c = f.reg.createSync('configmaps', 'default', configMap('c'));
  assert.equal(apiError(() => f.reg.deleteSync('configmaps', 'default', 'c', { preconditions: { uid: 'other' } })).reason, 'Conflict');
  assert.equal(apiError(() => f.reg.deleteSync('configmaps', 'default', 'c', { preconditions: { resourceVersion: '1' } })).reason, 'Conflict');
  f.reg.deleteSync('configmaps', 'default', 'c', { preconditions: { uid: c.metadata.uid, resourceVersion: c.metadata.resourceVersion } });
});

test('`writeSync()` bumps generation on a spec change only, not on metadata or status changes', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  let d = f.reg.createSync('deployments.apps', 'default', deployment('web'));
  assert.equal(d.metadata.generation, 1);
  d = f.reg.writeSync('deployments.apps', 'default', { ...d, metadata: { ...d.metadata, labels: { app: 'web', extra: 'y' }, annotations: { a: 'b' } } }, 'main');
  assert.equal(d.metadata.generation, 1, 'metadata change');
  d = f.reg.writeSync('deployments.apps', 'default', { ...d, status: { replicas: 1, observedGeneration: 1 } }, 'status');
  assert.equal(d.metadata.generation, 1, 'status change');
  d = f.reg.writeSync('deployments.apps', 'default', { ...d, spec: { ...d.spec, replicas: 3 } }, 'main');
  assert.equal(d.metadata.generation, 2, 'spec change');
  d = f.reg.patchSync('deployments.apps', 'default', 'web', 'merge', { spec: { replicas: 4 } });
  assert.equal(d.metadata.generation, 3, 'spec patch');
  d = f.reg.patchSync('deployments.apps', 'default', 'web', 'merge', { metadata: { labels: { l: 'x' } } });
  assert.equal(d.metadata.generation, 3, 'label patch');
  const cm = f.reg.createSync('configmaps', 'default', configMap('c'));
  assert.equal(cm.metadata.generation, undefined, 'kinds without spec have no generation');
});

test('`writeSync()` keeps generation when the body omits only fields that defaulting fills in', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  // kubectl replace sends the file as written; the stored spec has defaults (strategy, revisionHistoryLimit, ...).
  const d = f.reg.createSync('deployments.apps', 'default', deployment('web'));
  assert.ok(d.spec.strategy, 'the stored deployment is defaulted');
  const again = f.reg.writeSync('deployments.apps', 'default', deployment('web'), 'main');
  assert.equal(again.metadata.generation, 1);
  assert.deepEqual(again.spec, d.spec);
  const changed = f.reg.writeSync('deployments.apps', 'default', deployment('web', 2), 'main');
  assert.equal(changed.metadata.generation, 2);
});

test('`update()` ignores status on the main resource; `updateStatus()` changes only status', async (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  const d = f.reg.createSync('deployments.apps', 'default', deployment('web'));
  const s = await f.reg.updateStatus('deployments.apps', 'default', { ...d, spec: { ...d.spec, replicas: 7 }, status: { replicas: 1 } });
  assert.deepEqual(s.status, { replicas: 1 });
  assert.equal(s.spec.replicas, 1, 'spec is not changed through status');
  const u = await f.reg.update('deployments.apps', 'default', { ...s, spec: { ...s.spec, replicas: 2 }, status: { replicas: 99 } });
  assert.deepEqual(u.status, { replicas: 1 });
  assert.equal(u.spec.replicas, 2);
  // A status update without status clears it instead of failing.
  const cleared = await f.reg.updateStatus('deployments.apps', 'default', { ...u, status: undefined });
  assert.equal(cleared.status, undefined);
});

test('`patchSync()` changes status only with subresource status, and ignores it otherwise', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  f.reg.createSync('deployments.apps', 'default', deployment('web'));
  const p = f.reg.patchSync('deployments.apps', 'default', 'web', 'merge', { spec: { replicas: 5 }, status: { replicas: 5 } });
  assert.equal(p.spec.replicas, 5);
  assert.equal(p.status, undefined);
  const st = f.reg.patchSync('deployments.apps', 'default', 'web', 'merge', { spec: { replicas: 6 }, status: { readyReplicas: 2 } }, { subresource: 'status' });
  assert.deepEqual(st.status, { readyReplicas: 2 });
  assert.equal(st.spec.replicas, 5);
  const j = f.reg.patchSync('deployments.apps', 'default', 'web', 'json', [{ op: 'replace', path: '/status/readyReplicas', value: 3 }], { subresource: 'status' });
  assert.equal(j.status.readyReplicas, 3);
  assert.equal(apiError(() => f.reg.patchSync('deployments.apps', 'default', 'nosuch', 'merge', {})).code, 404);
  assert.equal(apiError(() => f.reg.patchSync('deployments.apps', 'default', 'web', 'merge', { metadata: { name: 'other' } })).code, 422);
});

test('dryRun create, update, patch and delete change nothing and return the would-be object', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  const rev0 = f.store.revision;
  const c = f.reg.createSync('deployments.apps', 'default', deployment('web'), { dryRun: true });
  assert.equal(c.metadata.name, 'web');
  assert.equal(c.metadata.generation, 1);
  assert.ok(c.metadata.uid);
  assert.ok(c.spec.strategy, 'defaults applied');
  assert.equal(f.store.revision, rev0);
  assert.equal(f.store.get('deployments.apps', 'default', 'web'), undefined);

  const d = f.reg.createSync('deployments.apps', 'default', deployment('web'));
  const rev1 = f.store.revision;
  assert.equal(apiError(() => f.reg.createSync('deployments.apps', 'default', deployment('web'), { dryRun: true })).reason, 'AlreadyExists');
  const u = f.reg.writeSync('deployments.apps', 'default', { ...d, spec: { ...d.spec, replicas: 3 } }, 'main', { dryRun: true });
  assert.equal(u.spec.replicas, 3);
  assert.equal(u.metadata.generation, 2);
  const p = f.reg.patchSync('deployments.apps', 'default', 'web', 'merge', { spec: { replicas: 4 } }, { dryRun: true });
  assert.equal(p.spec.replicas, 4);
  const del = f.reg.deleteSync('deployments.apps', 'default', 'web', { dryRun: true });
  assert.equal(del.metadata.uid, d.metadata.uid);
  assert.equal(f.store.revision, rev1);
  assert.equal(f.reg.getSync('deployments.apps', 'default', 'web').spec.replicas, 1);

  // A dry-run delete of an object with finalizers shows the deletionTimestamp it would get.
  f.reg.createSync('configmaps', 'default', { ...configMap('fin'), metadata: { name: 'fin', finalizers: ['example.com/hold'] } });
  const rev2 = f.store.revision;
  const fin = f.reg.deleteSync('configmaps', 'default', 'fin', { dryRun: true });
  assert.ok(fin.metadata.deletionTimestamp);
  assert.equal(f.store.revision, rev2);
  assert.equal(f.reg.getSync('configmaps', 'default', 'fin').metadata.deletionTimestamp, undefined);
});

test('`deleteSync()` of an object with finalizers sets deletionTimestamp; it goes when the last finalizer is removed', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  f.reg.createSync('configmaps', 'default', { ...configMap('c'), metadata: { name: 'c', finalizers: ['a.example.com/x', 'b.example.com/y'] } });
  const marked = f.reg.deleteSync('configmaps', 'default', 'c');
  assert.match(marked.metadata.deletionTimestamp ?? '', /Z$/);
  assert.equal(marked.metadata.deletionGracePeriodSeconds, 0);
  // A second delete changes nothing.
  const rev = f.store.revision;
  f.reg.deleteSync('configmaps', 'default', 'c');
  assert.equal(f.store.revision, rev);
  // New finalizers cannot be added while deleting.
  const cur = f.reg.getSync('configmaps', 'default', 'c');
  assert.equal(apiError(() => f.reg.writeSync('configmaps', 'default', { ...cur, metadata: { ...cur.metadata, finalizers: ['a.example.com/x', 'b.example.com/y', 'c.example.com/z'] } }, 'main')).reason, 'Forbidden');
  // The deletionTimestamp cannot be cleared by an update.
  const kept = f.reg.writeSync('configmaps', 'default', { ...cur, metadata: { ...cur.metadata, deletionTimestamp: undefined, finalizers: ['b.example.com/y'] } }, 'main');
  assert.equal(kept.metadata.deletionTimestamp, marked.metadata.deletionTimestamp);
  f.reg.patchSync('configmaps', 'default', 'c', 'merge', { metadata: { finalizers: null } });
  assert.equal(f.store.get('configmaps', 'default', 'c'), undefined);
});

test('podDeletion() follows the pod strategy: unscheduled, finished or grace 0 now; terminating ones only shorten', () => {
  const pod = (spec: Record<string, unknown>, status: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...meta }, spec, status });
  const scheduled = { nodeName: 'vm', terminationGracePeriodSeconds: 30 };
  assert.equal(podDeletion(pod(scheduled), undefined), 30);
  assert.equal(podDeletion(pod(scheduled), 5), 5);
  assert.equal(podDeletion(pod(scheduled), 0), 'now');
  assert.equal(podDeletion(pod(scheduled), -3), 1);
  assert.equal(podDeletion(pod({ ...scheduled, terminationGracePeriodSeconds: 0 }), undefined), 'now');
  assert.equal(podDeletion(pod({ terminationGracePeriodSeconds: 30 }), undefined), 'now');
  assert.equal(podDeletion(pod(scheduled, { phase: 'Succeeded' }), undefined), 'now');
  assert.equal(podDeletion(pod(scheduled, { phase: 'Failed' }), 10), 'now');
  const terminating = { deletionTimestamp: '2026-01-01T00:00:30Z', deletionGracePeriodSeconds: 30 };
  assert.equal(podDeletion(pod(scheduled, {}, terminating), undefined), 'pending');
  assert.equal(podDeletion(pod(scheduled, {}, terminating), 30), 'pending');
  assert.equal(podDeletion(pod(scheduled, {}, terminating), 60), 'pending');
  assert.equal(podDeletion(pod(scheduled, {}, terminating), 2), 2);
  assert.equal(podDeletion(pod(scheduled, {}, terminating), 0), 'now');
  assert.equal(podDeletion(pod(scheduled, {}, { deletionTimestamp: '2026-01-01T00:00:00Z', deletionGracePeriodSeconds: 0 }), undefined), 'now');
});

test('`deleteSync()` of a scheduled pod marks it Terminating until a delete with grace 0; status writes keep it', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  const spec = { nodeName: 'vm', containers: [{ name: 'app', image: 'busybox' }] };
  f.reg.createSync('pods', 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec });
  const before = Date.now();
  const marked = f.reg.deleteSync('pods', 'default', 'p');
  assert.equal(marked.metadata.deletionGracePeriodSeconds, 30);
  const at = Date.parse(marked.metadata.deletionTimestamp ?? '');
  assert.ok(at >= Math.floor(before / 1000) * 1000 + 30_000 && at <= Date.now() + 30_000, marked.metadata.deletionTimestamp);
  // Again without a grace period, or with a longer one: nothing changes.
  const rev = f.store.revision;
  f.reg.deleteSync('pods', 'default', 'p');
  f.reg.deleteSync('pods', 'default', 'p', { gracePeriodSeconds: 45 });
  assert.equal(f.store.revision, rev);
  // The node agent's status writes while it stops the containers keep the pod.
  const cur = f.reg.getSync('pods', 'default', 'p');
  f.reg.writeSync('pods', 'default', { ...cur, status: { phase: 'Running' } }, 'status');
  const kept = f.reg.getSync('pods', 'default', 'p');
  assert.equal(kept.metadata.deletionTimestamp, marked.metadata.deletionTimestamp);
  assert.equal(kept.metadata.deletionGracePeriodSeconds, 30);
  // A shorter grace period moves the deletionTimestamp back by the difference.
  const shorter = f.reg.deleteSync('pods', 'default', 'p', { gracePeriodSeconds: 5 });
  assert.equal(shorter.metadata.deletionGracePeriodSeconds, 5);
  assert.equal(Date.parse(shorter.metadata.deletionTimestamp ?? ''), at - 25_000);
  // Grace 0 (the node agent's, or kubectl's --force --grace-period=0) removes it.
  f.reg.deleteSync('pods', 'default', 'p', { gracePeriodSeconds: 0, preconditions: { uid: marked.metadata.uid } });
  assert.equal(f.store.get('pods', 'default', 'p'), undefined);
  // An unscheduled pod goes at once.
  f.reg.createSync('pods', 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'q' }, spec: { containers: spec.containers } });
  f.reg.deleteSync('pods', 'default', 'q');
  assert.equal(f.store.get('pods', 'default', 'q'), undefined);
});

test('`deleteSync()` with Orphan and Foreground adds the orphan and foregroundDeletion finalizers', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  f.reg.createSync('deployments.apps', 'default', deployment('o'));
  f.reg.createSync('deployments.apps', 'default', deployment('fg'));
  f.reg.createSync('deployments.apps', 'default', deployment('bg'));
  const o = f.reg.deleteSync('deployments.apps', 'default', 'o', { propagationPolicy: 'Orphan' });
  assert.deepEqual(o.metadata.finalizers, ['orphan']);
  assert.ok(o.metadata.deletionTimestamp);
  const fg = f.reg.deleteSync('deployments.apps', 'default', 'fg', { propagationPolicy: 'Foreground' });
  assert.deepEqual(fg.metadata.finalizers, ['foregroundDeletion']);
  assert.ok(f.store.get('deployments.apps', 'default', 'fg'));
  f.reg.deleteSync('deployments.apps', 'default', 'bg', { propagationPolicy: 'Background' });
  assert.equal(f.store.get('deployments.apps', 'default', 'bg'), undefined);
});

test('deleting a namespace marks it Terminating, creation in it is Forbidden, and finalizing removes it', (t) => {
  const f = makeRegistry({ namespaces: ['default', 'kube-system', 'kube-public', 'team'] });
  t.after(() => f.close());
  const ns = f.reg.getSync('namespaces', undefined, 'team');
  assert.deepEqual(ns.spec, { finalizers: ['kubernetes'] });
  assert.equal(ns.status.phase, 'Active');
  const t1 = f.reg.deleteSync('namespaces', undefined, 'team');
  assert.equal(t1.status.phase, 'Terminating');
  assert.ok(t1.metadata.deletionTimestamp);
  const e = apiError(() => f.reg.createSync('configmaps', 'team', configMap('late')));
  assert.equal(e.code, 403);
  assert.equal(e.reason, 'Forbidden');
  assert.equal(e.message, 'configmaps "late" is forbidden: unable to create new content in namespace team because it is being terminated');
  // What PUT namespaces/team/finalize does: empty spec.finalizers.
  const cur = f.reg.getSync('namespaces', undefined, 'team');
  f.reg.writeSync('namespaces', undefined, { ...cur, spec: { finalizers: [] } }, 'main');
  assert.equal(f.store.get('namespaces', '', 'team'), undefined);
});

test('the default, kube-system and kube-public namespaces cannot be deleted', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  for (const name of ['default', 'kube-system', 'kube-public']) {
    const e = apiError(() => f.reg.deleteSync('namespaces', undefined, name));
    assert.equal(e.code, 403);
    assert.equal(e.message, `namespaces "${name}" is forbidden: this namespace may not be deleted`);
    assert.equal(f.reg.getSync('namespaces', undefined, name).metadata.deletionTimestamp, undefined);
  }
});

test('`watch()` from resourceVersion 0 sends synthetic ADDED events, then live events', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  f.reg.createSync('configmaps', 'default', configMap('a'));
  f.reg.createSync('configmaps', 'default', configMap('b'));
  f.reg.createSync('configmaps', 'kube-system', configMap('elsewhere'));
  const evs: WatchEvent[] = [];
  const w = f.reg.watch('configmaps', 'default', { resourceVersion: '0' }, (ev) => evs.push(ev));
  t.after(() => w.close());
  assert.deepEqual(evs.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'a'], ['ADDED', 'b']]);
  const a = f.reg.getSync('configmaps', 'default', 'a');
  f.reg.writeSync('configmaps', 'default', { ...a, data: { k: 'changed' } }, 'main');
  f.reg.createSync('configmaps', 'kube-system', configMap('elsewhere2'));
  f.reg.deleteSync('configmaps', 'default', 'b');
  assert.deepEqual(evs.slice(2).map((e) => [e.type, e.object.metadata.name]), [['MODIFIED', 'a'], ['DELETED', 'b']]);
  assert.equal(evs[3].object.metadata.resourceVersion, String(f.store.revision));
  w.close();
  w.close();
  f.reg.createSync('configmaps', 'default', configMap('after-close'));
  assert.equal(evs.length, 4);
});

test('`watch()` from a given resourceVersion replays only later events, then goes live', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  f.reg.createSync('configmaps', 'default', configMap('before'));
  const rv = f.store.revision;
  f.reg.createSync('configmaps', 'default', configMap('after1'));
  f.reg.deleteSync('configmaps', 'default', 'before');
  const evs: WatchEvent[] = [];
  const w = f.reg.watch('configmaps', 'default', { resourceVersion: String(rv) }, (ev) => evs.push(ev));
  t.after(() => w.close());
  f.reg.createSync('configmaps', 'default', configMap('live'));
  assert.deepEqual(evs.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'after1'], ['DELETED', 'before'], ['ADDED', 'live']]);
  assert.equal(apiError(() => f.reg.watch('configmaps', 'default', { resourceVersion: 'abc' }, () => {})).code, 400);
});

test('`watch()` with label and field selectors delivers only matching objects', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  f.reg.createSync('configmaps', 'default', configMap('web1', { app: 'web' }));
  f.reg.createSync('configmaps', 'default', configMap('db1', { app: 'db' }));
  const byLabel: WatchEvent[] = [];
  const byField: WatchEvent[] = [];
  const w1 = f.reg.watch('configmaps', 'default', { resourceVersion: '0', labelSelector: 'app=web' }, (ev) => byLabel.push(ev));
  const w2 = f.reg.watch('configmaps', 'default', { resourceVersion: '0', fieldSelector: 'metadata.name=db2' }, (ev) => byField.push(ev));
  t.after(() => {
    w1.close();
    w2.close();
  });
  f.reg.createSync('configmaps', 'default', configMap('web2', { app: 'web' }));
  f.reg.createSync('configmaps', 'default', configMap('db2', { app: 'db' }));
  assert.deepEqual(byLabel.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'web1'], ['ADDED', 'web2']]);
  assert.deepEqual(byField.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'db2']]);
  assert.equal(apiError(() => f.reg.watch('configmaps', 'default', { labelSelector: 'a in b' }, () => {})).code, 400);
});

test('`watch()` with a label selector sees an object that is relabelled into it as ADDED and out of it as DELETED', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  f.reg.createSync('configmaps', 'default', configMap('moving', { app: 'db' }));
  const evs: WatchEvent[] = [];
  const w = f.reg.watch('configmaps', 'default', { resourceVersion: String(f.store.revision), labelSelector: 'app=web' }, (ev) => evs.push(ev));
  t.after(() => w.close());
  f.reg.patchSync('configmaps', 'default', 'moving', 'merge', { metadata: { labels: { app: 'web' } } });
  f.reg.patchSync('configmaps', 'default', 'moving', 'merge', { data: { a: 'b' } });
  f.reg.patchSync('configmaps', 'default', 'moving', 'merge', { metadata: { labels: { app: 'db' } } });
  f.reg.patchSync('configmaps', 'default', 'moving', 'merge', { data: { a: 'c' } });
  assert.deepEqual(
    evs.map((e) => [e.type, e.object.metadata.labels?.app]),
    [
      ['ADDED', 'web'],
      ['MODIFIED', 'web'],
      ['DELETED', 'db'],
    ],
  );
});

test('`watch()` from a resourceVersion older than the history gives one ERROR event with a 410 Expired Status', (t) => {
  const f = makeRegistry({ historySize: 3 });
  t.after(() => f.close());
  for (let i = 0; i < 10; i++) f.reg.createSync('configmaps', 'default', configMap(`c${i}`));
  const evs: WatchEvent[] = [];
  const w = f.reg.watch('configmaps', 'default', { resourceVersion: '1' }, (ev) => evs.push(ev));
  f.reg.createSync('configmaps', 'default', configMap('later'));
  w.close();
  assert.equal(evs.length, 1);
  assert.equal(evs[0].type, 'ERROR');
  const s = evs[0].object as unknown as Record<string, unknown>;
  assert.equal(s.kind, 'Status');
  assert.equal(s.status, 'Failure');
  assert.equal(s.reason, 'Expired');
  assert.equal(s.code, 410);
  assert.match(String(s.message), /^too old resource version: 1 \(\d+\)$/);
  // A recent rv still resumes.
  const ok: WatchEvent[] = [];
  const w2 = f.reg.watch('configmaps', 'default', { resourceVersion: String(f.store.revision - 1) }, (ev) => ok.push(ev));
  w2.close();
  assert.deepEqual(ok.map((e) => e.object.metadata.name), ['later']);
});

test('`watchRaw()` delivers the stored text without parsing, and parsed events when a selector needs them', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  const raw: Array<[string, string]> = [];
  const parsed: WatchEvent[] = [];
  const w = f.reg.watchRaw('configmaps', 'default', { resourceVersion: String(f.store.revision) }, (ev) => parsed.push(ev), (type, json) => raw.push([type, json]));
  t.after(() => w.close());
  f.reg.createSync('configmaps', 'default', configMap('a'));
  assert.equal(parsed.length, 0);
  assert.equal(raw.length, 1);
  assert.equal(raw[0][0], 'ADDED');
  assert.equal(raw[0][1], f.store.get('configmaps', 'default', 'a')?.json);
  const sel: WatchEvent[] = [];
  const w2 = f.reg.watchRaw('configmaps', 'default', { resourceVersion: String(f.store.revision), labelSelector: 'x=y' }, (ev) => sel.push(ev), () => assert.fail('no raw with a selector'));
  t.after(() => w2.close());
  f.reg.createSync('configmaps', 'default', configMap('b', { x: 'y' }));
  assert.deepEqual(sel.map((e) => e.object.metadata.name), ['b']);
  assert.equal(f.reg.rawOf(sel[0].object), f.store.get('configmaps', 'default', 'b')?.json);
});

test('creating a CRD makes its resource servable, and its custom resources validate against the schema', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  assert.equal(f.reg.catalog.lookup('example.com', 'v1', 'widgets'), undefined);
  f.reg.createSync(crdKey, undefined, widgetCrd());
  const info = f.reg.catalog.lookup('example.com', 'v1', 'widgets');
  assert.equal(info?.kind, 'Widget');
  assert.equal(info?.namespaced, true);
  assert.deepEqual(info?.subresources, ['status']);
  const w = f.reg.createSync('widgets.example.com', 'default', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 2 }, status: { ready: true } });
  assert.equal(w.metadata.generation, 1);
  assert.equal(w.status, undefined, 'status is a subresource');
  const e = apiError(() => f.reg.createSync('widgets.example.com', 'default', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'bad' }, spec: { size: 'big' } }));
  assert.equal(e.code, 422);
  assert.equal(e.reason, 'Invalid');
  assert.equal(e.details?.kind, 'Widget');
  assert.equal(e.details?.group, 'example.com');
  assert.equal(e.details?.name, 'bad');
  assert.ok(e.details?.causes?.some((c) => c.field === 'spec.size'), JSON.stringify(e.details?.causes));
  assert.match(e.message, /^Widget\.example\.com "bad" is invalid: spec\.size: /);
  // A new Registry on the same store reads the CRD back.
  const again = new (f.reg.constructor as typeof import('./registry.ts').Registry)(f.store);
  assert.equal(again.getSync('widgets.example.com', 'default', 'w1').spec.size, 2);
});

test('unknown fields of a custom resource are a 400 under fieldValidation Strict and pruned under Ignore', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  f.reg.createSync(crdKey, undefined, widgetCrd());
  const body = (): KObject => ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1, shape: 'round' }, extra: 1 });
  const e = apiError(() => f.reg.createSync('widgets.example.com', 'default', body(), { fieldValidation: 'Strict' }));
  assert.equal(e.code, 400);
  assert.match(e.message, /strict decoding error: unknown field "extra", unknown field "spec.shape"/);
  const w = f.reg.createSync('widgets.example.com', 'default', body(), { fieldValidation: 'Ignore' });
  assert.deepEqual(w.spec, { size: 1 });
  assert.equal(w.extra, undefined);
  assert.equal(JSON.parse(f.store.get('widgets.example.com', 'default', 'w')?.json ?? '{}').spec.shape, undefined);
});

test('strategic merge patch of a custom resource is 415 UnsupportedMediaType; merge patch works', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  f.reg.createSync(crdKey, undefined, widgetCrd());
  f.reg.createSync('widgets.example.com', 'default', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1 } });
  const e = apiError(() => f.reg.patchSync('widgets.example.com', 'default', 'w', 'strategic', { spec: { size: 2 } }));
  assert.equal(e.code, 415);
  assert.equal(e.reason, 'UnsupportedMediaType');
  const p = f.reg.patchSync('widgets.example.com', 'default', 'w', 'merge', { spec: { size: 3 } });
  assert.equal(p.spec.size, 3);
  assert.equal(p.metadata.generation, 2);
  const s = f.reg.patchSync('widgets.example.com', 'default', 'w', 'merge', { status: { ready: true } }, { subresource: 'status' });
  assert.deepEqual(s.status, { ready: true });
  assert.equal(s.metadata.generation, 2);
});

test('deleting a CRD removes its custom resources, with DELETED events, and stops serving the resource', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  f.reg.createSync(crdKey, undefined, widgetCrd());
  f.reg.createSync('widgets.example.com', 'default', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 1 } });
  f.reg.createSync('widgets.example.com', 'kube-system', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w2' }, spec: { size: 1 } });
  const evs: WatchEvent[] = [];
  const w = f.reg.watch('widgets.example.com', undefined, { resourceVersion: String(f.store.revision) }, (ev) => evs.push(ev));
  t.after(() => w.close());
  f.reg.deleteSync(crdKey, undefined, 'widgets.example.com');
  assert.equal(f.store.list('widgets.example.com').length, 0);
  assert.equal(f.reg.catalog.lookup('example.com', 'v1', 'widgets'), undefined);
  assert.equal(apiError(() => f.reg.info('widgets.example.com')).code, 404);
  assert.deepEqual(evs.map((e) => [e.type, e.object.metadata.name]), [['DELETED', 'w1'], ['DELETED', 'w2']]);
  // Each DELETED event carries the revision of its delete, so a watcher can resume after it.
  assert.deepEqual(evs.map((e) => e.object.metadata.resourceVersion), [String(f.store.revision - 1), String(f.store.revision)]);
  // Recreating the CRD starts empty.
  f.reg.createSync(crdKey, undefined, widgetCrd());
  assert.equal(f.reg.listSync('widgets.example.com', undefined).items.length, 0);
});

test('an admission hook runs on create and update and may refuse with an ApiError', (t) => {
  const f = makeRegistry();
  t.after(() => f.close());
  const calls: Array<string | undefined> = [];
  f.reg.addAdmission('configmaps', (obj, old) => {
    calls.push(old?.metadata.name);
    if (obj.metadata.labels?.deny) throw new ApiError('Forbidden', 'denied');
    obj.metadata.annotations = { ...obj.metadata.annotations, admitted: 'yes' };
  });
  const c = f.reg.createSync('configmaps', 'default', configMap('c'));
  assert.equal(c.metadata.annotations?.admitted, 'yes');
  assert.equal(apiError(() => f.reg.createSync('configmaps', 'default', configMap('d', { deny: 'y' }))).reason, 'Forbidden');
  f.reg.writeSync('configmaps', 'default', c, 'main');
  assert.deepEqual(calls, [undefined, undefined, 'c']);
});
