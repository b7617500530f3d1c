/** ConfigMap, Secret, ServiceAccount, Namespace, Node and Event validation (core validation). */
import type { KObject } from '../types.ts';
import type { Errs } from './util.ts';
import { child, deepEqual, forbidden, getArr, getBool, getObj, getObjList, getStr, index, invalid, isObj, key, notSupported, required, tooLong } from './util.ts';
import { isConfigMapKey, isQualifiedName } from './names.ts';
import { immutable } from './meta.ts';

/** Upstream's MaxSecretSize, also the ConfigMap limit. */
export const MAX_SECRET_SIZE = 1024 * 1024;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Validates a ConfigMap's data and binaryData keys and total size. */
export function validateConfigMap(errs: Errs, obj: KObject): void {
  let size = 0;
  const data = getObj(errs, obj.data, 'data') ?? {};
  const binary = getObj(errs, obj.binaryData, 'binaryData') ?? {};
  for (const [k, v] of Object.entries(data)) {
    for (const m of isConfigMapKey(k)) invalid(errs, key('data', k), k, m);
    if (Object.prototype.hasOwnProperty.call(binary, k)) invalid(errs, key('data', k), k, 'duplicate of key present in binaryData');
    const s = getStr(errs, v, key('data', k));
    size += s ? Buffer.byteLength(s) : 0;
  }
  for (const [k, v] of Object.entries(binary)) {
    for (const m of isConfigMapKey(k)) invalid(errs, key('binaryData', k), k, m);
    if (Object.prototype.hasOwnProperty.call(data, k)) invalid(errs, key('binaryData', k), k, 'duplicate of key present in data');
    size += decodedSize(errs, v, key('binaryData', k));
  }
  getBool(errs, obj.immutable, 'immutable');
  if (size > MAX_SECRET_SIZE) tooLong(errs, '', MAX_SECRET_SIZE);
}

function decodedSize(errs: Errs, v: unknown, field: string): number {
  const s = getStr(errs, v, field);
  if (s === undefined) return 0;
  if (!BASE64.test(s)) {
    // Never echo secret material back; upstream fails the JSON decode with the same wording.
    invalid(errs, field, null, 'illegal base64 data', '"<redacted>"');
    return 0;
  }
  return Buffer.from(s, 'base64').length;
}

const SECRET_REQUIRED_KEYS: Record<string, string[]> = {
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
};

/** Validates a Secret: data keys, base64 values, 1 MiB total, per-type required keys. */
export function validateSecret(errs: Errs, obj: KObject): void {
  let size = 0;
  const data = getObj(errs, obj.data, 'data') ?? {};
  for (const [k, v] of Object.entries(data)) {
    for (const m of isConfigMapKey(k)) invalid(errs, key('data', k), k, m);
    size += decodedSize(errs, v, key('data', k));
  }
  if (size > MAX_SECRET_SIZE) tooLong(errs, 'data', MAX_SECRET_SIZE);
  getBool(errs, obj.immutable, 'immutable');
  const type = getStr(errs, obj.type, 'type') ?? '';
  for (const k of SECRET_REQUIRED_KEYS[type] ?? []) if (!(k in data)) required(errs, key('data', k));
  if (type === 'kubernetes.io/basic-auth' && !('username' in data) && !('password' in data)) required(errs, key('data', 'username'));
  if (type === 'kubernetes.io/service-account-token') {
    const ann = isObj(obj.metadata?.annotations) ? obj.metadata.annotations : {};
    if (!ann['kubernetes.io/service-account.name']) required(errs, key('metadata.annotations', 'kubernetes.io/service-account.name'));
  }
}

/** ConfigMap/Secret update: `immutable: true` freezes data (and itself); a Secret's type never changes. */
export function validateImmutableDataUpdate(errs: Errs, obj: KObject, old: KObject, secret: boolean): void {
  if (secret) immutable(errs, obj.type ?? '', old.type ?? '', 'type');
  if (old.immutable !== true) return;
  if (obj.immutable !== true) forbidden(errs, 'immutable', 'field is immutable when `immutable` is set');
  for (const f of secret ? ['data'] : ['data', 'binaryData']) {
    if (!deepEqual(obj[f] ?? {}, old[f] ?? {})) forbidden(errs, f, 'field is immutable when `immutable` is set');
  }
}

const STANDARD_FINALIZERS = ['kubernetes', 'orphan', 'foregroundDeletion'];

/** Validates a Namespace's spec.finalizers (standard names or fully qualified). */
export function validateNamespace(errs: Errs, obj: KObject): void {
  const spec = getObj(errs, obj.spec, 'spec') ?? {};
  getArr(errs, spec.finalizers, 'spec.finalizers')?.forEach((f, i) => {
    const s = getStr(errs, f, index('spec.finalizers', i));
    if (s === undefined) return;
    const msgs = isQualifiedName(s);
    for (const m of msgs) invalid(errs, 'spec.finalizers', s, m);
    if (msgs.length === 0 && !s.includes('/') && !STANDARD_FINALIZERS.includes(s)) {
      invalid(errs, 'spec.finalizers', s, 'name is neither a standard finalizer name nor is it fully qualified');
    }
  });
}

/** Validates a ServiceAccount's secret and imagePullSecret references. */
export function validateServiceAccount(errs: Errs, obj: KObject): void {
  for (const f of ['secrets', 'imagePullSecrets']) {
    for (const [i, ref] of getObjList(errs, obj[f], f)) getStr(errs, ref.name, child(index(f, i), 'name'));
  }
  getBool(errs, obj.automountServiceAccountToken, 'automountServiceAccountToken');
}

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

/** Validates a Node's taints and pod CIDRs. */
export function validateNode(errs: Errs, obj: KObject): void {
  const spec = getObj(errs, obj.spec, 'spec') ?? {};
  for (const [i, t] of getObjList(errs, spec.taints, 'spec.taints')) {
    const p = index('spec.taints', i);
    const k = getStr(errs, t.key, child(p, 'key'));
    if (!k) required(errs, child(p, 'key'));
    else for (const m of isQualifiedName(k)) invalid(errs, child(p, 'key'), k, m);
    const effect = getStr(errs, t.effect, child(p, 'effect'));
    if (!effect) required(errs, child(p, 'effect'));
    else if (!TAINT_EFFECTS.includes(effect)) notSupported(errs, child(p, 'effect'), effect, TAINT_EFFECTS);
  }
  getStr(errs, spec.podCIDR, 'spec.podCIDR');
  getBool(errs, spec.unschedulable, 'spec.unschedulable');
}

/** Validates a core/v1 Event: involvedObject namespace must match, names are checked when set. */
export function validateEvent(errs: Errs, obj: KObject): void {
  const inv = getObj(errs, obj.involvedObject, 'involvedObject') ?? {};
  const ns = getStr(errs, inv.namespace, 'involvedObject.namespace');
  const metaNs = obj.metadata?.namespace ?? '';
  if (ns && metaNs && ns !== metaNs) invalid(errs, 'involvedObject.namespace', ns, 'does not match event.namespace');
  const name = getStr(errs, inv.name, 'involvedObject.name');
  if (name && name.length > 253) invalid(errs, 'involvedObject.name', name, 'must be no more than 253 characters');
  for (const f of ['reason', 'message', 'type', 'reportingComponent', 'reportingInstance']) getStr(errs, obj[f], f);
}
