/**
 * Header checks of Istio 1.27's VirtualService validation (pkg/config/validation/validation.go,
 * virtualservice.go, header_value_validator.go): match names, header operations and Envoy's
 * header-value formatter syntax, with Istio's messages.
 */
import { entries, goQuote, type Issues, obj, str, strs } from './validate-util.ts';

const JWT_CLAIM = '@request.auth.claims';
const PSEUDO_HEADERS = new Set([':method', ':scheme', ':authority', ':path', ':status']);
/** RFC 7230 token characters: what Istio accepts as a header name. */
export const HEADER_NAME = /^[!#$%&'*+\-.^_`|~A-Za-z0-9]+$/;

/** `jwt.ToRoutingClaim(name).Match`. */
export function isJwtClaimRoute(name: string): boolean {
  if (!name.toLowerCase().startsWith(JWT_CLAIM)) return false;
  const rest = name.slice(JWT_CLAIM.length);
  return (rest.startsWith('.') && rest.length > 1) || (rest.startsWith('[') && rest.endsWith(']') && rest.length > 2);
}

/** A header match key: a valid header name, a pseudo-header or a JWT claim (`@request.auth.claims.x`). */
export function validateHeaderMatchName(name: string): string | undefined {
  if (name === '') return 'header name cannot be empty';
  if (isJwtClaimRoute(name) || PSEUDO_HEADERS.has(name)) return undefined;
  if (!HEADER_NAME.test(name)) return `header name ${name} is not a valid header name`;
  return undefined;
}

function isInternalHeader(k: string): boolean {
  return k.startsWith(':') || k.toLowerCase() === 'host';
}

/** True for `:authority` and `host`, in any case. */
export function isAuthorityHeader(k: string): boolean {
  const l = k.toLowerCase();
  return l === ':authority' || l === 'host';
}

/** Envoy's header-value formatter syntax check (header_value_validator.go). */
function validateHeaderValueSyntax(v: string): string | undefined {
  type S = 'lit' | 'var' | 'arr' | 'str?' | 'str' | 'delim' | 'args-end' | 'var-end';
  let state: S = 'lit';
  for (let pos = 0; pos < v.length; pos++) {
    const ch = v[pos]!;
    const hasNext = pos + 1 < v.length;
    switch (state) {
      case 'lit':
        if (ch !== '%') break;
        if (!hasNext) return 'invalid header configuration. Un-escaped %';
        if (v[pos + 1] === '%') pos++;
        else state = 'var';
        break;
      case 'var':
        if (ch === '%') state = 'lit';
        else if (ch === '(') state = 'arr';
        break;
      case 'arr':
        if (ch === '[') state = 'str?';
        else if (ch !== ' ') state = 'str';
        break;
      case 'delim':
        if (ch === ',') state = 'str?';
        else if (ch === ']') state = 'args-end';
        else if (ch !== ' ') return "invalid header configuration. Expecting ',', ']', or whitespace";
        break;
      case 'str?':
        if (ch === '"') state = 'str';
        else if (ch !== ' ') return 'invalid header configuration. Expecting \'"\'';
        break;
      case 'str':
        if (ch === '\\') {
          if (!hasNext) return 'invalid header configuration. Un-terminated backslash in JSON string';
          pos++;
        } else if (ch === ')') state = 'var-end';
        else if (ch === '"') state = 'delim';
        break;
      case 'args-end':
        if (ch === ')') state = 'var-end';
        else if (ch !== ' ') return "invalid header configuration. Expecting ')' or whitespace after '{}', but found '{}'";
        break;
      case 'var-end':
        if (ch === '%') state = 'lit';
        else if (ch !== ' ') return "invalid header configuration. Expecting '%' or whitespace after";
        break;
    }
  }
  if (state !== 'lit') return `invalid header configuration. Un-terminated variable expression '${v}'`;
  return undefined;
}

function validateHeaderValue(v: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000A-\u001F\u007F]/.test(v)) return `header value configuration ${v} is invalid`;
  const e = validateHeaderValueSyntax(v);
  return e ? `header value configuration: ${e}` : undefined;
}

/** Header add/set/remove checks for a route or a destination (`headers.request|response`). */
export function validateHeaderOperations(headers: unknown, out: Issues): void {
  const h = obj(headers);
  const add = (e: string | undefined): void => void (e && out.error(e));
  const withAuthority = (name: string): string | undefined => {
    if (name === '') return 'header name cannot be empty';
    if (isInternalHeader(name) && !isAuthorityHeader(name)) return `invalid header ${goQuote(name)}: header cannot have ":" prefix`;
    return undefined;
  };
  const plain = (name: string): string | undefined => {
    if (name === '') return 'header name cannot be empty';
    if (name.toLowerCase() === 'host') return `invalid header ${goQuote(name)}: cannot set Host header`;
    if (isInternalHeader(name)) return `invalid header ${goQuote(name)}: header cannot have ":" prefix`;
    return undefined;
  };
  const req = obj(h?.request);
  const res = obj(h?.response);
  for (const [k, v] of entries(req?.add)) (add(withAuthority(k)), add(validateHeaderValue(str(v))));
  for (const [k, v] of entries(req?.set)) (add(withAuthority(k)), add(validateHeaderValue(str(v))));
  for (const k of strs(req?.remove)) add(plain(k));
  for (const [k, v] of entries(res?.add)) (add(plain(k)), add(validateHeaderValue(str(v))));
  for (const [k, v] of entries(res?.set)) (add(plain(k)), add(validateHeaderValue(str(v))));
  for (const k of strs(res?.remove)) add(plain(k));
}
