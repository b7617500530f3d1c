/**
 * What the HTTP/1.1 pool (pool.ts) and the HTTP/2 pool (h2-pool.ts) share: the cluster's circuit
 * breaker limits and Envoy's counters, the pending queue (`maxPendingRequests` overflow, queueing,
 * failing a host's whole queue), the source address, and one coarse idle sweep per pool. The pools
 * keep what differs: how a request finds a free connection or stream, when to dial, and what idle
 * means for a socket or a session.
 */
import { performance } from 'node:perf_hooks';
import type { Cluster } from '../model.ts';
import { type HostState, type PendingOwner, PendingStream, type RequestCallback } from './host.ts';
import { OVERFLOW, POOL_CLOSED } from './failures.ts';
import { FixedQueue } from './queue.ts';
import { isLoopback } from './sockets.ts';
import type { StreamFailure, UpstreamRequest } from './types.ts';

/** The cancel handle of a request that needs none (served or failed at once). */
export const NOOP_CANCEL = Object.freeze({ cancel(): void {} });

/** A host's queue of pending requests (HostState for HTTP/1.1, H2Host for HTTP/2). */
export interface PendingQueue {
  pending: FixedQueue<PendingStream>;
  /** Pending streams not cancelled (cancelled ones stay in the ring until they reach its head). */
  pendingLive: number;
}

function sweep(pool: PoolBreakers): void {
  pool.sweepIdle();
}

/** Limits, counters, the pending queue and the idle sweep of one cluster's pool (see the file comment). */
export abstract class PoolBreakers implements PendingOwner {
  protected maxConnections = Infinity;
  protected maxPending = Infinity;
  protected maxRequests = Infinity;
  protected maxPerConnection = 0;
  protected connectTimeoutMs = 10_000;
  protected idleTimeoutMs = 0;
  protected draining = false;
  protected closed = false;
  readonly #localAddress: string;
  #idleTimer: NodeJS.Timeout | undefined;

  // Counters read by the cluster's stats() (Envoy's names without the prefix).
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
    this.maxConnections = cb.maxConnections;
    this.maxPending = cb.maxPendingRequests;
    this.maxRequests = cb.maxRequests;
    this.maxPerConnection = cluster.maxRequestsPerConnection;
    this.connectTimeoutMs = cluster.connectTimeoutMs;
    this.idleTimeoutMs = cluster.idleTimeoutMs;
    if (this.#idleTimer !== undefined) {
      this.#stopIdleSweep();
      this.armIdle();
    }
  }

  /** The source address for connections to `host`: the pod IP, unless that cannot reach it (a loopback pod IP and a remote passthrough destination). */
  bindAddress(host: HostState): string | undefined {
    const local = this.#localAddress;
    if (!local || (isLoopback(local) && !isLoopback(host.address))) return undefined;
    return local;
  }

  /** Withdraws a pending request; it stays in its host's ring, skipped when it reaches the head. */
  abstract cancel(p: PendingStream): void;

  /** Closes what has been idle for idleTimeoutMs; false when nothing is idle any more. */
  protected abstract closeIdle(deadline: number): boolean;

  /** Fails a request with 503 UO (`upstream_rq_pending_overflow`). */
  protected overflow(cb: RequestCallback): typeof NOOP_CANCEL {
    this.pendingOverflow++;
    cb(OVERFLOW);
    return NOOP_CANCEL;
  }

  /** Queues a request for a connection of `host`, or overflows when maxPendingRequests are pending already. */
  protected enqueue(host: HostState, q: PendingQueue, req: UpstreamRequest, cb: RequestCallback): PendingStream | undefined {
    if (this.pendingActive >= this.maxPending) {
      this.overflow(cb);
      return undefined;
    }
    const p = new PendingStream(this, host, req, cb);
    q.pending.push(p);
    q.pendingLive++;
    this.pendingActive++;
    return p;
  }

  /** The next live pending request of a queue, taken off it; undefined when none is left. */
  protected dequeue(q: PendingQueue): PendingStream | undefined {
    for (let p = q.pending.shift(); p !== undefined; p = q.pending.shift()) {
      if (p.pool === null) continue;
      p.pool = null;
      q.pendingLive--;
      this.pendingActive--;
      return p;
    }
    return undefined;
  }

  /**
   * Fails every pending request of a queue (a connect failure does this to the whole host, as in
   * Envoy; close() to every host). The queue is detached first: callbacks that retry into the same
   * host land in a fresh one.
   */
  protected failPending(q: PendingQueue, failure: StreamFailure): void {
    if (q.pendingLive === 0) return;
    const ring = q.pending;
    q.pending = new FixedQueue<PendingStream>(4);
    this.pendingActive -= q.pendingLive;
    q.pendingLive = 0;
    for (let p = ring.shift(); p !== undefined; p = ring.shift()) {
      if (p.pool === null) continue;
      p.pool = null;
      p.cb(failure);
    }
  }

  /** Marks the pool closed and stops the sweep; false when it was closed already. */
  protected closing(): boolean {
    if (this.closed) return false;
    this.closed = true;
    this.#stopIdleSweep();
    return true;
  }

  /** Fails what every queue still holds with POOL_CLOSED. */
  protected failAll(queues: Iterable<PendingQueue>): void {
    for (const q of queues) this.failPending(q, POOL_CLOSED);
  }

  /** Starts the idle sweep if it is not running and an idle timeout applies. */
  protected armIdle(): void {
    const t = this.idleTimeoutMs;
    if (this.#idleTimer !== undefined || !(t > 0) || !Number.isFinite(t)) return;
    // One coarse sweep per pool instead of a timer per connection: one closes between t and t + period.
    const period = Math.min(1000, Math.max(5, Math.floor(t / 4)));
    this.#idleTimer = setInterval(sweep, period, this);
    this.#idleTimer.unref();
  }

  /** Closes connections idle for idleTimeoutMs; stops the sweep when none is idle. */
  sweepIdle(): void {
    if (!this.closeIdle(performance.now() - this.idleTimeoutMs)) this.#stopIdleSweep();
  }

  #stopIdleSweep(): void {
    if (this.#idleTimer !== undefined) clearInterval(this.#idleTimer);
    this.#idleTimer = undefined;
  }
}
