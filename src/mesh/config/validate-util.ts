/**
 * Building blocks of Istio's semantic validation, ported from istio/istio 1.27
 * (pkg/config/validation/{validation.go,agent/validation.go}): an error accumulator that renders
 * exactly as Go's go-multierror does, tolerant readers for untrusted specs, Go-style formatting
 * and Go durations.
 */

/** A JSON object as it comes from the API server; every field is untrusted. */
export type J = Record<string, unknown>;

/**
 * Errors and warnings of one validation, shaped like Istio's `Validation{Err, Warning}`.
 * `multi` mirrors whether the Go error is a `*multierror.Error`: a lone error created with
 * `multierror.Append` renders as "1 error occurred:\n\t* …", a plain one renders bare.
 */
export class Issues {
  errors: string[] = [];
  warnings: string[] = [];
  multi = false;

  /** Appends a plain error (Go: `appendErrors(errs, fmt.Errorf(...))`). */
  error(msg: string): this {
    if (this.errors.length > 0) this.multi = true;
    this.errors.push(msg);
    return this;
  }

  /** Appends an error the way `multierror.Append(errs, e)` does: the result is always a list. */
  multiError(msg: string): this {
    this.multi = true;
    this.errors.push(msg);
    return this;
  }

  /** Appends a warning. */
  warn(msg: string): this {
    this.warnings.push(msg);
    return this;
  }

  /** Appends another result (Go: `AppendValidation(v, other)`); an empty side keeps the other's shape. */
  add(other: Issues | undefined): this {
    if (!other) return this;
    if (other.errors.length > 0) {
      if (this.errors.length === 0) this.multi = other.multi;
      else this.multi = true;
      this.errors.push(...other.errors);
    }
    this.warnings.push(...other.warnings);
    return this;
  }

  /** Like `add`, but drops the other's warnings (Go: `appendErrors`, which keeps only `.Err`). */
  addErrors(other: Issues | undefined): this {
    if (!other || other.errors.length === 0) return this;
    if (this.errors.length === 0) this.multi = other.multi;
    else this.multi = true;
    this.errors.push(...other.errors);
    return this;
  }

  /** The error as Go prints it with `%v`, or '' when there is none. */
  errorText(): string {
    return formatGoErrors(this.errors, this.multi);
  }
}

/** A fresh accumulator holding one plain error. */
export function issue(msg: string): Issues {
  return new Issues().error(msg);
}

/** Renders errors like go-multierror v1.1.1's ListFormatFunc (a lone plain error prints bare). */
export function formatGoErrors(errors: string[], multi: boolean): string {
  if (errors.length === 0) return '';
  if (errors.length === 1 && !multi) return errors[0]!;
  if (errors.length === 1) return `1 error occurred:\n\t* ${errors[0]}\n\n`;
  return `${errors.length} errors occurred:\n\t${errors.map((e) => `* ${e}`).join('\n\t')}\n\n`;
}

// ---------------------------------------------------------------------------------------------
// Tolerant readers: the API server has already enforced the schema, but a validator must never
// throw on whatever reaches it (fuzzed input, older objects), so wrong types read as absent.

/** The value as a plain object, or undefined. */
export function obj(v: unknown): J | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as J) : undefined;
}

/** The value as an array (absent or wrong type reads as empty). */
export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** The value as a string (absent or wrong type reads as proto3's default ''). */
export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** The value as a finite number (absent or wrong type reads as 0). */
export function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** True when the field is set (proto: a non-nil message, or a present oneof/list). */
export function has(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** The value of a wrapper type (`{value: n}` in some encoders, a bare number in Kubernetes JSON). */
export function wrapped(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  const o = obj(v);
  if (o && typeof o.value === 'number' && Number.isFinite(o.value)) return o.value;
  return undefined;
}

/** The entries of a string→any map field. */
export function entries(v: unknown): [string, unknown][] {
  const o = obj(v);
  return o ? Object.entries(o) : [];
}

/** The string values of a string list (wrong-typed items read as ''). */
export function strs(v: unknown): string[] {
  return arr(v).map(str);
}

/** A string→string map (wrong-typed values read as ''). */
export function strMap(v: unknown): Record<string, string> | undefined {
  const o = obj(v);
  if (!o) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(o)) out[k] = str(x);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Go formatting helpers, so messages read exactly as istiod prints them.

/** Go's `%q` for a string (strconv.Quote). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else if (c >= 0x80 && c < 0xa0) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + '"';
}

/** Go's `%v` for a float64: shortest digits, exponent form when the exponent is < -4 or >= 6 (as `%g`). */
export function goFloat(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [mant, expStr] = n.toExponential().split('e');
  const exp = Number(expStr);
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? '-' : '+';
    return `${mant}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return String(n);
}

/** Go's `%f` (six decimals). */
export function goFixed(n: number): string {
  return n.toFixed(6);
}

/** Go's `%v` for a []string: `[a b c]`. */
export function goList(items: readonly (string | number)[]): string {
  return `[${items.join(' ')}]`;
}

/** Go's strings.Trim(s, ch) for one character (a loop: trimming regexes backtrack quadratically). */
export function trimChar(s: string, ch: string): string {
  let from = 0;
  let to = s.length;
  while (from < to && s[from] === ch) from++;
  while (to > from && s[to - 1] === ch) to--;
  return s.slice(from, to);
}

// ---------------------------------------------------------------------------------------------
// Durations (Go's time.ParseDuration; Istio decodes durations with the legacy jsonpb, which uses it).

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Parses a Go duration into nanoseconds, or returns Go's error text. */
export function parseGoDuration(s: string): { ns: number } | { error: string } {
  const orig = s;
  const bad = { error: `time: invalid duration ${goQuote(orig)}` };
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return { ns: 0 };
  if (s === '') return bad;
  let total = 0;
  while (s !== '') {
    const m = /^([0-9]*)(\.([0-9]*))?/.exec(s)!;
    const intPart = m[1]!;
    const frac = m[3];
    if (intPart === '' && (frac === undefined || frac === '')) return bad;
    s = s.slice(m[0].length);
    const u = /^[^0-9.]*/.exec(s)![0];
    if (u === '') return { error: `time: missing unit in duration ${goQuote(orig)}` };
    const scale = UNIT_NS[u];
    if (scale === undefined) return { error: `time: unknown unit ${goQuote(u)} in duration ${goQuote(orig)}` };
    s = s.slice(u.length);
    total += Number(intPart || '0') * scale + (frac ? Number(`0.${frac}`) * scale : 0);
    if (total > 9.223372036854775e18) return bad;
  }
  return { ns: neg ? -total : total };
}

/**
 * `agent.ValidateDuration` on a duration field: at least 1ms, millisecond precision. An unparsable
 * value never reaches istiod (the CRD schema and its decoder reject it first); here it reports the
 * decoder's complaint so a caller still gets a reason.
 */
export function validateDuration(v: unknown): string | undefined {
  const d = parseGoDuration(str(v));
  if ('error' in d) return `bad Duration: ${d.error}`;
  if (d.ns < 1e6) return 'duration must be greater than 1ms';
  if (Math.round(d.ns) % 1e6 !== 0) return 'only durations to ms precision are supported';
  return undefined;
}

/** Nanoseconds of a duration field, 0 when unset or unparsable. */
export function durationNs(v: unknown): number {
  const d = parseGoDuration(str(v));
  return 'ns' in d ? d.ns : 0;
}

/** Go's `%v` of a proto message with scalar fields, as prototext prints it: `number:80 protocol:"HTTP"`. */
export function protoText(fields: [string, unknown][]): string {
  const parts: string[] = [];
  for (const [name, v] of fields) {
    if (typeof v === 'number' && v !== 0) parts.push(`${name}:${v}`);
    else if (typeof v === 'string' && v !== '') parts.push(`${name}:${goQuote(v)}`);
  }
  return parts.join(' ');
}
