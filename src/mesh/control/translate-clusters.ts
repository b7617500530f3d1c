/**
 * Clusters and their DestinationRule policy (§3): which rule applies (push_context destinationRule:
 * client namespace → service namespace → root namespace), how subset and port-level policies
 * combine (util MergeSubsetTrafficPolicy), and the Envoy settings Istio derives from them
 * (cluster_traffic_policy.go applyConnectionPool, applyOutlierDetection, applyLoadBalancer).
 */
import { MAX_U32, type Cluster, type Endpoint, type HashPolicy, type LbPolicy, type OutlierDetection } from '../proxy/model.ts';
import { durationMs, labelsMatch, mostSpecific, visibleTo } from './hosts.ts';
import type { ConsistentHashSpec, OutlierDetectionSpec, PolicyComponents, SubsetSpec, TrafficPolicySpec } from './istio-types.ts';
import type { CompiledDestination } from './routes-compile.ts';
import { outboundCluster } from './translate-routes.ts';
import type { DrTable, MergedDr } from './destination-rules.ts';
import type { MeshIndex, MeshService, ServicePort } from './world.ts';

/** Envoy/Istio cluster defaults not taken from the mesh config. */
export const clusterDefaults = {
  idleTimeoutMs: 3600000,
  healthyPanicThreshold: 50,
  ringSize: 1024,
  maglevTableSize: 65537,
  outlier: { consecutive: 5, intervalMs: 10000, baseEjectionTimeMs: 30000, maxEjectionPercent: 10, maxEjectionTimeMs: 300000 },
} as const;

/** The rule of a level that applies to this proxy: a matching workloadSelector rule of its namespace first, else the catch-all one. */
function chooseRule(list: MergedDr[], clientNs: string, labels: Record<string, string>): MergedDr | undefined {
  let catchAll: MergedDr | undefined;
  for (const d of list) {
    if (!d.selector) catchAll ??= d;
    else if (d.namespace === clientNs && labelsMatch(d.selector, labels)) return d;
  }
  return catchAll;
}

function exportedFrom(table: DrTable | undefined, host: string, clientNs: string): MergedDr[] | undefined {
  if (!table) return undefined;
  const list = mostSpecific(host, table.exact, table.wild)?.filter((d) => visibleTo(d.exportTo, clientNs));
  return list?.length ? list : undefined;
}

/** The DestinationRule a proxy in `clientNs` uses for `svc` (§3.1): first level with a host match wins, no merging across levels. */
export function lookupDr(index: MeshIndex, clientNs: string, svc: MeshService, labels: Record<string, string>): MergedDr | undefined {
  const local = clientNs === index.mesh.rootNamespace ? index.drRootLocal : index.drLocal.get(clientNs);
  const own = local && mostSpecific(svc.host, local.exact, local.wild);
  if (own) return chooseRule(own, clientNs, labels);
  const list = exportedFrom(index.drExported.get(svc.namespace), svc.host, clientNs) ?? exportedFrom(index.drExported.get(index.mesh.rootNamespace), svc.host, clientNs);
  return list && chooseRule(list, clientNs, labels);
}

/** A policy for one port: a matching port-level entry replaces the whole policy (GetPortLevelTrafficPolicy). */
function forPort(policy: TrafficPolicySpec | undefined, port: number): { policy?: PolicyComponents; portLevel: boolean } {
  const pls = policy?.portLevelSettings?.find((p) => p.port?.number === port);
  return pls ? { policy: pls, portLevel: true } : { policy, portLevel: false };
}

/** The effective policy of a cluster (MergeSubsetTrafficPolicy): subset components replace the rule's whole components. */
export function effectivePolicy(dr: MergedDr | undefined, subset: SubsetSpec | undefined, port: number): PolicyComponents | undefined {
  const base = forPort(dr?.trafficPolicy, port).policy;
  if (!subset?.trafficPolicy) return base;
  const sub = forPort(subset.trafficPolicy, port);
  if (!base) return sub.policy;
  const s = sub.policy ?? {};
  return {
    loadBalancer: s.loadBalancer || sub.portLevel ? s.loadBalancer : base.loadBalancer,
    connectionPool: s.connectionPool || sub.portLevel ? s.connectionPool : base.connectionPool,
    outlierDetection: s.outlierDetection || sub.portLevel ? s.outlierDetection : base.outlierDetection,
    tls: s.tls || sub.portLevel ? s.tls : base.tls,
  };
}

/** Outlier detection with Envoy's defaults for what Istio leaves unset (§3.5). */
function outlier(o: OutlierDetectionSpec): OutlierDetection {
  const d = clusterDefaults.outlier;
  const base = durationMs(o.baseEjectionTime) ?? d.baseEjectionTimeMs;
  const enforce = (v: number | undefined, dflt: number) => (v === undefined ? dflt : v > 0 ? 100 : 0);
  return {
    consecutive5xx: o.consecutive5xxErrors ?? d.consecutive,
    enforcingConsecutive5xx: enforce(o.consecutive5xxErrors, 100),
    consecutiveGatewayFailure: o.consecutiveGatewayErrors ?? d.consecutive,
    // Unset: Envoy counts gateway failures but enforces 0 %, i.e. off.
    enforcingConsecutiveGatewayFailure: enforce(o.consecutiveGatewayErrors, 0),
    consecutiveLocalOriginFailure: o.splitExternalLocalOriginErrors && (o.consecutiveLocalOriginFailures ?? 0) > 0 ? o.consecutiveLocalOriginFailures! : d.consecutive,
    splitExternalLocalOriginErrors: !!o.splitExternalLocalOriginErrors,
    intervalMs: durationMs(o.interval) ?? d.intervalMs,
    baseEjectionTimeMs: base,
    maxEjectionTimeMs: Math.max(d.maxEjectionTimeMs, base),
    maxEjectionPercent: (o.maxEjectionPercent ?? 0) > 0 ? o.maxEjectionPercent! : d.maxEjectionPercent,
  };
}

/** The hash policy of a consistent-hash load balancer (consistentHashToHashPolicy). */
export function hashPolicyOf(c: ConsistentHashSpec | undefined): HashPolicy | undefined {
  if (!c) return undefined;
  if (c.httpHeaderName) return { header: c.httpHeaderName.toLowerCase() };
  if (c.httpCookie) {
    const cookie: { name: string; path?: string; ttlMs?: number } = { name: c.httpCookie.name };
    if (c.httpCookie.path) cookie.path = c.httpCookie.path;
    const ttl = durationMs(c.httpCookie.ttl);
    if (ttl !== undefined) cookie.ttlMs = ttl;
    return { cookie };
  }
  if (c.useSourceIp) return { sourceIp: true };
  if (c.httpQueryParameterName) return { queryParameter: c.httpQueryParameterName };
  return undefined;
}

/** The hash policy of an HTTP destination (hashForHTTPDestination): subset port-level, subset, port-level, rule level. */
export function destinationHash(dr: MergedDr | undefined, dest: CompiledDestination): HashPolicy | undefined {
  const tp = dr?.trafficPolicy;
  let hash = tp?.loadBalancer?.consistentHash;
  const atPort = (p: TrafficPolicySpec | undefined) => (dest.port ? p?.portLevelSettings?.find((s) => s.port?.number === dest.port)?.loadBalancer?.consistentHash : undefined);
  const subset = dest.subset ? dr?.subsets.find((s) => s.name === dest.subset) : undefined;
  hash = atPort(subset?.trafficPolicy) ?? subset?.trafficPolicy?.loadBalancer?.consistentHash ?? atPort(tp) ?? hash;
  return hashPolicyOf(hash);
}

/** The hash policy of a service's default route (hashForService): the rule level, or the port-level one for that port. */
export function serviceHash(dr: MergedDr | undefined, port: number): HashPolicy | undefined {
  const tp = dr?.trafficPolicy;
  const pls = tp?.portLevelSettings?.find((s) => s.port?.number === port)?.loadBalancer?.consistentHash;
  return hashPolicyOf(pls ?? tp?.loadBalancer?.consistentHash);
}

function protocolOf(port: ServicePort, policy: PolicyComponents | undefined): Cluster['protocol'] {
  if (port.protocol === 'tcp' || port.protocol === 'tls') return 'tcp';
  const upgrade = policy?.connectionPool?.http?.h2UpgradePolicy;
  if (port.protocol === 'http2' || upgrade === 'UPGRADE') return 'http2';
  return 'http1';
}

/** Builds (or reuses) the cluster of one service port and optional subset under its DestinationRule. */
export function serviceCluster(index: MeshIndex, svc: MeshService, port: ServicePort, subset: SubsetSpec | undefined, dr: MergedDr | undefined): Cluster {
  const name = outboundCluster(port.port, subset?.name, svc.host);
  // Clusters only depend on the service, the port, the subset and the rule: proxies resolving to the same rule share them.
  const memo = dr?.memo ?? index.memo;
  const key = `cluster\0${svc.namespace}\0${name}`;
  const hit = memo.get(key) as Cluster | undefined;
  if (hit) return hit;
  const policy = effectivePolicy(dr, subset, port.port);
  const cp = policy?.connectionPool;
  const lb = policy?.loadBalancer;
  const passthrough = svc.passthrough || lb?.simple === 'PASSTHROUGH';
  let endpoints: Endpoint[] = passthrough ? [] : (svc.endpoints.get(port.port) ?? []);
  if (subset?.labels && !passthrough) endpoints = endpoints.filter((e) => labelsMatch(subset.labels, e.labels ?? {}));
  let lbPolicy: LbPolicy = 'LEAST_REQUEST';
  if (passthrough) lbPolicy = 'PASSTHROUGH';
  else if (lb?.consistentHash) lbPolicy = lb.consistentHash.maglev ? 'MAGLEV' : 'RING_HASH';
  else if (lb?.simple === 'RANDOM') lbPolicy = 'RANDOM';
  else if (lb?.simple === 'ROUND_ROBIN') lbPolicy = 'ROUND_ROBIN';
  const c: Cluster = {
    name,
    type: passthrough ? 'passthrough' : 'eds',
    service: { host: svc.host, name: svc.name, namespace: svc.namespace, port: port.port },
  } as Cluster;
  if (subset) c.subset = subset.name;
  c.protocol = protocolOf(port, policy);
  c.endpoints = endpoints;
  c.lbPolicy = lbPolicy;
  if (lbPolicy === 'RING_HASH') c.ringHash = { minimumRingSize: lb!.consistentHash!.ringHash?.minimumRingSize || lb!.consistentHash!.minimumRingSize || clusterDefaults.ringSize };
  if (lbPolicy === 'MAGLEV') c.maglev = { tableSize: lb!.consistentHash!.maglev?.tableSize || clusterDefaults.maglevTableSize };
  c.connectTimeoutMs = durationMs(cp?.tcp?.connectTimeout) ?? index.mesh.connectTimeoutMs;
  // Istio writes 2^32−1 for every limit the rule leaves unset (or sets to 0).
  const pos = (v: number | undefined) => (v && v > 0 ? v : MAX_U32);
  c.circuitBreakers = {
    maxConnections: pos(cp?.tcp?.maxConnections),
    maxPendingRequests: pos(cp?.http?.http1MaxPendingRequests),
    maxRequests: pos(cp?.http?.http2MaxRequests),
    maxRetries: pos(cp?.http?.maxRetries),
  };
  c.maxRequestsPerConnection = Math.max(0, cp?.http?.maxRequestsPerConnection ?? 0);
  c.idleTimeoutMs = durationMs(cp?.http?.idleTimeout) ?? durationMs(cp?.tcp?.idleTimeout) ?? clusterDefaults.idleTimeoutMs;
  if (policy?.outlierDetection) {
    c.outlierDetection = outlier(policy.outlierDetection);
    // Istio disables the panic threshold (minHealthPercent, default 0) whenever outlier detection is set.
    c.healthyPanicThreshold = Math.max(0, policy.outlierDetection.minHealthPercent ?? 0);
  } else {
    c.healthyPanicThreshold = clusterDefaults.healthyPanicThreshold;
  }
  memo.set(key, c);
  return c;
}

/** Adds the clusters of a service for a proxy: one per port, plus one per port and subset of its DestinationRule. */
export function addServiceClusters(out: Record<string, Cluster>, index: MeshIndex, svc: MeshService, clientNs: string, labels: Record<string, string>): void {
  const dr = lookupDr(index, clientNs, svc, labels);
  const memo = dr?.memo ?? (index.memo as Map<string, unknown>);
  const key = `clusters\0${svc.namespace}\0${svc.host}`;
  let list = memo.get(key) as Cluster[] | undefined;
  if (!list) {
    list = [];
    for (const port of svc.ports) {
      list.push(serviceCluster(index, svc, port, undefined, dr));
      for (const subset of dr?.subsets ?? []) list.push(serviceCluster(index, svc, port, subset, dr));
    }
    memo.set(key, list);
  }
  for (const c of list) out[c.name] ??= c;
}

/** The catch-all clusters every proxy has: PassthroughCluster (original destination) and BlackHoleCluster. */
export function catchAllClusters(index: MeshIndex): Cluster[] {
  const common = {
    endpoints: [],
    connectTimeoutMs: index.mesh.connectTimeoutMs,
    circuitBreakers: { maxConnections: MAX_U32, maxPendingRequests: MAX_U32, maxRequests: MAX_U32, maxRetries: MAX_U32 },
    maxRequestsPerConnection: 0,
    idleTimeoutMs: clusterDefaults.idleTimeoutMs,
    healthyPanicThreshold: clusterDefaults.healthyPanicThreshold,
  };
  return [
    // HTTP requests through the passthrough go out as HTTP/1.1; TCP connections are piped whatever the protocol says.
    { name: 'PassthroughCluster', type: 'passthrough', protocol: 'http1', lbPolicy: 'PASSTHROUGH', ...common },
    { name: 'BlackHoleCluster', type: 'blackhole', protocol: 'tcp', lbPolicy: 'PASSTHROUGH', ...common },
  ];
}
