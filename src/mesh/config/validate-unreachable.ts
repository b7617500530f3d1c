/**
 * Istio 1.27's unreachable-rule analysis of VirtualServices (pkg/config/validation/validation.go
 * `analyzeUnreachableHTTPRules` and friends): warnings in the webhook, IST0130/IST0131 in analysis.
 */
import { matchOf } from './validate-http.ts';
import { goQuote, type J, num, obj, str, arr, entries } from './validate-util.ts';

/** Called with each unreachable or ineffective rule, for the analyzer's IST0130/IST0131. */
export interface UnreachableReport {
  unreachable(ruleno: string, reason: string): void;
  ineffective(ruleno: string, matchno: string, dupno: string): void;
}

function routeName(route: J | undefined, n: number, isHttp: boolean): string {
  const name = isHttp ? str(route?.name) : '';
  return name !== '' ? goQuote(name) : `#${n}`;
}

function requestName(match: J | undefined, n: number, isHttp: boolean): string {
  const name = isHttp ? str(match?.name) : '';
  return name !== '' ? goQuote(name) : `#${n}`;
}

/** A canonical serialization of a match without its name, for duplicate detection. */
function matchKey(match: unknown, isHttp: boolean): string {
  const m = obj(match);
  if (!m) return 'null';
  const canon = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canon);
    const o = obj(v);
    if (!o) return v;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, canon(o[k])]));
  };
  const copy = { ...m };
  if (isHttp) delete copy.name;
  return JSON.stringify(canon(copy));
}

interface PrefixMatch {
  route: string;
  match: string;
  prefix: string;
  port: number;
  method: string;
  authority: string;
  headers: Map<string, string>;
  query: Map<string, string>;
  without: Map<string, string>;
}

function exactOrPrefix(sm: unknown): string {
  const m = matchOf(sm);
  if (m?.kind === 'exact' && m.value !== '') return `exact:${m.value}`;
  if (m?.kind === 'prefix' && m.value !== '') return `prefix:${m.value}`;
  return '';
}

function prefixMatchOf(route: J | undefined, match: J | undefined, rulen: number, matchn: number): PrefixMatch | undefined {
  const prefix = matchOf(match?.uri);
  if (!match || prefix?.kind !== 'prefix' || prefix.value === '') return undefined;
  const toMap = (v: unknown): Map<string, string> => new Map(entries(v).map(([k, x]) => [k, exactOrPrefix(x)]));
  return {
    route: routeName(route, rulen, true),
    match: requestName(match, matchn, true),
    prefix: prefix.value,
    port: num(match.port),
    method: exactOrPrefix(match.method) || 'exact:GET',
    authority: exactOrPrefix(match.authority),
    headers: toMap(match.headers),
    query: toMap(match.queryParams),
    without: toMap(match.withoutHeaders),
  };
}

function mapsCovered(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const bv = b.get(k);
    if (bv === undefined) return false;
    if (v !== bv && !v.startsWith(bv)) return false;
  }
  return true;
}

/** Istio's `coveredValidation`: does the earlier prefix match a cover the later b? */
function covered(a: PrefixMatch, b: PrefixMatch): boolean {
  if (!b.prefix.startsWith(a.prefix)) return false;
  if (b.port !== a.port) return false;
  if (a.method !== b.method && !a.method.startsWith(b.method)) return false;
  if (a.authority !== b.authority && !a.authority.startsWith(b.authority)) return false;
  return mapsCovered(a.headers, b.headers) && mapsCovered(a.query, b.query) && mapsCovered(a.without, b.without);
}

/** Reports HTTP rules after a catch-all, rules whose matches all repeat earlier ones, and covered prefix matches. */
export function analyzeUnreachableHTTPRules(routes: unknown[], report: UnreachableReport): void {
  const seen = new Map<string, number>();
  let emptyMatchAt = -1;
  const prefixes: PrefixMatch[] = [];
  routes.forEach((raw, rulen) => {
    const route = obj(raw);
    if (!route) return;
    const matches = arr(route.match);
    if (matches.length === 0) {
      if (emptyMatchAt >= 0) report.unreachable(routeName(route, rulen, true), 'only the last rule can have no matches');
      emptyMatchAt = rulen;
      return;
    }
    let duplicates = 0;
    matches.forEach((m, matchn) => {
      if (emptyMatchAt >= 0) {
        report.unreachable(routeName(route, rulen, true), 'route without matches defined before');
        return;
      }
      const key = matchKey(m, true);
      const dupn = seen.get(key);
      if (dupn !== undefined) {
        report.ineffective(routeName(route, rulen, true), requestName(obj(m), matchn, true), routeName(obj(routes[dupn]), dupn, true));
        duplicates++;
        return;
      }
      seen.set(key, rulen);
      const pm = prefixMatchOf(route, obj(m), rulen, matchn);
      if (pm) prefixes.push(pm);
    });
    if (duplicates === matches.length) report.unreachable(routeName(route, rulen, true), 'all matches used by prior rules');
  });
  for (let i = 0; i < prefixes.length; i++) {
    for (let j = i + 1; j < prefixes.length; j++) {
      const a = prefixes[i]!;
      const b = prefixes[j]!;
      if (b.prefix === a.prefix) continue;
      if (covered(a, b)) report.ineffective(b.route, `${b.match} of prefix ${b.prefix}`, `${a.match} of prefix ${a.prefix} on ${a.route}`);
    }
  }
}

/** The same for TCP and TLS rules (which have no names and no prefix analysis). */
export function analyzeUnreachableL4Rules(routes: unknown[], report: UnreachableReport): void {
  const seen = new Map<string, number>();
  let emptyMatchAt = -1;
  routes.forEach((raw, rulen) => {
    const route = obj(raw);
    if (!route) return;
    const matches = arr(route.match);
    if (matches.length === 0) {
      if (emptyMatchAt >= 0) report.unreachable(`#${rulen}`, 'only the last rule can have no matches');
      emptyMatchAt = rulen;
      return;
    }
    let duplicates = 0;
    matches.forEach((m, matchn) => {
      if (emptyMatchAt >= 0) {
        report.unreachable(`#${rulen}`, 'route without matches defined before');
        return;
      }
      const key = matchKey(m, false);
      const dupn = seen.get(key);
      if (dupn !== undefined) {
        report.ineffective(`#${rulen}`, `#${matchn}`, `#${dupn}`);
        duplicates++;
      } else seen.set(key, rulen);
    });
    if (duplicates === matches.length) report.unreachable(`#${rulen}`, 'all matches used by prior rules');
  });
}

