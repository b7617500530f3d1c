/**
 * The analysis message catalogue (the subset of istio/istio 1.27 pkg/config/analysis/msg/messages.yaml
 * that Skiff's analyzers emit), the collecting context the analyzers report into, and Go-style
 * message formatting, so `skiff analyze` prints what `istioctl analyze` prints.
 */
import type { KObject } from '../../api/types.ts';
import { goList, goQuote, type J, obj, strMap } from './validate-util.ts';

/** Severity of an analysis message, most severe first. */
export type AnalysisLevel = 'Error' | 'Warning' | 'Info';

/** One message type of the catalogue. */
export interface MessageType {
  code: string;
  level: AnalysisLevel;
  template: string;
}

/** The message types Skiff's analyzers emit, keyed by Istio's names. */
export const MESSAGES = {
  ReferencedResourceNotFound: { code: 'IST0101', level: 'Error', template: 'Referenced %s not found: %q' },
  NamespaceNotInjected: {
    code: 'IST0102',
    level: 'Info',
    template: "The namespace is not enabled for Istio injection. Run 'kubectl label namespace %s istio-injection=enabled' to enable it, or 'kubectl label namespace %s istio-injection=disabled' to explicitly mark it as not needing injection.",
  },
  PodMissingProxy: {
    code: 'IST0103',
    level: 'Warning',
    template: 'The pod %s is missing the Istio proxy. This can often be resolved by restarting or redeploying the workload.',
  },
  SchemaValidationError: { code: 'IST0106', level: 'Error', template: 'Schema validation error: %v' },
  ConflictingMeshGatewayVirtualServiceHosts: {
    code: 'IST0109',
    level: 'Error',
    template: 'The VirtualServices %s associated with mesh gateway define the same host %s which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.',
  },
  ConflictingSidecarWorkloadSelectors: {
    code: 'IST0110',
    level: 'Error',
    template: 'The Sidecars %v in namespace %q select the same workload pod %q, which can lead to undefined behavior.',
  },
  MultipleSidecarsWithoutWorkloadSelectors: {
    code: 'IST0111',
    level: 'Error',
    template: 'The Sidecars %v in namespace %q have no workload selector, which can lead to undefined behavior.',
  },
  VirtualServiceDestinationPortSelectorRequired: {
    code: 'IST0112',
    level: 'Error',
    template: 'This VirtualService routes to a service %q that exposes multiple ports %v. Specifying a port in the destination is required to disambiguate.',
  },
  DeploymentAssociatedToMultipleServices: {
    code: 'IST0116',
    level: 'Warning',
    template: 'This deployment %s is associated with multiple services using port %d but different protocols: %v',
  },
  PortNameIsNotUnderNamingConvention: {
    code: 'IST0118',
    level: 'Info',
    template: "Port name %s (port: %d, targetPort: %s) doesn't follow the naming convention of Istio port.",
  },
  NamespaceMultipleInjectionLabels: {
    code: 'IST0123',
    level: 'Warning',
    template: 'The namespace has more than one type of injection labels %v, which may lead to undefined behavior. Make sure only one injection label exists.',
  },
  NoMatchingWorkloadsFound: { code: 'IST0127', level: 'Warning', template: 'No matching workloads for this resource with the following labels: %s' },
  NoServerCertificateVerificationDestinationLevel: {
    code: 'IST0128',
    level: 'Warning',
    template: 'DestinationRule %s in namespace %s has TLS mode set to %s but no caCertificates are set to validate server identity for host: %s',
  },
  NoServerCertificateVerificationPortLevel: {
    code: 'IST0129',
    level: 'Warning',
    template: 'DestinationRule %s in namespace %s has TLS mode set to %s but no caCertificates are set to validate server identity for host: %s at port %s',
  },
  VirtualServiceUnreachableRule: { code: 'IST0130', level: 'Warning', template: 'VirtualService rule %v not used (%s).' },
  VirtualServiceIneffectiveMatch: {
    code: 'IST0131',
    level: 'Info',
    template: 'VirtualService rule %v match %v is not used (duplicate/overlapping match in rule %v).',
  },
  VirtualServiceHostNotFoundInGateway: {
    code: 'IST0132',
    level: 'Warning',
    template: 'one or more host %v defined in VirtualService %s not found in Gateway %s.',
  },
  SchemaWarning: { code: 'IST0133', level: 'Warning', template: 'Schema validation warning: %v' },
  ServiceEntryAddressesRequired: { code: 'IST0134', level: 'Warning', template: 'ServiceEntry addresses are required for this protocol.' },
  DeploymentConflictingPorts: {
    code: 'IST0137',
    level: 'Warning',
    template: 'This deployment %s is associated with multiple services %v using targetPort %q but different ports: %v.',
  },
  IngressRouteRulesNotAffected: {
    code: 'IST0140',
    level: 'Warning',
    template: 'Subset in virtual service %s has no effect on ingress gateway %s requests',
  },
  NamespaceInjectionEnabledByDefault: {
    code: 'IST0148',
    level: 'Info',
    template: 'is enabled for Istio injection, as Istio is installed with enableNamespacesByDefault as true.',
  },
  InvalidApplicationUID: { code: 'IST0144', level: 'Warning', template: 'User ID (UID) 1337 is reserved for the sidecar proxy.' },
  ConflictingGateways: {
    code: 'IST0145',
    level: 'Error',
    template: 'Conflict with gateways %s (workload selector %s, port %s, hosts %v).',
  },
  ExternalNameServiceTypeInvalidPortName: {
    code: 'IST0150',
    level: 'Warning',
    template: 'Port name for ExternalName service is invalid. Proxy may prevent tcp named ports and unmatched traffic for ports serving TCP protocol from being forwarded correctly',
  },
  InvalidGatewayCredential: {
    code: 'IST0161',
    level: 'Error',
    template: 'The credential referenced by the Gateway %s in namespace %s is invalid, which can cause the traffic not to work as expected.',
  },
  GatewayPortNotDefinedOnService: {
    code: 'IST0162',
    level: 'Warning',
    template: 'The gateway is listening on a target port (port %d) that is not defined in the Service associated with its workload instances (Pod selector %s). If you need to access the gateway port through the gateway Service, it will not be available.',
  },
  ReferencedInternalGateway: {
    code: 'IST0165',
    level: 'Warning',
    template: 'Gateway reference in VirtualService %s is to an implementation-generated internal Gateway: %s.',
  },
  IneffectivePolicy: { code: 'IST0167', level: 'Warning', template: 'The policy has no impact: %s.' },
  DestinationRuleSubsetNotSelectPods: {
    code: 'IST0173',
    level: 'Error',
    template: 'The Subset %s defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream).',
  },
  UnknownDestinationRuleHost: {
    code: 'IST0174',
    level: 'Warning',
    template: 'The host %s defined in the DestinationRule does not match any services in the mesh.',
  },
  Deprecated: { code: 'IST0002', level: 'Warning', template: 'Deprecated: %s' },
} satisfies Record<string, MessageType>;

/** The name of a message type. */
export type MessageName = keyof typeof MESSAGES;

/** An argument of a message template. */
export type MessageArg = string | number | readonly string[] | readonly number[];

/** Formats a Go template with `%s %v %q %d` verbs as fmt.Sprintf would for these argument types. */
export function goSprintf(template: string, args: readonly MessageArg[]): string {
  let i = 0;
  return template.replace(/%([svqd%])/g, (_m, verb: string) => {
    if (verb === '%') return '%';
    const a = args[i++];
    if (a === undefined) return `%!${verb}(MISSING)`;
    if (Array.isArray(a)) return goList(verb === 'q' ? (a as readonly string[]).map((x) => goQuote(String(x))) : (a as readonly (string | number)[]));
    if (verb === 'q') return goQuote(String(a));
    return String(a);
  });
}

/** A resource in the analyzed snapshot. */
export interface Resource {
  /** `group/Kind`, e.g. `networking.istio.io/VirtualService`, `/Pod`, `apps/Deployment`. */
  key: string;
  kind: string;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: J;
  object: KObject;
}

/** A message before sorting and filtering, with what istioctl sorts and filters by. */
export interface RawMessage {
  type: MessageType;
  name: MessageName;
  args: MessageArg[];
  resource: Resource;
}

// Namespaces istioctl never reads Namespaces, Services, Pods or Deployments from (inject.IgnoredNamespaces).
const IGNORED_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage']);
const FILTERED_KINDS = new Set(['/Namespace', '/Service', '/Pod', 'apps/Deployment']);

function toResource(o: KObject): Resource | undefined {
  const md = obj(o.metadata);
  if (!md || typeof md.name !== 'string' || typeof o.kind !== 'string') return undefined;
  const apiVersion = typeof o.apiVersion === 'string' ? o.apiVersion : '';
  const slash = apiVersion.indexOf('/');
  const key = `${slash >= 0 ? apiVersion.slice(0, slash) : ''}/${o.kind}`;
  const namespace = key === '/Namespace' ? '' : typeof md.namespace === 'string' && md.namespace !== '' ? md.namespace : 'default';
  return {
    key,
    kind: o.kind,
    namespace,
    name: md.name,
    labels: strMap(md.labels) ?? {},
    annotations: strMap(md.annotations) ?? {},
    spec: obj(o.spec) ?? {},
    object: o,
  };
}

/** The snapshot the analyzers read, and the messages they report. */
export class AnalysisContext {
  #byKey = new Map<string, Resource[]>();
  #byName = new Map<string, Resource>();
  #messages: RawMessage[] = [];

  /** Indexes the objects, leaving out what istioctl does not read (system namespaces). */
  constructor(objects: readonly KObject[]) {
    for (const o of objects) {
      const r = toResource(o);
      if (!r) continue;
      const ns = r.key === '/Namespace' ? r.name : r.namespace;
      if (FILTERED_KINDS.has(r.key) && IGNORED_NAMESPACES.has(ns)) continue;
      const list = this.#byKey.get(r.key);
      if (list) list.push(r);
      else this.#byKey.set(r.key, [r]);
      this.#byName.set(`${r.key}|${r.namespace}|${r.name}`, r);
    }
  }

  /** Every resource of a `group/Kind`. */
  list(key: string): readonly Resource[] {
    return this.#byKey.get(key) ?? [];
  }

  /** One resource by `group/Kind`, namespace ('' for cluster-scoped) and name. */
  find(key: string, namespace: string, name: string): Resource | undefined {
    return this.#byName.get(`${key}|${namespace}|${name}`);
  }

  /** Records a message about a resource. */
  report(resource: Resource, name: MessageName, ...args: MessageArg[]): void {
    this.#messages.push({ type: MESSAGES[name], name, args, resource });
  }

  /** Everything reported so far. */
  messages(): readonly RawMessage[] {
    return this.#messages;
  }
}
