/**
 * Compiles a ProxyConfig into the plain objects the request path reads (DESIGN §1 rule 4): domain
 * tables, route matchers, folded header operations, retry policies as bit sets, redirect and fault
 * settings, listener plans. Every check that can fail runs here, so apply() can NACK with a precise
 * message and keep the previous config; the request path never validates or compiles anything.
 */
import { Compiler } from './compile-route.ts';
import { blackholeName, type Compiled, type CompiledDest, type CompiledRoute, type CompiledRouteConfig, type CompiledTcpRoute, type CompiledOutbound, matchAll, noRetry, passthroughName, RETRY } from './compiled.ts';
import { ProxyConfigError } from './errors.ts';
import { noOps } from './headers.ts';
import { MAX_U32, type Cluster, type ProxyConfig } from './model.ts';
import { encodePeer } from './peer.ts';
import { compileTlsHosts, compileTlsRoutes } from './tls-passthrough.ts';
import { checkTracing } from './tracing.ts';
import type { UpstreamCluster } from './upstream/index.ts';

export * from './compiled.ts';
export { parseCidr } from './compile-route.ts';

/** A cluster with Istio's defaults, for the clusters the proxy synthesizes. */
export function defaultCluster(name: string, type: Cluster['type'], extra: Partial<Cluster> = {}): Cluster {
  return {
    name,
    type,
    protocol: 'http1',
    endpoints: [],
    lbPolicy: type === 'passthrough' ? 'PASSTHROUGH' : 'LEAST_REQUEST',
    connectTimeoutMs: 10000,
    circuitBreakers: { maxConnections: MAX_U32, maxPendingRequests: MAX_U32, maxRequests: MAX_U32, maxRetries: MAX_U32 },
    maxRequestsPerConnection: 0,
    idleTimeoutMs: 3600000,
    healthyPanicThreshold: 50,
    ...extra,
  };
}

function checkProtocol(p: string, where: string): void {
  if (p !== 'http' && p !== 'tcp') throw new ProxyConfigError(`${where}: unknown listener protocol "${p}" (http or tcp)`);
}

const clusterTypes = new Set(['eds', 'passthrough', 'blackhole']);

/**
 * Compiles a config; throws ProxyConfigError naming the first problem. With `prev` (the config
 * live now, compiled by this function for the same proxy), parts of `cfg` that are the same
 * objects as in `prev.source` are reused rather than compiled again: virtual hosts, TCP rule lists,
 * and the cluster set when clusters, inbound ports and node are all unchanged (then `clusters` is
 * `prev.clusters` itself, which tells the caller the cluster manager has nothing to update).
 */
export function compileConfig(cfg: ProxyConfig, version: string, appIP: string | undefined, prev?: Compiled): Compiled {
  if (!cfg || typeof cfg !== 'object' || !cfg.node) throw new ProxyConfigError('config has no node');
  checkTracing(cfg.tracing);
  const c = new Compiler(prev?.parts);
  const p = prev?.source;
  const sameClusters = p !== undefined && p.clusters === cfg.clusters && p.inbound === cfg.inbound && p.node === cfg.node;
  // Unchanged clusters: the previous set, already checked and completed, is used as it is (never modified).
  const clusters: Record<string, Cluster> = sameClusters ? prev!.clusters : { ...(cfg.clusters ?? {}) };
  if (!sameClusters) {
    for (const [name, cl] of Object.entries(clusters)) {
      if (!clusterTypes.has(cl.type)) throw new ProxyConfigError(`cluster "${name}": unknown type "${cl.type}" (eds, passthrough or blackhole)`);
      if (!Array.isArray(cl.endpoints)) throw new ProxyConfigError(`cluster "${name}": endpoints must be a list`);
    }
    clusters[passthroughName] ??= defaultCluster(passthroughName, 'passthrough');
    clusters[blackholeName] ??= defaultCluster(blackholeName, 'blackhole');
  }

  const routeConfigs = new Map<string, CompiledRouteConfig>();
  for (const [name, rc] of Object.entries(cfg.routes ?? {})) {
    const was = p?.routes?.[name];
    const live = was && prev!.routeConfigs.get(name);
    routeConfigs.set(name, c.routeConfig({ ...rc, name: rc.name ?? name }, live && { src: was, compiled: live }));
  }

  const outbound = new Map<number, CompiledOutbound>();
  for (const [key, op] of Object.entries(cfg.outbound ?? {})) {
    const where = `outbound port ${key}`;
    checkProtocol(op.protocol, where);
    const port = Number(op.port ?? key);
    if (op.protocol === 'http') {
      const routes = routeConfigs.get(op.routeConfig ?? String(port));
      if (!routes) throw new ProxyConfigError(`${where}: route config "${op.routeConfig ?? port}" does not exist`);
      outbound.set(port, { port, protocol: 'http', routes });
    } else {
      const tcp = new Map<string, CompiledTcpRoute[]>();
      for (const [host, rules] of Object.entries(op.tcp ?? {})) tcp.set(host.toLowerCase(), c.tcpRoutes(rules, `${where}, host "${host}"`));
      outbound.set(port, { port, protocol: 'tcp', tcp });
    }
    if (op.tls) outbound.get(port)!.tls = compileTlsHosts(c, op.tls, where);
  }

  const binds = new Set<number>();
  const claim = (p: number, where: string): void => {
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw new ProxyConfigError(`${where}: invalid bind port ${p}`);
    if (binds.has(p)) throw new ProxyConfigError(`${where}: bind port ${p} is used by another listener`);
    binds.add(p);
  };

  const inbound = (cfg.inbound ?? []).map((ip) => {
    const where = `inbound port ${ip.port}`;
    checkProtocol(ip.protocol, where);
    claim(ip.bindPort, where);
    const name = ip.cluster || `inbound|${ip.port}||`;
    if (!sameClusters) {
      const ep = { address: appIP ?? cfg.node.appIP ?? cfg.node.podIP, port: ip.appPort, ready: true };
      const given = clusters[name];
      // The inbound cluster always points at the app; the control plane may supply one (for its limits) or not.
      clusters[name] = given ? { ...given, endpoints: given.endpoints.length ? given.endpoints : [ep] } : defaultCluster(name, 'eds', { endpoints: [ep], lbPolicy: 'ROUND_ROBIN' });
    }
    const dest: CompiledDest = { name, cum: 1, ops: { request: noOps, response: noOps } };
    c.bind(dest);
    // Istio ≥1.24 inbound default: 2 retries on reset-before-request, no timeout (semantics §2.9).
    const route: CompiledRoute = {
      name: 'default',
      match: matchAll,
      action: { kind: 'route', dests: [dest], total: 1, timeoutMs: 0, retry: { num: 2, on: RETRY.resetBeforeRequest, codes: new Set(), perTryMs: 0, avoid: false, baseMs: 25 }, mirrors: [], expectedTimeout: '' },
    };
    return { src: ip, key: `${ip.protocol}:${ip.bindPort}`, route, dest, service: ip.services?.[0] };
  });

  const gateway = (cfg.gateway ?? []).map((gp) => {
    const where = `gateway port ${gp.port}`;
    checkProtocol(gp.protocol, where);
    claim(gp.bindPort, where);
    if (gp.protocol === 'http') {
      const routes = routeConfigs.get(gp.routeConfig ?? `http.${gp.port}`);
      if (!routes && !gp.httpsRedirect) throw new ProxyConfigError(`${where}: route config "${gp.routeConfig ?? `http.${gp.port}`}" does not exist`);
      return { src: gp, key: `http:${gp.bindPort}`, routes };
    }
    const tls = gp.tls && compileTlsRoutes(c, gp.tls, where);
    return { src: gp, key: `tcp:${gp.bindPort}`, tcp: c.tcpRoutes(gp.tcp ?? [], where), ...(tls && { tls }) };
  });

  const ptDest: CompiledDest = { name: passthroughName, cum: 1, ops: { request: noOps, response: noOps } };
  c.bind(ptDest);
  const passthrough: CompiledRoute = { name: 'allow_any', match: matchAll, action: { kind: 'route', dests: [ptDest], total: 1, timeoutMs: 0, retry: noRetry, mirrors: [], expectedTimeout: '' } };

  return {
    version,
    source: cfg,
    node: cfg.node,
    outbound,
    inbound,
    gateway,
    routeConfigs,
    clusters,
    allowAny: cfg.outboundTrafficPolicy !== 'REGISTRY_ONLY',
    accessLog: cfg.accessLog?.enabled === true,
    peer: encodePeer(cfg.node),
    passthrough,
    bindings: c.bindings,
    fresh: c.fresh,
    parts: c.parts,
  };
}

/**
 * Points compiled destinations at their live clusters (undefined = 503 NC at request time): every
 * one after a cluster change, else only those this compile made (reused parts' point at the same
 * live clusters already).
 */
export function bindClusters(c: Compiled, get: (name: string) => UpstreamCluster | undefined, all = true): void {
  for (const b of all ? c.bindings : c.fresh) b.cluster = get(b.name);
}
