/**
 * The in-memory view the proxies route with: services by name and by cluster IP, endpoints compiled
 * into per-port arrays of ready targets, pods by IP with their port maps. Fed synchronously from
 * informer events, so a readiness change is visible to the next connection; pick() is O(1).
 */
import type { KObject } from '../api/index.ts';
import { endpointTargets, parsePortMap, podIPOf, type Target } from './names.ts';

export const clusterDefaults = {
  /** sessionAffinityConfig.clientIP.timeoutSeconds when unset (Kubernetes' default, 3 hours). */
  affinityTimeoutSeconds: 10800,
  /** Affinity entries per service port before expired ones are swept (lazily, on insert: no timer). */
  affinitySweepAt: 4096,
};

/** One service port compiled for selection. */
export interface PortTable {
  name: string;
  port: number;
  /** Ready targets; replaced wholesale on change so a pick never sees a half-built list. */
  eps: Target[];
  keys: Set<string>;
  /** Addresses ready or not, for "0 of 3 ready" messages. */
  total: number;
  rr: number;
  /** ClientIP affinity: client → target and expiry (ms); undefined without affinity. */
  sticky: Map<string, { t: Target; until: number }> | undefined;
  affinityMs: number;
}

/** A service as the proxies see it. */
export interface ServiceEntry {
  ns: string;
  name: string;
  key: string;
  /** '' for ExternalName, 'None' for headless. */
  clusterIP: string;
  type: string;
  externalName: string | undefined;
  obj: KObject;
  tables: PortTable[];
  byPort: Map<number | string, PortTable>;
}

/** What a resolved name stands for. */
export type Resolved = { kind: 'service'; ns: string; name: string; clusterIP: string } | { kind: 'pod'; ip: string };

/** The outcome of choosing an upstream for a service port. */
export type PickResult =
  | { ok: true; target: Target }
  | { ok: false; reason: 'no-port'; ports: number[] }
  | { ok: false; reason: 'no-endpoints'; total: number };

/** Picks from a compiled table: ClientIP affinity first, else round robin. */
export function pickFrom(t: PortTable, clientIP: string | undefined, now: number): Target | undefined {
  const n = t.eps.length;
  if (n === 0) return undefined;
  const sticky = t.sticky && clientIP ? t.sticky : undefined;
  if (sticky) {
    const s = sticky.get(clientIP!);
    // The pinned target must still be ready (kube-proxy drops the affinity entry with the endpoint).
    if (s && s.until > now && t.keys.has(s.t.key)) {
      s.until = now + t.affinityMs;
      return s.t;
    }
  }
  const i = t.rr % n;
  t.rr = i + 1;
  const chosen = t.eps[i];
  if (sticky) {
    if (sticky.size >= clusterDefaults.affinitySweepAt) for (const [k, v] of sticky) if (v.until <= now) sticky.delete(k);
    sticky.set(clientIP!, { t: chosen, until: now + t.affinityMs });
  }
  return chosen;
}

function affinityMsOf(svc: KObject): number {
  if (svc.spec?.sessionAffinity !== 'ClientIP') return 0;
  const s = svc.spec?.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  return (typeof s === 'number' && s > 0 ? s : clusterDefaults.affinityTimeoutSeconds) * 1000;
}

/** The routing index. Handlers mutate it; readers get plain values. */
export class ClusterIndex {
  #services = new Map<string, ServiceEntry>();
  #byClusterIP = new Map<string, ServiceEntry>();
  #endpoints = new Map<string, KObject>();
  #pods = new Map<string, KObject>();
  #portMaps = new Map<string, Map<number, number>>();
  // Bound once: passed to endpointTargets on every compile.
  #mapPort = (ip: string, port: number): number => this.mapPort(ip, port);

  /** Applies a Service change (add, update or delete) and recompiles its tables. */
  onService(type: string, svc: KObject): void {
    const key = `${svc.metadata.namespace ?? ''}/${svc.metadata.name ?? ''}`;
    const old = this.#services.get(key);
    if (old && this.#byClusterIP.get(old.clusterIP) === old) this.#byClusterIP.delete(old.clusterIP);
    if (type === 'DELETED') {
      this.#services.delete(key);
      return;
    }
    const spec = svc.spec ?? {};
    const entry: ServiceEntry = {
      ns: svc.metadata.namespace ?? '',
      name: svc.metadata.name ?? '',
      key,
      clusterIP: spec.type === 'ExternalName' ? '' : typeof spec.clusterIP === 'string' ? spec.clusterIP : '',
      type: spec.type ?? 'ClusterIP',
      externalName: typeof spec.externalName === 'string' ? spec.externalName : undefined,
      obj: svc,
      tables: [],
      byPort: new Map(),
    };
    const affinityMs = affinityMsOf(svc);
    for (const p of (spec.ports ?? []) as Array<{ name?: string; port?: number; protocol?: string }>) {
      if ((p.protocol ?? 'TCP') !== 'TCP' || typeof p.port !== 'number') continue;
      const name = p.name ?? '';
      // Keep round-robin position and affinity pins across spec updates of the same port.
      const prev = old?.byPort.get(p.port);
      const keep = prev && prev.name === name && prev.affinityMs === affinityMs;
      const t: PortTable = {
        name,
        port: p.port,
        eps: [],
        keys: new Set(),
        total: 0,
        rr: keep ? prev.rr : 0,
        sticky: affinityMs ? (keep && prev.sticky) || new Map() : undefined,
        affinityMs,
      };
      entry.tables.push(t);
      entry.byPort.set(p.port, t);
      if (name) entry.byPort.set(name, t);
    }
    this.#services.set(key, entry);
    if (entry.clusterIP && entry.clusterIP !== 'None') this.#byClusterIP.set(entry.clusterIP, entry);
    this.#compile(entry);
  }

  /** Applies an Endpoints change: recompiles that service's tables. */
  onEndpoints(type: string, ep: KObject): void {
    const key = `${ep.metadata.namespace ?? ''}/${ep.metadata.name ?? ''}`;
    if (type === 'DELETED') this.#endpoints.delete(key);
    else this.#endpoints.set(key, ep);
    const s = this.#services.get(key);
    if (s) this.#compile(s);
  }

  /**
   * Applies a Pod change. Returns the pod IPs whose proxy listener may need to change (old and new
   * IP), empty when the IP and phase are unchanged.
   */
  onPod(type: string, pod: KObject, old: KObject | undefined): string[] {
    const ip = type === 'DELETED' ? undefined : podIPOf(pod);
    const oldIP = old ? podIPOf(old) : type === 'DELETED' ? podIPOf(pod) : undefined;
    const uid = pod.metadata.uid;
    if (oldIP && oldIP !== ip && this.#pods.get(oldIP)?.metadata.uid === uid) {
      // Only forget the IP if no newer pod took it over meanwhile.
      this.#pods.delete(oldIP);
      this.#setPortMap(oldIP, undefined, pod.metadata.namespace ?? '');
    }
    if (ip) {
      this.#pods.set(ip, pod);
      this.#setPortMap(ip, parsePortMap(pod), pod.metadata.namespace ?? '');
    }
    if (ip === oldIP && old?.status?.phase === pod.status?.phase) return [];
    return [oldIP, ip].filter((x): x is string => !!x);
  }

  /** The pod holding an IP. */
  podByIP(ip: string): KObject | undefined {
    return this.#pods.get(ip);
  }

  /** A container port of a pod as the app actually bound it (port-map annotation). */
  mapPort(ip: string, port: number): number {
    return this.#portMaps.get(ip)?.get(port) ?? port;
  }

  /** A service entry by namespace and name. */
  service(ns: string, name: string): ServiceEntry | undefined {
    return this.#services.get(`${ns}/${name}`);
  }

  /** Every service entry. */
  services(): IterableIterator<ServiceEntry> {
    return this.#services.values();
  }

  /** Resolves an IP literal or a cluster name (see serviceName in names.ts) to a service or pod. */
  resolveIP(ip: string): Resolved | undefined {
    const s = this.#byClusterIP.get(ip);
    if (s) return { kind: 'service', ns: s.ns, name: s.name, clusterIP: s.clusterIP };
    return this.#pods.has(ip) ? { kind: 'pod', ip } : undefined;
  }

  /** Chooses an upstream for a service port (number or name); the allocation-free variant for the TCP hot path. */
  pickTarget(ns: string, name: string, port: number | string, clientIP: string | undefined): Target | undefined {
    const t = this.#services.get(`${ns}/${name}`)?.byPort.get(port);
    return t && pickFrom(t, clientIP, t.sticky ? Date.now() : 0);
  }

  /** Chooses an upstream for a service port (number or name), saying why when there is none. */
  pick(ns: string, name: string, port: number | string, clientIP: string | undefined): PickResult {
    const s = this.#services.get(`${ns}/${name}`);
    const t = s?.byPort.get(port);
    if (!t) return { ok: false, reason: 'no-port', ports: s ? s.tables.map((x) => x.port) : [] };
    // Date.now() only when affinity needs it: round robin stays allocation- and syscall-free.
    const target = pickFrom(t, clientIP, t.sticky ? Date.now() : 0);
    return target ? { ok: true, target } : { ok: false, reason: 'no-endpoints', total: t.total };
  }

  #setPortMap(ip: string, m: Map<number, number> | undefined, ns: string): void {
    const cur = this.#portMaps.get(ip);
    if (!cur && !m) return;
    if (cur && m && cur.size === m.size && [...m].every(([k, v]) => cur.get(k) === v)) return;
    if (m) this.#portMaps.set(ip, m);
    else this.#portMaps.delete(ip);
    // Rare (set once when a pod starts): recompile the namespace's services so targets carry the bound port.
    for (const s of this.#services.values()) if (s.ns === ns) this.#compile(s);
  }

  #compile(s: ServiceEntry): void {
    const ep = this.#endpoints.get(s.key);
    for (const t of s.tables) {
      const { ready, total } = endpointTargets(ep, t.name, this.#mapPort);
      t.eps = ready;
      t.keys = new Set(ready.map((r) => r.key));
      t.total = total;
    }
  }
}
