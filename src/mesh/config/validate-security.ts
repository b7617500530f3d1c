/**
 * PeerAuthentication and AuthorizationPolicy validation as Istio 1.27's webhook does it
 * (pkg/config/validation/validation.go, pkg/config/security), with its messages.
 */
import { isValidCIDR, isValidIP, validateWorkloadSelector } from './validate-names.ts';
import { validatePolicyTargets } from './validate-policy.ts';
import { arr, entries, goQuote, Issues, type J, obj, str, strs, trimChar } from './validate-util.ts';

/** `ValidatePeerAuthentication`. */
export function validatePeerAuthentication(spec: J): Issues {
  const errs = new Issues();
  const labels = entries(obj(spec.selector)?.matchLabels);
  const portLevel = obj(spec.portLevelMtls);
  const portKeys = portLevel ? Object.keys(portLevel) : [];
  if (labels.length === 0 && portKeys.length !== 0) errs.error('mesh/namespace peer authentication cannot have port level mTLS');
  if (portLevel && portKeys.length === 0) errs.error('port level mTLS, if defined, must have at least one element');
  for (const k of portKeys) {
    const port = Number(k);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) errs.error('port must be in range 1..65535');
  }
  return errs.add(validateWorkloadSelector(spec.selector));
}

function checkEmptyValues(key: string, values: string[]): string | undefined {
  return values.some((v) => v === '') ? `empty value not allowed, found in ${key}` : undefined;
}

function checkServiceAccount(key: string, values: string[]): string | undefined {
  if (values.length > 16) return 'may not have more than 16 values';
  const format = "expected format 'serviceAccount' or 'namespace/serviceAccount'";
  for (const value of values) {
    if (value === '') return `empty value not allowed, found in ${key}`;
    if (value.includes('*')) return `wildcard not allowed, found in ${key}`;
    const segments = (value.match(/\//g) ?? []).length;
    if (segments !== 0 && segments !== 1) return `${format}, found ${goQuote(value)} in ${key}`;
    if (value.length > 320) return `value cannot exceed 320 characters, found ${goQuote(value)} in ${key}`;
    const slash = value.indexOf('/');
    if (slash >= 0) {
      if (slash === 0) return `${format}, found empty namespace ${goQuote(value)} in ${key}`;
      if (slash === value.length - 1) return `${format}, found empty serviceAccount ${goQuote(value)} in ${key}`;
    }
  }
  return undefined;
}

/** `security.ValidateIPs`, a multierror of the bad entries. */
function validateIPs(values: string[], out: Issues): void {
  for (const v of values) {
    if (v.includes('/')) {
      if (!isValidCIDR(v)) out.multiError(`bad CIDR range (${v}): netip.ParsePrefix(${goQuote(v)}): ${prefixProblem(v)}`);
    } else if (!isValidIP(v) || v.includes('%')) {
      out.multiError(`bad IP address (${v})`);
    }
  }
}

/** Why netip.ParsePrefix rejects a CIDR (the common cases of its error text). */
function prefixProblem(v: string): string {
  const slash = v.lastIndexOf('/');
  const ip = v.slice(0, slash);
  const bits = v.slice(slash + 1);
  if (ip.includes('%')) return 'IPv6 zones cannot be present in a prefix';
  if (!isValidIP(ip)) return `ParseAddr(${goQuote(ip)}): unable to parse IP`;
  if (!/^(0|[1-9][0-9]*)$/.test(bits)) return `bad bits after slash: ${goQuote(bits)}`;
  return 'prefix length out of range';
}

/** `security.ValidatePorts`. */
function validatePorts(values: string[], out: Issues): void {
  for (const p of values) {
    const ok = /^[0-9]+$/.test(p) && Number(p) <= 65535;
    if (!ok) {
      const reason = /^[0-9]+$/.test(p) && Number(p) <= 4294967295 ? '<nil>' : `strconv.ParseUint: parsing ${goQuote(p)}: ${/^[0-9]+$/.test(p) ? 'value out of range' : 'invalid syntax'}`;
      out.multiError(`bad port (${p}): ${reason}`);
    }
  }
}

const PATH_LITERAL = /^[a-zA-Z0-9\-._~%!$&'()+,;:@=]+$/;

function checkValidPathTemplate(key: string, paths: string[]): string | undefined {
  for (const raw of paths) {
    const hasTemplate = raw.includes('{*}') || raw.includes('{**}');
    const path = trimChar(raw, '/');
    let sawAny = false;
    for (const glob of path.split('/')) {
      if (glob === '{*}' && !sawAny) continue;
      if (glob === '{**}' && !sawAny) {
        sawAny = true;
        continue;
      }
      if ((glob === '{**}' || glob === '{*}') && sawAny) {
        return `invalid or unsupported path ${path}, found in ${key}. {**} is not the last operator`;
      }
      if (/[{}]/.test(glob)) {
        return `invalid or unsupported path ${path}, found in ${key}. Contains '{' or '}' beyond a supported path template`;
      }
      if (hasTemplate && !PATH_LITERAL.test(glob)) {
        return `invalid or unsupported path ${path}, found in ${key}. Contains segment ${glob} with invalid string literal`;
      }
    }
  }
  return undefined;
}

function validateMapKey(key: string): string | undefined {
  const open = key.indexOf('[');
  if (key.endsWith(']') && open > 0 && open < key.length - 2) return undefined;
  return `bad key (${key}): should have format a[b]`;
}

/** `security.ValidateAttribute` for a `when` condition; returns the problem, if any. */
function validateAttribute(key: string, values: string[]): Issues {
  const out = new Issues();
  const empty = checkEmptyValues(key, values);
  if (empty) return out.error(empty);
  const one = (e: string | undefined): Issues => (e ? out.error(e) : out);
  if (key.startsWith('request.headers')) return one(validateMapKey(key));
  if (key === 'source.ip' || key === 'remote.ip' || key === 'destination.ip') {
    validateIPs(values, out);
    return out;
  }
  if (key === 'source.serviceAccount') return one(checkServiceAccount(key, values));
  if (['source.namespace', 'source.principal', 'request.auth.principal', 'request.auth.audiences', 'request.auth.presenter', 'connection.sni'].includes(key)) return out;
  if (key.startsWith('request.auth.claims')) return one(validateMapKey(key));
  if (key === 'destination.port') {
    validatePorts(values, out);
    return out;
  }
  if (key.startsWith('experimental.envoy.filters.')) return one(validateMapKey(key));
  if (key === 'destination.namespace') return one(`attribute ${key} is replaced by the metadata.namespace`);
  if (key.startsWith('destination.labels')) return one(`attribute ${key} is replaced by the workload selector`);
  if (key === 'destination.name' || key === 'destination.user') return one(`deprecated attribute ${key}: only supported in v1alpha1`);
  return one(`unknown attribute: ${key}`);
}

const SOURCE_FIELDS = [
  'principals', 'requestPrincipals', 'namespaces', 'ipBlocks', 'remoteIpBlocks', 'notPrincipals', 'notRequestPrincipals',
  'notNamespaces', 'notIpBlocks', 'notRemoteIpBlocks', 'serviceAccounts', 'notServiceAccounts',
];
/** The order Istio checks source fields for empty values. */
const SOURCE_CHECK_ORDER = [
  'principals', 'requestPrincipals', 'namespaces', 'serviceAccounts', 'ipBlocks', 'remoteIpBlocks', 'notPrincipals',
  'notRequestPrincipals', 'notNamespaces', 'notServiceAccounts', 'notIpBlocks', 'notRemoteIpBlocks',
];
const OPERATION_FIELDS = ['ports', 'methods', 'paths', 'hosts', 'notPorts', 'notMethods', 'notPaths', 'notHosts'];

/** `ValidateAuthorizationPolicy`: errors come prefixed with "invalid policy <name>.<namespace>:". */
export function validateAuthorizationPolicy(name: string, namespace: string, spec: J): Issues {
  const errs = new Issues();
  const targets = validatePolicyTargets(spec);
  errs.addErrors(targets);
  const warnings = targets.warnings;
  const action = str(spec.action) || 'ALLOW';
  const rules = arr(spec.rules);
  const provider = obj(spec.provider);
  const fail = (e: string | undefined): void => void (e && errs.error(e));
  if (action === 'CUSTOM') {
    if (rules.length === 0) {
      errs.error('CUSTOM action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you want it be triggered for every request');
    } else if (!provider || str(provider.name) === '') {
      errs.error('`provider.name` must not be empty');
    }
    for (const r of rules) {
      const rule = obj(r);
      for (const f of arr(rule?.from)) {
        const src = obj(obj(f)?.source);
        if (!src) continue;
        for (const [field, label] of [['namespaces', 'Namespaces'], ['notNamespaces', 'NotNamespaces'], ['serviceAccounts', 'ServiceAccounts'],
          ['notServiceAccounts', 'NotServiceAccounts'], ['principals', 'Principals'], ['notPrincipals', 'NotPrincipals'],
          ['requestPrincipals', 'RequestPrincipals'], ['notRequestPrincipals', 'NotRequestPrincipals']] as const) {
          if (strs(src[field]).length !== 0) errs.error(`From.${label} is currently not supported with CUSTOM action`);
        }
      }
      for (const w of arr(rule?.when)) {
        const when = obj(w);
        if (!when) {
          errs.error('when field cannot be nil');
          continue;
        }
        const key = str(when.key);
        if (key === 'source.namespace' || key === 'source.serviceAccount' || key === 'source.principal' || key.startsWith('request.auth.')) {
          errs.error(`${key} is currently not supported with CUSTOM action`);
        }
      }
    }
  }
  if (provider && action !== 'CUSTOM') errs.error(`\`provider\` must not be with non CUSTOM action, found ${action}`);
  if (action === 'DENY' && rules.length === 0) {
    errs.error('DENY action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you want it be triggered for every request');
  }
  rules.forEach((raw, i) => {
    const rule = obj(raw);
    if (!rule) {
      errs.error(`\`rule\` must not be nil, found at rule ${i}`);
      return;
    }
    // Istio also rejects `from: []` / `to: []`, but its JSON decoder turns an empty list into nil,
    // so those checks never fire for objects that come through the API server; neither do they here.
    let tcpInFrom = false;
    let tcpInTo = false;
    let fromExists = false;
    let toExists = false;
    for (const f of arr(rule.from)) {
      const from = obj(f);
      if (!from) {
        errs.error(`\`from\` must not be nil, found at rule ${i}`);
        continue;
      }
      const src = obj(from.source);
      if (!src) {
        errs.error(`\`from.source\` must not be nil, found at rule ${i}`);
        continue;
      }
      fromExists = true;
      const n = (k: string): number => strs(src[k]).length;
      if (n('principals') + n('notPrincipals') + n('namespaces') + n('notNamespaces') > 0 && n('serviceAccounts') + n('notServiceAccounts') > 0) {
        errs.error(`cannot set serviceAccounts with namespaces or principals, found at rule ${i}`);
      }
      if (SOURCE_FIELDS.every((k) => n(k) === 0)) errs.error(`\`from.source\` must not be empty, found at rule ${i}`);
      for (const k of ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks']) {
        const ipErrs = new Issues();
        validateIPs(strs(src[k]), ipErrs);
        errs.addErrors(ipErrs);
      }
      for (const k of SOURCE_CHECK_ORDER) {
        const label = k[0]!.toUpperCase() + k.slice(1);
        fail(k === 'serviceAccounts' || k === 'notServiceAccounts' ? checkServiceAccount(label, strs(src[k])) : checkEmptyValues(label, strs(src[k])));
      }
      if (SOURCE_FIELDS.filter((k) => k !== 'requestPrincipals' && k !== 'notRequestPrincipals').some((k) => n(k) > 0)) tcpInFrom = true;
    }
    for (const t of arr(rule.to)) {
      const to = obj(t);
      if (!to) {
        errs.error(`\`to\` must not be nil, found at rule ${i}`);
        continue;
      }
      const op = obj(to.operation);
      if (!op) {
        errs.error(`\`to.operation\` must not be nil, found at rule ${i}`);
        continue;
      }
      toExists = true;
      if (OPERATION_FIELDS.every((k) => strs(op[k]).length === 0)) errs.error(`\`to.operation\` must not be empty, found at rule ${i}`);
      for (const k of ['ports', 'notPorts']) {
        const pe = new Issues();
        validatePorts(strs(op[k]), pe);
        errs.addErrors(pe);
      }
      for (const k of OPERATION_FIELDS) fail(checkEmptyValues(k[0]!.toUpperCase() + k.slice(1), strs(op[k])));
      fail(checkValidPathTemplate('Paths', strs(op.paths)));
      fail(checkValidPathTemplate('NotPaths', strs(op.notPaths)));
      if (strs(op.ports).length > 0 || strs(op.notPorts).length > 0) tcpInTo = true;
    }
    for (const c of arr(rule.when)) {
      const cond = obj(c);
      const key = str(cond?.key);
      if (key === '') {
        errs.error('`key` must not be empty');
        continue;
      }
      const values = strs(cond?.values);
      const notValues = strs(cond?.notValues);
      if (values.length === 0 && notValues.length === 0) {
        errs.error(`at least one of \`values\` or \`notValues\` must be set for key ${key}`);
        continue;
      }
      const ve = validateAttribute(key, values);
      if (ve.errors.length > 0) errs.error(`invalid \`value\` for \`key\` ${key}: ${ve.errorText()}`);
      const ne = validateAttribute(key, notValues);
      if (ne.errors.length > 0) errs.error(`invalid \`notValue\` for \`key\` ${key}: ${ne.errorText()}`);
    }
    if (((fromExists && !toExists && !tcpInFrom) || (toExists && !tcpInTo)) && action === 'DENY') {
      warnings.push('configured AuthorizationPolicy will deny all traffic to TCP ports under its scope due to the use of only HTTP attributes in a DENY rule; it is recommended to explicitly specify the port');
    }
  });
  const out = new Issues();
  out.errors = errs.errors.map((e) => `invalid policy ${name}.${namespace}: ${e}`);
  out.multi = errs.multi;
  out.warnings = warnings;
  return out;
}

/** The `istio.io/dry-run` annotation rule every kind goes through first (`validateMetadata`). */
export function validateDryRunAnnotation(kind: string, name: string, namespace: string, annotations: Record<string, string>, spec: J): string | undefined {
  const val = annotations['istio.io/dry-run'];
  if (val === undefined) return undefined;
  if (kind !== 'AuthorizationPolicy') return `${namespace}/${name} has unsupported annotation istio.io/dry-run, please remove the annotation`;
  const action = str(spec.action) || 'ALLOW';
  if (action !== 'ALLOW' && action !== 'DENY') {
    return `the annotation istio.io/dry-run currently only supports action ALLOW/DENY, found action ${action} in ${namespace}/${name}`;
  }
  if (!['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False'].includes(val)) {
    return `${namespace}/${name} has annotation istio.io/dry-run with invalid value (${val}): strconv.ParseBool: parsing ${goQuote(val)}: invalid syntax`;
  }
  return undefined;
}

