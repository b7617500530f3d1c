/**
 * The per-push index (DESIGN §4): Kubernetes and Istio objects turned once into lookups every proxy
 * shares — services by host with their endpoints per port (pods joined by IP for labels and
 * workload metadata), VirtualServices compiled and grouped by gateway and visibility (push_context
 * initVirtualServices), DestinationRules merged per namespace (setDestinationRules), Gateways,
 * Sidecars. buildProxyConfig then only selects and assembles.
 */
import type { KObject } from '../../api/index.ts';
import { parsePortMap } from '../../net/index.ts';
import { sameList, type Endpoint, type WorkloadMeta } from '../proxy/model.ts';
import { mergeDelegates } from './delegate.ts';
import { indexDestinationRules, type DrTable } from './destination-rules.ts';
import { byAge, cmp, meta, parseExportTo, portProtocol, resolveHost, type ExportTo, type PortProtocol } from './hosts.ts';
import type { GatewaySpec, SidecarSpec, TCPRoute, TLSRoute, VirtualServiceSpec } from './istio-types.ts';
import { compileHttpRule, resolveGatewayName, type CompiledHttpRule } from './routes-compile.ts';
import { serviceEntryServices } from './service-entry.ts';
import { podIPOf, workloadMeta } from './workload.ts';

/** The world as the informers hold it: plain object lists, plus mesh-wide settings. */
export interface MeshWorld {
  namespaces: KObject[];
  services: KObject[];
  endpointSlices: KObject[];
  pods: KObject[];
  virtualServices: KObject[];
  destinationRules: KObject[];
  gateways: KObject[];
  serviceEntries: KObject[];
  sidecars: KObject[];
  mesh?: MeshSettings;
}

/** Mesh-wide settings (a subset of Istio's MeshConfig). */
export interface MeshSettings {
  rootNamespace?: string;
  outboundTrafficPolicy?: 'ALLOW_ANY' | 'REGISTRY_ONLY';
  /** Default true: the course's demo profile logs to stdout. */
  accessLog?: boolean;
  connectTimeoutMs?: number;
  /** Where proxies report spans (`skiff up --tracing-url`, see tracingSettings); absent = no tracer, as Istio ≥1.22. */
  tracingCollector?: { kind: 'zipkin' | 'otlp'; url: string };
  /** Percent of requests sampled when a proxy starts a trace (Istio's default 1 %; its demo profile 100). */
  samplingPercent?: number;
}

/** Mesh defaults, applied once in buildIndex. */
export const meshDefaults = {
  rootNamespace: 'istio-system',
  outboundTrafficPolicy: 'ALLOW_ANY',
  accessLog: true,
  connectTimeoutMs: 10000,
  samplingPercent: 1,
} as const;

export interface ServicePort {
  name: string;
  port: number;
  protocol: PortProtocol;
  /** Kubernetes: the targetPort (number or container port name); ServiceEntry: the endpoint port. */
  targetPort?: number | string;
}

/** A service in the registry: a Kubernetes Service or one host of a ServiceEntry. */
export interface MeshService {
  host: string;
  name: string;
  namespace: string;
  kube: boolean;
  /** Cluster IPs / ServiceEntry addresses: extra vhost domains and TCP keys. */
  addresses: string[];
  /** UDP ports are left out (Istio does not proxy UDP). */
  ports: ServicePort[];
  exportTo: ExportTo;
  selector?: Record<string, string>;
  /** ServiceEntry resolution NONE: connections go to the address the client dialled. */
  passthrough: boolean;
  /** Endpoints per service port number. */
  endpoints: Map<number, Endpoint[]>;
  created: string;
}

/** A VirtualService compiled once per push. */
export interface CompiledVs {
  name: string;
  namespace: string;
  created: string;
  /** Resolved, lower-cased. */
  hosts: string[];
  /** Resolved `ns/name` or `mesh`; `[mesh]` when unset. */
  gateways: string[];
  http: CompiledHttpRule[];
  tcp: TCPRoute[];
  tls: TLSRoute[];
}

export interface GatewayEntry {
  name: string;
  namespace: string;
  created: string;
  spec: GatewaySpec;
}

export interface SidecarEntry {
  name: string;
  namespace: string;
  spec: SidecarSpec;
}

/** VirtualServices bound to one gateway name, by visibility (private to / exported to a namespace, public). */
interface VsBucket {
  private: Map<string, CompiledVs[]>;
  exported: Map<string, CompiledVs[]>;
  public: CompiledVs[];
}

/** Mesh settings with defaults applied. */
export type ResolvedMesh = Required<Omit<MeshSettings, 'tracingCollector'>> & Pick<MeshSettings, 'tracingCollector'>;

/** The lists of a MeshWorld, each compared by element identity between pushes. */
const worldLists = ['namespaces', 'services', 'endpointSlices', 'pods', 'virtualServices', 'destinationRules', 'gateways', 'serviceEntries', 'sidecars'] as const;

/**
 * Per list of the world (and the mesh settings): a number that changes whenever the list does. A
 * list is unchanged when it holds the same objects in the same order (informers replace an object
 * on every change and keep the rest), so two indexes with equal numbers saw equal inputs.
 */
export type Generations = Record<(typeof worldLists)[number] | 'mesh', number>;

interface Carried {
  deps: readonly unknown[];
  value: unknown;
}

/** Everything buildProxyConfig needs, computed once per push. */
export interface MeshIndex {
  mesh: ResolvedMesh;
  /** All services, sorted by host then namespace. */
  services: MeshService[];
  /** Services per host, Kubernetes first, then oldest first. */
  byHost: Map<string, MeshService[]>;
  /** Kubernetes services with a selector, per namespace (inbound ports, gateway ports). */
  kubeByNamespace: Map<string, MeshService[]>;
  podsByIP: Map<string, KObject>;
  virtualServices: CompiledVs[];
  vsByGateway: Map<string, VsBucket>;
  drLocal: Map<string, DrTable>;
  drExported: Map<string, DrTable>;
  drRootLocal: DrTable;
  gateways: GatewayEntry[];
  /** Per namespace: Sidecars with a workloadSelector first, then without; each oldest first. */
  sidecars: Map<string, SidecarEntry[]>;
  /** Memo of per-proxy lookups that only depend on the namespace (filled lazily). */
  memo: Map<string, unknown>;
  /** The world this index was built from. */
  world: MeshWorld;
  gens: Generations;
  /** Parts kept for the next push's index (see carried()). */
  carried: Map<string, Carried>;
  /** The previous index's, for lookups; dropped with it. */
  prevCarried?: Map<string, Carried>;
}

/**
 * A part of a push's output that may be the previous push's very object: `build()`'s value for
 * `key`, reused when the previous index built `key` from the same `deps` (compared with ===:
 * generations, objects, strings). A reused part keeps its identity, so the push serializes and
 * compares it as one already sent (push.ts) instead of building, serializing and diffing it again.
 * `deps` must name everything `build` reads besides `key`'s own meaning; what is not looked up in
 * a push is not carried further.
 */
export function carried<T>(index: MeshIndex, key: string, deps: readonly unknown[], build: () => T): T {
  const hit = index.carried.get(key) ?? index.prevCarried?.get(key);
  if (hit && sameList(hit.deps, deps)) {
    index.carried.set(key, hit);
    return hit.value as T;
  }
  const value = build();
  index.carried.set(key, { deps, value });
  return value;
}

function generations(world: MeshWorld, prev: MeshIndex | undefined): Generations {
  const g = { mesh: prev ? prev.gens.mesh + Number(world.mesh !== prev.world.mesh) : 0 } as Generations;
  for (const k of worldLists) g[k] = prev ? prev.gens[k] + Number(!sameList(world[k], prev.world[k])) : 0;
  return g;
}

/** Endpoints of a Kubernetes Service per service port, from its EndpointSlices joined with pods. */
function sliceEndpoints(svc: MeshService, slices: KObject[], pods: Map<string, KObject>, metaOf: (pod: KObject) => WorkloadMeta): void {
  for (const sp of svc.ports) {
    const list: Endpoint[] = [];
    const seen = new Set<string>();
    for (const slice of slices) {
      const port = ((slice.ports ?? []) as Array<{ name?: string; port?: number }>).find((p) => (p.name ?? '') === sp.name);
      if (!port?.port) continue;
      for (const e of (slice.endpoints ?? []) as Array<{ addresses?: string[]; conditions?: { ready?: boolean } }>) {
        const address = e.addresses?.[0];
        if (typeof address !== 'string') continue;
        const pod = pods.get(address);
        // The node agent remaps privileged ports; endpoints point at the port actually bound.
        const bound = (pod && parsePortMap(pod)?.get(port.port)) ?? port.port;
        const key = `${address}:${bound}`;
        if (seen.has(key)) continue;
        seen.add(key);
        // Kubernetes: a nil `ready` condition means ready; terminating endpoints are not ready.
        const ep: Endpoint = { address, port: bound, ready: e.conditions?.ready !== false };
        if (pod) {
          ep.labels = pod.metadata.labels ?? {};
          ep.workload = metaOf(pod);
        }
        list.push(ep);
      }
    }
    list.sort((a, b) => cmp(a.address, b.address) || a.port - b.port);
    svc.endpoints.set(sp.port, list);
  }
}

/** A Kubernetes Service as a registry service `<name>.<ns>.svc.cluster.local`. */
function kubeService(o: KObject): MeshService {
  const m = meta(o);
  const ips = [o.spec?.clusterIP, ...((o.spec?.clusterIPs ?? []) as string[])].filter((ip): ip is string => typeof ip === 'string' && ip !== '' && ip !== 'None');
  const ports: ServicePort[] = [];
  for (const p of (o.spec?.ports ?? []) as Array<{ name?: string; port: number; targetPort?: number | string; protocol?: string; appProtocol?: string }>) {
    const protocol = portProtocol(p.name, { appProtocol: p.appProtocol, transport: p.protocol, port: p.port });
    if (protocol === 'udp') continue;
    ports.push({ name: p.name ?? '', port: p.port, protocol, targetPort: p.targetPort });
  }
  const selector = o.spec?.selector && Object.keys(o.spec.selector).length ? (o.spec.selector as Record<string, string>) : undefined;
  return {
    host: resolveHost(m.name, m.namespace),
    name: m.name,
    namespace: m.namespace,
    kube: true,
    addresses: [...new Set(ips)],
    ports,
    exportTo: parseExportTo(o.metadata.annotations?.['networking.istio.io/exportTo'], m.namespace),
    selector,
    passthrough: false,
    endpoints: new Map(),
    created: m.created,
  };
}

/** Adds a VirtualService to the buckets of each gateway it binds to (initVirtualServices). */
function indexVs(buckets: Map<string, VsBucket>, vs: CompiledVs, exportTo: ExportTo): void {
  for (const gw of vs.gateways) {
    let b = buckets.get(gw);
    if (!b) buckets.set(gw, (b = { private: new Map(), exported: new Map(), public: [] }));
    if (exportTo === undefined) {
      b.public.push(vs);
      continue;
    }
    for (const ns of [...exportTo].sort(cmp)) {
      const into = ns === vs.namespace ? b.private : b.exported;
      let list = into.get(ns);
      if (!list) into.set(ns, (list = []));
      list.push(vs);
    }
  }
}

/** VirtualServices bound to `gateway` visible from `ns`: private, exported to ns, then public; each oldest first. */
export function virtualServicesFor(index: MeshIndex, ns: string, gateway: string): CompiledVs[] {
  const key = `vs\0${ns}\0${gateway}`;
  const hit = index.memo.get(key) as CompiledVs[] | undefined;
  if (hit) return hit;
  const b = index.vsByGateway.get(gateway);
  const out = b ? [...(b.private.get(ns) ?? []), ...(b.exported.get(ns) ?? []), ...b.public] : [];
  index.memo.set(key, out);
  return out;
}

/** The service registry of an index: what Services, ServiceEntries, EndpointSlices and Pods make. */
type Registry = Pick<MeshIndex, 'services' | 'byHost' | 'kubeByNamespace' | 'podsByIP'>;

/**
 * Builds the per-push index from the world (call once per debounce window). With `prev`, the
 * index of an earlier push, what the world's changes leave as it was is taken over from it: the
 * service registry, and the parts carried() kept.
 */
export function buildIndex(world: MeshWorld, prev?: MeshIndex): MeshIndex {
  const gens = generations(world, prev);
  const sameRegistry = prev && (['services', 'serviceEntries', 'endpointSlices', 'pods'] as const).every((k) => gens[k] === prev.gens[k]);
  const registry = sameRegistry ? prev : buildRegistry(world);
  return {
    ...buildConfigIndex(world),
    services: registry.services,
    byHost: registry.byHost,
    kubeByNamespace: registry.kubeByNamespace,
    podsByIP: registry.podsByIP,
    memo: new Map(),
    world,
    gens,
    carried: new Map(),
    ...(prev && { prevCarried: prev.carried }),
  };
}

function resolveMesh(m: MeshSettings): ResolvedMesh {
  const mesh: ResolvedMesh = {
    rootNamespace: m.rootNamespace ?? meshDefaults.rootNamespace,
    outboundTrafficPolicy: m.outboundTrafficPolicy ?? meshDefaults.outboundTrafficPolicy,
    accessLog: m.accessLog ?? meshDefaults.accessLog,
    connectTimeoutMs: m.connectTimeoutMs ?? meshDefaults.connectTimeoutMs,
    samplingPercent: m.samplingPercent ?? meshDefaults.samplingPercent,
  };
  if (m.tracingCollector) mesh.tracingCollector = m.tracingCollector;
  return mesh;
}

function buildRegistry(world: MeshWorld): Registry {
  const podsByIP = new Map<string, KObject>();
  for (const p of world.pods) {
    const ip = podIPOf(p);
    const phase = p.status?.phase;
    if (ip && phase !== 'Succeeded' && phase !== 'Failed') podsByIP.set(ip, p);
  }

  const slicesBySvc = new Map<string, KObject[]>();
  for (const s of world.endpointSlices) {
    const svc = s.metadata.labels?.['kubernetes.io/service-name'];
    if (!svc) continue;
    const key = `${s.metadata.namespace}/${svc}`;
    const list = slicesBySvc.get(key);
    if (list) list.push(s);
    else slicesBySvc.set(key, [s]);
  }
  for (const list of slicesBySvc.values()) list.sort((a, b) => cmp(a.metadata.name ?? '', b.metadata.name ?? ''));

  // A pod backs several services and ports: compute its telemetry metadata once (shared by its endpoints).
  const metas = new Map<KObject, WorkloadMeta>();
  const metaOf = (pod: KObject) => {
    let m = metas.get(pod);
    if (!m) metas.set(pod, (m = workloadMeta(pod)));
    return m;
  };
  const services: MeshService[] = [];
  const kubeByNamespace = new Map<string, MeshService[]>();
  for (const o of world.services) {
    if (o.spec?.type === 'ExternalName') continue; // aliases are not modelled
    const svc = kubeService(o);
    sliceEndpoints(svc, slicesBySvc.get(`${svc.namespace}/${svc.name}`) ?? [], podsByIP, metaOf);
    services.push(svc);
    if (svc.selector) {
      const list = kubeByNamespace.get(svc.namespace);
      if (list) list.push(svc);
      else kubeByNamespace.set(svc.namespace, [svc]);
    }
  }
  for (const list of kubeByNamespace.values()) list.sort((a, b) => cmp(a.name, b.name));
  for (const se of world.serviceEntries) services.push(...serviceEntryServices(se, podsByIP));
  services.sort((a, b) => cmp(a.host, b.host) || cmp(a.namespace, b.namespace));
  const byHost = new Map<string, MeshService[]>();
  for (const s of services) {
    const list = byHost.get(s.host);
    if (list) list.push(s);
    else byHost.set(s.host, [s]);
  }
  // Kubernetes services take precedence over ServiceEntries for the same host, then the oldest wins.
  for (const list of byHost.values()) list.sort((a, b) => Number(b.kube) - Number(a.kube) || cmp(a.created, b.created) || cmp(a.namespace, b.namespace));
  return { services, byHost, kubeByNamespace, podsByIP };
}

/** The Istio side of an index: VirtualServices, DestinationRules, Gateways and Sidecars. */
function buildConfigIndex(world: MeshWorld): Omit<MeshIndex, keyof Registry | 'memo' | 'world' | 'gens' | 'carried' | 'prevCarried'> {
  const mesh = resolveMesh(world.mesh ?? {});
  const rawVs = world.virtualServices.map((o) => ({ ...meta(o), spec: (o.spec ?? {}) as VirtualServiceSpec })).sort(byAge);
  const virtualServices: CompiledVs[] = [];
  const vsByGateway = new Map<string, VsBucket>();
  for (const v of mergeDelegates(rawVs)) {
    const vs: CompiledVs = {
      name: v.name,
      namespace: v.namespace,
      created: v.created,
      hosts: (v.spec.hosts ?? []).map((h) => resolveHost(h, v.namespace)),
      gateways: v.spec.gateways?.length ? v.spec.gateways.map((g) => resolveGatewayName(g, v.namespace)) : ['mesh'],
      http: (v.spec.http ?? []).map((r) => compileHttpRule(r, v.namespace)),
      tcp: v.spec.tcp ?? [],
      tls: v.spec.tls ?? [],
    };
    virtualServices.push(vs);
    indexVs(vsByGateway, vs, parseExportTo(v.spec.exportTo, v.namespace));
  }

  const { drLocal, drExported, drRootLocal } = indexDestinationRules(world.destinationRules, mesh.rootNamespace);

  const gateways = world.gateways.map((o) => ({ ...meta(o), spec: (o.spec ?? {}) as GatewaySpec })).sort(byAge);

  const sidecars = new Map<string, SidecarEntry[]>();
  const rawSc = world.sidecars.map((o) => ({ ...meta(o), spec: (o.spec ?? {}) as SidecarSpec })).sort(byAge);
  const withSelector = (s: { spec: SidecarSpec }) => !!s.spec.workloadSelector?.labels && Object.keys(s.spec.workloadSelector.labels).length > 0;
  for (const sc of [...rawSc.filter(withSelector), ...rawSc.filter((s) => !withSelector(s))]) {
    const list = sidecars.get(sc.namespace);
    const entry = { name: sc.name, namespace: sc.namespace, spec: sc.spec };
    if (list) list.push(entry);
    else sidecars.set(sc.namespace, [entry]);
  }

  return { mesh, virtualServices, vsByGateway, drLocal, drExported, drRootLocal, gateways, sidecars };
}

/** True when a service is visible from namespace `ns` (IsServiceVisible). */
export function serviceVisible(svc: MeshService, ns: string): boolean {
  return svc.exportTo === undefined || svc.exportTo.has(ns);
}
