/**
 * What a sidecar can see (sidecar.go SidecarScope): without a Sidecar resource, every service and
 * mesh VirtualService exported to its namespace; with one, only the `egress` hosts it imports
 * (`ns/host`, `./*`, `*\/host`, `~/*` = nothing) plus the services those VirtualServices route to.
 */
import { cmp, hostsMatch, hostSubsetOf, isWildcard, labelsMatch } from './hosts.ts';
import { compileDestination } from './routes-compile.ts';
import type { CompiledVs, MeshIndex, MeshService, SidecarEntry } from './world.ts';
import { serviceVisible, virtualServicesFor } from './world.ts';

export interface SidecarScope {
  /** A stable key of the Sidecar resource applied (`''` = none). */
  key: string;
  services: MeshService[];
  /** Mesh VirtualServices in scope, in precedence order. */
  virtualServices: CompiledVs[];
  outboundTrafficPolicy: 'ALLOW_ANY' | 'REGISTRY_ONLY';
  /** Some rule in scope filters on labels (sourceLabels, workloadSelector), so config differs between pods of the namespace. */
  labelDependent: boolean;
}

/** The Sidecar resource for a pod: a selecting one of its namespace, else its namespace's default, else the root namespace's. */
export function sidecarResource(index: MeshIndex, ns: string, labels: Record<string, string>): SidecarEntry | undefined {
  for (const sc of index.sidecars.get(ns) ?? []) {
    const sel = sc.spec.workloadSelector?.labels;
    if (!sel || !Object.keys(sel).length || labelsMatch(sel, labels)) return sc;
  }
  return index.sidecars.get(index.mesh.rootNamespace)?.find((sc) => !sc.spec.workloadSelector?.labels || !Object.keys(sc.spec.workloadSelector.labels).length);
}

/**
 * Egress hosts by namespace (`*` for any); undefined when the resource imports everything (no
 * egress). Egress `port`, `bind` and `captureMode` are not applied: an imported service is
 * visible on all its ports (Skiff has a single outbound listener that demultiplexes by port).
 */
function importedHosts(sc: SidecarEntry | undefined, ns: string): Map<string, string[]> | undefined {
  const egress = sc?.spec.egress;
  if (!egress?.length) return undefined;
  const out = new Map<string, string[]>();
  for (const e of egress) {
    for (const entry of e.hosts ?? []) {
      const slash = entry.indexOf('/');
      if (slash < 0) continue; // hosts must be `namespace/dnsName`
      let hostNs = entry.slice(0, slash);
      if (hostNs === '~') continue;
      if (hostNs === '.') hostNs = ns;
      const list = out.get(hostNs);
      const host = entry.slice(slash + 1).toLowerCase();
      if (list) list.push(host);
      else out.set(hostNs, [host]);
    }
  }
  return out;
}

function imports(hosts: Map<string, string[]>, ns: string, host: string): boolean {
  return !!(hosts.get(ns)?.some((h) => hostsMatch(host, h)) || hosts.get('*')?.some((h) => hostsMatch(host, h)));
}

/** The service a host names for a proxy in `ns`: the one in `prefer` first, else the first visible (Kubernetes, then oldest). */
export function visibleService(index: MeshIndex, host: string, ns: string, prefer?: string): MeshService | undefined {
  const list = index.byHost.get(host);
  if (!list) return undefined;
  if (prefer !== undefined) {
    const p = list.find((s) => s.namespace === prefer && serviceVisible(s, ns));
    if (p) return p;
  }
  return list.find((s) => serviceVisible(s, ns));
}

/** The hosts a VirtualService routes or mirrors to (virtualServiceDestinations). */
function destinationsOf(vs: CompiledVs): string[] {
  const out: string[] = [];
  for (const r of vs.http) {
    for (const d of r.destinations) out.push(d.dest.host);
    for (const m of r.mirrors) out.push(m.dest.host);
  }
  for (const t of vs.tcp) for (const d of t.route ?? []) if (d.destination) out.push(compileDestination(d.destination, vs.namespace).host);
  for (const t of vs.tls) for (const d of t.route ?? []) if (d.destination) out.push(compileDestination(d.destination, vs.namespace).host);
  return out;
}

function labelDependent(vss: CompiledVs[]): boolean {
  const l4 = (rules: Array<{ match?: Array<{ sourceLabels?: Record<string, string> }> }>) => rules.some((t) => t.match?.some((m) => m.sourceLabels && Object.keys(m.sourceLabels).length));
  return vss.some((vs) => vs.http.some((r) => r.matches?.some((m) => m.sourceLabels)) || l4(vs.tcp) || l4(vs.tls));
}

function selectorRules(index: MeshIndex, ns: string): boolean {
  const t = index.drLocal.get(ns);
  if (!t) return false;
  for (const list of t.exact.values()) if (list.some((d) => d.selector)) return true;
  return t.wild.some(([, list]) => list.some((d) => d.selector));
}

/** The scope of a sidecar in namespace `ns` with the given labels (memoized per namespace and Sidecar resource). */
export function sidecarScope(index: MeshIndex, ns: string, labels: Record<string, string>): SidecarScope {
  const sc = sidecarResource(index, ns, labels);
  const key = sc ? `${sc.namespace}/${sc.name}` : '';
  const memoKey = `scope\0${ns}\0${key}`;
  const hit = index.memo.get(memoKey) as SidecarScope | undefined;
  if (hit) return hit;
  const hosts = importedHosts(sc, ns);
  let vss = virtualServicesFor(index, ns, 'mesh');
  const chosen = new Map<string, MeshService>();
  for (const [host, list] of index.byHost) {
    const svc = list.find((s) => serviceVisible(s, ns));
    if (svc && (!hosts || imports(hosts, svc.namespace, host))) chosen.set(host, svc);
  }
  if (hosts) {
    vss = vss.filter((vs) => vs.hosts.some((h) => imports(hosts, vs.namespace, h)));
    // Services the imported VirtualServices route to are imported too; the one in the proxy's namespace is preferred.
    for (const vs of vss) {
      for (const h of destinationsOf(vs)) {
        if (chosen.has(h)) continue;
        const list = (index.byHost.get(h) ?? []).filter((s) => serviceVisible(s, ns));
        const svc = list.find((s) => s.namespace === ns) ?? [...list].sort((a, b) => cmp(a.namespace, b.namespace))[0];
        if (svc) chosen.set(h, svc);
      }
    }
  }
  const services = [...chosen.values()].sort((a, b) => cmp(a.host, b.host));
  const scope: SidecarScope = {
    key,
    services,
    virtualServices: vss,
    outboundTrafficPolicy: sc?.spec.outboundTrafficPolicy?.mode ?? index.mesh.outboundTrafficPolicy,
    // DestinationRules with a workloadSelector make clusters differ between pods of the namespace too.
    labelDependent: labelDependent(vss) || selectorRules(index, ns),
  };
  index.memo.set(memoKey, scope);
  return scope;
}

/**
 * The VirtualServices that may own a service host, in precedence order: those naming it exactly,
 * and the one with the most specific wildcard host covering it (computeWildcardHostVirtualServiceIndex).
 */
export function vsCandidates(vss: CompiledVs[], host: string): CompiledVs[] {
  let wild: CompiledVs | undefined;
  let wildLen = -1;
  const out: CompiledVs[] = [];
  for (const vs of vss) {
    if (vs.hosts.includes(host)) {
      out.push(vs);
      continue;
    }
    for (const h of vs.hosts) {
      if (isWildcard(h) && h.length > wildLen && hostSubsetOf(host, h)) {
        wild = vs;
        wildLen = h.length;
      }
    }
  }
  if (wild && !out.includes(wild)) {
    out.push(wild);
    out.sort((a, b) => vss.indexOf(a) - vss.indexOf(b));
  }
  return out;
}

/** The hosts of a VirtualService that name no service in scope (routed on port 80 only, as Istio does). */
export function nonServiceHosts(vs: CompiledVs, services: MeshService[], byHost: Set<string>): string[] {
  return vs.hosts.filter((h) => (isWildcard(h) ? !services.some((s) => hostSubsetOf(s.host, h)) : !byHost.has(h)));
}
