/**
 * Istio's validating admission webhook (`validation.istio.io`, served by istiod), ported from
 * istio/istio 1.27: the semantic checks it runs on top of the CRD schema, with its exact messages,
 * and the exact text the API server answers with when the webhook denies a request.
 */
import type { KObject } from '../../api/types.ts';
import { validateGateway, validateSidecar } from './validate-gateway.ts';
import { validateDestinationRule } from './validate-destinationrule.ts';
import { validateRequestAuthentication, validateTelemetry } from './validate-policy.ts';
import { validateAuthorizationPolicy, validateDryRunAnnotation, validatePeerAuthentication } from './validate-security.ts';
import { validateProxyConfig, validateServiceEntry, validateWorkloadEntry, validateWorkloadGroup } from './validate-serviceentry.ts';
import { formatGoErrors, goQuote, issue, Issues, obj, strMap } from './validate-util.ts';
import { validateVirtualService, type UnreachableReport } from './validate-vs.ts';

/** The webhook's name, as the API server quotes it in a denial. */
export const ISTIO_WEBHOOK_NAME = 'validation.istio.io';

/**
 * How the API server answers when a validating webhook denies a request (k8s.io/apiserver
 * pkg/admission/plugin/webhook/errors `ToStatusErr`): istiod's denial carries only a message, so
 * the code is raised to 400, the status is Failure and the reason stays empty (kubectl therefore
 * prints "Error from server: …", without "(BadRequest)").
 */
export const WEBHOOK_DENIAL_STATUS = { code: 400, status: 'Failure', reason: '' } as const;

/** What Istio's webhook says about one object. */
export interface IstioValidationResult {
  /** Each reason to reject; empty when the object is accepted. */
  errors: string[];
  /** Warnings for an accepted object, one per `Warning:` header (`299 - "<text>"`). */
  warnings: string[];
  /** The webhook's whole message as Go renders it (go-multierror list format), '' when accepted. */
  message: string;
}

type KindValidator = (name: string, namespace: string, spec: Record<string, unknown>, meta: Meta, report?: UnreachableReport) => Issues;

interface Meta {
  annotations: Record<string, string>;
  labels: Record<string, string>;
}

const VALIDATORS: Record<string, KindValidator> = {
  'networking.istio.io/VirtualService': (_n, ns, spec, meta, report) => validateVirtualService(ns, spec, meta.annotations, report),
  'networking.istio.io/DestinationRule': (_n, ns, spec) => validateDestinationRule(ns, spec),
  'networking.istio.io/Gateway': (name, _ns, spec, meta) => validateGateway(name, spec, meta.annotations),
  'networking.istio.io/ServiceEntry': (_n, ns, spec, meta) => validateServiceEntry(ns, spec, meta.labels),
  'networking.istio.io/Sidecar': (_n, ns, spec) => validateSidecar(ns, spec),
  'networking.istio.io/WorkloadEntry': (_n, _ns, spec) => validateWorkloadEntry(spec, undefined, true),
  'networking.istio.io/WorkloadGroup': (_n, _ns, spec) => validateWorkloadGroup(spec),
  'networking.istio.io/ProxyConfig': (_n, _ns, spec) => validateProxyConfig(spec),
  'security.istio.io/AuthorizationPolicy': (name, ns, spec) => validateAuthorizationPolicy(name, ns, spec),
  'security.istio.io/PeerAuthentication': (_n, _ns, spec) => validatePeerAuthentication(spec),
  'security.istio.io/RequestAuthentication': (_n, _ns, spec) => validateRequestAuthentication(spec),
  'telemetry.istio.io/Telemetry': (_n, _ns, spec) => validateTelemetry(spec),
};

/** The `group/Kind` key of an object, from its apiVersion. */
function kindKey(o: KObject): string {
  const apiVersion = typeof o.apiVersion === 'string' ? o.apiVersion : '';
  const slash = apiVersion.indexOf('/');
  return `${slash >= 0 ? apiVersion.slice(0, slash) : ''}/${typeof o.kind === 'string' ? o.kind : ''}`;
}

/** True when the object is of a kind Istio's webhook validates. */
export function isIstioKind(o: KObject): boolean {
  return kindKey(o) in VALIDATORS;
}

/**
 * Runs the kind's validator. `withMeta` applies the metadata rules the webhook runs first
 * (annotations); the analyzer runs validation without metadata, as `istioctl analyze` does.
 */
export function runIstioValidation(o: KObject, withMeta: boolean, report?: UnreachableReport): Issues | undefined {
  const validator = VALIDATORS[kindKey(o)];
  if (!validator) return undefined;
  const md = obj(o.metadata) ?? {};
  const name = typeof md.name === 'string' ? md.name : '';
  const namespace = typeof md.namespace === 'string' ? md.namespace : '';
  const spec = obj(o.spec) ?? {};
  const meta: Meta = withMeta
    ? { annotations: strMap(md.annotations) ?? {}, labels: strMap(md.labels) ?? {} }
    : { annotations: {}, labels: {} };
  if (withMeta) {
    const dry = validateDryRunAnnotation(String(o.kind), name, namespace, meta.annotations, spec);
    if (dry) return issue(dry);
    if ('internal.istio.io/webhook-always-reject' in meta.annotations) {
      return issue(`${goQuote('internal.istio.io/webhook-always-reject')} annotation found, rejecting`);
    }
    for (const a of ['internal.istio.io/parent-namespace', 'internal.istio.io/parents']) {
      if (a in meta.annotations) return issue(`${goQuote(a)} annotation found, this may not be set by users`);
    }
  }
  return validator(name, namespace, spec, meta, report);
}

/**
 * Validates an Istio object as the `validation.istio.io` webhook would on create or update.
 * Objects of other kinds (and kinds Skiff does not serve, such as EnvoyFilter) pass untouched.
 */
export function validateIstioObject(o: KObject): IstioValidationResult {
  const issues = runIstioValidation(o, true);
  if (!issues) return { errors: [], warnings: [], message: '' };
  if (issues.errors.length > 0) {
    // A denied request carries no warnings: istiod returns them only with an admission.
    return { errors: issues.errors, warnings: [], message: `configuration is invalid: ${issues.errorText()}` };
  }
  return { errors: [], warnings: issues.warnings, message: '' };
}

/**
 * The message of the API server's 400 answer when Istio's webhook denies a request, e.g.
 * `admission webhook "validation.istio.io" denied the request: configuration is invalid: gateway must have at least one server`.
 * Given bare errors, one renders bare and several as go-multierror's list ("2 errors occurred:\n\t* …\n\n").
 */
export function webhookDenialMessage(errors: string[] | IstioValidationResult): string {
  const message = Array.isArray(errors) ? `configuration is invalid: ${formatGoErrors(errors, errors.length > 1)}` : errors.message;
  return `admission webhook ${goQuote(ISTIO_WEBHOOK_NAME)} denied the request: ${message}`;
}
