/**
 * HTTP route validation as Istio 1.27's webhook does it (pkg/config/validation/virtualservice.go
 * `validateHTTPRoute` and the helpers in validation.go), with Istio's exact messages.
 */
import { checkRE2 } from './validate-re2.ts';
import { HEADER_NAME, isAuthorityHeader, validateHeaderMatchName, validateHeaderOperations } from './validate-headers.ts';
import { isDNS1123Label, validateGatewayNames, validateLabels, validatePort, validateWildcardDomain } from './validate-names.ts';
import { arr, durationNs, entries, goFixed, goFloat, goQuote, has, Issues, type J, num, obj, str, strs, validateDuration, wrapped } from './validate-util.ts';

const CORS_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', '*']);
const RETRY_ON = new Set([
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'retriable-4xx', 'refused-stream',
  'retriable-status-codes', 'retriable-headers', 'envoy-ratelimited', 'http3-post-connect-failure', 'cancelled',
  'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);
/** Go's http.StatusText is non-empty for exactly these codes. */
const HTTP_STATUS_CODES = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401,
  402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424, 425, 426, 428,
  429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);
const GRPC_STATUS = new Set([
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE',
  'DATA_LOSS', 'UNAUTHENTICATED',
]);

/** The oneof of a StringMatch: its kind and value, or undefined when none is set. */
export function matchOf(sm: unknown): { kind: 'exact' | 'prefix' | 'regex'; value: string } | undefined {
  const o = obj(sm);
  if (!o) return undefined;
  for (const kind of ['exact', 'prefix', 'regex'] as const) if (has(o[kind])) return { kind, value: str(o[kind]) };
  return undefined;
}

function validateStringMatch(sm: unknown, where: string): string | undefined {
  const m = matchOf(sm);
  if (m?.kind === 'prefix' && m.value === '') return `${goQuote(where)}: prefix string match should not be empty`;
  if (m?.kind === 'regex') return validateStringMatchRegexp(sm, where);
  return undefined;
}

function validateStringMatchRegexp(sm: unknown, where: string): string | undefined {
  const m = matchOf(sm);
  if (m?.kind !== 'regex') return undefined;
  if (m.value === '') return `${goQuote(where)}: regex string match should not be empty`;
  return validateStringRegexp(m.value, where);
}

/** RE2 syntax and Istio's 1024-character cap. */
export function validateStringRegexp(re: string, where: string): string | undefined {
  if (Buffer.byteLength(re) > 1024) return `${goQuote(where)}: regex is too large, max length allowed is 1024`;
  const err = checkRE2(re);
  if (!err) return undefined;
  return `${goQuote(where)}: ${err}; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)`;
}

function validatePercentage(p: unknown): string | undefined {
  const o = obj(p);
  if (!o) return undefined;
  const v = num(o.value);
  if (v < 0 || v > 100 || (v > 0 && v < 0.0001)) return `percentage ${goFloat(v)} is neither 0.0, nor in range [0.0001, 100.0]`;
  return undefined;
}

/** `validateHTTPRoute` (virtualservice.go). */
export function validateHTTPRoute(http: J, delegate: boolean, gatewaySemantics: boolean): Issues {
  const routeType = delegate ? 'delegate' : has(http.delegate) ? 'root' : 'independent';
  const errs = new Issues().addErrors(validateHTTPRouteConflict(http, routeType));
  errs.addErrors(validateHTTPRouteMatchRequest(http));
  validateHeaderOperations(http.headers, errs);
  errs.addErrors(validateCORSPolicy(obj(http.corsPolicy)));
  errs.addErrors(validateFault(http.fault));

  const mirrorPercent = http.mirrorPercent ?? http.mirror_percent;
  if (has(mirrorPercent)) {
    const v = wrapped(mirrorPercent) ?? 0;
    if (v > 100) errs.error(`mirror_percent must have a max value of 100 (it has ${v})`);
    errs.warn('using deprecated setting "mirrorPercent", use "mirrorPercentage" instead');
  }
  const mp = obj(http.mirrorPercentage);
  if (mp) {
    const v = num(mp.value);
    if (v > 100) errs.error(`mirror_percentage must have a max value of 100 (it has ${goFixed(v)})`);
    if (v < 0) errs.error(`mirror_percentage must have a min value of 0 (it has ${goFixed(v)})`);
  }
  errs.addErrors(validateDestination(http.mirror));
  errs.add(validateMirrors(http.mirrors));
  const redirect = validateRedirect(obj(http.redirect));
  if (redirect) errs.error(redirect);
  errs.add(validateDirectResponse(obj(http.directResponse)));
  errs.addErrors(validateRetry(obj(http.retries)));
  const rewrite = validateRewrite(obj(http.rewrite));
  if (rewrite) errs.error(rewrite);
  const authority = validateAuthorityRewrite(obj(http.rewrite), http.headers);
  if (authority) errs.error(authority);
  errs.addErrors(validateRouteDestinations(arr(http.route), gatewaySemantics, true));
  if (has(http.timeout)) {
    const e = validateDuration(http.timeout);
    if (e) errs.error(e);
  }
  return errs;
}

function validateHTTPRouteConflict(http: J, routeType: string): Issues {
  const errs = new Issues();
  const name = str(http.name);
  const hasRoute = arr(http.route).length > 0;
  if (routeType === 'root') {
    if (has(http.redirect)) errs.error(`root HTTP route ${name} must not specify redirect`);
    if (has(http.route)) errs.error(`root HTTP route ${name} must not specify route`);
    return errs;
  }
  if (routeType === 'delegate' && has(http.delegate)) errs.error('delegate HTTP route cannot contain delegate');
  if (has(http.redirect)) {
    if (hasRoute) errs.error('HTTP route cannot contain both route and redirect');
    if (has(http.fault)) errs.error('HTTP route cannot contain both fault and redirect');
    if (has(http.rewrite)) errs.error('HTTP route rule cannot contain both rewrite and redirect');
    if (has(http.directResponse)) errs.error('HTTP route rule cannot contain both direct_response and redirect');
  } else if (has(http.directResponse)) {
    if (hasRoute) errs.error('HTTP route cannot contain both route and direct_response');
    if (has(http.fault)) errs.error('HTTP route cannot contain both fault and direct_response');
    if (has(http.rewrite)) errs.error('HTTP route rule cannot contain both rewrite and direct_response');
  } else if (!hasRoute) {
    errs.error('HTTP route, redirect or direct_response is required');
  }
  if (has(http.mirror) && arr(http.mirrors).length > 0) errs.error('HTTP route cannot contain both mirror and mirrors');
  return errs;
}

function validateHTTPRouteMatchRequest(http: J): Issues {
  const errs = new Issues();
  const add = (e: string | undefined): void => void (e && errs.error(e));
  const matches = arr(http.match).map(obj);
  for (const m of matches) {
    if (!m) continue;
    for (const [name, header] of entries(m.headers)) {
      if (!has(header)) add(`header match ${name} cannot be null`);
      add(validateHeaderMatchName(name));
      add(validateStringMatch(header, 'headers'));
    }
    for (const [name, header] of entries(m.withoutHeaders)) {
      add(validateHeaderMatchName(name));
      // `regex: "*"` is not RE2: Istio turns it into a presence match.
      if (has(header) && !(matchOf(header)?.kind === 'regex' && matchOf(header)?.value === '*')) add(validateStringMatch(header, 'withoutHeaders'));
    }
    add(validateStringMatchRegexp(m.uri, 'uri'));
    add(validateStringMatch(m.scheme, 'scheme'));
    add(validateStringMatch(m.method, 'method'));
    add(validateStringMatch(m.authority, 'authority'));
    for (const [, qp] of entries(m.queryParams)) add(validateStringMatch(qp, 'queryParams'));
  }
  for (const m of matches) {
    if (!m) continue;
    if (num(m.port) !== 0) add(validatePort(num(m.port)));
    errs.addErrors(validateLabels(m.sourceLabels));
    errs.addErrors(validateGatewayNames(strs(m.gateways), false));
    const sns = str(m.sourceNamespace);
    if (sns !== '' && !isDNS1123Label(sns)) add(`sourceNamespace match ${sns} is invalid`);
  }
  return errs;
}

function validateCORSPolicy(policy: J | undefined): Issues {
  const errs = new Issues();
  if (!policy) return errs;
  for (const origin of arr(policy.allowOrigins)) {
    const m = matchOf(origin);
    if (!m || m.value === '') errs.error(`'${m?.value ?? ''}' is not a valid match type for CORS allow origins`);
    else {
      const e = validateStringMatchRegexp(origin, 'corsPolicy.allowOrigins');
      if (e) errs.error(e);
    }
  }
  for (const method of strs(policy.allowMethods)) {
    if (!CORS_METHODS.has(method)) errs.error(`${goQuote(method)} is not a supported HTTP method`);
  }
  for (const name of [...strs(policy.allowHeaders), ...strs(policy.exposeHeaders)]) {
    if (name === '') errs.error('header name cannot be empty');
    else if (name !== '*' && !HEADER_NAME.test(name)) errs.error(`header name ${name} is not a valid header name`);
  }
  if (has(policy.maxAge)) {
    const e = validateDuration(policy.maxAge);
    if (e) errs.error(e);
    // Proto Duration nanos > 0: a sub-second part.
    if (Math.round(durationNs(policy.maxAge)) % 1e9 !== 0) errs.multiError('max_age duration is accurate only to seconds precision');
  }
  return errs;
}

function validateFault(fault: unknown): Issues {
  const errs = new Issues();
  const f = obj(fault);
  if (!f) return errs;
  if (!has(f.abort) && !has(f.delay)) errs.multiError('HTTP fault injection must have an abort and/or a delay');
  const abort = obj(f.abort);
  if (abort) {
    const p = validatePercentage(abort.percentage);
    if (p) errs.error(p);
    if (has(abort.grpcStatus)) {
      const s = str(abort.grpcStatus);
      if (!GRPC_STATUS.has(s)) {
        errs.error(`gRPC status ${goQuote(s)} is not supported. See https://github.com/grpc/grpc/blob/master/doc/statuscodes.md for a list of supported codes, for example 'NOT_FOUND'`);
      }
    } else if (has(abort.http2Error)) {
      errs.error('HTTP/2 abort fault injection not supported yet');
    } else if (has(abort.httpStatus)) {
      const e = validateHTTPStatus(num(abort.httpStatus));
      if (e) errs.error(e);
    }
    // An abort without an error type is only a warning, and appendErrors drops warnings here.
  }
  const delay = obj(f.delay);
  if (delay) {
    const p = validatePercentage(delay.percentage);
    if (p) errs.error(p);
    if (has(delay.fixedDelay)) {
      const e = validateDuration(delay.fixedDelay);
      if (e) errs.error(e);
    } else if (has(delay.exponentialDelay)) {
      const e = validateDuration(delay.exponentialDelay);
      if (e) errs.error(e);
      errs.multiError('exponentialDelay not supported yet');
    }
  }
  return errs;
}

function validateHTTPStatus(status: number): string | undefined {
  if (status < 200 || status > 600) return `HTTP status ${status} is not in range 200-599`;
  return undefined;
}

/** `validateDestination`: host required (not `*`), DNS-1123 subset, port range. */
export function validateDestination(destination: unknown): Issues {
  const errs = new Issues();
  const d = obj(destination);
  if (!d) return errs;
  const host = str(d.host);
  const he = host === '*' ? `invalid destination host ${host}` : validateWildcardDomain(host);
  if (he) errs.error(he);
  const subset = str(d.subset);
  if (subset !== '') {
    const se = validateSubsetName(subset);
    if (se) errs.error(se);
  }
  const port = obj(d.port);
  if (port) {
    const pe = validatePort(num(port.number));
    if (pe) errs.error(pe);
  }
  return errs;
}

/** `validateSubsetName`. */
export function validateSubsetName(name: string): string | undefined {
  if (name.length === 0) return 'subset name cannot be empty';
  if (!isDNS1123Label(name)) return `subset name is invalid: ${name}`;
  return undefined;
}

function validateMirrors(mirrors: unknown): Issues {
  const errs = new Issues();
  for (const raw of arr(mirrors)) {
    const m = obj(raw);
    if (!m) {
      errs.error('mirror cannot be null');
      continue;
    }
    if (!obj(m.destination)) {
      errs.error('destination is required for mirrors');
      continue;
    }
    errs.add(validateDestination(m.destination));
    const p = obj(m.percentage);
    if (p) {
      const v = num(p.value);
      if (v > 100) errs.error(`mirror percentage must have a max value of 100 (it has ${goFixed(v)})`);
      if (v < 0) errs.error(`mirror percentage must have a min value of 0 (it has ${goFixed(v)})`);
    }
  }
  return errs;
}

function validateRedirect(r: J | undefined): string | undefined {
  if (!r) return undefined;
  const port = num(r.port);
  const hasPort = has(r.port) || has(r.derivePort);
  if (str(r.uri) === '' && str(r.authority) === '' && !hasPort && str(r.scheme) === '') {
    return 'redirect must specify URI, authority, scheme, or port';
  }
  const code = num(r.redirectCode);
  if (code !== 0 && (code < 300 || code > 399)) return `${code} is not a valid redirect code, must be 3xx`;
  const scheme = str(r.scheme);
  if (scheme !== '' && scheme !== 'http' && scheme !== 'https') return 'invalid redirect scheme, must be "http" or "https"';
  if (port > 0) return validatePort(port);
  return undefined;
}

function validateDirectResponse(dr: J | undefined): Issues {
  const errs = new Issues();
  if (!dr) return errs;
  const body = obj(dr.body);
  if (body) {
    const size = has(body.string) ? Buffer.byteLength(str(body.string)) : has(body.bytes) ? Math.floor((str(body.bytes).length * 3) / 4) : 0;
    if (size > 1024 * 1024) errs.error('large direct_responses may impact control plane performance, must be less than 1MB');
    else if (size > 100 * 1024) errs.warn('large direct_responses may impact control plane performance');
  }
  const e = validateHTTPStatus(num(dr.status));
  if (e) errs.error(e);
  return errs;
}

function validateRetry(r: J | undefined): Issues {
  const errs = new Issues();
  if (!r) return errs;
  const attempts = num(r.attempts);
  if (attempts < 0) errs.multiError('attempts cannot be negative');
  if (attempts === 0 && (has(r.perTryTimeout) || str(r.retryOn) !== '' || has(r.retryRemoteLocalities))) {
    errs.error('http retry policy configured when attempts are set to 0 (disabled)');
  }
  if (has(r.perTryTimeout)) {
    const e = validateDuration(r.perTryTimeout);
    if (e) errs.error(e);
  }
  const retryOn = str(r.retryOn);
  if (retryOn !== '') {
    for (const policy of retryOn.split(',')) {
      const n = /^[+-]?[0-9]+$/.test(policy) ? Number(policy) : 0;
      if (!HTTP_STATUS_CODES.has(n) && !RETRY_ON.has(policy)) errs.error(`${goQuote(policy)} is not a valid retryOn policy`);
    }
  }
  if (has(r.backoff)) {
    const e = validateDuration(r.backoff);
    if (e) errs.error(e);
  }
  return errs;
}

function validateRewrite(r: J | undefined): string | undefined {
  if (!r) return undefined;
  const uri = str(r.uri);
  const regex = obj(r.uriRegexRewrite);
  if (uri !== '' && regex) return 'rewrite may only contain one of URI or UriRegexRewrite';
  if (uri === '' && !regex && str(r.authority) === '') {
    return 'rewrite must specify at least one of URI, UriRegexRewrite, or authority. Only one of URI or UriRegexRewrite may be specified';
  }
  if (regex) {
    const match = str(regex.match);
    let e: string | undefined;
    if (match === '' || str(regex.rewrite) === '') e = 'UriRegexRewrite requires both Rewrite and Match fields to be specified';
    else e = validateStringRegexp(match, 'HTTPRewrite.UriRegexRewrite.Match');
    if (e) return `UriRegexRewrite has errors\n${e}`;
  }
  return undefined;
}

function validateAuthorityRewrite(rewrite: J | undefined, headers: unknown): string | undefined {
  let current = str(rewrite?.authority);
  const req = obj(obj(headers)?.request);
  for (const op of [req?.set, req?.add]) {
    for (const [k, v] of entries(op)) {
      if (!isAuthorityHeader(k)) continue;
      if (current !== '') return `authority header cannot be set multiple times: have ${goQuote(current)}, attempting to set ${goQuote(str(v))}`;
      current = str(v);
    }
  }
  return undefined;
}

/** Destinations and weights of an HTTP (with header operations) or L4 route. */
export function validateRouteDestinations(weights: unknown[], gatewaySemantics: boolean, withHeaders: boolean): Issues {
  const errs = new Issues();
  let total = 0;
  for (const raw of weights) {
    const w = obj(raw);
    if (!w) {
      errs.multiError('weight may not be nil');
      continue;
    }
    if (!obj(w.destination)) errs.multiError('destination is required');
    if (withHeaders) validateHeaderOperations(w.headers, errs);
    if (!gatewaySemantics) errs.addErrors(validateDestination(w.destination));
    const weight = num(w.weight);
    if (weight < 0) errs.error(`weight ${weight} < 0`);
    total += weight;
  }
  if (weights.length > 1 && total === 0) errs.error('total destination weight = 0');
  return errs;
}
