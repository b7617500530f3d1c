/**
 * JSON text exactly as httpbin's Python prints it: `json.dumps` escapes everything outside printable ASCII
 * and separates with ", " and ": "; Flask's pretty `jsonify` also indents by 2 and sorts keys, which leaves
 * the familiar trailing space after each comma at a line end.
 */

// Python's ensure_ascii escapes every character outside ' '..'~'; JSON.stringify has already escaped the
// control characters (and lone surrogates) the same way, so only DEL and non-ASCII are left to do.
const NEEDS_ESCAPE = /[\u007f-\uffff]/;
const NEEDS_ESCAPE_ALL = /[\u007f-\uffff]/g;

function escapeUnit(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** A string literal as Python's json.dumps writes it (ASCII only, lowercase \\u escapes). */
export function pyString(s: string): string {
  const j = JSON.stringify(s);
  return NEEDS_ESCAPE.test(j) ? j.replace(NEEDS_ESCAPE_ALL, escapeUnit) : j;
}

function pyNumber(n: number): string {
  if (Number.isFinite(n)) return String(n);
  return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
}

/** `json.dumps(value)` (compact: ", " and ": ", insertion order), or with `pretty` Flask's jsonify layout. */
export function pyDumps(value: unknown, pretty = false): string {
  return dump(value, pretty ? '\n' : null, pretty);
}

/** `newline` is null when compact, else "\n" plus the current indentation. */
function dump(v: unknown, newline: string | null, sort: boolean): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      return pyNumber(v);
    case 'bigint':
      return String(v);
    case 'string':
      return pyString(v);
    case 'object':
      break;
    default:
      return 'null';
  }
  const inner = newline === null ? null : `${newline}  `;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    const items = v.map((x: unknown) => dump(x, inner, sort));
    return inner === null ? `[${items.join(', ')}]` : `[${inner}${items.join(`, ${inner}`)}${newline}]`;
  }
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 0) return '{}';
  if (sort) keys.sort();
  const items = keys.map((k) => `${pyString(k)}: ${dump(obj[k], inner, sort)}`);
  return inner === null ? `{${items.join(', ')}}` : `{${inner}${items.join(`, ${inner}`)}${newline}}`;
}
