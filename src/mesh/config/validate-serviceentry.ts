/**
 * ServiceEntry, WorkloadEntry, WorkloadGroup and ProxyConfig validation as Istio 1.27's webhook does
 * it (pkg/config/validation/validation.go), with Istio's messages.
 */
import {
  isHTTPProtocol, isTCPProtocol, isTLSProtocol, isValidIP, parseProtocol, validateAlphaWorkloadSelector, validateExportTo,
  validateFQDN, validateIPSubnet, validateLabels, validatePartialWildcard, validatePort, validatePortName,
  validateProtocolName, validateWildcardDomain, validateWorkloadSelector,
} from './validate-names.ts';
import { arr, entries, goQuote, has, issue, Issues, type J, num, obj, str, strs, wrapped } from './validate-util.ts';

/** `validateWorkloadEntry`; `servicePorts` is the owning ServiceEntry's port names, if any. */
export function validateWorkloadEntry(we: J, servicePorts: Set<string> | undefined, allowFQDN: boolean): Issues {
  const out = new Issues();
  const addr = str(we.address);
  if (addr === '') {
    if (str(we.network) === '') return out.error('address is required');
    out.warn(`address is unset with network ${goQuote(str(we.network))}`);
  }
  let unix = false;
  if (addr.startsWith('unix://')) {
    unix = true;
    const e = validateUnixAddress(addr.slice('unix://'.length));
    if (e) out.error(e);
    if (entries(we.ports).length !== 0) out.error(`unix endpoint ${addr} must not include ports`);
  } else if (addr !== '' && !isValidIP(addr)) {
    if (!allowFQDN) out.error(`endpoint address ${goQuote(addr)} is not a valid IP address`);
    else if (validateFQDN(addr)) out.error(`endpoint address ${goQuote(addr)} is not a valid FQDN or an IP address`);
  }
  for (const [name, port] of entries(we.ports)) {
    if (servicePorts && !servicePorts.has(name)) out.error(`endpoint port ${num(port)} is not defined by the service entry`);
    const ne = validatePortName(name);
    if (ne) out.error(ne);
    const pe = validatePort(num(port));
    if (pe) out.error(pe);
  }
  out.addErrors(validateLabels(we.labels));
  if (unix && servicePorts && servicePorts.size !== 1) out.error('exactly 1 service port required for unix endpoints');
  return out;
}

/** `ValidateUnixAddress`. */
export function validateUnixAddress(addr: string): string | undefined {
  if (addr.length === 0) return 'unix address must not be empty';
  if (addr.startsWith('@')) return undefined;
  if (!addr.startsWith('/') || addr.endsWith('/')) return `${addr} is not an absolute path to a file`;
  return undefined;
}

/** `ValidateServiceEntry`; `labels` are the object's labels (they can opt out of IP auto-allocation). */
export function validateServiceEntry(namespace: string, spec: J, labels: Record<string, string>): Issues {
  const errs = new Issues();
  const sel = validateAlphaWorkloadSelector(spec.workloadSelector);
  if (sel.errors.errors.length > 0) return sel.errors;
  if (sel.warning) errs.warn(`service entry: ${sel.warning}, will be applied to all services in namespace`);
  const endpoints = arr(spec.endpoints);
  if (has(spec.workloadSelector) && endpoints.length > 0) errs.error('only one of WorkloadSelector or Endpoints is allowed in Service Entry');
  const hosts = strs(spec.hosts);
  if (hosts.length === 0) errs.error('service entry must have at least one host');
  for (const h of hosts) {
    if (h === '*') errs.error(`invalid host ${h}`);
    else {
      const e = validateWildcardDomain(h);
      if (e) errs.error(e);
      const w = validatePartialWildcard(h);
      if (w) errs.warn(w);
    }
  }
  const addresses = strs(spec.addresses);
  const resolution = str(spec.resolution) || 'NONE';
  let cidr = false;
  for (const a of addresses) {
    cidr ||= a.includes('/');
    const e = validateIPSubnet(a);
    if (e) errs.error(e);
  }
  if (cidr && resolution !== 'NONE' && resolution !== 'STATIC') errs.error('CIDR addresses are allowed only for NONE/STATIC resolution types');

  const optOut = (labels['networking.istio.io/enable-autoallocate-ip'] ?? '').toLowerCase() === 'false';
  const autoAllocation = resolution !== 'NONE' && !optOut && addresses.length === 0;
  const portNumbers = new Set<number>();
  const portNames = new Set<string>();
  const ports = arr(spec.ports);
  for (const raw of ports) {
    const p = obj(raw);
    if (!p) {
      errs.error('service entry port may not be null');
      continue;
    }
    const name = str(p.name);
    const number = num(p.number);
    if (portNames.has(name)) errs.error(`service entry port name ${goQuote(name)} already defined`);
    portNames.add(name);
    if (portNumbers.has(number)) errs.error(`service entry port ${number} already defined`);
    portNumbers.add(number);
    if (num(p.targetPort) !== 0) {
      const e = validatePort(num(p.targetPort));
      if (e) errs.error(e);
    }
    const protocol = str(p.protocol);
    if (addresses.length === 0 && !autoAllocation && (protocol === '' || protocol === 'TCP')) {
      errs.warn('addresses are required for ports serving TCP (or unset) protocol when IP Autoallocation is not enabled');
    }
    for (const e of [validatePortName(name), validateProtocolName(protocol), validatePort(number)]) if (e) errs.error(e);
  }

  switch (resolution) {
    case 'NONE':
      if (endpoints.length !== 0) errs.error('no endpoints should be provided for resolution type none');
      if (has(spec.workloadSelector)) errs.warn('workloadSelector should not be set when resolution mode is NONE');
      break;
    case 'STATIC':
      for (const ep of endpoints) {
        if (!obj(ep)) errs.error('endpoint cannot be nil');
        else errs.add(validateWorkloadEntry(obj(ep)!, portNames, false));
      }
      break;
    case 'DNS':
    case 'DNS_ROUND_ROBIN':
      if (endpoints.length === 0) {
        for (const h of hosts) {
          if (validateFQDN(h)) errs.error(`hosts must be FQDN if no endpoints are provided for resolution mode ${resolution}`);
        }
      }
      if (resolution === 'DNS_ROUND_ROBIN' && endpoints.length > 1) {
        errs.error(`there must only be 0 or 1 endpoint for resolution mode ${resolution}`);
      }
      for (const raw of endpoints) {
        const ep = obj(raw);
        if (!ep) {
          errs.error('endpoint cannot be nil');
          continue;
        }
        const addr = str(ep.address);
        if (!isValidIP(addr) && validateFQDN(addr)) errs.error(`endpoint address ${goQuote(addr)} is not a valid FQDN or an IP address`);
        errs.add(validateLabels(ep.labels));
        for (const [name, port] of entries(ep.ports)) {
          if (!portNames.has(name)) errs.error(`endpoint port ${num(port)} is not defined by the service entry`);
          for (const e of [validatePortName(name), validatePort(num(port))]) if (e) errs.error(e);
        }
      }
      if (addresses.length > 0) {
        for (const raw of ports) {
          const p = obj(raw);
          if (!p) {
            errs.error('ports cannot be nil');
            continue;
          }
          if (isTCPProtocol(parseProtocol(str(p.protocol)))) {
            if (hosts.length > 1) errs.warn('service entry can not have more than one host specified simultaneously with address and tcp port');
            break;
          }
        }
      }
      break;
    default:
      errs.error(`unsupported resolution type ${resolution}`);
  }
  if (resolution !== 'NONE' && hosts.length > 1) {
    for (const raw of ports) {
      const p = obj(raw);
      if (!p) {
        errs.error('ports cannot be nil');
        continue;
      }
      const proto = parseProtocol(str(p.protocol));
      if (!isHTTPProtocol(proto) && !isTLSProtocol(proto)) {
        errs.error('multiple hosts provided with non-HTTP, non-TLS ports');
        break;
      }
    }
  }
  errs.add(validateExportTo(namespace, strs(spec.exportTo), true, false));
  return errs;
}

/** `ValidateWorkloadGroup`. */
export function validateWorkloadGroup(spec: J): Issues {
  if (!obj(spec.template)) return issue('template is required');
  const meta = obj(spec.metadata);
  if (meta) {
    const le = validateLabels(meta.labels);
    if (le.errors.length > 0) return issue(`invalid labels: ${le.errorText()}`);
  }
  const probe = obj(spec.probe);
  const out = new Issues();
  if (!probe) return out;
  for (const f of ['periodSeconds', 'initialDelaySeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold']) {
    if (num(probe[f]) < 0) out.error(`${f} must be non-negative`);
  }
  const httpGet = probe.httpGet;
  if (has(httpGet)) {
    const h = obj(httpGet)!;
    const pe = validatePort(num(h.port));
    if (pe) out.error(pe);
    const scheme = str(h.scheme);
    if (scheme !== '' && scheme !== 'HTTPS' && scheme !== 'HTTP') out.error('httpGet.scheme must be one of "HTTPS", "HTTP"');
    for (const raw of arr(h.httpHeaders)) {
      const hdr = obj(raw);
      if (!hdr) out.error('invalid nil header');
      else {
        const name = str(hdr.name);
        if (name === '') out.error('header name cannot be empty');
        else if (!/^[-A-Za-z0-9]+$/.test(name)) out.error(`header name ${name} is not a valid header name`);
      }
    }
  } else if (has(probe.tcpSocket)) {
    const pe = validatePort(num(obj(probe.tcpSocket)?.port));
    if (pe) out.error(pe);
  } else if (has(probe.exec)) {
    if (strs(obj(probe.exec)?.command).length === 0) out.error('exec.command is required');
  } else {
    out.error('unknown health check method <nil>');
  }
  return out;
}

/** `ValidateProxyConfig`. */
export function validateProxyConfig(spec: J): Issues {
  const out = new Issues().add(validateWorkloadSelector(spec.selector));
  if ((wrapped(spec.concurrency) ?? 0) < 0) out.error('concurrency must be greater than or equal to 0');
  return out;
}
