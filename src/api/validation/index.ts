/** Defaulting and validation of built-in kinds and CRD schemas, with Kubernetes' field paths and messages. */
import type { Cause, KObject } from '../types.ts';
import type { Errs } from './util.ts';
import { isObj } from './util.ts';
import type { NameFn } from './meta.ts';
import { nameIsDNSLabel, nameIsDNSSubdomain, validateObjectMeta, validateObjectMetaUpdate } from './meta.ts';
import { isDNS1035Label } from './names.ts';
import { validatePodSpec, validatePodUpdate } from './pod.ts';
import { validateCronJob, validateDaemonSet, validateDeployment, validateJob, validateJobUpdate, validateReplicaSet, validateSelectorUpdate, validateStatefulSet } from './apps.ts';
import { validateEndpointSlice, validateEndpoints, validateService, validateServiceUpdate } from './service.ts';
import { validateIngress, validateIngressClass } from './networking.ts';
import {
  validateConfigMap,
  validateEvent,
  validateImmutableDataUpdate,
  validateNamespace,
  validateNode,
  validateSecret,
  validateServiceAccount,
} from './config.ts';
import { validateCrd, validateCrdUpdate } from './crd.ts';
import { applyDefaults } from './defaults.ts';
import { compileCrdSchema as compileSchema } from './schema.ts';
import { pruneBySchema as prune } from './prune.ts';

function nameIsDNS1035Label(name: string, prefix: boolean): string[] {
  return isDNS1035Label(prefix && name.length > 1 && name.endsWith('-') ? `${name.slice(0, -1)}a` : name);
}

interface KindRules {
  name: NameFn;
  create?: (errs: Errs, obj: KObject) => void;
  update?: (errs: Errs, obj: KObject, old: KObject) => void;
}

const RULES: Record<string, KindRules> = {
  pods: { name: nameIsDNSSubdomain, create: (errs, obj) => validatePodSpec(errs, obj.spec, 'spec'), update: validatePodUpdate },
  'deployments.apps': { name: nameIsDNSSubdomain, create: validateDeployment, update: validateSelectorUpdate },
  'replicasets.apps': { name: nameIsDNSSubdomain, create: validateReplicaSet, update: validateSelectorUpdate },
  'statefulsets.apps': { name: nameIsDNSSubdomain, create: validateStatefulSet, update: validateSelectorUpdate },
  'daemonsets.apps': { name: nameIsDNSSubdomain, create: validateDaemonSet, update: validateSelectorUpdate },
  'jobs.batch': { name: nameIsDNSSubdomain, create: validateJob, update: validateJobUpdate },
  'cronjobs.batch': { name: nameIsDNSSubdomain, create: validateCronJob, update: validateCronJob },
  services: { name: nameIsDNS1035Label, create: validateService, update: validateServiceUpdate },
  endpoints: { name: nameIsDNSSubdomain, create: validateEndpoints },
  'endpointslices.discovery.k8s.io': { name: nameIsDNSSubdomain, create: validateEndpointSlice },
  configmaps: { name: nameIsDNSSubdomain, create: validateConfigMap, update: (e, o, old) => validateImmutableDataUpdate(e, o, old, false) },
  secrets: { name: nameIsDNSSubdomain, create: validateSecret, update: (e, o, old) => validateImmutableDataUpdate(e, o, old, true) },
  serviceaccounts: { name: nameIsDNSSubdomain, create: validateServiceAccount },
  namespaces: { name: nameIsDNSLabel, create: validateNamespace },
  nodes: { name: nameIsDNSSubdomain, create: validateNode },
  events: { name: nameIsDNSSubdomain, create: validateEvent },
  'ingresses.networking.k8s.io': { name: nameIsDNSSubdomain, create: validateIngress },
  'ingressclasses.networking.k8s.io': { name: nameIsDNSSubdomain, create: validateIngressClass },
  'customresourcedefinitions.apiextensions.k8s.io': { name: nameIsDNSSubdomain, create: validateCrd, update: validateCrdUpdate },
};

const GENERIC: KindRules = { name: nameIsDNSSubdomain };

function rulesFor(resourceKey: string): KindRules {
  return Object.prototype.hasOwnProperty.call(RULES, resourceKey) ? RULES[resourceKey] : GENERIC;
}

/** Applies Kubernetes defaults for a built-in resource in place. */
export function defaultObject(resourceKey: string, obj: KObject): void {
  try {
    applyDefaults(resourceKey, obj);
  } catch {
    // Defaulting only fills absent fields of well-typed shapes; a pathological input (getters, proxies) is left to validation.
  }
}

/** Validates a built-in object on create (old undefined) or update; returns causes (empty when valid). */
export function validateObject(resourceKey: string, obj: KObject, old?: KObject): Cause[] {
  const errs: Errs = [];
  if (!isObj(obj)) return [{ reason: 'FieldValueTypeInvalid', field: '', message: 'Invalid value: "object": must be of type object' }];
  const rules = rulesFor(resourceKey);
  try {
    validateObjectMeta(errs, obj.metadata, rules.name);
    rules.create?.(errs, obj);
    if (old && isObj(old)) {
      validateObjectMetaUpdate(errs, obj.metadata, old.metadata);
      rules.update?.(errs, obj, old);
    }
  } catch (err) {
    // Last-resort net so a validator bug becomes a 422 instead of a 500; the fuzz test asserts it never fires.
    errs.push({ reason: 'FieldValueInvalid', field: '', message: `Internal error: ${err instanceof Error ? err.message : String(err)}` });
  }
  return dedupe(errs);
}

// field.ErrorList.ToAggregate drops exact duplicates; do the same.
function dedupe(errs: Errs): Cause[] {
  const seen = new Set<string>();
  return errs.filter((e) => {
    const k = `${e.reason}\u0000${e.field}\u0000${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Compiles a CRD version schema into a validator returning causes. */
export function compileCrdSchema(schema: object): (obj: KObject) => Cause[] {
  return compileSchema(schema);
}

/** Removes fields not declared in a structural schema; returns the removed paths. */
export function pruneBySchema(obj: KObject, schema: object): string[] {
  return prune(obj, schema);
}
