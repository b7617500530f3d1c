/**
 * The compiled config: plain objects, bit sets and regexes the request path reads (compile.ts
 * builds them at apply() time). Nothing here is computed per request.
 */
import type { HashPolicy, GatewayPort, InboundPort, ProxyConfig, ProxyNode, Cluster } from './model.ts';
import type { CompiledOps } from './headers.ts';
import type { CompiledMatch, CompiledString, DomainTable } from './match.ts';
import type { UpstreamCluster } from './upstream/index.ts';

/** Retry-on conditions as bits (Envoy's retry_on words). */
export const RETRY = {
  r5xx: 1,
  gatewayError: 2,
  reset: 4,
  resetBeforeRequest: 8,
  connectFailure: 16,
  retriable4xx: 32,
  refusedStream: 64,
  statusCodes: 128,
  grpcCancelled: 256,
  grpcDeadline: 512,
  grpcInternal: 1024,
  grpcResource: 2048,
  grpcUnavailable: 4096,
} as const;

/** A retry policy: conditions as RETRY bits, status codes, timing. */
export interface CompiledRetry {
  num: number;
  on: number;
  codes: ReadonlySet<number>;
  perTryMs: number;
  avoid: boolean;
  baseMs: number;
}

/** No retries (catch-all routes, TCP rules used as HTTP routes). */
export const noRetry: CompiledRetry = { num: 0, on: 0, codes: new Set(), perTryMs: 0, avoid: false, baseMs: 25 };

/** Matches every request (default routes). */
export const matchAll: CompiledMatch = { caseSensitive: true, headers: [], query: [] };

/** One weighted destination; `cluster` is bound to the live UpstreamCluster after the manager update. */
export interface CompiledDest {
  name: string;
  /** Cumulative weight up to and including this one (weighted pick by one random number). */
  cum: number;
  ops: { request: CompiledOps; response: CompiledOps };
  cluster?: UpstreamCluster;
  /** The last request-head lines of a first attempt through this destination, rendered once (upstream-request.ts headTail). */
  tail?: RenderedTail;
}

/** Pre-rendered head lines and what they were rendered from (checked on every use). */
export interface RenderedTail {
  operation: string | undefined;
  peer: string | undefined;
  text: string;
}

export interface CompiledMirror {
  name: string;
  perMillion: number;
  cluster?: UpstreamCluster;
}

export type CompiledAction =
  | {
      kind: 'route';
      dests: CompiledDest[];
      total: number;
      timeoutMs: number;
      retry: CompiledRetry;
      prefixRewrite?: string;
      regexRewrite?: { re: RegExp; sub: string };
      hostRewrite?: string;
      mirrors: CompiledMirror[];
      hash?: HashPolicy[];
      /** x-envoy-expected-rq-timeout-ms value ('' when no timeout). */
      expectedTimeout: string;
    }
  | { kind: 'redirect'; status: number; path?: string; prefixRewrite?: string; host?: string; scheme?: string; port?: number; derive?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT'; responseOps: CompiledOps }
  | { kind: 'direct'; status: number; body: string; responseOps: CompiledOps };

export interface CompiledFault {
  delayMs: number;
  delayPerMillion: number;
  abortPerMillion: number;
  abortStatus: number;
  /** gRPC status code number when the abort is a gRPC status. */
  abortGrpc?: number;
}

export interface CompiledCors {
  origins: CompiledString[];
  methods: string;
  headers: string;
  expose: string;
  maxAge: string;
  credentials: boolean;
  forwardUnmatched: boolean;
}

/** One route: matcher, action and the filters that run before it. */
export interface CompiledRoute {
  name: string | undefined;
  match: CompiledMatch;
  action: CompiledAction;
  fault?: CompiledFault;
  cors?: CompiledCors;
  operation?: string;
}

export interface CompiledVHost {
  name: string;
  routes: CompiledRoute[];
}

export interface CompiledRouteConfig {
  name: string;
  domains: DomainTable<CompiledVHost>;
}

export interface CompiledTcpRoute {
  /** [network, mask] pairs as unsigned 32-bit numbers; empty = any destination. */
  subnets: Array<[number, number]>;
  dests: CompiledDest[];
  total: number;
  /** The same destinations as an HTTP route (plain HTTP proxy requests to an opaque-TCP port). */
  http: CompiledRoute;
}

/** One TLS rule (tls-passthrough.ts): SNI names split for Envoy's precedence, subnets with their prefix lengths. */
export interface CompiledTlsRoute {
  exact: ReadonlySet<string>;
  /** `*.suffix` names as `.suffix`. */
  suffixes: readonly string[];
  /** No names (or `*`): any SNI, or none. */
  anyName: boolean;
  /** [network, mask, prefix length]; empty = any destination. */
  subnets: Array<[number, number, number]>;
  dests: CompiledDest[];
  total: number;
}

export interface CompiledOutbound {
  port: number;
  protocol: 'http' | 'tcp';
  routes?: CompiledRouteConfig;
  tcp?: Map<string, CompiledTcpRoute[]>;
  /** SNI rules per destination host (TLS ports with VirtualService tls[] rules). */
  tls?: Map<string, CompiledTlsRoute[]>;
}

export interface CompiledInbound {
  src: InboundPort;
  /** Identity of the listener: protocol and bind port; a change of either reopens it. */
  key: string;
  route: CompiledRoute;
  dest: CompiledDest;
  service?: { host: string; name: string; namespace: string };
}

export interface CompiledGateway {
  src: GatewayPort;
  key: string;
  routes?: CompiledRouteConfig;
  tcp?: CompiledTcpRoute[];
  /** TLS PASSTHROUGH servers: the SNI rules (no match closes the connection). */
  tls?: CompiledTlsRoute[];
}

/** A whole compiled config: what one apply() swaps in. */
export interface Compiled {
  version: string;
  source: ProxyConfig;
  node: ProxyNode;
  outbound: Map<number, CompiledOutbound>;
  inbound: CompiledInbound[];
  gateway: CompiledGateway[];
  routeConfigs: Map<string, CompiledRouteConfig>;
  /** Clusters handed to the manager: the config's plus synthesized inbound, passthrough and blackhole ones. */
  clusters: Record<string, Cluster>;
  allowAny: boolean;
  accessLog: boolean;
  /** This proxy's x-skiff-peer value. */
  peer: string;
  /** The allow_any route (PassthroughCluster, no timeout, no retries). */
  passthrough: CompiledRoute;
  /** Every destination and mirror, for binding to live clusters. */
  bindings: Array<CompiledDest | CompiledMirror>;
  /** Those of `bindings` this compile made; the others came with reused parts. */
  fresh: Array<CompiledDest | CompiledMirror>;
  /** Compiled parts by source object, reused by the next compile when a delta leaves them as they are. */
  parts?: Map<object, { value: unknown; bindings: Array<CompiledDest | CompiledMirror> }>;
}

/** Envoy/Istio names of the catch-all clusters. */
export const passthroughName = 'PassthroughCluster';
export const blackholeName = 'BlackHoleCluster';
