/**
 * Routing for byte pipes: sidecar CONNECT tunnels (tcp ports use their TCP rules, TLS ports with
 * SNI rules tls-passthrough.ts, http ports the route of the requested host, unknown destinations
 * the catch-all), HTTP upgrades (WebSocket) on every listener kind (routed like a request, then
 * piped raw), and plain TCP connections on inbound and gateway tcp ports.
 */
import type http from 'node:http';
import type net from 'node:net';
import type { CompiledDest, CompiledRoute, CompiledTcpRoute } from './compile.ts';
import type { Live, ListenerCtx } from './engine.ts';
import { clientRequestId, upgradeHeaders } from './headers.ts';
import { newRequestId } from './ids.ts';
import { hostOf, lookupDomain, matchRequest, type RequestView } from './match.ts';
import { peerHeader } from './peer.ts';
import { isLoopbackIP, outboundTarget, portOf, viewOf } from './router.ts';
import { onTlsConnect, onTlsPassthrough } from './tls-passthrough.ts';
import { rawResponse, type TcpSession, TcpSession as Session } from './tunnel.ts';
import type { TcpFamily } from './stats.ts';
import type { UpstreamCluster, UpstreamHost } from './upstream/index.ts';

function ipNum(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

/** First TCP rule whose destination subnets contain `ip` (rules without subnets match anything). */
function tcpRule(rules: CompiledTcpRoute[], ip: string): CompiledTcpRoute | undefined {
  const n = ipNum(ip);
  for (const r of rules) {
    if (!r.subnets.length) return r;
    if (n !== undefined && r.subnets.some(([net, mask]) => ((n & mask) >>> 0) === net)) return r;
  }
  return undefined;
}

function pick(dests: CompiledDest[], total: number, random: () => number): CompiledDest {
  if (dests.length === 1) return dests[0];
  const x = random() * total;
  for (const d of dests) if (x < d.cum) return d;
  return dests[dests.length - 1];
}

interface Target {
  dest?: CompiledDest;
  cluster?: UpstreamCluster;
  original?: { address: string; port: number };
  route?: CompiledRoute;
  /** A refusal: status and body. */
  status?: number;
  body?: string;
}

function fromRoute(r: CompiledRoute, e: ListenerCtx['engine']): Target {
  const a = r.action;
  if (a.kind !== 'route') return { status: a.kind === 'direct' ? a.status : 404, body: a.kind === 'direct' ? a.body : '', route: r };
  const dest = pick(a.dests, a.total, e.random);
  if (!dest.cluster) return { status: 503, body: '', route: r, dest };
  return { dest, cluster: dest.cluster, route: r };
}

function catchAll(live: Live, host: string, port: number): Target {
  const cfg = live.cfg;
  if (cfg.allowAny && isLoopbackIP(host)) {
    const dest = (cfg.passthrough.action as { dests: CompiledDest[] }).dests[0];
    return { dest, cluster: dest.cluster, original: { address: host, port }, route: cfg.passthrough };
  }
  return { status: 502, body: '' };
}

/** Where a sidecar CONNECT host:port goes. */
function connectTarget(lst: ListenerCtx, live: Live, host: string, port: number): Target {
  const e = lst.engine;
  if (host === 'localhost' || host === '127.0.0.1') {
    const dest = (live.cfg.passthrough.action as { dests: CompiledDest[] }).dests[0];
    return { dest, cluster: dest.cluster, original: { address: e.appIP ?? live.cfg.node.appIP ?? e.podIP, port } };
  }
  const op = live.cfg.outbound.get(port);
  if (op?.protocol === 'tcp') {
    const r = op.tcp?.get(host) && tcpRule(op.tcp.get(host)!, host);
    if (r) {
      const dest = pick(r.dests, r.total, e.random);
      return dest.cluster ? { dest, cluster: dest.cluster } : { status: 503, body: '' };
    }
  } else if (op?.protocol === 'http') {
    const vh = lookupDomain(op.routes!.domains, host);
    if (vh) {
      const view: RequestView = { method: 'CONNECT', path: '/', fullPath: '/', query: '', authority: `${host}:${port}`, scheme: 'http', req: { headers: {} } };
      const r = vh.routes.find((x) => x.action.kind === 'route' && matchRequest(x.match, view));
      if (r) return fromRoute(r, e);
    }
  }
  return catchAll(live, host, port);
}

function failureWriter(server: string): (status: number, body: string) => string {
  return (status, body) => rawResponse(status, body, server);
}

/** Sidecar outbound CONNECT: a TCP tunnel to the routed destination. */
export function onOutboundConnect(lst: ListenerCtx, sessions: Set<TcpSession>, req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
  const live = lst.engine.live;
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(req.url ?? '');
  if (!live || !m) return void socket.end(rawResponse(live ? 400 : 503, live ? 'expected CONNECT host:port' : 'proxy has no configuration yet', lst.server));
  const host = m[1].toLowerCase();
  const port = Number(m[2]);
  // TLS ports with SNI rules: routed by the ClientHello (tls-passthrough.ts).
  const sni = live.cfg.outbound.get(port)?.tls?.get(host);
  if (sni) return onTlsConnect(lst, live, sessions, socket, head, host, sni);
  const t = connectTarget(lst, live, host, port);
  const cluster = t.cluster;
  if (!cluster) return void socket.end(rawResponse(t.status ?? 502, t.body ?? '', lst.server));
  socket.setNoDelay(true);
  const s = new Session(
    {
      lst,
      live,
      client: socket,
      dest: t.dest,
      cluster,
      stats: { tcp: (h) => live.source.tcpUpstream(cluster.config, h?.endpoint.workload, host) },
      original: t.original,
      head,
      established: 'HTTP/1.1 200 Connection established\r\n\r\n',
      failure: failureWriter(lst.server),
      routeName: t.route?.name,
    },
    sessions,
  );
  s.connect();
}

/** Upgrade requests (WebSocket) on any listener: routed like a request, then piped raw. */
export function onUpgrade(lst: ListenerCtx, sessions: Set<TcpSession>, req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
  const live = lst.engine.live;
  if (!live) return void socket.end(rawResponse(503, 'proxy has no configuration yet', lst.server));
  let authority = req.headers.host ?? '';
  let fullPath = req.url ?? '/';
  let t: Target;
  if (lst.kind === 'outbound') {
    const tg = outboundTarget(req);
    if (!tg) return void socket.end(rawResponse(400, 'expected an absolute http:// URL or a Host header', lst.server));
    authority = tg.authority;
    fullPath = tg.fullPath;
    t = upgradeTarget(lst, live, viewOf(req, fullPath, authority), portOf(authority, 80));
  } else if (lst.kind === 'inbound') {
    t = fromRoute(lst.inbound!.route, lst.engine);
  } else {
    const vh = lst.gateway!.routes && lookupDomain(lst.gateway!.routes.domains, hostOf(authority));
    const view = viewOf(req, fullPath, authority);
    const r = vh?.routes.find((x) => matchRequest(x.match, view));
    t = r ? fromRoute(r, lst.engine) : { status: 404, body: '' };
  }
  const cluster = t.cluster;
  if (!cluster) return void socket.end(rawResponse(t.status ?? 502, t.body ?? '', lst.server));
  const ops = t.dest?.ops.request;
  const h = upgradeHeaders(req.rawHeaders, ops ?? { remove: new Set(), append: [] });
  let head0 = `${req.method} ${fullPath} HTTP/1.1\r\nhost: ${authority}\r\n`;
  for (let i = 0; i < h.length; i += 2) {
    const n = h[i].toLowerCase();
    if (n === peerHeader || n === 'x-envoy-attempt-count') continue;
    head0 += `${h[i]}: ${h[i + 1]}\r\n`;
  }
  if (!clientRequestId(req)) head0 += `x-request-id: ${newRequestId()}\r\n`;
  if (req.headers['x-forwarded-proto'] === undefined) head0 += 'x-forwarded-proto: http\r\n';
  if (lst.kind !== 'inbound' && cluster.config.type === 'eds') head0 += `${peerHeader}: ${live.cfg.peer}\r\n`;
  head0 += 'x-envoy-attempt-count: 1\r\n\r\n';
  const inb = lst.inbound;
  const peer = inb ? lst.engine.peers.get(req.headers[peerHeader]) : undefined;
  const host = hostOf(authority);
  socket.setNoDelay(true);
  const s = new Session(
    {
      lst,
      live,
      client: socket,
      dest: t.dest,
      cluster,
      stats: { http: (h) => (inb ? live.destination.inbound(inb, peer) : live.source.upstream(cluster.config, h?.endpoint.workload, host)) },
      original: t.original,
      head: head.length ? Buffer.concat([Buffer.from(head0, 'latin1'), head]) : head0,
      failure: failureWriter(lst.server),
      method: req.method,
      path: fullPath,
      authority,
      routeName: t.route?.name,
    },
    sessions,
  );
  s.connect();
}

function upgradeTarget(lst: ListenerCtx, live: Live, view: RequestView, port: number): Target {
  const host = hostOf(view.authority);
  const e = lst.engine;
  if (host === 'localhost' || host === '127.0.0.1') {
    const dest = (live.cfg.passthrough.action as { dests: CompiledDest[] }).dests[0];
    return { dest, cluster: dest.cluster, original: { address: e.appIP ?? live.cfg.node.appIP ?? e.podIP, port } };
  }
  const op = live.cfg.outbound.get(port);
  if (op?.protocol === 'http') {
    const vh = lookupDomain(op.routes!.domains, host);
    if (vh) {
      const r = vh.routes.find((x) => matchRequest(x.match, view));
      return r ? fromRoute(r, e) : { status: 404, body: '' };
    }
  }
  return catchAll(live, host, port);
}

/** A plain TCP connection on an inbound tcp port (to the app) or a gateway tcp server. */
export function onTcpConnection(lst: ListenerCtx, sessions: Set<TcpSession>, socket: net.Socket): void {
  const live = lst.engine.live;
  if (!live) return void socket.destroy();
  // Gateway PASSTHROUGH servers: routed by the ClientHello's SNI (tls-passthrough.ts).
  if (lst.gateway?.tls) return onTlsPassthrough(lst, live, sessions, socket, lst.gateway.tls);
  let t: Target;
  const inb = lst.kind === 'inbound' ? lst.inbound : undefined;
  if (inb) {
    t = fromRoute(inb.route, lst.engine);
  } else if (lst.gateway?.tcp) {
    const r = tcpRule(lst.gateway.tcp, socket.localAddress ?? '');
    const dest = r && pick(r.dests, r.total, lst.engine.random);
    t = dest?.cluster ? { dest, cluster: dest.cluster } : {};
  } else t = {};
  const cluster = t.cluster;
  if (!cluster) return void socket.destroy();
  socket.setNoDelay(true);
  const tcp = (h: UpstreamHost | undefined): TcpFamily => (inb ? live.destination.tcpInbound(inb) : live.source.tcpUpstream(cluster.config, h?.endpoint.workload, socket.localAddress));
  new Session({ lst, live, client: socket, dest: t.dest, cluster, stats: { tcp } }, sessions).connect();
}
