import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../types.ts';
import { compileCrdSchema, defaultObject, pruneBySchema, validateObject } from './index.ts';

const schema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['host'],
      properties: {
        host: { type: 'string', minLength: 1 },
        hosts: { type: 'array', items: { type: 'string' }, maxItems: 3 },
        mode: { type: 'string', enum: ['STRICT', 'PERMISSIVE'] },
        weight: { type: 'integer', minimum: 0, maximum: 100 },
        port: { 'x-kubernetes-int-or-string': true },
        note: { type: 'string', nullable: true, maxLength: 5 },
        extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        http: {
          type: 'array',
          items: {
            type: 'object',
            properties: { timeout: { type: 'string', pattern: '^[0-9]+s$' }, route: { type: 'object', properties: { host: { type: 'string' } } } },
          },
        },
      },
    },
  },
};

function cr(spec: unknown): KObject {
  return { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'vs' }, spec } as KObject;
}

test('compileCrdSchema() accepts a valid object and caches the compiled validator', () => {
  const v = compileCrdSchema(schema);
  assert.deepEqual(v(cr({ host: 'a', hosts: ['x'], mode: 'STRICT', weight: 10, port: 'http', note: null, http: [{ timeout: '5s' }] })), []);
  assert.equal(compileCrdSchema(schema), v);
});

test('compileCrdSchema() reports a missing required field as spec.host: Required value', () => {
  const causes = compileCrdSchema(schema)(cr({}));
  assert.deepEqual(causes, [{ reason: 'FieldValueRequired', field: 'spec.host', message: 'Required value' }]);
});

test('compileCrdSchema() words type errors as kube-apiserver does', () => {
  const causes = compileCrdSchema(schema)(cr({ host: 'a', hosts: 'string' }));
  assert.deepEqual(causes, [
    { reason: 'FieldValueTypeInvalid', field: 'spec.hosts', message: 'Invalid value: "string": spec.hosts in body must be of type array: "string"' },
  ]);
});

test('compileCrdSchema() uses list indexes in paths and reports pattern, enum, range and length errors', () => {
  const causes = compileCrdSchema(schema)(cr({ host: 'a', mode: 'X', weight: -1, note: 'toolong', hosts: ['a', 'b', 'c', 'd'], http: [{ timeout: 'soon' }] }));
  const byField = Object.fromEntries(causes.map((c) => [c.field, c]));
  assert.equal(byField['spec.http[0].timeout'].message, `Invalid value: "soon": spec.http[0].timeout in body should match '^[0-9]+s$'`);
  assert.equal(byField['spec.mode'].reason, 'FieldValueNotSupported');
  assert.equal(byField['spec.mode'].message, 'Unsupported value: "X": supported values: "STRICT", "PERMISSIVE"');
  assert.equal(byField['spec.weight'].message, 'Invalid value: -1: spec.weight in body should be greater than or equal to 0');
  assert.equal(byField['spec.note'].reason, 'FieldValueTooLong');
  assert.equal(byField['spec.hosts'].message, 'Too many: 4: must have at most 3 items');
});

test('compileCrdSchema() accepts int-or-string and nullable values, rejects other types', () => {
  const v = compileCrdSchema(schema);
  assert.deepEqual(v(cr({ host: 'a', port: 80 })), []);
  const causes = v(cr({ host: 'a', port: true }));
  assert.equal(causes[0].field, 'spec.port');
  assert.equal(causes[0].reason, 'FieldValueTypeInvalid');
});

test('compileCrdSchema() never throws on a broken schema', () => {
  const v = compileCrdSchema({ type: 'object', properties: { a: { pattern: '(' } } });
  assert.equal(typeof v, 'function');
  assert.ok(Array.isArray(v(cr({}))));
});

test('pruneBySchema() drops undeclared fields and keeps preserved ones', () => {
  const obj = cr({ host: 'a', foo: 1, extra: { anything: { goes: true } }, labels: { x: 'y' }, http: [{ timeout: '1s', bar: 2, route: { host: 'h', baz: 3 } }] });
  (obj.metadata as Record<string, unknown>).bogus = 1;
  obj.status = { ok: true };
  const removed = pruneBySchema(obj, schema);
  assert.deepEqual(removed, ['metadata.bogus', 'spec.foo', 'spec.http[0].bar', 'spec.http[0].route.baz', 'status']);
  assert.deepEqual(obj.spec, { host: 'a', extra: { anything: { goes: true } }, labels: { x: 'y' }, http: [{ timeout: '1s', route: { host: 'h' } }] });
  assert.equal(obj.apiVersion, 'networking.istio.io/v1');
});

test('validateObject() checks a CRD: one storage version, name = plural.group, schema required', () => {
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'virtualservices.networking.istio.io' },
    spec: {
      group: 'networking.istio.io',
      scope: 'Namespaced',
      names: { plural: 'virtualservices', kind: 'VirtualService' },
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: schema } }],
    },
  } as KObject;
  defaultObject('customresourcedefinitions.apiextensions.k8s.io', crd);
  assert.equal(crd.spec.names.listKind, 'VirtualServiceList');
  assert.deepEqual(validateObject('customresourcedefinitions.apiextensions.k8s.io', crd), []);
  const bad = structuredClone(crd);
  bad.metadata.name = 'vs.example.com';
  bad.spec.versions.push({ name: 'v2', served: true, storage: true });
  const fields = validateObject('customresourcedefinitions.apiextensions.k8s.io', bad).map((c) => `${c.field} ${c.reason}`);
  assert.deepEqual(fields.sort(), [
    'metadata.name FieldValueInvalid',
    'spec.versions FieldValueInvalid',
    'spec.versions[1].schema.openAPIV3Schema FieldValueRequired',
  ]);
});
