/**
 * Host and selector helpers the analyzers share, ported from istio/istio 1.27
 * pkg/config/analysis/analyzers/util (hosts.go, service_lookup.go) and the Kubernetes label
 * selector semantics istioctl relies on.
 */
import type { AnalysisContext, Resource } from './analyze-messages.ts';
import { arr, num, obj, str, strMap, strs } from './validate-util.ts';

/** A service as the analyzers see it: a ServiceEntry, or a Kubernetes Service converted to one. */
export interface ServiceLike {
  hosts: string[];
  ports: { number: number; name: string; protocol: string }[];
  workloadSelector?: Record<string, string>;
}

const CLUSTER_SUFFIX = '.svc.cluster.local';

/** `util.ConvertHostToFQDN`: short names become `<name>.<ns>.svc.cluster.local`. */
export function toFQDN(namespace: string, host: string): string {
  return !host.startsWith('*') && !host.includes('.') ? `${host}.${namespace}${CLUSTER_SUFFIX}` : host;
}

/** `util.GetFullNameFromFQDN` (`^(.+)\.(.+)\.svc\.cluster\.local$`), without regex backtracking. */
export function fullNameFromFQDN(fqdn: string): { namespace: string; name: string } | undefined {
  if (!fqdn.endsWith(CLUSTER_SUFFIX)) return undefined;
  const rest = fqdn.slice(0, -CLUSTER_SUFFIX.length);
  // The first group is greedy: split at the last dot that leaves both sides non-empty.
  for (let i = rest.lastIndexOf('.'); i >= 0; i = i > 0 ? rest.lastIndexOf('.', i - 1) : -1) {
    if (i > 0 && i < rest.length - 1) return { name: rest.slice(0, i), namespace: rest.slice(i + 1) };
  }
  return undefined;
}

/** `util.GetResourceNameFromHost`: the `ns/name` a destination host refers to. */
export function resourceNameFromHost(defaultNamespace: string, host: string): string {
  const fn = fullNameFromFQDN(host);
  return fn ? `${fn.namespace}/${fn.name}` : `${defaultNamespace}/${host}`;
}

/** The `scope/fqdn` key of a host visible in `scope` (`*` = everywhere). */
function scoped(scope: string, namespace: string, host: string): string {
  return `${scope}/${toFQDN(namespace, host)}`;
}

/** `util.InitServiceEntryHostMap`: every host of every ServiceEntry and Service, by visibility scope. */
export function serviceHostMap(ctx: AnalysisContext): Map<string, ServiceLike> {
  const result = new Map<string, ServiceLike>();
  for (const r of ctx.list('networking.istio.io/ServiceEntry')) {
    const se: ServiceLike = {
      hosts: strs(r.spec.hosts),
      ports: arr(r.spec.ports).map((p) => ({ number: num(obj(p)?.number), name: str(obj(p)?.name), protocol: str(obj(p)?.protocol) })),
      workloadSelector: strMap(obj(r.spec.workloadSelector)?.labels),
    };
    const exportTo = strs(r.spec.exportTo);
    let toAll = false;
    for (const h of se.hosts) {
      if (exportTo.length === 0 || toAll) {
        result.set(scoped('*', r.namespace, h), se);
        continue;
      }
      for (const e of exportTo) {
        if (e === '*') {
          result.set(scoped('*', r.namespace, h), se);
          toAll = true;
          break;
        }
        result.set(scoped(e === '.' ? r.namespace : e, r.namespace, h), se);
      }
    }
  }
  for (const r of ctx.list('/Service')) {
    const se: ServiceLike = {
      hosts: [toFQDN(r.namespace, r.name)],
      ports: arr(r.spec.ports).map((p) => ({ number: num(obj(p)?.port), name: str(obj(p)?.name), protocol: str(obj(p)?.protocol) })),
    };
    const anno = r.annotations['networking.istio.io/exportTo'] ?? '';
    const scopes = anno === '' ? ['*'] : anno.split(',').map((s) => s.trim()).map((s) => (s === '.' ? r.namespace : s));
    for (const scope of scopes) result.set(scoped(scope, r.namespace, r.name), se);
  }
  return result;
}

/** `util.GetDestinationHost`: the service a host names, as seen from `sourceNs` with the rule's exportTo. */
export function destinationService(sourceNs: string, exportTo: string[], host: string, services: Map<string, ServiceLike>): ServiceLike | undefined {
  const all = services.get(scoped('*', sourceNs, host));
  if (all) return all;
  if (exportTo.length === 0) {
    const s = services.get(scoped(sourceNs, sourceNs, host));
    if (s) return s;
  } else {
    for (const raw of exportTo) {
      const e = raw === '.' ? sourceNs : raw;
      const s = services.get(scoped(e, sourceNs, host));
      if (s) return s;
    }
  }
  for (const [key, s] of services) {
    const slash = key.indexOf('/');
    const scope = key.slice(0, slash);
    const seHost = key.slice(slash + 1);
    if (!seHost.startsWith('*')) continue;
    if (scope !== '*' && scope !== sourceNs) continue;
    const hostTail = host.startsWith('*') ? host.slice(1) : host;
    if (hostTail.endsWith(seHost.slice(1))) return s;
  }
  return undefined;
}

/** Kubernetes `labels.SelectorFromSet(sel).Matches(labels)`: an empty selector matches everything. */
export function selectorMatches(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector ?? {})) if (labels[k] !== v) return false;
  return true;
}

/** Kubernetes `labels.SelectorFromSet(sel).String()`: `k=v` pairs sorted by key, comma-joined. */
export function selectorString(selector: Record<string, string> | undefined): string {
  return Object.keys(selector ?? {}).sort().map((k) => `${k}=${selector![k]}`).join(',');
}

/** The pod template labels of a Deployment. */
export function templateLabels(r: Resource): Record<string, string> {
  return strMap(obj(obj(r.spec.template)?.metadata)?.labels) ?? {};
}

/** The containers (and init containers) of a pod spec. */
export function containersOf(podSpec: unknown): Record<string, unknown>[] {
  const s = obj(podSpec);
  return [...arr(s?.containers), ...arr(s?.initContainers)].map((c) => obj(c) ?? {});
}

/** `util.hasIstioProxy`: a container named istio-proxy with an image. */
export function hasIstioProxy(podSpec: unknown, withInit = true): boolean {
  const s = obj(podSpec);
  const list = withInit ? containersOf(s) : arr(s?.containers).map((c) => obj(c) ?? {});
  const proxy = list.find((c) => c.name === 'istio-proxy');
  return !!proxy && str(proxy.image) !== '';
}

/**
 * `util.inMesh`: has a proxy, or the pod's inject label/annotation says so, or its namespace has
 * `istio-injection=enabled`.
 */
export function inMesh(ctx: AnalysisContext, namespace: string, labels: Record<string, string>, annotations: Record<string, string>, podSpec: unknown, withInit: boolean): boolean {
  if (hasIstioProxy(podSpec, withInit)) return true;
  const key = 'sidecar.istio.io/inject';
  if (key in labels) return labels[key] === 'true';
  if (key in annotations) return annotations[key] === 'true';
  const ns = ctx.find('/Namespace', '', namespace);
  return ns ? ns.labels['istio-injection'] === 'enabled' : false;
}
