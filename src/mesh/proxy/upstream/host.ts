/**
 * One upstream endpoint with everything the upstream side tracks about it: load balancing counters,
 * its slice of the connection pool (Envoy keeps one pool per host; the circuit-breaker limits are
 * cluster-wide) and its outlier-detection state. A plain record shared by the files of this folder;
 * the cluster keeps it across config updates while the endpoint stays.
 */
import type http from 'node:http';
import type net from 'node:net';
import type { Endpoint } from '../model.ts';
import type { StreamFailure, UpstreamHost, UpstreamRequest } from './types.ts';
import { FixedQueue } from './queue.ts';

export type RequestCallback = (err: StreamFailure | undefined, creq?: http.ClientRequest) => void;

/** What a pending request's cancel() calls: its pool. */
export interface PendingOwner {
  cancel(p: PendingStream): void;
}

/** A request waiting for a connection of its host; it is its own cancel handle (no closure). */
export class PendingStream {
  readonly host: HostState;
  readonly req: UpstreamRequest;
  readonly cb: RequestCallback;
  /** Set while queued; null once served, failed or cancelled. */
  pool: PendingOwner | null;

  constructor(pool: PendingOwner, host: HostState, req: UpstreamRequest, cb: RequestCallback) {
    this.pool = pool;
    this.host = host;
    this.req = req;
    this.cb = cb;
  }

  cancel(): void {
    const p = this.pool;
    if (p !== null) p.cancel(this);
  }
}

export class HostState implements UpstreamHost {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  endpoint: Endpoint;
  /** Load-balancing weight (endpoint weight, at least 1). */
  weight: number;

  // Requests.
  rqActive = 0;
  rqTotal = 0;
  rqError = 0;

  // Connections (pool): open sockets including connecting ones, connecting ones, and idle ones
  // (a stack: the most recently used is reused first so the others can reach their idle timeout).
  cxActive = 0;
  connecting = 0;
  readonly idle: net.Socket[] = [];
  pending = new FixedQueue<PendingStream>(4);
  /** Pending streams not cancelled (cancelled ones stay in the ring until they reach its head). */
  pendingLive = 0;
  /** No longer an endpoint of its cluster: serves what it has, then closes its connections. */
  removed = false;

  // Outlier detection (Envoy's DetectorHostMonitorImpl).
  consecutive5xx = 0;
  consecutiveGateway = 0;
  consecutiveLocal = 0;
  ejected = false;
  ejectedAt = 0;
  /** Ejection-time multiplier: +1 per ejection, −1 per interval the host stays healthy. */
  backoff = 0;
  ejections = 0;
  /** When the host last came back (−Infinity: never ejected). */
  unejectedAt = -Infinity;

  /** Scratch for smooth weighted round robin. */
  current = 0;

  constructor(ep: Endpoint, key: string) {
    this.key = key;
    this.address = ep.address;
    this.port = ep.port;
    this.endpoint = ep;
    this.weight = ep.weight !== undefined && ep.weight > 0 ? ep.weight : 1;
  }

  /** Takes the new endpoint record (labels, readiness, weight may change; the address does not). */
  setEndpoint(ep: Endpoint): void {
    this.endpoint = ep;
    this.weight = ep.weight !== undefined && ep.weight > 0 ? ep.weight : 1;
  }
}

/** `address:port`, the host key used everywhere (avoid sets, stats, update matching). */
export function hostKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
