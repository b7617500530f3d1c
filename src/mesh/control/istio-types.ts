/**
 * The parts of the Istio networking API (VirtualService, DestinationRule, Gateway, ServiceEntry,
 * Sidecar) the translation reads, as TypeScript shapes. Objects were validated against the CRD
 * schemas at the API boundary (src/mesh/config), so these types describe trusted input; only
 * optional fields are checked.
 */

export interface StringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

export interface Percent {
  value?: number;
}

export interface PortSelector {
  number?: number;
}

export interface Destination {
  host: string;
  subset?: string;
  port?: PortSelector;
}

export interface HeaderOpsSpec {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}

export interface HeadersSpec {
  request?: HeaderOpsSpec;
  response?: HeaderOpsSpec;
}

export interface HTTPMatchRequest {
  name?: string;
  uri?: StringMatch;
  scheme?: StringMatch;
  method?: StringMatch;
  authority?: StringMatch;
  headers?: Record<string, StringMatch>;
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
  queryParams?: Record<string, StringMatch>;
  ignoreUriCase?: boolean;
  withoutHeaders?: Record<string, StringMatch>;
  sourceNamespace?: string;
  statPrefix?: string;
}

export interface HTTPRouteDestination {
  destination?: Destination;
  weight?: number;
  headers?: HeadersSpec;
}

export interface HTTPRetry {
  attempts?: number;
  perTryTimeout?: string;
  retryOn?: string;
  retryRemoteLocalities?: boolean;
  retryIgnorePreviousHosts?: boolean;
  backoff?: string;
}

export interface HTTPFaultInjection {
  delay?: { fixedDelay?: string; exponentialDelay?: string; percentage?: Percent; percent?: number };
  abort?: { httpStatus?: number; grpcStatus?: string; http2Error?: string; percentage?: Percent };
}

export interface CorsPolicySpec {
  allowOrigins?: StringMatch[];
  allowOrigin?: string[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: string;
  allowCredentials?: boolean;
  unmatchedPreflights?: 'UNSPECIFIED' | 'FORWARD' | 'IGNORE';
}

export interface HTTPRoute {
  name?: string;
  match?: HTTPMatchRequest[];
  route?: HTTPRouteDestination[];
  redirect?: {
    uri?: string;
    authority?: string;
    port?: number;
    derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT';
    scheme?: string;
    redirectCode?: number;
  };
  directResponse?: { status: number; body?: { string?: string; bytes?: string } };
  delegate?: { name?: string; namespace?: string };
  rewrite?: { uri?: string; authority?: string; uriRegexRewrite?: { match?: string; rewrite?: string } };
  timeout?: string;
  retries?: HTTPRetry;
  fault?: HTTPFaultInjection;
  mirror?: Destination;
  mirrorPercent?: number;
  mirrorPercentage?: Percent;
  mirrors?: Array<{ destination?: Destination; percentage?: Percent }>;
  corsPolicy?: CorsPolicySpec;
  headers?: HeadersSpec;
}

export interface L4MatchAttributes {
  destinationSubnets?: string[];
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
  sourceNamespace?: string;
}

export interface TCPRoute {
  match?: L4MatchAttributes[];
  route?: Array<{ destination?: Destination; weight?: number }>;
}

/** L4 match attributes of a `tls[]` rule: SNI names (required by validation) plus the static filters. */
export interface TLSMatchAttributes {
  sniHosts?: string[];
  destinationSubnets?: string[];
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
  sourceNamespace?: string;
}

export interface TLSRoute {
  match?: TLSMatchAttributes[];
  route?: Array<{ destination?: Destination; weight?: number }>;
}

export interface VirtualServiceSpec {
  hosts?: string[];
  gateways?: string[];
  http?: HTTPRoute[];
  tcp?: TCPRoute[];
  tls?: TLSRoute[];
  exportTo?: string[];
}

export interface ConsistentHashSpec {
  httpHeaderName?: string;
  httpCookie?: { name: string; path?: string; ttl?: string };
  useSourceIp?: boolean;
  httpQueryParameterName?: string;
  ringHash?: { minimumRingSize?: number };
  maglev?: { tableSize?: number };
  minimumRingSize?: number;
}

export interface LoadBalancerSpec {
  simple?: 'UNSPECIFIED' | 'LEAST_CONN' | 'RANDOM' | 'PASSTHROUGH' | 'ROUND_ROBIN' | 'LEAST_REQUEST';
  consistentHash?: ConsistentHashSpec;
}

export interface ConnectionPoolSpec {
  tcp?: { maxConnections?: number; connectTimeout?: string; idleTimeout?: string; maxConnectionDuration?: string };
  http?: {
    http1MaxPendingRequests?: number;
    http2MaxRequests?: number;
    maxRequestsPerConnection?: number;
    maxRetries?: number;
    idleTimeout?: string;
    h2UpgradePolicy?: 'DEFAULT' | 'DO_NOT_UPGRADE' | 'UPGRADE';
  };
}

export interface OutlierDetectionSpec {
  splitExternalLocalOriginErrors?: boolean;
  consecutiveLocalOriginFailures?: number;
  consecutiveGatewayErrors?: number;
  consecutive5xxErrors?: number;
  interval?: string;
  baseEjectionTime?: string;
  maxEjectionPercent?: number;
  minHealthPercent?: number;
}

/** The components a policy level may set (the DR level, a subset, a port-level entry). */
export interface PolicyComponents {
  loadBalancer?: LoadBalancerSpec;
  connectionPool?: ConnectionPoolSpec;
  outlierDetection?: OutlierDetectionSpec;
  tls?: Record<string, unknown>;
}

export interface TrafficPolicySpec extends PolicyComponents {
  portLevelSettings?: Array<PolicyComponents & { port?: PortSelector }>;
}

export interface SubsetSpec {
  name: string;
  labels?: Record<string, string>;
  trafficPolicy?: TrafficPolicySpec;
}

export interface DestinationRuleSpec {
  host: string;
  trafficPolicy?: TrafficPolicySpec;
  subsets?: SubsetSpec[];
  exportTo?: string[];
  workloadSelector?: { matchLabels?: Record<string, string> };
}

export interface GatewayServerSpec {
  port: { number: number; protocol?: string; name?: string; targetPort?: number };
  hosts?: string[];
  bind?: string;
  name?: string;
  tls?: { httpsRedirect?: boolean; mode?: string };
}

export interface GatewaySpec {
  selector?: Record<string, string>;
  servers?: GatewayServerSpec[];
}

export interface ServiceEntrySpec {
  hosts?: string[];
  addresses?: string[];
  ports?: Array<{ number: number; protocol?: string; name?: string; targetPort?: number }>;
  location?: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  resolution?: 'NONE' | 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN' | 'DYNAMIC_DNS';
  endpoints?: Array<{ address?: string; ports?: Record<string, number>; labels?: Record<string, string>; weight?: number; serviceAccount?: string }>;
  workloadSelector?: { labels?: Record<string, string> };
  exportTo?: string[];
}

export interface SidecarSpec {
  workloadSelector?: { labels?: Record<string, string> };
  egress?: Array<{ port?: { number?: number }; hosts?: string[] }>;
  outboundTrafficPolicy?: { mode?: 'ALLOW_ANY' | 'REGISTRY_ONLY' };
}
