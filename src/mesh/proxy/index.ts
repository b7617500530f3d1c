/**
 * Skiff's data-plane proxy engine (DESIGN §4): one library for the per-pod sidecar and the ingress
 * gateway. The `skiff proxy` process creates a Proxy, starts it, and feeds it configs from the
 * control plane through apply() (ACK on success, NACK with the ProxyConfigError message).
 *
 * Scope now: HTTP/1.1 with keep-alive on both sides; WebSocket/Upgrade and CONNECT as raw pipes;
 * opaque TCP. TODO: HTTP/2 and gRPC (h2c upstreams and downstreams, trailers-only gRPC replies,
 * grpc-status in metrics) are not implemented yet; gRPC retry words and gRPC fault aborts act on
 * HTTP/1.1 `grpc-status` headers only.
 *
 * Peer metadata: the client side adds `x-skiff-peer` (peer.ts) so the server side can label its
 * reporter="destination" metrics with source_*; the server side strips it before the app sees it
 * (Istio does the same with x-envoy-peer-metadata).
 *
 * Error codes (for docs/errors.md):
 *
 * | code | when |
 * |---|---|
 * | `SKIFF_ERR_PROXY_CONFIG` | apply() rejected a config (bad regex, unknown listener protocol or retryOn word, missing route config, duplicate domain or bind port, zero total weight, a new listener that cannot bind); the previous config keeps serving (NACK) |
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
export * from './model.ts';
