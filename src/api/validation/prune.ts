/** Structural pruning of custom resources (apiextensions-apiserver pkg/apiserver/schema/pruning). */
import type { KObject } from '../types.ts';
import type { Obj } from './util.ts';
import { child, index, isObj } from './util.ts';

/** ObjectMeta fields kept under metadata (everything else there is pruned, as upstream's metadata coercion does). */
const OBJECT_META_FIELDS = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
]);

function pruneMeta(meta: unknown, path: string, out: string[]): void {
  if (!isObj(meta)) return;
  for (const k of Object.keys(meta)) {
    if (!OBJECT_META_FIELDS.has(k)) {
      delete meta[k];
      out.push(child(path, k));
    }
  }
}

function pruneValue(v: unknown, s: unknown, path: string, out: string[]): void {
  if (!isObj(s)) return;
  if (Array.isArray(v)) {
    if (s.items !== undefined) v.forEach((item, i) => pruneValue(item, s.items, index(path, i), out));
    return;
  }
  if (!isObj(v)) return;
  pruneObject(v, s, path, out, s['x-kubernetes-embedded-resource'] === true);
}

function pruneObject(v: Obj, s: Obj, path: string, out: string[], embedded: boolean): void {
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  const props = isObj(s.properties) ? s.properties : undefined;
  const additional = s.additionalProperties;
  for (const k of Object.keys(v)) {
    const p = child(path, k);
    if (embedded && (k === 'apiVersion' || k === 'kind')) continue;
    if (embedded && k === 'metadata') {
      pruneMeta(v[k], p, out);
      continue;
    }
    if (props && Object.prototype.hasOwnProperty.call(props, k)) pruneValue(v[k], props[k], p, out);
    else if (isObj(additional)) pruneValue(v[k], additional, p, out);
    else if (additional === true || preserve) continue;
    else {
      delete v[k];
      out.push(p);
    }
  }
}

/** Removes fields not declared in a structural schema (root apiVersion/kind/metadata kept); returns the removed paths, sorted. */
export function pruneBySchema(obj: KObject, schema: object): string[] {
  const out: string[] = [];
  if (!isObj(obj) || !isObj(schema)) return out;
  pruneObject(obj as Obj, schema as Obj, '', out, true);
  return out.sort();
}
