/**
 * Kubernetes strategic merge patch (k8s.io/apimachinery/pkg/util/strategicpatch, apply side) over
 * plain JSON, driven by the compiled table in schema.ts instead of Go struct tags.
 *
 * Works on owned clones and updates them in place, like upstream. Deliberate differences from
 * upstream, all where upstream would answer 500 or store directive keys:
 * - values taken from the patch (new keys, replaced lists) are cleaned of directives and nulls;
 * - `{"$patch":"delete"}` as a map removes the key instead of leaving `{}`;
 * - `$patch: merge` is accepted as a no-op in maps and list elements;
 * - structural mistakes (missing merge key, mixed element types, unknown `$patch`) are 400.
 */

import { PatchError } from './errors.ts';
import { cloneJson, getOwn, isObject, kindOf, newObject, setOwn, show, type Json, type JsonObject } from './json.ts';
import { orderList } from './order.ts';
import { childSchema, schemaFor, type SchemaNode } from './schema.ts';

const PATCH = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ORDER = '$setElementOrder/';
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/';

/** Returned by mergeMap for `{"$patch":"delete"}`: the parent drops the key. */
const DELETED = Symbol('deleted');

/** Applies a Kubernetes strategic merge patch for a built-in resource (`deployments.apps`, `pods`, ...); returns a new object. */
export function applyStrategicMergePatch(doc: unknown, patch: unknown, resourceKey: string): unknown {
  if (!isObject(patch)) {
    throw new PatchError(`a strategic merge patch must be a JSON object, got ${kindOf(patch as Json)}`, 400);
  }
  if (!isObject(doc)) throw new PatchError(`cannot apply a strategic merge patch to a ${kindOf(doc as Json)}: the object must be a JSON object`, 400);
  const original = cloneJson(doc, 'document') as JsonObject;
  const p = cloneJson(patch, 'strategic merge patch') as JsonObject;
  const merged = mergeMap(original, p, schemaFor(resourceKey), '');
  if (merged === DELETED) throw new PatchError('a strategic merge patch cannot delete the whole object with "$patch": "delete"', 422);
  return merged;
}

function mergeMap(original: JsonObject, patch: JsonObject, schema: SchemaNode, path: string): JsonObject | typeof DELETED {
  if (Object.hasOwn(patch, PATCH)) {
    const directive = patch[PATCH];
    delete patch[PATCH];
    if (directive === 'delete') return DELETED;
    if (directive === 'replace') return mergeMap(newObject(), patch, schema, path);
    if (directive !== 'merge') throw new PatchError(`unknown patch type ${show(directive)} in map at ${where(path)}`, 400);
  }
  applyRetainKeys(original, patch, path);
  applyElementOrders(original, patch, schema, path);

  for (const rawKey of Object.keys(patch)) {
    let key = rawKey;
    let deleteList = false;
    if (rawKey.startsWith(DELETE_PRIMITIVE)) {
      key = directiveField(rawKey, DELETE_PRIMITIVE, path);
      deleteList = true;
    }
    const patchV = patch[rawKey];
    if (patchV === null) {
      // Null deletes; a null for a key the object lacks is dropped (upstream IgnoreUnmatchedNulls).
      delete original[key];
      continue;
    }
    const fieldPath = join(path, key);
    const sub = childSchema(schema, key);
    if (deleteList && !Array.isArray(patchV)) {
      throw new PatchError(`invalid patch format of primitive list: ${rawKey} at ${where(path)} must be a list, got ${kindOf(patchV)}`, 400);
    }
    const origV = getOwn(original, key);
    if (origV === undefined || kindOf(origV) !== kindOf(patchV)) {
      // Nothing to merge with: take the patch value (a deletion list has nothing to delete from).
      if (!deleteList) assign(original, key, fromPatch(patchV, sub, fieldPath));
      continue;
    }
    if (isObject(origV)) {
      assign(original, key, mergeMap(origV, patchV as JsonObject, sub, fieldPath));
    } else if (Array.isArray(origV)) {
      const list = patchV as Json[];
      setOwn(original, key, sub.merge || deleteList ? mergeList(origV, list, sub, fieldPath, deleteList) : (fromPatch(list, sub, fieldPath) as Json[]));
    } else {
      setOwn(original, key, patchV);
    }
  }
  return original;
}

function assign(target: JsonObject, key: string, v: Json | typeof DELETED): void {
  if (v === DELETED) delete target[key];
  else setOwn(target, key, v);
}

/** A value that has nothing to merge into: directives are resolved against an empty value. */
function fromPatch(v: Json, schema: SchemaNode, path: string): Json | typeof DELETED {
  if (isObject(v)) return mergeMap(newObject(), v, schema, path);
  if (!Array.isArray(v)) return v;
  if (schema.merge) return mergeList([], v, schema, path, false);
  const out: Json[] = [];
  for (const item of v) {
    const cleaned = fromPatch(item, schema, path);
    if (cleaned !== DELETED) out.push(cleaned);
  }
  return out;
}

/** `$retainKeys`: every non-null patch key must be listed; original keys not listed are dropped before merging. */
function applyRetainKeys(original: JsonObject, patch: JsonObject, path: string): void {
  if (!Object.hasOwn(patch, RETAIN_KEYS)) return;
  const keep = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(keep) || !keep.every((k) => typeof k === 'string')) {
    throw new PatchError(`invalid patch format of retainKeys at ${where(path)}: expected a list of field names, got ${show(keep)}`, 400);
  }
  const set = new Set(keep as string[]);
  for (const k of Object.keys(patch)) {
    if (patch[k] === null || k.startsWith(SET_ORDER) || k.startsWith(DELETE_PRIMITIVE)) continue;
    if (!set.has(k)) {
      throw new PatchError(`patch content doesn't match retainKeys list at ${where(path)}: field "${k}" is not in ${show(keep)}`, 422);
    }
  }
  for (const k of Object.keys(original)) if (!set.has(k)) delete original[k];
}

/**
 * `$setElementOrder/<field>`: merge the sibling list now (like upstream mergePatchIntoOriginal),
 * then order the result by the directive, and remove the list from the patch so it is not merged twice.
 */
function applyElementOrders(original: JsonObject, patch: JsonObject, schema: SchemaNode, path: string): void {
  for (const rawKey of Object.keys(patch)) {
    if (!rawKey.startsWith(SET_ORDER)) continue;
    const order = patch[rawKey];
    delete patch[rawKey];
    const key = directiveField(rawKey, SET_ORDER, path);
    if (!Array.isArray(order)) {
      throw new PatchError(`invalid patch format of setElementOrder list: ${rawKey} at ${where(path)} must be a list, got ${kindOf(order)}`, 400);
    }
    const fieldPath = join(path, key);
    const sub = childSchema(schema, key);
    const origV = getOwn(original, key);
    const patchV = getOwn(patch, key);
    // A null (or absent-and-absent) field means there is nothing to order; the main loop handles the delete.
    if (patchV === null || (origV === undefined && patchV === undefined)) continue;
    if (origV !== undefined && !Array.isArray(origV)) {
      throw new PatchError(`cannot apply ${rawKey} at ${where(path)}: the object's ${key} is a ${kindOf(origV)}, not a list`, 400);
    }
    if (patchV !== undefined && !Array.isArray(patchV)) {
      throw new PatchError(`cannot apply ${rawKey} at ${where(path)}: the patch's ${key} is a ${kindOf(patchV)}, not a list`, 400);
    }
    let merged: Json[];
    if (patchV === undefined) merged = origV as Json[];
    else if (origV === undefined) merged = fromPatch(patchV, sub, fieldPath) as Json[];
    else merged = sub.merge ? mergeList(origV, patchV, sub, fieldPath, false) : (fromPatch(patchV, sub, fieldPath) as Json[]);
    checkOrderMatchesPatch(patchV ?? [], order, sub.mergeKey, fieldPath);
    setOwn(original, key, orderList(merged, order, origV ?? [], sub.mergeKey));
    delete patch[key];
  }
}

/** Upstream validatePatchWithSetOrderList: patch items (deletions aside) must appear in the order list, in that order. */
function checkOrderMatchesPatch(patchList: Json[], order: Json[], mergeKey: string, path: string): void {
  const items = patchList.filter((v) => !(isObject(v) && Object.hasOwn(v, PATCH)));
  let i = 0;
  for (let j = 0; i < items.length && j < order.length; j++) {
    if (sameElement(items[i], order[j], mergeKey)) i++;
  }
  if (i < items.length) {
    throw new PatchError(`the order of the patch list ${where(path)} doesn't match its $setElementOrder list: ${show(items[i])} is missing or out of order`, 400);
  }
}

/** True when two list elements are the same element: equal merge-key values, or equal primitives. */
function sameElement(a: Json, b: Json, mergeKey: string): boolean {
  if (mergeKey === '' || !isObject(a) || !isObject(b)) return a === b;
  const va = getOwn(a, mergeKey);
  return va !== undefined && va === getOwn(b, mergeKey);
}

/** Merges a list with patch strategy "merge" (or applies a `$deleteFromPrimitiveList`). */
function mergeList(original: Json[], patch: Json[], schema: SchemaNode, path: string, deleteList: boolean): Json[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = elementKind(original, patch, path);
  if (kind !== 'object') {
    if (deleteList) return original.filter((v) => !patch.includes(v));
    const merged: Json[] = [];
    for (const v of [...original, ...patch]) if (!merged.includes(v)) merged.push(v);
    return orderList(merged, patch, original, '');
  }
  if (deleteList) throw new PatchError(`invalid patch format of primitive list: ${where(path)} is a list of objects`, 400);
  const mergeKey = schema.mergeKey;
  if (mergeKey === '') throw new PatchError(`cannot merge lists without merge key for ${where(path)}`, 400);

  // Special elements first (upstream mergeSliceWithSpecialElements): deletions and `$patch: replace`.
  let base = original;
  let replace = false;
  const items: JsonObject[] = [];
  for (const v of patch as JsonObject[]) {
    if (!Object.hasOwn(v, PATCH)) {
      items.push(v);
      continue;
    }
    const directive = v[PATCH];
    if (directive === 'delete') {
      const key = requireMergeKey(v, mergeKey, path);
      base = base.filter((o) => !(isObject(o) && getOwn(o, mergeKey) === key));
    } else if (directive === 'replace') {
      replace = true;
    } else if (directive !== 'merge') {
      throw new PatchError(`unknown patch type ${show(directive)} in list ${where(path)}`, 400);
    } else {
      delete v[PATCH];
      if (Object.keys(v).length > 0) items.push(v);
    }
  }
  if (replace) return fromPatch(items, { ...schema, merge: false }, path) as Json[];

  const merged = base.slice();
  for (const item of items) {
    const key = requireMergeKey(item, mergeKey, path);
    const at = merged.findIndex((o) => isObject(o) && getOwn(o, mergeKey) === key);
    const next = at >= 0 ? mergeMap(merged[at] as JsonObject, item, schema, path) : fromPatch(item, schema, path);
    if (next === DELETED) {
      if (at >= 0) merged.splice(at, 1);
    } else if (at >= 0) {
      merged[at] = next;
    } else {
      merged.push(next);
    }
  }
  return orderList(merged, items, base, mergeKey);
}

function requireMergeKey(v: JsonObject, mergeKey: string, path: string): Json {
  const key = getOwn(v, mergeKey);
  if (key === undefined) {
    throw new PatchError(`map: ${show(v)} does not contain declared merge key: ${mergeKey} (in ${where(path)})`, 400);
  }
  return key;
}

/** Upstream sliceElementType: all elements share one JSON kind, and lists of lists are refused (422). */
function elementKind(original: Json[], patch: Json[], path: string): string {
  let kind = '';
  for (const list of [original, patch]) {
    for (const v of list) {
      const k = kindOf(v);
      if (k === 'array') throw new PatchError(`lists of lists are not supported (at ${where(path)})`, 422);
      if (kind === '') kind = k;
      else if (k !== kind) throw new PatchError(`list element types are not identical in ${where(path)}: found ${kind} and ${k}`, 400);
    }
  }
  return kind;
}

function directiveField(rawKey: string, prefix: string, path: string): string {
  const field = rawKey.slice(prefix.length);
  if (field === '') throw new PatchError(`invalid patch directive "${rawKey}" at ${where(path)}: it names no field`, 400);
  return field;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function where(path: string): string {
  return path === '' ? 'the top level' : `"${path}"`;
}
