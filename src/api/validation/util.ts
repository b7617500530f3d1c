/** Cause builders with apimachinery's field/errors.go message formats, Go-style value rendering and type-safe readers. */
import type { Cause } from '../types.ts';

export type Obj = Record<string, unknown>;
export type Errs = Cause[];

// The Cause union in types.ts lacks these two upstream reasons; we still emit the upstream strings.
const NOT_FOUND = 'FieldValueNotFound' as Cause['reason'];
const TOO_MANY = 'FieldValueTooMany' as Cause['reason'];

/** Appends `.key` to a field path. */
export function child(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** Appends `[i]` to a field path. */
export function index(path: string, i: number): string {
  return `${path}[${i}]`;
}

/** Appends `[key]` to a field path (map keys, as field.Path.Key does). */
export function key(path: string, k: string): string {
  return `${path}[${k}]`;
}

/** True for a plain JSON object. */
export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Renders a Go map[string]string literal, keys sorted as fmt does. */
export function goStringMap(m: Obj): string {
  const parts = Object.keys(m).sort().map((k) => `${JSON.stringify(k)}:${goValue(m[k], true)}`);
  const allStrings = Object.values(m).every((v) => typeof v === 'string');
  return `map[string]${allStrings ? 'string' : 'interface {}'}{${parts.join(', ')}}`;
}

/** Renders a value the way field.Error prints a bad value (%v for scalars, %q for strings, %#v otherwise). */
export function goValue(v: unknown, nested = false): string {
  if (v === null || v === undefined) return nested ? 'interface {}(nil)' : 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') return goNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) {
    const allStrings = v.length > 0 && v.every((x) => typeof x === 'string');
    return `[]${allStrings ? 'string' : 'interface {}'}{${v.map((x) => goValue(x, true)).join(', ')}}`;
  }
  if (isObj(v)) return goStringMap(v);
  return JSON.stringify(String(v));
}

/** Formats a number as Go's %v does for int64/float64. */
export function goNumber(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN';
  const s = String(n);
  // Go writes exponents with at least two digits: 1e-07, 1e+21.
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** `Required value` (with optional detail). */
export function required(errs: Errs, field: string, detail = ''): void {
  errs.push({ reason: 'FieldValueRequired', field, message: detail ? `Required value: ${detail}` : 'Required value' });
}

/** `Invalid value: <v>: <detail>`; pass a pre-rendered value with `raw`. */
export function invalid(errs: Errs, field: string, value: unknown, detail: string, raw?: string): void {
  const body = `Invalid value: ${raw ?? goValue(value)}`;
  errs.push({ reason: 'FieldValueInvalid', field, message: detail ? `${body}: ${detail}` : body });
}

/** `Invalid value: <v>: <detail>` with reason FieldValueTypeInvalid (wrong JSON type). */
export function typeInvalid(errs: Errs, field: string, value: unknown, detail: string): void {
  errs.push({ reason: 'FieldValueTypeInvalid', field, message: `Invalid value: ${goValue(value)}: ${detail}` });
}

/** `Unsupported value: "x": supported values: "a", "b"`. */
export function notSupported(errs: Errs, field: string, value: unknown, valid: readonly string[]): void {
  let message = `Unsupported value: ${goValue(value)}`;
  if (valid.length > 0) message += `: supported values: ${valid.map((s) => JSON.stringify(s)).join(', ')}`;
  errs.push({ reason: 'FieldValueNotSupported', field, message });
}

/** `Duplicate value: <v>`. */
export function duplicate(errs: Errs, field: string, value: unknown, raw?: string): void {
  errs.push({ reason: 'FieldValueDuplicate', field, message: `Duplicate value: ${raw ?? goValue(value)}` });
}

/** `Forbidden: <detail>`. */
export function forbidden(errs: Errs, field: string, detail: string): void {
  errs.push({ reason: 'FieldValueForbidden', field, message: detail ? `Forbidden: ${detail}` : 'Forbidden' });
}

/** `Too long: must have at most N bytes` (field.TooLong). */
export function tooLong(errs: Errs, field: string, maxBytes: number): void {
  errs.push({ reason: 'FieldValueTooLong', field, message: `Too long: must have at most ${maxBytes} bytes` });
}

/** `Too long: may not be longer than N` (field.TooLongMaxLength, used by CRD schemas). */
export function tooLongMaxLength(errs: Errs, field: string, max: number): void {
  errs.push({ reason: 'FieldValueTooLong', field, message: max >= 0 ? `Too long: may not be longer than ${max}` : 'Too long: value is too long' });
}

/** `Too many: <n>: must have at most N items`. */
export function tooMany(errs: Errs, field: string, actual: number, max: number): void {
  errs.push({ reason: TOO_MANY, field, message: `Too many: ${actual}: must have at most ${max} items` });
}

/** `Not found: <v>`. */
export function notFound(errs: Errs, field: string, value: unknown): void {
  errs.push({ reason: NOT_FOUND, field, message: `Not found: ${goValue(value)}` });
}

// Readers: null/undefined mean "absent" (as Go's JSON decoder treats them); a wrong type adds a
// FieldValueTypeInvalid cause and reads as absent, so validation never throws on hostile input.

/** Reads an optional object. */
export function getObj(errs: Errs, v: unknown, field: string): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (isObj(v)) return v;
  typeInvalid(errs, field, v, 'must be of type object');
  return undefined;
}

/** Reads an optional array. */
export function getArr(errs: Errs, v: unknown, field: string): unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v;
  typeInvalid(errs, field, v, 'must be of type array');
  return undefined;
}

/** Reads an optional string. */
export function getStr(errs: Errs, v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  typeInvalid(errs, field, v, 'must be of type string');
  return undefined;
}

/** Reads an optional integer. */
export function getInt(errs: Errs, v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  typeInvalid(errs, field, v, 'must be of type integer');
  return undefined;
}

/** Reads an optional boolean. */
export function getBool(errs: Errs, v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  typeInvalid(errs, field, v, 'must be of type boolean');
  return undefined;
}

/** Reads an optional map of strings (labels, annotations, data); non-string values are reported. */
export function getStrMap(errs: Errs, v: unknown, field: string): Record<string, string> | undefined {
  const o = getObj(errs, v, field);
  if (!o) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(o)) {
    if (typeof val === 'string') out[k] = val;
    else if (val !== null && val !== undefined) typeInvalid(errs, key(field, k), val, 'must be of type string');
  }
  return out;
}

/** Reads an array of objects; non-object items are reported and skipped (index kept). */
export function getObjList(errs: Errs, v: unknown, field: string): Array<[number, Obj]> {
  const arr = getArr(errs, v, field);
  const out: Array<[number, Obj]> = [];
  if (!arr) return out;
  arr.forEach((item, i) => {
    // A null list item decodes to a zero-value struct upstream, so its required fields get reported.
    const o = item === null ? {} : getObj(errs, item, index(field, i));
    if (o) out.push([i, o]);
  });
  return out;
}

/** Reads an IntOrString value: returns it, or undefined with a cause when it is neither. */
export function getIntOrString(errs: Errs, v: unknown, field: string): number | string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v))) return v;
  typeInvalid(errs, field, v, 'must be of type int-or-string');
  return undefined;
}

/** Structural deep equality for JSON values (key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** Validates that an optional integer is >= 0 (ValidateNonnegativeField). */
export function nonNegative(errs: Errs, v: unknown, field: string): number | undefined {
  const n = getInt(errs, v, field);
  if (n !== undefined && n < 0) invalid(errs, field, n, 'must be greater than or equal to 0');
  return n;
}
