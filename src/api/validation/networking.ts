/** Ingress and IngressClass validation (pkg/apis/networking/validation). */
import type { KObject } from '../types.ts';
import type { Errs, Obj } from './util.ts';
import { child, getObj, getObjList, getArr, getInt, getStr, index, invalid, notSupported, required, tooLong } from './util.ts';
import {
  isDNS1035Label,
  isDNS1123Subdomain,
  isValidPortName,
  isValidPortNum,
  isWildcardDNS1123Subdomain,
  parsesAsIP,
  regexError,
} from './names.ts';

const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'];
const INVALID_PATH_SEQUENCES = ['//', '/./', '/../', '%2f', '%2F'];
const INVALID_PATH_SUFFIXES = ['/..', '/.'];

function validateHost(errs: Errs, host: string, field: string): void {
  if (parsesAsIP(host)) invalid(errs, field, host, 'must be a DNS name, not an IP address');
  const msgs = host.includes('*') ? isWildcardDNS1123Subdomain(host) : isDNS1123Subdomain(host);
  for (const m of msgs) invalid(errs, field, host, m);
}

function validateBackend(errs: Errs, v: unknown, field: string): void {
  const b = getObj(errs, v, field);
  if (!b) {
    invalid(errs, field, '', 'resource or service backend is required');
    return;
  }
  const resource = getObj(errs, b.resource, child(field, 'resource'));
  const service = getObj(errs, b.service, child(field, 'service'));
  if (resource && service) {
    invalid(errs, field, '', 'cannot set both resource and service backends');
    return;
  }
  if (resource) {
    const kind = getStr(errs, resource.kind, child(field, 'resource.kind'));
    if (!kind) required(errs, child(field, 'resource.kind'));
    const name = getStr(errs, resource.name, child(field, 'resource.name'));
    if (!name) required(errs, child(field, 'resource.name'));
    return;
  }
  if (!service) {
    invalid(errs, field, '', 'resource or service backend is required');
    return;
  }
  const name = getStr(errs, service.name, child(field, 'service.name'));
  if (!name) required(errs, child(field, 'service.name'));
  else for (const m of isDNS1035Label(name)) invalid(errs, child(field, 'service.name'), name, m);
  const port = getObj(errs, service.port, child(field, 'service.port')) ?? {};
  const portName = getStr(errs, port.name, child(field, 'service.port.name'));
  const portNumber = getInt(errs, port.number, child(field, 'service.port.number'));
  if (portName && portNumber) invalid(errs, field, '', 'cannot set both port name & port number');
  else if (portName) for (const m of isValidPortName(portName)) invalid(errs, child(field, 'service.port.name'), portName, m);
  else if (portNumber) for (const m of isValidPortNum(portNumber)) invalid(errs, child(field, 'service.port.number'), portNumber, m);
  else required(errs, field, 'port name or number is required');
}

function validateHTTPPath(errs: Errs, p: Obj, field: string): void {
  const pathType = getStr(errs, p.pathType, child(field, 'pathType'));
  const path = getStr(errs, p.path, child(field, 'path')) ?? '';
  if (pathType === undefined || pathType === '') {
    if (p.pathType === undefined || p.pathType === null || p.pathType === '') required(errs, child(field, 'pathType'), 'pathType must be specified');
  } else if (pathType === 'Exact' || pathType === 'Prefix') {
    if (!path.startsWith('/')) invalid(errs, child(field, 'path'), path, 'must be an absolute path');
    if (path.length > 0) {
      for (const seq of INVALID_PATH_SEQUENCES) if (path.includes(seq)) invalid(errs, child(field, 'path'), path, `must not contain '${seq}'`);
      for (const suf of INVALID_PATH_SUFFIXES) if (path.endsWith(suf)) invalid(errs, child(field, 'path'), path, `cannot end with '${suf}'`);
    }
  } else if (pathType === 'ImplementationSpecific') {
    if (path.length > 0 && !path.startsWith('/')) invalid(errs, child(field, 'path'), path, 'must be an absolute path');
  } else notSupported(errs, child(field, 'pathType'), pathType, PATH_TYPES);
  validateBackend(errs, p.backend, child(field, 'backend'));
}

/** Validates an Ingress (networking.k8s.io/v1). */
export function validateIngress(errs: Errs, obj: KObject): void {
  const spec = getObj(errs, obj.spec, 'spec') ?? {};
  const rules = getObjList(errs, spec.rules, 'spec.rules');
  const hasDefault = spec.defaultBackend !== undefined && spec.defaultBackend !== null;
  if (rules.length === 0 && !hasDefault && !(Array.isArray(spec.rules) && spec.rules.length > 0)) {
    invalid(errs, 'spec', null, 'either `defaultBackend` or `rules` must be specified', '[]networking.IngressRule(nil)');
  }
  if (hasDefault) validateBackend(errs, spec.defaultBackend, 'spec.defaultBackend');
  for (const [i, rule] of rules) {
    const p = index('spec.rules', i);
    const host = getStr(errs, rule.host, child(p, 'host'));
    if (host) validateHost(errs, host, child(p, 'host'));
    const http = getObj(errs, rule.http, child(p, 'http'));
    if (!http) continue;
    const paths = getObjList(errs, http.paths, child(p, 'http.paths'));
    if (paths.length === 0 && !(Array.isArray(http.paths) && http.paths.length > 0)) required(errs, child(p, 'http.paths'));
    for (const [j, path] of paths) validateHTTPPath(errs, path, index(child(p, 'http.paths'), j));
  }
  for (const [i, tls] of getObjList(errs, spec.tls, 'spec.tls')) {
    const p = index('spec.tls', i);
    getArr(errs, tls.hosts, child(p, 'hosts'))?.forEach((h, j) => {
      const s = getStr(errs, h, index(child(p, 'hosts'), j));
      if (s) {
        const msgs = s.includes('*') ? isWildcardDNS1123Subdomain(s) : isDNS1123Subdomain(s);
        for (const m of msgs) invalid(errs, index(child(p, 'hosts'), j), s, m);
      }
    });
    getStr(errs, tls.secretName, child(p, 'secretName'));
  }
  const cls = getStr(errs, spec.ingressClassName, 'spec.ingressClassName');
  if (cls) for (const m of isDNS1123Subdomain(cls)) invalid(errs, 'spec.ingressClassName', cls, m);
}

const HTTP_PATH_FMT = "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+";

/** Validates an IngressClass: spec.controller must be a domain-prefixed path of at most 250 characters. */
export function validateIngressClass(errs: Errs, obj: KObject): void {
  const spec = getObj(errs, obj.spec, 'spec') ?? {};
  const ctrl = getStr(errs, spec.controller, 'spec.controller');
  if (!ctrl) {
    required(errs, 'spec.controller');
  } else {
    const [host, rest] = [ctrl.slice(0, Math.max(ctrl.indexOf('/'), 0)), ctrl.slice(ctrl.indexOf('/') + 1)];
    if (!ctrl.includes('/') || !host || !rest) invalid(errs, 'spec.controller', ctrl, 'must be a domain-prefixed path (such as "acme.io/foo")');
    else {
      for (const m of isDNS1123Subdomain(host)) invalid(errs, 'spec.controller', host, m);
      if (!new RegExp(`^${HTTP_PATH_FMT}$`).test(rest)) invalid(errs, 'spec.controller', rest, regexError('Invalid path', HTTP_PATH_FMT));
    }
    if (ctrl.length > 250) tooLong(errs, 'spec.controller', 250);
  }
  const params = getObj(errs, spec.parameters, 'spec.parameters');
  if (params) {
    if (!getStr(errs, params.kind, 'spec.parameters.kind')) required(errs, 'spec.parameters.kind');
    if (!getStr(errs, params.name, 'spec.parameters.name')) required(errs, 'spec.parameters.name');
    const scope = getStr(errs, params.scope, 'spec.parameters.scope');
    if (scope && scope !== 'Cluster' && scope !== 'Namespace') notSupported(errs, 'spec.parameters.scope', scope, ['Cluster', 'Namespace']);
  }
}
