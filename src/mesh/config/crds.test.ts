import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import AjvImport, { type ValidateFunction } from 'ajv';
import type { KObject } from '../../api/types.ts';
import { istioCrds, NETWORKING_GROUP, SECURITY_GROUP, TELEMETRY_GROUP } from './index.ts';

type Node = { [key: string]: any };

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..', '..');
const SHARED = join(ROOT, '..', 'shared');
const ORACLE = join(SHARED, 'fixtures', 'istio', 'crd-all.gen.yaml');
const COURSE = join(SHARED, 'fixtures', 'course');
const TESTDATA = join(HERE, 'testdata');

// ajv ships CommonJS; under ESM the class may sit on `.default`.
const Ajv = ((AjvImport as any).default ?? AjvImport) as typeof AjvImport.default;

function byKind(crds: KObject[]): Map<string, KObject> {
  return new Map(crds.map((c) => [c.spec.names.kind as string, c]));
}

function storageVersion(c: KObject): Node {
  return c.spec.versions.find((v: Node) => v.storage);
}

/**
 * Turns a CRD schema into what the API server enforces with strict field validation: an object whose
 * properties are described (and not marked preserve-unknown-fields) rejects fields it does not name.
 */
function strict(s: Node): Node {
  if (Array.isArray(s)) return s.map(strict);
  if (!s || typeof s !== 'object') return s;
  const out: Node = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'properties') out[k] = Object.fromEntries(Object.entries(v as Node).map(([p, ps]) => [p, strict(ps)]));
    else out[k] = typeof v === 'object' ? strict(v as Node) : v;
  }
  if (s.properties && !s['x-kubernetes-preserve-unknown-fields'] && s.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  return out;
}

// Compiling a schema costs ~100 ms; the schemas are the same across tests, so compile each once.
const compiled = new Map<string, ValidateFunction>();

/** A validator for one kind at one version; apiVersion, kind and metadata are the API server's business. */
function validatorFor(crds: Map<string, KObject>, kind: string, version: string) {
  const key = `${kind}/${version}`;
  const cached = compiled.get(key);
  if (cached) return cached;
  const c = crds.get(kind);
  assert.ok(c, `no CRD for kind ${kind}`);
  const v = c.spec.versions.find((x: Node) => x.name === version && x.served);
  assert.ok(v, `${kind} is not served at ${version}`);
  const root = v.schema.openAPIV3Schema;
  const schema = { ...root, properties: { ...root.properties, spec: strict(root.properties.spec) } };
  const check = new Ajv({ strict: false, allErrors: true }).compile(schema);
  compiled.set(key, check);
  return check;
}

function readDocs(file: string): Node[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS())
    .filter((d) => d && typeof d === 'object');
}

function validate(crds: Map<string, KObject>, doc: Node): string[] {
  const [, version] = String(doc.apiVersion).split('/');
  const check = validatorFor(crds, doc.kind, version);
  return check(doc) ? [] : (check.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/**
 * The rules a Kubernetes API server applies to a structural schema, in short: every described node has
 * a type, and logical junctors (oneOf, anyOf, allOf, not) hold only value validations such as `required`.
 */
function structuralErrors(s: Node, path: string, out: string[]): void {
  if (!s.type && !s['x-kubernetes-int-or-string']) out.push(`${path}: no type`);
  if (s.properties && s.additionalProperties !== undefined) out.push(`${path}: properties and additionalProperties`);
  for (const j of ['oneOf', 'anyOf', 'allOf', 'not']) {
    const text = JSON.stringify(s[j] ?? null);
    if (/"(type|properties|items|additionalProperties|x-kubernetes-[a-z-]+)"/.test(text)) {
      out.push(`${path}: ${j} holds more than value validations`);
    }
  }
  for (const [name, p] of Object.entries((s.properties ?? {}) as Node)) structuralErrors(p, `${path}.${name}`, out);
  if (s.items) structuralErrors(s.items, `${path}[]`, out);
  if (typeof s.additionalProperties === 'object') structuralErrors(s.additionalProperties, `${path}{}`, out);
}

test('istioCrds() returns well-formed CRDs: name is plural.group, one storage version, object schemas', () => {
  const crds = istioCrds();
  assert.ok(crds.length >= 10);
  const names = new Set<string>();
  for (const c of crds) {
    const { group, names: n, versions, scope } = c.spec;
    assert.equal(c.apiVersion, 'apiextensions.k8s.io/v1');
    assert.equal(c.kind, 'CustomResourceDefinition');
    assert.equal(c.metadata.name, `${n.plural}.${group}`);
    assert.ok(!names.has(c.metadata.name!), `duplicate ${c.metadata.name}`);
    names.add(c.metadata.name!);
    assert.ok([NETWORKING_GROUP, SECURITY_GROUP, TELEMETRY_GROUP].includes(group));
    assert.equal(scope, 'Namespaced');
    assert.ok(n.kind && n.plural && n.singular && n.listKind === `${n.kind}List`, `names of ${n.kind}`);
    assert.equal(n.plural, n.plural.toLowerCase());
    assert.deepEqual(n.categories, ['istio-io', group.replaceAll('.', '-')]);
    assert.equal(versions.filter((v: Node) => v.storage).length, 1, `${n.kind} has one storage version`);
    for (const v of versions) {
      assert.equal(v.served, true);
      assert.deepEqual(v.subresources, { status: {} });
      const s = v.schema.openAPIV3Schema;
      assert.equal(s.type, 'object');
      assert.equal(s.properties.spec.type, 'object');
      assert.deepEqual(s.properties.status, { type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
      const errors: string[] = [];
      structuralErrors(s, `${n.kind}@${v.name}`, errors);
      assert.deepEqual(errors, [], 'schemas are structural');
      for (const col of v.additionalPrinterColumns ?? []) {
        assert.ok(col.name && col.type && col.jsonPath.startsWith('.') && col.description, `column of ${n.kind}`);
      }
    }
  }
});

test('istioCrds() carries the short names kubectl users type', () => {
  const crds = byKind(istioCrds());
  const expected: Record<string, string[] | undefined> = {
    VirtualService: ['vs'],
    DestinationRule: ['dr'],
    Gateway: ['gw'],
    ServiceEntry: ['se'],
    WorkloadEntry: ['we'],
    WorkloadGroup: ['wg'],
    Sidecar: undefined,
    PeerAuthentication: ['pa'],
    AuthorizationPolicy: ['ap'],
    RequestAuthentication: ['ra'],
    Telemetry: ['telemetry'],
  };
  for (const [kind, shortNames] of Object.entries(expected)) {
    assert.deepEqual(crds.get(kind)?.spec.names.shortNames, shortNames, kind);
  }
  assert.equal(storageVersion(crds.get('VirtualService')!).name, 'v1');
  assert.equal(storageVersion(crds.get('Telemetry')!).name, 'v1alpha1');
});

test('istioCrds() builds fresh objects: editing one result leaves the next untouched', () => {
  const first = istioCrds();
  first[0].spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.hosts = { type: 'integer' };
  const again = istioCrds();
  assert.equal(again[0].spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.hosts.type, 'array');
  assert.notEqual(again[0].spec.versions[0].schema, again[0].spec.versions[1].schema);
});

test('every testdata/valid document validates against its CRD schema', () => {
  const crds = byKind(istioCrds());
  const files = readdirSync(join(TESTDATA, 'valid'));
  assert.ok(files.length >= 6);
  for (const f of files) {
    for (const doc of readDocs(join(TESTDATA, 'valid', f))) {
      assert.deepEqual(validate(crds, doc), [], f);
    }
  }
});

test('DestinationRule accepts connectionPool with and without tcp: {maxConnections: 1}', () => {
  const crds = byKind(istioCrds());
  const http = { http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 };
  for (const connectionPool of [{ http }, { tcp: { maxConnections: 1 }, http }]) {
    const doc = {
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'DestinationRule',
      metadata: { name: 'dr-httpbin' },
      spec: { host: 'httpbin', trafficPolicy: { connectionPool } },
    };
    assert.deepEqual(validate(crds, doc), []);
  }
});

test('every testdata/invalid document is rejected by its CRD schema', (t) => {
  const crds = byKind(istioCrds());
  const files = readdirSync(join(TESTDATA, 'invalid'));
  assert.ok(files.includes('destinationrule-no-host.yaml'));
  for (const f of files) {
    for (const doc of readDocs(join(TESTDATA, 'invalid', f))) {
      const errors = validate(crds, doc);
      assert.notDeepEqual(errors, [], `${f} should fail`);
      if (process.env.SKIFF_TEST_VERBOSE) t.diagnostic(`${f}: ${errors.join('; ')}`);
    }
  }
  const [noHost] = readDocs(join(TESTDATA, 'invalid', 'destinationrule-no-host.yaml'));
  assert.ok(validate(crds, noHost).some((m) => m.includes("must have required property 'host'")));
});

/** Differences between our schema node and upstream's at `path`: types, required lists, enums, fields. */
function compareSchema(ours: Node, theirs: Node, path: string, out: string[]): void {
  if (theirs === undefined) {
    out.push(`${path}: not in upstream`);
    return;
  }
  if (ours.type !== theirs.type) out.push(`${path}: type ${ours.type}, upstream ${theirs.type}`);
  if (ours['x-kubernetes-preserve-unknown-fields']) return;
  const req = (s: Node) => [...(s.required ?? [])].sort().join(',');
  if (req(ours) !== req(theirs)) out.push(`${path}: required [${req(ours)}], upstream [${req(theirs)}]`);
  if (ours.enum && [...ours.enum].sort().join() !== [...(theirs.enum ?? [])].sort().join()) {
    out.push(`${path}: enum differs from upstream`);
  }
  if (ours.properties) {
    for (const name of Object.keys(theirs.properties ?? {})) {
      if (!(name in ours.properties)) out.push(`${path}.${name}: upstream field missing`);
    }
    for (const [name, s] of Object.entries(ours.properties as Node)) {
      compareSchema(s, theirs.properties?.[name], `${path}.${name}`, out);
    }
  }
  if (ours.items) compareSchema(ours.items, theirs.items, `${path}[]`, out);
  if (typeof ours.additionalProperties === 'object') {
    compareSchema(ours.additionalProperties, theirs.additionalProperties, `${path}{}`, out);
  }
}

function columns(v: Node): { name: string; type: string; jsonPath: string; priority: number }[] {
  return (v.additionalPrinterColumns ?? []).map((c: Node) => ({
    name: c.name,
    type: c.type,
    jsonPath: c.jsonPath,
    priority: c.priority ?? 0,
  }));
}

test('istioCrds() agrees with Istio upstream CRDs: names, versions, printer columns, fields, required', (t) => {
  if (!existsSync(ORACLE)) {
    t.skip('../shared is absent: the Istio CRD oracle check needs shared/fixtures/istio/crd-all.gen.yaml');
    return;
  }
  const upstream = byKind(readDocs(ORACLE).filter((d) => d.kind === 'CustomResourceDefinition') as KObject[]);
  const diffs: string[] = [];
  for (const c of istioCrds()) {
    const kind = c.spec.names.kind;
    const u = upstream.get(kind);
    assert.ok(u, `upstream has no ${kind}`);
    assert.equal(c.metadata.name, u.metadata.name);
    assert.equal(c.spec.group, u.spec.group);
    assert.equal(c.spec.scope, u.spec.scope);
    for (const k of ['kind', 'listKind', 'plural', 'singular', 'shortNames', 'categories']) {
      assert.deepEqual(c.spec.names[k], u.spec.names[k], `${kind} names.${k}`);
    }
    const served = (x: KObject) => x.spec.versions.filter((v: Node) => v.served).map((v: Node) => v.name).sort();
    assert.deepEqual(served(c), served(u), `${kind} served versions`);
    assert.equal(storageVersion(c).name, storageVersion(u).name, `${kind} storage version`);
    for (const v of c.spec.versions) {
      const uv: Node = u.spec.versions.find((x: Node) => x.name === v.name);
      assert.deepEqual(columns(v), columns(uv), `${kind} ${v.name} printer columns`);
      assert.deepEqual(v.subresources, uv.subresources, `${kind} ${v.name} subresources`);
      const ours = v.schema.openAPIV3Schema;
      const theirs = uv.schema.openAPIV3Schema;
      // First level of spec: the same field names, none invented, none missing.
      assert.deepEqual(
        Object.keys(ours.properties.spec.properties).sort(),
        Object.keys(theirs.properties.spec.properties).sort(),
        `${kind} ${v.name} spec fields`,
      );
      compareSchema(ours, theirs, `${kind}@${v.name}`, diffs);
    }
  }
  // Collected over every kind so that one run lists every difference.
  assert.deepEqual(diffs, [], 'our schemas differ from upstream');
});

function yamlFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yamlFiles(p, out);
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

test('every Istio document of the course validates against its CRD schema', (t) => {
  if (!existsSync(COURSE)) {
    t.skip('../shared is absent: the course check needs shared/fixtures/course');
    return;
  }
  const crds = byKind(istioCrds());
  let checked = 0;
  for (const f of yamlFiles(COURSE)) {
    for (const doc of readDocs(f)) {
      if (!/\.istio\.io\//.test(String(doc.apiVersion)) || !crds.has(doc.kind)) continue;
      assert.deepEqual(validate(crds, doc), [], f);
      checked++;
    }
  }
  assert.ok(checked > 0, 'the course has Istio documents');
});
