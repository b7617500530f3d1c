import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareKubeVersions, fromCrd, ResourceCatalog } from './resources.ts';
import { widgetCrd } from './testing.test-helper.ts';

test('`compareKubeVersions()` orders GA before beta before alpha, higher numbers first, then other names', () => {
  const sorted = ['v1alpha1', 'v2beta1', 'foo', 'v1', 'v1beta2', 'v2', 'v1beta1', 'v11alpha2', 'bar'].sort(compareKubeVersions);
  assert.deepEqual(sorted, ['v2', 'v1', 'v2beta1', 'v1beta2', 'v1beta1', 'v11alpha2', 'v1alpha1', 'bar', 'foo']);
  assert.equal(compareKubeVersions('v1', 'v1'), 0);
  assert.equal(compareKubeVersions('foo', 'foo'), 0);
});

test('`fromCrd()` reads names, scope, served versions by priority, the storage version and subresources', () => {
  const crd = widgetCrd();
  crd.spec.scope = 'Cluster';
  crd.spec.versions = [
    { ...crd.spec.versions[0], name: 'v1alpha1', storage: false },
    { ...crd.spec.versions[0], name: 'v1beta1', storage: true, subresources: { scale: {} } },
    { ...crd.spec.versions[0], name: 'v1', storage: false, subresources: undefined },
    { ...crd.spec.versions[0], name: 'v2', served: false, storage: false },
  ];
  const info = fromCrd(crd);
  assert.deepEqual(info, {
    key: 'widgets.example.com',
    group: 'example.com',
    version: 'v1beta1',
    versions: ['v1', 'v1beta1', 'v1alpha1'],
    resource: 'widgets',
    singular: 'widget',
    kind: 'Widget',
    listKind: 'WidgetList',
    namespaced: false,
    shortNames: ['wd'],
    categories: [],
    subresources: ['status', 'scale'],
    custom: true,
  });
  assert.equal(fromCrd({ metadata: {}, spec: { ...widgetCrd().spec, versions: [{ name: 'v1', served: false, storage: true }] } }), undefined);
  assert.equal(fromCrd({ metadata: {}, spec: {} }), undefined);
});

test('`ResourceCatalog.lookup()` resolves group, version and plural, and only served versions', () => {
  const c = new ResourceCatalog();
  assert.equal(c.lookup('', 'v1', 'pods')?.key, 'pods');
  assert.equal(c.lookup('apps', 'v1', 'deployments')?.key, 'deployments.apps');
  assert.equal(c.lookup('apps', 'v1beta1', 'deployments'), undefined);
  assert.equal(c.lookup('', 'v1', 'deployments'), undefined);
  assert.equal(c.lookup('events.k8s.io', 'v1', 'events')?.key, 'events.events.k8s.io');
  const info = c.addCrd(widgetCrd());
  assert.equal(c.lookup('example.com', 'v1', 'widgets'), info);
  assert.equal(c.crdVersion('widgets.example.com', 'v1')?.name, 'v1');
  c.removeCrd('widgets.example.com');
  assert.equal(c.lookup('example.com', 'v1', 'widgets'), undefined);
  assert.equal(c.crdVersion('widgets.example.com', 'v1'), undefined);
});
