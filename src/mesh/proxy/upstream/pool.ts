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
import { performance } from 'node:perf_hooks';
import type { Cluster } from '../model.ts';
import type { StreamFailure, UpstreamRequest } from './types.ts';
import { type HostState, PendingStream, type RequestCallback } from './host.ts';
import { FixedQueue } from './queue.ts';
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
  isLoopback,
  kHost,
  kIdleSince,
  kState,
  kTcpCb,
  kUses,
} from './sockets.ts';

const NOOP_CANCEL = Object.freeze({ cancel(): void {} });

function sweepIdle(pool: Pool): void {
  pool.sweepIdle();
}

/** The connection pool and circuit breakers of one cluster (see the file comment). */
export class Pool implements SocketOwner {
  #maxConnections = Infinity;
  #maxPending = Infinity;
  #maxRequests = Infinity;
  #maxPerConnection = 0;
  #connectTimeoutMs = 10_000;
  #idleTimeoutMs = 0;
  readonly #localAddress: string;
  /** Every socket of the pool (HTTP and TCP), so close() can destroy them. */
  readonly #sockets = new Set<PooledSocket>();
  /** Hosts with connections (a host with pending requests always has one), so close() can fail their queues. */
  readonly #hosts = new Set<HostState>();
  #idleCount = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  #draining = false;
  #closed = false;

  // Counters read by stats() (Envoy's names without the prefix).
  cxTotal = 0;
  cxActive = 0;
  cxOverflow = 0;
  cxConnectFail = 0;
  cxConnectTimeout = 0;
  rqTotal = 0;
  rqActive = 0;
  pendingActive = 0;
  pendingOverflow = 0;

  constructor(cluster: Cluster, localAddress: string) {
    this.#localAddress = localAddress;
    this.configure(cluster);
  }

  /** Takes the limits of a (new version of the) cluster; open connections stay. */
  configure(cluster: Cluster): void {
    const cb = cluster.circuitBreakers;
    this.#maxConnections = cb.maxConnections;
    this.#maxPending = cb.maxPendingRequests;
    this.#maxRequests = cb.maxRequests;
    this.#maxPerConnection = cluster.maxRequestsPerConnection;
    this.#connectTimeoutMs = cluster.connectTimeoutMs;
    this.#idleTimeoutMs = cluster.idleTimeoutMs;
    if (this.#idleTimer !== undefined) {
      clearInterval(this.#idleTimer);
      this.#idleTimer = undefined;
      this.#armIdle();
    }
  }

  /** The source address for connections to `host`: the pod IP, unless that cannot reach it (a loopback pod IP and a remote passthrough destination). */
  bindAddress(host: HostState): string | undefined {
    const local = this.#localAddress;
    if (!local || (isLoopback(local) && !isLoopback(host.address))) return undefined;
    return local;
  }

  /** Starts a request under the breakers (see UpstreamCluster.request). The callback may run synchronously. */
  request(host: HostState, req: UpstreamRequest, cb: RequestCallback): { cancel(): void } {
    if (this.#closed) {
      cb(POOL_CLOSED);
      return NOOP_CANCEL;
    }
    if (host.idle.length > 0) {
      if (this.rqActive >= this.#maxRequests) {
        this.pendingOverflow++;
        cb(OVERFLOW);
        return NOOP_CANCEL;
      }
      const s = host.idle.pop() as PooledSocket;
      this.#idleCount--;
      this.#issue(s, host, req, cb);
      return NOOP_CANCEL;
    }
    if (this.pendingActive >= this.#maxPending) {
      this.pendingOverflow++;
      cb(OVERFLOW);
      return NOOP_CANCEL;
    }
    const p = new PendingStream(this, host, req, cb);
    host.pending.push(p);
    host.pendingLive++;
    this.pendingActive++;
    this.#connectMore(host);
    return p;
  }

  /** Withdraws a pending request; it stays in its host's ring, skipped when it reaches the head. */
  cancel(p: PendingStream): void {
    p.pool = null;
    p.host.pendingLive--;
    this.pendingActive--;
  }

  /** A TCP connection under maxConnections: over the limit it fails at once (no pending queue for TCP). */
  connectTcp(host: HostState, cb: TcpCallback): void {
    if (this.#closed) return cb(POOL_CLOSED);
    if (this.cxActive >= this.#maxConnections) {
      this.cxOverflow++;
      return cb(OVERFLOW);
    }
    const s = this.#dial(host, TCP_CONNECTING);
    s[kTcpCb] = cb;
  }

  #dial(host: HostState, state: number): PooledSocket {
    const s = dial(this, host, state, this.#connectTimeoutMs);
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
    while (!this.#closed && host.pendingLive > host.connecting) {
      if (this.cxActive >= this.#maxConnections) {
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
    s.ref();
    let creq: http.ClientRequest;
    try {
      creq = exchange(s, req) as unknown as http.ClientRequest;
    } catch (err) {
      // Invalid method/path/headers: the router validated them, but never leak the socket.
      host.rqActive--;
      this.rqActive--;
      s[kUses]--;
      this.#release(s);
      cb({ reason: 'connect-failure', detail: `invalid request: ${(err as Error).message}` });
      return;
    }
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
    const host = s[kHost];
    if (host.pendingLive === 0) return;
    // Detach the queue first: callbacks may retry into this host and must land in a fresh queue.
    const q = host.pending;
    host.pending = new FixedQueue<PendingStream>(4);
    this.pendingActive -= host.pendingLive;
    host.pendingLive = 0;
    for (let p = q.shift(); p !== undefined; p = q.shift()) {
      if (p.pool === null) continue;
      p.pool = null;
      p.cb(failure);
    }
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
    if (this.#closed || s.destroyed || (this.#maxPerConnection > 0 && s[kUses] >= this.#maxPerConnection)) {
      this.#close(s);
      return;
    }
    for (let p = host.pending.shift(); p !== undefined; p = host.pending.shift()) {
      if (p.pool === null) continue;
      p.pool = null;
      host.pendingLive--;
      this.pendingActive--;
      // Envoy checks max_requests when it attaches a pending stream to a ready connection.
      if (this.rqActive >= this.#maxRequests) {
        this.pendingOverflow++;
        p.cb(OVERFLOW);
        continue;
      }
      this.#issue(s, host, p.req, p.cb);
      return;
    }
    if (this.#draining || host.removed) {
      this.#close(s);
      return;
    }
    s[kState] = IDLE;
    s[kIdleSince] = performance.now();
    // Idle pooled sockets must not keep the process alive (node's Agent does the same).
    s.unref();
    host.idle.push(s);
    this.#idleCount++;
    this.#armIdle();
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

  #armIdle(): void {
    const t = this.#idleTimeoutMs;
    if (this.#idleTimer !== undefined || !(t > 0) || !Number.isFinite(t) || this.#idleCount === 0) return;
    // One coarse sweep per pool instead of a timer per socket: a socket closes between t and t + period.
    const period = Math.min(1000, Math.max(5, Math.floor(t / 4)));
    this.#idleTimer = setInterval(sweepIdle, period, this);
    this.#idleTimer.unref();
  }

  /** Closes connections idle for idleTimeoutMs; stops the sweep when none is idle. */
  sweepIdle(): void {
    const deadline = performance.now() - this.#idleTimeoutMs;
    for (const s of this.#sockets) {
      if (s[kState] === IDLE && s[kIdleSince] <= deadline) {
        this.#retire(s);
        s.destroy();
      }
    }
    if (this.#idleCount === 0 && this.#idleTimer !== undefined) {
      clearInterval(this.#idleTimer);
      this.#idleTimer = undefined;
    }
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
    this.#draining = true;
    for (const s of this.#sockets) {
      if (s[kState] === IDLE) {
        this.#retire(s);
        s.destroy();
      }
    }
  }

  /** Destroys every connection and fails pending requests; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#idleTimer !== undefined) clearInterval(this.#idleTimer);
    this.#idleTimer = undefined;
    for (const s of this.#sockets) {
      const st = s[kState];
      if (st === TCP_CONNECTING) {
        this.connectFailed(s, POOL_CLOSED);
      } else {
        this.#retire(s);
      }
      s.destroy();
    }
    for (const host of this.#hosts) {
      const q = host.pending;
      host.pending = new FixedQueue<PendingStream>(4);
      this.pendingActive -= host.pendingLive;
      host.pendingLive = 0;
      for (let p = q.shift(); p !== undefined; p = q.shift()) {
        if (p.pool === null) continue;
        p.pool = null;
        p.cb(POOL_CLOSED);
      }
    }
    this.#hosts.clear();
  }
}
