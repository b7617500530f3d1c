/**
 * A gateway proxy's configuration (§4, gateway.go buildGatewayHTTPRouteConfig): the servers of the
 * Gateways selecting the pod grouped by port, VirtualServices bound to them with hosts intersected
 * per server, routes of the same host merged across VirtualServices with catch-alls last, and
 * clusters for every service exported to the gateway's namespace.
 */
import type { KObject } from '../../api/index.ts';
import { parsePortMap } from '../../net/index.ts';
import type { Cluster, GatewayPort, RouteConfig, TcpRoute, TlsRoute, VirtualHost } from '../proxy/model.ts';
import { cmp, intersectHosts, labelsMatch } from './hosts.ts';
import type { GatewayServerSpec } from './istio-types.ts';
import { visibleService } from './scope.ts';
import { addServiceClusters, catchAllClusters } from './translate-clusters.ts';
import { buildVsRoutes, sortCatchAllLast } from './translate-routes.ts';
import { gatewayTlsRoutes, vsTcpRoutes } from './translate-l4.ts';
import { routeContext } from './translate-sidecar.ts';
import type { GatewayEntry, MeshIndex } from './world.ts';
import { serviceVisible, virtualServicesFor } from './world.ts';
import { containerPortNamed } from './workload.ts';

export interface GatewayConfig {
  gateway: GatewayPort[];
  routes: Record<string, RouteConfig>;
  clusters: Record<string, Cluster>;
}

type ServerKind = 'http' | 'tcp' | 'passthrough' | undefined;

/**
 * What a server port carries (gateway.go createGatewayTCPFilterChainOpts). HTTPS and TLS servers
 * in PASSTHROUGH mode route by SNI (VirtualService `tls[]`); a TLS server without `tls` settings is
 * opaque TCP. TLS termination (SIMPLE, MUTUAL, ISTIO_MUTUAL) needs certificates the proxy model
 * does not carry yet, and AUTO_PASSTHROUGH needs SNI-named clusters: those servers are left out.
 */
function serverKind(s: GatewayServerSpec): ServerKind {
  const protocol = (s.port.protocol ?? '').toUpperCase();
  switch (protocol) {
    case 'HTTP':
    case 'HTTP2':
    case 'GRPC':
    case 'GRPC-WEB':
      return 'http';
    case 'TCP':
    case 'MONGO':
    case 'REDIS':
    case 'MYSQL':
      return 'tcp';
    case 'HTTPS':
    case 'TLS':
      if ((s.tls?.mode ?? '').toUpperCase() === 'PASSTHROUGH') return 'passthrough';
      return protocol === 'TLS' && !s.tls ? 'tcp' : undefined;
    default:
      return undefined;
  }
}

/** Server hosts a VirtualService of namespace `vsNs` may bind to (host.NamesForNamespace), lower-cased. */
function serverHostsFor(server: GatewayServerSpec, gwNs: string, vsNs: string): string[] {
  const out: string[] = [];
  for (const h of server.hosts ?? []) {
    const slash = h.indexOf('/');
    if (slash < 0) {
      out.push(h.toLowerCase());
      continue;
    }
    const ns = h.slice(0, slash);
    if (ns === '*' || ns === vsNs || (ns === '.' && gwNs === vsNs)) out.push(h.slice(slash + 1).toLowerCase());
  }
  return out;
}

/**
 * Where the gateway binds a server port: the targetPort its own Service maps the port to
 * (istio-ingressgateway: 80 → 8080), else the port itself; then the node agent's port map.
 */
function bindPortFor(index: MeshIndex, pod: KObject, port: number): number {
  const ns = pod.metadata.namespace ?? 'default';
  const svc = index.kubeByNamespace.get(ns)?.find((s) => labelsMatch(s.selector, pod.metadata.labels ?? {}) && s.ports.some((p) => p.port === port));
  const sp = svc?.ports.find((p) => p.port === port);
  let target = port;
  if (typeof sp?.targetPort === 'number') target = sp.targetPort;
  else if (typeof sp?.targetPort === 'string' && sp.targetPort) target = containerPortNamed(pod, sp.targetPort) ?? port;
  return parsePortMap(pod)?.get(target) ?? target;
}

/** Builds the gateway half of a gateway pod's configuration. */
export function buildGateway(index: MeshIndex, pod: KObject): GatewayConfig {
  const ns = pod.metadata.namespace ?? 'default';
  const labels = pod.metadata.labels ?? {};
  const servers = new Map<number, Array<{ gw: GatewayEntry; server: GatewayServerSpec }>>();
  for (const gw of index.gateways) {
    // An empty selector selects every workload; Gateways in any namespace apply.
    if (!labelsMatch(gw.spec.selector, labels)) continue;
    for (const server of gw.spec.servers ?? []) {
      if (!server?.port?.number || !serverKind(server)) continue;
      const list = servers.get(server.port.number);
      if (list) list.push({ gw, server });
      else servers.set(server.port.number, [{ gw, server }]);
    }
  }
  const gateway: GatewayPort[] = [];
  const routes: Record<string, RouteConfig> = {};
  for (const port of [...servers.keys()].sort((a, b) => a - b)) {
    const all = servers.get(port)!;
    const kind = serverKind(all[0].server);
    // Servers of another kind on the same port conflict with the first one (Istio rejects them too).
    const list = all.filter((s) => serverKind(s.server) === kind);
    const gp: GatewayPort = { port, bindPort: bindPortFor(index, pod, port), protocol: kind === 'http' ? 'http' : 'tcp' };
    const vhosts = new Map<string, VirtualHost>();
    const tcp: TcpRoute[] = [];
    const tls: TlsRoute[] = [];
    const sniSeen = new Set<string>();
    for (const { gw, server } of list) {
      const gwName = `${gw.namespace}/${gw.name}`;
      const names = new Set([gwName]);
      if (server.tls?.httpsRedirect) gp.httpsRedirect = true;
      for (const vs of virtualServicesFor(index, ns, gwName)) {
        const hosts = intersectHosts(serverHostsFor(server, gw.namespace, vs.namespace), vs.hosts);
        if (!hosts.length) continue;
        // Destinations resolve to the service of the VirtualService's namespace when the gateway can see it.
        const ctx = routeContext(index, { ns, labels, port, gateways: names, service: (h) => visibleService(index, h, ns, vs.namespace) });
        if (kind === 'tcp') {
          tcp.push(...vsTcpRoutes(vs, ctx));
          continue;
        }
        if (kind === 'passthrough') {
          tls.push(...gatewayTlsRoutes(vs, ctx, gwName, sniSeen));
          continue;
        }
        const r = buildVsRoutes(vs, ctx);
        if (!r.length) continue;
        for (const h of hosts) {
          const v = vhosts.get(h);
          if (v) v.routes.push(...r);
          else vhosts.set(h, { name: `${h}:${port}`, domains: [h], routes: [...r] });
        }
      }
    }
    if (kind === 'tcp') {
      gp.tcp = tcp;
    } else if (kind === 'passthrough') {
      // No rule at all still binds the port: every connection then finds no SNI match and closes.
      gp.tls = tls;
    } else {
      const name = `http.${port}`;
      const list = [...vhosts.values()].sort((a, b) => cmp(a.name, b.name));
      for (const v of list) v.routes = sortCatchAllLast(v.routes);
      // No VirtualService for the port: a `*` vhost without routes, so every request gets 404 NR.
      routes[name] = { name, virtualHosts: list.length ? list : [{ name: `blackhole:${port}`, domains: ['*'], routes: [] }] };
      gp.routeConfig = name;
    }
    gateway.push(gp);
  }
  const clusters: Record<string, Cluster> = {};
  for (const list of index.byHost.values()) {
    const svc = list.find((s) => serviceVisible(s, ns));
    if (svc) addServiceClusters(clusters, index, svc, ns, labels);
  }
  for (const c of catchAllClusters(index)) clusters[c.name] = c;
  return { gateway, routes, clusters };
}
