/**
 * The in-pod HTTP proxy (what a container's HTTP_PROXY points at): one HTTP server per pod IP, on
 * `<podIP>:<proxyPort>`. The connection's local address says which pod asks, so names resolve from
 * that pod's namespace. Plain requests go through node's HTTP parser and a keep-alive agent (robust
 * framing: chunked bodies, 100-continue, pipelining); CONNECT and upgrades become raw byte pipes.
 */
import http from 'node:http';
import net from 'node:net';
import type { KObject } from '../api/index.ts';
import { errorHeaders, forwardHeaders, hasHeader, rawErrorResponse, requestHead } from './heads.ts';
import { parseRequestTarget, splitHostPort } from './names.ts';
import { netErrors, route, type Route, type RouteView } from './route.ts';
import { splice, track } from './tcp.ts';

/** Methods a reused keep-alive connection may be retried for after a reset (RFC 9110 §9.2.2, bodiless). */
const retriable = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Options of PodProxies. */
export interface PodProxiesOptions {
  view: RouteView & { podByIP(ip: string): KObject | undefined };
  port: number;
}

interface PodServer {
  server: http.Server;
  sockets: Set<net.Socket>;
}

/** The per-pod proxy servers, opened and closed as pods start and stop. */
export class PodProxies {
  #view: PodProxiesOptions['view'];
  #port: number;
  #servers = new Map<string, PodServer>();
  // One pool for every upstream; node keys it by host, port and localAddress (the calling pod).
  #agent = new http.Agent({ keepAlive: true, maxFreeSockets: 64, scheduling: 'lifo' });
  #closed = false;

  constructor(opts: PodProxiesOptions) {
    this.#view = opts.view;
    this.#port = opts.port;
  }

  /** The proxy port. */
  get port(): number {
    return this.#port;
  }

  /** True when a server listens (or is opening) on the pod IP. */
  has(ip: string): boolean {
    return this.#servers.has(ip);
  }

  /** Pod IPs served. */
  ips(): string[] {
    return [...this.#servers.keys()];
  }

  /** Listens on `<ip>:<port>`; rejects with the bind error. */
  async open(ip: string): Promise<void> {
    if (this.#closed || this.#servers.has(ip)) return;
    // requestTimeout 0: a proxy must not cut long uploads or streams; idle keep-alive still times out.
    const server = http.createServer({ requestTimeout: 0 });
    const entry: PodServer = { server, sockets: new Set() };
    this.#servers.set(ip, entry);
    server.on('connection', (s: net.Socket) => track(entry.sockets, s));
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.#onRequest(req, res, false));
    server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => this.#onRequest(req, res, true));
    server.on('upgrade', (req: http.IncomingMessage, s: net.Socket, head: Buffer) => this.#onUpgrade(req, s, head, entry));
    server.on('connect', (req: http.IncomingMessage, s: net.Socket, head: Buffer) => this.#onConnect(req, s, head, entry));
    server.on('clientError', (_e: Error, s: net.Socket) => {
      if (s.writable) s.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else s.destroy();
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: ip, port: this.#port, exclusive: true }, () => {
          server.off('error', reject);
          server.on('error', () => {});
          resolve();
        });
      });
    } catch (e) {
      if (this.#servers.get(ip) === entry) this.#servers.delete(ip);
      throw e;
    }
    if (this.#closed || this.#servers.get(ip) !== entry) await closeServer(entry);
  }

  /** Stops serving a pod IP and drops its connections. */
  async closeOne(ip: string): Promise<void> {
    const e = this.#servers.get(ip);
    if (!e) return;
    this.#servers.delete(ip);
    await closeServer(e);
  }

  /** Closes every server, connection and pooled upstream socket; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const all = [...this.#servers.values()];
    this.#servers.clear();
    this.#agent.destroy();
    await Promise.all(all.map(closeServer));
  }

  #caller(s: net.Socket): { ns: string; ip: string } {
    const ip = s.localAddress ?? '';
    return { ip, ns: this.#view.podByIP(ip)?.metadata.namespace ?? 'default' };
  }

  #route(caller: { ns: string; ip: string }, host: string, port: number | undefined, defaultPort: number): Route {
    const r = route(this.#view, { ns: caller.ns, ip: caller.ip, host, port, defaultPort });
    if (r.ok && r.port === this.#port && this.#servers.has(r.host)) {
      return { ok: false, status: 508, code: netErrors.loop, message: `cannot proxy to "${r.label}": it is this proxy` };
    }
    return r;
  }

  #onRequest(req: http.IncomingMessage, res: http.ServerResponse, expectContinue: boolean): void {
    const caller = this.#caller(req.socket);
    const t = parseRequestTarget(req.url ?? '', req.headers.host);
    if (!t) return reply(res, 400, netErrors.badRequest, `cannot proxy "${req.url}": expected an absolute http:// URL or a Host header`);
    const r = this.#route(caller, t.host, t.port, 80);
    if (!r.ok) return reply(res, r.status, r.code, r.message);
    const headers = forwardHeaders(req.rawHeaders, 'request');
    if (!req.headers.host) headers.push('Host', t.port ? `${t.host}:${t.port}` : t.host);
    const bodiless = !hasHeader(req.rawHeaders, 'content-length') && !hasHeader(req.rawHeaders, 'transfer-encoding');
    this.#forward(req, res, { r, path: t.path, headers, localAddress: caller.ip, expectContinue, bodiless, retry: bodiless && retriable.has(req.method ?? '') });
  }

  #forward(req: http.IncomingMessage, res: http.ServerResponse, f: { r: Route & { ok: true }; path: string; headers: string[]; localAddress: string; expectContinue: boolean; bodiless: boolean; retry: boolean }): void {
    // These per-request closures are node's stream API; their cost is small next to the HTTP parser's.
    const up = http.request({ host: f.r.host, port: f.r.port, method: req.method, path: f.path, headers: f.headers, agent: this.#agent, localAddress: f.localAddress, setHost: false });
    up.on('response', (pres) => {
      res.writeHead(pres.statusCode ?? 502, pres.statusMessage, forwardHeaders(pres.rawHeaders, 'response'));
      pres.pipe(res);
      pres.once('close', () => {
        if (!pres.complete) res.destroy();
      });
    });
    if (f.expectContinue) up.once('continue', () => res.writeContinue());
    up.on('error', (e: NodeJS.ErrnoException) => {
      if (res.headersSent) return void res.destroy();
      // A pooled connection the upstream closed while idle: one fresh try for bodiless safe methods.
      if (f.retry && up.reusedSocket && e.code === 'ECONNRESET') return this.#forward(req, res, { ...f, retry: false });
      reply(res, 502, netErrors.upstream, `cannot connect to "${f.r.label}" at ${f.r.host}:${f.r.port}: ${e.code ?? e.message}`);
    });
    res.once('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    // Without Content-Length or Transfer-Encoding a request has no body (RFC 9112 §6.3): nothing to pipe.
    if (f.bodiless) up.end();
    else req.pipe(up);
  }

  #onUpgrade(req: http.IncomingMessage, s: net.Socket, head: Buffer, entry: PodServer): void {
    const caller = this.#caller(s);
    const t = parseRequestTarget(req.url ?? '', req.headers.host);
    if (!t) return void s.end(rawErrorResponse(400, netErrors.badRequest, `cannot proxy "${req.url}": expected an absolute http:// URL or a Host header`));
    const r = this.#route(caller, t.host, t.port, 80);
    if (!r.ok) return void s.end(rawErrorResponse(r.status, r.code, r.message));
    const headers = forwardHeaders(req.rawHeaders, 'upgrade');
    if (!req.headers.host) headers.push('Host', t.port ? `${t.host}:${t.port}` : t.host);
    const up = net.connect({ host: r.host, port: r.port, localAddress: caller.ip, allowHalfOpen: true, noDelay: true });
    up.write(requestHead(req.method ?? 'GET', t.path, headers));
    if (head.length) up.write(head);
    // The upstream's 101 (or refusal) flows back untouched.
    connectPair(s, up, r, undefined, entry.sockets);
  }

  #onConnect(req: http.IncomingMessage, s: net.Socket, head: Buffer, entry: PodServer): void {
    const caller = this.#caller(s);
    const hp = splitHostPort(req.url ?? '');
    if (!hp) return void s.end(rawErrorResponse(400, netErrors.badRequest, `cannot proxy CONNECT "${req.url}": expected host:port`));
    const r = this.#route(caller, hp.host, hp.port, 443);
    if (!r.ok) return void s.end(rawErrorResponse(r.status, r.code, r.message));
    const up = net.connect({ host: r.host, port: r.port, localAddress: caller.ip, allowHalfOpen: true, noDelay: true });
    if (head.length) up.write(head);
    connectPair(s, up, r, 'HTTP/1.1 200 Connection established\r\n\r\n', entry.sockets);
  }
}

/** Answers with a plain-text error carrying its stable code. */
function reply(res: http.ServerResponse, status: number, code: string, message: string): void {
  const body = `${message}\n`;
  res.writeHead(status, errorHeaders(code, body));
  res.end(body);
}

/**
 * Splices client and upstream once the upstream connects; a connect failure is answered with a 502
 * on the client socket first (so it is not spliced early: the pair teardown would cut the answer).
 */
function connectPair(client: net.Socket, up: net.Socket, r: Route & { ok: true }, established: string | undefined, sockets: Set<net.Socket>): void {
  track(sockets, up);
  let connected = false;
  up.once('connect', () => {
    connected = true;
    if (established) client.write(established);
    splice(client, up);
  });
  up.once('error', (e: NodeJS.ErrnoException) => {
    if (!connected && client.writable) client.end(rawErrorResponse(502, netErrors.upstream, `cannot connect to "${r.label}" at ${r.host}:${r.port}: ${e.code ?? e.message}`));
  });
  client.on('error', () => client.destroy());
  client.once('close', () => {
    if (!connected) up.destroy();
  });
}

function closeServer(e: PodServer): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => resolve();
    if (e.server.listening) e.server.close(done);
    else resolve();
    e.server.closeAllConnections();
    for (const s of e.sockets) s.destroy();
    e.sockets.clear();
  });
}
