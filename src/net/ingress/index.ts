/** The ingress controller: Ingress objects of class `traefik` served on one host port (DESIGN §3). */
export { IngressController, IngressListenError, ingressDefaults } from './controller.ts';
export type { EndpointPicker, IngressControllerOptions } from './controller.ts';
export { compileRoutes, matchRoute, normalizeHost, requestPath, servesIngress, routeDefaults } from './routes.ts';
export type { Backend, RouteTable } from './routes.ts';
export type { Upstream } from './proxy.ts';
