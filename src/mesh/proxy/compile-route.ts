/**
 * Route compilation: routes (matchers, actions, retry policies as bit sets, faults, CORS, folded
 * header operations), route configs (domain tables) and TCP rules. Every error names where it is.
 */
import { ProxyConfigError } from './errors.ts';
import { checkHeaderValue, compileMutation } from './headers.ts';
import { compileDomains, compileMatch, compileRegex, compileString, type DomainTable } from './match.ts';
import { sameList, type Route, type RouteConfig, type TcpRoute, type VirtualHost, type WeightedCluster } from './model.ts';
import {
  type CompiledAction,
  type CompiledCors,
  type CompiledDest,
  type CompiledFault,
  type CompiledMirror,
  type CompiledRetry,
  type CompiledRoute,
  type CompiledRouteConfig,
  type CompiledTcpRoute,
  type CompiledVHost,
  matchAll,
  noRetry,
  RETRY,
} from './compiled.ts';

/** Words Istio accepts in retryOn that this proxy does not act on (HTTP/3, rate-limit and header-based retries). */
const acceptedWords = new Set(['envoy-ratelimited', 'retriable-headers', 'http3-post-connect-failure']);

const retryWords: Record<string, number> = {
  '5xx': RETRY.r5xx,
  'gateway-error': RETRY.gatewayError,
  reset: RETRY.reset,
  'reset-before-request': RETRY.resetBeforeRequest,
  'connect-failure': RETRY.connectFailure,
  'retriable-4xx': RETRY.retriable4xx,
  'refused-stream': RETRY.refusedStream,
  'retriable-status-codes': RETRY.statusCodes,
  cancelled: RETRY.grpcCancelled,
  'deadline-exceeded': RETRY.grpcDeadline,
  internal: RETRY.grpcInternal,
  'resource-exhausted': RETRY.grpcResource,
  unavailable: RETRY.grpcUnavailable,
};

const grpcCodes: Record<string, number> = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
};

/** A compiled part of a config, with the destinations it holds (bound again to live clusters when reused). */
export interface CompiledPart {
  value: unknown;
  bindings: Array<CompiledDest | CompiledMirror>;
}

/** Compiled parts by the source object they were compiled from (virtual hosts, TCP rule lists). */
export type PartCache = Map<object, CompiledPart>;

/**
 * Compiles routes; collects every destination and mirror for binding to live clusters. Given the
 * parts of the previous config, a virtual host or TCP rule list that is the same object as then
 * (a config delta keeps what it does not change) is reused instead of compiled again: its source
 * is immutable, and it compiled without error then.
 */
export class Compiler {
  bindings: Array<CompiledDest | CompiledMirror> = [];
  /** The bindings this compile made (the rest are reused parts', bound already while their cluster set lives). */
  fresh: Array<CompiledDest | CompiledMirror> = [];
  /** The parts of this config, for the next one. */
  readonly parts: PartCache = new Map();
  readonly #prev: PartCache | undefined;

  constructor(prev?: PartCache) {
    this.#prev = prev;
  }

  /** The compiled form of `src`: this config's, the previous config's, or `build()`'s. */
  #part<T>(src: object, build: () => T): T {
    const cur = this.parts.get(src);
    if (cur) return cur.value as T;
    const hit = this.#prev?.get(src);
    if (hit) {
      this.parts.set(src, hit);
      for (const b of hit.bindings) this.bindings.push(b);
      return hit.value as T;
    }
    const start = this.bindings.length;
    const value = build();
    this.parts.set(src, { value, bindings: this.bindings.slice(start) });
    return value;
  }

  /** Records a destination or mirror made by this compile, to be bound to its live cluster. */
  bind(b: CompiledDest | CompiledMirror): void {
    this.bindings.push(b);
    this.fresh.push(b);
  }

  dests(list: WeightedCluster[], routeHeaders: Route['headers'], where: string): { dests: CompiledDest[]; total: number } {
    if (!list.length) throw new ProxyConfigError(`${where}: a route needs at least one destination cluster`);
    // One destination takes 100% whatever its weight; with several, zero weights are dropped (Istio §2.6).
    const kept = list.length === 1 ? [{ ...list[0], weight: 1 }] : list.filter((w) => w.weight > 0);
    for (const w of list) if (!(w.weight >= 0)) throw new ProxyConfigError(`${where}: cluster "${w.cluster}" has a negative or invalid weight ${w.weight}`);
    if (!kept.length) throw new ProxyConfigError(`${where}: total destination weight is 0`);
    let cum = 0;
    const dests = kept.map((w) => {
      cum += w.weight;
      const d: CompiledDest = { name: w.cluster, cum, ops: compileMutation(w.headers, routeHeaders) };
      this.bind(d);
      return d;
    });
    return { dests, total: cum };
  }

  retry(r: Route['action'] & { kind: 'route' }, where: string): CompiledRetry {
    const p = r.retry;
    if (!p || p.numRetries <= 0) return noRetry;
    let on = 0;
    const codes = new Set<number>(p.retriableStatusCodes ?? []);
    for (const raw of p.retryOn) {
      const w = raw.trim();
      if (!w) continue;
      if (/^\d{3}$/.test(w)) {
        codes.add(Number(w));
        on |= RETRY.statusCodes;
      } else if (w in retryWords) on |= retryWords[w];
      else if (!acceptedWords.has(w)) throw new ProxyConfigError(`${where}: unknown retryOn condition "${w}"`);
    }
    const perTry = p.perTryTimeoutMs ?? 0;
    // Envoy ignores a per-try timeout that is not shorter than the route timeout.
    const perTryMs = perTry > 0 && (r.timeoutMs <= 0 || perTry < r.timeoutMs) ? perTry : 0;
    return { num: p.numRetries, on, codes, perTryMs, avoid: p.retryIgnorePreviousHosts && !r.hashPolicy?.length, baseMs: p.backoffBaseMs > 0 ? p.backoffBaseMs : 25 };
  }

  route(r: Route, where: string): CompiledRoute {
    const match = compileMatch(r.match ?? {}, where);
    const a = r.action;
    let action: CompiledAction;
    switch (a?.kind) {
      case 'route': {
        const { dests, total } = this.dests(a.clusters, r.headers, where);
        const mirrors = (a.mirrors ?? []).map((m) => {
          const cm: CompiledMirror = { name: m.cluster, perMillion: m.perMillion };
          this.bind(cm);
          return cm;
        });
        const retry = this.retry(a, where);
        const expected = retry.perTryMs > 0 ? retry.perTryMs : a.timeoutMs;
        action = {
          kind: 'route',
          dests,
          total,
          timeoutMs: a.timeoutMs > 0 ? a.timeoutMs : 0,
          retry,
          prefixRewrite: a.prefixRewrite,
          regexRewrite: a.regexRewrite
            ? { re: compileRegex(a.regexRewrite.pattern, `${where}: regexRewrite`, false), sub: a.regexRewrite.substitution.replace(/\$/g, '$$$$').replace(/\\(\d)/g, '$$$1') }
            : undefined,
          hostRewrite: a.hostRewrite === undefined ? undefined : checkHeaderValue(a.hostRewrite, `${where}: rewrite authority`),
          mirrors,
          hash: a.hashPolicy?.length ? a.hashPolicy : undefined,
          expectedTimeout: a.timeoutMs > 0 ? String(expected) : '',
        };
        break;
      }
      case 'redirect':
        if (![301, 302, 303, 307, 308].includes(a.responseCode)) throw new ProxyConfigError(`${where}: unsupported redirect code ${a.responseCode} (301, 302, 303, 307 or 308)`);
        // The Location is built from these: checked once, as header text.
        for (const t of [a.path, a.prefixRewrite, a.host, a.scheme]) if (t !== undefined) checkHeaderValue(t, `${where}: redirect`);
        action = { kind: 'redirect', status: a.responseCode, path: a.path, prefixRewrite: a.prefixRewrite, host: a.host, scheme: a.scheme, port: a.port, derive: a.derivePort, responseOps: compileMutation(undefined, r.headers).response };
        break;
      case 'direct':
        if (!(a.status >= 200 && a.status <= 599)) throw new ProxyConfigError(`${where}: direct response status ${a.status} is outside 200-599`);
        action = { kind: 'direct', status: a.status, body: a.body ?? '', responseOps: compileMutation(undefined, r.headers).response };
        break;
      default:
        throw new ProxyConfigError(`${where}: unknown route action ${JSON.stringify((a as { kind?: unknown } | undefined)?.kind)}`);
    }
    return { name: r.name, match, action, fault: this.fault(r, where), cors: this.cors(r, where), operation: r.operation };
  }

  fault(r: Route, where: string): CompiledFault | undefined {
    const f = r.fault;
    if (!f || (!f.delay && !f.abort)) return undefined;
    let abortGrpc: number | undefined;
    if (f.abort?.grpcStatus !== undefined) {
      abortGrpc = grpcCodes[f.abort.grpcStatus.toUpperCase()];
      if (abortGrpc === undefined) throw new ProxyConfigError(`${where}: unknown gRPC status "${f.abort.grpcStatus}" in fault abort`);
    }
    const status = f.abort?.httpStatus ?? 0;
    if (f.abort && abortGrpc === undefined && !(status >= 200 && status <= 600)) throw new ProxyConfigError(`${where}: fault abort status ${status} is outside 200-600`);
    return {
      delayMs: f.delay?.fixedDelayMs ?? 0,
      delayPerMillion: f.delay ? f.delay.perMillion : 0,
      abortPerMillion: f.abort ? f.abort.perMillion : 0,
      abortStatus: abortGrpc !== undefined ? 200 : status,
      abortGrpc,
    };
  }

  cors(r: Route, where: string): CompiledCors | undefined {
    const c = r.cors;
    if (!c) return undefined;
    return {
      origins: c.allowOrigins.map((o, i) => compileString(o, `${where}: cors allowOrigins[${i}]`)),
      methods: checkHeaderValue((c.allowMethods ?? []).join(','), `${where}: cors`),
      headers: checkHeaderValue((c.allowHeaders ?? []).join(','), `${where}: cors`),
      expose: checkHeaderValue((c.exposeHeaders ?? []).join(','), `${where}: cors`),
      maxAge: checkHeaderValue(c.maxAge ?? '', `${where}: cors`),
      credentials: c.allowCredentials === true,
      forwardUnmatched: c.unmatchedPreflights !== 'IGNORE',
    };
  }

  /**
   * Compiles a route config. `prev` is the same-named route config of the live config with its
   * compiled form: when every virtual host lists the same domains as the one at its place there,
   * the domain table is the live one with the changed hosts swapped in (the same domains passed
   * the duplicate check then), which is much cheaper than building it again.
   */
  routeConfig(rc: RouteConfig, prev?: { src: RouteConfig; compiled: CompiledRouteConfig }): CompiledRouteConfig {
    const patched = prev && this.#patchDomains(rc, prev.src, prev.compiled.domains);
    if (patched) return { name: rc.name, domains: patched };
    const vhosts = rc.virtualHosts.map((vh) => ({ name: vh.name, domains: vh.domains, value: this.#vhost(rc, vh) }));
    return { name: rc.name, domains: compileDomains(vhosts, `route config "${rc.name}"`) };
  }

  #vhost(rc: RouteConfig, vh: VirtualHost): CompiledVHost {
    return this.#part(vh, (): CompiledVHost => ({ name: vh.name, routes: vh.routes.map((r, i) => this.route(r, `route config "${rc.name}", virtual host "${vh.name}", route ${r.name ? `"${r.name}"` : `#${i}`}`)) }));
  }

  /**
   * `table` with the compiled virtual hosts of `rc` that changed since `old` swapped in, or undefined
   * when a host's domains differ from those of the one at its place (the table is built anew then).
   * One pass, and a host a delta left as it was (the same object at the same place) costs a lookup:
   * a push wakes every sidecar, and most of a one-route delta's compile was walking the hosts it
   * did not change.
   */
  #patchDomains(rc: RouteConfig, old: RouteConfig, table: DomainTable<CompiledVHost>): DomainTable<CompiledVHost> | undefined {
    const before = old.virtualHosts;
    const now = rc.virtualHosts;
    if (before.length !== now.length) return undefined;
    const changed: Array<[CompiledVHost, CompiledVHost, string[]]> = [];
    for (let i = 0; i < now.length; i++) {
      const vh = now[i];
      if (vh === before[i]) {
        this.#vhost(rc, vh);
        continue;
      }
      const was = this.#prev?.get(before[i])?.value as CompiledVHost | undefined;
      if (was === undefined || !sameList(before[i].domains, vh.domains)) return undefined;
      const value = this.#vhost(rc, vh);
      if (was !== value) changed.push([was, value, vh.domains]);
    }
    if (!changed.length) return table;
    // A copy: the live table keeps serving requests that started before the swap.
    const t: DomainTable<CompiledVHost> = { exact: new Map(table.exact), suffixes: [...table.suffixes], prefixes: [...table.prefixes], any: table.any, lastHost: undefined, lastValue: undefined };
    const inGroups = (groups: DomainTable<CompiledVHost>['suffixes'], key: string, was: CompiledVHost, now: CompiledVHost): boolean => {
      const i = groups.findIndex((g) => g.len === key.length && g.map.get(key) === was);
      if (i < 0) return false;
      const map = new Map(groups[i].map).set(key, now);
      groups[i] = { len: key.length, map };
      return true;
    };
    for (const [was, now, domains] of changed) {
      for (const raw of domains) {
        const d = raw.toLowerCase();
        if (t.exact.get(d) === was) t.exact.set(d, now);
        else if (d === '*' && t.any === was) t.any = now;
        else if (!inGroups(t.suffixes, d.slice(1), was, now) && !inGroups(t.prefixes, d.slice(0, -1), was, now)) return undefined;
      }
    }
    return t;
  }

  tcpRoutes(list: TcpRoute[], where: string): CompiledTcpRoute[] {
    return this.#part(list, () => this.#tcpRoutes(list, where));
  }

  #tcpRoutes(list: TcpRoute[], where: string): CompiledTcpRoute[] {
    return list.map((t, i) => {
      const { dests, total } = this.dests(t.clusters, undefined, `${where} rule #${i}`);
      const http: CompiledRoute = { name: undefined, match: matchAll, action: { kind: 'route', dests, total, timeoutMs: 0, retry: noRetry, mirrors: [], expectedTimeout: '' } };
      return { subnets: (t.destinationSubnets ?? []).map((c) => parseCidr(c, `${where} rule #${i}`)), dests, total, http };
    });
  }
}

/** `a.b.c.d/n` as [network, mask]; throws ProxyConfigError when malformed. */
export function parseCidr(cidr: string, where: string): [number, number] {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(cidr.trim());
  const bits = m ? Number(m[5] ?? 32) : NaN;
  if (!m || bits > 32 || m.slice(1, 5).some((x) => Number(x) > 255)) throw new ProxyConfigError(`${where}: invalid destination subnet "${cidr}"`);
  const ip = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return [(ip & mask) >>> 0, mask];
}
