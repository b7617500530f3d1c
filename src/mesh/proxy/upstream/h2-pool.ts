/**
 * The HTTP/2 connection pool of one cluster (clusters with `protocol: 'http2'`), with Envoy's circuit
 * breakers as its HTTP/2 pool applies them (limits cluster-wide, sessions per host):
 * - a request takes a stream on a ready session of its host that has room (the peer's
 *   SETTINGS_MAX_CONCURRENT_STREAMS, and maxRequestsPerConnection), after the `maxRequests` check
 *   (active streams across the cluster): over it → overflow;
 * - otherwise it is pending (no session yet, or all full): already `maxPendingRequests` pending →
 *   overflow; else it queues, and the host dials another session unless a connecting one can take
 *   the queue (one can take all, up to maxRequestsPerConnection) or `maxConnections` is reached
 *   (`upstream_cx_overflow`; a host without any session dials anyway, as Envoy does);
 * - a session that started maxRequestsPerConnection streams, or got GOAWAY, drains: no new
 *   streams, it closes after its last one; sessions without streams close after `idleTimeoutMs`;
 * - a connect failure or timeout fails every pending request of the host (Envoy purges them).
 *
 * Sessions are h2c with prior knowledge over sockets the pool dials itself (bound to the pod IP,
 * as pool.ts does and for the same reason: a connect failure reaches the router as UF before any
 * stream exists). Limits, counters, the pending queue and the idle sweep are the HTTP/1.1 pool's
 * (breakers.ts), so the cluster adds both pools' counters up.
 */
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import { NOOP_CANCEL, PoolBreakers } from './breakers.ts';
import { CONNECT_TIMEOUT, POOL_CLOSED } from './failures.ts';
import { H2Call } from './h2-call.ts';
import { CLOSED, CONNECTING, DRAINING, dialH2, type H2Conn, type H2ConnOwner, H2Host, READY, startSession } from './h2-conn.ts';
import type { HostState, PendingStream, RequestCallback } from './host.ts';
import type { StreamFailure, UpstreamRequest } from './types.ts';

/** The HTTP/2 pool and circuit breakers of one cluster (see the file comment). */
export class H2Pool extends PoolBreakers implements H2ConnOwner {
  readonly #hosts = new Map<HostState, H2Host>();
  readonly #conns = new Set<H2Conn>();

  #rec(host: HostState): H2Host {
    let r = this.#hosts.get(host);
    if (r === undefined) this.#hosts.set(host, (r = new H2Host()));
    return r;
  }

  /** Streams a ready session can still start. */
  #room(c: H2Conn): number {
    if (c.state !== READY) return 0;
    let room = (c.session!.remoteSettings.maxConcurrentStreams ?? Infinity) - c.active;
    if (this.maxPerConnection > 0) room = Math.min(room, this.maxPerConnection - c.uses);
    return room;
  }

  /** Starts a request under the breakers (see UpstreamCluster.request). The callback may run synchronously. */
  request(host: HostState, req: UpstreamRequest, cb: RequestCallback): { cancel(): void } {
    if (this.closed) {
      cb(POOL_CLOSED);
      return NOOP_CANCEL;
    }
    const r = this.#rec(host);
    for (let i = 0; i < r.conns.length; i++) {
      const c = r.conns[i];
      if (this.#room(c) <= 0) continue;
      if (this.rqActive >= this.maxRequests) return this.overflow(cb);
      this.#issue(c, req, cb);
      return NOOP_CANCEL;
    }
    const p = this.enqueue(host, r, req, cb);
    if (p === undefined) return NOOP_CANCEL;
    this.#connectMore(host, r);
    return p;
  }

  cancel(p: PendingStream): void {
    p.pool = null;
    const r = this.#hosts.get(p.host);
    if (r) r.pendingLive--;
    this.pendingActive--;
  }

  /** Dials while no connecting session can take the pending requests and the breakers allow. */
  #connectMore(host: HostState, r: H2Host): void {
    const per = this.maxPerConnection > 0 ? this.maxPerConnection : Infinity;
    while (!this.closed && r.pendingLive > 0 && (r.connecting === 0 || r.pendingLive > r.connecting * per)) {
      if (this.cxActive >= this.maxConnections) {
        this.cxOverflow++;
        if (r.conns.length > 0) return;
      }
      this.#dial(host, r);
    }
  }

  #dial(host: HostState, r: H2Host): void {
    const c = dialH2(this, host, r, this.connectTimeoutMs);
    r.conns.push(c);
    r.connecting++;
    host.cxActive++;
    this.cxActive++;
    this.cxTotal++;
    this.#conns.add(c);
  }

  /** The socket connected (listener): the session starts and takes what is pending. */
  connected(c: H2Conn): void {
    if (c.state !== CONNECTING) return;
    c.rec.connecting--;
    startSession(c);
    this.#serve(c);
    this.#maybeIdle(c);
  }

  connectTimedOut(c: H2Conn): void {
    if (c.state !== CONNECTING) return;
    this.cxConnectTimeout++;
    this.connectFailed(c, CONNECT_TIMEOUT);
    c.socket.destroy();
  }

  /** A connect failed: as in Envoy, every pending request of the host fails with it. */
  connectFailed(c: H2Conn, failure: StreamFailure): void {
    if (c.state !== CONNECTING) return;
    this.#retire(c);
    if (failure.reason === 'connect-failure') this.cxConnectFail++;
    this.failPending(c.rec, failure);
  }

  /** Attaches pending requests of the session's host while it has room (Envoy checks maxRequests at attach). */
  #serve(c: H2Conn): void {
    const r = c.rec;
    while (r.pendingLive > 0 && this.#room(c) > 0) {
      const p = this.dequeue(r);
      if (p === undefined) break;
      if (this.rqActive >= this.maxRequests) {
        this.overflow(p.cb);
        continue;
      }
      this.#issue(c, p.req, p.cb);
    }
  }

  #issue(c: H2Conn, req: UpstreamRequest, cb: RequestCallback): void {
    const host = c.host;
    c.active++;
    c.uses++;
    host.rqActive++;
    host.rqTotal++;
    this.rqActive++;
    this.rqTotal++;
    const session = c.session!;
    if (c.active === 1) session.ref();
    let call: H2Call;
    try {
      call = new H2Call(session, c.socket, req, host.key, c);
    } catch (err) {
      // Invalid headers, or a session node already gave up on: never leak the slot.
      c.active--;
      c.uses--;
      host.rqActive--;
      this.rqActive--;
      cb({ reason: 'connect-failure', detail: `invalid request: ${(err as Error).message}` });
      this.#afterStream(c);
      return;
    }
    cb(undefined, call as unknown as http.ClientRequest);
    if (this.maxPerConnection > 0 && c.uses >= this.maxPerConnection) this.drainConn(c);
  }

  /** A stream of the session closed (its H2Call). */
  streamEnded(c: H2Conn): void {
    c.active--;
    c.host.rqActive--;
    this.rqActive--;
    this.#afterStream(c);
  }

  #afterStream(c: H2Conn): void {
    if (c.state === READY) {
      this.#serve(c);
      this.#maybeIdle(c);
    } else if (c.state === DRAINING && c.active === 0) this.#closeConn(c);
  }

  /** A ready session without streams: closed when the pool or host drains, else idle (unref'd). */
  #maybeIdle(c: H2Conn): void {
    if (c.state !== READY || c.active > 0) return;
    if (this.draining || c.host.removed) return this.#closeConn(c);
    c.idleSince = performance.now();
    // Idle sessions must not keep the process alive (node's Agent does the same for sockets).
    c.session?.unref();
    this.armIdle();
  }

  /** The session's peer settings changed (listener): more room may have opened. */
  roomChanged(c: H2Conn): void {
    if (c.state === READY) this.#serve(c);
  }

  /** No new streams on this session (maxRequestsPerConnection reached, GOAWAY, host or pool draining); it closes after its last. */
  drainConn(c: H2Conn): void {
    if (c.state !== READY) return;
    c.state = DRAINING;
    if (c.active === 0) this.#closeConn(c);
    else if (c.rec.pendingLive > 0) this.#connectMore(c.host, c.rec);
  }

  /** Closes a session without streams (GOAWAY, then the socket); its slot is free at once. */
  #closeConn(c: H2Conn): void {
    this.#retire(c);
    if (c.session && !c.session.closed) c.session.close();
    else c.socket.destroy();
    if (c.rec.pendingLive > 0) this.#connectMore(c.host, c.rec);
  }

  /** The session (or a socket that never got one) closed (listener). */
  sessionClosed(c: H2Conn): void {
    if (c.state === CLOSED) return;
    this.#retire(c);
    if (!this.closed && c.rec.pendingLive > 0) this.#connectMore(c.host, c.rec);
  }

  /** Accounting for a connection leaving the pool; idempotent. Its streams still end one by one. */
  #retire(c: H2Conn): void {
    const st = c.state;
    if (st === CLOSED) return;
    c.state = CLOSED;
    const r = c.rec;
    if (st === CONNECTING) r.connecting--;
    const i = r.conns.indexOf(c);
    if (i >= 0) r.conns.splice(i, 1);
    c.host.cxActive--;
    this.cxActive--;
    this.#conns.delete(c);
    if (r.conns.length === 0 && r.pendingLive === 0 && this.#hosts.get(c.host) === r) this.#hosts.delete(c.host);
  }

  protected closeIdle(deadline: number): boolean {
    let idle = 0;
    for (const c of this.#conns) {
      if (c.state !== READY || c.active > 0) continue;
      if (c.idleSince <= deadline) this.#closeConn(c);
      else idle++;
    }
    return idle > 0;
  }

  /** An endpoint left the cluster: its idle sessions close now, busy ones after their streams. */
  drainHost(host: HostState): void {
    host.removed = true;
    const r = this.#hosts.get(host);
    if (r) for (const c of [...r.conns]) this.drainConn(c);
  }

  /** The cluster left the config (or became HTTP/1.1): as drainHost for every session. */
  drain(): void {
    this.draining = true;
    for (const c of [...this.#conns]) this.drainConn(c);
  }

  /** Destroys every session and fails pending requests; idempotent. */
  close(): void {
    if (!this.closing()) return;
    for (const c of [...this.#conns]) {
      this.#retire(c);
      if (c.session) c.session.destroy();
      else c.socket.destroy();
    }
    this.failAll(this.#hosts.values());
    this.#hosts.clear();
  }
}
