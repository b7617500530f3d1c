/**
 * The mesh control plane: sidecar injection, translation of Istio and Kubernetes objects into
 * per-proxy config, and the config stream that pushes it (DESIGN §1, §4).
 */
export { ControlPlane, controlPlaneDefaults } from './server.ts';
export type { ControlPlaneOptions, ProxyStatus } from './server.ts';
export { StreamClient, streamDefaults, streamPath } from '../stream/index.ts';
export type { ConfigMessage, DeltaMessage, ReplyMessage, StreamClientOptions } from '../stream/index.ts';
export { injectionAdmission, injectionRequired, injectSidecar, hasSidecar, proxyContainer, workloadName, canonicalName, canonicalRevision, PROXY_CONTAINER, PROXY_IMAGE } from './inject.ts';
export { buildIndex, buildProxyConfig, isGatewayPod, MeshSettingsError, tracingSettings } from './translate.ts';
export type { MeshWorld } from './translate.ts';
