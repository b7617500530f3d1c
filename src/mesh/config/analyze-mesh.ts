/**
 * Istio 1.27's analyzers for routing configuration (pkg/config/analysis/analyzers/virtualservice,
 * destinationrule and gateway): references between VirtualServices, DestinationRules, Gateways,
 * Services and pods, with their IST codes and messages.
 */
import { X509Certificate } from 'node:crypto';
import {
  destinationService, resourceNameFromHost, selectorMatches, selectorString, serviceHostMap, toFQDN,
  type ServiceLike,
} from './analyze-hosts.ts';
import type { AnalysisContext, Resource } from './analyze-messages.ts';
import { hostMatches } from './validate-names.ts';
import { arr, type J, num, obj, str, strMap, strs } from './validate-util.ts';

const VS = 'networking.istio.io/VirtualService';
const DR = 'networking.istio.io/DestinationRule';
const GW = 'networking.istio.io/Gateway';

interface Dest {
  rule: 'tcp' | 'tls' | 'http' | 'http.mirror' | 'http.mirrors';
  destination: J;
}

/** Route destinations in Istio's order: tcp, tls, then http. */
function routeDestinations(spec: J): Dest[] {
  const out: Dest[] = [];
  for (const rule of ['tcp', 'tls', 'http'] as const) {
    for (const r of arr(spec[rule])) {
      for (const rd of arr(obj(r)?.route)) out.push({ rule, destination: obj(obj(rd)?.destination) ?? {} });
    }
  }
  return out;
}

function mirrorDestinations(spec: J): Dest[] {
  const out: Dest[] = [];
  for (const r of arr(spec.http)) {
    const m = obj(obj(r)?.mirror);
    if (m) out.push({ rule: 'http.mirror', destination: m });
    for (const mm of arr(obj(r)?.mirrors)) out.push({ rule: 'http.mirrors', destination: obj(obj(mm)?.destination) ?? {} });
  }
  return out;
}

/** virtualservice.DestinationHostAnalyzer: unknown hosts (IST0101), ports (IST0101, IST0112), ingress subsets (IST0140). */
export function analyzeDestinationHosts(ctx: AnalysisContext): void {
  const services = serviceHostMap(ctx);
  const vss = ctx.list(VS);
  // VirtualServices with a subset route whose destination is one of their own hosts.
  const subsetDests: [Resource, J[]][] = [];
  for (const r of vss) {
    const hosts = strs(r.spec.hosts);
    const dests: J[] = [];
    for (const route of arr(r.spec.http)) {
      for (const rd of arr(obj(route)?.route)) {
        const d = obj(obj(rd)?.destination);
        if (d && str(d.subset) !== '') for (const h of hosts) if (str(d.host) === h) dests.push(d);
      }
    }
    if (dests.length > 0) subsetDests.push([r, dests]);
  }
  for (const r of vss) {
    const exportTo = strs(r.spec.exportTo);
    for (const [list, reftype] of [[routeDestinations(r.spec), 'host'], [mirrorDestinations(r.spec), 'mirror host']] as const) {
      for (const d of list) {
        const host = str(d.destination.host);
        const s = destinationService(r.namespace, exportTo, host, services);
        if (!s) ctx.report(r, 'ReferencedResourceNotFound', reftype, host);
        else checkPorts(ctx, r, d.destination, s);
      }
    }
    if (strs(r.spec.gateways).length === 0) continue;
    for (const route of arr(r.spec.http)) {
      for (const rd of arr(obj(route)?.route)) {
        const d = obj(obj(rd)?.destination);
        if (!d || str(d.subset) !== '') continue;
        for (const [other, dests] of subsetDests) {
          for (const od of dests) {
            if (str(od.host) === str(d.host)) ctx.report(r, 'IngressRouteRulesNotAffected', `${other.namespace}/${other.name}`, `${r.namespace}/${r.name}`);
          }
        }
      }
    }
  }
}

function checkPorts(ctx: AnalysisContext, r: Resource, d: J, s: ServiceLike): void {
  const port = obj(d.port);
  if (!port) {
    if (s.ports.length > 1) ctx.report(r, 'VirtualServiceDestinationPortSelectorRequired', str(d.host), s.ports.map((p) => p.number));
    return;
  }
  const n = num(port.number);
  if (!s.ports.some((p) => p.number === n)) ctx.report(r, 'ReferencedResourceNotFound', 'host:port', `${str(d.host)}:${n}`);
}

/** virtualservice.DestinationRuleAnalyzer: a subset no DestinationRule defines (IST0101). */
export function analyzeDestinationSubsets(ctx: AnalysisContext): void {
  const known = new Set<string>();
  for (const dr of ctx.list(DR)) {
    const host = resourceNameFromHost(dr.namespace, str(dr.spec.host));
    for (const s of arr(dr.spec.subsets)) known.add(`${host}+${str(obj(s)?.name)}`);
  }
  for (const r of ctx.list(VS)) {
    for (const [list, reftype] of [[routeDestinations(r.spec), 'host+subset in destinationrule'], [mirrorDestinations(r.spec), 'mirror+subset in destinationrule']] as const) {
      for (const d of list) {
        const subset = str(d.destination.subset);
        if (subset === '') continue;
        const host = str(d.destination.host);
        if (!known.has(`${resourceNameFromHost(r.namespace, host)}+${subset}`)) {
          ctx.report(r, 'ReferencedResourceNotFound', reftype, `${host}+${subset}`);
        }
      }
    }
  }
}

/** The hosts of a Gateway's servers with Istio's namespace sanitizing (`./h`, `*\/h`, `*\/*`). */
function gatewayHosts(gw: Resource): string[] {
  const out: string[] = [];
  for (const s of arr(gw.spec.servers)) {
    const hosts = strs(obj(s)?.hosts);
    const sanitized: string[] = [];
    let all = false;
    for (const h of hosts) {
      const parts = h.includes('/') ? h.split('/') : undefined;
      if (parts && parts[0] === '.') sanitized.push(`${gw.namespace}/${parts[1]}`);
      else if (parts && parts[0] === '*') {
        if (parts[1] === '*') {
          all = true;
          break;
        }
        sanitized.push(parts[1]!);
      } else sanitized.push(h);
    }
    out.push(...(all ? ['*'] : sanitized));
  }
  return out;
}

/** virtualservice.GatewayAnalyzer: unknown gateways (IST0101), hosts a gateway does not serve (IST0132). */
export function analyzeVirtualServiceGateways(ctx: AnalysisContext): void {
  for (const r of ctx.list(VS)) {
    const hosts = strs(r.spec.hosts);
    for (const gwName of strs(r.spec.gateways)) {
      if (gwName === 'mesh') continue;
      const slash = gwName.indexOf('/');
      const bare = slash >= 0 ? gwName.slice(slash + 1) : gwName;
      if (bare.includes('-istio-autogenerated-k8s-gateway-')) {
        ctx.report(r, 'ReferencedInternalGateway', `${r.namespace}/${r.name}`, gwName);
        continue;
      }
      const ns = slash >= 0 ? gwName.slice(0, slash) : r.namespace;
      const gw = ctx.find(GW, ns, bare);
      if (!gw) ctx.report(r, 'ReferencedResourceNotFound', 'gateway', gwName);
      const names = (gw ? gatewayHosts(gw) : []).flatMap((h) => {
        const cut = h.indexOf('/');
        if (cut < 0) return [h];
        const hns = h.slice(0, cut);
        return hns === r.namespace || hns === '*' ? [h.slice(cut + 1)] : [];
      });
      if (!names.some((gh) => hosts.some((vh) => hostMatches(gh, vh)))) {
        ctx.report(r, 'VirtualServiceHostNotFoundInGateway', hosts, `${r.namespace}/${r.name}`, `${ns}/${bare}`);
      }
    }
  }
}

/** virtualservice.ConflictingMeshGatewayHostsAnalyzer: two mesh VirtualServices for one host (IST0109). */
export function analyzeConflictingMeshHosts(ctx: AnalysisContext): void {
  const byHost = new Map<string, Resource[]>();
  for (const r of ctx.list(VS)) {
    const gateways = strs(r.spec.gateways);
    if (gateways.length !== 0 && !gateways.includes('mesh')) continue;
    const exportTo = strs(r.spec.exportTo);
    const scopes = exportTo.length === 0 || exportTo.includes('*') ? ['*'] : [...new Set(exportTo.map((e) => (e === '.' ? r.namespace : e)))];
    for (const scope of scopes) {
      for (const h of strs(r.spec.hosts)) {
        const key = `${scope}/${toFQDN(r.namespace, h)}`;
        const list = byHost.get(key);
        if (list) list.push(r);
        else byHost.set(key, [r]);
      }
    }
  }
  const reported = new Set<Resource>();
  for (const [key, own] of byHost) {
    const slash = key.indexOf('/');
    const scope = key.slice(0, slash);
    const fqdn = key.slice(slash + 1);
    let list = own;
    if (scope !== '*') {
      const extra: Resource[] = [];
      for (const [k2, rs] of byHost) {
        const s2 = k2.indexOf('/');
        if (k2.slice(0, s2) === '*' && hostMatches(fqdn, k2.slice(s2 + 1))) extra.push(...rs);
      }
      list = [...own, ...extra];
    }
    if (list.length <= 1) continue;
    const names = list.map((x) => `${x.namespace}/${x.name}`).sort().join(',');
    for (const r of list) {
      if (reported.has(r)) continue;
      reported.add(r);
      ctx.report(r, 'ConflictingMeshGatewayVirtualServiceHosts', names, key);
    }
  }
}

/** destinationrule.PodNotSelectedAnalyzer: unknown hosts (IST0174), subsets selecting no pod (IST0173). */
export function analyzeDestinationRuleSubsets(ctx: AnalysisContext): void {
  const services = serviceHostMap(ctx);
  const pods = ctx.list('/Pod');
  for (const dr of ctx.list(DR)) {
    const host = str(dr.spec.host);
    const se = destinationService(dr.namespace, strs(dr.spec.exportTo), host, services);
    if (!se) {
      ctx.report(dr, 'UnknownDestinationRuleHost', host);
      continue;
    }
    for (const raw of arr(dr.spec.subsets)) {
      const subset = obj(raw);
      const selector = { ...(se.workloadSelector ?? {}), ...(strMap(subset?.labels) ?? {}) };
      if (!pods.some((p) => selectorMatches(selector, p.labels))) {
        ctx.report(dr, 'DestinationRuleSubsetNotSelectPods', str(subset?.name));
      }
    }
  }
}

/** destinationrule.CaCertificateAnalyzer: SIMPLE/MUTUAL TLS without CA certificates (IST0128, IST0129). */
export function analyzeDestinationRuleCaCerts(ctx: AnalysisContext): void {
  for (const dr of ctx.list(DR)) {
    const policy = obj(dr.spec.trafficPolicy);
    const selector = dr.spec.workloadSelector !== undefined && dr.spec.workloadSelector !== null;
    const unverified = (tls: J | undefined): string | undefined => {
      const mode = str(tls?.mode);
      if (mode !== 'SIMPLE' && mode !== 'MUTUAL') return undefined;
      if (str(tls?.caCertificates) !== '' || (str(tls?.credentialName) !== '' && selector)) return undefined;
      return mode;
    };
    const top = unverified(obj(policy?.tls));
    const host = str(dr.spec.host);
    if (top) ctx.report(dr, 'NoServerCertificateVerificationDestinationLevel', `${dr.namespace}/${dr.name}`, dr.namespace, top, host);
    for (const raw of arr(policy?.portLevelSettings)) {
      const p = obj(raw);
      const mode = unverified(obj(p?.tls));
      if (!mode) continue;
      const n = num(obj(p?.port)?.number);
      ctx.report(dr, 'NoServerCertificateVerificationPortLevel', `${dr.namespace}/${dr.name}`, dr.namespace, mode, host, n !== 0 ? `number:${n}` : '');
    }
  }
}

/** The TCP ports (and port→targetPort mapping) of the Services that select a pod. */
function podServicePorts(ctx: AnalysisContext, pod: Resource, ports: Set<number>, mapping: Map<number, number>): void {
  for (const svc of ctx.list('/Service')) {
    if (svc.namespace !== pod.namespace || !selectorMatches(strMap(svc.spec.selector), pod.labels)) continue;
    for (const raw of arr(svc.spec.ports)) {
      const p = obj(raw);
      // The API server defaults protocol to TCP; objects that skipped defaulting count as TCP too.
      if (!p || (str(p.protocol) || 'TCP') !== 'TCP') continue;
      const port = num(p.port);
      const tp = typeof p.targetPort === 'number' ? p.targetPort : typeof p.targetPort === 'string' && /^[0-9]+$/.test(p.targetPort) ? Number(p.targetPort) : p.targetPort === undefined ? port : 0;
      if (tp !== 0) {
        ports.add(tp);
        if (!mapping.has(port)) mapping.set(port, tp);
      } else ports.add(port);
    }
  }
}

/** gateway.IngressGatewayPortAnalyzer: no gateway pod (IST0101), ports the gateway Service lacks (IST0162). */
export function analyzeGatewayPorts(ctx: AnalysisContext): void {
  for (const gw of ctx.list(GW)) {
    const selector = strMap(gw.spec.selector) ?? {};
    const ports = new Set<number>();
    const mapping = new Map<number, number>();
    let matches = 0;
    for (const pod of ctx.list('/Pod')) {
      if (!selectorMatches(selector, pod.labels)) continue;
      matches++;
      podServicePorts(ctx, pod, ports, mapping);
    }
    if (matches === 0) {
      ctx.report(gw, 'ReferencedResourceNotFound', 'selector', selectorString(selector));
      continue;
    }
    for (const raw of arr(gw.spec.servers)) {
      const port = obj(obj(raw)?.port);
      if (!port) continue;
      const n = num(port.number);
      if (!ports.has(n) && !mapping.has(n)) ctx.report(gw, 'GatewayPortNotDefinedOnService', n, selectorString(selector));
    }
  }
}

function secretValue(secret: Resource, key: string): string {
  const data = obj(secret.object.data);
  const v = data?.[key];
  if (typeof v === 'string') return Buffer.from(v, 'base64').toString('utf8');
  const sd = obj(secret.object.stringData)?.[key];
  return typeof sd === 'string' ? sd : '';
}

/** `isValidSecret`: cert/key (or tls.crt/tls.key) present, and the first certificate valid now. */
function isValidSecret(secret: Resource, now: Date): boolean {
  let cert = secretValue(secret, 'cert');
  if (cert === '' || secretValue(secret, 'key') === '') {
    cert = secretValue(secret, 'tls.crt');
    if (cert === '' || secretValue(secret, 'tls.key') === '') return false;
  }
  const m = /-----BEGIN [^-]+-----[\s\S]*?-----END [^-]+-----/.exec(cert);
  if (!m) return false;
  try {
    const x = new X509Certificate(m[0]);
    return now >= new Date(x.validFrom) && now <= new Date(x.validTo);
  } catch {
    return false;
  }
}

/** gateway.SecretAnalyzer: missing (IST0101) or invalid (IST0161) credentialName secrets. */
export function analyzeGatewaySecrets(ctx: AnalysisContext, now: Date): void {
  for (const gw of ctx.list(GW)) {
    const selector = strMap(gw.spec.selector) ?? {};
    const pod = ctx.list('/Pod').find((p) => selectorMatches(selector, p.labels));
    if (!pod) {
      ctx.report(gw, 'ReferencedResourceNotFound', 'selector', selectorString(selector));
      continue;
    }
    for (const raw of arr(gw.spec.servers)) {
      const cn = str(obj(obj(raw)?.tls)?.credentialName);
      if (cn === '') continue;
      const slash = cn.indexOf('/');
      const secret = slash >= 0 ? ctx.find('/Secret', cn.slice(0, slash), cn.slice(slash + 1)) : ctx.find('/Secret', pod.namespace, cn);
      if (!secret) ctx.report(gw, 'ReferencedResourceNotFound', 'credentialName', cn);
      else if (!isValidSecret(secret, now)) ctx.report(gw, 'InvalidGatewayCredential', gw.name, pod.namespace);
    }
  }
}

/** gateway.ConflictingGatewayAnalyzer: two gateways on one workload, port and host (IST0145). */
export function analyzeConflictingGateways(ctx: AnalysisContext): void {
  // selector~port -> gateway "ns/name" -> host -> bind
  const map = new Map<string, Map<string, Map<string, string>>>();
  for (const gw of ctx.list(GW)) {
    const sel = selectorString(strMap(gw.spec.selector));
    for (const raw of arr(gw.spec.servers)) {
      const s = obj(raw);
      const key = `${sel}~${num(obj(s?.port)?.number)}`;
      const byGw = map.get(key) ?? new Map<string, Map<string, string>>();
      map.set(key, byGw);
      byGw.set(`${gw.namespace}/${gw.name}`, new Map(strs(s?.hosts).map((h) => [h, str(s?.bind)])));
    }
  }
  const parseSelector = (s: string): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const pair of s.split(',')) {
      const kv = pair.split('=');
      if (kv.length === 2) out[kv[0]!] = kv[1]!;
    }
    return out;
  };
  for (const gw of ctx.list(GW)) {
    const name = `${gw.namespace}/${gw.name}`;
    const selector = strMap(gw.spec.selector);
    const sel = selectorString(selector);
    const hits: [string, Map<string, Map<string, string>>][] = [];
    for (const [key, byGw] of map) {
      const xSel = key.slice(0, key.lastIndexOf('~'));
      let matched = sel === xSel;
      if (!matched && (xSel.includes(sel) || sel.includes(xSel))) {
        const x = parseSelector(xSel);
        matched = ctx.list('/Pod').some((p) => selectorMatches(selector, p.labels) && selectorMatches(x, p.labels));
      }
      if (matched) hits.push([key, byGw]);
    }
    if (sel !== '' && hits.length === 0) {
      ctx.report(gw, 'ReferencedResourceNotFound', 'selector', sel);
      continue;
    }
    for (const raw of arr(gw.spec.servers)) {
      const s = obj(raw);
      const port = String(num(obj(s?.port)?.number));
      const hosts = strs(s?.hosts);
      const bind = str(s?.bind);
      const conflicts: string[] = [];
      for (const [key, byGw] of hits) {
        if (key.slice(key.lastIndexOf('~') + 1) !== port) continue;
        for (const [other, known] of byGw) {
          if (other === name) continue;
          // model.CheckDuplicates: also records the hosts as known when none clash, as Istio does.
          const dups = hosts.filter((h) => known.has(h) && known.get(h) === bind);
          if (dups.length === 0) for (const h of hosts) known.set(h, bind);
          else conflicts.push(other);
        }
      }
      if (conflicts.length > 0) ctx.report(gw, 'ConflictingGateways', conflicts.sort().join(','), sel, port, hosts.join(','));
    }
  }
}

