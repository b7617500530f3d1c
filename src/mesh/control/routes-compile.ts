/**
 * VirtualService HTTP rules compiled once per push (route.go TranslateRouteMatch, TranslateFault,
 * TranslateCORSPolicy, TranslateHeadersOperations, retry.ConvertPolicy): everything that does not
 * depend on the proxy or the port being built. translate-routes.ts turns these into model Routes
 * per proxy and port, sharing the compiled objects.
 */
import type {
  CorsPolicy, FaultPolicy, HeaderMatcher, HeaderMutation, HeaderOps, QueryMatcher, RetryPolicy, RouteMatch, StringMatcher,
} from '../proxy/model.ts';
import { cmp, durationMs, perMillion, resolveHost } from './hosts.ts';
import type {
  CorsPolicySpec, Destination, HTTPFaultInjection, HTTPMatchRequest, HTTPRetry, HTTPRoute, HeaderOpsSpec, HeadersSpec, StringMatch,
} from './istio-types.ts';

/** A destination with its host expanded relative to the VirtualService's namespace. */
export interface CompiledDestination {
  host: string;
  subset?: string;
  port?: number;
}

export interface CompiledMatch {
  /** `<http.name>.<match.name>`, or the http name alone. */
  routeName?: string;
  /** Config-time filters (§2.2). */
  port?: number;
  gateways?: string[];
  sourceLabels?: Record<string, string>;
  sourceNamespace?: string;
  match: RouteMatch;
  catchAll: boolean;
}

export interface CompiledWeighted {
  dest: CompiledDestination;
  weight: number;
  headers?: HeaderMutation;
  authority?: string;
}

export interface CompiledHttpRule {
  /** Undefined: the rule has no `match` (matches everything, ends the VirtualService). */
  matches?: CompiledMatch[];
  /** The route name when there is no match list. */
  name?: string;
  action: 'route' | 'redirect' | 'direct' | 'none';
  destinations: CompiledWeighted[];
  redirect?: NonNullable<HTTPRoute['redirect']>;
  direct?: { status: number; body?: string };
  timeoutMs: number;
  /** The retry policy, and its variant for consistent-hash destinations (no previous-hosts predicate). */
  retry: RetryPolicy;
  retryHashed: RetryPolicy;
  fault?: FaultPolicy;
  cors?: CorsPolicy;
  headers?: HeaderMutation;
  hostRewrite?: string;
  prefixRewrite?: string;
  regexRewrite?: { pattern: string; substitution: string };
  mirrors: Array<{ dest: CompiledDestination; perMillion: number }>;
}

/** Istio ≥1.24's default retry: 2 retries, no status codes (503 excluded), other hosts preferred. */
export const defaultRetryOn = ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'];

/** The retry policy of a route (retry.ConvertPolicy); `hashed` drops the previous-hosts predicate. */
export function compileRetry(spec: HTTPRetry | undefined, hashed: boolean): RetryPolicy {
  const out: RetryPolicy = { numRetries: 2, retryOn: [...defaultRetryOn], retryIgnorePreviousHosts: !hashed, backoffBaseMs: 25 };
  if (!spec) return out;
  // An explicit policy with attempts 0 (or none) turns retries off, as Istio returns no policy.
  if (!((spec.attempts ?? 0) > 0)) return { numRetries: 0, retryOn: [], retryIgnorePreviousHosts: false, backoffBaseMs: 25 };
  out.numRetries = spec.attempts!;
  if (spec.retryOn) {
    const words: string[] = [];
    const codes: number[] = [];
    for (const raw of spec.retryOn.split(',')) {
      const w = raw.trim();
      if (!w) continue;
      if (/^\d+$/.test(w) && Number(w) >= 100 && Number(w) <= 599) codes.push(Number(w));
      else words.push(w);
    }
    if (codes.length && !words.includes('retriable-status-codes')) words.push('retriable-status-codes');
    out.retryOn = words;
    if (codes.length) out.retriableStatusCodes = codes;
  }
  const perTry = durationMs(spec.perTryTimeout);
  if (perTry !== undefined) out.perTryTimeoutMs = perTry;
  if (spec.retryIgnorePreviousHosts !== undefined) out.retryIgnorePreviousHosts = spec.retryIgnorePreviousHosts;
  const backoff = durationMs(spec.backoff);
  if (backoff !== undefined) out.backoffBaseMs = backoff;
  return out;
}

/** A StringMatch as a matcher, or undefined for `{}` (presence). */
function stringMatcher(sm: StringMatch | undefined): StringMatcher | undefined {
  if (!sm) return undefined;
  if (typeof sm.exact === 'string') return { exact: sm.exact };
  if (typeof sm.prefix === 'string') return { prefix: sm.prefix };
  if (typeof sm.regex === 'string' && sm.regex !== '*') return { regex: sm.regex }; // `*` means "present" (istio#20629)
  return undefined;
}

/** A header matcher (translateHeaderMatch); `{}` or `regex: "*"` become presence matches. */
function headerMatcher(name: string, sm: StringMatch | undefined, invert: boolean): HeaderMatcher {
  const m = stringMatcher(sm);
  const out: HeaderMatcher = m ? { name, match: m } : { name, present: true };
  if (invert) out.invert = true;
  return out;
}

/** The request match of one HTTPMatchRequest (TranslateRouteMatch); no request = match all. */
export function compileRouteMatch(m: HTTPMatchRequest | undefined): RouteMatch {
  const out: RouteMatch = { path: { prefix: '/' } };
  if (!m) return out;
  const headers: HeaderMatcher[] = [];
  for (const [name, sm] of Object.entries(m.headers ?? {})) {
    // JWT claim routing (`@request.auth.claims.*`) needs request authentication, which Skiff's proxies do not do yet.
    if (name.startsWith('@request.auth.claims')) continue;
    headers.push(headerMatcher(name.toLowerCase(), sm, false));
  }
  for (const [name, sm] of Object.entries(m.withoutHeaders ?? {})) {
    if (name.startsWith('@request.auth.claims')) continue;
    headers.push(headerMatcher(name.toLowerCase(), sm, true));
  }
  headers.sort((a, b) => cmp(a.name, b.name));
  const path = stringMatcher(m.uri);
  if (path) out.path = path;
  if (m.ignoreUriCase) out.caseSensitive = false;
  if (m.method) headers.push(headerMatcher(':method', m.method, false));
  if (m.authority) headers.push(headerMatcher(':authority', m.authority, false));
  if (m.scheme) headers.push(headerMatcher(':scheme', m.scheme, false));
  if (headers.length) out.headers = headers;
  const query: QueryMatcher[] = [];
  for (const name of Object.keys(m.queryParams ?? {}).sort(cmp)) {
    const qm = stringMatcher(m.queryParams![name]);
    query.push(qm ? { name, match: qm } : { name, present: true });
  }
  if (query.length) out.query = query;
  return out;
}

/** True for a match that takes every request (IsCatchAllRoute): prefix `/` or regex `.*`, no header or query match. */
export function isCatchAllMatch(m: RouteMatch): boolean {
  const p = m.path;
  const all = !p || ('prefix' in p && p.prefix === '/') || ('regex' in p && p.regex === '.*');
  return all && !m.headers?.length && !m.query?.length;
}

/** Header set/add/remove without pseudo-headers and `host` (TranslateHeadersOperations); the authority they carried. */
function headerOps(spec: HeaderOpsSpec | undefined): { ops?: HeaderOps; authority?: string } {
  if (!spec) return {};
  const internal = (k: string) => k.startsWith(':') || k.toLowerCase() === 'host';
  const isAuthority = (k: string) => k.toLowerCase() === ':authority' || k.toLowerCase() === 'host';
  const ops: HeaderOps = {};
  let authority: string | undefined;
  let addAuthority: string | undefined;
  for (const [field, target] of [['set', 'set'], ['add', 'add']] as const) {
    const src = spec[field];
    if (!src) continue;
    const out: Record<string, string> = {};
    for (const k of Object.keys(src).sort(cmp)) {
      if (isAuthority(k)) {
        if (field === 'set') authority = src[k];
        else addAuthority = src[k];
      }
      if (!internal(k)) out[k] = src[k];
    }
    if (Object.keys(out).length) ops[target] = out;
  }
  const remove = (spec.remove ?? []).filter((k) => !internal(k));
  if (remove.length) ops.remove = remove;
  return { ops: Object.keys(ops).length ? ops : undefined, authority: authority ?? addAuthority };
}

/** Route or destination header operations, and the authority rewrite a `host` header stands for. */
export function compileHeaders(spec: HeadersSpec | undefined): { headers?: HeaderMutation; authority?: string } {
  if (!spec) return {};
  const req = headerOps(spec.request);
  const res = headerOps(spec.response);
  const headers: HeaderMutation = {};
  if (req.ops) headers.request = req.ops;
  if (res.ops) headers.response = res.ops;
  return { headers: headers.request || headers.response ? headers : undefined, authority: req.authority };
}

/** Fault injection (TranslateFault): a missing percentage means 0 %; unsupported kinds are dropped. */
export function compileFault(f: HTTPFaultInjection | undefined): FaultPolicy | undefined {
  if (!f) return undefined;
  const out: FaultPolicy = {};
  const delayMs = durationMs(f.delay?.fixedDelay);
  if (f.delay && delayMs !== undefined) {
    // Legacy `percent` is an int out of 100 (denominator HUNDRED).
    const pm = f.delay.percentage ? perMillion(f.delay.percentage) : Math.max(0, Math.min(100, f.delay.percent ?? 0)) * 10000;
    out.delay = { fixedDelayMs: delayMs, perMillion: pm };
  }
  if (f.abort) {
    const pm = perMillion(f.abort.percentage);
    if (typeof f.abort.httpStatus === 'number') out.abort = { httpStatus: f.abort.httpStatus, perMillion: pm };
    else if (f.abort.grpcStatus) out.abort = { grpcStatus: f.abort.grpcStatus, perMillion: pm };
  }
  return out.delay || out.abort ? out : undefined;
}

/** CORS (TranslateCORSPolicy): deprecated `allowOrigin` strings are exact matches; maxAge in whole seconds. */
export function compileCors(c: CorsPolicySpec | undefined): CorsPolicy | undefined {
  if (!c) return undefined;
  const origins = c.allowOrigins
    ? c.allowOrigins.map(stringMatcher).filter((m): m is StringMatcher => m !== undefined)
    : (c.allowOrigin ?? []).map((o) => ({ exact: o }));
  const out: CorsPolicy = { allowOrigins: origins };
  if (c.allowMethods?.length) out.allowMethods = [...c.allowMethods];
  if (c.allowHeaders?.length) out.allowHeaders = [...c.allowHeaders];
  if (c.exposeHeaders?.length) out.exposeHeaders = [...c.exposeHeaders];
  const maxAge = durationMs(c.maxAge);
  if (maxAge !== undefined) out.maxAge = String(Math.floor(maxAge / 1000));
  if (c.allowCredentials !== undefined) out.allowCredentials = c.allowCredentials;
  out.unmatchedPreflights = c.unmatchedPreflights === 'IGNORE' ? 'IGNORE' : 'FORWARD';
  return out;
}

/** A destination with its short host expanded relative to `ns` (ResolveVirtualServiceShortnames). */
export function compileDestination(d: Destination, ns: string): CompiledDestination {
  const out: CompiledDestination = { host: resolveHost(d.host, ns) };
  if (d.subset) out.subset = d.subset;
  if (d.port?.number) out.port = d.port.number;
  return out;
}

/** A mirror's fraction (MirrorPercent): absent = 100 %, explicit 0 = none (undefined). */
function mirrorFraction(p: { value?: number } | undefined, legacy?: number): number | undefined {
  if (p) return (p.value ?? 0) > 0 ? perMillion(p) : undefined;
  if (legacy !== undefined) return legacy > 0 ? Math.min(100, legacy) * 10000 : undefined;
  return 1000000;
}

/** A `gateways` entry as `ns/name` (resolveGatewayName); `mesh` stays. */
export function resolveGatewayName(g: string, ns: string): string {
  if (g === 'mesh') return g;
  const slash = g.indexOf('/');
  if (slash >= 0) return g.slice(0, slash) === '.' ? `${ns}/${g.slice(slash + 1)}` : g;
  const dot = g.indexOf('.');
  if (dot < 0) return `${ns}/${g}`;
  // Legacy `name.namespace[.svc.cluster.local]`.
  const rest = g.slice(dot + 1);
  const end = rest.indexOf('.');
  return `${end < 0 ? rest : rest.slice(0, end)}/${g.slice(0, dot)}`;
}

/** Compiles one `http[]` rule of a VirtualService in namespace `ns`. */
export function compileHttpRule(r: HTTPRoute, ns: string): CompiledHttpRule {
  const route = compileHeaders(r.headers);
  const out: CompiledHttpRule = {
    action: r.redirect ? 'redirect' : r.directResponse ? 'direct' : r.route?.length ? 'route' : 'none',
    destinations: [],
    timeoutMs: durationMs(r.timeout) ?? 0,
    retry: compileRetry(r.retries, false),
    retryHashed: compileRetry(r.retries, true),
    mirrors: [],
  };
  if (r.name) out.name = r.name;
  if (r.match?.length) {
    out.matches = r.match.map((m) => {
      const match = compileRouteMatch(m);
      const cm: CompiledMatch = { match, catchAll: isCatchAllMatch(match) };
      const name = m.name ? `${r.name ?? ''}.${m.name}` : r.name;
      if (name) cm.routeName = name;
      if (m.port) cm.port = m.port;
      if (m.gateways?.length) cm.gateways = m.gateways.map((g) => resolveGatewayName(g, ns));
      if (m.sourceLabels && Object.keys(m.sourceLabels).length) cm.sourceLabels = m.sourceLabels;
      if (m.sourceNamespace) cm.sourceNamespace = m.sourceNamespace;
      return cm;
    });
  }
  if (route.headers) out.headers = route.headers;
  const fault = compileFault(r.fault);
  if (fault) out.fault = fault;
  const cors = compileCors(r.corsPolicy);
  if (cors) out.cors = cors;
  if (r.redirect) out.redirect = r.redirect;
  if (r.directResponse) {
    const b = r.directResponse.body;
    const body = b?.string ?? (b?.bytes !== undefined ? Buffer.from(b.bytes, 'base64').toString('utf8') : undefined);
    out.direct = body === undefined ? { status: r.directResponse.status } : { status: r.directResponse.status, body };
  }
  let authority = route.authority;
  if (r.rewrite) {
    if (r.rewrite.uriRegexRewrite?.match !== undefined) {
      out.regexRewrite = { pattern: r.rewrite.uriRegexRewrite.match, substitution: r.rewrite.uriRegexRewrite.rewrite ?? '' };
    } else if (r.rewrite.uri) out.prefixRewrite = r.rewrite.uri;
    if (r.rewrite.authority) authority = r.rewrite.authority;
  }
  if (authority) out.hostRewrite = authority;
  for (const d of r.route ?? []) {
    if (!d.destination) continue;
    const h = compileHeaders(d.headers);
    const w: CompiledWeighted = { dest: compileDestination(d.destination, ns), weight: d.weight ?? 0 };
    if (h.headers) w.headers = h.headers;
    if (h.authority) w.authority = h.authority;
    out.destinations.push(w);
  }
  if (r.mirror) {
    const pm = mirrorFraction(r.mirrorPercentage, r.mirrorPercent);
    if (pm !== undefined) out.mirrors.push({ dest: compileDestination(r.mirror, ns), perMillion: pm });
  }
  for (const m of r.mirrors ?? []) {
    const pm = mirrorFraction(m.percentage);
    if (pm !== undefined && m.destination) out.mirrors.push({ dest: compileDestination(m.destination, ns), perMillion: pm });
  }
  return out;
}
