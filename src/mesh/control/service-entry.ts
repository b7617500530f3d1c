/**
 * ServiceEntry → registry services (one per host), with endpoints from `endpoints[]`, from the
 * hosts themselves (DNS resolution without endpoints) or from selected pods (`workloadSelector`).
 * Traffic never leaves loopback (DESIGN §3): only loopback addresses, and names that stand for one
 * without DNS (`localhost`, `*.localhost`, 127.x nip.io/sslip.io names), become endpoints; any
 * other address is dropped, so such a host's cluster has no endpoints (503 UH) instead of
 * reaching the outside world.
 */
import type { KObject } from '../../api/index.ts';
import { isLoopback, loopbackNameAddress, parsePortMap } from '../../net/index.ts';
import type { Endpoint } from '../proxy/model.ts';
import { cmp, labelsMatch, parseExportTo, portProtocol } from './hosts.ts';
import type { ServiceEntrySpec } from './istio-types.ts';
import type { MeshService, ServicePort } from './world.ts';
import { workloadMeta } from './workload.ts';

/** The loopback IP an endpoint address stands for, or undefined when it is not a loopback one. */
function loopbackAddress(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const a = address.toLowerCase();
  if (isLoopback(a)) return a;
  if (a === 'localhost') return '127.0.0.1';
  return loopbackNameAddress(a);
}

/** Endpoints of pods selected by the entry's workloadSelector (same namespace), per port. */
function selectedPodEndpoints(ns: string, selector: Record<string, string>, port: ServicePort, pods: Map<string, KObject>): Endpoint[] {
  const out: Endpoint[] = [];
  for (const [ip, pod] of pods) {
    if (pod.metadata.namespace !== ns || !labelsMatch(selector, pod.metadata.labels)) continue;
    const target = typeof port.targetPort === 'number' ? port.targetPort : port.port;
    out.push({ address: ip, port: parsePortMap(pod)?.get(target) ?? target, labels: pod.metadata.labels ?? {}, ready: true, workload: workloadMeta(pod) });
  }
  return out.sort((a, b) => cmp(a.address, b.address));
}

/** The registry services of one ServiceEntry. */
export function serviceEntryServices(o: KObject, pods: Map<string, KObject>): MeshService[] {
  const spec = (o.spec ?? {}) as ServiceEntrySpec;
  const ns = o.metadata.namespace ?? 'default';
  const created = String(o.metadata.creationTimestamp ?? '');
  const resolution = spec.resolution ?? 'NONE';
  const selector = spec.workloadSelector?.labels && Object.keys(spec.workloadSelector.labels).length ? spec.workloadSelector.labels : undefined;
  const ports: ServicePort[] = [];
  for (const p of spec.ports ?? []) {
    const protocol = portProtocol(p.protocol ?? p.name, { port: p.number });
    if (protocol === 'udp') continue;
    ports.push({ name: p.name ?? '', port: p.number, protocol, targetPort: p.targetPort });
  }
  // VIPs and CIDRs are only matched against, never connected to; CIDRs cannot be vhost domains.
  const addresses = (spec.addresses ?? []).filter((a) => !a.includes('/'));
  const exportTo = parseExportTo(spec.exportTo, ns);
  const out: MeshService[] = [];
  for (const rawHost of spec.hosts ?? []) {
    const host = rawHost.toLowerCase();
    const endpoints = new Map<number, Endpoint[]>();
    for (const port of ports) {
      let list: Endpoint[] = [];
      if (selector) {
        list = selectedPodEndpoints(ns, selector, port, pods);
      } else if (resolution !== 'NONE') {
        // DNS resolution without endpoints: the host name itself is the endpoint.
        const sources = spec.endpoints?.length ? spec.endpoints : resolution.includes('DNS') ? [{ address: host }] : [];
        for (const e of sources) {
          const address = loopbackAddress(e.address);
          if (!address) continue;
          const named = e.ports && Object.hasOwn(e.ports, port.name) ? e.ports[port.name] : undefined;
          const ep: Endpoint = { address, port: named ?? (typeof port.targetPort === 'number' ? port.targetPort : port.port), ready: true };
          if (e.labels) ep.labels = e.labels;
          if (e.weight) ep.weight = e.weight;
          list.push(ep);
        }
      }
      endpoints.set(port.port, list);
    }
    out.push({
      host,
      name: host,
      namespace: ns,
      kube: false,
      addresses,
      ports,
      exportTo,
      selector,
      passthrough: resolution === 'NONE' && !selector,
      endpoints,
      created,
    });
  }
  return out;
}
