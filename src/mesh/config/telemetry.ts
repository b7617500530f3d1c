/** CustomResourceDefinition of telemetry.istio.io: metrics, access logs and tracing per workload. */
import type { KObject } from '../../api/types.ts';
import {
  ageColumn, arr, atMostOne, bool, crd, duration, mapOf, num, obj, oneOfStr, open, policyTargets, str,
  type Schema,
} from './schema.ts';

/** The API group of Istio's Telemetry kind. */
export const TELEMETRY_GROUP = 'telemetry.istio.io';

const METRICS = [
  'ALL_METRICS', 'REQUEST_COUNT', 'REQUEST_DURATION', 'REQUEST_SIZE', 'RESPONSE_SIZE',
  'TCP_OPENED_CONNECTIONS', 'TCP_CLOSED_CONNECTIONS', 'TCP_SENT_BYTES', 'TCP_RECEIVED_BYTES',
  'GRPC_REQUEST_MESSAGES', 'GRPC_RESPONSE_MESSAGES',
];

/** Which side of a connection a setting applies to. */
function mode(): Schema {
  return oneOfStr('CLIENT_AND_SERVER', 'CLIENT', 'SERVER');
}

/** A list of `{name}` provider references (names from the mesh config's extension providers). */
function providers(): Schema {
  return arr(obj({ name: str({ minLength: 1 }) }, ['name']));
}

/** Telemetry: overrides of tracing, metrics and access logging for a namespace or workload. */
function telemetry(): KObject {
  return crd({
    group: TELEMETRY_GROUP,
    kind: 'Telemetry',
    plural: 'telemetries',
    shortNames: ['telemetry'],
    // Upstream still stores Telemetry at v1alpha1 while serving v1 too.
    versions: ['v1', 'v1alpha1'],
    storage: 'v1alpha1',
    columns: [ageColumn()],
    spec: obj({
      ...policyTargets(),
      tracing: arr(
        obj({
          match: obj({ mode: mode() }),
          providers: providers(),
          customTags: mapOf(open()),
          randomSamplingPercentage: num({ minimum: 0, maximum: 100 }),
          disableSpanReporting: bool(),
          useRequestIdForTraceSampling: bool(),
          enableIstioTags: bool(),
          disableContextPropagation: bool(),
        }),
      ),
      metrics: arr(
        obj({
          providers: providers(),
          overrides: arr(
            obj({
              match: obj(
                { metric: oneOfStr(...METRICS), customMetric: str({ minLength: 1 }), mode: mode() },
                undefined,
                { oneOf: atMostOne('metric', 'customMetric') },
              ),
              disabled: bool(),
              tagOverrides: mapOf(obj({ operation: oneOfStr('UPSERT', 'REMOVE'), value: str() })),
            }),
          ),
          reportingInterval: duration(),
        }),
      ),
      accessLogging: arr(
        obj({
          match: obj({ mode: mode() }),
          providers: providers(),
          disabled: bool(),
          filter: obj({ expression: str() }),
        }),
      ),
    }),
  });
}

/** The telemetry.istio.io CRDs Skiff serves. */
export function telemetryCrds(): KObject[] {
  return [telemetry()];
}
