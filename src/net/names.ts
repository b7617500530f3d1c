/**
 * Pure name and address logic of the service proxy: cluster DNS names as seen from a namespace,
 * loopback checks, request-target parsing, the port-map annotation and endpoint compilation.
 * Nothing here touches the network, and no name is ever looked up in DNS (traffic never leaves
 * loopback, DESIGN §3).
 */
import type { KObject } from '../api/index.ts';

/** The cluster domain of fully qualified service names. */
export const clusterDomain = 'cluster.local';
/** Pod annotation set by the node agent when an app had to bind another port than its containerPort. */
export const portMapAnnotation = 'skiff.dev/port-map';

/** A concrete upstream address; `key` is `host:port`, precomputed so affinity checks do not allocate. */
export interface Target {
  host: string;
  port: number;
  key: string;
}

/** Dotted IPv4 as a number, or undefined. */
export function ipv4ToNum(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const b = Number(m[i]);
    if (b > 255) return undefined;
    n = n * 256 + b;
  }
  return n;
}

/** True for 127.0.0.0/8 and ::1: the only destinations the proxies may ever connect to. */
export function isLoopback(ip: string): boolean {
  if (ip === '::1') return true;
  const n = ipv4ToNum(ip);
  return n !== undefined && n >>> 24 === 127;
}

/** True when the string is an IP literal (IPv4 dotted, or anything with a colon, i.e. IPv6). */
export function isIPLiteral(host: string): boolean {
  return ipv4ToNum(host) !== undefined || host.includes(':');
}

/** Splits `host[:port]` (IPv6 in brackets); lowercases the host and drops a trailing dot. Undefined when malformed. */
export function splitHostPort(authority: string): { host: string; port: number | undefined } | undefined {
  let host = authority;
  let portStr: string | undefined;
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    if (end < 0) return undefined;
    host = authority.slice(1, end);
    const rest = authority.slice(end + 1);
    if (rest) {
      if (rest[0] !== ':') return undefined;
      portStr = rest.slice(1);
    }
  } else {
    const i = authority.lastIndexOf(':');
    if (i >= 0) {
      host = authority.slice(0, i);
      portStr = authority.slice(i + 1);
    }
  }
  // userinfo (`user:pw@host`) is legal in absolute URLs but means nothing to us.
  const at = host.lastIndexOf('@');
  if (at >= 0) host = host.slice(at + 1);
  host = host.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (!host) return undefined;
  if (portStr === undefined || portStr === '') return { host, port: undefined };
  if (!/^\d{1,5}$/.test(portStr)) return undefined;
  const port = Number(portStr);
  return port > 0 && port < 65536 ? { host, port } : undefined;
}

/** Where a proxied request goes: host, optional port, and the origin-form path to send upstream. */
export interface RequestTarget {
  host: string;
  port: number | undefined;
  path: string;
}

/**
 * The target of a request sent to the proxy: absolute-form `http://host[:port]/path` (what clients
 * send to an HTTP proxy), or origin-form `/path` with the Host header (a client calling the proxy
 * as if it were the server). Only the `http` scheme is accepted: HTTPS goes through CONNECT.
 */
export function parseRequestTarget(url: string, hostHeader: string | undefined): RequestTarget | undefined {
  if (url.startsWith('/')) {
    const hp = hostHeader ? splitHostPort(hostHeader) : undefined;
    return hp && { host: hp.host, port: hp.port, path: url };
  }
  // Scheme is case-insensitive (RFC 3986 §3.1); compare without allocating a lowercased copy of the URL.
  if (url.length < 8 || url.slice(0, 7).toLowerCase() !== 'http://') return undefined;
  let end = url.length;
  for (let i = 7; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) {
      end = i;
      break;
    }
  }
  const hp = splitHostPort(url.slice(7, end));
  if (!hp) return undefined;
  let path = url.slice(end);
  const hash = path.indexOf('#');
  if (hash >= 0) path = path.slice(0, hash);
  if (!path.startsWith('/')) path = `/${path}`;
  return { host: hp.host, port: hp.port, path };
}

/**
 * The service a name stands for, as a pod's resolver with search path `<ns>.svc.cluster.local
 * svc.cluster.local cluster.local` would find it: `svc`, `svc.ns`, `svc.ns.svc`,
 * `svc.ns.svc.cluster.local`. Undefined for other shapes (IP literals included).
 */
export function serviceName(fromNs: string, host: string): { ns: string; name: string } | undefined {
  if (isIPLiteral(host)) return undefined;
  const parts = host.split('.');
  switch (parts.length) {
    case 1:
      return { ns: fromNs, name: parts[0] };
    case 2:
      return { ns: parts[1], name: parts[0] };
    case 3:
      return parts[2] === 'svc' ? { ns: parts[1], name: parts[0] } : undefined;
    case 5:
      return parts[2] === 'svc' && `${parts[3]}.${parts[4]}` === clusterDomain ? { ns: parts[1], name: parts[0] } : undefined;
    default:
      return undefined;
  }
}

/**
 * The loopback address a host name stands for without any DNS lookup: `*.localhost` (RFC 6761,
 * what browsers do) and `nip.io`/`sslip.io` names embedding a 127.x address, dotted or dashed
 * (`web.127.0.0.1.nip.io`, `127-0-0-1.sslip.io`), as used by course material for Ingress hosts.
 */
export function loopbackNameAddress(host: string): string | undefined {
  if (host.endsWith('.localhost')) return '127.0.0.1';
  const m = /(?:^|[.-])(127[.-]\d{1,3}[.-]\d{1,3}[.-]\d{1,3})\.(?:nip\.io|sslip\.io)$/.exec(host);
  if (!m) return undefined;
  const ip = m[1].replace(/-/g, '.');
  return isLoopback(ip) ? ip : undefined;
}

/** The `skiff.dev/port-map` annotation of a pod as containerPort → bound port, or undefined (absent or malformed). */
export function parsePortMap(pod: KObject): Map<number, number> | undefined {
  const raw = pod.metadata.annotations?.[portMapAnnotation];
  if (!raw) return undefined;
  try {
    const o = JSON.parse(raw) as unknown;
    if (!o || typeof o !== 'object' || Array.isArray(o)) return undefined;
    const m = new Map<number, number>();
    for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
      const from = Number(k);
      const to = Number(v);
      if (Number.isInteger(from) && Number.isInteger(to) && to > 0 && to < 65536) m.set(from, to);
    }
    return m.size ? m : undefined;
  } catch {
    return undefined;
  }
}

/** The pod's IP, when it has one. */
export function podIPOf(pod: KObject): string | undefined {
  const ip = pod.status?.podIP ?? pod.status?.podIPs?.[0]?.ip;
  return typeof ip === 'string' && ip ? ip : undefined;
}

/** A target with its key precomputed. */
export function target(host: string, port: number): Target {
  return { host, port, key: `${host}:${port}` };
}

interface EndpointPortLike {
  name?: string;
  port?: number;
  protocol?: string;
}

/**
 * The ready targets of one service port in an Endpoints object, plus the count of all addresses
 * (ready or not) for messages. In each subset the port is the one named like the service port, or
 * the only port (unnamed single-port services). `mapPort` applies the pods' port-map annotation.
 */
export function endpointTargets(
  ep: KObject | undefined,
  portName: string,
  mapPort: (ip: string, port: number) => number,
): { ready: Target[]; total: number } {
  const ready: Target[] = [];
  let total = 0;
  for (const s of (ep?.subsets ?? []) as Array<{ addresses?: Array<{ ip?: string }>; notReadyAddresses?: unknown[]; ports?: EndpointPortLike[] }>) {
    const ports = s.ports ?? [];
    let p = ports.find((x) => (x.name ?? '') === portName && (x.protocol ?? 'TCP') === 'TCP');
    if (!p && ports.length === 1 && !portName) p = ports[0];
    if (!p || typeof p.port !== 'number') continue;
    const addrs = s.addresses ?? [];
    total += addrs.length + (s.notReadyAddresses?.length ?? 0);
    // Hand-written Endpoints may name any address: only loopback ones ever become targets (DESIGN §3).
    for (const a of addrs) if (typeof a.ip === 'string' && isLoopback(a.ip)) ready.push(target(a.ip, mapPort(a.ip, p.port)));
  }
  return { ready, total };
}

/**
 * The address the apps of a pod with a sidecar listen on: the pod IP's last two octets in
 * 127.44.0.0/16 (127.42.a.b → 127.44.a.b). The sidecar takes `<podIP>:<port>`, where clients and
 * Services send traffic, and forwards inbound requests here, as iptables capture does on Kubernetes.
 */
export function appIPFor(podIP: string): string {
  const m = /^127\.\d{1,3}\.(\d{1,3}\.\d{1,3})$/.exec(podIP);
  return m ? `127.44.${m[1]}` : podIP;
}
