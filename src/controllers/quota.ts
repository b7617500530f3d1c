/**
 * ResourceQuota, as the API server's quota admission and the resource-quota controller do it, for
 * object counts (`pods`, `services`, `configmaps`, `secrets`, `persistentvolumeclaims`,
 * `replicationcontrollers`, `services.nodeports`, `services.loadbalancers`, `count/<resource>`) and
 * pod compute (`requests.cpu`, `requests.memory`, `limits.cpu`, `limits.memory`, and `cpu` / `memory`
 * for requests). A create that would pass a hard limit is refused with upstream's Forbidden message;
 * status.hard and status.used follow the namespace's objects. Quota scopes are not modelled.
 */
import type { Client, KObject } from '../api/index.ts';
import { ApiError } from '../api/index.ts';
import type { AdmissionHook, Registry } from '../api/registry.ts';
import type { EventRecorder } from './events.ts';
import type { Informers } from './informer.ts';
import { OwnerController } from './owner.ts';
import type { ReconcileResult } from './queue.ts';
import { type Log, splitKey } from './util.ts';
import { formatQuantity, parseQuantity } from '../api/quantity.ts';

const QUOTAS = 'resourcequotas';
const component = 'resourcequota-controller';

/** A quantity as a number; NaN when absent or malformed (so a sum or a comparison with it fails). */
function quantity(q: unknown): number {
  return typeof q === 'string' || typeof q === 'number' ? (parseQuantity(q) ?? NaN) : NaN;
}

/** Resource keys (`pods`, `deployments.apps`) whose count a hard key limits. */
function countedBy(key: string): string | undefined {
  if (key.startsWith('count/')) return key.slice('count/'.length);
  return ['pods', 'services', 'configmaps', 'secrets', 'persistentvolumeclaims', 'replicationcontrollers', 'resourcequotas'].includes(key) ? key : undefined;
}

/** A compute key as [`requests` or `limits`, resource] (`cpu` alone means requests), or undefined. */
function computeKey(key: string): [string, string] | undefined {
  if (countedBy(key) !== undefined || key.startsWith('services.')) return undefined;
  const [kind, res] = key.includes('.') ? (key.split('.', 2) as [string, string]) : ['requests', key];
  return kind === 'requests' || kind === 'limits' ? [kind, res] : undefined;
}

function podCounts(pod: KObject): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

/** What one object adds to a quota key (0 when the key does not concern it). */
function usageOf(key: string, resource: string, obj: KObject): number {
  const counted = countedBy(key);
  if (counted !== undefined) return counted === resource && (resource !== 'pods' || podCounts(obj)) ? 1 : 0;
  if (resource === 'services') {
    if (key === 'services.loadbalancers') return obj.spec?.type === 'LoadBalancer' ? 1 : 0;
    if (key === 'services.nodeports') return obj.spec?.type === 'NodePort' || obj.spec?.type === 'LoadBalancer' ? (obj.spec?.ports ?? []).length : 0;
    return 0;
  }
  const ck = computeKey(key);
  if (resource !== 'pods' || !podCounts(obj) || !ck) return 0;
  const [kind, res] = ck;
  let sum = 0;
  for (const c of (obj.spec?.containers ?? []) as Array<{ resources?: Record<string, Record<string, unknown>> }>) {
    const v = quantity(c.resources?.[kind]?.[res] ?? (kind === 'requests' ? c.resources?.limits?.[res] : undefined));
    if (!Number.isNaN(v)) sum += v;
  }
  return sum;
}

/** Keys that need every container of a pod to state the value (compute quotas), and the containers that do not. */
function missingCompute(key: string, pod: KObject): string[] {
  const ck = computeKey(key);
  if (!ck) return [];
  const [kind, res] = ck;
  return ((pod.spec?.containers ?? []) as Array<{ name: string; resources?: Record<string, Record<string, unknown>> }>)
    .filter((c) => c.resources?.[kind]?.[res] === undefined && !(kind === 'requests' && c.resources?.limits?.[res] !== undefined))
    .map((c) => c.name);
}

/** Current usage of `keys` (default: every hard key of `quota`) in the quota's namespace. */
function usage(registry: Registry, quota: KObject, keys: string[] = Object.keys(quota.spec?.hard ?? {})): Record<string, number> {
  const ns = quota.metadata.namespace ?? '';
  const out: Record<string, number> = {};
  const cache = new Map<string, KObject[]>();
  const list = (res: string): KObject[] => {
    let l = cache.get(res);
    if (!l) {
      try {
        l = registry.listSync(res, ns).items.filter((o) => !o.metadata.deletionTimestamp || res === 'pods');
      } catch {
        l = [];
      }
      cache.set(res, l);
    }
    return l;
  };
  for (const key of keys) {
    const res = countedBy(key) ?? (key.startsWith('services.') ? 'services' : 'pods');
    out[key] = list(res).reduce((n, o) => n + usageOf(key, res, o), 0);
  }
  return out;
}

/** The admission hook for `resource`: refuses a create that would pass a quota of its namespace. */
export function quotaAdmission(registry: Registry, resource: string): AdmissionHook {
  return (obj, old) => {
    if (old) return;
    const ns = obj.metadata.namespace;
    if (!ns) return;
    const quotas = registry.listSync(QUOTAS, ns).items;
    if (!quotas.length) return;
    const name = obj.metadata.name ?? obj.metadata.generateName ?? '';
    for (const q of quotas.sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)))) {
      const hard: Record<string, unknown> = q.spec?.hard ?? {};
      if (resource === 'pods') {
        const missing = Object.keys(hard).sort().flatMap((k) => {
          const m = missingCompute(k, obj);
          return m.length ? [`${k} for: ${m.join(',')}`] : [];
        });
        if (missing.length) throw new ApiError('Forbidden', `${resource} "${name}" is forbidden: failed quota: ${q.metadata.name}: must specify ${missing.join('; ')}`, { name, kind: resource });
      }
      // Only the keys this object adds to are counted (a ConfigMap create lists no pods).
      const keys = Object.keys(hard).sort().filter((k) => usageOf(k, resource, obj) !== 0);
      if (!keys.length) continue;
      const used = usage(registry, q, keys);
      const req: string[] = [];
      const had: string[] = [];
      const lim: string[] = [];
      for (const key of keys) {
        const add = usageOf(key, resource, obj);
        if (used[key] + add > quantity(hard[key])) {
          req.push(`${key}=${formatQuantity(key, add)}`);
          had.push(`${key}=${formatQuantity(key, used[key])}`);
          lim.push(`${key}=${String(hard[key])}`);
        }
      }
      if (req.length) {
        throw new ApiError('Forbidden', `${resource} "${name}" is forbidden: exceeded quota: ${q.metadata.name}, requested: ${req.join(',')}, used: ${had.join(',')}, limited: ${lim.join(',')}`, { name, kind: resource });
      }
    }
  };
}

/** Resources whose creation quota admission checks. */
export const quotaResources = ['pods', 'services', 'configmaps', 'secrets', 'persistentvolumeclaims', 'replicationcontrollers', 'deployments.apps', 'replicasets.apps', 'statefulsets.apps', 'daemonsets.apps', 'jobs.batch', 'cronjobs.batch', 'ingresses.networking.k8s.io'];

/**
 * Keeps each quota's status.hard and status.used current. Quotas own nothing: a change to an object
 * they count re-runs the quotas of its namespace (`also`), and a quota re-runs on its own changes.
 */
export class ResourceQuotaController extends OwnerController {
  readonly #registry: Registry;

  constructor(client: Client, registry: Registry, informers: Informers, events: EventRecorder, opts: { log?: Log } = {}) {
    super(client, informers, events, { owner: QUOTAS, kind: 'ResourceQuota', component, concurrency: 1, also: ['pods', 'services', 'configmaps', 'secrets', 'persistentvolumeclaims'], log: opts.log });
    this.#registry = registry;
  }

  protected async sync(key: string): Promise<ReconcileResult> {
    const [ns, name] = splitKey(key);
    const q = this.owners.get(ns, name);
    if (!q) return;
    const hard: Record<string, unknown> = q.spec?.hard ?? {};
    const used = usage(this.#registry, q);
    const status = {
      hard: { ...hard },
      used: Object.fromEntries(Object.keys(hard).map((k) => [k, formatQuantity(k, used[k] ?? 0)])),
    };
    await this.writeStatus(QUOTAS, q, status);
  }
}
