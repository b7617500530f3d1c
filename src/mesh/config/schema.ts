/**
 * Builders for structural OpenAPI v3 schemas (the subset a CRD's openAPIV3Schema allows) and for the
 * CustomResourceDefinition object itself. Every builder returns a fresh object, so callers may mutate
 * what they get without aliasing another CRD's schema.
 */
import type { KObject } from '../../api/types.ts';

/** One node of a structural schema, as it appears under `openAPIV3Schema`. */
export type Schema = { [key: string]: unknown };

/** A `string` node. */
export function str(extra: Schema = {}): Schema {
  return { type: 'string', ...extra };
}

/** A `string` node restricted to the given values (proto enums). */
export function oneOfStr(...values: string[]): Schema {
  return { type: 'string', enum: values };
}

/** A signed `integer` node (proto int32/int64). */
export function int(extra: Schema = {}): Schema {
  return { type: 'integer', ...extra };
}

/** An unsigned 32-bit `integer` node (proto uint32). */
export function uint32(): Schema {
  return { type: 'integer', minimum: 0, maximum: 4294967295 };
}

/** A `number` node (proto double/float). */
export function num(extra: Schema = {}): Schema {
  return { type: 'number', ...extra };
}

/** A `boolean` node. */
export function bool(): Schema {
  return { type: 'boolean' };
}

// Istio accepts Go duration syntax ("7s", "500ms", "1m30s", "0s", and a bare "0" as Go does); the
// pattern rejects typos early without claiming Istio's range rules (>= 1ms on most fields, written as
// CEL upstream), which the mesh's config analysis checks itself.
const DURATION = '^(0|([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$';

/** A duration: a string in Go duration syntax. */
export function duration(): Schema {
  return { type: 'string', pattern: DURATION };
}

/** An `array` node of the given items. */
export function arr(items: Schema, extra: Schema = {}): Schema {
  return { type: 'array', items, ...extra };
}

/** An array of strings. */
export function strings(): Schema {
  return arr(str());
}

/** An `object` node with known properties and an optional `required` list. */
export function obj(properties: Record<string, Schema>, required?: string[], extra: Schema = {}): Schema {
  return { type: 'object', properties, ...(required?.length ? { required } : {}), ...extra };
}

/** A map from string keys to values of the given schema. */
export function mapOf(values: Schema): Schema {
  return { type: 'object', additionalProperties: values };
}

/** A map from string to string (labels, header values). */
export function strMap(): Schema {
  return mapOf(str());
}

/** An object whose inner fields are kept as sent and not checked (deep or rarely used sub-objects). */
export function open(): Schema {
  return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
}

/**
 * At most one of `keys` may be set: a proto `oneof`. Written as a value validation (only `required`
 * inside), which structural schemas allow under `oneOf`.
 */
export function atMostOne(...keys: string[]): Schema[] {
  const each = keys.map((k) => ({ required: [k] }));
  return [{ not: { anyOf: each.map((r) => ({ ...r })) } }, ...each];
}

/** Istio's StringMatch: one of exact, prefix or regex. */
export function stringMatch(): Schema {
  return obj({ exact: str(), prefix: str(), regex: str() }, undefined, {
    oneOf: atMostOne('exact', 'prefix', 'regex'),
  });
}

/** A `{value: number}` percentage (0–100). */
export function percent(): Schema {
  return obj({ value: num() });
}

/** A `{matchLabels}` workload selector, as security and telemetry policies write it. */
export function matchLabels(): Schema {
  return obj({ matchLabels: strMap() });
}

/** A `{labels}` workload selector, as Sidecar and ServiceEntry write it. */
export function labelsSelector(): Schema {
  return obj({ labels: strMap() });
}

/** A reference to a Gateway API object (policy attachment). */
export function targetRef(): Schema {
  return obj(
    {
      group: str({ maxLength: 253 }),
      kind: str({ minLength: 1, maxLength: 63 }),
      name: str({ minLength: 1, maxLength: 253 }),
      namespace: str(),
    },
    ['kind', 'name'],
  );
}

/** The `selector` / `targetRef` / `targetRefs` trio shared by policies that attach to workloads. */
export function policyTargets(): Record<string, Schema> {
  return { selector: matchLabels(), targetRef: targetRef(), targetRefs: arr(targetRef(), { maxItems: 16 }) };
}

/** The object status every Istio kind carries; written by controllers, never validated. */
export function status(): Schema {
  return open();
}

/** One printer column, as `kubectl get` shows it. */
export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description: string;
  priority?: number;
}

/** The Age column, as every kind with explicit printer columns lists it. */
export function ageColumn(): PrinterColumn {
  return {
    name: 'Age',
    type: 'date',
    jsonPath: '.metadata.creationTimestamp',
    description: 'Time since the object was created (metadata.creationTimestamp).',
  };
}

/** What one Istio kind needs to become a CustomResourceDefinition. */
export interface KindDef {
  group: string;
  kind: string;
  plural: string;
  shortNames?: string[];
  /** Every served version, in the order upstream lists them. */
  versions: string[];
  /** The one version objects are stored at. */
  storage: string;
  columns?: PrinterColumn[];
  spec: Schema;
  /** Required top-level fields (e.g. `spec` for ServiceEntry). */
  required?: string[];
}

/** Builds an apiextensions.k8s.io/v1 CustomResourceDefinition; every version serves the same schema. */
export function crd(def: KindDef): KObject {
  const singular = def.kind.toLowerCase();
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${def.group}`, labels: { 'app.kubernetes.io/part-of': 'skiff' } },
    spec: {
      group: def.group,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular,
        ...(def.shortNames ? { shortNames: [...def.shortNames] } : {}),
        categories: ['istio-io', def.group.replaceAll('.', '-')],
      },
      scope: 'Namespaced',
      versions: def.versions.map((name) => ({
        name,
        served: true,
        storage: name === def.storage,
        ...(def.columns ? { additionalPrinterColumns: def.columns.map((c) => ({ ...c })) } : {}),
        subresources: { status: {} },
        schema: {
          // Cloned per version: a store that edits one version's schema must not edit the others.
          openAPIV3Schema: structuredClone({
            type: 'object',
            properties: { spec: def.spec, status: status() },
            ...(def.required ? { required: def.required } : {}),
          }),
        },
      })),
    },
  };
}
