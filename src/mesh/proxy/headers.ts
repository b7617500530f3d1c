/**
 * Header handling on the request path: hop-by-hop filtering fused with the route's header
 * operations in one pass over node's flat rawHeaders, response header building, and the values
 * hash policies read. Header operations are compiled (HeaderOps → CompiledOps) at apply() time.
 *
 * Names in every rawHeaders list the proxy handles are lowercase: the HTTP/1.1 parser lowercases
 * them as Envoy's codec does, HTTP/2 has only lowercase names, and requests node's server parsed
 * are lowercased as they arrive (listeners.ts). So no name is lowercased again per request here.
 */
import type http from 'node:http';
import { ProxyConfigError } from './errors.ts';
import { CONTROL, TOKEN } from './h1/fields.ts';
import { H1Request } from './h1/server.ts';
import type { HeaderMutation, HeaderOps } from './model.ts';

/** Header operations folded into "drop these names, then append these pairs" (set = drop + append). */
export interface CompiledOps {
  /** Lowercase names to drop from the incoming list. */
  remove: ReadonlySet<string>;
  /** Flat [name, value, ...] to append. */
  append: readonly string[];
}

/** No header operations. */
export const noOps: CompiledOps = { remove: new Set(), append: [] };

/** Names no route may set or remove (Istio drops pseudo-headers and host from header ops). */
function forbidden(name: string): boolean {
  return name.startsWith(':') || name === 'host';
}

/**
 * Refuses a configured header value with control characters (Istio's webhook refuses them too; a
 * static config skips it). Checked once here, so the HTTP/1.1 writers need not look at each value of
 * each request: values from the parsers are checked as they are read.
 */
export function checkHeaderValue(value: string, where: string): string {
  if (CONTROL.test(value)) throw new ProxyConfigError(`${where}: header value ${JSON.stringify(value)} has control characters`);
  return value;
}

/** A configured header to add: a token name and a value without control characters. */
function checkedPair(name: string, value: string): [string, string] {
  if (!TOKEN.test(name)) throw new ProxyConfigError(`header name ${JSON.stringify(name)} is not a valid HTTP token`);
  return [name.toLowerCase(), checkHeaderValue(value, `header "${name}"`)];
}

/**
 * Folds operation levels, least specific last so it wins (Envoy's default order: weighted-cluster
 * operations first, then the route's): each level removes, then sets, then adds.
 */
export function compileOps(levels: Array<HeaderOps | undefined>): CompiledOps {
  const remove = new Set<string>();
  let append: string[] = [];
  for (const ops of levels) {
    if (!ops) continue;
    const drop = new Set<string>();
    for (const n of ops.remove ?? []) if (!forbidden(n.toLowerCase())) drop.add(n.toLowerCase());
    for (const n of Object.keys(ops.set ?? {})) if (!forbidden(n.toLowerCase())) drop.add(n.toLowerCase());
    if (drop.size) {
      const kept: string[] = [];
      for (let i = 0; i < append.length; i += 2) if (!drop.has(append[i])) kept.push(append[i], append[i + 1]);
      append = kept;
      for (const n of drop) remove.add(n);
    }
    for (const [n, v] of Object.entries(ops.set ?? {})) if (!forbidden(n.toLowerCase())) append.push(...checkedPair(n, v));
    for (const [n, v] of Object.entries(ops.add ?? {})) if (!forbidden(n.toLowerCase())) append.push(...checkedPair(n, v));
  }
  return remove.size || append.length ? { remove, append } : noOps;
}

/** Request and response operations of one (route, destination) pair. */
export function compileMutation(dest: HeaderMutation | undefined, route: HeaderMutation | undefined): { request: CompiledOps; response: CompiledOps } {
  return { request: compileOps([dest?.request, route?.request]), response: compileOps([dest?.response, route?.response]) };
}

/**
 * Request headers the proxy owns and always rewrites: hop-by-hop ones (RFC 9110 §7.6.1), the
 * proxy-only ones, the ones it sets itself per attempt, and `expect` (the proxy answered the
 * 100-continue itself, as Envoy does).
 */
const requestOwned = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
  'http2-settings',
  'expect',
  'host',
  'x-envoy-attempt-count',
  'x-envoy-expected-rq-timeout-ms',
  'x-envoy-original-path',
  'x-envoy-decorator-operation',
  // The proxy's own peer-metadata header: set by the outbound side, read and stripped by inbound; never taken from an app.
  'x-skiff-peer',
]);

/** Request headers each listener kind rewrites itself (gateways also append to x-forwarded-for). */
export const ownedRequestHeaders = {
  sidecar: requestOwned as ReadonlySet<string>,
  gateway: new Set([...requestOwned, 'x-forwarded-for']) as ReadonlySet<string>,
};

/** Response headers never forwarded (hop-by-hop; node frames the body itself). */
const responseOwned = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'transfer-encoding', 'server',
  // Envoy's router sets its own (setReferenceKey overwrites): a gateway in front of a sidecar reports one value, not two.
  'x-envoy-upstream-service-time',
]);

/** Names listed in Connection (`Connection: x-foo`), which are hop-by-hop too; undefined when none. */
export function connectionListed(raw: string[]): Set<string> | undefined {
  let listed: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i] === 'connection') {
      const v = raw[i + 1];
      // The usual values name no header: no split for them (other spellings go through the split).
      if (v === 'keep-alive' || v === 'close') continue;
      for (const tok of v.split(',')) {
        const t = tok.trim().toLowerCase();
        if (t && t !== 'close' && t !== 'keep-alive') (listed ??= new Set()).add(t);
      }
    }
  }
  return listed;
}

/**
 * The upstream request headers: rawHeaders minus `owned` names (ownedRequestHeaders), those listed
 * in Connection and the route's removals, plus the route's appends; one pass, one output array.
 * Transfer-Encoding stays: node's client re-chunks what it pipes.
 */
export function upstreamHeaders(raw: string[], ops: CompiledOps, owned: ReadonlySet<string>): string[] {
  const listed = connectionListed(raw);
  const out: string[] = [];
  const rm = ops.remove;
  const anyRm = rm.size > 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (owned.has(name) || (anyRm && rm.has(name)) || listed?.has(name)) continue;
    out.push(name, raw[i + 1]);
  }
  const app = ops.append;
  for (let i = 0; i < app.length; i += 2) out.push(app[i], app[i + 1]);
  return out;
}

/** Lowercases the names of a request node's parser read (in place), for the code here; returns it. */
export function lowerNames<T extends { rawHeaders: string[] }>(req: T): T {
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) raw[i] = raw[i].toLowerCase();
  return req;
}

/** Upgrade requests keep Connection/Upgrade (the upstream must see them). */
export function upgradeHeaders(raw: string[], ops: CompiledOps): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name === 'host' || name === 'proxy-connection' || name === 'proxy-authorization' || name === 'keep-alive' || ops.remove.has(name)) continue;
    out.push(raw[i], raw[i + 1]);
  }
  for (let i = 0; i < ops.append.length; i += 2) out.push(ops.append[i], ops.append[i + 1]);
  return out;
}

/**
 * Whether an upstream response header stops at the proxy: hop-by-hop or the proxy's own
 * (responseOwned), named in the response's Connection (`listed`, connectionListed), or removed by
 * the route. downstreamHeaders and forward.ts's relay of lines as read both drop by it.
 */
export function dropsDownstream(name: string, ops: CompiledOps, listed: Set<string> | undefined): boolean {
  return responseOwned.has(name) || (ops.remove.size > 0 && ops.remove.has(name)) || (listed !== undefined && listed.has(name));
}

/** The response headers to send downstream: upstream's minus hop-by-hop and removals, plus appends and `server`. */
export function downstreamHeaders(raw: string[], ops: CompiledOps, server: string): string[] {
  const listed = connectionListed(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (dropsDownstream(name, ops, listed)) continue;
    out.push(name, raw[i + 1]);
  }
  for (let i = 0; i < ops.append.length; i += 2) out.push(ops.append[i], ops.append[i + 1]);
  out.push('server', server);
  return out;
}

/** What a request's headers are read from: node's IncomingMessage, the proxy's own H1Request, or a test's stand-in. */
export type HeaderHolder = { readonly headers: http.IncomingHttpHeaders };

/**
 * `req.headers[name]` (a lowercase name). The proxy's own HTTP/1.1 requests build their header
 * object on first use (h1/server.ts); the router's per-request reads come here so that it is
 * usually never built: a scan of the few raw pairs costs less than building the dictionary, and
 * each of its reads.
 */
export function headerOf(req: HeaderHolder, name: string): string | string[] | undefined {
  return req instanceof H1Request ? req.header(name) : req.headers[name];
}

/** The Host header (single-valued by node's rules: the first one when repeated). */
export function hostHeader(req: HeaderHolder): string | undefined {
  return headerOf(req, 'host') as string | undefined;
}

/** The client's `x-request-id`, or '' when it sent none (the proxy then generates a UUID v4, as Envoy). */
export function clientRequestId(req: HeaderHolder): string {
  const v = headerOf(req, 'x-request-id');
  return typeof v === 'string' ? v : '';
}

/** A cookie's value from a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let i = 0;
  while (i < header.length) {
    let end = header.indexOf(';', i);
    if (end < 0) end = header.length;
    const eq = header.indexOf('=', i);
    if (eq > 0 && eq < end && header.slice(i, eq).trim() === name) {
      let v = header.slice(eq + 1, end).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      return v;
    }
    i = end + 1;
  }
  return undefined;
}
