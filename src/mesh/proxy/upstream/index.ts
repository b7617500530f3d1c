/**
 * The proxy's upstream side: per-cluster load balancing (Envoy's LEAST_REQUEST P2C, ROUND_ROBIN,
 * RANDOM, RING_HASH, MAGLEV, ORIGINAL_DST passthrough), HTTP/1.1 connection pools and HTTP/2
 * session pools (h2c prior knowledge, clusters with `protocol: 'http2'`) with Envoy's circuit
 * breakers, and consecutive-error outlier detection. The router asks a cluster for a host
 * (choose) and a request slot (request); see types.ts for the contract.
 *
 * Notes for callers:
 * - request()'s callback may run synchronously (overflow, or an idle pooled connection is free).
 * - HTTP/2 clusters hand the router an H2Call (h2-call.ts) in place of a ClientRequest: it drives
 *   the same way ('response', 'error', write/end/pipe, destroy), and its response is the stream
 *   dressed as an IncomingMessage, with trailers.
 * - request() and connectTcp() bind upstream connections to `localAddress` (the pod IP) when the
 *   destination is reachable from it (loopback to loopback); remote passthrough destinations are
 *   dialled unbound.
 * - Connect failures carry Envoy's transport failure reason, e.g. `delayed connect error: Connection refused`.
 */
import type { ClusterManager, ClusterManagerOptions } from './types.ts';
import { ClusterManagerImpl } from './manager.ts';

export type * from './types.ts';

/** Builds the cluster manager of one proxy. */
export function createClusterManager(opts: ClusterManagerOptions): ClusterManager {
  return new ClusterManagerImpl(opts);
}
