/**
 * The proxy's upstream side: per-cluster load balancing (Envoy's LEAST_REQUEST P2C, ROUND_ROBIN,
 * RANDOM, RING_HASH, MAGLEV, ORIGINAL_DST passthrough), HTTP/1.1 connection pools with Envoy's
 * circuit breakers, and consecutive-error outlier detection. The router asks a cluster for a host
 * (choose) and a request slot (request); see types.ts for the contract.
 *
 * Notes for callers:
 * - request()'s callback may run synchronously (overflow, or an idle pooled connection is free).
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
