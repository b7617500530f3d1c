/**
 * TCP plumbing: socket pairing with half-close, socket tracking for close(), and the listener that
 * forwards a cluster IP / NodePort / LoadBalancer port to a ready endpoint.
 *
 * Per-connection work is constant: one pick, one connect, two pipes. Listeners are shared module
 * functions reading state stored on the socket under symbols, so a connection allocates no closures.
 */
import net from 'node:net';
import type { Target } from './names.ts';

const kPeer = Symbol('skiff.peer');
const kSet = Symbol('skiff.set');

type Tracked = net.Socket & { [kPeer]?: net.Socket; [kSet]?: Set<net.Socket> };

function untrack(this: Tracked): void {
  this[kSet]?.delete(this);
}

/** Adds a socket to a set until it closes (the owner destroys what is left on close()). */
export function track(set: Set<net.Socket>, s: net.Socket): void {
  (s as Tracked)[kSet] = set;
  set.add(s);
  s.once('close', untrack);
}

function onPairError(this: Tracked): void {
  // 'close' follows and tears down the peer; the listener only keeps the error from being thrown.
  this.destroy();
}

function onPairClose(this: Tracked): void {
  // A side that closed without its FIN (reset, error, destroy) takes the other with it. After a clean
  // FIN the peer already got end() through pipe and finishes flushing on its own.
  const p = this[kPeer];
  if (p && !this.readableEnded && !p.destroyed) p.destroy();
}

/**
 * Pipes two sockets both ways. Both must be allowHalfOpen, so a FIN from one side becomes a FIN to
 * the other while the reverse direction keeps flowing (HTTP/1.0 bodies, `shutdown(SHUT_WR)`).
 */
export function splice(a: net.Socket, b: net.Socket): void {
  (a as Tracked)[kPeer] = b;
  (b as Tracked)[kPeer] = a;
  a.on('error', onPairError);
  b.on('error', onPairError);
  a.once('close', onPairClose);
  b.once('close', onPairClose);
  a.pipe(b);
  b.pipe(a);
}

/** Ends a socket with a reset when the platform allows it (kube-proxy REJECT), else destroys it. */
export function reject(s: net.Socket): void {
  s.on('error', onPairError);
  if (typeof s.resetAndDestroy === 'function' && !s.destroyed) s.resetAndDestroy();
  else s.destroy();
}

/** What a forwarding listener serves. */
export interface ForwardTarget {
  /** `ns/name` of the owning Service. */
  owner: string;
  ns: string;
  name: string;
  /** The service port (spec.ports[].port) to pick endpoints for. */
  port: number;
  kind: 'cluster' | 'node' | 'lb';
}

/** Chooses an upstream for a service port and client IP. */
export type PickFn = (ns: string, name: string, port: number, clientIP: string | undefined) => Target | undefined;

/** One `host:port` listener forwarding each connection to an endpoint chosen at accept time. */
export class TcpListener {
  readonly host: string;
  readonly port: number;
  /** Mutable: a listener is retargeted in place when its address moves to another service. */
  target: ForwardTarget;
  #server: net.Server;
  #sockets = new Set<net.Socket>();
  #pick: PickFn;
  #closed = false;

  constructor(host: string, port: number, target: ForwardTarget, pick: PickFn) {
    this.host = host;
    this.port = port;
    this.target = target;
    this.#pick = pick;
    this.#server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => this.#onConnection(s));
  }

  /** `host:port`. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** Binds; rejects with the bind error (EACCES, EADDRINUSE, EADDRNOTAVAIL). */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.#server.once('error', onError);
      this.#server.listen({ host: this.host, port: this.port, exclusive: true }, () => {
        this.#server.off('error', onError);
        // Later errors (EMFILE on accept) must not crash the process.
        this.#server.on('error', () => {});
        resolve();
      });
    });
  }

  /** Stops listening and destroys every open connection; idempotent. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    const done = new Promise<void>((resolve) => {
      if (!this.#server.listening) return resolve();
      this.#server.close(() => resolve());
    });
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    return done;
  }

  #onConnection(client: net.Socket): void {
    if (this.#closed) return void client.destroy();
    const t = this.target;
    const ep = this.#pick(t.ns, t.name, t.port, client.remoteAddress);
    if (!ep) return reject(client);
    // Writes made while the upstream connects are buffered by net.Socket; no manual queueing needed.
    const up = net.connect({ host: ep.host, port: ep.port, allowHalfOpen: true, noDelay: true });
    track(this.#sockets, client);
    track(this.#sockets, up);
    splice(client, up);
  }
}
