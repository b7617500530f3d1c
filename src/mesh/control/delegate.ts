/**
 * VirtualService delegation (§2.14, virtualservice.go mergeVirtualServicesIfNeeded): a root rule
 * with `delegate` is replaced by the delegate's rules, each with its matches ANDed with the root's
 * (a delegate rule whose matches conflict with every root match is dropped) and the root's fields
 * filling what the delegate leaves unset. Delegates (VirtualServices without hosts) are not
 * themselves routable. Inputs are never mutated: the informers own them.
 */
import { parseExportTo, visibleTo } from './hosts.ts';
import type { HTTPMatchRequest, HTTPRoute, StringMatch, VirtualServiceSpec } from './istio-types.ts';

/** A VirtualService as read from the world, before compilation. */
export interface RawVs {
  name: string;
  namespace: string;
  created: string;
  spec: VirtualServiceSpec;
}

function kind(m: StringMatch | undefined): 'exact' | 'prefix' | 'regex' | undefined {
  if (!m) return undefined;
  return typeof m.exact === 'string' && m.exact !== '' ? 'exact' : typeof m.prefix === 'string' && m.prefix !== '' ? 'prefix' : typeof m.regex === 'string' && m.regex !== '' ? 'regex' : undefined;
}

/** stringMatchConflict: a delegate match must narrow the root's one. */
function conflicts(root: StringMatch | undefined, leaf: StringMatch | undefined): boolean {
  if (!root || !leaf) return false;
  const rk = kind(root);
  const lk = kind(leaf);
  if (rk === 'regex' && lk) return true;
  if (lk === 'regex' && rk) return true;
  if (rk === 'exact') return lk === 'prefix' || leaf.exact !== root.exact;
  if (rk === 'prefix') {
    if (lk === 'prefix') return !leaf.prefix!.startsWith(root.prefix!);
    if (lk === 'exact') return !leaf.exact!.startsWith(root.prefix!);
  }
  return true;
}

function mapConflict(root: Record<string, StringMatch> | undefined, leaf: Record<string, StringMatch> | undefined): boolean {
  for (const [k, v] of Object.entries(leaf ?? {})) if (conflicts(root?.[k], v)) return true;
  return false;
}

/** hasConflict between a root match and a delegate match. */
function hasConflict(root: HTTPMatchRequest, leaf: HTTPMatchRequest): boolean {
  if (conflicts(root.uri, leaf.uri) || conflicts(root.scheme, leaf.scheme) || conflicts(root.method, leaf.method) || conflicts(root.authority, leaf.authority)) return true;
  if (mapConflict(root.headers, leaf.headers) || mapConflict(root.withoutHeaders, leaf.withoutHeaders) || mapConflict(root.queryParams, leaf.queryParams)) return true;
  if (!!root.ignoreUriCase !== !!leaf.ignoreUriCase) return true;
  if (root.port && leaf.port && root.port !== leaf.port) return true;
  if (root.sourceNamespace && leaf.sourceNamespace !== root.sourceNamespace) return true;
  for (const [k, v] of Object.entries(leaf.sourceLabels ?? {})) if (root.sourceLabels?.[k] !== undefined && root.sourceLabels[k] !== v) return true;
  if (root.gateways?.length && leaf.gateways?.length) {
    if (root.gateways.length < leaf.gateways.length) return true;
    if (leaf.gateways.some((g) => !root.gateways!.includes(g))) return true;
  }
  return false;
}

function mergeMatch(root: HTTPMatchRequest, leaf: HTTPMatchRequest): HTTPMatchRequest {
  const out: HTTPMatchRequest = { ...leaf };
  out.name = leaf.name ? (root.name ? `${root.name}-${leaf.name}` : leaf.name) : root.name;
  out.uri ??= root.uri;
  out.scheme ??= root.scheme;
  out.method ??= root.method;
  out.authority ??= root.authority;
  out.headers = { ...root.headers, ...leaf.headers };
  out.withoutHeaders = { ...root.withoutHeaders, ...leaf.withoutHeaders };
  out.queryParams = { ...root.queryParams, ...leaf.queryParams };
  out.port ||= root.port;
  out.sourceLabels = { ...root.sourceLabels, ...leaf.sourceLabels };
  out.sourceNamespace ||= root.sourceNamespace;
  if (!out.gateways?.length) out.gateways = root.gateways;
  return out;
}

/** mergeHTTPRoute: undefined when the delegate rule conflicts with the root rule. */
function mergeRule(root: HTTPRoute, leaf: HTTPRoute): HTTPRoute | undefined {
  let match: HTTPMatchRequest[] | undefined;
  if (!root.match?.length) match = leaf.match;
  else if (!leaf.match?.length) match = root.match;
  else {
    match = [];
    for (const sub of leaf.match) {
      const merged = root.match.filter((r) => !hasConflict(r, sub)).map((r) => mergeMatch(r, sub));
      if (!merged.length) return undefined;
      match.push(...merged);
    }
  }
  const out: HTTPRoute = { ...leaf, match };
  out.name = leaf.name ? (root.name ? `${root.name}-${leaf.name}` : leaf.name) : root.name;
  out.rewrite ??= root.rewrite;
  out.directResponse ??= root.directResponse;
  out.timeout ??= root.timeout;
  out.retries ??= root.retries;
  out.fault ??= root.fault;
  out.mirror ??= root.mirror;
  out.mirrorPercent ??= root.mirrorPercent;
  out.mirrorPercentage ??= root.mirrorPercentage;
  out.corsPolicy ??= root.corsPolicy;
  out.mirrors ??= root.mirrors;
  out.headers ??= root.headers;
  return out;
}

/** The routable VirtualServices with delegate rules merged in; order is kept. */
export function mergeDelegates(list: RawVs[]): RawVs[] {
  const delegates = new Map<string, RawVs>();
  for (const v of list) if (!v.spec.hosts?.length) delegates.set(`${v.namespace}/${v.name}`, v);
  if (!delegates.size && !list.some((v) => v.spec.http?.some((r) => r.delegate))) return list;
  const out: RawVs[] = [];
  for (const v of list) {
    if (!v.spec.hosts?.length) continue;
    if (!v.spec.http?.some((r) => r.delegate)) {
      out.push(v);
      continue;
    }
    const http: HTTPRoute[] = [];
    for (const r of v.spec.http) {
      if (!r.delegate) {
        http.push(r);
        continue;
      }
      const ns = r.delegate.namespace || v.namespace;
      const d = delegates.get(`${ns}/${r.delegate.name}`);
      // A missing delegate, or one not exported to the root's namespace, drops only this rule.
      if (!d || !visibleTo(parseExportTo(d.spec.exportTo, d.namespace), v.namespace)) continue;
      const { delegate: _drop, ...root } = r;
      for (const leaf of d.spec.http ?? []) {
        const merged = mergeRule(root, leaf);
        if (merged) http.push(merged);
      }
    }
    out.push({ ...v, spec: { ...v.spec, http } });
  }
  return out;
}
