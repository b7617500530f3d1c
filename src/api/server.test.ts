import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { configMap, deployment, eventReader, startServer, widgetCrd, type ServerFixture } from './testing.test-helper.ts';

const tableAccept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const tableType = 'application/json;as=Table;v=v1;g=meta.k8s.io';
const aggregatedAccept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

async function server(t: TestContext, opts: { historySize?: number } = {}): Promise<ServerFixture> {
  const s = await startServer(opts);
  t.after(() => s.closeAll());
  return s;
}

test('/healthz, /readyz and /livez answer 200 `ok` without a token', async (t) => {
  const s = await server(t);
  for (const p of ['/healthz', '/readyz', '/livez', '/healthz?timeout=32s']) {
    const r = await s.send('GET', p, { token: null });
    assert.equal(r.status, 200, p);
    assert.equal(r.body, 'ok');
    assert.match(String(r.headers['content-type']), /^text\/plain/);
  }
});

test('every other path without a valid token is 401 with a Status body', async (t) => {
  const s = await server(t);
  for (const [p, token] of [['/version', null], ['/api', null], ['/api/v1/namespaces', 'wrong'], ['/apis/apps/v1/namespaces/default/deployments', 'test-token-012345678X'], ['/nosuch', null]] as const) {
    const r = await s.send('GET', p, { token });
    assert.equal(r.status, 401, p);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.deepEqual(r.json(), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
  }
  const basic = await s.send('GET', '/version', { token: null, headers: { Authorization: `Basic ${s.token}` } });
  assert.equal(basic.status, 401);
});

test('/version reports major "1" and minor "32" for the kubectl dispatcher', async (t) => {
  const s = await server(t);
  const r = await s.send('GET', '/version?timeout=5s');
  assert.equal(r.status, 200);
  const v = r.json();
  assert.equal(v.major, '1');
  assert.equal(v.minor, '32');
  assert.match(v.gitVersion, /^v1\.32\./);
});

test('/api and /apis answer aggregated discovery with the exact Content-Type when asked, legacy otherwise', async (t) => {
  const s = await server(t);
  const agg = await s.send('GET', '/apis?timeout=32s', { headers: { Accept: aggregatedAccept } });
  assert.equal(agg.status, 200);
  assert.equal(agg.headers['content-type'], 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
  const apps = agg.json().items.find((i: { metadata: { name: string } }) => i.metadata.name === 'apps');
  const deploy = apps.versions[0].resources.find((r: { resource: string }) => r.resource === 'deployments');
  assert.deepEqual(deploy.responseKind, { group: 'apps', version: 'v1', kind: 'Deployment' });
  assert.equal(deploy.scope, 'Namespaced');
  const core = await s.send('GET', '/api', { headers: { Accept: aggregatedAccept } });
  assert.equal(core.headers['content-type'], 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
  assert.equal(core.json().items[0].metadata.name, undefined);

  const legacy = await s.send('GET', '/apis', { headers: { Accept: 'application/json, */*' } });
  assert.equal(legacy.headers['content-type'], 'application/json');
  assert.equal(legacy.json().kind, 'APIGroupList');
  const api = await s.send('GET', '/api');
  assert.equal(api.json().kind, 'APIVersions');
  assert.equal(api.json().serverAddressByClientCIDRs[0].serverAddress, `127.0.0.1:${s.port}`);
  const v1 = await s.send('GET', '/api/v1');
  assert.ok(v1.json().resources.some((r: { name: string; shortNames?: string[] }) => r.name === 'pods' && r.shortNames?.includes('po')));
  const appsv1 = await s.send('GET', '/apis/apps/v1');
  assert.ok(appsv1.json().resources.some((r: { name: string; group?: string; kind: string }) => r.name === 'deployments/scale' && r.group === 'autoscaling' && r.kind === 'Scale'));
  assert.equal((await s.send('GET', '/apis/apps')).json().preferredVersion.groupVersion, 'apps/v1');
  assert.equal((await s.send('GET', '/apis/nosuch.example.com/v1')).status, 404);
});

test('/openapi/v3 lists every group-version, and each document has a PATCH op with fieldValidation for each kind', async (t) => {
  const s = await server(t);
  const idx = await s.send('GET', '/openapi/v3?timeout=32s');
  assert.equal(idx.status, 200);
  const paths = idx.json().paths as Record<string, { serverRelativeURL: string }>;
  assert.ok(paths['api/v1'] && paths['apis/apps/v1']);
  assert.match(paths['apis/apps/v1'].serverRelativeURL, /^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{32}$/);
  const again = await s.send('GET', '/openapi/v3');
  assert.equal(again.json().paths['apis/apps/v1'].serverRelativeURL, paths['apis/apps/v1'].serverRelativeURL, 'the hash is stable');
  const doc = (await s.send('GET', paths['apis/apps/v1'].serverRelativeURL)).json();
  const kinds = new Set<string>();
  for (const op of Object.values(doc.paths as Record<string, { patch?: { 'x-kubernetes-group-version-kind': { kind: string }; parameters: Array<{ name: string }> } }>)) {
    if (op.patch && op.patch.parameters.some((p) => p.name === 'fieldValidation')) kinds.add(op.patch['x-kubernetes-group-version-kind'].kind);
  }
  for (const k of ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'ControllerRevision']) assert.ok(kinds.has(k), k);
  const core = (await s.send('GET', '/openapi/v3/api/v1')).json();
  assert.ok(core.paths['/api/v1/namespaces/{name}'].patch.parameters.some((p: { name: string }) => p.name === 'fieldValidation'));
  assert.equal((await s.send('GET', '/openapi/v3/apis/nosuch/v1')).status, 404);
  const v2 = await s.send('GET', '/openapi/v2');
  assert.equal(v2.status, 200);
});

test('a list, a single get and a watch with the Table Accept header answer Tables', async (t) => {
  const s = await server(t);
  s.reg.createSync('configmaps', 'default', configMap('a', { app: 'x' }));
  s.reg.createSync('configmaps', 'default', configMap('b'));
  const list = await s.send('GET', '/api/v1/namespaces/default/configmaps?limit=500', { headers: { Accept: tableAccept } });
  assert.equal(list.status, 200);
  assert.equal(list.headers['content-type'], tableType);
  const tl = list.json();
  assert.equal(tl.kind, 'Table');
  assert.equal(tl.apiVersion, 'meta.k8s.io/v1');
  assert.equal(tl.metadata.resourceVersion, String(s.store.revision));
  assert.equal(tl.columnDefinitions[0].format, 'name');
  assert.deepEqual(tl.rows.map((r: { cells: unknown[] }) => r.cells[0]), ['a', 'b']);
  assert.equal(tl.rows[0].object.kind, 'PartialObjectMetadata');
  assert.deepEqual(tl.rows[0].object.metadata.labels, { app: 'x' });

  const one = await s.send('GET', '/api/v1/namespaces/default/configmaps/a', { headers: { Accept: tableAccept } });
  assert.equal(one.headers['content-type'], tableType);
  assert.equal(one.json().rows.length, 1);

  const res = await s.open(`/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${tl.metadata.resourceVersion}`, { Accept: tableAccept });
  assert.equal(res.headers['content-type'], tableType);
  const ev = eventReader(res);
  s.reg.createSync('configmaps', 'default', configMap('c'));
  s.reg.deleteSync('configmaps', 'default', 'a');
  const [added, deleted] = await ev.next(2);
  assert.equal(added.type, 'ADDED');
  assert.equal(added.object.kind, 'Table');
  assert.ok(added.object.columnDefinitions.length > 0, 'the first event has columnDefinitions');
  assert.equal(added.object.rows.length, 1);
  assert.equal(added.object.rows[0].cells[0], 'c');
  assert.equal(deleted.type, 'DELETED');
  assert.equal(deleted.object.rows.length, 1);
  assert.equal(deleted.object.rows[0].cells[0], 'a');
});

test('a watch stays open and delivers newline-delimited JSON events as they happen', async (t) => {
  const s = await server(t);
  s.reg.createSync('configmaps', 'default', configMap('a'));
  const res = await s.open('/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=0');
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'application/json');
  assert.equal(res.headers['transfer-encoding'], 'chunked');
  const ev = eventReader(res);
  const [first] = await ev.next(1);
  assert.deepEqual([first.type, first.object.metadata.name, first.object.kind], ['ADDED', 'a', 'ConfigMap']);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(ev.ended(), false);
  const a = s.reg.getSync('configmaps', 'default', 'a');
  s.reg.writeSync('configmaps', 'default', { ...a, data: { k: 'v2' } }, 'main');
  const [mod] = await ev.next(1);
  assert.equal(mod.type, 'MODIFIED');
  assert.equal(mod.object.data.k, 'v2');
  assert.equal(mod.object.metadata.resourceVersion, String(s.store.revision));
});

test('a single-object watch from resourceVersion 0 starts with its synthetic ADDED event', async (t) => {
  const s = await server(t);
  s.reg.createSync('configmaps', 'default', configMap('a'));
  s.reg.createSync('configmaps', 'default', configMap('b'));
  const res = await s.open('/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Db&resourceVersion=0&watch=true');
  const ev = eventReader(res);
  const [first] = await ev.next(1);
  assert.equal(first.object.metadata.name, 'b');
  s.reg.deleteSync('configmaps', 'default', 'a');
  s.reg.deleteSync('configmaps', 'default', 'b');
  const [del] = await ev.next(1);
  assert.deepEqual([del.type, del.object.metadata.name], ['DELETED', 'b']);
});

test('a watch with a bad resourceVersion or a bad selector is a plain 400, not an empty stream', async (t) => {
  const s = await server(t);
  for (const q of ['resourceVersion=abc', 'labelSelector=a%20in%20b', 'fieldSelector=metadata.name']) {
    const r = await s.send('GET', `/api/v1/namespaces/default/configmaps?watch=true&${q}`);
    assert.equal(r.status, 400, q);
    assert.equal(r.json().reason, 'BadRequest');
  }
});

test('a watch from a too-old resourceVersion gets an ERROR event with a 410 Expired Status, then the stream ends', async (t) => {
  const s = await server(t, { historySize: 2 });
  for (let i = 0; i < 6; i++) s.reg.createSync('configmaps', 'default', configMap(`c${i}`));
  const res = await s.open('/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1');
  const ev = eventReader(res);
  const [err] = await ev.next(1);
  assert.equal(err.type, 'ERROR');
  assert.equal(err.object.kind, 'Status');
  assert.equal(err.object.code, 410);
  assert.equal(err.object.reason, 'Expired');
  await new Promise<void>((resolve) => (res.readableEnded ? resolve() : res.on('end', resolve)));
});

test('a list pages with limit and continue over HTTP, and a bad continue token is 400', async (t) => {
  const s = await server(t);
  for (let i = 0; i < 25; i++) s.reg.createSync('configmaps', 'default', configMap(`cm-${String(i).padStart(2, '0')}`));
  const seen: string[] = [];
  let cont = '';
  do {
    const r = await s.send('GET', `/api/v1/namespaces/default/configmaps?limit=10${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
    assert.equal(r.status, 200);
    const l = r.json();
    seen.push(...l.items.map((o: { metadata: { name: string } }) => o.metadata.name));
    cont = l.metadata.continue ?? '';
  } while (cont);
  assert.equal(seen.length, 25);
  assert.equal(new Set(seen).size, 25);
  const bad = await s.send('GET', '/api/v1/namespaces/default/configmaps?limit=10&continue=notatoken');
  assert.equal(bad.status, 400);
  assert.equal(bad.json().reason, 'BadRequest');
  const sel = await s.send('GET', '/api/v1/namespaces/default/configmaps?labelSelector=a%3D%3Db%3Dc');
  assert.equal(sel.status, 400);
});

test('create, get, replace and delete over HTTP answer 201, 200 and Status errors as kubectl expects', async (t) => {
  const s = await server(t);
  const base = '/apis/apps/v1/namespaces/default/deployments';
  const c = await s.send('POST', `${base}?fieldManager=kubectl-create&fieldValidation=Strict`, { body: deployment('web') });
  assert.equal(c.status, 201);
  const created = c.json();
  assert.equal(created.kind, 'Deployment');
  assert.equal(created.apiVersion, 'apps/v1');
  assert.equal(typeof created.metadata.resourceVersion, 'string');
  const dup = await s.send('POST', base, { body: deployment('web') });
  assert.equal(dup.status, 409);
  assert.equal(dup.json().reason, 'AlreadyExists');
  assert.equal(dup.json().message, 'deployments.apps "web" already exists');
  const nf = await s.send('GET', `${base}/nosuch`);
  assert.equal(nf.status, 404);
  assert.deepEqual(nf.json().details, { name: 'nosuch', group: 'apps', kind: 'deployments' });
  const put = await s.send('PUT', `${base}/web`, { body: { ...created, spec: { ...created.spec, replicas: 2 } } });
  assert.equal(put.status, 200);
  assert.equal(put.json().metadata.generation, 2);
  const stale = await s.send('PUT', `${base}/web`, { body: created });
  assert.equal(stale.status, 409);
  assert.equal(stale.json().reason, 'Conflict');
  assert.match(stale.json().message, /^Operation cannot be fulfilled on deployments\.apps "web": the object has been modified/);
  const wrongUid = await s.send('PUT', `${base}/web`, { body: { ...put.json(), metadata: { ...put.json().metadata, uid: 'x' } } });
  assert.equal(wrongUid.status, 409);
  const del = await s.send('DELETE', `${base}/web`, { body: { propagationPolicy: 'Background' } });
  assert.equal(del.status, 200);
  assert.equal(del.json().status, 'Success');
  assert.equal((await s.send('GET', `${base}/web`)).status, 404);
});

test('PUT with a name that differs from the URL is 400', async (t) => {
  const s = await server(t);
  s.reg.createSync('configmaps', 'default', configMap('a'));
  const r = await s.send('PUT', '/api/v1/namespaces/default/configmaps/a', { body: configMap('b') });
  assert.equal(r.status, 400);
  assert.equal(r.json().reason, 'BadRequest');
  assert.equal(r.json().message, 'the name of the object (b) does not match the name on the URL (a)');
});

test('dryRun=All writes over HTTP change nothing', async (t) => {
  const s = await server(t);
  const rev = s.store.revision;
  const c = await s.send('POST', '/api/v1/namespaces/default/configmaps?dryRun=All', { body: configMap('dry') });
  assert.equal(c.status, 201);
  assert.equal(c.json().metadata.name, 'dry');
  assert.equal(s.store.revision, rev);
  s.reg.createSync('configmaps', 'default', configMap('real'));
  const rev2 = s.store.revision;
  const p = await s.send('PATCH', '/api/v1/namespaces/default/configmaps/real?dryRun=All', { body: { data: { k: 'dry' } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
  assert.equal(p.json().data.k, 'dry');
  const d = await s.send('DELETE', '/api/v1/namespaces/default/configmaps/real?dryRun=All');
  assert.equal(d.status, 200);
  assert.equal(s.store.revision, rev2);
  assert.deepEqual(s.reg.getSync('configmaps', 'default', 'real').data, { k: 'v' });
});

test('a body of 3 MiB + 1 byte is 413 RequestEntityTooLarge', async (t) => {
  const s = await server(t);
  const big = Buffer.alloc(3 * 1024 * 1024 + 1, 0x20);
  const r = await s.send('POST', '/api/v1/namespaces/default/configmaps', { body: big });
  assert.equal(r.status, 413);
  assert.equal(r.json().reason, 'RequestEntityTooLarge');
  const ok = await s.send('POST', '/api/v1/namespaces/default/configmaps', { body: configMap('after') });
  assert.equal(ok.status, 201, 'the server still serves after refusing a big body');
});

test('PATCH with an unknown Content-Type is 415; merge, JSON and strategic patches apply', async (t) => {
  const s = await server(t);
  s.reg.createSync('deployments.apps', 'default', deployment('web'));
  const url = '/apis/apps/v1/namespaces/default/deployments/web';
  const bad = await s.send('PATCH', url, { body: { spec: { replicas: 2 } }, headers: { 'Content-Type': 'application/json' } });
  assert.equal(bad.status, 415);
  assert.equal(bad.json().reason, 'UnsupportedMediaType');
  const m = await s.send('PATCH', url, { body: { metadata: { labels: { x: 'y' } } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
  assert.equal(m.json().metadata.labels.x, 'y');
  const j = await s.send('PATCH', url, { body: [{ op: 'replace', path: '/spec/replicas', value: 3 }], headers: { 'Content-Type': 'application/json-patch+json' } });
  assert.equal(j.json().spec.replicas, 3);
  const sm = await s.send('PATCH', url, { body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': 'now' } } } } }, headers: { 'Content-Type': 'application/strategic-merge-patch+json' } });
  assert.equal(sm.json().spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt'], 'now');
  assert.equal(sm.json().metadata.generation, 3);
});

test('PATCH of the status subresource changes status; on the main resource status is ignored', async (t) => {
  const s = await server(t);
  s.reg.createSync('deployments.apps', 'default', deployment('web'));
  const url = '/apis/apps/v1/namespaces/default/deployments/web';
  const h = { 'Content-Type': 'application/merge-patch+json' };
  const main = await s.send('PATCH', url, { body: { spec: { replicas: 4 }, status: { replicas: 4 } }, headers: h });
  assert.equal(main.json().spec.replicas, 4);
  assert.equal(main.json().status, undefined);
  const st = await s.send('PATCH', `${url}/status`, { body: { spec: { replicas: 9 }, status: { replicas: 4 } }, headers: h });
  assert.equal(st.status, 200);
  assert.equal(st.json().status.replicas, 4);
  assert.equal(st.json().spec.replicas, 4);
  const put = await s.send('PUT', `${url}/status`, { body: { ...st.json(), status: { replicas: 2 } } });
  assert.equal(put.json().status.replicas, 2);
  assert.equal((await s.send('GET', '/api/v1/namespaces/default/configmaps/x/status')).status, 404);
});

test('the scale subresource answers GET and merge-patch PATCH of spec.replicas, and refuses negatives with 422', async (t) => {
  const s = await server(t);
  s.reg.createSync('deployments.apps', 'default', deployment('web', 1));
  const url = '/apis/apps/v1/namespaces/default/deployments/web/scale';
  const g = await s.send('GET', url);
  assert.equal(g.status, 200);
  const sc = g.json();
  assert.equal(sc.kind, 'Scale');
  assert.equal(sc.apiVersion, 'autoscaling/v1');
  assert.equal(sc.spec.replicas, 1);
  assert.equal(sc.status.selector, 'app=web');
  const p = await s.send('PATCH', url, { body: { spec: { replicas: 3 } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
  assert.equal(p.status, 200);
  assert.equal(p.json().spec.replicas, 3);
  assert.equal(s.reg.getSync('deployments.apps', 'default', 'web').spec.replicas, 3);
  const neg = await s.send('PATCH', url, { body: { spec: { replicas: -1 } }, headers: { 'Content-Type': 'application/merge-patch+json' } });
  assert.equal(neg.status, 422);
  assert.equal(neg.json().reason, 'Invalid');
  assert.equal(neg.json().details.causes[0].field, 'spec.replicas');
  assert.equal((await s.send('GET', '/api/v1/namespaces/default/configmaps/web/scale')).status, 404);
  assert.equal((await s.send('GET', '/apis/apps/v1/namespaces/default/deployments/nosuch/scale')).status, 404);
});

test('DELETE on a collection with a label selector deletes only the matching objects', async (t) => {
  const s = await server(t);
  s.reg.createSync('configmaps', 'default', configMap('a', { app: 'x' }));
  s.reg.createSync('configmaps', 'default', configMap('b', { app: 'x' }));
  s.reg.createSync('configmaps', 'default', configMap('c', { app: 'y' }));
  s.reg.createSync('configmaps', 'kube-system', configMap('d', { app: 'x' }));
  const r = await s.send('DELETE', '/api/v1/namespaces/default/configmaps?labelSelector=app%3Dx');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json().items.map((o: { metadata: { name: string } }) => o.metadata.name), ['a', 'b']);
  assert.deepEqual(s.reg.listSync('configmaps', undefined).items.map((o) => o.metadata.name), ['c', 'd']);
});

test('deleting a namespace over HTTP leaves it Terminating until PUT namespaces/<name>/finalize empties its finalizers', async (t) => {
  const s = await server(t);
  s.reg.createSync('namespaces', undefined, { metadata: { name: 'team' } });
  const d = await s.send('DELETE', '/api/v1/namespaces/team');
  assert.equal(d.status, 200);
  assert.equal(d.json().status.phase, 'Terminating');
  const c = await s.send('POST', '/api/v1/namespaces/team/configmaps', { body: configMap('late') });
  assert.equal(c.status, 403);
  assert.equal(c.json().reason, 'Forbidden');
  const ns = (await s.send('GET', '/api/v1/namespaces/team')).json();
  const f = await s.send('PUT', '/api/v1/namespaces/team/finalize', { body: { ...ns, spec: { finalizers: [] } } });
  assert.equal(f.status, 200);
  assert.equal((await s.send('GET', '/api/v1/namespaces/team')).status, 404);
  const sys = await s.send('DELETE', '/api/v1/namespaces/kube-system');
  assert.equal(sys.status, 403);
});

test('a CRD created over HTTP is served at once: discovery, OpenAPI, CRUD, schema validation and 415 for strategic merge', async (t) => {
  const s = await server(t);
  const crd = await s.send('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: widgetCrd() });
  assert.equal(crd.status, 201);
  const agg = (await s.send('GET', '/apis', { headers: { Accept: aggregatedAccept } })).json();
  const group = agg.items.find((i: { metadata: { name: string } }) => i.metadata.name === 'example.com');
  assert.equal(group.versions[0].resources[0].resource, 'widgets');
  assert.deepEqual(group.versions[0].resources[0].shortNames, ['wd']);
  assert.ok((await s.send('GET', '/openapi/v3')).json().paths['apis/example.com/v1']);
  const base = '/apis/example.com/v1/namespaces/default/widgets';
  const strict = await s.send('POST', `${base}?fieldValidation=Strict`, { body: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1, bogus: 1 } } });
  assert.equal(strict.status, 400);
  assert.match(strict.json().message, /unknown field "spec\.bogus"/);
  const ignore = await s.send('POST', `${base}?fieldValidation=Ignore`, { body: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1, bogus: 1 } } });
  assert.equal(ignore.status, 201);
  assert.deepEqual(ignore.json().spec, { size: 1 });
  const inv = await s.send('POST', base, { body: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'bad' }, spec: { size: 0 } } });
  assert.equal(inv.status, 422);
  assert.equal(inv.json().details.causes[0].field, 'spec.size');
  const smp = await s.send('PATCH', `${base}/w`, { body: { spec: { size: 2 } }, headers: { 'Content-Type': 'application/strategic-merge-patch+json' } });
  assert.equal(smp.status, 415);
  const table = (await s.send('GET', base, { headers: { Accept: tableAccept } })).json();
  assert.deepEqual(table.columnDefinitions.map((c: { name: string }) => c.name), ['Name', 'Age']);
  const del = await s.send('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com');
  assert.equal(del.status, 200);
  assert.equal((await s.send('GET', base)).status, 404);
  assert.equal(s.store.list('widgets.example.com').length, 0);
});

test('a malformed path escape is a 4xx, not an internal error', async (t) => {
  const s = await server(t);
  const r = await s.send('GET', '/api/v1/namespaces/%zz/configmaps');
  assert.ok(r.status >= 400 && r.status < 500, String(r.status));
  assert.equal(r.json().kind, 'Status');
});

test('`close()` ends open watches and is idempotent', async (t) => {
  const s = await server(t);
  const res = await s.open('/api/v1/namespaces/default/configmaps?watch=true');
  const ended = new Promise<void>((resolve) => {
    res.on('end', resolve);
    res.on('error', () => resolve());
    res.on('close', resolve);
  });
  res.resume();
  await s.server.close();
  await s.server.close();
  await ended;
});
