/**
 * The routing table of the ingress controller: compiled from every served Ingress once per change,
 * then looked up per request with two map probes and a short scan. Pure: no I/O, no clocks.
 */
import type { KObject } from '../../api/index.ts';

/** Where a matched request goes: a service port in the Ingress's namespace, or nowhere (resource backends). */
export interface Backend {
  /** `ns/name` of the Ingress that owns the rule, for logs. */
  readonly ingress: string;
  readonly namespace: string;
  /** Empty for resource backends, which this controller cannot serve (answered with 404). */
  readonly service: string;
  readonly port: number | string;
}

/** One path of one host, ready to match. */
interface PathRoute {
  readonly path: string;
  readonly backend: Backend;
}

/** The paths of one host: Exact ones by path (O(1)), Prefix ones longest first. */
interface HostRoutes {
  readonly exact: Map<string, Backend>;
  readonly prefix: PathRoute[];
}

/** A compiled routing table; treat as immutable and swap a new one in on change. */
export interface RouteTable {
  /** Exact hosts, lower-cased. */
  readonly hosts: Map<string, HostRoutes>;
  /** Wildcard hosts by the suffix after `*.` (`*.example.com` → `example.com`). */
  readonly wildcards: Map<string, HostRoutes>;
  /** Rules without a host. */
  readonly any: HostRoutes | undefined;
  /** The oldest served Ingress's spec.defaultBackend. */
  readonly fallback: Backend | undefined;
}

/** Compile-time defaults of the routing table. */
export const routeDefaults = {
  className: 'traefik',
  /** The legacy class annotation, still honoured by Traefik and ingress-nginx. */
  classAnnotation: 'kubernetes.io/ingress.class',
};

/** An empty table: everything answers 404. */
export const emptyTable: RouteTable = { hosts: new Map(), wildcards: new Map(), any: undefined, fallback: undefined };

/** True when this controller serves the Ingress: its class is `className`, or it names no class at all. */
export function servesIngress(ing: KObject, className: string = routeDefaults.className): boolean {
  const cls: unknown = ing.spec?.ingressClassName;
  if (typeof cls === 'string' && cls !== '') return cls === className;
  const legacy = ing.metadata.annotations?.[routeDefaults.classAnnotation];
  return legacy === undefined || legacy === '' || legacy === className;
}

/** Orders Ingresses oldest first (then by namespace/name), so conflicting rules resolve the same way every time. */
export function compareIngresses(a: KObject, b: KObject): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.namespace ?? ''}/${a.metadata.name ?? ''}`;
  const kb = `${b.metadata.namespace ?? ''}/${b.metadata.name ?? ''}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Builds the table from the served Ingresses (callers filter with servesIngress). */
export function compileRoutes(ingresses: readonly KObject[]): RouteTable {
  const sorted = [...ingresses].sort(compareIngresses);
  const hosts = new Map<string, HostRoutes>();
  const wildcards = new Map<string, HostRoutes>();
  let any: HostRoutes | undefined;
  let fallback: Backend | undefined;
  for (const ing of sorted) {
    const ns = ing.metadata.namespace ?? 'default';
    const id = `${ns}/${ing.metadata.name ?? ''}`;
    const spec = ing.spec ?? {};
    if (!fallback && spec.defaultBackend) fallback = toBackend(id, ns, spec.defaultBackend);
    for (const rule of Array.isArray(spec.rules) ? spec.rules : []) {
      const paths: unknown = rule?.http?.paths;
      if (!Array.isArray(paths)) continue;
      const host = typeof rule.host === 'string' ? rule.host.toLowerCase() : '';
      let routes: HostRoutes;
      if (host === '') routes = any ??= newHostRoutes();
      else if (host.startsWith('*.')) routes = getOrAdd(wildcards, host.slice(2));
      else routes = getOrAdd(hosts, host);
      for (const p of paths) addPath(routes, p, toBackend(id, ns, p?.backend));
    }
  }
  // Longest prefix first; the sort is stable, so at equal length the oldest Ingress keeps winning.
  const all = [...hosts.values(), ...wildcards.values(), ...(any ? [any] : [])];
  for (const r of all) r.prefix.sort((a, b) => b.path.length - a.path.length);
  return { hosts, wildcards, any, fallback };
}

/**
 * The backend for a request, or undefined (404). `host` is already normalized (normalizeHost) and
 * `path` has no query string. Exact host rules are tried first, then the one-label wildcard, then
 * hostless rules, then the default backend; within a host the longest matching path wins.
 */
export function matchRoute(table: RouteTable, host: string, path: string): Backend | undefined {
  const exact = table.hosts.get(host);
  if (exact) {
    const b = matchPath(exact, path);
    if (b) return b;
  }
  if (table.wildcards.size > 0) {
    const dot = host.indexOf('.');
    // A wildcard covers exactly one label: `*.example.com` matches `a.example.com`, never `example.com` or `a.b.example.com`.
    if (dot > 0) {
      const wild = table.wildcards.get(host.slice(dot + 1));
      if (wild) {
        const b = matchPath(wild, path);
        if (b) return b;
      }
    }
  }
  if (table.any) {
    const b = matchPath(table.any, path);
    if (b) return b;
  }
  return table.fallback;
}

/** The host of a Host header: lower-cased, without port or trailing dot (`Foo.COM.:8080` → `foo.com`). */
export function normalizeHost(header: string | undefined): string {
  if (!header) return '';
  let h = header;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    h = end > 0 ? h.slice(0, end + 1) : h;
  } else {
    const colon = h.lastIndexOf(':');
    if (colon >= 0) h = h.slice(0, colon);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  // Skip the copy in the common case of an already lower-case name.
  return /[A-Z]/.test(h) ? h.toLowerCase() : h;
}

/** The path part of a request target (no query, no fragment); `/` when empty. */
export function requestPath(url: string | undefined): string {
  if (!url) return '/';
  let end = url.length;
  const q = url.indexOf('?');
  if (q >= 0) end = q;
  const f = url.indexOf('#');
  if (f >= 0 && f < end) end = f;
  // Absolute-form targets (`GET http://host/path`) come from clients that take us for a forward proxy.
  if (url.startsWith('http://') || url.startsWith('https://')) {
    const slash = url.indexOf('/', url.indexOf('//') + 2);
    return slash < 0 || slash >= end ? '/' : url.slice(slash, end);
  }
  return end === 0 ? '/' : end === url.length ? url : url.slice(0, end);
}

function matchPath(routes: HostRoutes, path: string): Backend | undefined {
  // An Exact match is as long as the request path, so no Prefix can beat it: probe it first.
  const exact = routes.exact.get(path);
  if (exact) return exact;
  for (const r of routes.prefix) {
    const p = r.path;
    // Element-wise prefix: `/foo` matches `/foo` and `/foo/bar`, not `/foobar`; `/` matches all.
    if (p === '/' || (path.startsWith(p) && (path.length === p.length || path.charCodeAt(p.length) === 47))) return r.backend;
  }
  return undefined;
}

function addPath(routes: HostRoutes, p: { path?: unknown; pathType?: unknown } | undefined, backend: Backend): void {
  const raw = typeof p?.path === 'string' && p.path !== '' ? p.path : '/';
  if (p?.pathType === 'Exact') {
    if (!routes.exact.has(raw)) routes.exact.set(raw, backend);
    return;
  }
  // Prefix (and ImplementationSpecific, which we treat as Prefix): a trailing slash is ignored, as the spec says.
  const path = raw.length > 1 ? raw.replace(/\/+$/, '') || '/' : raw;
  if (!routes.prefix.some((r) => r.path === path)) routes.prefix.push({ path, backend });
}

function toBackend(ingress: string, namespace: string, b: { service?: { name?: unknown; port?: { number?: unknown; name?: unknown } } } | undefined): Backend {
  const svc = b?.service;
  if (!svc || typeof svc.name !== 'string') return { ingress, namespace, service: '', port: 0 };
  const port = typeof svc.port?.number === 'number' ? svc.port.number : typeof svc.port?.name === 'string' ? svc.port.name : 0;
  return { ingress, namespace, service: svc.name, port };
}

function newHostRoutes(): HostRoutes {
  return { exact: new Map(), prefix: [] };
}

function getOrAdd(m: Map<string, HostRoutes>, k: string): HostRoutes {
  let r = m.get(k);
  if (!r) m.set(k, (r = newHostRoutes()));
  return r;
}
