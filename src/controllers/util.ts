/** Small helpers shared by the controllers: object keys, pod state, owner references, error classes. */
import type { KObject, OwnerReference } from '../api/index.ts';

/** Structured log sink; controllers never print. */
export type Log = (entry: Record<string, unknown>) => void;

/** A log sink that drops everything. */
export function noLog(): void {}

/** `ns/name` ('' namespace for cluster-scoped objects): the key of work queues and informer caches. */
export function keyOf(obj: KObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

/** Splits a `ns/name` key. */
export function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}

/** Deep copy through JSON (objects are plain JSON everywhere in the API). */
export function clone<T>(o: T): T {
  return o === undefined ? o : (JSON.parse(JSON.stringify(o)) as T);
}

/** JSON with object keys sorted, so equal values give equal strings whatever their key order. */
export function stableStringify(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : stableStringify(x))).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`).join(',')}}`;
}

/** Deep equality of JSON values, ignoring key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return stableStringify(a) === stableStringify(b);
}

/** RFC 3339 with seconds precision, as Kubernetes writes metav1.Time. */
export function nowStamp(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** A metav1.Time as ms since epoch; NaN when absent. */
export function parseStamp(s: unknown): number {
  return typeof s === 'string' ? Date.parse(s) : NaN;
}

/** The controller owner reference, if any. */
export function controllerRef(obj: KObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

/** A controller owner reference to `owner` (controller and blockOwnerDeletion set, as metav1.NewControllerRef). */
export function newControllerRef(owner: KObject, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: owner.metadata.name ?? '', uid: owner.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

/** The condition of a type from status.conditions. */
export function getCondition(obj: KObject, type: string): Record<string, unknown> | undefined {
  const list = obj.status?.conditions;
  return Array.isArray(list) ? list.find((c: { type?: string }) => c?.type === type) : undefined;
}

/** A pod is Ready when its Ready condition is "True" (podutil.IsPodReady). */
export function isPodReady(pod: KObject): boolean {
  return getCondition(pod, 'Ready')?.status === 'True';
}

/** When the pod last became Ready (ms), or NaN. */
export function podReadySince(pod: KObject): number {
  const c = getCondition(pod, 'Ready');
  return c?.status === 'True' ? parseStamp(c.lastTransitionTime) : NaN;
}

/** Ready for at least minReadySeconds (podutil.IsPodAvailable). */
export function isPodAvailable(pod: KObject, minReadySeconds: number, now: number): boolean {
  if (!isPodReady(pod)) return false;
  if (!minReadySeconds) return true;
  const since = podReadySince(pod);
  return !Number.isNaN(since) && since + minReadySeconds * 1000 <= now;
}

/** Active pods count toward replicas: not terminating and not finished (controller.IsPodActive). */
export function isPodActive(pod: KObject): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

/** HTTP-ish status code of an error thrown by a Client (ApiError carries `code`). */
export function errorCode(e: unknown): number | undefined {
  const c = (e as { code?: unknown } | undefined)?.code;
  return typeof c === 'number' ? c : undefined;
}

/** Status reason of a Client error (`NotFound`, `Conflict`, `AlreadyExists`, ...). */
export function errorReason(e: unknown): string | undefined {
  const r = (e as { reason?: unknown } | undefined)?.reason;
  return typeof r === 'string' ? r : undefined;
}

export function isNotFound(e: unknown): boolean {
  return errorReason(e) === 'NotFound' || errorCode(e) === 404;
}

export function isConflict(e: unknown): boolean {
  return errorReason(e) === 'Conflict' || (errorCode(e) === 409 && errorReason(e) !== 'AlreadyExists');
}

export function isAlreadyExists(e: unknown): boolean {
  return errorReason(e) === 'AlreadyExists';
}

/** The message of any thrown value. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** `kind`-`apiVersion` of an object as stored (the registry always decorates both). */
export function typeOf(obj: KObject): { apiVersion: string; kind: string } {
  return { apiVersion: String(obj.apiVersion ?? ''), kind: String(obj.kind ?? '') };
}

/** Resolves an int-or-percent against a total; percentages round up or down (intstr.GetScaledValueFromIntOrPercent). */
export function scaledValue(v: unknown, total: number, roundUp: boolean, dflt: number | string): number {
  const x = v === undefined || v === null ? dflt : v;
  if (typeof x === 'number') return x;
  const m = /^(-?\d+)%$/.exec(String(x));
  if (!m) {
    const n = Number(x);
    return Number.isFinite(n) ? n : 0;
  }
  const raw = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(raw) : Math.floor(raw);
}
