/** Service, Endpoints and EndpointSlice validation (core ValidateService, ValidateEndpoints; discovery validation). */
import type { KObject } from '../types.ts';
import type { Errs, Obj } from './util.ts';
import {
  child,
  duplicate,
  forbidden,
  getArr,
  getBool,
  getInt,
  getObj,
  getObjList,
  getStr,
  goValue,
  index,
  invalid,
  isObj,
  notSupported,
  required,
} from './util.ts';
import { isDNS1123Label, isDNS1123Subdomain, isInRange, isValidIP, isValidPortNum } from './names.ts';
import { validatePortNumOrName } from './container.ts';
import { validateLabels } from './meta.ts';

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const AFFINITIES = ['ClientIP', 'None'];
const TRAFFIC_POLICIES = ['Cluster', 'Local'];
const IP_FAMILY_POLICIES = ['SingleStack', 'PreferDualStack', 'RequireDualStack'];
const IP_FAMILIES = ['IPv4', 'IPv6'];

/** Node port range served by Skiff, as the default kube-apiserver --service-node-port-range. */
export const NODE_PORT_RANGE = { min: 30000, max: 32767 };

function goServicePortKey(protocol: unknown, port: unknown): string {
  return `core.ServicePort{Name:"", Protocol:${goValue(protocol ?? '')}, AppProtocol:(*string)(nil), Port:${goValue(port ?? 0)}, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`;
}

function clusterIPsOf(spec: Obj): string[] {
  if (Array.isArray(spec.clusterIPs) && spec.clusterIPs.length > 0) return spec.clusterIPs.filter((s): s is string => typeof s === 'string');
  return typeof spec.clusterIP === 'string' && spec.clusterIP !== '' ? [spec.clusterIP] : [];
}

/** Validates a Service on create. */
export function validateService(errs: Errs, obj: KObject): void {
  const spec = getObj(errs, obj.spec, 'spec') ?? {};
  const type = getStr(errs, spec.type, 'spec.type');
  if (!type) required(errs, 'spec.type');
  else if (!SERVICE_TYPES.includes(type)) notSupported(errs, 'spec.type', type, SERVICE_TYPES);
  getStr(errs, spec.clusterIP, 'spec.clusterIP');
  getArr(errs, spec.clusterIPs, 'spec.clusterIPs')?.forEach((s, i) => getStr(errs, s, index('spec.clusterIPs', i)));
  const ips = clusterIPsOf(spec);
  const headless = ips[0] === 'None';
  const ports = getObjList(errs, spec.ports, 'spec.ports');
  if (ports.length === 0 && !headless && type !== 'ExternalName' && !(Array.isArray(spec.ports) && spec.ports.length > 0)) required(errs, 'spec.ports');

  if (type === 'ExternalName') {
    if (ips.length > 0) forbidden(errs, 'spec.clusterIPs', 'may not be set for ExternalName services');
    if (Array.isArray(spec.ipFamilies) && spec.ipFamilies.length > 0) forbidden(errs, 'spec.ipFamilies', 'may not be set for ExternalName services');
    if (spec.ipFamilyPolicy !== undefined && spec.ipFamilyPolicy !== null) forbidden(errs, 'spec.ipFamilyPolicy', 'may not be set for ExternalName services');
    const cname = (getStr(errs, spec.externalName, 'spec.externalName') ?? '').replace(/\.$/, '');
    if (!cname) required(errs, 'spec.externalName');
    else for (const m of isDNS1123Subdomain(cname)) invalid(errs, 'spec.externalName', cname, m);
  } else {
    if (typeof spec.clusterIP === 'string' && spec.clusterIP && Array.isArray(spec.clusterIPs) && spec.clusterIPs.length > 0 && spec.clusterIPs[0] !== spec.clusterIP) {
      invalid(errs, 'spec.clusterIPs', spec.clusterIPs, 'first value must match `clusterIP`');
    }
    ips.forEach((ip, i) => {
      const p = index('spec.clusterIPs', i);
      if (ip === 'None') {
        if (i > 0) invalid(errs, p, ip, "must be a valid IP address; 'None' is only allowed as the first value");
        else if (type !== 'ClusterIP') invalid(errs, p, ip, `may not be set to 'None' for ${type} services`);
      } else for (const m of isValidIP(ip)) invalid(errs, p, ip, m);
    });
    if (ips.length > 2) invalid(errs, 'spec.clusterIPs', spec.clusterIPs, 'may only hold up to 2 values');
  }

  const requireName = ports.length > 1;
  const names = new Set<string>();
  const seen = new Set<string>();
  const nodePorts = new Set<string>();
  for (const [i, port] of ports) {
    const p = index('spec.ports', i);
    const name = getStr(errs, port.name, child(p, 'name'));
    if (requireName && !name) required(errs, child(p, 'name'));
    else if (name) {
      for (const m of isDNS1123Label(name)) invalid(errs, child(p, 'name'), name, m);
      if (names.has(name)) duplicate(errs, child(p, 'name'), name);
      names.add(name);
    }
    const num = getInt(errs, port.port, child(p, 'port'));
    for (const m of isValidPortNum(num ?? 0)) invalid(errs, child(p, 'port'), num ?? 0, m);
    const proto = getStr(errs, port.protocol, child(p, 'protocol'));
    if (!proto) required(errs, child(p, 'protocol'));
    else if (!PROTOCOLS.includes(proto)) notSupported(errs, child(p, 'protocol'), proto, PROTOCOLS);
    validatePortNumOrName(errs, port.targetPort, child(p, 'targetPort'));
    getStr(errs, port.appProtocol, child(p, 'appProtocol'));
    const key = `${proto}/${num}`;
    if (seen.has(key)) duplicate(errs, p, null, goServicePortKey(proto, num));
    seen.add(key);
    const np = getInt(errs, port.nodePort, child(p, 'nodePort'));
    if (np) {
      if (type === 'ClusterIP' || type === 'ExternalName') forbidden(errs, child(p, 'nodePort'), `may not be used when \`type\` is '${type}'`);
      else {
        const msgs = isValidPortNum(np);
        for (const m of msgs) invalid(errs, child(p, 'nodePort'), np, m);
        if (msgs.length === 0 && isInRange(np, NODE_PORT_RANGE.min, NODE_PORT_RANGE.max).length > 0) {
          invalid(errs, child(p, 'nodePort'), np, `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}`);
        }
        const npKey = `${np}/${proto}`;
        if (nodePorts.has(npKey)) duplicate(errs, child(p, 'nodePort'), np);
        nodePorts.add(npKey);
      }
    }
  }
  validateServiceSelector(errs, spec.selector);
  const aff = getStr(errs, spec.sessionAffinity, 'spec.sessionAffinity');
  if (!aff) required(errs, 'spec.sessionAffinity');
  else if (!AFFINITIES.includes(aff)) notSupported(errs, 'spec.sessionAffinity', aff, AFFINITIES);
  for (const f of ['externalTrafficPolicy', 'internalTrafficPolicy']) {
    const tp = getStr(errs, spec[f], `spec.${f}`);
    if (tp && !TRAFFIC_POLICIES.includes(tp)) notSupported(errs, `spec.${f}`, tp, TRAFFIC_POLICIES);
  }
  if (spec.externalTrafficPolicy && type !== 'LoadBalancer' && type !== 'NodePort') {
    invalid(errs, 'spec.externalTrafficPolicy', spec.externalTrafficPolicy, 'may only be set when `type` is \'NodePort\' or \'LoadBalancer\'');
  }
  const ifp = getStr(errs, spec.ipFamilyPolicy, 'spec.ipFamilyPolicy');
  if (ifp && !IP_FAMILY_POLICIES.includes(ifp)) notSupported(errs, 'spec.ipFamilyPolicy', ifp, IP_FAMILY_POLICIES);
  getArr(errs, spec.ipFamilies, 'spec.ipFamilies')?.forEach((f, i) => {
    if (typeof f !== 'string' || !IP_FAMILIES.includes(f)) notSupported(errs, index('spec.ipFamilies', i), f, IP_FAMILIES);
  });
  getArr(errs, spec.externalIPs, 'spec.externalIPs')?.forEach((ip, i) => {
    const s = getStr(errs, ip, index('spec.externalIPs', i));
    if (s !== undefined) for (const m of isValidIP(s)) invalid(errs, index('spec.externalIPs', i), s, m);
  });
  getBool(errs, spec.publishNotReadyAddresses, 'spec.publishNotReadyAddresses');
}

function validateServiceSelector(errs: Errs, v: unknown): void {
  // Service selectors are plain label maps; upstream validates them as labels.
  validateLabels(errs, v, 'spec.selector');
}

/** Service update: an allocated clusterIP may not change (an omitted one is carried over by the API layer). */
export function validateServiceUpdate(errs: Errs, obj: KObject, old: KObject): void {
  const spec = isObj(obj.spec) ? obj.spec : {};
  const oldSpec = isObj(old.spec) ? old.spec : {};
  if (spec.type === 'ExternalName' || oldSpec.type === 'ExternalName') return;
  const ips = clusterIPsOf(spec);
  const oldIPs = clusterIPsOf(oldSpec);
  if (ips.length > 0 && oldIPs.length > 0 && ips[0] !== oldIPs[0]) invalid(errs, 'spec.clusterIPs[0]', ips, 'may not change once set');
}

/** Validates Endpoints subsets. */
export function validateEndpoints(errs: Errs, obj: KObject): void {
  for (const [i, subset] of getObjList(errs, obj.subsets, 'subsets')) {
    const p = index('subsets', i);
    for (const f of ['addresses', 'notReadyAddresses']) {
      for (const [j, addr] of getObjList(errs, subset[f], child(p, f))) {
        const ap = index(child(p, f), j);
        const ip = getStr(errs, addr.ip, child(ap, 'ip'));
        if (!ip) required(errs, child(ap, 'ip'));
        else for (const m of isValidIP(ip)) invalid(errs, child(ap, 'ip'), ip, m);
        const host = getStr(errs, addr.hostname, child(ap, 'hostname'));
        if (host) for (const m of isDNS1123Label(host)) invalid(errs, child(ap, 'hostname'), host, m);
        const node = getStr(errs, addr.nodeName, child(ap, 'nodeName'));
        if (node) for (const m of isDNS1123Subdomain(node)) invalid(errs, child(ap, 'nodeName'), node, m);
      }
    }
    validateEndpointPorts(errs, subset.ports, child(p, 'ports'), true);
  }
}

function validateEndpointPorts(errs: Errs, v: unknown, field: string, portRequired: boolean): void {
  const list = getObjList(errs, v, field);
  const names = new Set<string>();
  for (const [i, port] of list) {
    const p = index(field, i);
    const name = getStr(errs, port.name, child(p, 'name'));
    // Endpoints require names when there are several ports; EndpointSlices allow one unnamed port.
    if (!name && list.length > 1 && portRequired) required(errs, child(p, 'name'));
    else if (name) {
      for (const m of isDNS1123Label(name)) invalid(errs, child(p, 'name'), name, m);
      if (names.has(name)) duplicate(errs, child(p, 'name'), name);
      names.add(name);
    }
    const num = getInt(errs, port.port, child(p, 'port'));
    if (num !== undefined || portRequired) for (const m of isValidPortNum(num ?? 0)) invalid(errs, child(p, 'port'), num ?? 0, m);
    const proto = getStr(errs, port.protocol, child(p, 'protocol'));
    if (!proto) required(errs, child(p, 'protocol'));
    else if (!PROTOCOLS.includes(proto)) notSupported(errs, child(p, 'protocol'), proto, PROTOCOLS);
  }
}

const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];

/** Validates an EndpointSlice (discovery.k8s.io/v1). */
export function validateEndpointSlice(errs: Errs, obj: KObject): void {
  const at = getStr(errs, obj.addressType, 'addressType');
  if (!at) required(errs, 'addressType');
  else if (!ADDRESS_TYPES.includes(at)) notSupported(errs, 'addressType', at, ADDRESS_TYPES);
  const eps = getObjList(errs, obj.endpoints, 'endpoints');
  if (eps.length > 1000) invalid(errs, 'endpoints', eps.length, 'must have at most 1000 items');
  for (const [i, ep] of eps) {
    const p = index('endpoints', i);
    const addrs = getArr(errs, ep.addresses, child(p, 'addresses')) ?? [];
    if (addrs.length === 0) required(errs, child(p, 'addresses'), 'must contain at least 1 address');
    else if (addrs.length > 100) invalid(errs, child(p, 'addresses'), addrs.length, 'must have at most 100 items');
    addrs.forEach((a, j) => {
      const ap = index(child(p, 'addresses'), j);
      const s = getStr(errs, a, ap);
      if (s === undefined) return;
      if (at === 'IPv4' || at === 'IPv6') for (const m of isValidIP(s)) invalid(errs, ap, s, m);
      else if (at === 'FQDN') for (const m of isDNS1123Subdomain(s)) invalid(errs, ap, s, m);
    });
    const cond = getObj(errs, ep.conditions, child(p, 'conditions'));
    if (cond) for (const c of ['ready', 'serving', 'terminating']) getBool(errs, cond[c], child(p, `conditions.${c}`));
    const host = getStr(errs, ep.hostname, child(p, 'hostname'));
    if (host) for (const m of isDNS1123Label(host)) invalid(errs, child(p, 'hostname'), host, m);
    const node = getStr(errs, ep.nodeName, child(p, 'nodeName'));
    if (node) for (const m of isDNS1123Subdomain(node)) invalid(errs, child(p, 'nodeName'), node, m);
  }
  validateEndpointPorts(errs, obj.ports, 'ports', false);
}
