/** JSON value helpers shared by the three patch types: safe own-property access, bounded cloning, equality. */

import { PatchError } from './errors.ts';

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

/**
 * Deepest nesting accepted in a document or a patch. Every algorithm here recurses along the
 * structure, so bounding depth once at the boundary (in cloneJson) rules out stack overflows later.
 * Real Kubernetes objects stay well under 30 levels.
 */
export const MAX_DEPTH = 512;

/** True for a JSON object (not null, not an array). */
export function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Reads an own property only, so `__proto__`, `constructor` and friends never resolve to inherited values. */
export function getOwn(o: JsonObject, key: string): Json | undefined {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/** Writes an own data property; `__proto__` is defined rather than assigned so it cannot swap the prototype. */
export function setOwn(o: JsonObject, key: string, v: Json): void {
  if (key === '__proto__') {
    Object.defineProperty(o, key, { value: v, writable: true, enumerable: true, configurable: true });
  } else {
    o[key] = v;
  }
}

/** A fresh empty JSON object. */
export function newObject(): JsonObject {
  return {};
}

/** Deep-copies a JSON value; throws PatchError 400 naming `what` when it is nested deeper than MAX_DEPTH. */
export function cloneJson(v: unknown, what: string): Json {
  return cloneAt(v, 0, what);
}

function cloneAt(v: unknown, depth: number, what: string): Json {
  if (v === null || typeof v !== 'object') {
    // JSON.parse never yields undefined, functions or bigints; map them to null so nothing odd leaks through.
    return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : null;
  }
  if (depth >= MAX_DEPTH) throw new PatchError(`the ${what} is nested too deeply (more than ${MAX_DEPTH} levels)`, 400);
  if (Array.isArray(v)) {
    const out: Json[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = cloneAt(v[i], depth + 1, what);
    return out;
  }
  const out = newObject();
  for (const k of Object.keys(v)) setOwn(out, k, cloneAt((v as Record<string, unknown>)[k], depth + 1, what));
  return out;
}

/** Structural equality of two JSON values (object key order ignored). */
export function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!Object.hasOwn(b, k) || !deepEqual(a[k], b[k])) return false;
  return true;
}

/** The JSON kind of a value, as used in messages and type checks. */
export function kindOf(v: Json | undefined): 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null' {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v as 'object' | 'string' | 'number' | 'boolean';
}

/** Short JSON rendering of a value for error messages (truncated so hostile input cannot bloat them). */
export function show(v: Json | undefined): string {
  const s = v === undefined ? 'undefined' : JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}
