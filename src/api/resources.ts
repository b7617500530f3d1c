/** The catalog of served resources: built-in kinds, plus those defined by CustomResourceDefinitions. */
import type { KObject, ResourceInfo } from './types.ts';

interface BuiltIn {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  subresources?: string[];
  singular?: string;
}

const builtIns: BuiltIn[] = [
  { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false, shortNames: ['ns'], subresources: ['status'] },
  { group: '', version: 'v1', resource: 'nodes', kind: 'Node', namespaced: false, shortNames: ['no'], subresources: ['status'] },
  { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true, shortNames: ['po'], categories: ['all'], subresources: ['status', 'log', 'exec', 'attach', 'portforward', 'binding', 'eviction'] },
  { group: '', version: 'v1', resource: 'services', kind: 'Service', namespaced: true, shortNames: ['svc'], categories: ['all'], subresources: ['status', 'proxy'] },
  { group: '', version: 'v1', resource: 'endpoints', kind: 'Endpoints', namespaced: true, shortNames: ['ep'], singular: 'endpoints' },
  { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'] },
  { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true },
  { group: '', version: 'v1', resource: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true, shortNames: ['sa'], subresources: ['token'] },
  { group: '', version: 'v1', resource: 'events', kind: 'Event', namespaced: true, shortNames: ['ev'] },
  { group: '', version: 'v1', resource: 'replicationcontrollers', kind: 'ReplicationController', namespaced: true, shortNames: ['rc'], categories: ['all'], subresources: ['status', 'scale'] },
  { group: '', version: 'v1', resource: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim', namespaced: true, shortNames: ['pvc'], subresources: ['status'] },
  { group: '', version: 'v1', resource: 'resourcequotas', kind: 'ResourceQuota', namespaced: true, shortNames: ['quota'], subresources: ['status'] },
  { group: '', version: 'v1', resource: 'limitranges', kind: 'LimitRange', namespaced: true, shortNames: ['limits'] },
  { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true, shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'] },
  { group: 'apps', version: 'v1', resource: 'replicasets', kind: 'ReplicaSet', namespaced: true, shortNames: ['rs'], categories: ['all'], subresources: ['status', 'scale'] },
  { group: 'apps', version: 'v1', resource: 'statefulsets', kind: 'StatefulSet', namespaced: true, shortNames: ['sts'], categories: ['all'], subresources: ['status', 'scale'] },
  { group: 'apps', version: 'v1', resource: 'daemonsets', kind: 'DaemonSet', namespaced: true, shortNames: ['ds'], categories: ['all'], subresources: ['status'] },
  { group: 'apps', version: 'v1', resource: 'controllerrevisions', kind: 'ControllerRevision', namespaced: true },
  { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true, categories: ['all'], subresources: ['status'] },
  { group: 'batch', version: 'v1', resource: 'cronjobs', kind: 'CronJob', namespaced: true, shortNames: ['cj'], categories: ['all'], subresources: ['status'] },
  { group: 'autoscaling', version: 'v2', resource: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler', namespaced: true, shortNames: ['hpa'], categories: ['all'], subresources: ['status'] },
  { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', kind: 'EndpointSlice', namespaced: true },
  { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses', kind: 'Ingress', namespaced: true, shortNames: ['ing'], subresources: ['status'] },
  { group: 'networking.k8s.io', version: 'v1', resource: 'ingressclasses', kind: 'IngressClass', namespaced: false },
  { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true, shortNames: ['netpol'] },
  { group: 'events.k8s.io', version: 'v1', resource: 'events', kind: 'Event', namespaced: true, shortNames: ['ev'] },
  { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease', namespaced: true },
  { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false, shortNames: ['crd', 'crds'], subresources: ['status'] },
];

function fromBuiltIn(b: BuiltIn): ResourceInfo {
  return {
    key: b.group ? `${b.resource}.${b.group}` : b.resource,
    group: b.group,
    version: b.version,
    versions: [b.version],
    resource: b.resource,
    singular: b.singular ?? b.kind.toLowerCase(),
    kind: b.kind,
    listKind: `${b.kind}List`,
    namespaced: b.namespaced,
    shortNames: b.shortNames ?? [],
    categories: b.categories ?? [],
    subresources: b.subresources ?? [],
    custom: false,
  };
}

/** The version of a CRD that is served and marked for storage. */
export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: { openAPIV3Schema?: object };
  additionalPrinterColumns?: Array<{ name: string; type: string; jsonPath: string; description?: string; priority?: number; format?: string }>;
  subresources?: { status?: object; scale?: object };
}

/** Builds a ResourceInfo from a CustomResourceDefinition object. */
export function fromCrd(crd: KObject): ResourceInfo | undefined {
  const spec = crd.spec as { group?: string; names?: Record<string, unknown>; scope?: string; versions?: CrdVersion[] } | undefined;
  if (!spec?.group || !spec.names || !Array.isArray(spec.versions)) return undefined;
  const served = spec.versions.filter((v) => v.served);
  if (!served.length) return undefined;
  // Preferred version: Kubernetes sorts by version priority (GA > beta > alpha, then by number).
  const versions = served.map((v) => v.name).sort(compareKubeVersions);
  const storage = spec.versions.find((v) => v.storage)?.name ?? versions[0];
  const n = spec.names as { plural: string; singular?: string; kind: string; listKind?: string; shortNames?: string[]; categories?: string[] };
  const subs = new Set<string>();
  for (const v of served) {
    if (v.subresources?.status) subs.add('status');
    if (v.subresources?.scale) subs.add('scale');
  }
  return {
    key: `${n.plural}.${spec.group}`,
    group: spec.group,
    version: storage,
    versions,
    resource: n.plural,
    singular: n.singular || n.kind.toLowerCase(),
    kind: n.kind,
    listKind: n.listKind || `${n.kind}List`,
    namespaced: spec.scope !== 'Cluster',
    shortNames: n.shortNames ?? [],
    categories: n.categories ?? [],
    subresources: [...subs],
    custom: true,
  };
}

/** Kubernetes version priority: v1 > v1beta2 > v1beta1 > v1alpha1, GA versions by number descending. Returns <0 when a sorts first. */
export function compareKubeVersions(a: string, b: string): number {
  const parse = (v: string): [number, number, number] | undefined => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return undefined;
    const stage = m[2] === 'alpha' ? 0 : m[2] === 'beta' ? 1 : 2;
    return [stage, Number(m[1]), Number(m[3] ?? 0)];
  };
  const pa = parse(a);
  const pb = parse(b);
  // A comparator must answer 0 for equal names, or sort() may order them inconsistently.
  if (!pa || !pb) return pa ? -1 : pb ? 1 : a < b ? -1 : a > b ? 1 : 0;
  if (pa[0] !== pb[0]) return pb[0] - pa[0];
  if (pa[1] !== pb[1]) return pb[1] - pa[1];
  return pb[2] - pa[2];
}

/** Resolves resources by key or by (group, resource); CRD-defined ones come and go at runtime. */
export class ResourceCatalog {
  #byKey = new Map<string, ResourceInfo>();
  #crdVersions = new Map<string, CrdVersion[]>();

  constructor() {
    for (const b of builtIns) {
      const info = fromBuiltIn(b);
      // events.k8s.io Events share the core store under their own key.
      this.#byKey.set(info.key, info);
    }
  }

  /** By key: `pods`, `deployments.apps`. */
  get(key: string): ResourceInfo | undefined {
    return this.#byKey.get(key);
  }

  /** By URL parts; undefined when the group/version/resource is not served. */
  lookup(group: string, version: string, resource: string): ResourceInfo | undefined {
    const info = this.#byKey.get(group ? `${resource}.${group}` : resource);
    if (!info || !info.versions.includes(version)) return undefined;
    return info;
  }

  /** Every served resource. */
  all(): ResourceInfo[] {
    return [...this.#byKey.values()];
  }

  /** Registers or refreshes a CRD-defined resource. */
  addCrd(crd: KObject): ResourceInfo | undefined {
    const info = fromCrd(crd);
    if (!info) return undefined;
    const existing = this.#byKey.get(info.key);
    if (existing && !existing.custom) return undefined;
    this.#byKey.set(info.key, info);
    this.#crdVersions.set(info.key, (crd.spec as { versions: CrdVersion[] }).versions);
    return info;
  }

  /** Forgets a CRD-defined resource. */
  removeCrd(key: string): void {
    if (this.#byKey.get(key)?.custom) {
      this.#byKey.delete(key);
      this.#crdVersions.delete(key);
    }
  }

  /** The CRD's version entries for a custom resource (schemas, printer columns). */
  crdVersion(key: string, version: string): CrdVersion | undefined {
    return this.#crdVersions.get(key)?.find((v) => v.name === version);
  }
}
