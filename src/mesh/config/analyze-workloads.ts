/**
 * Istio 1.27's analyzers for workloads and policies (pkg/config/analysis/analyzers: injection,
 * sidecar, service, deployment, authz, serviceentry, deprecation, schema), with their IST codes.
 */
import { containersOf, inMesh, selectorMatches, selectorString, templateLabels } from './analyze-hosts.ts';
import type { AnalysisContext, Resource } from './analyze-messages.ts';
import { runIstioValidation } from './validate.ts';
import { parseProtocol } from './validate-names.ts';
import { arr, num, obj, str, strMap, strs } from './validate-util.ts';

/** schema.ValidationAnalyzer: the webhook's checks, as IST0106 / IST0133 / IST0130 / IST0131. */
export function analyzeSchemas(ctx: AnalysisContext, keys: readonly string[]): void {
  for (const key of keys) {
    for (const r of ctx.list(key)) {
      const issues = runIstioValidation(r.object, false, {
        unreachable: (ruleno, reason) => ctx.report(r, 'VirtualServiceUnreachableRule', ruleno, reason),
        ineffective: (ruleno, matchno, dupno) => ctx.report(r, 'VirtualServiceIneffectiveMatch', ruleno, matchno, dupno),
      });
      for (const e of issues?.errors ?? []) ctx.report(r, 'SchemaValidationError', e);
      for (const w of issues?.warnings ?? []) ctx.report(r, 'SchemaWarning', w);
    }
  }
}

/** `enableNamespacesByDefault` from the injector ConfigMap's values, if one is present. */
function namespacesInjectedByDefault(ctx: AnalysisContext, revision: string): boolean {
  const name = revision === '' || revision === 'default' ? 'istio-sidecar-injector' : `istio-sidecar-injector-${revision}`;
  const cm = ctx.list('/ConfigMap').find((c) => c.name === name && c.namespace === 'istio-system');
  try {
    const values: unknown = JSON.parse(str(obj(cm?.object.data)?.values));
    return obj(obj(values)?.sidecarInjectorWebhook)?.enableNamespacesByDefault === true;
  } catch {
    return false;
  }
}

/** injection.Analyzer: namespaces without injection (IST0102/IST0148/IST0123) and pods without a proxy (IST0103). */
export function analyzeInjection(ctx: AnalysisContext): void {
  const injected = new Set<string>();
  for (const ns of ctx.list('/Namespace')) {
    if (ns.name === 'istio-system') continue;
    const hasLabel = 'istio-injection' in ns.labels;
    const injection = ns.labels['istio-injection'] ?? '';
    const hasRev = 'istio.io/rev' in ns.labels;
    const istioLabels: string[] = [];
    if (hasLabel) istioLabels.push(`istio-injection=${injection}`);
    for (const l of ['istio.io/rev', 'istio.io/dataplane-mode']) {
      if (l in ns.labels && (!hasLabel || injection === 'enabled')) istioLabels.push(`${l}=${ns.labels[l]}`);
    }
    if (istioLabels.length > 1) ctx.report(ns, 'NamespaceMultipleInjectionLabels', istioLabels);
    if (ns.labels['istio.io/dataplane-mode'] === 'ambient') continue;
    if (injection === '' && !hasRev) {
      if (namespacesInjectedByDefault(ctx, ns.labels['istio.io/rev'] ?? '')) ctx.report(ns, 'NamespaceInjectionEnabledByDefault');
      else ctx.report(ns, 'NamespaceNotInjected', ns.name, ns.name);
      continue;
    }
    if (injection === 'enabled') injected.add(ns.name);
  }
  for (const pod of ctx.list('/Pod')) {
    if (!injected.has(pod.namespace)) continue;
    const inject = pod.labels['sidecar.istio.io/inject'] ?? pod.annotations['sidecar.istio.io/inject'] ?? '';
    if (inject.toLowerCase() === 'false' || pod.spec.hostNetwork === true) continue;
    const proxy = containersOf(pod.spec).find((c) => c.name === 'istio-proxy');
    if (!proxy || str(proxy.image) === '') ctx.report(pod, 'PodMissingProxy', `${pod.namespace}/${pod.name}`);
  }
}

function ambientPod(pod: Resource | undefined): boolean {
  return pod?.annotations['ambient.istio.io/redirection'] === 'enabled';
}

function ambientNamespace(ns: Resource | undefined): boolean {
  if (!ns || ns.labels['istio-injection'] === 'enabled' || (ns.labels['istio.io/rev'] ?? '') !== '') return false;
  return ns.labels['istio.io/dataplane-mode'] === 'ambient';
}

/** sidecar.SelectorAnalyzer: selectors matching no pod (IST0101), overlapping Sidecars (IST0110, IST0111). */
export function analyzeSidecarSelectors(ctx: AnalysisContext): void {
  const podsToSidecars = new Map<Resource, Resource[]>();
  const namespaceWide = new Map<string, Resource[]>();
  for (const sc of ctx.list('networking.istio.io/Sidecar')) {
    const labels = strMap(obj(sc.spec.workloadSelector)?.labels) ?? {};
    if (Object.keys(labels).length === 0) {
      namespaceWide.set(sc.namespace, [...(namespaceWide.get(sc.namespace) ?? []), sc]);
      continue;
    }
    let found = false;
    for (const pod of ctx.list('/Pod')) {
      if (pod.namespace !== sc.namespace || !selectorMatches(labels, pod.labels)) continue;
      found = true;
      podsToSidecars.set(pod, [...(podsToSidecars.get(pod) ?? []), sc]);
    }
    if (!found) ctx.report(sc, 'ReferencedResourceNotFound', 'selector', selectorString(labels));
  }
  const reported = new Set<Resource>();
  const names = (list: Resource[]): string[] => list.map((s) => s.name).sort();
  for (const [pod, list] of podsToSidecars) {
    if (list.length === 1 && !ambientPod(pod)) continue;
    for (const sc of list) {
      if (ambientPod(pod)) {
        if (!reported.has(sc)) ctx.report(sc, 'IneffectivePolicy', 'selected workload is in ambient mode, the policy has no impact');
        reported.add(sc);
        continue;
      }
      ctx.report(sc, 'ConflictingSidecarWorkloadSelectors', names(list), pod.namespace, pod.name);
    }
  }
  for (const [ns, list] of namespaceWide) {
    if (ambientNamespace(ctx.find('/Namespace', '', ns))) {
      for (const sc of list) {
        if (!reported.has(sc)) ctx.report(sc, 'IneffectivePolicy', 'namespace is in ambient mode, the policy has no impact');
        reported.add(sc);
      }
      continue;
    }
    if (list.length > 1) for (const sc of list) ctx.report(sc, 'MultipleSidecarsWithoutWorkloadSelectors', names(list), ns);
  }
}

function isControlPlane(r: Resource): boolean {
  return 'istio' in r.labels || r.labels.release === 'istio';
}

/** `kube.ConvertProtocol`: the protocol Istio infers for a Service port. */
function servicePortProtocol(port: number, name: string, protocol: string, appProtocol: unknown): string {
  if (protocol === 'UDP') return 'UDP';
  let n = name;
  if (typeof appProtocol === 'string') {
    n = appProtocol;
    if (n === 'kubernetes.io/h2c') return 'HTTP2';
    if (n === 'kubernetes.io/ws') return 'HTTP';
    if (n === 'kubernetes.io/wss') return 'HTTPS';
  }
  if (n.toLowerCase().startsWith('grpc-web')) return 'GRPC-Web';
  const dash = n.indexOf('-');
  const p = parseProtocol(dash >= 0 ? n.slice(0, dash) : n);
  if (p === 'UnsupportedProtocol' && [25, 53, 3306, 27017].includes(port)) return 'TCP';
  return p;
}

/** A Service port's targetPort as IntOrString prints it (defaulted to the port when unset). */
function targetPortString(p: Record<string, unknown>): string {
  const tp = p.targetPort;
  if (typeof tp === 'number' || typeof tp === 'string') return String(tp);
  return String(num(p.port));
}

/** service.PortNameAnalyzer: port names Istio cannot infer a protocol from (IST0118, IST0150). */
export function analyzePortNames(ctx: AnalysisContext): void {
  const managed = ['istio.io-gateway-controller', 'istio.io-mesh-controller', 'istio.io-eastwest-controller'];
  for (const svc of ctx.list('/Service')) {
    if (isControlPlane(svc) || managed.includes(svc.labels['gateway.istio.io/managed'] ?? '')) continue;
    const external = svc.spec.type === 'ExternalName';
    for (const raw of arr(svc.spec.ports)) {
      const p = obj(raw) ?? {};
      const name = str(p.name);
      const proto = servicePortProtocol(num(p.port), name, str(p.protocol), p.appProtocol);
      if (proto !== 'UnsupportedProtocol' && !(name === 'tcp' && external)) continue;
      if (external) ctx.report(svc, 'ExternalNameServiceTypeInvalidPortName');
      else ctx.report(svc, 'PortNameIsNotUnderNamingConvention', name, num(p.port), targetPortString(p));
    }
  }
}

/** deployment.ServiceAssociationAnalyzer: one deployment, several services, clashing protocols (IST0116) or ports (IST0137). */
export function analyzeDeploymentServices(ctx: AnalysisContext): void {
  for (const d of ctx.list('apps/Deployment')) {
    if (d.labels['gateway.istio.io/managed'] === 'istio.io-mesh-controller') continue;
    const tmpl = obj(d.spec.template);
    const labels = templateLabels(d);
    const annotations = strMap(obj(tmpl?.metadata)?.annotations) ?? {};
    if (!inMesh(ctx, d.namespace, labels, annotations, tmpl?.spec, false)) continue;
    const services = ctx.list('/Service').filter((s) => {
      const sel = strMap(s.spec.selector) ?? {};
      return Object.keys(sel).length > 0 && s.namespace === d.namespace && selectorMatches(sel, labels);
    });
    const byPort = new Map<number, Map<string, string[]>>();
    const byTarget = new Map<string, Map<number, string>>();
    for (const s of services) {
      const name = `${s.namespace}/${s.name}`;
      for (const raw of arr(s.spec.ports)) {
        const p = obj(raw) ?? {};
        const port = num(p.port);
        const protocols = byPort.get(port) ?? new Map<string, string[]>();
        byPort.set(port, protocols);
        const proto = str(p.protocol) || 'TCP';
        protocols.set(proto, [...(protocols.get(proto) ?? []), name]);
        let tp = targetPortString(p);
        if (tp === '0' || tp === '') tp = String(port);
        const ports = byTarget.get(tp) ?? new Map<number, string>();
        byTarget.set(tp, ports);
        ports.set(port, name);
      }
    }
    for (const [port, protocols] of byPort) {
      if (protocols.size > 1) ctx.report(d, 'DeploymentAssociatedToMultipleServices', d.name, port, [...protocols.values()].flat().sort());
    }
    for (const [tp, ports] of byTarget) {
      if (ports.size > 1) {
        ctx.report(d, 'DeploymentConflictingPorts', d.name, [...ports.values()].sort(), tp, [...ports.keys()].sort((a, b) => a - b));
      }
    }
  }
}

function runsAs1337(podSpec: unknown): number {
  const s = obj(podSpec);
  let hits = obj(s?.securityContext)?.runAsUser === 1337 ? 1 : 0;
  for (const c of arr(s?.containers).map(obj)) {
    if (c && c.name !== 'istio-proxy' && c.name !== 'istio-operator' && obj(c.securityContext)?.runAsUser === 1337) hits++;
  }
  return hits;
}

/** applicationUID.Analyzer: workloads running as the proxy's UID 1337 (IST0144). */
export function analyzeApplicationUID(ctx: AnalysisContext): void {
  for (const pod of ctx.list('/Pod')) if (!isControlPlane(pod) && runsAs1337(pod.spec) > 0) ctx.report(pod, 'InvalidApplicationUID');
  for (const d of ctx.list('apps/Deployment')) {
    if (!isControlPlane(d) && runsAs1337(obj(d.spec.template)?.spec) > 0) ctx.report(d, 'InvalidApplicationUID');
  }
}

function namespaceMatch(ns: string, exp: string): boolean {
  if (exp === '*') return true;
  if (exp.startsWith('*')) return ns.endsWith(exp.slice(1));
  if (exp.endsWith('*')) return ns.startsWith(exp.slice(0, -1));
  return ns.toLowerCase() === exp.toLowerCase();
}

/** auth.AuthorizationPoliciesAnalyzer: selectors matching no mesh pod (IST0127), unknown namespaces (IST0101). */
export function analyzeAuthorizationPolicies(ctx: AnalysisContext): void {
  const meshPods = new Map<string, Record<string, string>[]>();
  for (const pod of ctx.list('/Pod')) {
    const list = meshPods.get(pod.namespace) ?? [];
    meshPods.set(pod.namespace, list);
    if (inMesh(ctx, pod.namespace, pod.labels, pod.annotations, pod.spec, true)) list.push(pod.labels);
    if (ambientPod(pod)) list.push(pod.labels);
  }
  const namespaces = ctx.list('/Namespace').map((n) => n.name);
  for (const ap of ctx.list('security.istio.io/AuthorizationPolicy')) {
    const selector = obj(ap.spec.selector);
    const labels = strMap(selector?.matchLabels) ?? {};
    if (ap.namespace === 'istio-system') {
      if (selector && ![...meshPods.values()].some((l) => l.some((x) => selectorMatches(labels, x)))) {
        ctx.report(ap, 'NoMatchingWorkloadsFound', selectorString(labels));
      }
    } else if (!selector) {
      if ((meshPods.get(ap.namespace) ?? []).length === 0) ctx.report(ap, 'NoMatchingWorkloadsFound', '');
    } else if (!(meshPods.get(ap.namespace) ?? []).some((x) => selectorMatches(labels, x))) {
      ctx.report(ap, 'NoMatchingWorkloadsFound', selectorString(labels));
    }
    for (const rule of arr(ap.spec.rules)) {
      for (const from of arr(obj(rule)?.from)) {
        const src = obj(obj(from)?.source);
        for (const ns of [...strs(src?.namespaces), ...strs(src?.notNamespaces)]) {
          if (!namespaces.some((n) => namespaceMatch(n, ns))) ctx.report(ap, 'ReferencedResourceNotFound', 'namespace', ns);
        }
      }
    }
  }
}

/** serviceentry.ProtocolAddressesAnalyzer: TCP ports without addresses (IST0134). */
export function analyzeServiceEntryAddresses(ctx: AnalysisContext): void {
  for (const se of ctx.list('networking.istio.io/ServiceEntry')) {
    if (se.spec.addresses !== undefined && se.spec.addresses !== null) continue;
    for (const raw of arr(se.spec.ports)) {
      const protocol = str(obj(raw)?.protocol);
      if (protocol === '' || protocol.toUpperCase() === 'TCP') ctx.report(se, 'ServiceEntryAddressesRequired');
    }
  }
}

/** deprecation.FieldAnalyzer: deprecated fields in use (IST0002). */
export function analyzeDeprecations(ctx: AnalysisContext): void {
  for (const vs of ctx.list('networking.istio.io/VirtualService')) {
    for (const route of arr(vs.spec.http)) {
      if (num(obj(obj(obj(route)?.fault)?.delay)?.percent) > 0) {
        ctx.report(vs, 'Deprecated', 'HTTPRoute.fault.delay.percent is deprecated; use HTTPRoute.fault.delay.percentage');
      }
    }
  }
  for (const sc of ctx.list('networking.istio.io/Sidecar')) {
    if (obj(obj(sc.spec.outboundTrafficPolicy)?.egressProxy)) ctx.report(sc, 'Deprecated', 'OutboundTrafficPolicy.EgressProxy ignored');
  }
}
