/** CustomResourceDefinition validation (basic subset of apiextensions-apiserver's ValidateCustomResourceDefinition). */
import type { KObject } from '../types.ts';
import type { Errs } from './util.ts';
import { child, getArr, getBool, getObj, getObjList, getStr, index, invalid, isObj, notSupported, required } from './util.ts';
import { isDNS1035Label, isDNS1123Subdomain } from './names.ts';
import { immutable } from './meta.ts';
import { schemaCompileError } from './schema.ts';

const VERSIONS_RAW = '[]apiextensions.CustomResourceDefinitionVersion{...}';

function validateNames(errs: Errs, v: unknown): void {
  const p = 'spec.names';
  const names = getObj(errs, v, p);
  if (!names) {
    required(errs, `${p}.plural`);
    required(errs, `${p}.kind`);
    return;
  }
  const plural = getStr(errs, names.plural, `${p}.plural`);
  if (!plural) required(errs, `${p}.plural`);
  else {
    const msgs = isDNS1035Label(plural);
    if (msgs.length) invalid(errs, `${p}.plural`, plural, msgs.join(','));
  }
  const singular = getStr(errs, names.singular, `${p}.singular`);
  if (singular) {
    const msgs = isDNS1035Label(singular);
    if (msgs.length) invalid(errs, `${p}.singular`, singular, msgs.join(','));
  }
  for (const f of ['kind', 'listKind']) {
    const s = getStr(errs, names[f], `${p}.${f}`);
    if (!s) {
      if (f === 'kind' || names[f] !== undefined) required(errs, `${p}.${f}`);
      continue;
    }
    const msgs = isDNS1035Label(s.toLowerCase());
    if (msgs.length) invalid(errs, `${p}.${f}`, s, `may have mixed case, but should otherwise match: ${msgs.join(',')}`);
  }
  if (names.kind && names.kind === names.listKind) invalid(errs, `${p}.listKind`, names.listKind, 'kind and listKind may not be the same');
  getArr(errs, names.shortNames, `${p}.shortNames`)?.forEach((sn, i) => {
    const s = getStr(errs, sn, index(`${p}.shortNames`, i));
    if (s === undefined) return;
    const msgs = isDNS1035Label(s);
    if (msgs.length) invalid(errs, index(`${p}.shortNames`, i), s, msgs.join(','));
  });
}

/** Validates a CRD on create: group, names, scope, versions (one storage version), schemas, name = plural.group. */
export function validateCrd(errs: Errs, obj: KObject): void {
  const spec = getObj(errs, obj.spec, 'spec') ?? {};
  const group = getStr(errs, spec.group, 'spec.group');
  if (!group) required(errs, 'spec.group');
  else {
    for (const m of isDNS1123Subdomain(group)) invalid(errs, 'spec.group', group, m);
    if (group.split('.').length < 2) invalid(errs, 'spec.group', group, 'should be a domain with at least one dot');
  }
  validateNames(errs, spec.names);
  const names = isObj(spec.names) ? spec.names : {};
  const name = obj.metadata?.name;
  if (typeof name === 'string' && name !== `${names.plural}.${group}`) invalid(errs, 'metadata.name', name, 'must be spec.names.plural+"."+spec.group');
  const scope = getStr(errs, spec.scope, 'spec.scope');
  if (!scope) required(errs, 'spec.scope');
  else if (scope !== 'Cluster' && scope !== 'Namespaced') notSupported(errs, 'spec.scope', scope, ['Cluster', 'Namespaced']);

  const versions = getObjList(errs, spec.versions, 'spec.versions');
  if (versions.length === 0) {
    if (!Array.isArray(spec.versions) || spec.versions.length === 0) required(errs, 'spec.versions', 'must have exactly one version marked as storage version');
    return;
  }
  let storage = 0;
  let served = 0;
  const seen = new Set<string>();
  for (const [i, ver] of versions) {
    const p = index('spec.versions', i);
    const vname = getStr(errs, ver.name, child(p, 'name'));
    if (!vname) required(errs, child(p, 'name'));
    else {
      const msgs = isDNS1035Label(vname);
      if (msgs.length) invalid(errs, child(p, 'name'), vname, msgs.join(','));
      if (seen.has(vname)) invalid(errs, 'spec.versions', null, 'must contain unique version names', VERSIONS_RAW);
      seen.add(vname);
    }
    if (getBool(errs, ver.storage, child(p, 'storage'))) storage++;
    if (getBool(errs, ver.served, child(p, 'served'))) served++;
    const schemaPath = child(p, 'schema.openAPIV3Schema');
    const wrapper = getObj(errs, ver.schema, child(p, 'schema'));
    const schema = wrapper ? getObj(errs, wrapper.openAPIV3Schema, schemaPath) : undefined;
    if (!schema) {
      required(errs, schemaPath, 'schemas are required');
      continue;
    }
    if (schema.type === undefined || schema.type === '') required(errs, child(schemaPath, 'type'), 'must not be empty at the root');
    else if (schema.type !== 'object') invalid(errs, child(schemaPath, 'type'), schema.type, 'must be object at the root');
    const compileErr = schemaCompileError(schema);
    if (compileErr) invalid(errs, schemaPath, null, compileErr, '"<schema>"');
  }
  if (storage !== 1) invalid(errs, 'spec.versions', null, 'must have exactly one version marked as storage version', VERSIONS_RAW);
  if (served === 0) invalid(errs, 'spec.versions', null, 'must have at least one version marked as served', VERSIONS_RAW);
  const conv = getObj(errs, spec.conversion, 'spec.conversion');
  const strategy = conv ? getStr(errs, conv.strategy, 'spec.conversion.strategy') : undefined;
  if (strategy !== undefined && strategy !== 'None' && strategy !== 'Webhook') notSupported(errs, 'spec.conversion.strategy', strategy, ['None', 'Webhook']);
}

/** CRD update: group and plural are immutable. */
export function validateCrdUpdate(errs: Errs, obj: KObject, old: KObject): void {
  const spec = isObj(obj.spec) ? obj.spec : {};
  const oldSpec = isObj(old.spec) ? old.spec : {};
  immutable(errs, spec.group, oldSpec.group, 'spec.group');
  const plural = isObj(spec.names) ? spec.names.plural : undefined;
  const oldPlural = isObj(oldSpec.names) ? oldSpec.names.plural : undefined;
  immutable(errs, plural, oldPlural, 'spec.names.plural');
}
