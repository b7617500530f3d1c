/**
 * The connection pool of one cluster, with Envoy's circuit breakers (HTTP/1.1 pool semantics of
 * ConnPoolImplBase; limits cluster-wide, pools per host):
 * - a request takes an idle connection of its host when there is one (then `maxRequests` is checked:
 *   over it → overflow);
 * - otherwise it is *pending* (waiting for a connection, including one still being established):
 *   already `maxPendingRequests` pending → overflow now; else it queues and the host opens another
 *   connection if pending requests outnumber connecting ones and `maxConnections` allows
 *   (`upstream_cx_overflow` when not; a host with no connection at all opens one anyway, as Envoy
 *   does, so its queue cannot starve behind other hosts' connections);
 * - a connection that finishes a request serves the next pending request of its host, or goes idle;
 *   after `maxRequestsPerConnection` requests it closes; idle ones close after `idleTimeoutMs`;
 * - a connect failure or timeout fails every pending request of the host (Envoy purges them).
 *
 * Why our own sockets instead of letting node's http.Agent connect: the router must learn about a
 * connect failure through the request() callback (UF, retries) before it gets a ClientRequest, and
 * the breakers need to know exactly when a connection exists, is connecting, busy or idle. So the
 * pool dials with net.connect (bound to the pod IP), and only once a connection is established runs
 * an exchange on it (h1/client.ts, shaped like a ClientRequest for the router), which hands the
 * connection back when it is over (sockets.ts). A request allocates no closures: at most its
 * PendingStream, which is its own cancel handle.
 */
import type http from 'node:http';
import { readNow } from '../h1/reads.ts';
import type { StreamFailure, UpstreamRequest } from './types.ts';
import { NOOP_CANCEL, PoolBreakers } from './breakers.ts';
import type { HostState, PendingStream, RequestCallback } from './host.ts';
import { CONNECT_CLOSED, CONNECT_TIMEOUT, OVERFLOW, POOL_CLOSED } from './failures.ts';
import {
  BUSY,
  CLOSED,
  CONNECTING,
  IDLE,
  type PooledSocket,
  type SocketOwner,
  TCP,
  TCP_CONNECTING,
  type TcpCallback,
  connectDone,
  dial,
  exchange,
  kHost,
  kIdleSince,
  kState,
  kTcpCb,
  kUses,
} from './sockets.ts';

/** The connection pool and circuit breakers of one cluster (see the file comment). */
export class Pool extends PoolBreakers implements SocketOwner {
  /** Every socket of the pool (HTTP and TCP), so close() can destroy them. */
  readonly #sockets = new Set<PooledSocket>();
  /** Hosts with connections (a host with pending requests always has one), so close() can fail their queues. */
  readonly #hosts = new Set<HostState>();
  #idleCount = 0;

  /** Starts a request under the breakers (see UpstreamCluster.request). The callback may run synchronously. */
  request(host: HostState, req: UpstreamRequest, cb: RequestCallback): { cancel(): void } {
    if (this.closed) {
      cb(POOL_CLOSED);
      return NOOP_CANCEL;
    }
    if (host.idle.length > 0) {
      if (this.rqActive >= this.maxRequests) return this.overflow(cb);
      const s = host.idle.pop() as PooledSocket;
      this.#idleCount--;
      this.#issue(s, host, req, cb);
      return NOOP_CANCEL;
    }
    const p = this.enqueue(host, host, req, cb);
    if (p === undefined) return NOOP_CANCEL;
    this.#connectMore(host);
    return p;
  }

  cancel(p: PendingStream): void {
    p.pool = null;
    p.host.pendingLive--;
    this.pendingActive--;
  }

  /** A TCP connection under maxConnections: over the limit it fails at once (no pending queue for TCP). */
  connectTcp(host: HostState, cb: TcpCallback): void {
    if (this.closed) return cb(POOL_CLOSED);
    if (this.cxActive >= this.maxConnections) {
      this.cxOverflow++;
      return cb(OVERFLOW);
    }
    const s = this.#dial(host, TCP_CONNECTING);
    s[kTcpCb] = cb;
  }

  #dial(host: HostState, state: number): PooledSocket {
    const s = dial(this, host, state, this.connectTimeoutMs);
    if (state === CONNECTING) host.connecting++;
    host.cxActive++;
    this.cxActive++;
    this.cxTotal++;
    this.#sockets.add(s);
    this.#hosts.add(host);
    return s;
  }

  /** Opens connections while pending requests outnumber connecting ones and the breakers allow. */
  #connectMore(host: HostState): void {
    while (!this.closed && host.pendingLive > host.connecting) {
      if (this.cxActive >= this.maxConnections) {
        this.cxOverflow++;
        if (host.cxActive > 0) return;
      }
      this.#dial(host, CONNECTING);
    }
  }

  /** Runs one request on a connected socket and hands the ClientRequest to the router. */
  #issue(s: PooledSocket, host: HostState, req: UpstreamRequest, cb: RequestCallback): void {
    s[kState] = BUSY;
    s[kUses]++;
    host.rqActive++;
    host.rqTotal++;
    this.rqActive++;
    this.rqTotal++;
    const creq = exchange(s, req) as unknown as http.ClientRequest;
    cb(undefined, creq);
  }

  /** A socket finished connecting. */
  connected(s: PooledSocket): void {
    connectDone(s);
    const host = s[kHost];
    if (s[kState] === TCP_CONNECTING) {
      s[kState] = TCP;
      const cb = s[kTcpCb] as TcpCallback;
      s[kTcpCb] = undefined;
      cb(undefined, s);
      return;
    }
    if (s[kState] !== CONNECTING) return;
    host.connecting--;
    this.#release(s);
  }

  connectTimedOut(s: PooledSocket): void {
    const st = s[kState];
    if (st !== CONNECTING && st !== TCP_CONNECTING) return;
    this.cxConnectTimeout++;
    this.connectFailed(s, CONNECT_TIMEOUT);
    s.destroy();
  }

  /** A connect failed: the socket is gone and, as in Envoy, every pending request of its host fails with it. */
  connectFailed(s: PooledSocket, failure: StreamFailure): void {
    const st = s[kState];
    this.#retire(s);
    if (failure.reason === 'connect-failure') this.cxConnectFail++;
    if (st === TCP_CONNECTING) {
      const cb = s[kTcpCb] as TcpCallback;
      s[kTcpCb] = undefined;
      cb(failure);
      return;
    }
    this.failPending(s[kHost], failure);
  }

  /** A keep-alive exchange on the socket is over (h1/client.ts). */
  streamDone(s: PooledSocket): void {
    if (s[kState] !== BUSY) return;
    const host = s[kHost];
    host.rqActive--;
    this.rqActive--;
    this.#release(s);
  }

  /** A connected socket is free: it serves the next pending request of its host, goes idle, or closes. */
  #release(s: PooledSocket): void {
    const host = s[kHost];
    if (this.closed || s.destroyed || (this.maxPerConnection > 0 && s[kUses] >= this.maxPerConnection)) {
      this.#close(s);
      return;
    }
    for (let p = this.dequeue(host); p !== undefined; p = this.dequeue(host)) {
      // Envoy checks max_requests when it attaches a pending stream to a ready connection.
      if (this.rqActive >= this.maxRequests) {
        this.overflow(p.cb);
        continue;
      }
      this.#issue(s, host, p.req, p.cb);
      return;
    }
    if (this.draining || host.removed) {
      this.#close(s);
      return;
    }
    s[kState] = IDLE;
    s[kIdleSince] = readNow();
    host.idle.push(s);
    this.#idleCount++;
    this.armIdle();
  }

  /** Closes a socket of the pool now; its slot is free at once (a new connection may open before 'close'). */
  #close(s: PooledSocket): void {
    const host = s[kHost];
    this.#retire(s);
    s.destroy();
    if (host.pendingLive > 0) this.#connectMore(host);
  }

  /** Accounting for a socket leaving the pool; idempotent. */
  #retire(s: PooledSocket): void {
    const st = s[kState];
    if (st === CLOSED) return;
    s[kState] = CLOSED;
    const host = s[kHost];
    if (st === CONNECTING) host.connecting--;
    else if (st === BUSY) {
      host.rqActive--;
      this.rqActive--;
    } else if (st === IDLE) {
      const i = host.idle.lastIndexOf(s);
      if (i >= 0) host.idle.splice(i, 1);
      this.#idleCount--;
    }
    host.cxActive--;
    this.cxActive--;
    this.#sockets.delete(s);
    if (host.cxActive === 0 && host.pendingLive === 0) this.#hosts.delete(host);
  }

  socketClosed(s: PooledSocket): void {
    const st = s[kState];
    if (st === CLOSED) return;
    if (st === CONNECTING || st === TCP_CONNECTING) {
      this.connectFailed(s, CONNECT_CLOSED);
      return;
    }
    const host = s[kHost];
    this.#retire(s);
    if (host.pendingLive > 0) this.#connectMore(host);
  }

  protected closeIdle(deadline: number): boolean {
    for (const s of this.#sockets) {
      if (s[kState] === IDLE && s[kIdleSince] <= deadline) {
        this.#retire(s);
        s.destroy();
      }
    }
    return this.#idleCount > 0;
  }

  /** An endpoint left the cluster: its idle connections close now, busy ones after their request. */
  drainHost(host: HostState): void {
    host.removed = true;
    while (host.idle.length > 0) {
      const s = host.idle[host.idle.length - 1] as PooledSocket;
      this.#retire(s);
      s.destroy();
    }
  }

  /** The cluster left the config: as drainHost for every connection; pending requests are still served. */
  drain(): void {
    this.draining = true;
    for (const s of this.#sockets) {
      if (s[kState] === IDLE) {
        this.#retire(s);
        s.destroy();
      }
    }
  }

  /** Destroys every connection and fails pending requests; idempotent. */
  close(): void {
    if (!this.closing()) return;
    for (const s of this.#sockets) {
      const st = s[kState];
      if (st === TCP_CONNECTING) {
        this.connectFailed(s, POOL_CLOSED);
      } else {
        this.#retire(s);
      }
      s.destroy();
    }
    this.failAll(this.#hosts);
    this.#hosts.clear();
  }
}
