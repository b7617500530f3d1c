/**
 * The HTTP request path up to the upstream: where a request goes (sidecar outbound: forward-proxy
 * target → outbound port → virtual host; inbound: the port's app; gateway: Host → virtual host),
 * which route matches (first match wins, else 404 NR), and the filters that run before the router
 * in Envoy's order — fault injection (delay DI, abort FI), CORS — then redirect, direct response
 * or forward.ts. Per request this only looks things up in the compiled config.
 */
import type http from 'node:http';
import type { CompiledRoute, CompiledVHost } from './compile.ts';
import type { ListenerCtx } from './engine.ts';
import { proxyErrors } from './errors.ts';
import { F } from './flags.ts';
import { clientRequestId, headerOf, hostHeader } from './headers.ts';
import { newRequestId } from './ids.ts';
import { hostOf, lastColon, lookupDomain, matchedPrefixLength, matchRequest, matchString, type RequestView } from './match.ts';
import { forward } from './forward.ts';
import { grpcStatusText } from './grpc.ts';
import { peerHeader } from './peer.ts';
import { bodies, HttpStream, localReply } from './stream.ts';
import { traceStart } from './tracing.ts';

/** Splits a path into path and query (no allocation of the query when there is none). */
export function viewOf(req: http.IncomingMessage, fullPath: string, authority: string): RequestView {
  const q = fullPath.indexOf('?');
  return {
    method: req.method ?? 'GET',
    path: q < 0 ? fullPath : fullPath.slice(0, q),
    fullPath,
    query: q < 0 ? '' : fullPath.slice(q + 1),
    authority,
    scheme: 'http',
    req,
  };
}

/** Port of an authority (`host:port`), or `dflt`. */
export function portOf(authority: string, dflt: number): number {
  const colon = lastColon(authority);
  // An IPv6 literal's colons are inside its brackets.
  if (colon < 0 || authority.indexOf(']', colon) >= 0) return dflt;
  // Digits only, read here: Number() of a slice costs a string and a runtime call per request.
  let p = 0;
  const n = authority.length;
  if (n - colon - 1 < 1 || n - colon - 1 > 5) return dflt;
  for (let i = colon + 1; i < n; i++) {
    const c = authority.charCodeAt(i);
    if (c < 48 || c > 57) return dflt;
    p = p * 10 + (c - 48);
  }
  return p > 0 && p < 65536 ? p : dflt;
}

/** True for 127.0.0.0/8 literals. */
export function isLoopbackIP(h: string): boolean {
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return m !== null && Number(m[1]) < 256 && Number(m[2]) < 256 && Number(m[3]) < 256;
}

function plainReply(res: http.ServerResponse, status: number, code: string, message: string, server: string): void {
  const body = `${message}\n`;
  res.writeHead(status, ['content-type', 'text/plain', 'content-length', String(Buffer.byteLength(body)), 'x-skiff-error', code, 'server', server]);
  res.end(body);
}

/** The authority and origin-form path of a forward-proxy request (absolute-form URL, else Host); undefined when neither. */
export function outboundTarget(req: http.IncomingMessage): { authority: string; fullPath: string } | undefined {
  const url = req.url ?? '/';
  if (url.charCodeAt(0) === 47 /* / */) {
    const authority = hostHeader(req);
    return authority ? { authority, fullPath: url } : undefined;
  }
  // Absolute-form: the URL's authority is the request's :authority (as Envoy with absolute URLs).
  const m = /^http:\/\/([^/?#]+)([^#]*)/i.exec(url);
  if (!m) return undefined;
  let fullPath = m[2] || '/';
  if (fullPath.charCodeAt(0) !== 47) fullPath = `/${fullPath}`;
  return { authority: m[1], fullPath };
}

/**
 * Sidecar outbound (the app's HTTP_PROXY): absolute-form `GET http://host:port/path`, or
 * origin-form with Host. The destination port picks the outbound port config.
 */
export function onOutboundRequest(lst: ListenerCtx, req: http.IncomingMessage, res: http.ServerResponse): void {
  const live = lst.engine.live;
  const t = outboundTarget(req);
  if (!t) return plainReply(res, 400, proxyErrors.badRequest, `cannot proxy "${req.url}": expected an absolute http:// URL or a Host header`, lst.server);
  const { authority, fullPath } = t;
  const host = hostOf(authority);
  const port = portOf(authority, 80);
  const e = lst.engine;
  if (host === 'localhost' || host === '127.0.0.1') {
    // The pod itself: Envoy never intercepts loopback, so no routing, metrics or access log.
    if (e.serveLocal(port, req, res, fullPath)) return;
    if (!live) return plainReply(res, 503, proxyErrors.config, 'proxy has no configuration yet', lst.server);
    const s = new HttpStream(lst, live, req, res, viewOf(req, fullPath, authority), host, port);
    s.quiet = true;
    s.original = { address: e.appIP ?? live.cfg.node.appIP ?? e.podIP, port };
    return route(s, live.cfg.passthrough);
  }
  if (!live) return plainReply(res, 503, proxyErrors.config, 'proxy has no configuration yet', lst.server);
  const s = new HttpStream(lst, live, req, res, viewOf(req, fullPath, authority), host, port);
  ids(s);
  const op = live.cfg.outbound.get(port);
  if (op?.protocol === 'http') {
    const vh = lookupDomain(op.routes!.domains, host);
    if (vh) return vhost(s, vh);
  } else if (op?.protocol === 'tcp') {
    const rules = op.tcp?.get(host);
    // Plain HTTP sent to an opaque-TCP port: forwarded to the TCP rule's cluster, without HTTP routing.
    if (rules?.length) return route(s, rules[0].http);
  }
  catchAll(s);
}

/** No virtual host: ALLOW_ANY passes loopback IPs through; REGISTRY_ONLY answers 502 (block_all). */
function catchAll(s: HttpStream): void {
  const cfg = s.live.cfg;
  if (!cfg.allowAny) {
    const bh = cfg.clusters.BlackHoleCluster;
    s.family = s.live.source.upstream(bh, undefined, s.host);
    s.route = blockAll;
    return localReply(s, 502, '', 0, 'direct_response');
  }
  if (!isLoopbackIP(s.host)) {
    s.route = cfg.passthrough;
    s.family = s.live.source.upstream(cfg.clusters.PassthroughCluster, undefined, s.host);
    const msg = `cannot pass "${s.view.authority}" through: only services and loopback addresses (127.0.0.0/8) are reachable\n`;
    return localReply(s, 502, msg, 0, 'direct_response', ['x-skiff-error', proxyErrors.notLoopback]);
  }
  s.original = { address: s.host, port: s.port };
  route(s, cfg.passthrough);
}

const blockAll = { name: 'block_all' } as CompiledRoute;

/** Sidecar inbound: every request goes to the app through the port's default route. */
export function onInboundRequest(lst: ListenerCtx, req: http.IncomingMessage, res: http.ServerResponse): void {
  const live = lst.engine.live;
  const inb = lst.inbound;
  if (!live || !inb) return plainReply(res, 503, proxyErrors.config, 'proxy has no configuration yet', lst.server);
  const authority = hostHeader(req) ?? '';
  // No host: an inbound request's metrics and route come from the port, not the Host (tracing
  // works it out when it names a span).
  const s = new HttpStream(lst, live, req, res, viewOf(req, req.url ?? '/', authority), '', inb.src.port);
  ids(s);
  s.peer = lst.engine.peers.get(headerOf(req, peerHeader));
  route(s, inb.route);
}

/** Gateway: Host → virtual host of the port's route config; unknown Host or no route → 404 NR. */
export function onGatewayRequest(lst: ListenerCtx, req: http.IncomingMessage, res: http.ServerResponse): void {
  const live = lst.engine.live;
  const gw = lst.gateway;
  if (!live || !gw) return plainReply(res, 503, proxyErrors.config, 'proxy has no configuration yet', lst.server);
  const authority = hostHeader(req) ?? '';
  const s = new HttpStream(lst, live, req, res, viewOf(req, req.url ?? '/', authority), hostOf(authority), gw.src.port);
  ids(s);
  if (gw.src.httpsRedirect) return localReply(s, 301, '', 0, 'direct_response', ['location', `https://${authority}${s.view.fullPath}`]);
  const vh = gw.routes && lookupDomain(gw.routes.domains, s.host);
  if (!vh) return localReply(s, 404, '', F.NR, 'route_not_found');
  vhost(s, vh);
}

function ids(s: HttpStream): void {
  const id = clientRequestId(s.req);
  s.requestId = id || newRequestId();
  s.idGenerated = !id;
  traceStart(s);
}

function vhost(s: HttpStream, vh: CompiledVHost): void {
  const routes = vh.routes;
  for (let i = 0; i < routes.length; i++) {
    if (matchRequest(routes[i].match, s.view)) return route(s, routes[i]);
  }
  localReply(s, 404, '', F.NR, 'route_not_found');
}

const kRoute = Symbol('skiff.proxy.route');

/** Runs the route: fault filter, CORS filter, then the action. */
function route(s: HttpStream, r: CompiledRoute): void {
  s.route = r;
  const fault = r.fault;
  if (fault && fault.delayPerMillion > 0 && s.lst.engine.random() * 1e6 < fault.delayPerMillion) {
    s.flags |= F.DI;
    // The delay does not count against the route timeout: that starts in forward().
    const t = setTimeout(afterDelay, fault.delayMs, s);
    s.abort = cancelDelay;
    (s as HttpStream & { [kRoute]?: NodeJS.Timeout })[kRoute] = t;
    return;
  }
  afterDelay(s);
}

function cancelDelay(s: HttpStream): void {
  clearTimeout((s as HttpStream & { [kRoute]?: NodeJS.Timeout })[kRoute]);
}

function afterDelay(s: HttpStream): void {
  if (s.done) return;
  s.abort = undefined;
  const r = s.route!;
  const fault = r.fault;
  if (fault && fault.abortPerMillion > 0 && s.lst.engine.random() * 1e6 < fault.abortPerMillion) {
    // A gRPC status abort answers HTTP 200 (Envoy's fault filter): a trailers-only gRPC error with that
    // grpc-status for gRPC requests (stream.ts localReply), a plain 200 "fault filter abort" otherwise.
    if (fault.abortGrpc !== undefined && s.grpc) s.grpcStatus = grpcStatusText[fault.abortGrpc] ?? String(fault.abortGrpc);
    return localReply(s, fault.abortStatus, bodies.fault, F.FI, 'fault_filter_abort');
  }
  if (r.cors && cors(s, r)) return;
  const a = r.action;
  switch (a.kind) {
    case 'route':
      return forward(s, r, a);
    case 'direct':
      return localReply(s, a.status, a.body, 0, 'direct_response', undefined, a.responseOps);
    case 'redirect':
      return localReply(s, a.status, '', 0, 'direct_response', ['location', redirectLocation(s, a)], a.responseOps);
  }
}

/** Envoy's CORS filter; true when it answered a preflight itself. */
function cors(s: HttpStream, r: CompiledRoute): boolean {
  const c = r.cors!;
  const origin = s.req.headers.origin;
  if (!origin) return false;
  let allowed = false;
  for (const m of c.origins) {
    if (matchString(m, '*') || matchString(m, origin)) {
      allowed = true;
      break;
    }
  }
  if (allowed) s.corsOrigin = origin;
  if (s.view.method !== 'OPTIONS' || !s.req.headers['access-control-request-method']) return false;
  if (!allowed && c.forwardUnmatched) return false;
  const h: string[] = [];
  if (allowed) h.push('access-control-allow-origin', origin);
  if (c.credentials) h.push('access-control-allow-credentials', 'true');
  if (c.methods) h.push('access-control-allow-methods', c.methods === '*' ? String(s.req.headers['access-control-request-method']) : c.methods);
  if (c.headers) h.push('access-control-allow-headers', c.headers === '*' ? String(s.req.headers['access-control-request-headers'] ?? '') : c.headers);
  if (c.maxAge) h.push('access-control-max-age', c.maxAge);
  localReply(s, 200, '', 0, 'cors_response', h);
  return true;
}

/** The Location of a redirect (semantics §2.7): default ports 80/443 for the scheme are omitted. */
export function redirectLocation(s: HttpStream, a: { path?: string; prefixRewrite?: string; host?: string; scheme?: string; port?: number; derive?: string }): string {
  const v = s.view;
  const scheme = a.scheme ?? v.scheme;
  let port: number | undefined;
  let host: string;
  if (a.host !== undefined) {
    host = a.host;
  } else {
    const auth = v.authority;
    const hp = hostOf(auth);
    host = auth.startsWith('[') ? `[${hp}]` : auth.slice(0, hp.length);
    const reqPort = portOf(auth, 0);
    // Envoy keeps the request's port unless the scheme changes away from it.
    if (reqPort && !(scheme !== v.scheme && ((v.scheme === 'http' && reqPort === 80) || (v.scheme === 'https' && reqPort === 443)))) port = reqPort;
  }
  if (a.port !== undefined) port = a.port;
  else if (a.derive === 'FROM_REQUEST_PORT') port = portOf(v.authority, s.port);
  else if (a.derive === 'FROM_PROTOCOL_DEFAULT') port = undefined;
  if ((scheme === 'http' && port === 80) || (scheme === 'https' && port === 443)) port = undefined;
  let path: string;
  if (a.path !== undefined) path = a.path.includes('?') || !v.query ? a.path : `${a.path}?${v.query}`;
  else if (a.prefixRewrite !== undefined) {
    const n = s.route ? matchedPrefixLength(s.route.match, v.path) : 0;
    path = a.prefixRewrite + v.path.slice(n) + (v.query ? `?${v.query}` : '');
  } else path = v.fullPath;
  return `${scheme}://${host}${port !== undefined ? `:${port}` : ''}${path}`;
}
