/**
 * DestinationRule validation as Istio 1.27's webhook does it (pkg/config/validation/validation.go
 * `ValidateDestinationRule`, traffic policies, load balancing, pools, outlier detection, client TLS).
 */
import { validateSubsetName } from './validate-http.ts';
import {
  validateExportTo, validateFQDN, validateIPAddress, validateLabels, validatePort, validateWildcardDomain,
  validateWorkloadSelector,
} from './validate-names.ts';
import {
  arr, durationNs, entries, goQuote, has, issue, Issues, type J, num, obj, str, strs, validateDuration, wrapped,
} from './validate-util.ts';

/** `ValidateDestinationRule`. */
export function validateDestinationRule(namespace: string, spec: J): Issues {
  const v = new Issues();
  const hostErr = validateWildcardDomain(str(spec.host));
  if (hostErr) v.error(hostErr);
  v.add(validateTrafficPolicy(namespace, obj(spec.trafficPolicy)));
  const names = new Set<string>();
  for (const raw of arr(spec.subsets)) {
    const subset = obj(raw);
    if (!subset) {
      v.error('subset may not be null');
      continue;
    }
    const name = str(subset.name);
    if (names.has(name)) v.error(`duplicate subset names: ${name}`);
    names.add(name);
    // validateSubset returns a plain error: the subset policy's warnings are dropped, as in Istio.
    const se = new Issues();
    const ne = validateSubsetName(name);
    if (ne) se.error(ne);
    se.addErrors(validateLabels(subset.labels));
    se.addErrors(validateTrafficPolicy(namespace, obj(subset.trafficPolicy)));
    v.addErrors(se);
  }
  v.add(validateExportTo(namespace, strs(spec.exportTo), false, has(spec.workloadSelector)));
  v.add(validateWorkloadSelector(spec.workloadSelector));
  return v;
}

function validateTrafficPolicy(namespace: string, policy: J | undefined): Issues {
  if (!policy) return new Issues();
  const fields = ['outlierDetection', 'connectionPool', 'loadBalancer', 'tls', 'tunnel', 'proxyProtocol', 'retryBudget'];
  if (!fields.some((f) => has(policy[f])) && arr(policy.portLevelSettings).length === 0) {
    return issue('traffic policy must have at least one field');
  }
  if (has(policy.tunnel) && has(policy.proxyProtocol)) return issue('tunnel and proxyProtocol must not be set together');
  const out = new Issues();
  out.add(validateOutlierDetection(obj(policy.outlierDetection)));
  out.add(validateConnectionPool(obj(policy.connectionPool)));
  out.add(validateLoadBalancer(obj(policy.loadBalancer), obj(policy.outlierDetection)));
  out.add(validateClientTLS(namespace, obj(policy.tls)));
  out.add(validatePortTrafficPolicies(namespace, arr(policy.portLevelSettings)));
  out.add(validateTunnel(obj(policy.tunnel)));
  return out;
}

function validatePercent(v: number): string | undefined {
  return v < 0 || v > 100 ? `percentage ${v} is not in range 0..100` : undefined;
}

function durationErr(out: Issues, v: unknown): void {
  if (!has(v)) return;
  const e = validateDuration(v);
  if (e) out.error(e);
}

function validateOutlierDetection(od: J | undefined): Issues {
  const out = new Issues();
  if (!od) return out;
  durationErr(out, od.baseEjectionTime);
  if (num(od.consecutiveErrors) !== 0) {
    out.warn('outlier detection consecutive errors is deprecated, use consecutiveGatewayErrors or consecutive5xxErrors instead');
  }
  if (od.splitExternalLocalOriginErrors !== true && (wrapped(od.consecutiveLocalOriginFailures) ?? 0) > 0) {
    out.error('outlier detection consecutive local origin failures is specified, but split external local origin errors is set to false');
  }
  durationErr(out, od.interval);
  for (const p of [num(od.maxEjectionPercent), num(od.minHealthPercent)]) {
    const e = validatePercent(p);
    if (e) out.error(e);
  }
  return out;
}

/** `validateConnectionPool` (also used by Sidecar). */
export function validateConnectionPool(cp: J | undefined): Issues {
  const out = new Issues();
  if (!cp) return out;
  const http = obj(cp.http);
  const tcp = obj(cp.tcp);
  if (!http && !tcp) return issue('connection pool must have at least one field');
  if (http) {
    if (num(http.http1MaxPendingRequests) < 0) out.error('http1 max pending requests must be non-negative');
    if (num(http.http2MaxRequests) < 0) out.error('http2 max requests must be non-negative');
    if (num(http.maxRequestsPerConnection) < 0) out.error('max requests per connection must be non-negative');
    if (num(http.maxRetries) < 0) out.error('max retries must be non-negative');
    durationErr(out, http.idleTimeout);
    if (str(http.h2UpgradePolicy) === 'UPGRADE' && http.useClientProtocol === true) {
      out.error('use client protocol must not be true when H2UpgradePolicy is UPGRADE');
    }
    if (num(http.maxConcurrentStreams) < 0) out.error('max concurrent streams must be non-negative');
  }
  if (tcp) {
    if (num(tcp.maxConnections) < 0) out.error('max connections must be non-negative');
    durationErr(out, tcp.connectTimeout);
    durationErr(out, tcp.maxConnectionDuration);
    // An idle timeout of 0 disables it and is allowed.
    if (has(tcp.idleTimeout) && Math.trunc(durationNs(tcp.idleTimeout) / 1e6) !== 0) durationErr(out, tcp.idleTimeout);
    const ka = obj(tcp.tcpKeepalive);
    if (ka) {
      durationErr(out, ka.time);
      durationErr(out, ka.interval);
    }
  }
  return out;
}

function isPrime(x: number): boolean {
  if (x !== 0 && x < 4) return true;
  if (x % 2 === 0) return false;
  const limit = Math.floor(Math.sqrt(x));
  for (let f = 3; f <= limit; f += 2) if (x % f === 0) return false;
  return true;
}

function validateLoadBalancer(lb: J | undefined, outlier: J | undefined): Issues {
  const out = new Issues();
  if (!lb) return out;
  const ch = obj(lb.consistentHash);
  if (ch) {
    const cookie = obj(ch.httpCookie);
    if (cookie && str(cookie.name) === '') out.error('name required for HttpCookie');
    const minRing = num(ch.minimumRingSize);
    if (minRing !== 0) out.warn('consistent hash MinimumRingSize is deprecated, use ConsistentHashLB\'s RingHash configuration instead');
    if (minRing !== 0 && (has(ch.ringHash) || has(ch.maglev))) out.error('only one of MinimumRingSize or Maglev/Ringhash can be specified');
    const maglev = obj(ch.maglev);
    if (maglev) {
      const size = Math.max(0, Math.trunc(num(maglev.tableSize)));
      if (size === 0) out.error('tableSize must be set for maglev');
      if (size >= 5000011) out.error('tableSize must be less than 5000011 for maglev');
      if (!isPrime(size)) out.error('tableSize must be a prime number for maglev');
    }
  }
  out.add(validateLocalityLbSetting(obj(lb.localityLbSetting), outlier));
  const warm = obj(lb.warmup);
  if (warm) {
    if (!has(warm.duration)) out.error('duration is required');
    else durationErr(out, warm.duration);
    if ((wrapped(warm.minimumPercent) ?? 0) > 100) out.error('minimumPercent value should be less than or equal to 100');
    const aggression = wrapped(warm.aggression);
    if (aggression !== undefined && aggression < 1) out.error('aggression should be greater than or equal to 1');
  }
  return out;
}

function validateLocalities(localities: string[]): string | undefined {
  const tree = new Map<string, Map<string, Map<string, boolean>>>();
  for (const locality of localities) {
    const stars = (locality.match(/\*/g) ?? []).length;
    if (stars > 0 && (stars > 1 || !locality.endsWith('*'))) {
      return `locality ${locality} wildcard '*' number can not exceed 1 and must be in the end`;
    }
    if (tree.has('*')) return `locality ${locality} overlap with previous specified ones`;
    const items = locality.split('/');
    const parts = items.length > 3 ? [items[0]!, items[1]!, items.slice(2).join('/')] : items;
    if (parts.some((p) => p === '')) return `locality ${locality} must not contain empty region/zone/subzone info`;
    const [region, zone, subzone] = parts as [string, string?, string?];
    const overlap = `locality ${locality} overlap with previous specified ones`;
    const r = tree.get(region);
    if (zone === undefined) {
      if (r) return overlap;
      tree.set(region, new Map([['*', new Map([['*', true]])]]));
    } else if (subzone === undefined) {
      if (r) {
        if (r.has('*') || r.has(zone)) return overlap;
        r.set(zone, new Map([['*', true]]));
      } else tree.set(region, new Map([[zone, new Map([['*', true]])]]));
    } else if (r) {
      if (r.has('*')) return overlap;
      const z = r.get(zone);
      if (z) {
        if (z.get('*') || z.get(subzone)) return overlap;
        z.set(subzone, true);
      } else r.set(zone, new Map([[subzone, true]]));
    } else tree.set(region, new Map([[zone, new Map([[subzone, true]])]]));
  }
  return undefined;
}

function validateLocalityLbSetting(lb: J | undefined, outlier: J | undefined): Issues {
  const out = new Issues();
  if (!lb) return out;
  const distribute = arr(lb.distribute).map(obj);
  const failover = arr(lb.failover).map(obj);
  const priority = strs(lb.failoverPriority);
  if (distribute.length > 0 && failover.length > 0) return out.error("can not simultaneously specify 'distribute' and 'failover'");
  if (failover.length > 0) {
    for (const label of priority) {
      if (['topology.kubernetes.io/region', 'topology.kubernetes.io/zone', 'topology.istio.io/subzone'].includes(label)) {
        return out.error(`can not simultaneously set 'failover' and topology label '${label}' in 'failover_priority'`);
      }
    }
  }
  const sources: string[] = [];
  for (const d of distribute) {
    sources.push(str(d?.from));
    let total = 0;
    const dests: string[] = [];
    for (const [loc, w] of entries(d?.to)) {
      dests.push(loc);
      const weight = num(w);
      if (weight <= 0 || weight > 100) return out.error('locality weight must be in range [1, 100]');
      total += weight;
    }
    if (total !== 100) return out.error(`total locality weight ${total} != 100`);
    const e = validateLocalities(dests);
    if (e) out.error(e);
  }
  const e = validateLocalities(sources);
  if (e) out.error(e);
  if ((failover.length > 0 || priority.length > 0) && !outlier) out.warn('outlier detection policy must be provided for failover');
  for (const f of failover) {
    const from = str(f?.from);
    const to = str(f?.to);
    if (from === to) out.error('locality lb failover settings must specify different regions');
    if (from.includes('/') || to.includes('/')) out.error('locality lb failover only specify region');
    if (from.includes('*') || to.includes('*')) out.error("locality lb failover region should not contain '*' wildcard");
  }
  return out;
}

/** `agent.ValidateTLS` for client-side (DestinationRule) TLS settings. */
function validateClientTLS(namespace: string, tls: J | undefined): Issues {
  const out = new Issues();
  if (!tls) return out;
  const mode = str(tls.mode) || 'DISABLE';
  const credentialName = str(tls.credentialName);
  if (credentialName.startsWith('configmap://')) {
    const ref = credentialName.slice('configmap://'.length);
    const slash = ref.indexOf('/');
    const ns = slash >= 0 ? ref.slice(0, slash) : namespace;
    if (ns !== namespace || namespace === '') {
      out.error(`invalid configmap:// credentialName: namespace must match the configuration namespace ${goQuote(namespace)}`);
    }
  }
  const sans = strs(tls.subjectAltNames).length > 0;
  if (wrapped(tls.insecureSkipVerify) === 1 || tls.insecureSkipVerify === true) {
    if (mode === 'SIMPLE' && (str(tls.caCertificates) !== '' || credentialName !== '' || sans)) {
      out.error('cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true');
    }
    if (mode === 'MUTUAL' && (str(tls.caCertificates) !== '' || sans)) {
      out.error('cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true');
    }
  }
  if ((mode === 'SIMPLE' || mode === 'MUTUAL') && credentialName !== '') {
    if (['clientCertificate', 'caCertificates', 'privateKey', 'caCrl'].some((k) => str(tls[k]) !== '')) {
      out.error('cannot specify client certificates or CA certificate or CA CRL If credentialName is set');
    }
    return out;
  }
  if (mode === 'MUTUAL') {
    if (str(tls.clientCertificate) === '') out.error('client certificate required for mutual tls');
    if (str(tls.privateKey) === '') out.error('private key required for mutual tls');
  }
  return out;
}

function validatePortTrafficPolicies(namespace: string, policies: unknown[]): Issues {
  const out = new Issues();
  for (const raw of policies) {
    const p = obj(raw);
    if (!p) {
      out.error('traffic policy may not be null');
      continue;
    }
    if (!obj(p.port)) out.error('portTrafficPolicy must have valid port');
    if (!has(p.outlierDetection) && !has(p.connectionPool) && !has(p.loadBalancer) && !has(p.tls)) {
      out.error('port traffic policy must have at least one field');
    } else {
      out.addErrors(validateOutlierDetection(obj(p.outlierDetection)));
      out.addErrors(validateConnectionPool(obj(p.connectionPool)));
      out.addErrors(validateLoadBalancer(obj(p.loadBalancer), obj(p.outlierDetection)));
      out.addErrors(validateClientTLS(namespace, obj(p.tls)));
    }
  }
  return out;
}

function validateTunnel(t: J | undefined): Issues {
  const out = new Issues();
  if (!t) return out;
  const protocol = str(t.protocol);
  if (protocol !== '' && protocol !== 'CONNECT' && protocol !== 'POST') out.error('tunnel protocol must be "CONNECT" or "POST"');
  const host = str(t.targetHost);
  const fqdnErr = validateFQDN(host);
  const ipErr = validateIPAddress(host);
  if (fqdnErr && ipErr) out.error(`tunnel target host must be valid FQDN or IP address: ${fqdnErr}; ${ipErr}`);
  const pe = validatePort(num(t.targetPort));
  if (pe) out.error(`tunnel target port is invalid: ${pe}`);
  return out;
}
