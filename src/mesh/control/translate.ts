/**
 * Kubernetes + Istio objects → one ProxyConfig per proxy (DESIGN §4, rule 4). Pure and
 * deterministic: buildIndex once per push, then buildProxyConfig per sidecar or gateway pod;
 * identical inputs give byte-identical JSON (whatever the order of the input lists), so the push
 * loop can skip unchanged configs.
 *
 * Configs built from one index share sub-objects (clusters, route configs, the outbound half of
 * pods in the same namespace and scope): treat them as immutable. Sharing is also what keeps a
 * push cheap — a serializer may cache per object identity.
 */
import type { KObject } from '../../api/index.ts';
import { appIPFor } from '../../net/index.ts';
import type { Cluster, ProxyConfig } from '../proxy/model.ts';
import { buildGateway } from './translate-gateway.ts';
import { buildInbound, buildSidecarOutbound } from './translate-sidecar.ts';
import { carried, type MeshIndex, type MeshSettings } from './world.ts';
import { isGatewayPod, podIPOf, proxyNode } from './workload.ts';

export { buildIndex, meshDefaults } from './world.ts';
export type { MeshIndex, MeshSettings, MeshWorld } from './world.ts';
export { appIPFor } from '../../net/index.ts';
export { isGatewayPod } from './workload.ts';

/** Bad tracing settings (a `skiff up --tracing-url` the proxies could not use). */
export class MeshSettingsError extends Error {
  readonly code = 'SKIFF_ERR_MESH_SETTINGS';
}

/**
 * Mesh tracing settings for a collector URL (`skiff up --tracing-url`): Zipkin JSON v2 unless the
 * URL is OTLP/HTTP's (`/v1/traces` path or port 4318) or `kind` says; a URL without a path gets the
 * kind's (`/api/v2/spans`, `/v1/traces`) in the proxy. `samplingPercent` left out keeps Istio's
 * default 1 % (PILOT_TRACE_SAMPLING); Istio's demo profile, which the course installs, uses 100.
 */
export function tracingSettings(url: string, o: { kind?: 'zipkin' | 'otlp'; samplingPercent?: number } = {}): Pick<MeshSettings, 'tracingCollector' | 'samplingPercent'> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new MeshSettingsError(`invalid tracing collector URL "${url}": expected http://host:port[/path]`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new MeshSettingsError(`invalid tracing collector URL "${url}": only http:// and https:// collectors are supported`);
  const p = o.samplingPercent;
  if (p !== undefined && !(p >= 0 && p <= 100)) throw new MeshSettingsError(`invalid tracing sampling "${p}": a percentage from 0 to 100`);
  const kind = o.kind ?? (u.pathname.endsWith('/v1/traces') || u.port === '4318' ? 'otlp' : 'zipkin');
  const out: Pick<MeshSettings, 'tracingCollector' | 'samplingPercent'> = { tracingCollector: { kind, url } };
  if (p !== undefined) out.samplingPercent = p;
  return out;
}

/** The same for every proxy of a push: computed once per index, shared like the rest. */
function observability(index: MeshIndex): Pick<ProxyConfig, 'accessLog' | 'tracing'> {
  return carried(index, 'observability', [index.gens.mesh], () => {
    const tracing: ProxyConfig['tracing'] = { samplingPerMillion: Math.max(0, Math.min(1000000, Math.trunc(index.mesh.samplingPercent * 10000))) };
    if (index.mesh.tracingCollector) tracing.collector = { ...index.mesh.tracingCollector };
    return { accessLog: { enabled: index.mesh.accessLog }, tracing };
  });
}

const clusterParts = new WeakMap<Record<string, Cluster>, { shared: Record<string, Cluster>; own: Cluster[] }>();

/**
 * How a config's cluster map was made: a map shared with other proxies plus this proxy's own
 * clusters (which win on a name clash), or undefined when the map is used as it is. The push
 * serializes and compares the shared part once for all proxies (push.ts).
 */
export function clustersOf(clusters: Record<string, Cluster>): { shared: Record<string, Cluster>; own: Cluster[] } | undefined {
  return clusterParts.get(clusters);
}

/** The configuration of one proxy: a gateway when isGatewayPod(pod), else the pod's sidecar. */
export function buildProxyConfig(index: MeshIndex, pod: KObject): ProxyConfig {
  const gateway = isGatewayPod(pod);
  const id = `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`;
  // A pod's own parts are carried while the pod object (and what else they read) stays the same.
  const node = carried(index, `node\0${id}`, [pod], () => proxyNode(pod, gateway));
  if (gateway) {
    const g = buildGateway(index, pod);
    return {
      node,
      outbound: {},
      inbound: [],
      gateway: g.gateway,
      routes: g.routes,
      clusters: g.clusters,
      outboundTrafficPolicy: index.mesh.outboundTrafficPolicy,
      ...observability(index),
    };
  }
  const ns = node.namespace;
  const out = buildSidecarOutbound(index, ns, node.labels);
  const ip = podIPOf(pod);
  // buildInbound reads the pod, the Kubernetes Services (selectors, ports, names) and the mesh settings.
  const inb = carried(index, `inbound\0${id}`, [pod, index.gens.services, index.gens.mesh], () => buildInbound(index, pod, ip ? appIPFor(ip) : ''));
  let clusters: Record<string, Cluster> = out.clusters;
  if (inb.clusters.length) {
    // The outbound half is shared between pods; inbound clusters go into a copy of the map.
    clusters = carried(index, `clusters\0${id}`, [out.clusters, inb.clusters], () => {
      const map = { ...out.clusters };
      for (const c of inb.clusters) map[c.name] = c;
      clusterParts.set(map, { shared: out.clusters, own: inb.clusters });
      return map;
    });
  }
  return {
    node,
    outbound: out.outbound,
    inbound: inb.inbound,
    gateway: [],
    routes: out.routes,
    clusters,
    outboundTrafficPolicy: out.outboundTrafficPolicy,
    ...observability(index),
  };
}
