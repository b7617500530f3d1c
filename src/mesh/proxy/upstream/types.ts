/**
 * The contract between the proxy's request path (listeners, router) and its upstream side (load
 * balancing, connection pools with Envoy's circuit breakers, outlier detection). The router never
 * opens an upstream connection itself: it asks an UpstreamCluster for a host and a request slot.
 */
import type http from 'node:http';
import type net from 'node:net';
import type { Cluster, Endpoint } from '../model.ts';

/** One endpoint of a cluster, with its live state. */
export interface UpstreamHost {
  /** `address:port`. */
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly endpoint: Endpoint;
}

/** What the load balancer may use to choose. */
export interface ChooseContext {
  /** Consistent-hash key computed by the router from the route's hash policy (RING_HASH/MAGLEV). */
  hashKey?: string;
  /** Hosts already tried by this request (retries avoid them when others are healthy). */
  avoid?: ReadonlySet<string>;
  /** passthrough clusters: the address the client asked for. */
  original?: { address: string; port: number };
}

/** Why no request could be started. Envoy's names: overflow → UO, connect-failure → UF. */
export type StreamFailure =
  | { reason: 'overflow' }
  | { reason: 'connect-failure'; detail: string }
  | { reason: 'connect-timeout'; detail: string };

/** A request the router wants sent upstream. `headers` are raw name/value pairs, already rewritten. */
export interface UpstreamRequest {
  method: string;
  path: string;
  headers: string[];
  /**
   * Optional, for HTTP/1.1 exchanges: the pairs of `headers` from `headEnd` on, as head lines
   * rendered once (CRLF first, as h1/parser.ts headerLine writes them), written in their place.
   * HTTP/2 clusters and anything else reading `headers` still find every pair there.
   */
  headTail?: string;
  headEnd?: number;
  /** Optional: the request has no body (HTTP/2 clusters send HEADERS with END_STREAM; end() follows anyway). */
  endStream?: boolean;
  /**
   * Optional: the downstream request whose trailers, present once its body has ended, an HTTP/2
   * cluster sends after the body (HTTP/2 clients' request trailers; Envoy drops HTTP/1.1 ones).
   */
  trailersFrom?: http.IncomingMessage;
}

/** Result reported after an exchange, for outlier detection (overflow is never reported). */
export type Outcome = { status: number } | { local: 'connect-failure' | 'timeout' | 'reset' };

/** Counters and per-host state for the admin /clusters view and stats. */
export interface ClusterStats {
  name: string;
  upstream_cx_total: number;
  upstream_cx_active: number;
  upstream_cx_overflow: number;
  upstream_rq_total: number;
  upstream_rq_active: number;
  upstream_rq_pending_active: number;
  upstream_rq_pending_overflow: number;
  upstream_rq_retry: number;
  upstream_rq_retry_overflow: number;
  outlier_detection_ejections_active: number;
  outlier_detection_ejections_overflow: number;
  outlier_detection_ejections_enforced_total: number;
  hosts: Array<{
    address: string;
    port: number;
    healthy: boolean;
    /** `/failed_outlier_check` when ejected, `/failed_eds_health` when not ready, else `healthy`. */
    healthFlags: string;
    cx_active: number;
    rq_active: number;
    rq_total: number;
    rq_error: number;
    consecutive5xx: number;
    ejections: number;
    labels?: Record<string, string>;
  }>;
}

/** One cluster at run time. Built and updated from the model's Cluster; state of hosts that stay is kept across updates. */
export interface UpstreamCluster {
  readonly config: Cluster;
  /**
   * Picks a host by the cluster's LB policy among healthy hosts (ready, not ejected), honouring the
   * panic threshold (below it: all hosts). Undefined when there is none: the router answers 503
   * `no healthy upstream`, flag UH.
   */
  choose(ctx: ChooseContext): UpstreamHost | undefined;
  /**
   * Starts a request to `host` under the circuit breakers: immediately or once a pooled connection
   * (HTTP/1.1) or a stream slot on a session (HTTP/2, `config.protocol` 'http2') frees up (pending),
   * or fails with overflow / connect failure. The callback runs exactly once (unless cancelled); on
   * success it gets a ClientRequest whose headers are set and whose body the router writes/pipes;
   * the router listens for 'response' and 'error' on it. HTTP/2 clusters hand an H2Call that
   * behaves as one (h2-call.ts: 'response' gives the stream dressed as an IncomingMessage, with
   * `trailers`/`rawTrailers` before 'end'). The cluster counts the request active until it closes.
   */
  request(host: UpstreamHost, req: UpstreamRequest, cb: (err: StreamFailure | undefined, creq?: http.ClientRequest) => void): { cancel(): void };
  /** Reports an exchange's outcome for outlier detection (never called for overflow). */
  report(host: UpstreamHost, outcome: Outcome): void;
  /** Takes a slot of the concurrent-retry budget (maxRetries); false means the retry must not happen (flag UO added). */
  tryRetry(): boolean;
  retryDone(): void;
  /** A TCP connection to `host` under maxConnections; overflow fails at once (TCP has no pending queue). */
  connectTcp(host: UpstreamHost, cb: (err: StreamFailure | undefined, socket?: net.Socket) => void): void;
  stats(): ClusterStats;
}

/** All clusters of one proxy. */
export interface ClusterManager {
  /** Applies a new cluster set: new ones built, gone ones drained and closed, kept ones updated in place. */
  update(clusters: Record<string, Cluster>): void;
  get(name: string): UpstreamCluster | undefined;
  all(): UpstreamCluster[];
  close(): Promise<void>;
}

/** How a ClusterManager is made. `localAddress` is the pod IP every upstream connection binds (traffic stays on loopback). */
export interface ClusterManagerOptions {
  localAddress: string;
  /** Injectable clock for tests of outlier detection timing. */
  now?: () => number;
  /** Injectable randomness for tests of load balancing. */
  random?: () => number;
}
