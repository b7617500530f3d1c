/**
 * VirtualService validation as Istio 1.27's webhook does it (pkg/config/validation/validation.go
 * `ValidateVirtualService`), with Istio's exact messages. HTTP routes are in validate-http.ts.
 */
import { isJwtClaimRoute } from './validate-headers.ts';
import { validateHTTPRoute, validateRouteDestinations } from './validate-http.ts';
import {
  hostMatches, hostSubsetOf, isValidIP, validateExportTo, validateGatewayBoundDomain, validateGatewayNames, validateIPSubnet,
  validateLabels, validatePort, validateWildcardDomain,
} from './validate-names.ts';
import { analyzeUnreachableHTTPRules, analyzeUnreachableL4Rules, type UnreachableReport } from './validate-unreachable.ts';
import { arr, entries, goQuote, Issues, type J, num, obj, strs } from './validate-util.ts';

/** Re-exported for validate.ts, which passes the analyzer's report through. */
export type { UnreachableReport };

/** Validates a VirtualService spec; `report` (if given) receives the unreachable-rule findings instead of the warnings. */
export function validateVirtualService(namespace: string, spec: J, annotations: Record<string, string>, report?: UnreachableReport): Issues {
  const errs = new Issues();
  const hosts = strs(spec.hosts);
  const gateways = strs(spec.gateways);
  const http = arr(spec.http);
  const tls = arr(spec.tls);
  const tcp = arr(spec.tcp);
  if (hosts.length === 0) {
    if (gateways.length !== 0) errs.error('delegate virtual service must have no gateways specified');
    if (tls.length !== 0) errs.error('delegate virtual service must have no tls route specified');
    if (tcp.length !== 0) errs.error('delegate virtual service must have no tcp route specified');
  }
  const gatewaySemantics = annotations['internal.istio.io/route-semantics'] === 'gateway';

  let appliesToMesh = false;
  let appliesToGateway = false;
  if (gateways.length === 0) appliesToMesh = true;
  else {
    errs.add(validateGatewayNames(gateways, gatewaySemantics));
    appliesToGateway = !gateways.includes('mesh');
    appliesToMesh = !appliesToGateway;
  }

  if (!appliesToGateway) {
    const checkClaims = (headers: unknown): void => {
      for (const [key] of entries(headers)) {
        if (isJwtClaimRoute(key)) {
          errs.error(`JWT claim based routing (key: ${key}) is only supported for gateway, found no gateways: [${gateways.join(' ')}]`);
        }
      }
    };
    for (const h of http) {
      for (const m of arr(obj(h)?.match)) {
        checkClaims(obj(m)?.headers);
        checkClaims(obj(m)?.withoutHeaders);
      }
    }
  }

  const sni = isSniHost(tls);
  let allHostsValid = true;
  for (const h of hosts) {
    const err = appliesToGateway ? validateGatewayBoundDomain(sni, h) : validateWildcardDomain(h);
    if (err) {
      if (!isValidIP(h)) {
        errs.error(err);
        allHostsValid = false;
      }
    } else if (appliesToMesh && h === '*') {
      errs.error('wildcard host * is not allowed for virtual services bound to the mesh gateway');
      allHostsValid = false;
    }
  }
  if (allHostsValid) {
    for (let i = 0; i < hosts.length; i++) {
      for (let j = i + 1; j < hosts.length; j++) {
        if (hostMatches(hosts[i]!, hosts[j]!)) errs.error(`duplicate hosts in virtual service: ${hosts[i]} & ${hosts[j]}`);
      }
    }
  }

  if (http.length === 0 && tcp.length === 0 && tls.length === 0) errs.error('http, tcp or tls must be provided in virtual service');
  for (const r of http) {
    const route = obj(r);
    if (!route) {
      errs.error('http route may not be null');
      continue;
    }
    errs.add(validateHTTPRoute(route, hosts.length === 0, gatewaySemantics));
  }
  for (const r of tls) errs.add(validateTLSRoute(obj(r), hosts, gateways, gatewaySemantics));
  for (const r of tcp) errs.addErrors(validateTCPRoute(obj(r), gatewaySemantics));
  errs.add(validateExportTo(namespace, strs(spec.exportTo), false, false));

  // The analyzer reports these as IST0130/IST0131 instead of plain warnings.
  const sink: UnreachableReport = report ?? {
    unreachable(ruleno, reason) {
      errs.warn(`virtualService rule ${ruleno} not used (${reason})`);
    },
    ineffective(ruleno, matchno, dupno) {
      errs.warn(`virtualService rule ${ruleno} match ${matchno} is not used (duplicate/overlapping match in rule ${dupno})`);
    },
  };
  analyzeUnreachableHTTPRules(http, sink);
  analyzeUnreachableL4Rules(tcp, sink);
  analyzeUnreachableL4Rules(tls, sink);
  return errs;
}

function isSniHost(tls: unknown[]): boolean {
  return tls.some((t) => arr(obj(t)?.match).some((m) => strs(obj(m)?.sniHosts).length > 0));
}

function validateL4Match(m: J | undefined, errs: Issues): void {
  if (!m) return;
  for (const subnet of strs(m.destinationSubnets)) {
    const e = validateIPSubnet(subnet);
    if (e) errs.error(e);
  }
  if (num(m.port) !== 0) {
    const e = validatePort(num(m.port));
    if (e) errs.error(e);
  }
  errs.addErrors(validateLabels(m.sourceLabels));
}

function validateTLSRoute(tls: J | undefined, hosts: string[], gateways: string[], gatewaySemantics: boolean): Issues {
  const errs = new Issues();
  if (!tls) return errs;
  const matches = arr(tls.match);
  if (matches.length === 0) errs.error('TLS route must have at least one match condition');
  for (const raw of matches) {
    const m = obj(raw);
    if (!m) {
      errs.error('TLS match may not be null');
      continue;
    }
    const sniHosts = strs(m.sniHosts);
    if (sniHosts.length === 0) errs.error('TLS match must have at least one SNI host');
    for (const sni of sniHosts) errs.add(validateSniHost(sni, hosts, gateways));
    validateL4Match(m, errs);
    errs.add(validateGatewayNames(strs(m.gateways), false));
  }
  if (arr(tls.route).length === 0) errs.error('TLS route is required');
  errs.addErrors(validateRouteDestinations(arr(tls.route), gatewaySemantics, false));
  return errs;
}

function validateSniHost(sni: string, hosts: string[], gateways: string[]): Issues {
  const errs = new Issues();
  // Istio's isGateway() is true when no listed gateway is `mesh`, including an empty list.
  const err = !gateways.includes('mesh') ? validateGatewayBoundDomain(true, sni) : validateWildcardDomain(sni);
  if (err) {
    if (isValidIP(sni)) return errs.warn(`using an IP address (${goQuote(sni)}) goes against SNI spec and most clients do not support this`);
    return errs.error(err);
  }
  if (hosts.some((h) => hostSubsetOf(sni, h))) return errs;
  return errs.error(`SNI host ${goQuote(sni)} is not a compatible subset of any of the virtual service hosts: [${hosts.join(', ')}]`);
}

function validateTCPRoute(tcp: J | undefined, gatewaySemantics: boolean): Issues {
  const errs = new Issues();
  if (!tcp) return errs;
  for (const raw of arr(tcp.match)) {
    const m = obj(raw);
    if (!m) {
      errs.multiError('tcp match may not be nil');
      continue;
    }
    validateL4Match(m, errs);
    errs.addErrors(validateGatewayNames(strs(m.gateways), false));
  }
  if (arr(tcp.route).length === 0) errs.error('TCP route is required');
  errs.addErrors(validateRouteDestinations(arr(tcp.route), gatewaySemantics, false));
  return errs;
}
