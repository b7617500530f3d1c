/**
 * The proxy configuration model: what the control plane computes per proxy and streams to it, and
 * what the proxy compiles once into matchers and policies (DESIGN §1 rule 4). It follows Envoy's
 * shape (listeners → route configs → virtual hosts → routes → clusters → endpoints) in plain JSON,
 * with Istio's translation already applied: short names expanded, defaults filled, percentages as
 * fractions, durations in milliseconds. The proxy never looks at Istio objects.
 *
 * Names follow Envoy/Istio so users can read them: clusters `outbound|9080|v1|reviews.ns.svc.cluster.local`,
 * `inbound|9080||`, `PassthroughCluster`, `BlackHoleCluster`; route configs by port (`9080`) or
 * `http.8080` on gateways; virtual hosts `reviews.ns.svc.cluster.local:9080`.
 */

/** Who the proxy is: the workload it fronts (telemetry labels, access log, source matching). */
export interface ProxyNode {
  /** `sidecar~<podIP>~<pod>.<ns>~<ns>.svc.cluster.local`, or `router~…` for gateways. */
  id: string;
  kind: 'sidecar' | 'gateway';
  namespace: string;
  pod: string;
  /** The pod IP: where the proxy's listeners bind, and the source address of its upstream connections. */
  podIP: string;
  /** Sidecars: the address the app containers listen on (inbound traffic is forwarded there). */
  appIP?: string;
  labels: Record<string, string>;
  serviceAccount: string;
  /** The owning workload's name (the Deployment, else the pod), as istio_* `*_workload` labels. */
  workload: string;
  /** `app` / `app.kubernetes.io/name` label, else `unknown` ... as Istio's canonical service rules. */
  app: string;
  version: string;
  canonicalService: string;
  canonicalRevision: string;
  /** `spiffe://cluster.local/ns/<ns>/sa/<sa>`. */
  principal: string;
}

/** What a peer looks like in telemetry (the destination workload of an endpoint). */
export interface WorkloadMeta {
  workload: string;
  namespace: string;
  app: string;
  version: string;
  canonicalService: string;
  canonicalRevision: string;
  principal: string;
  /** True when the peer runs a sidecar (it reports `reporter=destination` itself). */
  meshed: boolean;
}

/** A string matcher (Istio StringMatch after translation). `regex` is a full-string match (RE2 semantics; JS RegExp anchored). */
export type StringMatcher = { exact: string } | { prefix: string } | { regex: string };

/**
 * A header matcher. `name` is lowercase; pseudo-headers `:authority`, `:method`, `:scheme`, `:path`
 * are matched on the request's authority (with port), method, scheme ('http'|'https') and path.
 * `present: true` = header must exist; `invert` flips the result (withoutHeaders). A missing header
 * with a value matcher matches only when inverted (Istio: "missing or not equal").
 */
export interface HeaderMatcher {
  name: string;
  match?: StringMatcher;
  present?: boolean;
  invert?: boolean;
}

/** A query parameter matcher: `present` = key present; `exact: ''` = present with an empty value. */
export interface QueryMatcher {
  name: string;
  match?: StringMatcher;
  present?: boolean;
}

/** How a route matches a request. Empty = matches everything. */
export interface RouteMatch {
  /** Path match on the path without the query string. */
  path?: StringMatcher;
  /** False when Istio's ignoreUriCase was set (exact/prefix compare lowercased; regex unaffected). */
  caseSensitive?: boolean;
  headers?: HeaderMatcher[];
  query?: QueryMatcher[];
}

/** A fraction of requests, as Envoy's FractionalPercent with denominator MILLION (value * 10000, truncated). */
export type PerMillion = number;

export interface HeaderOps {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}

export interface HeaderMutation {
  request?: HeaderOps;
  response?: HeaderOps;
}

/** One weighted destination of a route. */
export interface WeightedCluster {
  /** Cluster name; may name a cluster that does not exist (503 NC at request time, as `validate_clusters: false`). */
  cluster: string;
  weight: number;
  headers?: HeaderMutation;
}

export interface RetryPolicy {
  /** Number of retries (max attempts = 1 + numRetries). 0 = off. */
  numRetries: number;
  /** Envoy retry_on words: 5xx, gateway-error, reset, reset-before-request, connect-failure, retriable-4xx, refused-stream, retriable-status-codes, ... */
  retryOn: string[];
  retriableStatusCodes?: number[];
  perTryTimeoutMs?: number;
  /** Retries avoid hosts already tried (previous_hosts predicate, 5 host selection attempts). */
  retryIgnorePreviousHosts: boolean;
  /** Backoff base (Envoy default 25 ms); fully jittered exponential capped at 10 × base. */
  backoffBaseMs: number;
}

export interface FaultPolicy {
  delay?: { fixedDelayMs: number; perMillion: PerMillion };
  abort?: { httpStatus?: number; grpcStatus?: string; perMillion: PerMillion };
}

export interface MirrorPolicy {
  cluster: string;
  perMillion: PerMillion;
}

export interface CorsPolicy {
  allowOrigins: StringMatcher[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: string;
  allowCredentials?: boolean;
  /** FORWARD (default) or IGNORE unmatched preflights. */
  unmatchedPreflights?: 'FORWARD' | 'IGNORE';
}

/** Consistent-hash key, set on the route (HTTP) from the destination's DestinationRule. */
export type HashPolicy =
  | { header: string }
  | { cookie: { name: string; path?: string; ttlMs?: number } }
  | { sourceIp: true }
  | { queryParameter: string };

export type RouteAction =
  | {
      kind: 'route';
      clusters: WeightedCluster[];
      /** Route timeout covering all retries; 0 = none (Istio's default). */
      timeoutMs: number;
      retry: RetryPolicy;
      /** Replaces the matched prefix (Istio rewrite.uri → prefix_rewrite). */
      prefixRewrite?: string;
      regexRewrite?: { pattern: string; substitution: string };
      /** Host/authority rewrite. */
      hostRewrite?: string;
      mirrors?: MirrorPolicy[];
      hashPolicy?: HashPolicy[];
    }
  | {
      kind: 'redirect';
      /** Whole-path replacement, or prefix replacement. */
      path?: string;
      prefixRewrite?: string;
      host?: string;
      scheme?: string;
      port?: number;
      /** FROM_PROTOCOL_DEFAULT or FROM_REQUEST_PORT. */
      derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT';
      responseCode: number;
    }
  | { kind: 'direct'; status: number; body?: string };

export interface Route {
  /** `<http.name>.<match.name>`, `default`, or undefined: %ROUTE_NAME% in access logs. */
  name?: string;
  match: RouteMatch;
  action: RouteAction;
  headers?: HeaderMutation;
  fault?: FaultPolicy;
  cors?: CorsPolicy;
  /** x-envoy-decorator-operation value. */
  operation?: string;
}

export interface VirtualHost {
  name: string;
  /** Exact names, `*.suffix`, `prefix.*` or `*`; lowercase, no port (ports in Host are ignored). */
  domains: string[];
  routes: Route[];
}

/** HTTP routes for one port (sidecar outbound) or one gateway server port. */
export interface RouteConfig {
  name: string;
  virtualHosts: VirtualHost[];
}

/** TCP routing of one service port: first matching rule wins; weights pick a cluster per connection. */
export interface TcpRoute {
  /** Destination subnets (CIDR) the connection's original destination must be in; empty = any. */
  destinationSubnets?: string[];
  clusters: WeightedCluster[];
}

/**
 * TLS passthrough routing of one service port or gateway server (VirtualService `tls[]`, Envoy
 * filter chains matched on SNI): the connection's ClientHello is peeked, never decrypted. Envoy's
 * precedence: the most specific destination subnet, then an exact SNI name, then the longest
 * `*.suffix`, then a rule without names; the first rule wins ties.
 */
export interface TlsRoute {
  /** Lowercase SNI names, exact or `*.suffix`; empty (or `*`) = any SNI, or none. */
  sniHosts: string[];
  /** Destination subnets (CIDR) the connection's original destination must be in; empty = any. */
  destinationSubnets?: string[];
  clusters: WeightedCluster[];
}

/** One upstream endpoint. */
export interface Endpoint {
  address: string;
  port: number;
  /** Pod labels, for subsets already applied; kept for the admin view. */
  labels?: Record<string, string>;
  weight?: number;
  /** False: not ready (excluded from balancing, listed in the admin view). */
  ready: boolean;
  /** Telemetry of the destination workload; undefined for ServiceEntry/external endpoints. */
  workload?: WorkloadMeta;
}

export interface CircuitBreakers {
  /** All default to 2^32−1 as Istio sets them. */
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
}

export interface OutlierDetection {
  consecutive5xx: number;
  enforcingConsecutive5xx: number;
  consecutiveGatewayFailure: number;
  enforcingConsecutiveGatewayFailure: number;
  consecutiveLocalOriginFailure: number;
  splitExternalLocalOriginErrors: boolean;
  intervalMs: number;
  baseEjectionTimeMs: number;
  /** Default max(300 s, base). */
  maxEjectionTimeMs: number;
  maxEjectionPercent: number;
}

export type LbPolicy = 'LEAST_REQUEST' | 'ROUND_ROBIN' | 'RANDOM' | 'RING_HASH' | 'MAGLEV' | 'PASSTHROUGH';

export interface Cluster {
  name: string;
  /** eds: endpoints listed; passthrough: the original destination (ORIGINAL_DST); blackhole: always refuses. */
  type: 'eds' | 'passthrough' | 'blackhole';
  /** The service this cluster belongs to, for telemetry (`destination_service*`). */
  service?: { host: string; name: string; namespace: string; port: number };
  subset?: string;
  protocol: 'http1' | 'http2' | 'tcp';
  endpoints: Endpoint[];
  lbPolicy: LbPolicy;
  ringHash?: { minimumRingSize: number };
  maglev?: { tableSize: number };
  connectTimeoutMs: number;
  circuitBreakers: CircuitBreakers;
  /** 0 = unlimited; 1 disables keep-alive. */
  maxRequestsPerConnection: number;
  idleTimeoutMs: number;
  outlierDetection?: OutlierDetection;
  /** healthy_panic_threshold in percent (Istio: minHealthPercent when outlierDetection is set, else Envoy's 50). */
  healthyPanicThreshold: number;
}

/** Sidecar outbound: what the proxy does for one destination port (the HTTP_PROXY listener demultiplexes by port). */
export interface OutboundPort {
  port: number;
  protocol: 'http' | 'tcp';
  /** protocol http: the route config name (the port number as a string). */
  routeConfig?: string;
  /** protocol tcp: per destination host (FQDN, short names and cluster IP all listed as keys), the TCP rules. */
  tcp?: Record<string, TcpRoute[]>;
  /**
   * Optional, TLS ports: per destination host (keys as `tcp`), SNI rules that take the host's
   * CONNECT tunnels instead of `tcp`; a ClientHello no rule matches closes the connection (Envoy:
   * no filter chain match). Hosts without an entry are plain TCP through `tcp`.
   */
  tls?: Record<string, TlsRoute[]>;
}

/** Sidecar inbound: one workload port. */
export interface InboundPort {
  /** The container port the workload serves (what Services target). */
  port: number;
  /** Where the proxy listens for it: `<podIP>:<bindPort>` (bindPort differs from port for privileged ports). */
  bindPort: number;
  /** Where the app listens: `<appIP>:<appPort>`. */
  appPort: number;
  protocol: 'http' | 'tcp';
  /** `inbound|<port>||`. */
  cluster: string;
  /** Services selecting this pod on this port, for `destination_service*` labels (first is used). */
  services: Array<{ host: string; name: string; namespace: string }>;
}

/** A gateway listener: one server port of the Gateways selecting this proxy. */
export interface GatewayPort {
  /** The port clients reach (the Gateway server port, e.g. 80). */
  port: number;
  /** Where the proxy binds (`<podIP>:<bindPort>`), the pod's targetPort (8080 for 80). */
  bindPort: number;
  protocol: 'http' | 'tcp';
  routeConfig?: string;
  tcp?: TcpRoute[];
  /** Optional, protocol tcp: TLS PASSTHROUGH servers route by SNI (TLS rules replace `tcp`); no match closes the connection. */
  tls?: TlsRoute[];
  /** httpsRedirect servers answer 301 to https. */
  httpsRedirect?: boolean;
}

export interface AccessLogConfig {
  /** Write Istio's default TEXT format lines to stdout. */
  enabled: boolean;
}

export interface TracingConfig {
  /** Where spans go (OTLP/HTTP or Zipkin JSON endpoint); absent = no spans reported. */
  collector?: { kind: 'zipkin' | 'otlp'; url: string };
  /** Per million sampled when the proxy starts a trace. */
  samplingPerMillion: PerMillion;
}

/** Everything one proxy needs. */
export interface ProxyConfig {
  node: ProxyNode;
  /** Sidecar: destination ports it knows (keyed by port number as string). */
  outbound: Record<string, OutboundPort>;
  /** Sidecar: workload ports. */
  inbound: InboundPort[];
  /** Gateway: server ports. */
  gateway: GatewayPort[];
  routes: Record<string, RouteConfig>;
  clusters: Record<string, Cluster>;
  /** ALLOW_ANY: unknown hosts pass through to their address (PassthroughCluster); REGISTRY_ONLY: 502 (BlackHoleCluster). */
  outboundTrafficPolicy: 'ALLOW_ANY' | 'REGISTRY_ONLY';
  accessLog: AccessLogConfig;
  tracing: TracingConfig;
}

/** 2^32−1: Istio's value for every circuit-breaker limit it does not set. */
export const MAX_U32 = 4294967295;

/**
 * True when two lists hold the same items (===) in the same order. Both ends compare config parts
 * this way: a delta keeps what it did not change as the same object (the proxy), and informers keep
 * an unchanged object as it was (the control plane).
 */
export function sameList(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The proxy's well-known ports (as Istio's): admin, outbound capture, stats/agent, health, Envoy Prometheus. */
export const proxyPorts = {
  admin: 15000,
  outbound: 15001,
  inbound: 15006,
  agent: 15020,
  health: 15021,
  prometheus: 15090,
} as const;
