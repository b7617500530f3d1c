/**
 * VirtualService rules → model Routes for one proxy and one port (route.go
 * BuildHTTPRoutesForVirtualService, translateRoute, applyHTTPRouteDestination, ApplyRedirect,
 * GetRouteOperation, BuildDefaultHTTPOutboundRoute). Config-time filtering (§2.2) happens here:
 * a match whose port, gateways, sourceLabels or sourceNamespace exclude this proxy is dropped, and a
 * VirtualService left without routes does not apply to this proxy.
 */
import type { HashPolicy, Route, RouteAction, WeightedCluster } from '../proxy/model.ts';
import { labelsMatch } from './hosts.ts';
import type { CompiledDestination, CompiledHttpRule, CompiledMatch } from './routes-compile.ts';
import { compileRetry } from './routes-compile.ts';
import type { CompiledVs, MeshService } from './world.ts';

/** What route building needs to know about the proxy and the port being built. */
export interface RouteContext {
  /** The port being built: the service port (sidecar) or the server port (gateway). */
  port: number;
  /** `mesh` for sidecars, `ns/name` of the Gateway for gateway servers. */
  gateways: ReadonlySet<string>;
  labels: Record<string, string>;
  namespace: string;
  /** The service a destination host names, for the port of a destination that omits it. */
  service(host: string): MeshService | undefined;
  /** The consistent-hash policy the destination's DestinationRule asks for, if any. */
  hash(dest: CompiledDestination, port: number): HashPolicy | undefined;
}

/** `outbound|<port>|<subset>|<host>`. */
export function outboundCluster(port: number, subset: string | undefined, host: string): string {
  return `outbound|${port}|${subset ?? ''}|${host}`;
}

/** The port of a destination (GetDestinationCluster): explicit, else the service's only port, else the port being built. */
export function destinationPort(dest: CompiledDestination, svc: MeshService | undefined, listenPort: number): number {
  if (dest.port) return dest.port;
  if (svc && svc.ports.length === 1) return svc.ports[0].port;
  return listenPort;
}

/** The default route of a service without VirtualService (BuildDefaultHTTPOutboundRoute). */
export function defaultRoute(cluster: string, operation: string, hash: HashPolicy | undefined): Route {
  const action: RouteAction = { kind: 'route', clusters: [{ cluster, weight: 100 }], timeoutMs: 0, retry: compileRetry(undefined, false) };
  if (hash) action.hashPolicy = [hash];
  return { name: 'default', match: { path: { prefix: '/' } }, action, operation };
}

/** A config-time filter (sourceMatchHTTP): match.gateways replace the VS's; else sourceLabels and sourceNamespace apply. */
function sourceMatches(m: CompiledMatch, ctx: RouteContext): boolean {
  if (m.port && m.port !== ctx.port) return false;
  if (m.gateways) return m.gateways.some((g) => ctx.gateways.has(g));
  if (!labelsMatch(m.sourceLabels, ctx.labels)) return false;
  return !m.sourceNamespace || m.sourceNamespace === ctx.namespace;
}

/** The path part of a decorator operation: prefix + `*`, the exact path, or the regex. */
function operationPath(r: Route): string {
  const p = r.match.path;
  if (!p) return '/*';
  if ('prefix' in p) return `${p.prefix}*`;
  if ('exact' in p) return p.exact;
  return p.regex;
}

/** The route action of a rule with destinations (applyHTTPRouteDestination). */
function routeAction(rule: CompiledHttpRule, ctx: RouteContext): RouteAction {
  const clusters: WeightedCluster[] = [];
  const hashes: HashPolicy[] = [];
  let hostRewrite = rule.hostRewrite;
  const single = rule.destinations.length === 1;
  for (const d of rule.destinations) {
    // One destination takes all traffic whatever its weight; with several, weight 0 (or none) drops it.
    if (!single && d.weight === 0) continue;
    const port = destinationPort(d.dest, ctx.service(d.dest.host), ctx.port);
    const wc: WeightedCluster = { cluster: outboundCluster(port, d.dest.subset, d.dest.host), weight: single ? 100 : d.weight };
    if (d.headers) wc.headers = d.headers;
    // A destination's `host` header is an authority rewrite; the rule-level one wins (processDestination).
    // Per-destination rewrites of weighted clusters have no place in the model and are not applied.
    if (single && d.authority && !hostRewrite) hostRewrite = d.authority;
    clusters.push(wc);
    const h = ctx.hash(d.dest, port);
    if (h) hashes.push(h);
  }
  const hashed = single && hashes.length > 0;
  const action: RouteAction = { kind: 'route', clusters, timeoutMs: rule.timeoutMs, retry: hashed ? rule.retryHashed : rule.retry };
  if (rule.prefixRewrite !== undefined) action.prefixRewrite = rule.prefixRewrite;
  if (rule.regexRewrite) action.regexRewrite = rule.regexRewrite;
  if (hostRewrite) action.hostRewrite = hostRewrite;
  if (rule.mirrors.length) {
    action.mirrors = rule.mirrors.map((m) => ({
      cluster: outboundCluster(destinationPort(m.dest, ctx.service(m.dest.host), ctx.port), m.dest.subset, m.dest.host),
      perMillion: m.perMillion,
    }));
  }
  if (hashes.length) action.hashPolicy = hashes;
  return action;
}

/** The redirect action (ApplyRedirect), or undefined for codes Envoy does not support (the route is dropped). */
function redirectAction(rule: CompiledHttpRule, ctx: RouteContext, tls: boolean): RouteAction | undefined {
  const r = rule.redirect!;
  const code = r.redirectCode ?? 301;
  if (![0, 301, 302, 303, 307, 308].includes(code)) return undefined;
  const action: RouteAction = { kind: 'redirect', responseCode: code === 0 ? 301 : code };
  if (r.uri) action.path = r.uri;
  if (r.authority) action.host = r.authority;
  if (r.scheme) action.scheme = r.scheme;
  let port: number | undefined;
  if (r.port) port = r.port;
  else if (r.derivePort === 'FROM_REQUEST_PORT') port = ctx.port; // routes are built per port, so the request port is known
  else if (r.derivePort === 'FROM_PROTOCOL_DEFAULT') action.derivePort = 'FROM_PROTOCOL_DEFAULT';
  if (port !== undefined) {
    const scheme = r.scheme || (tls ? 'https' : 'http');
    // No explicit :80 for http or :443 for https in Location.
    if (!((port === 80 && scheme === 'http') || (port === 443 && scheme === 'https'))) action.port = port;
  }
  return action;
}

/** One route for a rule and one of its matches (translateRoute); undefined when filtered out for this proxy. */
function translateRoute(vs: CompiledVs, rule: CompiledHttpRule, m: CompiledMatch | undefined, ctx: RouteContext): Route | undefined {
  if (m && !sourceMatches(m, ctx)) return undefined;
  let action: RouteAction | undefined;
  if (rule.action === 'redirect') action = redirectAction(rule, ctx, false);
  else if (rule.action === 'direct') action = { kind: 'direct', ...rule.direct! };
  else if (rule.action === 'route') action = routeAction(rule, ctx);
  // A rule without route, redirect or direct response (e.g. an unresolved delegate) makes no route.
  if (!action) return undefined;
  const name = m ? m.routeName : rule.name;
  const match = m ? m.match : { path: { prefix: '/' } };
  const route: Route = name ? { name, match, action } : { match, action };
  if (rule.headers) route.headers = rule.headers;
  if (rule.fault) route.fault = rule.fault;
  if (rule.cors) route.cors = rule.cors;
  const a = route.action;
  const one = a.kind === 'route' && a.clusters.length === 1 ? a.clusters[0].cluster.split('|') : undefined;
  route.operation = one && one.length === 4 ? `${one[3]}:${one[1]}${operationPath(route)}` : `${vs.name}:${ctx.port}${operationPath(route)}`;
  return route;
}

/**
 * The routes of one VirtualService for this proxy and port; empty when every rule is filtered out
 * (the VirtualService then does not apply, §2.2). A catch-all route ends the list.
 */
export function buildVsRoutes(vs: CompiledVs, ctx: RouteContext): Route[] {
  const out: Route[] = [];
  for (const rule of vs.http) {
    let catchAll = false;
    if (!rule.matches) {
      const r = translateRoute(vs, rule, undefined, ctx);
      if (r) out.push(r);
      catchAll = true;
    } else {
      for (const m of rule.matches) {
        const r = translateRoute(vs, rule, m, ctx);
        if (!r) continue;
        out.push(r);
        if (m.catchAll) {
          catchAll = true;
          break;
        }
      }
    }
    if (catchAll) break;
  }
  return out;
}

/** True when a built route takes every request (IsCatchAllRoute), for gateway route sorting. */
export function isCatchAllRoute(r: Route): boolean {
  const p = r.match.path;
  const all = !p || ('prefix' in p && p.prefix === '/') || ('regex' in p && p.regex === '.*');
  return all && !r.match.headers?.length && !r.match.query?.length;
}

/** Catch-all routes moved to the end, others kept in order (SortVHostRoutes). */
export function sortCatchAllLast(routes: Route[]): Route[] {
  const first: Route[] = [];
  const last: Route[] = [];
  for (const r of routes) (isCatchAllRoute(r) ? last : first).push(r);
  return last.length ? first.concat(last) : first;
}
