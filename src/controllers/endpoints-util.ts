/**
 * Pure Endpoints / EndpointSlice computation, after pkg/controller/endpoint and
 * pkg/controller/endpointslice: which pods, which ports (targetPort by number or by container port
 * name), ready or not, and the repacking of addresses into subsets by identical port sets.
 */
import type { KObject } from '../api/index.ts';
import { isPodReady, stableStringify } from './util.ts';

export const serviceNameLabel = 'kubernetes.io/service-name';
export const managedByLabel = 'endpointslice.kubernetes.io/managed-by';
export const managedBy = 'endpointslice-controller.k8s.io';
export const headlessLabel = 'service.kubernetes.io/headless';

interface ServicePort {
  name?: string;
  port?: number;
  targetPort?: number | string;
  protocol?: string;
  appProtocol?: string;
}

export interface EndpointPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

/** True when the service selects pods (a nil or empty selector means the user manages endpoints). */
export function hasSelector(svc: KObject): boolean {
  const s = svc.spec?.selector;
  return !!s && typeof s === 'object' && Object.keys(s).length > 0;
}

/** The service's selector matches the labels. */
export function selects(svc: KObject, labels: Record<string, string> | undefined): boolean {
  const s = (svc.spec?.selector ?? {}) as Record<string, string>;
  const keys = Object.keys(s);
  if (!keys.length) return false;
  return keys.every((k) => labels?.[k] === s[k]);
}

/** The pod's IP, when it has one. */
export function podIP(pod: KObject): string | undefined {
  const ip = pod.status?.podIP ?? pod.status?.podIPs?.[0]?.ip;
  return typeof ip === 'string' && ip ? ip : undefined;
}

/** FindPort: the container port a service port targets on this pod, or undefined. */
export function findPort(pod: KObject, sp: ServicePort): number | undefined {
  const tp = sp.targetPort ?? sp.port;
  if (typeof tp === 'number') return tp;
  if (typeof tp !== 'string' || tp === '') return undefined;
  const proto = sp.protocol ?? 'TCP';
  for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
    for (const p of c?.ports ?? []) if (p?.name === tp && (p.protocol ?? 'TCP') === proto) return p.containerPort;
  }
  return undefined;
}

/** The endpoint ports a pod offers for the service (ports whose target cannot be resolved are left out). */
export function podPorts(svc: KObject, pod: KObject): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of (svc.spec?.ports ?? []) as ServicePort[]) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const ep: EndpointPort = sp.name ? { name: sp.name, port, protocol: sp.protocol ?? 'TCP' } : { port, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

function terminal(pod: KObject): boolean {
  const p = pod.status?.phase;
  return p === 'Failed' || p === 'Succeeded';
}

function targetRef(pod: KObject): Record<string, string> {
  return { kind: 'Pod', namespace: pod.metadata.namespace ?? '', name: pod.metadata.name ?? '', uid: pod.metadata.uid ?? '' };
}

function hostnameFor(svc: KObject, pod: KObject): string | undefined {
  const h = pod.spec?.hostname;
  return h && pod.spec?.subdomain === svc.metadata.name && pod.metadata.namespace === svc.metadata.namespace ? h : undefined;
}

function ipCompare(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return a < b ? -1 : a > b ? 1 : 0;
}

function portCompare(a: EndpointPort, b: EndpointPort): number {
  return (a.name ?? '').localeCompare(b.name ?? '') || a.port - b.port || a.protocol.localeCompare(b.protocol);
}

/**
 * Endpoints subsets for a service and its selected pods: pods with an IP, not terminating and not
 * finished; ready ones under `addresses`, others under `notReadyAddresses`; one subset per set of
 * addresses sharing the same ports (RepackSubsets). Empty when no pod qualifies.
 */
export function computeSubsets(svc: KObject, pods: KObject[]): Array<Record<string, unknown>> {
  const tolerate = svc.spec?.publishNotReadyAddresses === true;
  const headless = svc.spec?.clusterIP === 'None';
  const noPorts = !(svc.spec?.ports ?? []).length;
  if (noPorts && !headless) return [];
  // port key → address key → [address, ready]
  const byPort = new Map<string, { port: EndpointPort | undefined; addrs: Map<string, [Record<string, unknown>, boolean]> }>();
  for (const pod of pods) {
    const ip = podIP(pod);
    if (!ip || terminal(pod) || pod.metadata.deletionTimestamp) continue;
    const addr: Record<string, unknown> = { ip };
    const host = hostnameFor(svc, pod);
    if (host) addr.hostname = host;
    if (pod.spec?.nodeName) addr.nodeName = pod.spec.nodeName;
    addr.targetRef = targetRef(pod);
    const ready = tolerate || isPodReady(pod);
    const ports: Array<EndpointPort | undefined> = noPorts ? [undefined] : podPorts(svc, pod);
    for (const port of ports) {
      const pk = port ? stableStringify(port) : '';
      let e = byPort.get(pk);
      if (!e) byPort.set(pk, (e = { port, addrs: new Map() }));
      e.addrs.set(`${ip}/${pod.metadata.uid}`, [addr, ready]);
    }
  }
  // Group the ports whose address sets are identical.
  const groups = new Map<string, { ports: EndpointPort[]; addrs: Map<string, [Record<string, unknown>, boolean]> }>();
  for (const { port, addrs } of byPort.values()) {
    const key = [...addrs.entries()].map(([k, [, r]]) => `${k}:${r ? 1 : 0}`).sort().join(',');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports: [], addrs }));
    if (port) g.ports.push(port);
  }
  const subsets: Array<Record<string, unknown>> = [];
  for (const g of groups.values()) {
    const list = [...g.addrs.values()].sort((a, b) => ipCompare(String(a[0].ip), String(b[0].ip)) || String((a[0].targetRef as { uid: string }).uid).localeCompare(String((b[0].targetRef as { uid: string }).uid)));
    const ready = list.filter(([, r]) => r).map(([a]) => a);
    const notReady = list.filter(([, r]) => !r).map(([a]) => a);
    const s: Record<string, unknown> = {};
    if (ready.length) s.addresses = ready;
    if (notReady.length) s.notReadyAddresses = notReady;
    if (g.ports.length) s.ports = [...g.ports].sort(portCompare);
    subsets.push(s);
  }
  return subsets.sort((a, b) => stableStringify(a).localeCompare(stableStringify(b)));
}

/** The Endpoints object a service should have. */
export function desiredEndpoints(svc: KObject, pods: KObject[]): KObject {
  const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
  if (svc.spec?.clusterIP === 'None') labels[headlessLabel] = '';
  const ep: KObject = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: svc.metadata.name, namespace: svc.metadata.namespace } };
  if (Object.keys(labels).length) ep.metadata.labels = labels;
  const subsets = computeSubsets(svc, pods);
  if (subsets.length) ep.subsets = subsets;
  return ep;
}

/** One EndpointSlice's content: its ports and endpoints. */
export interface SliceContent {
  ports: EndpointPort[] | undefined;
  endpoints: Array<Record<string, unknown>>;
}

/**
 * EndpointSlice contents for a service: every pod with an IP that is not finished (terminating ones
 * included, with conditions), grouped by port set. A service with no endpoints gets one empty
 * placeholder slice, as upstream.
 */
export function desiredSlices(svc: KObject, pods: KObject[]): SliceContent[] {
  const tolerate = svc.spec?.publishNotReadyAddresses === true;
  const groups = new Map<string, SliceContent>();
  for (const pod of pods) {
    const ip = podIP(pod);
    if (!ip || terminal(pod)) continue;
    const terminating = !!pod.metadata.deletionTimestamp;
    const podReady = isPodReady(pod);
    const ep: Record<string, unknown> = {
      addresses: [ip],
      conditions: { ready: (podReady || tolerate) && !terminating, serving: podReady || tolerate, terminating },
    };
    const host = hostnameFor(svc, pod);
    if (host) ep.hostname = host;
    ep.targetRef = targetRef(pod);
    if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
    const ports = ((svc.spec?.ports ?? []) as ServicePort[])
      .map((sp) => {
        const port = findPort(pod, sp);
        if (port === undefined) return undefined;
        const p: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
        if (sp.appProtocol) p.appProtocol = sp.appProtocol;
        return p;
      })
      .filter((p): p is EndpointPort => p !== undefined)
      .sort(portCompare);
    const key = stableStringify(ports);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports, endpoints: [] }));
    g.endpoints.push(ep);
  }
  const out = [...groups.values()];
  for (const g of out) g.endpoints.sort((a, b) => ipCompare(String((a.addresses as string[])[0]), String((b.addresses as string[])[0])));
  if (!out.length) out.push({ ports: undefined, endpoints: [] });
  return out;
}

/** Labels of a managed EndpointSlice: the service's labels plus the service name and manager. */
export function sliceLabels(svc: KObject): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}), [serviceNameLabel]: svc.metadata.name ?? '', [managedByLabel]: managedBy };
  if (svc.spec?.clusterIP === 'None') labels[headlessLabel] = '';
  return labels;
}

/** What of a pod matters to endpoints; pod writes that leave it unchanged need no resync. */
export function podFingerprint(pod: KObject): string {
  return stableStringify([
    pod.metadata.labels,
    podIP(pod),
    isPodReady(pod),
    !!pod.metadata.deletionTimestamp,
    pod.status?.phase,
    pod.spec?.nodeName,
    pod.spec?.hostname,
    pod.spec?.subdomain,
    (pod.spec?.containers ?? []).map((c: { ports?: unknown }) => c?.ports),
  ]);
}
