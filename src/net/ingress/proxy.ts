/**
 * The data path of the ingress controller: forwards one HTTP request (or one WebSocket upgrade) to a
 * loopback upstream, streaming bodies both ways and adding the X-Forwarded-* headers Traefik adds.
 */
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import type { Duplex } from 'node:stream';

/** An upstream address as the service proxy hands it out. */
export interface Upstream {
  host: string;
  port: number;
}

/** Defaults of the forwarder's connection pool. */
export const forwarderDefaults = {
  /** Idle keep-alive connections kept per upstream. */
  maxFreeSockets: 64,
  /** Idle connections are closed after this long (below the usual 60–75 s upstream keep-alive). */
  freeSocketTimeoutMs: 30_000,
};

// Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection and are never forwarded.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** Computed once: Traefik names itself in X-Forwarded-Server. */
const SERVER_NAME = os.hostname();

/** True for 127.0.0.0/8: the only addresses Skiff ever connects to (DESIGN §3). */
export function isLoopbackUpstream(u: Upstream): boolean {
  return net.isIPv4(u.host) && u.host.startsWith('127.') && Number.isInteger(u.port) && u.port > 0 && u.port < 65536;
}

/** Forwards requests to loopback upstreams over one pool of keep-alive connections. */
export class HttpForwarder {
  #agent: http.Agent;
  #upgraded = new Set<Duplex>();
  #closed = false;

  constructor() {
    this.#agent = new http.Agent({ keepAlive: true, maxFreeSockets: forwarderDefaults.maxFreeSockets, timeout: forwarderDefaults.freeSocketTimeoutMs });
  }

  /** Proxies `req` to `to`, answering 502 when the upstream fails before its response head. */
  forward(req: http.IncomingMessage, res: http.ServerResponse, to: Upstream, localPort: number): void {
    const headers = forwardHeaders(req, localPort, false);
    const up = http.request({ host: to.host, port: to.port, method: req.method, path: req.url, headers, agent: this.#agent, setHost: false });
    up.on('response', (ur) => {
      if (res.destroyed) {
        ur.destroy();
        return;
      }
      res.writeHead(ur.statusCode ?? 502, ur.statusMessage, responseHeaders(ur.headers));
      ur.pipe(res);
      ur.on('error', () => res.destroy());
    });
    up.on('error', () => {
      // Before the head: the client gets Traefik's 502; after it the response is cut, as a dead backend would cut it.
      if (!res.headersSent && !res.destroyed) sendText(res, 502, 'Bad Gateway');
      else res.destroy();
    });
    // The client went away mid-exchange: stop the upstream too, so it does not keep working for nobody.
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  }

  /** Proxies a WebSocket (or any Upgrade) handshake and, after 101, pipes the two sockets together. */
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, to: Upstream, localPort: number): void {
    if (this.#closed) return void socket.destroy();
    const headers = forwardHeaders(req, localPort, true);
    // A fresh connection, not the pool: after 101 the socket belongs to the tunnel for good.
    const up = http.request({ host: to.host, port: to.port, method: req.method, path: req.url, headers, agent: false, setHost: false });
    const track = (s: Duplex): void => {
      this.#upgraded.add(s);
      s.once('close', () => this.#upgraded.delete(s));
    };
    track(socket);
    socket.on('error', () => up.destroy());
    socket.once('close', () => up.destroy());
    up.on('upgrade', (ur, upSocket, upHead) => {
      track(upSocket);
      if (socket.destroyed) return void upSocket.destroy();
      socket.write(rawHead(ur));
      if (upHead.length) socket.write(upHead);
      if (head.length) upSocket.write(head);
      upSocket.on('error', () => socket.destroy());
      socket.on('error', () => upSocket.destroy());
      upSocket.once('close', () => socket.destroy());
      socket.once('close', () => upSocket.destroy());
      upSocket.pipe(socket);
      socket.pipe(upSocket);
    });
    up.on('response', (ur) => {
      // The upstream refused the upgrade: relay its answer as a plain response and close.
      socket.write(rawHead(ur, true));
      ur.pipe(socket);
    });
    up.on('error', () => {
      if (!socket.destroyed) socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Gateway');
    });
    req.pipe(up);
  }

  /** Drops pooled connections and open tunnels; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#agent.destroy();
    for (const s of this.#upgraded) s.destroy();
    this.#upgraded.clear();
  }
}

/** Writes a short plain-text answer, Traefik style (its bodies end without a newline except 404's). */
export function sendText(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'x-content-type-options': 'nosniff' });
  res.end(body);
}

/** Writes a short plain-text answer on a raw socket (upgrade requests have no ServerResponse). */
export function sendRaw(socket: Duplex, status: number, reason: string, body: string): void {
  if (socket.destroyed) return;
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

function forwardHeaders(req: http.IncomingMessage, localPort: number, upgrade: boolean): http.OutgoingHttpHeaders {
  const src = req.headers;
  const out: http.OutgoingHttpHeaders = {};
  const listed = connectionTokens(src.connection);
  for (const k in src) {
    if (HOP_BY_HOP.has(k) || (listed && listed.has(k))) continue;
    out[k] = src[k];
  }
  if (upgrade) {
    out.connection = 'Upgrade';
    out.upgrade = src.upgrade;
  }
  const ip = clientIp(req);
  // Every client is on this machine, so incoming X-Forwarded-* are trusted and extended, as Traefik
  // does for forwardedHeaders.trustedIPs; a proxy in front of us (a sidecar) keeps its view.
  const xff = src['x-forwarded-for'];
  out['x-forwarded-for'] = xff ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${ip}` : ip;
  out['x-forwarded-proto'] ??= upgrade ? 'ws' : 'http';
  out['x-forwarded-host'] ??= src.host ?? '';
  out['x-forwarded-port'] ??= hostPort(src.host) ?? String(localPort);
  out['x-forwarded-server'] ??= SERVER_NAME;
  out['x-real-ip'] ??= ip;
  return out;
}

function responseHeaders(src: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  const listed = connectionTokens(src.connection);
  for (const k in src) {
    if (HOP_BY_HOP.has(k) || (listed && listed.has(k))) continue;
    out[k] = src[k];
  }
  return out;
}

function connectionTokens(v: string | undefined): Set<string> | undefined {
  if (!v || v.toLowerCase() === 'keep-alive' || v.toLowerCase() === 'close') return undefined;
  return new Set(v.toLowerCase().split(',').map((s) => s.trim()));
}

/** The port of a Host header (what the client dialled, as Traefik reports it), if it names one. */
function hostPort(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const colon = host.lastIndexOf(':');
  return colon > host.lastIndexOf(']') && colon < host.length - 1 ? host.slice(colon + 1) : undefined;
}

function clientIp(req: http.IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '';
  // Dual-stack listeners report IPv4 clients as ::ffff:a.b.c.d; Traefik shows the plain IPv4 form.
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

function rawHead(res: http.IncomingMessage, close = false): string {
  let s = `HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ''}\r\n`;
  const raw = res.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (close && HOP_BY_HOP.has(raw[i]!.toLowerCase())) continue;
    s += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  if (close) s += 'Connection: close\r\n';
  return `${s}\r\n`;
}
