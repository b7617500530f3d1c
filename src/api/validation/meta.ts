/** ObjectMeta, labels, annotations and label selectors (apimachinery's ValidateObjectMeta and metav1 validation). */
import type { Errs, Obj } from './util.ts';
import {
  child,
  deepEqual,
  getArr,
  getInt,
  getObj,
  getObjList,
  getStr,
  getStrMap,
  goValue,
  index,
  invalid,
  forbidden,
  required,
} from './util.ts';
import { isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidLabelValue } from './names.ts';

/** A name validator: returns upstream messages; `prefix` masks a trailing dash (generateName). */
export type NameFn = (name: string, prefix: boolean) => string[];

function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? `${name.slice(0, -1)}a` : name;
}

/** Names that must be DNS-1123 subdomains (most kinds). */
export function nameIsDNSSubdomain(name: string, prefix: boolean): string[] {
  return isDNS1123Subdomain(prefix ? maskTrailingDash(name) : name);
}

/** Names that must be DNS-1123 labels (namespaces). */
export function nameIsDNSLabel(name: string, prefix: boolean): string[] {
  return isDNS1123Label(prefix ? maskTrailingDash(name) : name);
}

/** Validates a labels map at `field` (ValidateLabels). */
export function validateLabels(errs: Errs, v: unknown, field: string): void {
  const labels = getStrMap(errs, v, field);
  if (!labels) return;
  for (const [k, val] of Object.entries(labels)) {
    for (const m of isQualifiedName(k)) invalid(errs, field, k, m);
    for (const m of isValidLabelValue(val)) invalid(errs, field, val, m);
  }
}

const ANNOTATIONS_LIMIT = 256 * 1024;

/** Validates an annotations map (ValidateAnnotations): keys are case-insensitive qualified names, total ≤ 256 KiB. */
export function validateAnnotations(errs: Errs, v: unknown, field: string): void {
  const ann = getStrMap(errs, v, field);
  if (!ann) return;
  let size = 0;
  for (const [k, val] of Object.entries(ann)) {
    for (const m of isQualifiedName(k.toLowerCase())) invalid(errs, field, k, m);
    size += Buffer.byteLength(k) + Buffer.byteLength(val);
  }
  if (size > ANNOTATIONS_LIMIT) errs.push({ reason: 'FieldValueTooLong', field, message: `Too long: must have at most ${ANNOTATIONS_LIMIT} bytes` });
}

/** Validates metadata on create; `nameFn` picks the name rule for the kind. */
export function validateObjectMeta(errs: Errs, metaIn: unknown, nameFn: NameFn, path = 'metadata'): void {
  if (metaIn === undefined || metaIn === null) {
    required(errs, child(path, 'name'), 'name or generateName is required');
    return;
  }
  const meta = getObj(errs, metaIn, path);
  if (!meta) return;
  const generateName = getStr(errs, meta.generateName, child(path, 'generateName'));
  if (generateName) for (const m of nameFn(generateName, true)) invalid(errs, child(path, 'generateName'), generateName, m);
  const name = getStr(errs, meta.name, child(path, 'name'));
  if (!name) {
    if (meta.name === undefined || meta.name === null || meta.name === '') required(errs, child(path, 'name'), 'name or generateName is required');
  } else for (const m of nameFn(name, false)) invalid(errs, child(path, 'name'), name, m);
  const ns = getStr(errs, meta.namespace, child(path, 'namespace'));
  if (ns) for (const m of isDNS1123Label(ns)) invalid(errs, child(path, 'namespace'), ns, m);
  const gen = getInt(errs, meta.generation, child(path, 'generation'));
  if (gen !== undefined && gen < 0) invalid(errs, child(path, 'generation'), gen, 'must be greater than or equal to 0');
  validateLabels(errs, meta.labels, child(path, 'labels'));
  validateAnnotations(errs, meta.annotations, child(path, 'annotations'));
  validateOwnerReferences(errs, meta.ownerReferences, child(path, 'ownerReferences'));
  const fin = getArr(errs, meta.finalizers, child(path, 'finalizers'));
  fin?.forEach((f, i) => {
    const s = getStr(errs, f, index(child(path, 'finalizers'), i));
    if (s !== undefined) for (const m of isQualifiedName(s)) invalid(errs, child(path, 'finalizers'), s, m);
  });
}

function validateOwnerReferences(errs: Errs, v: unknown, field: string): void {
  let controllers = 0;
  for (const [i, ref] of getObjList(errs, v, field)) {
    const p = index(field, i);
    const apiVersion = getStr(errs, ref.apiVersion, child(p, 'apiVersion')) ?? '';
    const version = apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;
    if (!version) invalid(errs, child(field, 'apiVersion'), version, 'version must not be empty');
    if (!getStr(errs, ref.kind, child(p, 'kind'))) invalid(errs, child(field, 'kind'), ref.kind ?? '', 'kind must not be empty');
    if (!getStr(errs, ref.name, child(p, 'name'))) invalid(errs, child(field, 'name'), ref.name ?? '', 'name must not be empty');
    if (!getStr(errs, ref.uid, child(p, 'uid'))) invalid(errs, child(field, 'uid'), ref.uid ?? '', 'uid must not be empty');
    if (ref.controller === true) controllers++;
  }
  if (controllers > 1) invalid(errs, field, '', 'Only one reference can have Controller set to true');
}

/** Validates immutable metadata on update (ValidateObjectMetaUpdate). */
export function validateObjectMetaUpdate(errs: Errs, metaIn: unknown, oldIn: unknown): void {
  const meta = getObj([], metaIn, 'metadata');
  const old = getObj([], oldIn, 'metadata');
  if (!meta || !old) return;
  immutable(errs, meta.name, old.name, 'metadata.name');
  immutable(errs, meta.namespace ?? '', old.namespace ?? '', 'metadata.namespace');
  // The API layer fills uid and creationTimestamp from the stored object when the request omits them.
  if (meta.uid) immutable(errs, meta.uid, old.uid, 'metadata.uid');
  if (meta.creationTimestamp) immutable(errs, meta.creationTimestamp, old.creationTimestamp, 'metadata.creationTimestamp');
}

/** ValidateImmutableField: `Invalid value: <new>: field is immutable` when the value changed. */
export function immutable(errs: Errs, now: unknown, old: unknown, field: string, raw?: string): void {
  if (!deepEqual(now ?? null, old ?? null)) invalid(errs, field, now, 'field is immutable', raw);
}

const SELECTOR_OPS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** Validates a metav1.LabelSelector; returns the parsed selector or undefined when unusable. */
export function validateLabelSelector(errs: Errs, v: unknown, field: string): Obj | undefined {
  const sel = getObj(errs, v, field);
  if (!sel) return undefined;
  const before = errs.length;
  for (const [i, req] of getObjList(errs, sel.matchExpressions, child(field, 'matchExpressions'))) {
    const p = index(child(field, 'matchExpressions'), i);
    const op = getStr(errs, req.operator, child(p, 'operator'));
    const values = getArr(errs, req.values, child(p, 'values')) ?? [];
    if (op === 'In' || op === 'NotIn') {
      if (values.length === 0) required(errs, child(p, 'values'), "must be specified when `operator` is 'In' or 'NotIn'");
    } else if (op === 'Exists' || op === 'DoesNotExist') {
      if (values.length > 0) forbidden(errs, child(p, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    } else invalid(errs, child(p, 'operator'), op ?? '', 'not a valid selector operator');
    const k = getStr(errs, req.key, child(p, 'key')) ?? '';
    for (const m of isQualifiedName(k)) invalid(errs, child(p, 'key'), k, m);
    values.forEach((val, j) => {
      const s = getStr(errs, val, index(child(p, 'values'), j));
      if (s !== undefined) for (const m of isValidLabelValue(s)) invalid(errs, index(child(p, 'values'), j), s, m);
    });
  }
  validateLabels(errs, sel.matchLabels, child(field, 'matchLabels'));
  return errs.length === before ? sel : undefined;
}

/** True when the selector has neither matchLabels nor matchExpressions. */
export function selectorIsEmpty(sel: Obj): boolean {
  const ml = sel.matchLabels;
  const me = sel.matchExpressions;
  return !(ml && typeof ml === 'object' && Object.keys(ml).length > 0) && !(Array.isArray(me) && me.length > 0);
}

/** Evaluates an already-validated label selector against a label set. */
export function selectorMatches(sel: Obj, labelsIn: unknown): boolean {
  const labels = (labelsIn && typeof labelsIn === 'object' ? labelsIn : {}) as Record<string, unknown>;
  const ml = (sel.matchLabels ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(ml)) if (labels[k] !== v) return false;
  for (const req of (Array.isArray(sel.matchExpressions) ? sel.matchExpressions : []) as Obj[]) {
    const k = String(req.key);
    const has = Object.prototype.hasOwnProperty.call(labels, k);
    const values = (Array.isArray(req.values) ? req.values : []) as unknown[];
    switch (req.operator) {
      case 'In':
        if (!has || !values.includes(labels[k])) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[k])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

/** Renders a LabelSelector as Go's %#v of v1.LabelSelector (used in "field is immutable" messages). */
export function goLabelSelector(sel: unknown): string {
  if (!sel || typeof sel !== 'object') return '(*v1.LabelSelector)(nil)';
  const s = sel as Obj;
  const ml = s.matchLabels && typeof s.matchLabels === 'object' ? goValue(s.matchLabels).replace('interface {}', 'string') : 'map[string]string(nil)';
  const me = Array.isArray(s.matchExpressions) && s.matchExpressions.length > 0
    ? `[]v1.LabelSelectorRequirement{${(s.matchExpressions as Obj[])
        .map((r) => `v1.LabelSelectorRequirement{Key:${goValue(r?.key ?? '')}, Operator:${goValue(r?.operator ?? '')}, Values:${Array.isArray(r?.values) ? goValue(r.values) : '[]string(nil)'}}`)
        .join(', ')}}`
    : '[]v1.LabelSelectorRequirement(nil)';
  return `v1.LabelSelector{MatchLabels:${ml}, MatchExpressions:${me}}`;
}
