import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../types.ts';
import { crdPrinter } from './crd.ts';
import { compileJsonPath, evaluateJsonPath, JsonPathError } from './jsonpath.ts';

const NOW = Date.parse('2025-01-01T00:00:05Z');

const VIRTUAL_SERVICE_COLUMNS = [
  { name: 'Gateways', type: 'string', jsonPath: '.spec.gateways', description: 'The names of gateways and sidecars that should apply these routes' },
  { name: 'Hosts', type: 'string', jsonPath: '.spec.hosts', description: 'The destination hosts to which traffic is being sent' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' },
];

const reviews: KObject = {
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'reviews', namespace: 'default', creationTimestamp: '2025-01-01T00:00:00Z', labels: { 'app.kubernetes.io/name': 'reviews' } },
  spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' }, weight: 90 }, { destination: { host: 'reviews', subset: 'v2' }, weight: 10 }] }] },
};

test('crdPrinter() prints the Istio VirtualService columns as [name, null, ["reviews"], age]', () => {
  const p = crdPrinter(VIRTUAL_SERVICE_COLUMNS);
  assert.deepEqual(p.columns.map((c) => c.name), ['Name', 'Gateways', 'Hosts', 'Age']);
  assert.equal(p.columns[0].format, 'name');
  assert.equal(p.columns[3].type, 'date');
  assert.deepEqual(p.cells(reviews, NOW), ['reviews', null, '["reviews"]', '5s']);
});

test('crdPrinter() defaults to Name, Age when a version declares no columns', () => {
  const p = crdPrinter([]);
  assert.deepEqual(p.columns.map((c) => [c.name, c.type]), [['Name', 'string'], ['Age', 'date']]);
  assert.deepEqual(p.cells(reviews, NOW), ['reviews', '5s']);
});

test('crdPrinter() converts cells by declared type like upstream cellForJSONValue', () => {
  const p = crdPrinter([
    { name: 'Weight', type: 'integer', jsonPath: '.spec.http[0].route[*].weight' },
    { name: 'Ratio', type: 'number', jsonPath: '.spec.ratio' },
    { name: 'On', type: 'boolean', jsonPath: '.spec.on' },
    { name: 'Label', type: 'string', jsonPath: ".metadata.labels['app.kubernetes.io/name']", priority: 1 },
    { name: 'Subset', type: 'string', jsonPath: '.spec.http[0].route[-1].destination.subset' },
    { name: 'Dest', type: 'string', jsonPath: '.spec.http[0].route[0].destination' },
    { name: 'Bad date', type: 'date', jsonPath: '.spec.when' },
    { name: 'Wrong type', type: 'integer', jsonPath: '.metadata.name' },
  ]);
  const obj: KObject = { ...reviews, spec: { ...reviews.spec, ratio: 0.5, on: true, when: 'yesterday' } };
  assert.deepEqual(p.cells(obj, NOW), ['reviews', 90, 0.5, true, 'reviews', 'v2', '{"host":"reviews","subset":"v1"}', '<invalid>', null]);
  assert.equal(p.columns[4].priority, 1);
  assert.equal(p.columns[5].description, 'Custom resource definition column (in JSONPath format): .spec.http[0].route[-1].destination.subset');
});

test('crdPrinter() prints strings from numbers and booleans and Go-escapes JSON', () => {
  const p = crdPrinter([
    { name: 'N', type: 'string', jsonPath: '.spec.n' },
    { name: 'F', type: 'string', jsonPath: '.spec.f' },
    { name: 'B', type: 'string', jsonPath: '.spec.b' },
    { name: 'M', type: 'string', jsonPath: '.spec.m' },
  ]);
  const obj: KObject = { metadata: { name: 'x' }, spec: { n: 3, f: 1.5, b: false, m: { z: 1, a: '<b>' } } };
  assert.deepEqual(p.cells(obj, NOW), ['x', '3', '1.5', 'false', '{"a":"\\u003cb\\u003e","z":1}']);
});

test('compileJsonPath() accepts {} wrapping and escaped dots, and rejects filters', () => {
  const obj = { metadata: { labels: { 'a.b/c': 'v' } }, items: [{ n: 1 }, { n: 2 }, { n: 3 }] };
  assert.deepEqual(evaluateJsonPath(compileJsonPath('{.metadata.labels.a\\.b/c}'), obj), ['v']);
  assert.deepEqual(evaluateJsonPath(compileJsonPath('.metadata.labels["a.b/c"]'), obj), ['v']);
  assert.deepEqual(evaluateJsonPath(compileJsonPath('.items[*].n'), obj), [1, 2, 3]);
  assert.deepEqual(evaluateJsonPath(compileJsonPath('.items[1:].n'), obj), [2, 3]);
  assert.deepEqual(evaluateJsonPath(compileJsonPath('.items[5].n'), obj), []);
  assert.deepEqual(evaluateJsonPath(compileJsonPath('.missing.x'), obj), []);
  assert.throws(() => compileJsonPath('.items[?(@.n==1)]'), (e: unknown) => e instanceof JsonPathError && e.code === 'SKIFF_ERR_JSONPATH');
  assert.throws(() => compileJsonPath('..n'), JsonPathError);
});

test('crdPrinter() keeps a column with an unsupported path and prints null cells for it', () => {
  const p = crdPrinter([{ name: 'F', type: 'string', jsonPath: '.spec[?(@.x)]' }]);
  assert.deepEqual(p.cells(reviews, NOW), ['reviews', null]);
});
