/**
 * The upstream request a routed request becomes: the per-request Forward state, the weighted
 * destination pick, the rewritten path and headers (built once; attempts only rewrite the attempt
 * count), the consistent-hash key, and mirrors. forward.ts runs the attempts.
 */
import type http from 'node:http';
import type { CompiledAction, CompiledDest, CompiledRoute } from './compile.ts';
import { headerLine } from './h1/parser.ts';
import { cookieValue, headerOf, upstreamHeaders } from './headers.ts';
import { matchedPrefixLength, parseQuery } from './match.ts';
import type { HttpStream } from './stream.ts';
import { injectTrace } from './tracing.ts';
import type { ChooseContext, UpstreamCluster, UpstreamHost, UpstreamRequest } from './upstream/index.ts';

/** A route action that forwards upstream. */
export type RouteAction = CompiledAction & { kind: 'route' };

/** Where listeners find the Forward on the emitters they are attached to. */
export const kFwd = Symbol('skiff.proxy.forward');
/** An emitter carrying its Forward. */
export type Tagged = { [kFwd]?: Forward };

/** Attempt state of one routed request (a per-request record: plain fields, written by forward.ts). */
export class Forward implements ChooseContext, UpstreamRequest {
  readonly s: HttpStream;
  readonly a: RouteAction;
  readonly d: CompiledDest;
  readonly cluster: UpstreamCluster;
  readonly method: string;
  path = '';
  /** Set by buildRequest, right after construction. */
  headers!: string[];
  /** Index in `headers` of the x-envoy-attempt-count value, rewritten per attempt. */
  attemptIdx = 0;
  /** UpstreamRequest's pre-rendered last lines of the head (first attempt only) and where their pairs start. */
  headTail: string | undefined = undefined;
  headEnd = 0;
  attempt = 0;
  /** Active retry conditions (0 when the body cannot be replayed or the route has no retries). */
  retryOn = 0;
  body?: Buffer;
  /** Body chunks read while deciding whether to buffer; streamed bodies start with them. */
  chunks?: Buffer[];
  streamBody = false;
  /** No request body at all (HTTP/2 upstreams then send HEADERS with END_STREAM). */
  endStream = false;
  /** HTTP/2 downstreams: the request whose trailers follow the body upstream. */
  trailersFrom?: http.IncomingMessage;
  /** The load balancer's inputs (ChooseContext): the Forward is its own, as it is its own UpstreamRequest. */
  hashKey?: string;
  avoid?: ReadonlySet<string>;
  original?: { address: string; port: number };
  host?: UpstreamHost;
  creq?: http.ClientRequest;
  handle?: { cancel(): void };
  attemptStart = 0;
  perTry?: NodeJS.Timeout;
  global?: NodeJS.Timeout;
  backoff?: NodeJS.Timeout;
  holdingRetry = false;
  /** The attempt whose pool callback ran last (request() may call back synchronously). */
  pooled = 0;
  responded = false;
  /** A relayed response waits for the client to read (forward.ts holdUpstream). */
  waiting = false;
  finished = false;

  constructor(s: HttpStream, a: RouteAction, d: CompiledDest, cluster: UpstreamCluster) {
    this.s = s;
    this.a = a;
    this.d = d;
    this.cluster = cluster;
    this.method = s.req.method ?? 'GET';
  }
}

/** Picks a destination by weight (one random number; one destination = 100%). */
export function pickDest(a: RouteAction, random: () => number): CompiledDest {
  const ds = a.dests;
  if (ds.length === 1) return ds[0];
  const x = random() * a.total;
  for (let i = 0; i < ds.length; i++) if (x < ds[i].cum) return ds[i];
  return ds[ds.length - 1];
}

/** The upstream path and headers, built once; attempts only rewrite the attempt count. */
export function buildRequest(f: Forward, r: CompiledRoute): void {
  const s = f.s;
  const a = f.a;
  const v = s.view;
  let path = v.fullPath;
  if (a.prefixRewrite !== undefined || a.regexRewrite) {
    let p = a.prefixRewrite !== undefined ? a.prefixRewrite + v.path.slice(matchedPrefixLength(r.match, v.path)) : v.path.replace(a.regexRewrite!.re, a.regexRewrite!.sub);
    if (!p) p = '/';
    path = v.query ? `${p}?${v.query}` : p;
    s.origPath = v.fullPath;
  }
  f.path = path;
  const lst = s.lst;
  const h = upstreamHeaders(s.req.rawHeaders, f.d.ops.request, lst.owned);
  if (s.span) injectTrace(h, s.span);
  h.push('host', a.hostRewrite ?? v.authority);
  if (headerOf(s.req, 'x-forwarded-proto') === undefined) h.push('x-forwarded-proto', 'http');
  if (s.idGenerated) h.push('x-request-id', s.requestId);
  if (s.origPath) h.push('x-envoy-original-path', s.origPath);
  if (a.expectedTimeout) h.push('x-envoy-expected-rq-timeout-ms', a.expectedTimeout);
  let operation: string | undefined;
  let peer: string | undefined;
  if (lst.kind !== 'inbound') {
    operation = r.operation;
    // Peer metadata for the server sidecar (peer.ts); only mesh endpoints get it.
    if (f.cluster.config.type === 'eds') peer = s.live.cfg.peer;
    if (lst.kind === 'gateway') {
      const xff = headerOf(s.req, 'x-forwarded-for');
      const remote = s.req.socket.remoteAddress ?? '';
      h.push('x-forwarded-for', xff ? `${xff}, ${remote}` : remote);
    }
  }
  // The last lines depend only on the route, the destination and the config: an HTTP/1.1 first
  // attempt writes them as one text rendered once (UpstreamRequest.headTail); attempt() drops it
  // for the retries, whose attempt count differs.
  f.headEnd = h.length;
  if (operation) h.push('x-envoy-decorator-operation', operation);
  if (peer !== undefined) h.push('x-skiff-peer', peer);
  h.push('x-envoy-attempt-count', '1');
  f.attemptIdx = h.length - 1;
  f.headers = h;
  f.headTail = tailOf(f.d, operation, peer, h, f.headEnd);
}

/** The lines of `h` from `from` on (decorator, peer, attempt count 1), rendered once per destination and what they show. */
export function tailOf(d: CompiledDest, operation: string | undefined, peer: string | undefined, h: string[], from: number): string {
  const t = d.tail;
  if (t !== undefined && t.operation === operation && t.peer === peer) return t.text;
  let text = '';
  for (let i = from; i < h.length; i += 2) text += headerLine(h[i]).prefix + h[i + 1];
  d.tail = { operation, peer, text };
  return text;
}

/** The consistent-hash key from the route's hash policies; undefined when none applies (random host). */
export function hashKey(f: Forward, a: RouteAction): string | undefined {
  let key: string | undefined;
  const h = f.s.req.headers;
  for (const p of a.hash!) {
    let v: string | undefined;
    if ('header' in p) {
      const x = h[p.header.toLowerCase()];
      v = Array.isArray(x) ? x.join(',') : x;
    } else if ('cookie' in p) {
      v = cookieValue(h.cookie, p.cookie.name);
      if (v === undefined && p.cookie.ttlMs !== undefined) {
        // Envoy generates the cookie when absent and a ttl is set, so the client sticks from now on.
        v = Math.floor(f.s.lst.engine.random() * 0xffffffffffff).toString(16);
        const age = p.cookie.ttlMs > 0 ? `; Max-Age=${Math.floor(p.cookie.ttlMs / 1000)}` : '';
        f.s.setCookie = `${p.cookie.name}="${v}"${age}${p.cookie.path ? `; Path=${p.cookie.path}` : ''}; HttpOnly`;
      }
    } else if ('sourceIp' in p) v = f.s.req.socket.remoteAddress;
    else v = (f.s.view.params ??= parseQuery(f.s.view.query)).get(p.queryParameter);
    if (v !== undefined) key = key === undefined ? v : `${key}\n${v}`;
  }
  return key;
}

/** Fire-and-forget copies (semantics §2.11): response discarded, Host unchanged (Istio ≥1.28). */
export function mirror(f: Forward): void {
  const random = f.s.lst.engine.random;
  for (const m of f.a.mirrors) {
    const c = m.cluster;
    if (!c || random() * 1e6 >= m.perMillion) continue;
    const host = c.choose({ hashKey: f.hashKey });
    if (!host) continue;
    const headers = f.headers.slice();
    headers[f.attemptIdx] = '1';
    const body = f.body;
    c.request(host, { method: f.method, path: f.path, headers }, (err, creq) => {
      if (err || !creq) return;
      creq.on('response', (r: http.IncomingMessage) => {
        c.report(host, { status: r.statusCode ?? 0 });
        r.resume();
      });
      creq.on('error', () => c.report(host, { local: 'reset' }));
      creq.end(body);
    });
  }
}
