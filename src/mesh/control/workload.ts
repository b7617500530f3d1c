/**
 * What the control plane knows about a pod: its workload identity for telemetry (Istio's workload
 * name and canonical service rules), whether it is a gateway or runs a sidecar, and its proxy node.
 */
import type { KObject } from '../../api/index.ts';
import { appIPFor } from '../../net/index.ts';
import type { ProxyNode, WorkloadMeta } from '../proxy/model.ts';
import { clusterDomain } from './hosts.ts';

/** The pod's IP, when it has one. */
export function podIPOf(pod: KObject): string | undefined {
  const ip = pod.status?.podIP ?? pod.status?.podIPs?.[0]?.ip;
  return typeof ip === 'string' && ip ? ip : undefined;
}

/**
 * True for gateway pods: label `istio=ingressgateway|egressgateway`, or a single container
 * running an `istio/proxyv2` image (how Istio's gateway charts deploy them).
 */
export function isGatewayPod(pod: KObject): boolean {
  const role = pod.metadata.labels?.istio;
  if (role === 'ingressgateway' || role === 'egressgateway') return true;
  const containers = (pod.spec?.containers ?? []) as Array<{ image?: string }>;
  return containers.length === 1 && /(^|\/)istio\/proxyv2(:|@|$)/.test(containers[0]?.image ?? '');
}

/** True when the pod runs a sidecar (a container or init container named istio-proxy). */
export function hasSidecar(pod: KObject): boolean {
  const named = (list: unknown) => Array.isArray(list) && list.some((c: { name?: string }) => c?.name === 'istio-proxy');
  return named(pod.spec?.containers) || named(pod.spec?.initContainers);
}

/**
 * The owning workload's name (kube GetDeployMetaFromPod): a ReplicaSet owner whose name ends in the
 * pod's `pod-template-hash` stands for its Deployment; another controller owner stands for itself;
 * a bare pod for itself.
 */
export function workloadName(pod: KObject): string {
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller) ?? pod.metadata.ownerReferences?.[0];
  if (!owner) return pod.metadata.name ?? '';
  const hash = pod.metadata.labels?.['pod-template-hash'];
  if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) return owner.name.slice(0, -hash.length - 1);
  return owner.name;
}

/** The pod's service account (`default` when unset). */
export function serviceAccountOf(pod: KObject): string {
  return pod.spec?.serviceAccountName ?? pod.spec?.serviceAccount ?? 'default';
}

/** The pod's workload telemetry metadata (destination_* / source_* labels). */
export function workloadMeta(pod: KObject): WorkloadMeta {
  const labels = pod.metadata.labels ?? {};
  const ns = pod.metadata.namespace ?? 'default';
  const workload = workloadName(pod);
  return {
    workload,
    namespace: ns,
    app: labels.app ?? labels['app.kubernetes.io/name'] ?? 'unknown',
    version: labels.version ?? labels['app.kubernetes.io/version'] ?? 'unknown',
    canonicalService: labels['service.istio.io/canonical-name'] ?? labels['app.kubernetes.io/name'] ?? labels.app ?? workload,
    canonicalRevision: labels['service.istio.io/canonical-revision'] ?? labels['app.kubernetes.io/version'] ?? labels.version ?? 'latest',
    principal: `spiffe://${clusterDomain}/ns/${ns}/sa/${serviceAccountOf(pod)}`,
    meshed: hasSidecar(pod),
  };
}

/** The proxy node of a sidecar or gateway pod (`sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`). */
export function proxyNode(pod: KObject, gateway: boolean): ProxyNode {
  const meta = workloadMeta(pod);
  const ip = podIPOf(pod) ?? '';
  const name = pod.metadata.name ?? '';
  const node: ProxyNode = {
    id: `${gateway ? 'router' : 'sidecar'}~${ip}~${name}.${meta.namespace}~${meta.namespace}.svc.${clusterDomain}`,
    kind: gateway ? 'gateway' : 'sidecar',
    namespace: meta.namespace,
    pod: name,
    podIP: ip,
    labels: { ...(pod.metadata.labels ?? {}) },
    serviceAccount: serviceAccountOf(pod),
    workload: meta.workload,
    app: meta.app,
    version: meta.version,
    canonicalService: meta.canonicalService,
    canonicalRevision: meta.canonicalRevision,
    principal: meta.principal,
  };
  if (!gateway && ip) node.appIP = appIPFor(ip);
  return node;
}

/** The number of the pod's container port with this name (Service targetPort by name), if any. */
export function containerPortNamed(pod: KObject, name: string): number | undefined {
  for (const c of (pod.spec?.containers ?? []) as Array<{ ports?: Array<{ name?: string; containerPort?: number }> }>) {
    for (const p of c.ports ?? []) if (p.name === name && p.containerPort) return p.containerPort;
  }
  return undefined;
}
