/**
 * Name, label, host, port, protocol and address checks the validators share, ported from
 * istio/istio 1.27 (pkg/config/labels, pkg/config/host, pkg/config/protocol,
 * pkg/config/validation/agent/validation.go), with Istio's messages.
 */
import { entries, goQuote, issue, Issues, obj, str, trimChar } from './validate-util.ts';
// ---------------------------------------------------------------------------------------------
// Names and labels (pkg/config/labels). Hand-written scanners instead of the Go regexps: the Go
// engine is linear, JS backtracking is not, and a fuzzed 1 MB label must not hang the webhook.

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** `[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?` over s[from, to). */
function isLabelBody(s: string, from: number, to: number): boolean {
  if (to <= from) return false;
  if (!isAlnum(s.charCodeAt(from)) || !isAlnum(s.charCodeAt(to - 1))) return false;
  for (let i = from + 1; i < to - 1; i++) {
    const c = s.charCodeAt(i);
    if (!isAlnum(c) && c !== 45) return false;
  }
  return true;
}

/** Istio's DNS-1123 label test (note: Istio's version accepts upper case). */
export function isDNS1123Label(v: string): boolean {
  return v.length <= 63 && isLabelBody(v, 0, v.length);
}

/** A DNS-1123 label that may start with `*` or `*-` (or be just `*`). */
export function isWildcardDNS1123Label(v: string): boolean {
  if (v.length > 63) return false;
  if (v === '*') return true;
  let from = 0;
  if (v.startsWith('*-')) from = 2;
  else if (v.startsWith('*')) from = 1;
  return isLabelBody(v, from, v.length);
}

/** `(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]` over s[from, to). */
function isQualifiedName(s: string, from: number, to: number): boolean {
  if (to <= from) return false;
  if (!isAlnum(s.charCodeAt(from)) || !isAlnum(s.charCodeAt(to - 1))) return false;
  for (let i = from + 1; i < to - 1; i++) {
    const c = s.charCodeAt(i);
    if (!isAlnum(c) && c !== 45 && c !== 95 && c !== 46) return false;
  }
  return true;
}

/** Validates a label key as `labels.validateTagKey` does. */
function validateTagKey(k: string): string | undefined {
  const slash = k.lastIndexOf('/');
  let name = k;
  if (slash >= 0) {
    const prefix = k.slice(0, slash);
    name = k.slice(slash + 1);
    const ok = prefix.split('.').every((l) => isLabelBody(l, 0, l.length)) && isQualifiedName(name, 0, name.length);
    if (!ok) return `invalid tag key: ${goQuote(k)}`;
    if (prefix.length > 253) return `invalid tag key: ${goQuote(k)} (DNS prefix is too long)`;
  } else if (!isQualifiedName(name, 0, name.length)) {
    return `invalid tag key: ${goQuote(k)}`;
  }
  if (name.length > 63) return `invalid tag key: ${goQuote(k)} (name is too long)`;
  return undefined;
}

/** `labels.Instance(m).Validate()`: each bad key or value, as a multierror. */
export function validateLabels(m: unknown): Issues {
  const out = new Issues();
  for (const [k, v] of entries(m)) {
    const ke = validateTagKey(k);
    if (ke) out.multiError(ke);
    const value = str(v);
    if (value !== '' && !isQualifiedName(value, 0, value.length)) out.multiError(`invalid tag value: ${goQuote(value)}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Hosts and domains (agent/validation.go).

function dnsPreconditions(name: string): string | undefined {
  if (name.length > 255) return `domain name ${goQuote(name)} too long (max 255)`;
  if (name.length === 0) return 'empty domain name not allowed';
  return undefined;
}

/** Go's strconv.Atoi success test. */
function isGoInt(s: string): boolean {
  if (!/^[+-]?[0-9]+$/.test(s)) return false;
  const v = BigInt(s);
  return v <= 9223372036854775807n && v >= -9223372036854775808n;
}

function validateDNS1123Labels(domain: string): string | undefined {
  const parts = domain.split('.');
  const tld = parts[parts.length - 1]!;
  if (isGoInt(tld)) {
    return `domain name ${goQuote(domain)} invalid (top level domain ${goQuote(tld)} cannot be all-numeric)`;
  }
  for (let i = 0; i < parts.length; i++) {
    const label = parts[i]!;
    if (i === parts.length - 1 && label === '') return undefined;
    if (!isDNS1123Label(label)) return `domain name ${goQuote(domain)} invalid (label ${goQuote(label)} invalid)`;
  }
  return undefined;
}

/** `agent.ValidateFQDN`. */
export function validateFQDN(fqdn: string): string | undefined {
  return dnsPreconditions(fqdn) ?? validateDNS1123Labels(fqdn);
}

/** `agent.ValidateWildcardDomain`: an FQDN whose first label may be a wildcard. */
export function validateWildcardDomain(domain: string): string | undefined {
  const pre = dnsPreconditions(domain);
  if (pre) return pre;
  const dot = domain.indexOf('.');
  const first = dot < 0 ? domain : domain.slice(0, dot);
  if (!isWildcardDNS1123Label(first)) return `domain name ${goQuote(domain)} invalid (label ${goQuote(first)} invalid)`;
  if (dot >= 0) return validateDNS1123Labels(domain.slice(dot + 1));
  return undefined;
}

const OUTBOUND_FORMAT = 'outbound_.<port>_._.<hostname>';

/** `agent.ValidateWildcardDomainForVirtualServiceBoundToGateway` (allows auto-passthrough SNI names). */
export function validateGatewayBoundDomain(sni: boolean, domain: string): string | undefined {
  const pre = dnsPreconditions(domain);
  if (pre) return pre;
  if (sni && domain.startsWith('outbound_')) {
    const parts = domain.split('_');
    if (parts.length < 4) return `domain name ${domain} invalid, should follow '${OUTBOUND_FORMAT}' format`;
    const port = trimChar(parts[1]!, '.');
    const hostname = trimChar(parts[3]!, '.');
    if (parts[0] !== 'outbound') return `domain name ${goQuote(domain)} invalid (label ${goQuote(parts[0]!)} invalid)`;
    if (!/[0-9]/.test(port)) {
      return `domain name ${goQuote(domain)} invalid (label ${goQuote(port)} invalid). should follow ${OUTBOUND_FORMAT} format`;
    }
    if (!/[a-zA-Z]/.test(hostname)) {
      return `domain name ${goQuote(domain)} invalid (label ${goQuote(hostname)} invalid). should follow ${OUTBOUND_FORMAT} format`;
    }
    return undefined;
  }
  return validateWildcardDomain(domain);
}

/** `agent.ValidatePartialWildCard`. */
export function validatePartialWildcard(host: string): string | undefined {
  if (host.includes('*') && host.length !== 1 && !host.startsWith('*.')) return `partial wildcard ${goQuote(host)} not allowed`;
  return undefined;
}

function validateHostnamePart(hostname: string, isGateway: boolean): Issues {
  const out = new Issues();
  if (hostname !== '*' && !hostname.includes('.')) out.error('short names (non FQDN) are not allowed');
  const err = validateWildcardDomain(hostname);
  if (err) {
    // As in Istio: a sidecar gets the error twice, a gateway accepts an IP address.
    if (!isGateway) out.error(err);
    if (!isValidIP(hostname)) out.error(err);
  }
  const pw = validatePartialWildcard(hostname);
  if (pw) out.error(pw);
  return out;
}

/** `agent.ValidateNamespaceSlashWildcardHostname` for Gateway servers and Sidecar egress hosts. */
export function validateNamespaceSlashHost(hostname: string, isGateway: boolean, gatewaySemantics = false): Issues {
  const slash = hostname.indexOf('/');
  if (slash < 0) {
    if (isGateway) return validateHostnamePart(hostname, true);
    return issue('host must be of form namespace/dnsName');
  }
  const ns = hostname.slice(0, slash);
  const name = hostname.slice(slash + 1);
  const out = new Issues();
  if (ns.length === 0 || name.length === 0) out.error('config namespace and dnsName in host entry cannot be empty');
  if (!isGateway) {
    if (ns !== '*' && ns !== '.' && ns !== '~' && !isDNS1123Label(ns)) out.error(`invalid namespace value ${goQuote(ns)} in sidecar`);
  } else if (ns !== '*' && ns !== '.' && (ns !== '~' || !gatewaySemantics) && !isDNS1123Label(ns)) {
    out.error(`invalid namespace value ${goQuote(ns)} in gateway`);
  }
  out.addErrors(validateHostnamePart(name, isGateway));
  return out;
}

/** `host.Name.Matches`: true when the two (possibly wildcard) hosts overlap. */
export function hostMatches(n: string, o: string): boolean {
  const nw = n.startsWith('*');
  const ow = o.startsWith('*');
  if (nw) {
    if (ow) return n.length < o.length ? o.slice(1).endsWith(n.slice(1)) : n.slice(1).endsWith(o.slice(1));
    return o.endsWith(n.slice(1));
  }
  if (ow) return n.endsWith(o.slice(1));
  return n === o;
}

/** `host.Name.SubsetOf`: true when every name matched by n is also matched by o. */
export function hostSubsetOf(n: string, o: string): boolean {
  const nw = n.startsWith('*');
  const ow = o.startsWith('*');
  if (nw) return ow && n.length >= o.length && n.slice(1).endsWith(o.slice(1));
  if (ow) return n.endsWith(o.slice(1));
  return n === o;
}

// ---------------------------------------------------------------------------------------------
// Ports, protocols, addresses.

/** `agent.ValidatePort`. */
export function validatePort(port: number): string | undefined {
  if (port >= 1 && port <= 65535) return undefined;
  return `port number ${port} must be in the range 1..65535`;
}

/** `validation.ValidatePortName`. */
export function validatePortName(name: string): string | undefined {
  return isDNS1123Label(name) ? undefined : `invalid port name: ${name}`;
}

/** Istio's protocol names (pkg/config/protocol), lower-cased. */
const PROTOCOLS = new Map<string, string>([
  ['tcp', 'TCP'], ['udp', 'UDP'], ['grpc', 'GRPC'], ['grpc-web', 'GRPC-Web'], ['http', 'HTTP'],
  ['http_proxy', 'HTTP_PROXY'], ['http2', 'HTTP2'], ['https', 'HTTPS'], ['tls', 'TLS'], ['mongo', 'Mongo'],
  ['redis', 'Redis'], ['mysql', 'MySQL'],
]);

/** `protocol.Parse`: the canonical protocol, or 'UnsupportedProtocol'. */
export function parseProtocol(p: string): string {
  return PROTOCOLS.get(p.toLowerCase()) ?? 'UnsupportedProtocol';
}

/** `protocol.Instance.IsHTTP`. */
export function isHTTPProtocol(p: string): boolean {
  return ['HTTP', 'HTTP2', 'HTTP_PROXY', 'GRPC', 'GRPC-Web'].includes(p);
}

/** `protocol.Instance.IsTLS`. */
export function isTLSProtocol(p: string): boolean {
  return p === 'HTTPS' || p === 'TLS';
}

/** `protocol.Instance.IsTCP`. */
export function isTCPProtocol(p: string): boolean {
  return ['TCP', 'HTTPS', 'TLS', 'Mongo', 'Redis', 'MySQL'].includes(p);
}

/** `validation.ValidateProtocol`: '' means sniffing and is allowed. */
export function validateProtocolName(p: string): string | undefined {
  if (p !== '' && parseProtocol(p) === 'UnsupportedProtocol') return `unsupported protocol: ${p}`;
  return undefined;
}

function parseIPv4(s: string): boolean {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  return parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

function parseIPv6(s: string): boolean {
  if (s.length > 64 || !/^[0-9a-fA-F:.]+$/.test(s)) return false;
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return false;
  let groups = 0;
  const count = (part: string, last: boolean): boolean => {
    if (part === '') return true;
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (last && i === items.length - 1 && it.includes('.')) {
        if (!parseIPv4(it)) return false;
        groups += 2;
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return false;
      groups++;
    }
    return true;
  };
  if (dbl >= 0) {
    if (!count(s.slice(0, dbl), false) || !count(s.slice(dbl + 2), true)) return false;
    return groups < 8;
  }
  return count(s, true) && groups === 8;
}

/** `netip.ParseAddr` (an IPv6 zone is allowed). */
export function isValidIP(s: string): boolean {
  if (parseIPv4(s)) return true;
  const pct = s.indexOf('%');
  if (pct >= 0) return pct < s.length - 1 && parseIPv6(s.slice(0, pct));
  return parseIPv6(s);
}

/** `agent.ValidateIPAddress`. */
export function validateIPAddress(addr: string): string | undefined {
  return isValidIP(addr) ? undefined : `${addr} is not a valid IP`;
}

/** True for `netip.ParsePrefix` input: an address (no zone) and a prefix length within its family. */
export function isValidCIDR(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const ip = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]*)$/.test(bits)) return false;
  if (parseIPv4(ip)) return Number(bits) <= 32;
  return parseIPv6(ip) && Number(bits) <= 128;
}

/** `agent.ValidateIPSubnet`: a CIDR block or a single address. */
export function validateIPSubnet(subnet: string): string | undefined {
  if ((subnet.match(/\//g) ?? []).length === 1) return isValidCIDR(subnet) ? undefined : `${subnet} is not a valid CIDR block`;
  return validateIPAddress(subnet);
}

// ---------------------------------------------------------------------------------------------
// Shared pieces of several kinds.

/** `visibility.Instance.Validate`. */
function validateVisibility(v: string): string | undefined {
  if (v === '.' || v === '*') return undefined;
  if (v === '~') return 'exportTo ~ (none) is not allowed for Istio configuration objects';
  if (!isDNS1123Label(v)) return 'only .,*, or a valid DNS 1123 label is allowed as exportTo entry';
  return undefined;
}

/** `validation.validateExportTo`. */
export function validateExportTo(namespace: string, exportTo: string[], isServiceEntry: boolean, drWithSelector: boolean): Issues {
  const out = new Issues();
  if (exportTo.length === 0) return out;
  const set = new Set<string>();
  for (const e of exportTo) {
    const key = e === '.' ? namespace : e;
    if (set.has(key)) {
      if (key !== e) out.error(`duplicate entries in exportTo: . and current namespace ${namespace}`);
      else out.error(`duplicate entries in exportTo for entry ${e}`);
    } else if (isServiceEntry && e === '~') {
      set.add(key);
    } else {
      const err = validateVisibility(key);
      if (err) out.error(err);
      else set.add(key);
    }
  }
  if (drWithSelector && set.size > 0) {
    if (set.has(namespace)) {
      if (set.size > 1) out.error('destination rule with workload selector cannot have multiple entries in exportTo');
    } else {
      out.error('destination rule with workload selector cannot have exportTo beyond current namespace');
    }
  }
  if (set.has('*') && exportTo.length > 1) out.error('cannot have both public (*) and non-public exportTo values for a resource');
  if (set.has('~') && exportTo.length > 1) out.error('cannot export service entry to no one (~) and someone');
  return out;
}

/** `validation.validateWorkloadSelector` for `{matchLabels}` selectors (security, telemetry, DR). */
export function validateWorkloadSelector(selector: unknown): Issues {
  const out = new Issues();
  const sel = obj(selector);
  if (!sel) return out;
  const labels = entries(sel.matchLabels);
  for (const [k, raw] of labels) {
    const v = str(raw);
    if (k === '') out.error(`empty key is not supported in selector: ${goQuote(`${k}=${v}`)}`);
    if (k.includes('*') || v.includes('*')) out.error(`wildcard is not supported in selector: ${goQuote(`${k}=${v}`)}`);
  }
  if (labels.length === 0) out.warn('workload selector specified without labels');
  return out;
}

/** `validation.ValidateAlphaWorkloadSelector` for `{labels}` selectors (Sidecar, ServiceEntry): warning, error. */
export function validateAlphaWorkloadSelector(selector: unknown): { warning?: string; errors: Issues } {
  const errors = new Issues();
  const sel = obj(selector);
  if (!sel) return { errors };
  const labels = entries(sel.labels);
  for (const [k, raw] of labels) {
    const v = str(raw);
    if (k === '') errors.multiError(`empty key is not supported in selector: ${goQuote(`${k}=${v}`)}`);
    if (k.includes('*') || v.includes('*')) errors.multiError(`wildcard is not supported in selector: ${goQuote(`${k}=${v}`)}`);
  }
  return { warning: labels.length === 0 ? 'workload selector specified without labels' : undefined, errors };
}

/** `validateGatewayNames` (note Istio's early `return` after the first short name). */
export function validateGatewayNames(names: string[], gatewaySemantics: boolean): Issues {
  const out = new Issues();
  for (const name of names) {
    const slash = name.indexOf('/');
    if (slash < 0) {
      if (name.includes('.')) {
        const parts = name.split('.');
        out.warn(`using legacy gatewayName format ${goQuote(name)}; prefer the <namespace>/<name> format: ${goQuote(`${parts[1]}/${parts[0]}`)}`);
      }
      const e = validateFQDN(name);
      if (e) out.error(e);
      return out;
    }
    const ns = name.slice(0, slash);
    const gw = name.slice(slash + 1);
    if (ns.length === 0 || gw.length === 0) out.error('config namespace and gateway name cannot be empty');
    if (!isDNS1123Label(ns)) out.error(`invalid value for namespace: ${goQuote(ns)}`);
    if (!isDNS1123Label(gw) && !gatewaySemantics) out.error(`invalid value for gateway name: ${goQuote(gw)}`);
  }
  return out;
}
