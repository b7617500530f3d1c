/** Printers for core/v1 kinds other than Pod. */
import type { KObject, Printer } from '../types.ts';
import { ageColumn, ageOf, asArray, col, countKeys, formatLabels, nameColumn, nameOf } from './columns.ts';
import { age } from './duration.ts';

interface ServicePort {
  port: number;
  nodePort?: number;
  protocol?: string;
}

/** Ports as `80/TCP,443:30443/TCP`; "" when there are none (upstream makePortString). */
export function servicePorts(ports: unknown): string {
  return asArray<ServicePort>(ports)
    .map((p) => {
      const proto = p.protocol ?? 'TCP';
      return p.nodePort && p.nodePort > 0 ? `${p.port}:${p.nodePort}/${proto}` : `${p.port}/${proto}`;
    })
    .join(',');
}

/** Load-balancer ingress IPs or hostnames, deduplicated and sorted (upstream uses a sorted string set). */
export function loadBalancerAddresses(status: unknown): string {
  const ingress = asArray<{ ip?: string; hostname?: string }>((status as { ingress?: unknown } | undefined)?.ingress);
  const set = new Set<string>();
  for (const i of ingress) {
    if (i.ip) set.add(i.ip);
    else if (i.hostname) set.add(i.hostname);
  }
  return [...set].sort().join(',');
}

/** The External-IP cell: `<none>`, `<pending>`, the load-balancer addresses, the external IPs, or the external name. */
export function serviceExternalIP(svc: KObject): string {
  const spec = svc.spec ?? {};
  const externalIPs = asArray<string>(spec.externalIPs);
  switch (spec.type ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerAddresses(svc.status?.loadBalancer);
      if (externalIPs.length > 0) return [...(lb ? lb.split(',') : []), ...externalIPs].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
    default:
      return '<unknown>';
  }
}

/** Printer for services. */
export const servicePrinter: Printer = {
  columns: [
    nameColumn(),
    col('Type', 'type determines how the Service is exposed.'),
    col('Cluster-IP', 'clusterIP is the IP address of the service.'),
    col('External-IP', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
    col('Port(s)', 'The list of ports that are exposed by this service.'),
    ageColumn(),
    col('Selector', 'Route service traffic to pods with label keys and values matching this selector.', { priority: 1 }),
  ],
  cells(svc, now) {
    const spec = svc.spec ?? {};
    // clusterIPs is authoritative upstream; clusterIP covers objects written before it was defaulted.
    const clusterIP: string = asArray<string>(spec.clusterIPs)[0] || spec.clusterIP || '<none>';
    const ports = servicePorts(spec.ports) || '<none>';
    return [nameOf(svc), spec.type ?? 'ClusterIP', clusterIP, serviceExternalIP(svc), ports, ageOf(svc, now), formatLabels(spec.selector)];
  },
};

/** `ip:port` with brackets around IPv6 addresses, as Go's net.JoinHostPort. */
function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The Endpoints cell: up to three `ip:port` pairs, then ` + N more...`; `<none>` without subsets. */
export function formatEndpoints(ep: KObject): string {
  const subsets = asArray<{ addresses?: Array<{ ip: string }>; ports?: Array<{ port: number }> }>(ep.subsets);
  if (subsets.length === 0) return '<none>';
  const max = 3;
  const list: string[] = [];
  let count = 0;
  for (const ss of subsets) {
    const addrs = ss.addresses ?? [];
    const ports = ss.ports ?? [];
    if (ports.length === 0) {
      // Headless services may have no ports: list bare IPs.
      count += addrs.length;
      for (const a of addrs) if (list.length < max) list.push(a.ip);
      continue;
    }
    for (const p of ports) {
      count += addrs.length;
      for (const a of addrs) if (list.length < max) list.push(joinHostPort(a.ip, p.port));
    }
  }
  const ret = list.join(',');
  return count > max ? `${ret} + ${count - max} more...` : ret;
}

/** Printer for endpoints. */
export const endpointsPrinter: Printer = {
  columns: [nameColumn(), col('Endpoints', 'The set of all endpoints is the union of all subsets.'), ageColumn()],
  cells(ep, now) {
    return [nameOf(ep), formatEndpoints(ep), ageOf(ep, now)];
  },
};

/** Printer for namespaces. */
export const namespacePrinter: Printer = {
  columns: [nameColumn(), col('Status', 'The status of the namespace'), ageColumn()],
  cells(ns, now) {
    // The phase is normally set by the server; derive it when an object was stored without one.
    const phase: string = ns.status?.phase ?? (ns.metadata?.deletionTimestamp ? 'Terminating' : 'Active');
    return [nameOf(ns), phase, ageOf(ns, now)];
  },
};

const ROLE_PREFIX = 'node-role.kubernetes.io/';

/** Node roles from `node-role.kubernetes.io/<role>` and `kubernetes.io/role=<role>` labels, sorted. */
export function nodeRoles(node: KObject): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata?.labels ?? {})) {
    if (k.startsWith(ROLE_PREFIX)) {
      const role = k.slice(ROLE_PREFIX.length);
      if (role) roles.add(role);
    } else if (k === 'kubernetes.io/role' && v !== '') roles.add(v);
  }
  return [...roles].sort();
}

function nodeAddress(node: KObject, type: string): string {
  return asArray<{ type: string; address: string }>(node.status?.addresses).find((a) => a.type === type)?.address ?? '<none>';
}

/** Printer for nodes. */
export const nodePrinter: Printer = {
  columns: [
    nameColumn(),
    col('Status', 'The status of the node'),
    col('Roles', 'The roles of the node'),
    ageColumn(),
    col('Version', 'Kubelet Version reported by the node.'),
    col('Internal-IP', 'List of addresses reachable to the node.', { priority: 1 }),
    col('External-IP', 'List of addresses reachable to the node.', { priority: 1 }),
    col('OS-Image', 'OS Image reported by the node from /etc/os-release.', { priority: 1 }),
    col('Kernel-Version', "Kernel Version reported by the node from 'uname -r'.", { priority: 1 }),
    col('Container-Runtime', 'ContainerRuntime Version reported by the node through runtime remote API.', { priority: 1 }),
  ],
  cells(node, now) {
    const ready = asArray<{ type: string; status: string }>(node.status?.conditions).find((c) => c.type === 'Ready');
    const status = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
    if (node.spec?.unschedulable) status.push('SchedulingDisabled');
    const roles = nodeRoles(node).join(',') || '<none>';
    const info = node.status?.nodeInfo ?? {};
    return [
      nameOf(node), status.join(','), roles, ageOf(node, now), info.kubeletVersion ?? '',
      nodeAddress(node, 'InternalIP'), nodeAddress(node, 'ExternalIP'),
      info.osImage || '<unknown>', info.kernelVersion || '<unknown>', info.containerRuntimeVersion || '<unknown>',
    ];
  },
};

/** Printer for configmaps. */
export const configMapPrinter: Printer = {
  columns: [nameColumn(), col('Data', 'Data contains the configuration data.'), ageColumn()],
  cells(cm, now) {
    return [nameOf(cm), countKeys(cm.data) + countKeys(cm.binaryData), ageOf(cm, now)];
  },
};

/** Printer for secrets. */
export const secretPrinter: Printer = {
  columns: [nameColumn(), col('Type', 'Used to facilitate programmatic handling of secret data.'), col('Data', 'Data contains the secret data.'), ageColumn()],
  cells(s, now) {
    return [nameOf(s), (s.type as string | undefined) || 'Opaque', countKeys(s.data), ageOf(s, now)];
  },
};

/** Printer for serviceaccounts. */
export const serviceAccountPrinter: Printer = {
  columns: [nameColumn(), col('Secrets', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.'), ageColumn()],
  cells(sa, now) {
    return [nameOf(sa), asArray(sa.secrets).length, ageOf(sa, now)];
  },
};

interface CoreEvent {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  series?: { count?: number; lastObservedTime?: string };
  involvedObject?: { kind?: string; name?: string; fieldPath?: string };
  source?: { component?: string; host?: string };
  reportingComponent?: string;
  reportingInstance?: string;
}

/** Printer for core/v1 events. */
export const eventPrinter: Printer = {
  columns: [
    col('Last Seen', 'The time at which the most recent occurrence of this event was recorded.'),
    col('Type', 'Type of this event (Normal, Warning), new types could be added in the future'),
    col('Reason', 'This should be a short, machine understandable string that gives the reason for the transition into the object\'s current status.'),
    col('Object', 'The object that this event is about.'),
    col('Subobject', 'The field of the object this event is about.', { priority: 1 }),
    col('Source', 'The component reporting this event.', { priority: 1 }),
    col('Message', 'A human-readable description of the status of this operation.'),
    col('First Seen', 'The time at which the event was first recorded.', { priority: 1 }),
    col('Count', 'The number of times this event has occurred.', { priority: 1 }),
    nameColumn(1),
  ],
  cells(obj, now) {
    const ev = obj as unknown as CoreEvent;
    const first = ev.firstTimestamp ? age(ev.firstTimestamp, now) : age(ev.eventTime, now);
    let last = ev.lastTimestamp ? age(ev.lastTimestamp, now) : first;
    let count = ev.count ?? 0;
    if (ev.series) {
      last = age(ev.series.lastObservedTime, now);
      count = ev.series.count ?? 0;
    } else if (count === 0) {
      count = 1; // singleton events written through events.k8s.io carry no count
    }
    const kind = (ev.involvedObject?.kind ?? '').toLowerCase();
    const target = ev.involvedObject?.name ? `${kind}/${ev.involvedObject.name}` : kind;
    const component = ev.source?.component || ev.reportingComponent || '';
    const host = ev.source?.host || ev.reportingInstance || '';
    const source = host ? `${component}, ${host}` : component;
    return [last, ev.type ?? '', ev.reason ?? '', target, ev.involvedObject?.fieldPath ?? '', source, (ev.message ?? '').trim(), first, count, nameOf(obj)];
  },
};

/** Printer for resourcequotas: `key: used/hard` pairs from status, limits apart (printResourceQuota). */
export const resourceQuotaPrinter: Printer = {
  columns: [
    nameColumn(),
    ageColumn(),
    col('Request', 'Request represents a minimum amount of cpu/memory that a container may consume.'),
    col('Limit', 'Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.'),
  ],
  cells(q, now) {
    const hard: Record<string, string> = q.status?.hard ?? {};
    const used: Record<string, string> = q.status?.used ?? {};
    const requests: string[] = [];
    const limits: string[] = [];
    for (const key of Object.keys(hard).sort()) {
      const cell = `${key}: ${used[key] ?? '0'}/${hard[key]}`;
      (key.startsWith('limits.') ? limits : requests).push(cell);
    }
    return [nameOf(q), ageOf(q, now), requests.join(', '), limits.join(', ')];
  },
};
