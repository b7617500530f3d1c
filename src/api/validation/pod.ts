/** Pod and pod template validation (core ValidatePodSpec, ValidatePodTemplateSpec, ValidatePodUpdate). */
import type { KObject } from '../types.ts';
import type { Errs, Obj } from './util.ts';
import {
  child,
  deepEqual,
  duplicate,
  forbidden,
  getArr,
  getBool,
  getInt,
  getObj,
  getObjList,
  getStr,
  index,
  invalid,
  isObj,
  notSupported,
  required,
} from './util.ts';
import { isDNS1123Label, isDNS1123Subdomain, isQualifiedName } from './names.ts';
import { validateAnnotations, validateLabels } from './meta.ts';
import { validateContainers } from './container.ts';

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const TOLERATION_OPS = ['Equal', 'Exists'];
const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const MAX_INT32 = 2147483647;

/** The volume source fields of core/v1 VolumeSource; exactly one must be set. */
export const VOLUME_SOURCES = [
  'hostPath', 'emptyDir', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'secret', 'nfs', 'iscsi', 'glusterfs',
  'persistentVolumeClaim', 'rbd', 'flexVolume', 'cinder', 'cephfs', 'flocker', 'downwardAPI', 'fc', 'azureFile', 'configMap',
  'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'projected', 'portworxVolume', 'scaleIO', 'storageos',
  'csi', 'ephemeral', 'image',
];

function validateVolumes(errs: Errs, v: unknown, field: string): Set<string> {
  const names = new Set<string>();
  for (const [i, vol] of getObjList(errs, v, field)) {
    const p = index(field, i);
    const name = getStr(errs, vol.name, child(p, 'name'));
    if (!name) required(errs, child(p, 'name'));
    else {
      for (const m of isDNS1123Label(name)) invalid(errs, child(p, 'name'), name, m);
      if (names.has(name)) duplicate(errs, child(p, 'name'), name);
      names.add(name);
    }
    const sources = VOLUME_SOURCES.filter((s) => vol[s] !== undefined && vol[s] !== null);
    if (sources.length === 0) required(errs, p, 'must specify a volume type');
    sources.slice(1).forEach((s) => forbidden(errs, child(p, s), 'may not specify more than 1 volume type'));
    for (const s of sources) {
      const src = getObj(errs, vol[s], child(p, s));
      if (!src) continue;
      if (s === 'configMap' || s === 'persistentVolumeClaim') {
        const key = s === 'configMap' ? 'name' : 'claimName';
        const ref = getStr(errs, src[key], child(child(p, s), key));
        if (!ref) required(errs, child(child(p, s), key));
      } else if (s === 'secret') {
        getStr(errs, src.secretName, child(child(p, s), 'secretName'));
      } else if (s === 'hostPath') {
        if (!getStr(errs, src.path, child(child(p, s), 'path'))) required(errs, child(child(p, s), 'path'));
      }
      const mode = getInt(errs, src.defaultMode, child(child(p, s), 'defaultMode'));
      if (mode !== undefined && (mode < 0 || mode > 0o777)) {
        invalid(errs, child(child(p, s), 'defaultMode'), mode, 'must be a number between 0 and 0777 (octal), both inclusive');
      }
    }
  }
  return names;
}

function validateTolerations(errs: Errs, v: unknown, field: string): void {
  for (const [i, t] of getObjList(errs, v, field)) {
    const p = index(field, i);
    const key = getStr(errs, t.key, child(p, 'key'));
    if (key) for (const m of isQualifiedName(key)) invalid(errs, child(p, 'key'), key, m);
    const op = getStr(errs, t.operator, child(p, 'operator'));
    if (!key && op !== 'Exists') invalid(errs, child(p, 'operator'), op ?? '', 'operator must be Exists when `key` is empty, which means "match all values and all keys"');
    if (op === 'Exists' && t.value) invalid(errs, child(p, 'operator'), t.value, 'value must be empty when `operator` is \'Exists\'');
    else if (op && !TOLERATION_OPS.includes(op)) notSupported(errs, child(p, 'operator'), op, TOLERATION_OPS);
    getStr(errs, t.value, child(p, 'value'));
    const effect = getStr(errs, t.effect, child(p, 'effect'));
    if (effect && !TAINT_EFFECTS.includes(effect)) notSupported(errs, child(p, 'effect'), effect, TAINT_EFFECTS);
    const secs = getInt(errs, t.tolerationSeconds, child(p, 'tolerationSeconds'));
    if (secs !== undefined && effect !== 'NoExecute') invalid(errs, child(p, 'effect'), effect ?? '', 'effect must be \'NoExecute\' when `tolerationSeconds` is set');
  }
}

/** Validates a PodSpec at `field` (e.g. `spec` or `spec.template.spec`). */
export function validatePodSpec(errs: Errs, v: unknown, field: string): void {
  const spec = getObj(errs, v, field);
  if (!spec) {
    required(errs, child(field, 'containers'));
    return;
  }
  const volumes = validateVolumes(errs, spec.volumes, child(field, 'volumes'));
  const names = new Set<string>();
  validateContainers(errs, spec.initContainers, child(field, 'initContainers'), volumes, names, true);
  validateContainers(errs, spec.containers, child(field, 'containers'), volumes, names);
  const rp = getStr(errs, spec.restartPolicy, child(field, 'restartPolicy'));
  if (!rp) required(errs, child(field, 'restartPolicy'));
  else if (!RESTART_POLICIES.includes(rp)) notSupported(errs, child(field, 'restartPolicy'), rp, RESTART_POLICIES);
  const dns = getStr(errs, spec.dnsPolicy, child(field, 'dnsPolicy'));
  if (!dns) required(errs, child(field, 'dnsPolicy'));
  else if (!DNS_POLICIES.includes(dns)) notSupported(errs, child(field, 'dnsPolicy'), dns, DNS_POLICIES);
  validateLabels(errs, spec.nodeSelector, child(field, 'nodeSelector'));
  for (const f of ['serviceAccountName', 'nodeName']) {
    const s = getStr(errs, spec[f], child(field, f));
    if (s) for (const m of isDNS1123Subdomain(s)) invalid(errs, child(field, f), s, m);
  }
  for (const f of ['hostname', 'subdomain']) {
    const s = getStr(errs, spec[f], child(field, f));
    if (s) for (const m of isDNS1123Label(s)) invalid(errs, child(field, f), s, m);
  }
  const ads = getInt(errs, spec.activeDeadlineSeconds, child(field, 'activeDeadlineSeconds'));
  if (ads !== undefined && (ads < 1 || ads > MAX_INT32)) invalid(errs, child(field, 'activeDeadlineSeconds'), ads, `must be between 1 and ${MAX_INT32}, inclusive`);
  getInt(errs, spec.terminationGracePeriodSeconds, child(field, 'terminationGracePeriodSeconds'));
  for (const f of ['hostNetwork', 'hostPID', 'hostIPC', 'enableServiceLinks', 'automountServiceAccountToken']) getBool(errs, spec[f], child(field, f));
  getObj(errs, spec.securityContext, child(field, 'securityContext'));
  getObj(errs, spec.affinity, child(field, 'affinity'));
  validateTolerations(errs, spec.tolerations, child(field, 'tolerations'));
  for (const [i, s] of getObjList(errs, spec.imagePullSecrets, child(field, 'imagePullSecrets'))) getStr(errs, s.name, child(index(child(field, 'imagePullSecrets'), i), 'name'));
}

/** Validates a PodTemplateSpec at `field` (labels/annotations of the template, then its spec). */
export function validatePodTemplateSpec(errs: Errs, v: unknown, field: string): Obj | undefined {
  const tmpl = getObj(errs, v, field);
  if (!tmpl) {
    required(errs, field);
    return undefined;
  }
  const meta = getObj(errs, tmpl.metadata, child(field, 'metadata'));
  if (meta) {
    validateLabels(errs, meta.labels, child(field, 'metadata.labels'));
    validateAnnotations(errs, meta.annotations, child(field, 'metadata.annotations'));
  }
  validatePodSpec(errs, tmpl.spec, child(field, 'spec'));
  return tmpl;
}

const POD_UPDATE_MSG =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,' +
  '`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/** Validates a pod update (ValidatePodUpdate): only images, activeDeadlineSeconds and added tolerations may change. */
export function validatePodUpdate(errs: Errs, obj: KObject, old: KObject): void {
  const spec = isObj(obj.spec) ? obj.spec : {};
  const oldSpec = isObj(old.spec) ? old.spec : {};
  const ads = spec.activeDeadlineSeconds;
  if (typeof ads === 'number') {
    if (ads < 0 || ads > MAX_INT32) {
      invalid(errs, 'spec.activeDeadlineSeconds', ads, `must be between 0 and ${MAX_INT32}, inclusive`);
      return;
    }
    if (typeof oldSpec.activeDeadlineSeconds === 'number' && oldSpec.activeDeadlineSeconds < ads) {
      invalid(errs, 'spec.activeDeadlineSeconds', ads, 'must be less than or equal to previous value');
      return;
    }
  } else if (typeof oldSpec.activeDeadlineSeconds === 'number') {
    invalid(errs, 'spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value');
  }
  const containers = getArr([], spec.containers, '') ?? [];
  const oldContainers = getArr([], oldSpec.containers, '') ?? [];
  if (containers.length !== oldContainers.length) {
    forbidden(errs, 'spec.containers', 'pod updates may not add or remove containers');
    return;
  }
  // Munge the old spec with the mutable fields of the new one, then require equality (as upstream does).
  const munged: Obj = { ...oldSpec };
  for (const f of ['containers', 'initContainers']) {
    const nowList = getArr([], spec[f], '') ?? [];
    const oldList = getArr([], oldSpec[f], '');
    if (oldList) munged[f] = oldList.map((c, i) => (isObj(c) && isObj(nowList[i]) ? { ...c, image: nowList[i].image } : c));
  }
  munged.activeDeadlineSeconds = spec.activeDeadlineSeconds;
  const oldTol = getArr([], oldSpec.tolerations, '') ?? [];
  const newTol = getArr([], spec.tolerations, '') ?? [];
  if (oldTol.every((t) => newTol.some((n) => deepEqual(n, t)))) munged.tolerations = spec.tolerations;
  const oldGrace = oldSpec.terminationGracePeriodSeconds;
  if (typeof oldGrace === 'number' && oldGrace < 0 && spec.terminationGracePeriodSeconds === 1) munged.terminationGracePeriodSeconds = 1;
  // Skiff binds pods by update, so setting nodeName once (as the binding subresource would) is allowed.
  if (!oldSpec.nodeName && spec.nodeName) munged.nodeName = spec.nodeName;
  if (!deepEqual(stripUndefined(munged), stripUndefined(spec))) forbidden(errs, 'spec', POD_UPDATE_MSG);
}

function stripUndefined(o: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null) out[k] = v;
  return out;
}
