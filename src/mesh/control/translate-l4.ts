/**
 * VirtualService `tcp[]` and `tls[]` rules → model TCP and TLS routes for one proxy and port (tls.go
 * buildSidecarOutboundTLSFilterChainOpts / buildSidecarOutboundTCPFilterChainOpts, gateway.go
 * buildGatewayNetworkFiltersFromTLSRoutes). Static predicates (port, gateways, sourceLabels,
 * sourceNamespace) are evaluated here; runtime ones (SNI names, destination subnets) go to the proxy.
 */
import type { TcpRoute, TlsRoute, WeightedCluster } from '../proxy/model.ts';
import { labelsMatch } from './hosts.ts';
import type { L4MatchAttributes, TLSMatchAttributes } from './istio-types.ts';
import { compileDestination, resolveGatewayName } from './routes-compile.ts';
import { destinationPort, outboundCluster, type RouteContext } from './translate-routes.ts';
import type { CompiledVs } from './world.ts';

/** The weighted clusters of an L4 route (buildOutboundNetworkFilters): one destination takes all, else weight 0 drops one. */
function l4Clusters(dests: Array<{ destination?: { host: string; subset?: string; port?: { number?: number } }; weight?: number }>, vs: CompiledVs, ctx: RouteContext): WeightedCluster[] {
  const clusters: WeightedCluster[] = [];
  for (const d of dests) {
    if (!d.destination || (dests.length > 1 && !d.weight)) continue;
    const dest = compileDestination(d.destination, vs.namespace);
    clusters.push({ cluster: outboundCluster(destinationPort(dest, ctx.service(dest.host), ctx.port), dest.subset, dest.host), weight: dests.length > 1 ? d.weight! : 100 });
  }
  return clusters;
}

/** A config-time L4 match filter (matchTCP / matchTLS); match gateways are resolved relative to the VirtualService. */
function l4Matches(m: L4MatchAttributes | TLSMatchAttributes, vs: CompiledVs, ctx: RouteContext): boolean {
  if (m.port && m.port !== ctx.port) return false;
  if (m.gateways?.length && !m.gateways.some((g) => ctx.gateways.has(resolveGatewayName(g, vs.namespace)))) return false;
  if (!labelsMatch(m.sourceLabels, ctx.labels)) return false;
  return !m.sourceNamespace || m.sourceNamespace === ctx.namespace;
}

/** The TCP rules of a VirtualService for one port; empty when none applies to this proxy. */
export function vsTcpRoutes(vs: CompiledVs, ctx: RouteContext): TcpRoute[] {
  const out: TcpRoute[] = [];
  for (const rule of vs.tcp) {
    const clusters = l4Clusters(rule.route ?? [], vs, ctx);
    if (!rule.match?.length) {
      out.push({ clusters });
      break; // matches every connection: later rules are unreachable
    }
    for (const m of rule.match) {
      if (!l4Matches(m, vs, ctx)) continue;
      out.push(m.destinationSubnets?.length ? { destinationSubnets: [...m.destinationSubnets], clusters } : { clusters });
    }
  }
  return out;
}

function tlsRoute(m: TLSMatchAttributes, clusters: WeightedCluster[]): TlsRoute {
  const r: TlsRoute = { sniHosts: (m.sniHosts ?? []).map((h) => h.toLowerCase()), clusters };
  if (m.destinationSubnets?.length) r.destinationSubnets = [...m.destinationSubnets];
  return r;
}

/**
 * The TLS rules of the VirtualServices owning a sidecar's service port, in order. A match whose
 * runtime predicates (SNI names and subnets) an earlier match already took is unreachable and
 * left out (matchHasBeenHandled). Empty: no rule applies, the port is plain TCP.
 */
export function sidecarTlsRoutes(vss: CompiledVs[], ctx: RouteContext): TlsRoute[] {
  const out: TlsRoute[] = [];
  const handled = new Set<string>();
  for (const vs of vss) {
    for (const rule of vs.tls) {
      let clusters: WeightedCluster[] | undefined;
      for (const m of rule.match ?? []) {
        if (!l4Matches(m, vs, ctx)) continue;
        const key = `${(m.sniHosts ?? []).join(',')}|${(m.destinationSubnets ?? []).join(',')}`;
        if (handled.has(key)) continue;
        handled.add(key);
        clusters ??= l4Clusters(rule.route ?? [], vs, ctx);
        out.push(tlsRoute(m, clusters));
      }
    }
  }
  return out;
}

/**
 * The TLS rules of one VirtualService bound to a PASSTHROUGH gateway server (l4SingleMatch: only
 * port and gateways are static predicates there). `seen` holds the SNI names earlier matches on
 * the same port took: a match repeating one is skipped, as Istio does (duplicate filter chains).
 */
export function gatewayTlsRoutes(vs: CompiledVs, ctx: RouteContext, gateway: string, seen: Set<string>): TlsRoute[] {
  const out: TlsRoute[] = [];
  for (const rule of vs.tls) {
    let clusters: WeightedCluster[] | undefined;
    for (const m of rule.match ?? []) {
      if (m.port && m.port !== ctx.port) continue;
      if (m.gateways?.length && !m.gateways.some((g) => resolveGatewayName(g, vs.namespace) === gateway)) continue;
      const names = (m.sniHosts ?? []).map((h) => h.toLowerCase());
      if (names.some((h) => seen.has(h))) continue;
      for (const h of names) seen.add(h);
      clusters ??= l4Clusters(rule.route ?? [], vs, ctx);
      out.push(tlsRoute(m, clusters));
    }
  }
  return out;
}
