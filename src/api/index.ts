/** The Kubernetes-compatible API: server, registry (the in-process client), catalog and errors. */
export { ApiServer, serverVersion } from './server.ts';
export type { ApiServerOptions, SubresourceHandler, UpgradeHandler } from './server.ts';
export { Registry, apiVersionOf, randomSuffix, registryDefaults } from './registry.ts';
export type { AdmissionHook, CallOptions } from './registry.ts';
export { ResourceCatalog, fromCrd, compareKubeVersions } from './resources.ts';
export { AdmissionDenied, ApiError, notFound, alreadyExists, conflict, invalid, badRequest, qualifiedName } from './errors.ts';
export { parseLabelSelector, matchLabels, selectorRequirements, formatSelector, parseFieldSelector, matchFields } from './selectors.ts';
export { ensurePki } from './tls.ts';
export type { Pki } from './tls.ts';
export * from './types.ts';
