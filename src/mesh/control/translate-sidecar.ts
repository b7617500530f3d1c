/**
 * A sidecar's configuration: outbound ports with their route configs and TCP rules (httproute.go
 * BuildSidecarOutboundVirtualHosts, tls.go for TCP and TLS), the clusters of everything in scope, and the
 * inbound ports of its own workload.
 */
import type { KObject } from '../../api/index.ts';
import { parsePortMap } from '../../net/index.ts';
import { MAX_U32, type Cluster, type InboundPort, type OutboundPort, type Route, type RouteConfig, type TcpRoute, type VirtualHost } from '../proxy/model.ts';
import { clusterDomain, cmp, isHttpProtocol, labelsMatch, portProtocol, type PortProtocol } from './hosts.ts';
import { compileRetry } from './routes-compile.ts';
import { nonServiceHosts, sidecarScope, visibleService, vsCandidates, type SidecarScope } from './scope.ts';
import { addServiceClusters, catchAllClusters, clusterDefaults, destinationHash, lookupDr, serviceHash } from './translate-clusters.ts';
import { sidecarTlsRoutes, vsTcpRoutes } from './translate-l4.ts';
import { buildVsRoutes, defaultRoute, outboundCluster, type RouteContext } from './translate-routes.ts';
import { carried, type CompiledVs, type MeshIndex, type MeshService } from './world.ts';

/** The outbound half of a sidecar: shared by all pods of a namespace unless rules in scope filter on labels. */
export interface SidecarOutbound {
  outbound: Record<string, OutboundPort>;
  routes: Record<string, RouteConfig>;
  clusters: Record<string, Cluster>;
  outboundTrafficPolicy: 'ALLOW_ANY' | 'REGISTRY_ONLY';
}

/** The names a client in `ns` may use for a service (GenerateAltVirtualHosts): FQDN, short forms, addresses. */
export function serviceDomains(svc: MeshService, ns: string): string[] {
  const out = [svc.host];
  const parts = svc.host.split('.');
  if (parts.length === 5 && parts[2] === 'svc' && `${parts[3]}.${parts[4]}` === clusterDomain) {
    if (parts[1] === ns) out.push(parts[0]);
    out.push(`${parts[0]}.${parts[1]}`, `${parts[0]}.${parts[1]}.svc`);
  }
  out.push(...svc.addresses);
  return out;
}

/** What a route context is built for: the proxy, the port, the gateway names, how destination hosts resolve. */
export interface RouteContextOptions {
  ns: string;
  labels: Record<string, string>;
  port: number;
  gateways: ReadonlySet<string>;
  /** The services in scope (sidecars); other hosts resolve to any service visible from `ns`. */
  services?: MeshService[];
  /** Replaces the lookup of destination services (gateways prefer the VirtualService's namespace). */
  service?: (host: string) => MeshService | undefined;
}

/** A route context for a proxy in `ns` building `port`. */
export function routeContext(index: MeshIndex, o: RouteContextOptions): RouteContext {
  const inScope = new Map((o.services ?? []).map((s) => [s.host, s]));
  const service = o.service ?? ((host: string) => inScope.get(host) ?? visibleService(index, host, o.ns));
  return {
    port: o.port,
    gateways: o.gateways,
    labels: o.labels,
    namespace: o.ns,
    service,
    hash(dest) {
      const svc = service(dest.host);
      return svc && destinationHash(lookupDr(index, o.ns, svc, o.labels), dest);
    },
  };
}

const meshGateway: ReadonlySet<string> = new Set(['mesh']);

/** The catch-all vhost for hosts no service claims (buildCatchAllVirtualHost). */
function catchAllVhost(policy: 'ALLOW_ANY' | 'REGISTRY_ONLY'): VirtualHost {
  const match = { path: { prefix: '/' } };
  if (policy === 'REGISTRY_ONLY') return { name: 'block_all', domains: ['*'], routes: [{ name: 'block_all', match, action: { kind: 'direct', status: 502 } }] };
  const none = compileRetry({ attempts: 0 }, false);
  return {
    name: 'allow_any',
    domains: ['*'],
    routes: [{ name: 'allow_any', match, action: { kind: 'route', clusters: [{ cluster: 'PassthroughCluster', weight: 100 }], timeoutMs: 0, retry: none } }],
  };
}

/** The routes of a service port: those of the first VirtualService that applies to this proxy, else the default route. */
function serviceRoutes(index: MeshIndex, scope: SidecarScope, svc: MeshService, ctx: RouteContext): Route[] {
  for (const vs of vsCandidates(scope.virtualServices, svc.host)) {
    const routes = buildVsRoutes(vs, ctx);
    if (routes.length) return routes;
  }
  // The default route only depends on the service, the port and the DestinationRule: share it.
  const dr = lookupDr(index, ctx.namespace, svc, ctx.labels);
  const memo = dr?.memo ?? index.memo;
  const key = `default\0${svc.namespace}\0${svc.host}\0${ctx.port}`;
  let routes = memo.get(key) as Route[] | undefined;
  if (!routes) memo.set(key, (routes = [defaultRoute(outboundCluster(ctx.port, undefined, svc.host), `${svc.host}:${ctx.port}/*`, serviceHash(dr, ctx.port))]));
  return routes;
}

/**
 * The TCP rules of a service port; the service's own cluster catches what no rule takes (§2.15).
 * TLS ports ignore `tcp[]` rules (Istio builds no TCP filter chains for them): only the default.
 */
function serviceTcp(scope: SidecarScope, svc: MeshService, ctx: RouteContext, tls: boolean): TcpRoute[] {
  let rules: TcpRoute[] = [];
  if (!tls) {
    for (const vs of vsCandidates(scope.virtualServices, svc.host)) {
      rules = vsTcpRoutes(vs, ctx);
      if (rules.length) break;
    }
  }
  if (!rules.some((r) => !r.destinationSubnets)) rules.push({ clusters: [{ cluster: outboundCluster(ctx.port, undefined, svc.host), weight: 100 }] });
  return rules;
}

/** Builds the outbound half of a sidecar in `ns` with `labels`. */
export function buildSidecarOutbound(index: MeshIndex, ns: string, labels: Record<string, string>): SidecarOutbound {
  const scope = sidecarScope(index, ns, labels);
  const memoKey = `out\0${ns}\0${scope.key}\0${scope.labelDependent ? JSON.stringify(Object.entries(labels).sort()) : ''}`;
  const hit = index.memo.get(memoKey) as SidecarOutbound | undefined;
  if (hit) return hit;
  const httpPorts = new Map<number, MeshService[]>();
  const tcpPorts = new Map<number, MeshService[]>();
  for (const svc of scope.services) {
    for (const p of svc.ports) {
      const into = isHttpProtocol(p.protocol) ? httpPorts : tcpPorts;
      const list = into.get(p.port);
      if (list) list.push(svc);
      else into.set(p.port, [svc]);
    }
  }
  const hostSet = new Set(scope.services.map((s) => s.host));
  const extraHosts = scope.virtualServices.map((vs) => [vs, nonServiceHosts(vs, scope.services, hostSet)] as const).filter(([, h]) => h.length);
  if (extraHosts.length && !httpPorts.has(80)) httpPorts.set(80, []);

  const outbound: Record<string, OutboundPort> = {};
  const routes: Record<string, RouteConfig> = {};
  const ports = [...new Set([...httpPorts.keys(), ...tcpPorts.keys()])].sort((a, b) => a - b);
  for (const port of ports) {
    const op: OutboundPort = { port, protocol: httpPorts.has(port) ? 'http' : 'tcp' };
    const ctx = routeContext(index, { ns, labels, port, gateways: meshGateway, services: scope.services });
    const http = httpPorts.get(port);
    if (http) {
      const used = new Set<string>();
      const vhosts: VirtualHost[] = [];
      // A name claimed by an earlier vhost stays with it (dedupeDomains).
      const claim = (names: string[]) => {
        const free = names.filter((d) => !used.has(d));
        for (const d of free) used.add(d);
        return free;
      };
      for (const svc of http) {
        const domains = claim(serviceDomains(svc, ns));
        if (domains.length) vhosts.push({ name: `${svc.host}:${port}`, domains, routes: serviceRoutes(index, scope, svc, ctx) });
      }
      if (port === 80) {
        for (const [vs, hosts] of extraHosts) {
          const r = buildVsRoutes(vs, ctx);
          if (!r.length) continue;
          for (const h of hosts) {
            const domains = claim([h]);
            if (domains.length) vhosts.push({ name: `${h}:${port}`, domains, routes: r });
          }
        }
      }
      vhosts.sort((a, b) => cmp(a.name, b.name));
      vhosts.push(catchAllVhost(scope.outboundTrafficPolicy));
      op.routeConfig = String(port);
      routes[op.routeConfig] = { name: op.routeConfig, virtualHosts: vhosts };
    }
    const tcp = tcpPorts.get(port);
    if (tcp) {
      // A port shared by HTTP and TCP services keeps its route config and also lists the TCP hosts.
      op.tcp = {};
      for (const svc of tcp) {
        const tls = svc.ports.some((p) => p.port === port && p.protocol === 'tls');
        const rules = serviceTcp(scope, svc, ctx, tls);
        // TLS ports with VirtualService tls[] rules are routed by SNI; without, they are plain TCP.
        const sni = tls ? sidecarTlsRoutes(vsCandidates(scope.virtualServices, svc.host), ctx) : [];
        for (const key of serviceDomains(svc, ns)) {
          if (op.tcp[key]) continue; // a name claimed by an earlier service stays with it
          op.tcp[key] = rules;
          if (sni.length) (op.tls ??= {})[key] = sni;
        }
      }
    }
    outbound[String(port)] = op;
  }

  // The clusters do not depend on VirtualServices: a route change keeps the last push's map (and
  // what the push serialized of it). Sidecar egress imports that follow VirtualServices show in scope.services.
  const clusters = carried(index, `clusters\0${memoKey}`, [index.gens.destinationRules, index.gens.mesh, ...scope.services], () => {
    const map: Record<string, Cluster> = {};
    for (const svc of scope.services) addServiceClusters(map, index, svc, ns, labels);
    for (const c of catchAllClusters(index)) map[c.name] = c;
    return map;
  });
  const out: SidecarOutbound = { outbound, routes, clusters, outboundTrafficPolicy: scope.outboundTrafficPolicy };
  index.memo.set(memoKey, out);
  return out;
}

interface InboundEntry {
  protocol: PortProtocol;
  services: MeshService[];
  servicePort?: number;
}

/**
 * The workload's inbound ports: its container ports and the targetPorts of the Services selecting
 * it (by number, or by container port name), with the protocol of the first such service port.
 */
export function buildInbound(index: MeshIndex, pod: KObject, appIP: string): { inbound: InboundPort[]; clusters: Cluster[] } {
  const ns = pod.metadata.namespace ?? 'default';
  const labels = pod.metadata.labels ?? {};
  const named = new Map<string, number>();
  const containerPorts: Array<{ port: number; name?: string }> = [];
  for (const c of (pod.spec?.containers ?? []) as Array<{ name?: string; ports?: Array<{ containerPort: number; name?: string; protocol?: string }> }>) {
    if (c.name === 'istio-proxy') continue;
    for (const p of c.ports ?? []) {
      if ((p.protocol ?? 'TCP') !== 'TCP' || !p.containerPort) continue;
      containerPorts.push({ port: p.containerPort, name: p.name });
      if (p.name) named.set(p.name, p.containerPort);
    }
  }
  const byPort = new Map<number, InboundEntry>();
  for (const svc of index.kubeByNamespace.get(ns) ?? []) {
    if (!labelsMatch(svc.selector, labels)) continue;
    for (const sp of svc.ports) {
      const target = typeof sp.targetPort === 'number' ? sp.targetPort : typeof sp.targetPort === 'string' && sp.targetPort !== '' ? named.get(sp.targetPort) : sp.port;
      if (!target) continue;
      const e = byPort.get(target);
      if (!e) byPort.set(target, { protocol: sp.protocol, services: [svc], servicePort: sp.port });
      else if (!e.services.includes(svc)) e.services.push(svc);
    }
  }
  for (const cp of containerPorts) if (!byPort.has(cp.port)) byPort.set(cp.port, { protocol: portProtocol(cp.name, { port: cp.port }), services: [] });
  const portMap = parsePortMap(pod);
  const inbound: InboundPort[] = [];
  const clusters: Cluster[] = [];
  for (const port of [...byPort.keys()].sort((a, b) => a - b)) {
    const e = byPort.get(port)!;
    const bound = portMap?.get(port) ?? port;
    const name = `inbound|${port}||`;
    const http = isHttpProtocol(e.protocol);
    inbound.push({
      port,
      bindPort: bound,
      appPort: bound,
      protocol: http ? 'http' : 'tcp',
      cluster: name,
      services: e.services.map((s) => ({ host: s.host, name: s.name, namespace: s.namespace })),
    });
    const first = e.services[0];
    // The local app as a cluster, so inbound traffic has the same stats and admin view as outbound.
    clusters.push({
      name,
      type: 'eds',
      ...(first ? { service: { host: first.host, name: first.name, namespace: first.namespace, port: e.servicePort ?? port } } : {}),
      protocol: !http ? 'tcp' : e.protocol === 'http2' ? 'http2' : 'http1',
      endpoints: [{ address: appIP, port: bound, ready: true }],
      lbPolicy: 'LEAST_REQUEST',
      connectTimeoutMs: index.mesh.connectTimeoutMs,
      circuitBreakers: { maxConnections: MAX_U32, maxPendingRequests: MAX_U32, maxRequests: MAX_U32, maxRetries: MAX_U32 },
      maxRequestsPerConnection: 0,
      idleTimeoutMs: clusterDefaults.idleTimeoutMs,
      healthyPanicThreshold: clusterDefaults.healthyPanicThreshold,
    });
  }
  return { inbound, clusters };
}
