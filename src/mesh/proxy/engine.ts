/**
 * What listeners and the request path share with the Proxy that owns them: the live config
 * snapshot (swapped atomically by apply()), stats, clock, randomness and log sinks. A request
 * reads `engine.live` once when it starts and uses that snapshot to the end, so a config swap
 * never changes a request half-way.
 */
import type http from 'node:http';
import type { Compiled, CompiledGateway, CompiledInbound } from './compile.ts';
import type { PeerCache } from './peer.ts';
import type { ProxyStats, StatsScope } from './stats.ts';
import type { TraceReporter } from './trace-reporter.ts';

/** One applied config with its stats scopes. */
export interface Live {
  cfg: Compiled;
  /** reporter="source" (sidecar outbound, gateways). */
  source: StatsScope;
  /** reporter="destination" (sidecar inbound). */
  destination: StatsScope;
}

/** The proxy internals listeners and requests use. */
export interface Engine {
  live: Live | undefined;
  readonly stats: ProxyStats;
  readonly peers: PeerCache;
  /** Span reporting (trace-reporter.ts), configured by each applied config. */
  readonly tracer: TraceReporter;
  readonly podIP: string;
  readonly appIP: string | undefined;
  now(): number;
  random(): number;
  /** Writes one access-log line. */
  log(line: string): void;
  /** Answers a request for the proxy's own admin/agent/health port in-process; false when `port` is none of them. */
  serveLocal(port: number, req: http.IncomingMessage, res: http.ServerResponse, path: string): boolean;
}

/** One listener's view: what kind of traffic it carries and how it answers. */
export interface ListenerCtx {
  kind: 'outbound' | 'inbound' | 'gateway';
  engine: Engine;
  /** `server` response header: `envoy` on sidecar outbound, `istio-envoy` on inbound and gateways. */
  server: string;
  /** Request headers this listener rewrites itself (headers.ts ownedRequestHeaders). */
  owned: ReadonlySet<string>;
  /** Inbound listeners: their port plan, replaced in place when a config keeps the listener. */
  inbound?: CompiledInbound;
  gateway?: CompiledGateway;
  /** True once the listener drains: responses close their connections. */
  draining: boolean;
}
