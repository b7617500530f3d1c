/** RFC 7386 JSON Merge Patch. */

import { PatchError } from './errors.ts';
import { cloneJson, getOwn, isObject, newObject, setOwn, type Json } from './json.ts';

/** Applies an RFC 7386 merge patch; returns a new object. */
export function applyMergePatch(doc: unknown, patch: unknown): unknown {
  // RFC 7386 lets a non-object patch replace the whole document, but kube-apiserver (evanphx
  // MergePatch) rejects it with 400, and replacing a stored object wholesale is never intended.
  if (!isObject(patch)) {
    throw new PatchError(`a merge patch must be a JSON object, got ${Array.isArray(patch) ? 'an array' : patch === null ? 'null' : `a ${typeof patch}`}`, 400);
  }
  return mergeValue(cloneJson(doc, 'document'), cloneJson(patch, 'merge patch'));
}

/**
 * The MergePatch(Target, Patch) function of RFC 7386 section 2, exactly. Both arguments are owned
 * clones, so the target is updated in place.
 */
export function mergeValue(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const out = isObject(target) ? target : newObject();
  for (const k of Object.keys(patch)) {
    const v = patch[k];
    if (v === null) delete out[k];
    else setOwn(out, k, mergeValue(getOwn(out, k), v));
  }
  return out;
}
