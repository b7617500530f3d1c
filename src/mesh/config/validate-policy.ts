/**
 * Policy targets (selector, targetRef, targetRefs), RequestAuthentication and Telemetry validation
 * as Istio 1.27's webhook does it (pkg/config/validation/validation.go), with Istio's messages.
 */
import { validateWorkloadSelector } from './validate-names.ts';
import { arr, entries, goQuote, has, Issues, type J, obj, str, strs, validateDuration, wrapped } from './validate-util.ts';

const ALLOWED_TARGET_REFS = [
  ['core', 'Service'], ['networking.istio.io', 'ServiceEntry'], ['gateway.networking.k8s.io', 'Gateway'],
  ['gateway.networking.k8s.io', 'GatewayClass'],
];
const ALLOWED_TARGET_TEXT =
  '[core/v1/Service networking.istio.io/v1/ServiceEntry gateway.networking.k8s.io/v1beta1/Gateway gateway.networking.k8s.io/v1beta1/GatewayClass]';

function validateTargetRef(ref: J | undefined): Issues {
  const v = new Issues();
  if (!ref) return v;
  if (str(ref.name) === '') v.error('targetRef name must be set');
  if (str(ref.namespace) !== '') v.error('targetRef namespace must not be set; cross namespace referencing is not supported');
  const group = str(ref.group) || 'core';
  const kind = str(ref.kind);
  if (!ALLOWED_TARGET_REFS.some(([g, k]) => g === group && k === kind)) {
    v.error(`targetRef must be to one of ${ALLOWED_TARGET_TEXT} but was ${str(ref.group)}/${kind}`);
  }
  return v;
}

/** Selector, targetRef and targetRefs checks shared by the policy kinds. */
export function validatePolicyTargets(spec: J): Issues {
  const v = new Issues();
  const set = [has(spec.selector), has(spec.targetRef), arr(spec.targetRefs).length > 0].filter(Boolean).length;
  if (set > 1) v.error('only one of targetRefs or workloadSelector can be set');
  v.add(validateWorkloadSelector(spec.selector));
  v.add(validateTargetRef(obj(spec.targetRef)));
  for (const r of arr(spec.targetRefs)) v.add(validateTargetRef(obj(r)));
  return v;
}

/** `ValidateRequestAuthentication`. */
export function validateRequestAuthentication(spec: J): Issues {
  const errs = validatePolicyTargets(spec);
  for (const raw of arr(spec.jwtRules)) {
    const rule = obj(raw);
    if (!rule) continue;
    const re = new Issues();
    if (strs(rule.audiences).some((a) => a.length === 0)) re.multiError('audience must be non-empty string');
    const issuer = str(rule.issuer);
    const jwksUri = str(rule.jwksUri);
    if (issuer.length === 0 && jwksUri.length === 0) re.multiError('issuer or jwksUri must be non-empty string');
    if (jwksUri.length !== 0) {
      const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(jwksUri);
      const scheme = m ? m[1]!.toLowerCase() : '';
      if (scheme !== 'http' && scheme !== 'https') re.multiError(`URI scheme ${goQuote(scheme)} is not supported`);
    }
    if (str(rule.jwks) !== '') {
      try {
        const parsed: unknown = JSON.parse(str(rule.jwks));
        if (!obj(parsed)) throw new Error('not an object');
      } catch {
        re.multiError('jwks parse error: failed to unmarshal JWK set');
      }
    }
    for (const h of arr(rule.fromHeaders)) {
      if (!obj(h)) re.multiError('location header name must be non-null');
      else if (str(obj(h)!.name).length === 0) re.multiError('location header name must be non-empty string');
    }
    for (const p of strs(rule.fromParams)) if (p.length === 0) re.multiError('location query must be non-empty string');
    for (const c of strs(rule.fromCookies)) if (c.length === 0) re.multiError('cookie name must be non-empty string');
    for (const raw2 of arr(rule.outputClaimToHeaders)) {
      const o = obj(raw2);
      if (!o) {
        re.multiError('outputClaimToHeaders must not be null');
        continue;
      }
      const header = str(o.header);
      if (str(o.claim) === '' || header === '') {
        re.multiError('outputClaimToHeaders header and claim value must be non-empty string');
        continue;
      }
      if (!/^[-A-Za-z0-9]+$/.test(header)) re.multiError(`header name ${header} is not a valid header name`);
    }
    if (has(rule.timeout)) {
      const e = validateDuration(rule.timeout);
      if (e) re.multiError(e);
    }
    errs.add(re);
  }
  return errs;
}

/** `ValidateTelemetry` (CEL filter expressions are not checked). */
export function validateTelemetry(spec: J): Issues {
  const v = validatePolicyTargets(spec);
  const providers = (list: unknown): void => {
    if (arr(list).some((p) => !obj(p) || str(obj(p)!.name) === '')) v.error('providers.name may not be empty');
  };
  for (const raw of arr(spec.metrics)) {
    const m = obj(raw);
    if (!m) continue;
    providers(m.providers);
    for (const rawO of arr(m.overrides)) {
      const o = obj(rawO);
      if (!o) {
        v.error('tagOverrides may not be null');
        continue;
      }
      for (const [tag, rawT] of entries(o.tagOverrides)) {
        if (tag === '') v.warn('tagOverrides.name may not be empty');
        const to = obj(rawT);
        if (!to) {
          v.error('tagOverrides may not be null');
          continue;
        }
        const op = str(to.operation) || 'UPSERT';
        if (op === 'UPSERT' && str(to.value) === '') v.error('tagOverrides.value must be set when operation is UPSERT');
        if (op === 'REMOVE' && str(to.value) !== '') v.error('tagOverrides.value may only be set when operation is UPSERT');
      }
      const match = obj(o.match);
      if (match && has(match.customMetric) && str(match.customMetric) === '') v.error('customMetric may not be empty');
    }
  }
  const tracing = arr(spec.tracing);
  if (tracing.length > 1) v.warn('multiple tracing is not currently supported');
  for (const raw of tracing) {
    const t = obj(raw);
    if (!t) continue;
    if (arr(t.providers).length > 1) v.warn('multiple providers is not currently supported');
    providers(t.providers);
    const pct = wrapped(t.randomSamplingPercentage) ?? 0;
    if (pct < 0 || pct > 100) v.error('randomSamplingPercentage must be in range [0.0, 100.0]');
    for (const [name, rawTag] of entries(t.customTags)) {
      if (name === '') v.error('tag name may not be empty');
      const tag = obj(rawTag);
      if (!tag) {
        v.error(`tag '${name}' may not have a nil value`);
        continue;
      }
      if (has(tag.literal) && str(obj(tag.literal)?.value) === '') v.error('literal tag value may not be empty');
      else if (has(tag.header) && str(obj(tag.header)?.name) === '') v.error('header tag name may not be empty');
      else if (has(tag.environment) && str(obj(tag.environment)?.name) === '') v.error('environment tag name may not be empty');
    }
  }
  for (const raw of arr(spec.accessLogging)) {
    const l = obj(raw);
    if (l) providers(l.providers);
  }
  return v;
}
