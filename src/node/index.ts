/** The node agent: pods bound to this node run as local processes (DESIGN §1, §3). */
export { NodeAgent } from './agent.ts';
export type { NodeAgentOptions } from './agent.ts';
export { nodeDefaults } from './model.ts';
export { resolveImage, builtInImages, builtInImage, imageRepository } from './images.ts';
export type { ImageResolution, BuiltInImage } from './images.ts';
export { podNetwork } from './ips.ts';
export { logLineFormat } from './types.ts';
export type { MeshEndpoint } from './mesh.ts';
export { proxyNodeFlags } from './mesh.ts';
export type { ContainerRuntimeInfo, ContainerLogFiles, NodeRuntime } from './types.ts';
