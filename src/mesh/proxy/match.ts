/**
 * Pure request matchers, compiled at apply() time: string matchers (exact, prefix, RE2-style full
 * regex), header and query-parameter matchers with Envoy's presence/invert rules, route matches,
 * and the virtual-host domain table with Envoy's search order. Nothing here compiles a regex or
 * allocates per request, except the lazily parsed query map (only for routes that match on query).
 */
import type http from 'node:http';
import { ProxyConfigError } from './errors.ts';
import { asLower } from './h1/fields.ts';
import { type HeaderHolder, headerOf } from './headers.ts';
import type { HeaderMatcher, QueryMatcher, RouteMatch, StringMatcher } from './model.ts';

/** What matchers read of a request; built once per request by the listener. */
export interface RequestView {
  method: string;
  /** The path without the query string. */
  path: string;
  /** `:path` as Envoy sees it: path and query. */
  fullPath: string;
  /** The raw query string without `?` ('' when none). */
  query: string;
  /** Host header value as sent, port included. */
  authority: string;
  scheme: string;
  /** Where header matchers read the request's headers (headers.ts headerOf). */
  req: HeaderHolder;
  /** First value per key of the query string; parsed on first use by a query matcher. */
  params?: Map<string, string>;
  /** The path lowercased; computed on first use by a case-insensitive route. */
  lowerPath?: string;
}

const EXACT = 0;
const PREFIX = 1;
const REGEX = 2;

/** A compiled string matcher. */
export interface CompiledString {
  kind: typeof EXACT | typeof PREFIX | typeof REGEX;
  value: string;
  re?: RegExp;
}

/**
 * Compiles an RE2 pattern (Envoy safe_regex) into a full-match JS RegExp. The RE2 spellings JS lacks
 * are translated: a leading `(?i)` becomes the `i` flag, `(?P<n>` named groups become `(?<n>`, `\A`
 * and `\z` become anchors. Throws ProxyConfigError when the pattern does not compile.
 */
export function compileRegex(pattern: string, where: string, anchored = true): RegExp {
  let src = pattern;
  let flags = '';
  if (src.startsWith('(?i)')) {
    src = src.slice(4);
    flags = 'i';
  }
  src = src.replace(/\(\?P</g, '(?<').replace(/\\A/g, '^').replace(/\\z/g, '$');
  try {
    return new RegExp(anchored ? `^(?:${src})$` : src, anchored ? flags : `${flags}g`);
  } catch (e) {
    throw new ProxyConfigError(`${where}: invalid regex ${JSON.stringify(pattern)}: ${(e as Error).message}`);
  }
}

/** Compiles a StringMatcher; `lower` lowercases exact/prefix values (case-insensitive paths). */
export function compileString(m: StringMatcher, where: string, lower = false): CompiledString {
  if ('exact' in m && typeof m.exact === 'string') return { kind: EXACT, value: lower ? m.exact.toLowerCase() : m.exact };
  if ('prefix' in m && typeof m.prefix === 'string') return { kind: PREFIX, value: lower ? m.prefix.toLowerCase() : m.prefix };
  if ('regex' in m && typeof m.regex === 'string') return { kind: REGEX, value: m.regex, re: compileRegex(m.regex, where) };
  throw new ProxyConfigError(`${where}: a string matcher needs one of exact, prefix or regex`);
}

/** True when `s` matches. */
export function matchString(m: CompiledString, s: string): boolean {
  switch (m.kind) {
    case EXACT:
      return s === m.value;
    case PREFIX:
      return s.startsWith(m.value);
    default:
      return (m.re as RegExp).test(s);
  }
}

/** A compiled header matcher. */
interface CompiledHeader {
  name: string;
  /** 0 plain header, 1 :authority/host, 2 :method, 3 :scheme, 4 :path. */
  source: number;
  match?: CompiledString;
  invert: boolean;
}

function headerSource(name: string): number {
  switch (name) {
    case ':authority':
    case 'host':
      return 1;
    case ':method':
      return 2;
    case ':scheme':
      return 3;
    case ':path':
      return 4;
    default:
      return 0;
  }
}

function headerValue(h: CompiledHeader, v: RequestView): string | undefined {
  switch (h.source) {
    case 1:
      return v.authority;
    case 2:
      return v.method;
    case 3:
      return v.scheme;
    case 4:
      return v.fullPath;
    default: {
      const x = headerOf(v.req, h.name);
      // node joins repeated headers with ', ' except set-cookie (an array); Envoy matches the joined value.
      return Array.isArray(x) ? x.join(',') : x;
    }
  }
}

/** Envoy HeaderMatcher: presence or value; a missing header never matches a value; invert flips the result. */
function matchHeader(h: CompiledHeader, v: RequestView): boolean {
  const val = headerValue(h, v);
  const ok = val !== undefined && (h.match === undefined || matchString(h.match, val));
  return ok !== h.invert;
}

interface CompiledQuery {
  name: string;
  match?: CompiledString;
}

/** Parses a raw query into its first value per key (no decoding, as Envoy's route matching). */
export function parseQuery(q: string): Map<string, string> {
  const m = new Map<string, string>();
  if (!q) return m;
  let start = 0;
  while (start <= q.length) {
    let end = q.indexOf('&', start);
    if (end < 0) end = q.length;
    if (end > start) {
      const eq = q.indexOf('=', start);
      const k = eq >= 0 && eq < end ? q.slice(start, eq) : q.slice(start, end);
      const val = eq >= 0 && eq < end ? q.slice(eq + 1, end) : '';
      if (!m.has(k)) m.set(k, val);
    }
    start = end + 1;
  }
  return m;
}

function matchQuery(qm: CompiledQuery, v: RequestView): boolean {
  const params = (v.params ??= parseQuery(v.query));
  const val = params.get(qm.name);
  if (val === undefined) return false;
  return qm.match === undefined || matchString(qm.match, val);
}

/** A compiled RouteMatch. */
export interface CompiledMatch {
  path?: CompiledString;
  caseSensitive: boolean;
  headers: CompiledHeader[];
  query: CompiledQuery[];
}

/** Compiles a RouteMatch (throws ProxyConfigError naming `where`). */
export function compileMatch(m: RouteMatch, where: string): CompiledMatch {
  const caseSensitive = m.caseSensitive !== false;
  const headers = (m.headers ?? []).map((h: HeaderMatcher) => {
    const name = h.name.toLowerCase();
    return {
      name,
      source: headerSource(name),
      match: h.match && !h.present ? compileString(h.match, `${where}: header "${name}"`) : undefined,
      invert: h.invert === true,
    };
  });
  const query = (m.query ?? []).map((q: QueryMatcher) => ({
    name: q.name,
    match: q.match && !q.present ? compileString(q.match, `${where}: query parameter "${q.name}"`) : undefined,
  }));
  return { path: m.path ? compileString(m.path, `${where}: path`, !caseSensitive) : undefined, caseSensitive, headers, query };
}

/** True when every part of the match holds (AND). */
export function matchRequest(m: CompiledMatch, v: RequestView): boolean {
  if (m.path) {
    // ignoreUriCase affects exact/prefix only; regex always sees the path as sent.
    const p = m.caseSensitive || m.path.kind === REGEX ? v.path : (v.lowerPath ??= v.path.toLowerCase());
    if (!matchString(m.path, p)) return false;
  }
  for (let i = 0; i < m.headers.length; i++) if (!matchHeader(m.headers[i], v)) return false;
  for (let i = 0; i < m.query.length; i++) if (!matchQuery(m.query[i], v)) return false;
  return true;
}

/**
 * How much of the path a route's match consumed, for prefix_rewrite: the prefix for prefix
 * matches, the whole path for exact and regex matches, and `/` for matches without a path (Istio
 * emits those as prefix `/`).
 */
export function matchedPrefixLength(m: CompiledMatch, path: string): number {
  if (!m.path) return path.startsWith('/') ? 1 : 0;
  return m.path.kind === PREFIX ? m.path.value.length : path.length;
}

/** Virtual-host lookup by Host in Envoy's order: exact, longest `*suffix`, longest `prefix*`, then `*`. */
export interface DomainTable<T> {
  exact: Map<string, T>;
  /** Suffix wildcards grouped by suffix length, longest first. */
  suffixes: Array<{ len: number; map: Map<string, T> }>;
  prefixes: Array<{ len: number; map: Map<string, T> }>;
  any: T | undefined;
  /**
   * lookupDomain's last host and answer. A sidecar's requests mostly name the host of the one
   * before, and hostOf hands back the very string it gave then: one pointer comparison instead of
   * the Map's hashing of a new string and its comparison of two (a runtime call, as a header value
   * is a slice of its head's text: ~800 instructions a request under callgrind).
   */
  lastHost: string | undefined;
  lastValue: T | undefined;
}

function addByLen<T>(groups: Array<{ len: number; map: Map<string, T> }>, key: string, value: T): void {
  let g = groups.find((x) => x.len === key.length);
  if (!g) {
    g = { len: key.length, map: new Map() };
    groups.push(g);
    groups.sort((a, b) => b.len - a.len);
  }
  g.map.set(key, value);
}

/** Builds a domain table; a domain listed twice is a config error (Envoy rejects it too). */
export function compileDomains<T>(entries: Array<{ domains: string[]; value: T; name: string }>, where: string): DomainTable<T> {
  const t: DomainTable<T> = { exact: new Map(), suffixes: [], prefixes: [], any: undefined, lastHost: undefined, lastValue: undefined };
  const seen = new Set<string>();
  for (const e of entries) {
    for (const raw of e.domains) {
      const d = raw.toLowerCase();
      if (seen.has(d)) throw new ProxyConfigError(`${where}: domain "${d}" of virtual host "${e.name}" is listed twice; domains must be unique`);
      seen.add(d);
      if (d === '*') t.any = e.value;
      else if (d.startsWith('*')) addByLen(t.suffixes, d.slice(1), e.value);
      else if (d.endsWith('*')) addByLen(t.prefixes, d.slice(0, -1), e.value);
      else t.exact.set(d, e.value);
    }
  }
  return t;
}

/** hostOf's last answer: requests on a connection, and most on a proxy, name the same authority. */
let lastAuthority = '';
let lastHost = '';

/** The host part of an authority, lowercased, without port (IPv6 brackets kept off). */
export function hostOf(authority: string): string {
  // One comparison of equal strings costs a fraction of the scan for capitals (callgrind).
  if (authority === lastAuthority) return lastHost;
  const host = hostPart(authority);
  lastAuthority = authority;
  lastHost = host;
  return host;
}

function hostPart(authority: string): string {
  let end = authority.length;
  if (authority.charCodeAt(0) === 91 /* [ */) {
    const close = authority.indexOf(']');
    return (close > 0 ? authority.slice(1, close) : authority).toLowerCase();
  }
  const colon = lastColon(authority);
  if (colon >= 0) end = colon;
  const h = end === authority.length ? authority : authority.slice(0, end);
  return asLower(h);
}

/**
 * The index of the last ':' in an authority, or -1 (a loop: String.prototype.lastIndexOf is a
 * runtime call, several times the cost over a short string).
 */
export function lastColon(authority: string): number {
  for (let i = authority.length - 1; i >= 0; i--) if (authority.charCodeAt(i) === 58) return i;
  return -1;
}

/** Finds the value for a host (already lowercased, port removed); a trailing dot is ignored. */
export function lookupDomain<T>(t: DomainTable<T>, host: string): T | undefined {
  if (host === t.lastHost) return t.lastValue;
  const v = findDomain(t, host);
  t.lastHost = host;
  t.lastValue = v;
  return v;
}

function findDomain<T>(t: DomainTable<T>, host: string): T | undefined {
  const exact = t.exact.get(host);
  if (exact !== undefined) return exact;
  if (host.endsWith('.')) {
    const h = host.slice(0, -1);
    const v = t.exact.get(h);
    if (v !== undefined) return v;
    host = h;
  }
  // A wildcard must stand for at least one character, hence the strict length checks.
  for (const g of t.suffixes) {
    if (g.len >= host.length) continue;
    const v = g.map.get(host.slice(host.length - g.len));
    if (v !== undefined) return v;
  }
  for (const g of t.prefixes) {
    if (g.len >= host.length) continue;
    const v = g.map.get(host.slice(0, g.len));
    if (v !== undefined) return v;
  }
  return t.any;
}
