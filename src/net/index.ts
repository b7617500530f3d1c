/**
 * Local networking (DESIGN §3): the service proxy (cluster IPs, NodePorts, LoadBalancer ports) and
 * the in-pod HTTP proxy that gives pods Kubernetes-style service names over loopback.
 */
export { ServiceProxy, serviceProxyDefaults, desiredListeners } from './service-proxy.ts';
export type { ServiceProxyOptions, ListenerInfo, DesiredListener } from './service-proxy.ts';
export { netErrors } from './route.ts';
export type { Resolved } from './cluster.ts';
export { appIPFor, isLoopback, loopbackNameAddress, parsePortMap, serviceName, portMapAnnotation } from './names.ts';
