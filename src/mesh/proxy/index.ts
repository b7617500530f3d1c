/**
 * Skiff's data-plane proxy engine (DESIGN §4): one library for the per-pod sidecar and the ingress
 * gateway. The `skiff proxy` process creates a Proxy, starts it, and feeds it configs from the
 * control plane through apply() (ACK on success, NACK with the ProxyConfigError message).
 *
 * Protocols:
 * - HTTP/1.1 with keep-alive on both sides (`Upgrade: h2c` is ignored and answered over HTTP/1.1,
 *   as Envoy does);
 * - HTTP/2 cleartext with prior knowledge on every HTTP listener (outbound, inbound, gateway): the
 *   connection preface is sniffed once per connection (h2.ts), and HTTP/2 streams take the same
 *   path as HTTP/1.1 requests (routes, faults, retries, timeouts, stats, access log `HTTP/2`);
 * - HTTP/2 upstreams for clusters with `protocol: 'http2'` (upstream/h2-pool.ts: per-host sessions
 *   bound to the pod IP, Envoy's circuit breakers with streams as requests); either side may be
 *   HTTP/1.1 or HTTP/2, the proxy translates;
 * - gRPC (grpc.ts) over either: request_protocol="grpc" and grpc_response_status in metrics,
 *   trailers both ways between HTTP/2 peers, trailers-only gRPC errors for local replies (fault
 *   aborts with grpcStatus, NR, UH, UO, UT... with Envoy's HTTP→gRPC status mapping), retry words
 *   and outlier detection on a trailers-only `grpc-status`;
 * - WebSocket/Upgrade and CONNECT as raw pipes; opaque TCP.
 * Not offered: HTTP/2 over the CONNECT/Upgrade paths (extended CONNECT), h2 upgrade from HTTP/1.1,
 * gRPC-Web translation, istio_request_messages_total / istio_response_messages_total.
 *
 * Peer metadata: the client side adds `x-skiff-peer` (peer.ts) so the server side can label its
 * reporter="destination" metrics with source_*; the server side strips it before the app sees it
 * (Istio does the same with x-envoy-peer-metadata).
 *
 * TLS passthrough (tls-passthrough.ts, sni.ts): CONNECT tunnels to TLS ports with VirtualService
 * `tls[]` rules and gateway PASSTHROUGH servers are routed by the SNI of the ClientHello, peeked
 * without decryption. Tracing (tracing.ts, trace-reporter.ts): with a collector configured, each
 * hop continues or starts a W3C/B3 trace, injects both header families upstream, and reports
 * sampled spans (Zipkin JSON v2 or OTLP/HTTP JSON) through a bounded queue that drops and counts.
 *
 * Error codes (for docs/errors.md):
 *
 * | code | when |
 * |---|---|
 * | `SKIFF_ERR_PROXY_CONFIG` | apply() rejected a config (bad regex, unknown listener protocol or retryOn word, missing route config, duplicate domain or bind port, zero total weight, a new listener that cannot bind, an unusable tracing collector URL); the previous config keeps serving (NACK) |
 * | `SKIFF_ERR_PROXY_LISTEN` | start() cannot bind the admin (15000), agent (15020), health (15021) or outbound (15001) port |
 * | `SKIFF_ERR_PROXY_NOT_LOOPBACK` | outbound, ALLOW_ANY: a host that is neither a known service nor a loopback IP (502, `x-skiff-error`) |
 * | `SKIFF_ERR_PROXY_BAD_REQUEST` | outbound: the request target is neither absolute-form nor origin-form with Host (400, `x-skiff-error`) |
 *
 * Response flags the proxy sets (Envoy's names, semantics §8.2): `NR` no route (404), `NC` cluster
 * not found (503), `UH` no healthy upstream (503), `UO` overflow / retry budget (503,
 * `x-envoy-overloaded: true`), `UF` connection failure (503), `UC` connection termination (503),
 * `URX` retries exhausted, `UT` timeout (504), `DI` fault delay, `FI` fault abort, `DC` downstream
 * went away.
 */
export { Proxy, proxyDefaults } from './proxy.ts';
export type { ProxyOptions } from './proxy.ts';
export { ProxyConfigError, ProxyListenError, proxyErrors } from './errors.ts';
export { flagString, F as responseFlags } from './flags.ts';
export { formatAccessLog } from './access-log.ts';
export type { AccessRecord } from './access-log.ts';
export { encodePeer, decodePeer, peerHeader } from './peer.ts';
export { proxyVersion } from './admin.ts';
export { reporterDefaults } from './trace-reporter.ts';
export type { ReporterOptions } from './trace-reporter.ts';
export * from './model.ts';
