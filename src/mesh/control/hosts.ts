/**
 * Host names and value formats as Istio reads them: short-name expansion, wildcard matching and
 * intersection (pkg/config/host), the most specific match used for DestinationRules and wildcard
 * VirtualServices, exportTo visibility, port protocols, durations and percentages; config order.
 */
import type { KObject } from '../../api/index.ts';

/** The cluster domain of Kubernetes service names. */
export const clusterDomain = 'cluster.local';

/**
 * A rule's host as Istio resolves it (ResolveShortnameToFQDN): a name without any dot becomes
 * `<name>.<ns>.svc.cluster.local`; `*`, names with dots and IP addresses are kept (lower-cased).
 */
export function resolveHost(name: string, ns: string): string {
  const h = name.toLowerCase();
  if (h === '*' || h.includes('.') || h.includes(':')) return h;
  return `${h}.${ns}.svc.${clusterDomain}`;
}

/** True for `*` and `*.suffix` names. */
export function isWildcard(h: string): boolean {
  return h.length > 0 && h.charCodeAt(0) === 42; /* * */
}

/** Either name covers the other (host.Name.Matches): `*.foo.com` ~ `a.foo.com`, `*` ~ anything. */
export function hostsMatch(a: string, b: string): boolean {
  const aw = isWildcard(a);
  const bw = isWildcard(b);
  if (aw && bw) return a.length < b.length ? b.endsWith(a.slice(1)) : a.endsWith(b.slice(1));
  if (aw) return b.endsWith(a.slice(1));
  if (bw) return a.endsWith(b.slice(1));
  return a === b;
}

/** `a` is covered by `b` (host.Name.SubsetOf): `a.foo.com` ⊆ `*.foo.com`, `*.foo.com` ⊄ `a.foo.com`. */
export function hostSubsetOf(a: string, b: string): boolean {
  const aw = isWildcard(a);
  const bw = isWildcard(b);
  if (aw) return bw && a.length >= b.length && a.endsWith(b.slice(1));
  if (bw) return a.endsWith(b.slice(1));
  return a === b;
}

/**
 * Gateway server hosts ∩ VirtualService hosts, keeping the more specific name of each matching
 * pair (host.Names.Intersection): `*` ∩ `a.com` = `a.com`; `*.com` ∩ `*.a.com` = `*.a.com`.
 */
export function intersectHosts(left: string[], right: string[]): string[] {
  const out: string[] = [];
  for (const l of left) {
    for (const r of right) {
      const pick = hostSubsetOf(l, r) ? l : hostSubsetOf(r, l) ? r : undefined;
      if (pick !== undefined && !out.includes(pick)) out.push(pick);
    }
  }
  return out;
}

/**
 * The entry whose key best names `host` (MostSpecificHostMatch): an exact key first, else the
 * longest wildcard key covering it. `wildcards` must be sorted longest first.
 */
export function mostSpecific<T>(host: string, exact: Map<string, T>, wildcards: Array<[string, T]>): T | undefined {
  const hit = exact.get(host);
  if (hit !== undefined) return hit;
  for (const [k, v] of wildcards) if (hostSubsetOf(host, k)) return v;
  return undefined;
}

/** Sorts wildcard entries longest (most specific) first, then by name, for mostSpecific(). */
export function sortWildcards<T>(entries: Array<[string, T]>): Array<[string, T]> {
  return entries.sort((a, b) => b[0].length - a[0].length || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/**
 * Visibility (`exportTo`): undefined = public (`*`, the mesh default); otherwise the set of
 * namespaces, with `.` already replaced by the owner's namespace; an empty set (`~`) = nobody.
 */
export type ExportTo = ReadonlySet<string> | undefined;

/** Parses an exportTo list (or the Service annotation's comma list) owned by `ns`. */
export function parseExportTo(list: string[] | string | undefined, ns: string): ExportTo {
  const items = typeof list === 'string' ? list.split(',') : list;
  if (!items || items.length === 0) return undefined;
  const out = new Set<string>();
  for (const raw of items) {
    const e = raw.trim();
    if (e === '*') return undefined;
    if (e === '~' || e === '') continue;
    out.add(e === '.' ? ns : e);
  }
  return out;
}

/** True when a config exported as `exportTo` is visible from namespace `ns`. */
export function visibleTo(exportTo: ExportTo, ns: string): boolean {
  return exportTo === undefined || exportTo.has(ns);
}

/**
 * What Skiff does with a port's traffic. Istio's auto-detection (unnamed or unknown port names)
 * sniffs the first bytes; Skiff's proxies have no sniffer, so `auto` is treated as HTTP/1.1,
 * which is what the course's workloads speak. `tls` (Istio's TLS and HTTPS, protocol.IsTLS) is
 * opaque TCP that VirtualService `tls[]` rules may route by SNI.
 */
export type PortProtocol = 'http' | 'http2' | 'auto' | 'tcp' | 'tls' | 'udp';

const protocolWords: Map<string, PortProtocol> = new Map(Object.entries({
  http: 'http',
  http_proxy: 'http',
  http2: 'http2',
  grpc: 'http2',
  'grpc-web': 'http2',
  tcp: 'tcp',
  tls: 'tls',
  https: 'tls',
  mongo: 'tcp',
  redis: 'tcp',
  mysql: 'tcp',
  thrift: 'tcp',
  udp: 'udp',
} as Record<string, PortProtocol>));

/**
 * Unnamed ports that are never HTTP. Istio skips sniffing on SMTP, DNS, MySQL and MongoDB ports
 * (server-first protocols); Skiff, which has no sniffer, adds the common client-first non-HTTP
 * ones Istio would sniff as TCP: SSH, PostgreSQL, Redis.
 */
const wellKnownTcpPorts = new Set([22, 25, 53, 3306, 5432, 6379, 27017]);

/**
 * A port's protocol (kube.ConvertProtocol): UDP ports are UDP; else `appProtocol` if set, else the
 * port name's prefix before the first `-` (`http-foo` → http, `grpc-web-x` → grpc-web); a port
 * left to auto-detection on a well-known non-HTTP port number is TCP.
 */
export function portProtocol(name: string | undefined, o: { appProtocol?: string; transport?: string; port?: number } = {}): PortProtocol {
  if (o.transport?.toUpperCase() === 'UDP') return 'udp';
  let word = (o.appProtocol ?? name ?? '').toLowerCase();
  if (word === 'kubernetes.io/h2c') return 'http2';
  if (word === 'kubernetes.io/ws') return 'http';
  if (word === 'kubernetes.io/wss') return 'tcp';
  if (word.startsWith('grpc-web')) return 'http2';
  const dash = word.indexOf('-');
  if (dash >= 0) word = word.slice(0, dash);
  const p = protocolWords.get(word);
  if (p) return p;
  return o.port !== undefined && wellKnownTcpPorts.has(o.port) ? 'tcp' : 'auto';
}

/** True for the protocols routed by HTTP route configs (auto included, see PortProtocol). */
export function isHttpProtocol(p: PortProtocol): boolean {
  return p === 'http' || p === 'http2' || p === 'auto';
}

const durationUnits: Record<string, number> = { h: 3600000, m: 60000, s: 1000, ms: 1, us: 0.001, 'µs': 0.001, ns: 0.000001 };

/** A Go/protobuf duration string (`7s`, `1m30s`, `500ms`, `1.5s`) in milliseconds; undefined when malformed. */
export function durationMs(d: string | undefined): number | undefined {
  if (typeof d !== 'string' || d === '') return undefined;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(d)) !== null) {
    total += Number(m[1]) * durationUnits[m[2]];
    end = re.lastIndex;
  }
  return end === d.length ? Math.round(total) : undefined;
}

/** An Istio Percent (`{value: 50}`) as Envoy's FractionalPercent per million (value × 10000, truncated). */
export function perMillion(p: { value?: number } | undefined): number {
  const v = p?.value ?? 0;
  return v > 0 ? Math.min(1000000, Math.trunc(v * 10000)) : 0;
}

/** Compares two strings for sort(), by code unit (locale-independent, so output is stable everywhere). */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `labels` contain every key/value of `selector` (an empty selector matches everything). */
export function labelsMatch(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  for (const k in selector) if (labels?.[k] !== selector[k]) return false;
  return true;
}

/** creationTimestamp, name, namespace: the order Istio sorts configs by (sortConfigByCreationTime). */
export function byAge(a: { created: string; name: string; namespace: string }, b: { created: string; name: string; namespace: string }): number {
  return cmp(a.created, b.created) || cmp(a.name, b.name) || cmp(a.namespace, b.namespace);
}

/** Name, namespace and creation time of an object, for sorting. */
export function meta(o: KObject): { name: string; namespace: string; created: string } {
  return { name: o.metadata.name ?? '', namespace: o.metadata.namespace ?? 'default', created: String(o.metadata.creationTimestamp ?? '') };
}
