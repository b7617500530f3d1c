/**
 * Header-field helpers of the HTTP/1.1 codec: the field grammar's character classes, Connection
 * tokens, Transfer-Encoding framing as llhttp reads it, OWS trimming, name case, and the header
 * object node's IncomingMessage would build.
 */

/** A tchar (RFC 9110 §5.6.2), as a regular-expression class. */
const TCHAR_CLASS = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]";
/** Bytes no field value may hold: controls but HTAB, and DEL (a CR or LF would split the message). */
const CONTROL_CLASS = '[\\x00-\\x08\\x0a-\\x1f\\x7f]';
/** A whole token (a header name, a method). */
export const TOKEN = new RegExp(`^${TCHAR_CLASS}+$`);
/** A field value that holds a forbidden byte. */
export const CONTROL = new RegExp(CONTROL_CLASS);

/** The trailers of a message that has none: one shared list, never written (a message with trailers gets its own). */
export const noTrailers: string[] = [];

/** Whether a comma-separated header value holds `token` (case-insensitive). */
export function hasToken(value: string, token: string): boolean {
  const v = value.toLowerCase();
  let i = v.indexOf(token);
  while (i >= 0) {
    const before = i === 0 ? 44 : v.charCodeAt(i - 1);
    const end = i + token.length;
    const after = end === v.length ? 44 : v.charCodeAt(end);
    if ((before === 44 || before === 32 || before === 9) && (after === 44 || after === 32 || after === 9)) return true;
    i = v.indexOf(token, i + 1);
  }
  return false;
}

/** teFraming results. */
export const TE_CHUNKED = 1;
export const TE_OTHER = 2;
export const TE_INVALID = 3;
/** Whitespace around a coding: SP or HTAB before it, only SP after it (see teFraming). */
const TE_OWS = /^[ \t]+| +$/g;

/**
 * How a Transfer-Encoding list frames the body: TE_CHUNKED when `chunked` is the last coding,
 * TE_OTHER when it is not (requests: 501; responses: read until close), TE_INVALID when it is there
 * twice (RFC 9112 §7: a sender must not chunk twice; llhttp rejects it). `te` holds the values
 * joined, untrimmed where they have an HTAB: as in llhttp, a coding followed by HTAB (`chunked\t`) or
 * an empty element after it (`chunked,`) is not `chunked` last, so every hop reads the framing alike.
 */
export function teFraming(te: string): number {
  // The usual single `chunked`, without the split (a raw value of 7 characters has no whitespace).
  if (te.length === 7) return te.toLowerCase() === 'chunked' ? TE_CHUNKED : TE_OTHER;
  let chunked = false;
  let lastChunked = false;
  for (const part of te.split(',')) {
    const coding = part.replace(TE_OWS, '').toLowerCase();
    lastChunked = coding === 'chunked';
    if (lastChunked) {
      if (chunked) return TE_INVALID;
      chunked = true;
    }
  }
  return lastChunked ? TE_CHUNKED : TE_OTHER;
}

/**
 * Strips SP and HTAB only (RFC 9110 OWS): String.prototype.trim would also eat a stray CR, VT, FF
 * or latin1 NBSP (0xA0), hiding a bare CR from the control-character check and changing values.
 */
export function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** True when `s` has no ASCII uppercase letter. */
export function isLower(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return false;
  }
  return true;
}

/**
 * `b[start..end)` as latin1 text, `start` and `end` in range: Buffer's latin1Slice, which
 * toString('latin1', …) calls after checking its arguments (node's types do not declare it).
 */
export function latin1(b: Buffer, start: number, end: number): string {
  return (b as unknown as { latin1Slice(start: number, end: number): string }).latin1Slice(start, end);
}

/** `name` lowercased, without the toLowerCase call when it has no capital (the usual case on the proxy's path). */
export function asLower(name: string): string {
  return isLower(name) ? name : name.toLowerCase();
}

/** Header names node keeps only the first of (IncomingMessage._addHeaderLine). */
const singleValued = new Set([
  'content-type',
  'content-length',
  'user-agent',
  'referer',
  'host',
  'authorization',
  'proxy-authorization',
  'if-modified-since',
  'if-unmodified-since',
  'from',
  'location',
  'max-forwards',
  'retry-after',
  'etag',
  'last-modified',
  'server',
  'age',
  'expires',
]);

/**
 * The header object node's IncomingMessage.headers would hold for these raw pairs, whose names are
 * lowercase (the parsers' are, and node's once lowerNames ran; a check per name cost ~1,000
 * instructions a request under callgrind). Without a
 * prototype, so V8 keeps it a dictionary: every header object has the one map whatever names it
 * holds, and the router's reads of it stay monomorphic. An object literal gets a map per set and
 * order of names, so a client sending other headers than the last deoptimized every function that
 * reads them, and ran them unoptimized until V8 recompiled them (docs/performance.md).
 */
export function headerObject(raw: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i];
    // node's object drops it (an assignment to __proto__ sets no property); here it would be one.
    if (k === '__proto__') continue;
    out[k] = merged(k, out[k], raw[i + 1]);
  }
  return out;
}

/** A header's value after one more of its lines (`cur` before it), by node's rules for repeated headers. */
function merged(k: string, cur: string | string[] | undefined, v: string): string | string[] {
  if (cur === undefined) return k === 'set-cookie' ? [v] : v;
  if (typeof cur !== 'string') {
    cur.push(v); // set-cookie
    return cur;
  }
  return singleValued.has(k) ? cur : cur + (k === 'cookie' ? '; ' : ', ') + v;
}

/**
 * What headerObject(raw)[name] would be, without building the object: a scan of the pairs (a few
 * pointer comparisons each, as the parsers' names are interned constants) costs less than one read
 * of a dictionary, let alone building it.
 */
export function rawHeaderValue(raw: string[], name: string): string | string[] | undefined {
  let v: string | string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) if (raw[i] === name) v = merged(name, v, raw[i + 1]);
  return name === '__proto__' ? undefined : v;
}
