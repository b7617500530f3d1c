import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregated, aggregatedContentType, legacyCoreVersions, legacyGroup, legacyGroupList, resourceList } from './discovery.ts';
import { openapiV3Document, openapiV3Index } from './openapi.ts';
import { ResourceCatalog } from './resources.ts';
import { widgetCrd } from './testing.test-helper.ts';
import type { KObject } from './types.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */

/** A catalog with the widget CRD served in v1beta1 (storage) and v1. */
function catalogWithTwoVersionCrd(): ResourceCatalog {
  const c = new ResourceCatalog();
  const crd = widgetCrd();
  const v1 = crd.spec.versions[0];
  crd.spec.versions = [{ ...v1, name: 'v1beta1', storage: true }, { ...v1, name: 'v1', storage: false, subresources: { status: {}, scale: { specReplicasPath: '.spec.size' } } }];
  c.addCrd(crd);
  return c;
}

test('`aggregatedContentType` is exactly the type kubectl needs to read aggregated discovery', () => {
  assert.equal(aggregatedContentType, 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
});

test('`aggregated()` for /api has one unnamed core group whose resources carry responseKind, scope and short names', () => {
  const doc = aggregated(new ResourceCatalog().all(), true) as any;
  assert.equal(doc.kind, 'APIGroupDiscoveryList');
  assert.equal(doc.apiVersion, 'apidiscovery.k8s.io/v2');
  assert.equal(doc.items.length, 1);
  assert.equal(doc.items[0].metadata.name, undefined);
  const v = doc.items[0].versions[0];
  assert.equal(v.version, 'v1');
  const pods = v.resources.find((r: any) => r.resource === 'pods');
  assert.deepEqual(pods.responseKind, { group: '', version: 'v1', kind: 'Pod' });
  assert.equal(pods.scope, 'Namespaced');
  assert.equal(pods.singularResource, 'pod');
  assert.deepEqual(pods.shortNames, ['po']);
  assert.deepEqual(pods.categories, ['all']);
  const ns = v.resources.find((r: any) => r.resource === 'namespaces');
  assert.equal(ns.scope, 'Cluster');
  assert.ok(v.resources.every((r: any) => r.responseKind && r.scope), 'every resource has the two required fields');
});

test('`aggregated()` for /apis lists named groups; scale subresources answer autoscaling/v1 Scale', () => {
  const doc = aggregated(new ResourceCatalog().all(), false) as any;
  const names = doc.items.map((i: any) => i.metadata.name);
  assert.ok(!names.includes(undefined) && !names.includes(''));
  for (const g of ['apps', 'batch', 'autoscaling', 'networking.k8s.io', 'apiextensions.k8s.io']) assert.ok(names.includes(g), g);
  const apps = doc.items.find((i: any) => i.metadata.name === 'apps');
  const deploy = apps.versions[0].resources.find((r: any) => r.resource === 'deployments');
  assert.deepEqual(deploy.verbs, ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']);
  assert.deepEqual(deploy.shortNames, ['deploy']);
  const scale = deploy.subresources.find((s: any) => s.subresource === 'scale');
  assert.deepEqual(scale.responseKind, { group: 'autoscaling', version: 'v1', kind: 'Scale' });
  assert.deepEqual(scale.verbs, ['get', 'patch', 'update']);
  const crd = doc.items.find((i: any) => i.metadata.name === 'apiextensions.k8s.io').versions[0].resources[0];
  assert.deepEqual(crd.shortNames, ['crd', 'crds']);
  assert.equal(crd.scope, 'Cluster');
});

test('the "all" category is the upstream set, so `kubectl get all` lists the same kinds', () => {
  const all = new ResourceCatalog().all().filter((r) => r.categories.includes('all')).map((r) => r.resource).sort();
  assert.deepEqual(all, ['cronjobs', 'daemonsets', 'deployments', 'horizontalpodautoscalers', 'jobs', 'pods', 'replicasets', 'replicationcontrollers', 'services', 'statefulsets']);
});

test('a CRD shows up in discovery with its preferred version first, and leaves when removed', () => {
  const c = catalogWithTwoVersionCrd();
  const doc = aggregated(c.all(), false) as any;
  const g = doc.items.find((i: any) => i.metadata.name === 'example.com');
  assert.deepEqual(g.versions.map((v: any) => v.version), ['v1', 'v1beta1']);
  const w = g.versions[0].resources[0];
  assert.equal(w.resource, 'widgets');
  assert.deepEqual(w.responseKind, { group: 'example.com', version: 'v1', kind: 'Widget' });
  assert.deepEqual(w.shortNames, ['wd']);
  assert.deepEqual(w.subresources.map((s: any) => s.subresource).sort(), ['scale', 'status']);
  const legacy = legacyGroupList(c.all()) as any;
  const lg = legacy.groups.find((x: any) => x.name === 'example.com');
  assert.deepEqual(lg.preferredVersion, { groupVersion: 'example.com/v1', version: 'v1' });
  assert.deepEqual(lg.versions.map((v: any) => v.version), ['v1', 'v1beta1']);
  assert.equal((resourceList(c.all(), 'example.com', 'v1beta1') as any).groupVersion, 'example.com/v1beta1');
  c.removeCrd('widgets.example.com');
  assert.equal((aggregated(c.all(), false) as any).items.find((i: any) => i.metadata.name === 'example.com'), undefined);
  assert.equal(resourceList(c.all(), 'example.com', 'v1'), undefined);
});

test('legacy `/api`, `/apis`, `/apis/<g>` and `/apis/<g>/<v>` have the shapes kubectl accepted', () => {
  const all = new ResourceCatalog().all();
  assert.deepEqual(legacyCoreVersions('127.0.0.1:6443'), { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }] });
  const list = legacyGroupList(all) as any;
  assert.equal(list.kind, 'APIGroupList');
  assert.deepEqual(list.groups.find((g: any) => g.name === 'apps'), { name: 'apps', versions: [{ groupVersion: 'apps/v1', version: 'v1' }], preferredVersion: { groupVersion: 'apps/v1', version: 'v1' } });
  assert.equal((legacyGroup(all, 'batch') as any).kind, 'APIGroup');
  assert.equal(legacyGroup(all, 'nosuch.example.com'), undefined);
  const apps = resourceList(all, 'apps', 'v1') as any;
  assert.equal(apps.kind, 'APIResourceList');
  assert.equal(apps.groupVersion, 'apps/v1');
  const d = apps.resources.find((r: any) => r.name === 'deployments');
  assert.deepEqual([d.singularName, d.namespaced, d.kind], ['deployment', true, 'Deployment']);
  assert.deepEqual(apps.resources.find((r: any) => r.name === 'deployments/scale'), { name: 'deployments/scale', singularName: '', namespaced: true, kind: 'Scale', verbs: ['get', 'patch', 'update'], group: 'autoscaling', version: 'v1' });
  const core = resourceList(all, '', 'v1') as any;
  assert.equal(core.groupVersion, 'v1');
  assert.equal(core.resources.find((r: any) => r.name === 'pods/exec').verbs.join(), 'create,get');
  assert.equal(resourceList(all, 'apps', 'v2'), undefined);
});

test('`openapiV3Index()` names every group-version with a stable content hash', () => {
  const all = new ResourceCatalog().all();
  const idx = openapiV3Index(all) as any;
  for (const p of ['api/v1', 'apis/apps/v1', 'apis/batch/v1', 'apis/autoscaling/v2', 'apis/apiextensions.k8s.io/v1']) {
    assert.match(idx.paths[p]?.serverRelativeURL ?? '', new RegExp(`^/openapi/v3/${p.replace(/\./g, '\\.')}\\?hash=[0-9A-F]{32}$`), p);
  }
  assert.deepEqual(openapiV3Index(new ResourceCatalog().all()), idx);
  const withCrd = openapiV3Index(catalogWithTwoVersionCrd().all()) as any;
  assert.ok(withCrd.paths['apis/example.com/v1'] && withCrd.paths['apis/example.com/v1beta1']);
});

test('`openapiV3Document()` has a PATCH op with the fieldValidation parameter and the GVK for each kind', () => {
  const all = catalogWithTwoVersionCrd().all();
  for (const gv of ['api/v1', 'apis/apps/v1', 'apis/example.com/v1beta1']) {
    const doc = openapiV3Document(all, gv) as any;
    assert.equal(doc.openapi, '3.0.0');
    const [group, version] = gv.startsWith('api/') ? ['', 'v1'] : gv.slice(5).split('/');
    const expected = all.filter((r) => r.group === group && r.versions.includes(version)).map((r) => r.kind).sort();
    const found: string[] = [];
    for (const [path, item] of Object.entries(doc.paths as Record<string, any>)) {
      const op = item.patch;
      assert.ok(op.parameters.some((p: any) => p.name === 'fieldValidation' && p.in === 'query'), path);
      assert.deepEqual([op['x-kubernetes-group-version-kind'].group, op['x-kubernetes-group-version-kind'].version], [group, version]);
      found.push(op['x-kubernetes-group-version-kind'].kind);
    }
    assert.deepEqual(found.sort(), expected, gv);
  }
  const core = openapiV3Document(all, 'api/v1') as any;
  assert.ok(core.paths['/api/v1/namespaces/{name}'], 'cluster-scoped path');
  assert.ok(core.paths['/api/v1/namespaces/{namespace}/pods/{name}'], 'namespaced path');
  assert.equal(openapiV3Document(all, 'apis/nosuch/v1'), undefined);
});

test('a CRD whose resource is built in is not allowed to replace it', () => {
  const c = new ResourceCatalog();
  const fake: KObject = {
    metadata: { name: 'deployments.apps' },
    spec: { group: 'apps', scope: 'Namespaced', names: { plural: 'deployments', kind: 'Fake' }, versions: [{ name: 'v1', served: true, storage: true }] },
  };
  assert.equal(c.addCrd(fake), undefined);
  assert.equal(c.get('deployments.apps')?.kind, 'Deployment');
  c.removeCrd('deployments.apps');
  assert.equal(c.get('deployments.apps')?.kind, 'Deployment');
});
