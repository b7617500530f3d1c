/** CRD OpenAPI v3 schema validation with ajv, reporting causes as kube-apiserver words them (kube-openapi + apiextensions). */
import AjvMod from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { Cause, KObject } from '../types.ts';
import type { Errs, Obj } from './util.ts';
import { child, duplicate, goValue, index, invalid, isObj, notSupported, required, tooLongMaxLength, tooMany, typeInvalid } from './util.ts';

// ajv is CommonJS; under ESM its default export sits on `.default`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const Ajv = ((AjvMod as any).default ?? AjvMod) as typeof AjvMod.default;

/** Formats Kubernetes knows; anything else is accepted, as upstream ignores unknown formats. */
const FORMATS: Record<string, RegExp | ((s: string) => boolean)> = {
  int32: () => true,
  int64: () => true,
  float: () => true,
  double: () => true,
  byte: /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/,
  'date-time': (s) => /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)),
  datetime: (s) => /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(s),
  date: /^\d{4}-\d{2}-\d{2}$/,
  uuid: /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/,
  email: /^[^\s@]+@[^\s@]+$/,
  hostname: /^(?=.{1,253}$)[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*\.?$/,
  ipv4: /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/,
  ipv6: (s) => s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s),
  cidr: /^[0-9a-fA-F:.]+\/\d{1,3}$/,
  duration: /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/,
};

let shared: InstanceType<typeof Ajv> | undefined;

function ajv(): InstanceType<typeof Ajv> {
  if (!shared) {
    // logger:false keeps ajv from calling console on unknown formats/keywords; strict:false accepts x-kubernetes-*.
    shared = new Ajv({ strict: false, allErrors: true, logger: false, validateSchema: false, unicodeRegExp: false });
    for (const [name, f] of Object.entries(FORMATS)) shared.addFormat(name, f instanceof RegExp ? f : { validate: f });
  }
  return shared;
}

/** Rewrites OpenAPI v3.0 + x-kubernetes-* into something ajv's JSON Schema draft-07 understands. */
function toAjvSchema(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(toAjvSchema);
  if (!isObj(s)) return s;
  const out: Obj = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === '__proto__' || k === '$ref' || k === '$schema' || k === 'id' || k === '$id' || k === 'definitions' || k === 'default' || k === 'example') continue;
    if (k === 'properties' || k === 'patternProperties') {
      out[k] = isObj(v) ? Object.fromEntries(Object.entries(v).map(([p, sub]) => [p, toAjvSchema(sub)])) : {};
    } else out[k] = toAjvSchema(v);
  }
  if (s['x-kubernetes-int-or-string'] === true) out.type = ['integer', 'string'];
  if (s['x-kubernetes-list-type'] === 'set') out.uniqueItems = true;
  if (typeof out.exclusiveMinimum === 'boolean') {
    if (out.exclusiveMinimum && typeof out.minimum === 'number') {
      out.exclusiveMinimum = out.minimum;
      delete out.minimum;
    } else delete out.exclusiveMinimum;
  }
  if (typeof out.exclusiveMaximum === 'boolean') {
    if (out.exclusiveMaximum && typeof out.maximum === 'number') {
      out.exclusiveMaximum = out.maximum;
      delete out.maximum;
    } else delete out.exclusiveMaximum;
  }
  if (s.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else if (Array.isArray(out.type)) out.type = [...out.type, 'null'];
    if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
  }
  return out;
}

/** Go/kube-openapi name of a JSON value's type. */
function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (typeof v === 'boolean') return 'boolean';
  return typeof v === 'object' ? 'object' : 'string';
}

/** Turns an ajv instancePath (JSON pointer) into a Kubernetes field path, using the object to tell lists from maps. */
function fieldPath(obj: unknown, pointer: string): { path: string; value: unknown } {
  let path = '';
  let cur: unknown = obj;
  if (pointer === '') return { path, value: cur };
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      path = index(path, Number(seg));
      cur = cur[Number(seg)];
    } else {
      path = child(path, seg);
      cur = isObj(cur) ? cur[seg] : undefined;
    }
  }
  return { path, value: cur };
}

/** Maps one ajv error to causes the way apiextensions' kubeOpenAPIResultToFieldErrors does. */
function mapError(errs: Errs, e: ErrorObject, obj: unknown): void {
  const { path, value } = fieldPath(obj, e.instancePath);
  const p = e.params as Record<string, unknown>;
  const body = `${path || 'body'} in body`;
  switch (e.keyword) {
    case 'required':
      required(errs, child(path, String(p.missingProperty)));
      return;
    case 'type': {
      const want = String(p.type).replace(/,null$/, '');
      typeInvalid(errs, path, typeName(value), `${body} must be of type ${want}: ${JSON.stringify(typeName(value))}`);
      return;
    }
    case 'enum':
      notSupported(errs, path, value, ((p.allowedValues as unknown[]) ?? []).filter((x) => x !== null).map((x) => (typeof x === 'string' ? x : JSON.stringify(x))));
      return;
    case 'maxLength':
      tooLongMaxLength(errs, path, Number(p.limit));
      return;
    case 'maxItems':
      tooMany(errs, path, Array.isArray(value) ? value.length : -1, Number(p.limit));
      return;
    case 'maxProperties':
      tooMany(errs, path, isObj(value) ? Object.keys(value).length : -1, Number(p.limit));
      return;
    case 'uniqueItems': {
      const i = Number(p.i);
      duplicate(errs, index(path, i), Array.isArray(value) ? value[i] : null);
      return;
    }
    default:
      invalid(errs, path, value, `${body} ${detail(e, p)}`);
  }
}

function detail(e: ErrorObject, p: Record<string, unknown>): string {
  switch (e.keyword) {
    case 'minimum':
      return `should be greater than or equal to ${goValue(p.limit)}`;
    case 'exclusiveMinimum':
      return `should be greater than ${goValue(p.limit)}`;
    case 'maximum':
      return `should be less than or equal to ${goValue(p.limit)}`;
    case 'exclusiveMaximum':
      return `should be less than ${goValue(p.limit)}`;
    case 'minLength':
      return `should be at least ${p.limit} chars long`;
    case 'minItems':
      return `should have at least ${p.limit} items`;
    case 'minProperties':
      return `should have at least ${p.limit} properties`;
    case 'pattern':
      return `should match '${p.pattern}'`;
    case 'multipleOf':
      return `should be a multiple of ${goValue(p.multipleOf)}`;
    case 'format':
      return `must be of type ${p.format}: ${JSON.stringify(String(e.data ?? ''))}`;
    case 'anyOf':
      return 'must validate at least one schema (anyOf)';
    case 'oneOf':
      return 'must validate one and only one schema (oneOf)';
    case 'not':
      return 'must not validate the schema (not)';
    case 'additionalProperties':
      return `${String(p.additionalProperty)} is a forbidden property`;
    default:
      return e.message ?? 'is invalid';
  }
}

/** Drops errors reported inside a failed anyOf/oneOf branch: upstream reports only the combinator. */
function withoutBranchNoise(list: ErrorObject[]): ErrorObject[] {
  const roots = list.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => `${e.schemaPath}/`);
  return roots.length === 0 ? list : list.filter((e) => !roots.some((r) => e.schemaPath.startsWith(r)));
}

const cache = new WeakMap<object, (obj: KObject) => Cause[]>();

/** Compiles (once per schema object) a CRD version's openAPIV3Schema into a validator returning causes. */
export function compileCrdSchema(schema: object): (obj: KObject) => Cause[] {
  const hit = cache.get(schema);
  if (hit) return hit;
  let fn: (obj: KObject) => Cause[];
  try {
    const validate: ValidateFunction = ajv().compile(toAjvSchema(schema) as object);
    fn = function validateCustomResource(obj: KObject): Cause[] {
      if (validate(obj)) return [];
      const errs: Errs = [];
      for (const e of withoutBranchNoise(validate.errors ?? [])) mapError(errs, e, obj);
      return errs;
    };
  } catch (err) {
    const message = `Internal error: invalid schema: ${err instanceof Error ? err.message : String(err)}`;
    fn = function rejectAll(): Cause[] {
      return [{ reason: 'FieldValueInvalid', field: '', message }];
    };
  }
  cache.set(schema, fn);
  return fn;
}

/** Returns the compile error for a schema, or undefined when ajv accepts it (used by CRD validation). */
export function schemaCompileError(schema: object): string | undefined {
  try {
    ajv().compile(toAjvSchema(schema) as object);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
