/**
 * Where a connection from a pod goes: the one decision of the in-pod proxy, pure over a view of
 * the cluster, so the loopback-only rule is checked before any socket exists (and unit-tested).
 */
import type { PickResult, Resolved } from './cluster.ts';
import { ipv4ToNum, isIPLiteral, isLoopback, loopbackNameAddress, serviceName, splitHostPort } from './names.ts';

/** Stable error codes of the proxies, sent in the `x-skiff-error` response header. */
export const netErrors = {
  /** 400: the request target cannot be parsed. */
  badRequest: 'SKIFF_ERR_NET_BAD_REQUEST',
  /** 502: not a service, pod, or loopback name. */
  unknownHost: 'SKIFF_ERR_NET_UNKNOWN_HOST',
  /** 502: the service has no such port. */
  noPort: 'SKIFF_ERR_NET_NO_PORT',
  /** 503: the service has no ready endpoint (Envoy's UH, "no healthy upstream"). */
  noEndpoints: 'SKIFF_ERR_NET_NO_ENDPOINTS',
  /** 403: the destination is outside 127.0.0.0/8. */
  notLoopback: 'SKIFF_ERR_NET_NOT_LOOPBACK',
  /** 502: the upstream refused or reset the connection (Envoy's UF). */
  upstream: 'SKIFF_ERR_NET_UPSTREAM',
  /** 508: the request would come back to the proxy itself. */
  loop: 'SKIFF_ERR_NET_LOOP',
} as const;

/** The slice of ClusterIndex that routing reads. */
export interface RouteView {
  service(ns: string, name: string): { clusterIP: string; type: string; externalName: string | undefined } | undefined;
  resolveIP(ip: string): Resolved | undefined;
  pick(ns: string, name: string, port: number | string, clientIP: string | undefined): PickResult;
  mapPort(ip: string, port: number): number;
}

/** A destination asked for by a pod. */
export interface RouteRequest {
  /** The calling pod's namespace and IP. */
  ns: string;
  ip: string;
  host: string;
  /** Requested port; undefined means the scheme default (`defaultPort`). */
  port: number | undefined;
  defaultPort: number;
}

/** Either an upstream address (always loopback) or an HTTP error to answer with. */
export type Route =
  | { ok: true; host: string; port: number; label: string }
  | { ok: false; status: number; code: string; message: string };

/** Resolves a name as seen from a namespace: service names (all four forms), cluster IPs, pod IPs. */
export function resolveName(view: RouteView, fromNs: string, host: string): Resolved | undefined {
  const hp = splitHostPort(host);
  const h = hp ? hp.host : host;
  if (ipv4ToNum(h) !== undefined) return view.resolveIP(h);
  const n = serviceName(fromNs, h);
  const s = n && view.service(n.ns, n.name);
  return s && n ? { kind: 'service', ns: n.ns, name: n.name, clusterIP: s.clusterIP } : undefined;
}

function fail(status: number, code: string, message: string): Route {
  return { ok: false, status, code, message };
}

/**
 * Routes a request from a pod. `localhost` is the pod itself; services go to a ready endpoint of
 * the service port (affinity keyed by the caller's IP); pod IPs and other loopback addresses go
 * direct, with the port-map annotation applied; everything else is refused without a lookup.
 */
export function route(view: RouteView, req: RouteRequest, depth = 0): Route {
  const host = req.host;
  const port = req.port ?? req.defaultPort;
  if (host === 'localhost' || host === '127.0.0.1' || host === '::1') {
    return { ok: true, host: req.ip, port: view.mapPort(req.ip, port), label: `localhost:${port}` };
  }
  const r = resolveName(view, req.ns, host);
  if (r?.kind === 'pod') return { ok: true, host: r.ip, port: view.mapPort(r.ip, port), label: `${r.ip}:${port}` };
  if (r?.kind === 'service') {
    const svc = view.service(r.ns, r.name)!;
    const label = `${r.name}.${r.ns}`;
    if (svc.type === 'ExternalName') {
      // An ExternalName pointing at another cluster name or a loopback address is followed; the depth cap stops CNAME loops.
      if (!svc.externalName || depth >= 4) return fail(502, netErrors.unknownHost, `cannot resolve "${host}" from namespace "${req.ns}": ExternalName "${svc.externalName ?? ''}" leads nowhere`);
      return route(view, { ...req, host: svc.externalName.toLowerCase().replace(/\.$/, '') }, depth + 1);
    }
    const p = view.pick(r.ns, r.name, port, req.ip);
    if (p.ok) return { ok: true, host: p.target.host, port: p.target.port, label: `${label}:${port}` };
    if (p.reason === 'no-port') {
      return fail(502, netErrors.noPort, `cannot reach "${label}:${port}": the service has no port ${port} (ports: ${p.ports.join(', ') || 'none'})`);
    }
    return fail(503, netErrors.noEndpoints, `cannot reach "${label}": no ready endpoints (0 of ${p.total} ready)`);
  }
  if (isIPLiteral(host)) {
    if (isLoopback(host)) return { ok: true, host, port, label: `${host}:${port}` };
    return fail(403, netErrors.notLoopback, `refusing to connect to "${host}": only loopback destinations (127.0.0.0/8) are allowed`);
  }
  const lo = loopbackNameAddress(host);
  if (lo) return { ok: true, host: lo, port, label: `${host}:${port}` };
  const n = serviceName(req.ns, host);
  if (n) return fail(502, netErrors.unknownHost, `cannot resolve "${host}" from namespace "${req.ns}": no such service`);
  return fail(502, netErrors.unknownHost, `cannot resolve "${host}" from namespace "${req.ns}": not a cluster name, and names outside the cluster are not looked up (only loopback destinations are allowed)`);
}
