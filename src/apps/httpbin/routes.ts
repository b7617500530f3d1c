/** httpbin's endpoints (postmanlabs/httpbin core.py), compiled once into a table of regexes. */
import { randomBytes, randomUUID } from 'node:crypto';
import { validateHeaderName, validateHeaderValue, type OutgoingHttpHeaders } from 'node:http';
import { gzipSync } from 'node:zlib';
import { ANGRY, INDEX, MOBY, redirectPage, ROBOTS_TXT, SLIDESHOW, TEAPOT } from './pages.ts';
import { pyDumps } from './pyjson.ts';
import { seededBytes } from './pyrandom.ts';
import { clientOrigin, flatten, parseBody, requestHeaders, requestUrl, type BodyParts } from './request.ts';
import { addCors, HTML, JSON_TYPE, send, sendError, sendJson, type Ctx } from './respond.ts';

/** One endpoint: its path regex, the methods it takes (null: any), and whether it reads the body. */
export interface Route {
  re: RegExp;
  methods: readonly string[] | null;
  body: boolean;
  handle(ctx: Ctx): void;
}

/** Limits httpbin applies: /delay caps at 10 s, /bytes at 100 KiB, /stream at 100 lines. */
export const LIMITS = { delaySeconds: 10, bytes: 100 * 1024, streamLines: 100 } as const;

type DictKey = 'url' | 'args' | 'form' | 'data' | 'origin' | 'headers' | 'files' | 'json' | 'method';

/** httpbin's get_dict(): the listed parts of the request, in that order. */
function requestDict(ctx: Ctx, keys: readonly DictKey[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let parts: BodyParts | undefined;
  for (const key of keys) {
    switch (key) {
      case 'url':
        out.url = requestUrl(ctx.req, ctx.fallbackHost);
        break;
      case 'args':
        out.args = flatten(ctx.query);
        break;
      case 'origin':
        out.origin = clientOrigin(ctx.req);
        break;
      case 'headers':
        out.headers = requestHeaders(ctx.req, ctx.query.has('show_env'));
        break;
      case 'method':
        out.method = ctx.req.method;
        break;
      default:
        parts ??= parseBody(ctx.req.headers['content-type'], ctx.body);
        out[key] = parts[key];
    }
  }
  return out;
}

const GET_KEYS: readonly DictKey[] = ['url', 'args', 'headers', 'origin'];
const BODY_KEYS: readonly DictKey[] = ['url', 'args', 'form', 'data', 'origin', 'headers', 'files', 'json'];
const DELAY_KEYS: readonly DictKey[] = ['url', 'args', 'form', 'data', 'origin', 'headers', 'files'];
const ANYTHING_KEYS: readonly DictKey[] = ['url', 'args', 'headers', 'origin', 'method', 'form', 'data', 'files', 'json'];

/** Python's int() on a string (without digit underscores), or null. */
export function pyInt(s: string): number | null {
  return /^\s*[+-]?\d+\s*$/.test(s) ? Number(s) : null;
}

/** Python's float() on a string, including inf and nan, or null. */
export function pyFloat(s: string): number | null {
  const t = s.trim().toLowerCase();
  if (/^[+-]?nan$/.test(t)) return NaN;
  if (/^[+-]?inf(inity)?$/.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  return /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t) ? Number(t) : null;
}

/** The code `/status/{codes}` answers: one code, or a pick from "a,b" or weighted "a:0.2,b:0.8"; null if invalid. */
export function pickStatus(codes: string, random: () => number = Math.random): number | null {
  if (!codes.includes(',')) return pyInt(codes);
  const values: number[] = [];
  const cumulative: number[] = [];
  let total = 0;
  for (const choice of codes.split(',')) {
    const [code, weight = '1', extra] = choice.split(':');
    const c = pyInt(code);
    const w = pyFloat(weight);
    if (c === null || w === null || Number.isNaN(w) || extra !== undefined) return null;
    total += w;
    values.push(c);
    cumulative.push(total);
  }
  // utils.weighted_choice: bisect the cumulative weights at uniform(0, total).
  const x = random() * total;
  let i = 0;
  while (i < cumulative.length - 1 && cumulative[i] <= x) i++;
  return values[i];
}

const REDIRECT_CODES = new Set([301, 302, 303, 305, 307]);

/** helpers.status_code(): an empty response, or one of httpbin's special bodies and headers. */
function answerStatus(ctx: Ctx, code: number): void {
  if (REDIRECT_CODES.has(code)) return send(ctx, code, '', HTML, { location: '/redirect/1' });
  switch (code) {
    case 401:
      return send(ctx, code, '', HTML, { 'www-authenticate': 'Basic realm="Fake Realm"' });
    case 402:
      return send(ctx, code, 'Fuck you, pay me!', HTML, { 'x-more-info': 'http://vimeo.com/22053820' });
    case 406: {
      const accept = ['image/webp', 'image/svg+xml', 'image/jpeg', 'image/png', 'image/*'];
      return send(ctx, code, pyDumps({ message: 'Client did not request a supported media type.', accept }), JSON_TYPE);
    }
    case 407:
      return send(ctx, code, '', HTML, { 'proxy-authenticate': 'Basic realm="Fake Realm"' });
    case 418:
      return send(ctx, code, TEAPOT, HTML, { 'x-more-info': 'http://tools.ietf.org/html/rfc2324' });
    default:
      return send(ctx, code, '', HTML);
  }
}

function status(ctx: Ctx): void {
  const code = pickStatus(ctx.match[1]);
  // Python would hand any int to Werkzeug; we keep to codes Node and HTTP clients can carry (200..599).
  if (code === null || code < 200 || code > 599) return send(ctx, 400, 'Invalid status code', HTML);
  answerStatus(ctx, code);
}

function delay(ctx: Ctx): void {
  const seconds = pyFloat(ctx.match[1]);
  if (seconds === null || Number.isNaN(seconds) || seconds < 0) return sendError(ctx, 500); // time.sleep() raises
  const timer = setTimeout(finishDelay, Math.min(seconds, LIMITS.delaySeconds) * 1000, ctx);
  ctx.res.once('close', () => clearTimeout(timer)); // the client went away: drop the pending answer
}

function finishDelay(ctx: Ctx): void {
  if (!ctx.res.destroyed) sendJson(ctx, requestDict(ctx, DELAY_KEYS));
}

function firstArg(ctx: Ctx, name: string): string | undefined {
  for (const [k, v] of ctx.query) if (k.toLowerCase() === name) return v; // CaseInsensitiveDict(args)
  return undefined;
}

function bytes(ctx: Ctx): void {
  const n = Math.min(Number(ctx.match[1]), LIMITS.bytes);
  const seed = firstArg(ctx, 'seed');
  let data: Buffer;
  if (seed === undefined) data = randomBytes(n);
  else if (pyInt(seed) === null || seed.length > 4300) return sendError(ctx, 500); // int(seed) raises
  else data = seededBytes(BigInt(seed.trim()), n);
  send(ctx, 200, data, 'application/octet-stream');
}

function stream(ctx: Ctx): void {
  const n = Math.min(Number(ctx.match[1]), LIMITS.streamLines);
  const dict = requestDict(ctx, GET_KEYS);
  const headers: OutgoingHttpHeaders = { 'content-type': JSON_TYPE };
  addCors(ctx.req, headers);
  ctx.res.writeHead(200, headers); // no Content-Length: each line goes out as its own chunk
  for (let i = 0; i < n; i++) {
    dict.id = i;
    ctx.res.write(`${pyDumps(dict)}\n`);
  }
  ctx.res.end();
}

const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'content-type']);

function responseHeaders(ctx: Ctx): void {
  const added: Record<string, string | string[]> = {};
  let contentType = JSON_TYPE;
  for (const [k, v] of ctx.query) {
    try {
      validateHeaderName(k);
      validateHeaderValue(k, v);
    } catch {
      continue; // a name or value no HTTP response can carry
    }
    const lower = k.toLowerCase();
    if (lower === 'content-type') contentType = v;
    if (FRAMING_HEADERS.has(lower)) continue; // we own framing; a query must not break the response
    const prev = added[k];
    added[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  // The body lists the response's own headers, Content-Length included, so iterate until it is stable.
  let length = 0;
  let body = '';
  for (let i = 0; i < 8; i++) {
    body = `${pyDumps({ 'Content-Length': String(length), 'Content-Type': contentType, ...added }, true)}\n`;
    const n = Buffer.byteLength(body);
    if (n === length) break;
    length = n;
  }
  send(ctx, 200, body, contentType, added);
}

const ENV_COOKIES = new Set(['_gauges_unique', '_gauges_unique_year', '_gauges_unique_month', '_gauges_unique_day', '_gauges_unique_hour', '__utmz', '__utma', '__utmb']);

function cookies(ctx: Ctx): void {
  const out: Record<string, string> = {};
  const showEnv = ctx.query.has('show_env');
  for (const part of (ctx.req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (name === '' || name in out || (!showEnv && ENV_COOKIES.has(name))) continue;
    out[name] = value;
  }
  sendJson(ctx, { cookies: out });
}

const COOKIE_SAFE = /^[A-Za-z0-9/=!#$%&'*+\-.^_`|~:]*$/;

/** Werkzeug's cookie value quoting: safe values as they are, others in quotes with octal escapes. */
export function quoteCookie(value: string): string {
  if (COOKIE_SAFE.test(value)) return value;
  let out = '"';
  for (const b of Buffer.from(value)) {
    if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b < 0x20 || b > 0x7e || b === 0x2c || b === 0x3b) out += `\\${b.toString(8).padStart(3, '0')}`;
    else out += String.fromCharCode(b);
  }
  return `${out}"`;
}

function redirect(ctx: Ctx, location: string, status = 302, body = redirectPage(location)): void {
  send(ctx, status, body, HTML, { location });
}

function setCookies(ctx: Ctx, pairs: Iterable<[string, string]>): void {
  const seen = new Set<string>();
  const list: string[] = [];
  for (const [k, v] of pairs) {
    if (seen.has(k)) continue; // dict(request.args.items()) keeps one value per name
    seen.add(k);
    list.push(`${k}=${quoteCookie(v)}; Path=/`);
  }
  send(ctx, 302, redirectPage('/cookies'), HTML, { location: '/cookies', 'set-cookie': list });
}

function deleteCookies(ctx: Ctx): void {
  const list = [...new Set(ctx.query.keys())].map((k) => `${k}=; Expires=Thu, 01-Jan-1970 00:00:00 GMT; Max-Age=0; Path=/`);
  send(ctx, 302, redirectPage('/cookies'), HTML, { location: '/cookies', 'set-cookie': list });
}

function external(ctx: Ctx, path: string): string {
  return `http://${ctx.req.headers.host || ctx.fallbackHost}${path}`;
}

/** /redirect, /relative-redirect and /absolute-redirect: n hops, then /get; n must be positive. */
function redirectN(kind: 'redirect' | 'relative' | 'absolute'): (ctx: Ctx) => void {
  return function redirectHop(ctx: Ctx): void {
    const n = BigInt(ctx.match[1]);
    if (n <= 0n) return sendError(ctx, 500); // `assert n > 0`
    const absolute = kind === 'absolute' || (kind === 'redirect' && (firstArg(ctx, 'absolute') ?? 'false').toLowerCase() === 'true');
    const next = n === 1n ? '/get' : `/${absolute ? 'absolute' : 'relative'}-redirect/${n - 1n}`;
    const location = absolute ? external(ctx, next) : next;
    redirect(ctx, location, 302, kind === 'relative' ? '' : redirectPage(location));
  };
}

function redirectTo(ctx: Ctx): void {
  const url = firstArg(ctx, 'url');
  const code = firstArg(ctx, 'status_code');
  const parsed = code === undefined ? 302 : pyInt(code);
  if (url === undefined || parsed === null) return sendError(ctx, 500); // KeyError / ValueError in the original
  redirect(ctx, url, parsed >= 300 && parsed < 400 ? parsed : 302, '');
}

function userAgent(ctx: Ctx): void {
  const ua = ctx.req.headers['user-agent'];
  if (ua === undefined) return sendError(ctx, 500); // headers['user-agent'] raises KeyError
  sendJson(ctx, { 'user-agent': ua });
}

function gzip(ctx: Ctx): void {
  const dict = requestDict(ctx, ['origin', 'headers']);
  const body = gzipSync(`${pyDumps({ ...dict, method: ctx.req.method, gzipped: true }, true)}\n`);
  send(ctx, 200, body, JSON_TYPE, { 'content-encoding': 'gzip' });
}

function headers(ctx: Ctx): void {
  sendJson(ctx, requestDict(ctx, ['headers']));
}

function ip(ctx: Ctx): void {
  sendJson(ctx, { origin: clientOrigin(ctx.req) });
}

function uuid(ctx: Ctx): void {
  sendJson(ctx, { uuid: randomUUID() });
}

function json(ctx: Ctx): void {
  sendJson(ctx, SLIDESHOW);
}

function setCookiesFromQuery(ctx: Ctx): void {
  setCookies(ctx, ctx.query);
}

function setCookieFromPath(ctx: Ctx): void {
  setCookies(ctx, [[ctx.match[1], ctx.match[2]]]);
}

function echo(keys: readonly DictKey[]): (ctx: Ctx) => void {
  return function echoRequest(ctx: Ctx): void {
    sendJson(ctx, requestDict(ctx, keys));
  };
}

function text(body: string, contentType: string): (ctx: Ctx) => void {
  const buf = Buffer.from(body);
  return function fixedText(ctx: Ctx): void {
    send(ctx, 200, buf, contentType);
  };
}

const GET = ['GET'];
const ANY_BUT_OPTIONS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'TRACE'];

function route(path: string, methods: readonly string[] | null, handle: (ctx: Ctx) => void, body = false): Route {
  return { re: new RegExp(`^${path}$`), methods, body, handle };
}

/** Every endpoint, matched in order against the percent-decoded path. */
export const ROUTES: readonly Route[] = [
  route('/', GET, text(INDEX, HTML)),
  route('/get', GET, echo(GET_KEYS)),
  route('/post', ['POST'], echo(BODY_KEYS), true),
  route('/put', ['PUT'], echo(BODY_KEYS), true),
  route('/patch', ['PATCH'], echo(BODY_KEYS), true),
  route('/delete', ['DELETE'], echo(BODY_KEYS), true),
  route('/anything(?:/.*)?', null, echo(ANYTHING_KEYS), true),
  route('/headers', GET, headers),
  route('/ip', GET, ip),
  route('/user-agent', GET, userAgent),
  route('/uuid', GET, uuid),
  route('/status/([^/]+)', ANY_BUT_OPTIONS, status),
  route('/delay/([^/]+)', ANY_BUT_OPTIONS, delay, true),
  route('/bytes/(\\d+)', GET, bytes),
  route('/stream/(\\d+)', GET, stream),
  route('/gzip', GET, gzip),
  route('/html', GET, text(MOBY, HTML)),
  route('/json', GET, json),
  route('/robots.txt', GET, text(ROBOTS_TXT, 'text/plain')),
  route('/deny', GET, text(ANGRY, 'text/plain')),
  route('/response-headers', ['GET', 'POST'], responseHeaders),
  route('/cookies', GET, cookies),
  route('/cookies/set', GET, setCookiesFromQuery),
  route('/cookies/set/([^/]+)/([^/]+)', GET, setCookieFromPath),
  route('/cookies/delete', GET, deleteCookies),
  route('/redirect/(\\d+)', GET, redirectN('redirect')),
  route('/relative-redirect/(\\d+)', GET, redirectN('relative')),
  route('/absolute-redirect/(\\d+)', GET, redirectN('absolute')),
  route('/redirect-to', ANY_BUT_OPTIONS, redirectTo),
];
