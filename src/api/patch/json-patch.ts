/** RFC 6902 JSON Patch with RFC 6901 JSON pointers. */

import { PatchError } from './errors.ts';
import { cloneJson, deepEqual, getOwn, isObject, setOwn, show, type Json, type JsonObject } from './json.ts';

/** kube-apiserver rejects JSON patches with more operations than this with 413. */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

/** Applies an RFC 6902 JSON patch; returns a new object, the input is not modified. */
export function applyJsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) {
    throw new PatchError(`a JSON patch must be a JSON array of operations, got ${typeName(ops)}`, 400);
  }
  if (ops.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new PatchError(`The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}`, 413);
  }
  // Decoding problems are 400 upstream (the body is not a list of operation objects); everything found
  // while applying, including an unknown op name, is 422 because evanphx/json-patch only sees it then.
  for (let i = 0; i < ops.length; i++) {
    if (!isObject(ops[i])) throw new PatchError(`JSON patch operation ${i} must be a JSON object, got ${typeName(ops[i])}`, 400);
  }
  const patch = cloneJson(ops, 'JSON patch') as JsonObject[];
  let root = cloneJson(doc, 'document');
  for (const op of patch) root = applyOperation(root, op);
  return root;
}

function applyOperation(root: Json, op: JsonObject): Json {
  const name = getOwn(op, 'op');
  switch (name) {
    case 'add':
      return add(root, pointer(op, 'path', 'add'), requireValue(op, 'add'), 'add');
    case 'remove':
      return remove(root, pointer(op, 'path', 'remove'), 'remove');
    case 'replace': {
      const path = pointer(op, 'path', 'replace');
      const value = requireValue(op, 'replace');
      if (path.tokens.length === 0) return value;
      const { parent, key } = locate(root, path, 'replace');
      if (get(parent, key) === undefined) {
        throw notApplicable(`replace operation does not apply: doc is missing key: ${path.raw}: missing value`);
      }
      set(parent, key, value);
      return root;
    }
    case 'move': {
      const from = pointer(op, 'from', 'move');
      const path = pointer(op, 'path', 'move');
      if (from.raw === path.raw) {
        read(root, from, 'move operation does not apply: doc is missing from path: ');
        return root;
      }
      if (path.raw.startsWith(`${from.raw}/`)) {
        throw notApplicable(`move operation does not apply: "${path.raw}" is a child of the from location "${from.raw}"`);
      }
      const value = read(root, from, 'move operation does not apply: doc is missing from path: ');
      return add(remove(root, from, 'move'), path, value, 'move');
    }
    case 'copy': {
      const from = pointer(op, 'from', 'copy');
      const path = pointer(op, 'path', 'copy');
      const value = read(root, from, 'copy operation does not apply: doc is missing from path: ');
      // The copy must not share structure with its source, or a later op on one would change both.
      return add(root, path, cloneJson(value, 'document'), 'copy');
    }
    case 'test': {
      const path = pointer(op, 'path', 'test');
      const value = requireValue(op, 'test');
      const actual = path.tokens.length === 0 ? root : lookup(root, path);
      if (actual === undefined || !deepEqual(actual, value)) {
        throw notApplicable(`testing value ${path.raw} failed: test failed (expected ${show(value)}, found ${show(actual)})`);
      }
      return root;
    }
    default:
      // Same wording as evanphx/json-patch, which is what kubectl users see from a real cluster.
      throw notApplicable(`Unexpected kind: ${typeof name === 'string' ? name : show(name)}`);
  }
}

interface Pointer {
  raw: string;
  tokens: string[];
}

function pointer(op: JsonObject, field: 'path' | 'from', opName: string): Pointer {
  const raw = getOwn(op, field);
  if (typeof raw !== 'string') {
    throw notApplicable(`${opName} operation failed to decode ${field}: "${field}" must be a string, got ${show(raw)}`);
  }
  return { raw, tokens: parsePointer(raw, opName) };
}

/** Splits an RFC 6901 pointer into unescaped reference tokens. */
export function parsePointer(raw: string, opName = 'patch'): string[] {
  if (raw === '') return [];
  if (raw[0] !== '/') throw notApplicable(`${opName} operation has an invalid JSON pointer ${show(raw)}: it must be empty or start with "/"`);
  return raw.slice(1).split('/').map((t) => {
    if (/~(?![01])/.test(t)) throw notApplicable(`${opName} operation has an invalid JSON pointer ${show(raw)}: "~" must be followed by 0 or 1`);
    // ~1 first, then ~0, as RFC 6901 section 4 requires ("~01" must become "~1", not "/").
    return t.replace(/~1/g, '/').replace(/~0/g, '~');
  });
}

function requireValue(op: JsonObject, opName: string): Json {
  if (!Object.hasOwn(op, 'value')) throw notApplicable(`${opName} operation does not apply: it has no "value" member`);
  return op.value;
}

/** Resolves everything but the last token; the parent must exist and be a container. */
function locate(root: Json, path: Pointer, opName: string): { parent: JsonObject | Json[]; key: string } {
  let cur: Json | undefined = root;
  const last = path.tokens.length - 1;
  for (let i = 0; i < last; i++) {
    cur = cur === undefined ? undefined : step(cur, path.tokens[i]);
    if (cur === undefined) break;
  }
  if (cur === undefined || cur === null || typeof cur !== 'object') {
    throw notApplicable(`${opName} operation does not apply: doc is missing path: "${path.raw}": missing value`);
  }
  return { parent: cur, key: path.tokens[last] };
}

function step(cur: Json, token: string): Json | undefined {
  if (Array.isArray(cur)) return ARRAY_INDEX.test(token) ? cur[Number(token)] : undefined;
  if (isObject(cur)) return getOwn(cur, token);
  return undefined;
}

function lookup(root: Json, path: Pointer): Json | undefined {
  let cur: Json | undefined = root;
  for (const t of path.tokens) {
    cur = step(cur, t);
    if (cur === undefined) return undefined;
  }
  return cur;
}

function read(root: Json, path: Pointer, prefix: string): Json {
  const v = lookup(root, path);
  if (v === undefined) throw notApplicable(`${prefix}"${path.raw}": missing value`);
  return v;
}

function get(parent: JsonObject | Json[], key: string): Json | undefined {
  return step(parent, key);
}

function set(parent: JsonObject | Json[], key: string, value: Json): void {
  if (Array.isArray(parent)) parent[Number(key)] = value;
  else setOwn(parent, key, value);
}

function add(root: Json, path: Pointer, value: Json, opName: string): Json {
  if (path.tokens.length === 0) return value;
  const { parent, key } = locate(root, path, opName);
  if (Array.isArray(parent)) {
    if (key === '-') {
      parent.push(value);
      return root;
    }
    if (!ARRAY_INDEX.test(key) || Number(key) > parent.length) {
      throw notApplicable(`${opName} operation does not apply: index ${show(key)} is out of bounds for "${path.raw}" (array length ${parent.length})`);
    }
    parent.splice(Number(key), 0, value);
    return root;
  }
  setOwn(parent, key, value);
  return root;
}

function remove(root: Json, path: Pointer, opName: string): Json {
  if (path.tokens.length === 0) throw notApplicable(`${opName} operation does not apply: cannot remove the whole document`);
  const { parent, key } = locate(root, path, opName);
  if (Array.isArray(parent)) {
    if (!ARRAY_INDEX.test(key) || Number(key) >= parent.length) {
      throw notApplicable(`${opName} operation does not apply: doc is missing path: "${path.raw}": missing value`);
    }
    parent.splice(Number(key), 1);
    return root;
  }
  if (!Object.hasOwn(parent, key)) {
    throw notApplicable(`${opName} operation does not apply: doc is missing path: "${path.raw}": missing value`);
  }
  delete parent[key];
  return root;
}

function notApplicable(message: string): PatchError {
  return new PatchError(message, 422);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
