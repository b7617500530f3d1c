/**
 * The proxy's sockets: HTTP listeners (sidecar outbound, inbound http ports, gateway http
 * servers, and the admin/agent/health ports) and TCP listeners (inbound tcp ports, gateway tcp
 * servers). A listener owns its server and every connection it accepted, and can drain (stop
 * accepting, finish in-flight requests, close kept-alive connections after their response) or
 * close at once. HTTP listeners also speak h2c with prior knowledge: h2.ts sniffs each connection's
 * first bytes and hands HTTP/2 ones to its node:http2 server.
 */
import http from 'node:http';
import net from 'node:net';
import { onOutboundConnect, onTcpConnection, onUpgrade } from './connect.ts';
import type { ListenerCtx } from './engine.ts';
import { H2Downstream, isH2cUpgrade, replayWithoutUpgrade, sniffConnections } from './h2.ts';
import { lowerNames } from './headers.ts';
import { H1Server } from './h1/server.ts';
import type { TcpSession } from './tunnel.ts';

const kSet = Symbol('skiff.proxy.sockets');
type Tracked = net.Socket & { [kSet]?: Set<net.Socket> };

function untrack(this: Tracked): void {
  this[kSet]?.delete(this);
}

function track(set: Set<net.Socket>, s: net.Socket): void {
  (s as Tracked)[kSet] = set;
  set.add(s);
  s.once('close', untrack);
}

/** Envoy's downstream idle timeout (HCM idle_timeout default: 1 hour). */
const idleTimeoutMs = 3600_000;

/** Handles one request of an HTTP listener. */
export type RequestHandler = (lst: ListenerCtx, req: http.IncomingMessage, res: http.ServerResponse) => void;

/** What a listener does with its traffic. */
export type ListenerRole =
  | { kind: 'http'; onRequest: RequestHandler; connect?: boolean; upgrade?: boolean }
  | { kind: 'tcp' }
  | { kind: 'plain'; onRequest: (req: http.IncomingMessage, res: http.ServerResponse) => void };

/** One bound port. */
export class Listener {
  readonly ctx: ListenerCtx;
  readonly name: string;
  #server: http.Server | net.Server;
  /** HTTP listeners: their HTTP/2 connections (h2.ts). */
  #h2: H2Downstream | undefined;
  /** HTTP listeners: the proxy's own HTTP/1.1 connections (h1/server.ts). */
  #fast: H1Server | undefined;
  #sockets = new Set<net.Socket>();
  #closed = false;
  #closing?: Promise<void>;

  constructor(name: string, ctx: ListenerCtx, role: ListenerRole, sessions: Set<TcpSession>) {
    this.name = name;
    this.ctx = ctx;
    if (role.kind === 'tcp') {
      this.#server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
        if (this.#closed || ctx.draining) return void s.destroy();
        track(this.#sockets, s);
        onTcpConnection(ctx, sessions, s);
      });
      return;
    }
    // requestTimeout 0: a proxy must not cut long uploads or streams. Idle keep-alive connections
    // stay open up to Envoy's idle timeout (1 h), so clients that reuse connections late do not race
    // node's 5 s default close.
    const server = http.createServer({ requestTimeout: 0, noDelay: true, keepAliveTimeout: idleTimeoutMs });
    this.#server = server;
    server.on('connection', (s: net.Socket) => track(this.#sockets, s));
    if (role.kind === 'plain') {
      server.on('request', role.onRequest);
    } else {
      const on = role.onRequest;
      // HTTP/2: h2c prior knowledge is sniffed per connection (h2.ts); HTTP/1.1 connections go on as before.
      const h2 = (this.#h2 = new H2Downstream(ctx, on));
      // HTTP/1.1 on the proxy's own codec (h1/); upgrades and CONNECT go on to node's server below.
      // SKIFF_PROXY_HTTP1=node keeps node's server for every request (for comparison and debugging).
      const fast =
        process.env.SKIFF_PROXY_HTTP1 === 'node'
          ? undefined
          : (this.#fast = new H1Server(
              (req, res) => on(ctx, req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse),
              (s) => {
                sniffer.h1.call(server, s);
                s.resume();
              },
            ));
      const sniffer = sniffConnections(server, h2, fast);
      // The proxy's header code takes lowercase names (headers.ts): node's parser keeps them as sent.
      server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => on(ctx, lowerNames(req), res));
      // Envoy answers 100-continue itself and does not forward Expect (proxy_100_continue off).
      server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
        res.writeContinue();
        on(ctx, lowerNames(req), res);
      });
      if (role.upgrade) {
        server.on('upgrade', (req: http.IncomingMessage, s: net.Socket, head: Buffer) => {
          // Envoy ignores `Upgrade: h2c` and answers over HTTP/1.1 (h2.ts).
          if (isH2cUpgrade(req)) replayWithoutUpgrade(sniffer, req, s, head);
          else onUpgrade(ctx, sessions, req, s, head);
        });
      }
      if (role.connect) server.on('connect', (req: http.IncomingMessage, s: net.Socket, head: Buffer) => onOutboundConnect(ctx, sessions, req, s, head));
    }
    server.on('clientError', (_e: Error, s: net.Socket) => {
      if (s.writable) s.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else s.destroy();
    });
  }

  /** Binds; rejects with the bind error (EADDRINUSE, EACCES, EADDRNOTAVAIL). */
  listen(host: string, port: number): Promise<void> {
    const server = this.#server;
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      server.once('error', onError);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', onError);
        // Later errors (EMFILE on accept) must not crash the process.
        server.on('error', () => {});
        resolve();
      });
    });
  }

  /** The bound address. */
  get address(): { address: string; port: number } | undefined {
    const a = this.#server.address();
    return a && typeof a === 'object' ? { address: a.address, port: a.port } : undefined;
  }

  /** Active connections. */
  get connections(): number {
    return this.#sockets.size;
  }

  /**
   * Stops accepting; in-flight requests finish (their connections close after the response),
   * idle connections close now; after `timeoutMs` whatever is left is destroyed.
   */
  drain(timeoutMs: number): Promise<void> {
    if (this.#closing) return this.#closing;
    this.ctx.draining = true;
    const server = this.#server;
    this.#closing = new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        for (const s of this.#sockets) s.destroy();
      }, timeoutMs);
      t.unref();
      const done = (): void => {
        clearTimeout(t);
        this.#closed = true;
        resolve();
      };
      if (server.listening) server.close(done);
      else done();
      if (server instanceof http.Server) server.closeIdleConnections();
      this.#h2?.drain();
      this.#fast?.closeIdle();
    });
    return this.#closing;
  }

  /** Stops listening and destroys every connection; idempotent. */
  close(): Promise<void> {
    const p = this.drain(0);
    for (const s of this.#sockets) s.destroy();
    return p;
  }
}
