/** Reading a request the way httpbin (Flask + Werkzeug) presents it: headers, args, form, files, data, json. */
import type { IncomingMessage } from 'node:http';
import { isUtf8 } from 'node:buffer';

/** Werkzeug's MultiDict after httpbin's semiflatten: one value stays a string, several become a list. */
export type Flat = Record<string, string | string[]>;

/** What httpbin's get_dict() reads from the body. */
export interface BodyParts {
  form: Flat;
  files: Flat;
  data: string;
  json: unknown;
}

// Proxy headers httpbin hides from `headers` unless the query has `show_env` (helpers.py ENV_HEADERS).
const ENV_HEADERS = new Set([
  'x-varnish', 'x-request-start', 'x-heroku-queue-depth', 'x-real-ip', 'x-forwarded-proto', 'x-forwarded-protocol',
  'x-forwarded-ssl', 'x-heroku-queue-wait-time', 'x-forwarded-for', 'x-heroku-dynos-in-use', 'x-forwarded-port',
  'x-request-id', 'via', 'total-route-time', 'connect-time',
]);

// Title-casing is a loop per header name; names repeat across requests, so remember them (bounded).
const TITLE_CACHE = new Map<string, string>();
const TITLE_CACHE_MAX = 512;

/** Python's str.title() of a lowercase header name, as Werkzeug shows WSGI headers: "x-b3-traceid" → "X-B3-Traceid". */
export function titleCase(name: string): string {
  const hit = TITLE_CACHE.get(name);
  if (hit !== undefined) return hit;
  let out = '';
  let prevCased = false;
  for (const ch of name) {
    const lower = ch.toLowerCase();
    const upper = ch.toUpperCase();
    const cased = lower !== upper;
    out += cased ? (prevCased ? lower : upper) : ch;
    prevCased = cased;
  }
  if (TITLE_CACHE.size < TITLE_CACHE_MAX) TITLE_CACHE.set(name, out);
  return out;
}

/** Request headers as httpbin's get_headers() shows them, in arrival order. */
export function requestHeaders(req: IncomingMessage, showEnv: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || (!showEnv && ENV_HEADERS.has(name))) continue;
    out[titleCase(name)] = Array.isArray(value) ? value.join(',') : value;
  }
  return out;
}

/** The client address: X-Forwarded-For as sent when present (httpbin behind a proxy), else the peer. */
export function clientOrigin(req: IncomingMessage): string {
  const xff = req.headers['x-forwarded-for'];
  if (xff !== undefined) return Array.isArray(xff) ? xff.join(',') : xff;
  const addr = req.socket.remoteAddress ?? '';
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}

/** The full request URL; the scheme honours X-Forwarded-Proto/-Protocol/-Ssl like httpbin's get_url(). */
export function requestUrl(req: IncomingMessage, fallbackHost: string): string {
  const h = req.headers;
  const proto = header(h['x-forwarded-proto']) ?? header(h['x-forwarded-protocol']) ?? (h['x-forwarded-ssl'] === 'on' ? 'https' : 'http');
  return `${proto}://${h.host || fallbackHost}${req.url ?? '/'}`;
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Groups name/value pairs and flattens single values, like httpbin's semiflatten(MultiDict). */
export function flatten(pairs: Iterable<[string, string]>): Flat {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of pairs) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return out;
}

/** httpbin's json_safe(): text if the bytes are UTF-8, else a base64 `data:` URL. */
export function jsonSafe(buf: Buffer, contentType = 'application/octet-stream'): string {
  return isUtf8(buf) ? buf.toString('utf8') : `data:${contentType};base64,${buf.toString('base64')}`;
}

const EMPTY: Flat = Object.freeze({}) as Flat;

/** Splits a body into form, files, data and json as Werkzeug does: form bodies leave data empty. */
export function parseBody(contentType: string | undefined, body: Buffer): BodyParts {
  const mime = (contentType ?? '').split(';', 1)[0].trim().toLowerCase();
  if (mime === 'application/x-www-form-urlencoded') {
    return { form: flatten(new URLSearchParams(body.toString('utf8'))), files: EMPTY, data: '', json: null };
  }
  if (mime === 'multipart/form-data') {
    const boundary = /boundary=(?:"([^"]{1,200})"|([^;\s]{1,200}))/i.exec(contentType ?? '');
    const parts = boundary === null ? { fields: [], files: [] } : parseMultipart(body, boundary[1] ?? boundary[2]);
    return { form: flatten(parts.fields), files: flatten(parts.files), data: '', json: null };
  }
  let json: unknown = null;
  if (body.length > 0 && isUtf8(body)) {
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      json = null; // httpbin answers "json": null for anything that is not JSON
    }
  }
  return { form: EMPTY, files: EMPTY, data: jsonSafe(body), json };
}

const DISPOSITION_PARAM = /;\s*(name|filename)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/gi;

/** A small multipart/form-data reader: parts with a filename are files, the rest are fields. */
export function parseMultipart(body: Buffer, boundary: string): { fields: [string, string][]; files: [string, string][] } {
  const fields: [string, string][] = [];
  const files: [string, string][] = [];
  const delimiter = Buffer.from(`--${boundary}`);
  const next = Buffer.from(`\r\n--${boundary}`);
  let pos = body.indexOf(delimiter);
  while (pos !== -1) {
    pos += delimiter.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break; // closing delimiter
    const lineEnd = body.indexOf('\r\n', pos);
    if (lineEnd === -1) break;
    const headEnd = body.indexOf('\r\n\r\n', lineEnd);
    if (headEnd === -1) break;
    const end = body.indexOf(next, headEnd + 4);
    if (end === -1) break;
    const head = body.toString('utf8', lineEnd + 2, headEnd);
    const content = body.subarray(headEnd + 4, end);
    let name: string | undefined;
    let filename: string | undefined;
    let type: string | undefined;
    for (const line of head.split('\r\n')) {
      const colon = line.indexOf(':');
      const key = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (key === 'content-type') type = value;
      if (key !== 'content-disposition') continue;
      for (const m of value.matchAll(DISPOSITION_PARAM)) {
        const v = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
        if (m[1].toLowerCase() === 'name') name = v;
        else filename = v;
      }
    }
    if (name !== undefined) {
      if (filename !== undefined) files.push([name, jsonSafe(content, type || 'application/octet-stream')]);
      else fields.push([name, content.toString('utf8')]);
    }
    pos = end + 2;
  }
  return { fields, files };
}
