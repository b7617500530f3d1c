/**
 * Namespaces: the admission hook (the `kubernetes.io/metadata.name` label, phase Active, the
 * `kubernetes` finalizer), the deletion controller (empties a Terminating namespace, then drops the
 * finalizer so the registry removes it) and the `default` ServiceAccount in every namespace.
 */
import type { Client, Closeable, KObject, ResourceInfo } from '../api/index.ts';
import type { Informer, Informers } from './informer.ts';
import { WorkQueue, type ReconcileResult } from './queue.ts';
import { errorReason, isAlreadyExists, isNotFound, type Log, noLog } from './util.ts';

export const nameLabel = 'kubernetes.io/metadata.name';
const FINALIZER = 'kubernetes';

/** Namespaced resources cleaned when no catalog is given (the remote-client case). */
const fallbackResources = [
  'pods', 'services', 'endpoints', 'configmaps', 'secrets', 'serviceaccounts', 'events', 'replicationcontrollers', 'persistentvolumeclaims',
  'resourcequotas', 'limitranges', 'deployments.apps', 'replicasets.apps', 'statefulsets.apps', 'daemonsets.apps', 'controllerrevisions.apps',
  'jobs.batch', 'cronjobs.batch', 'horizontalpodautoscalers.autoscaling', 'endpointslices.discovery.k8s.io', 'ingresses.networking.k8s.io',
  'networkpolicies.networking.k8s.io', 'leases.coordination.k8s.io', 'events.events.k8s.io',
];

/**
 * Admission for namespaces, as the apiserver's namespace strategy: the name label always matches,
 * new namespaces are Active with the `kubernetes` finalizer, and that finalizer can only be removed
 * once the namespace is terminating (by the namespace controller).
 */
export function namespaceAdmission(obj: KObject, old: KObject | undefined): void {
  const name = obj.metadata.name ?? '';
  obj.metadata.labels = { ...(obj.metadata.labels ?? {}), [nameLabel]: name };
  if (!old) {
    obj.status = { phase: 'Active' };
    const fin: unknown[] = Array.isArray(obj.spec?.finalizers) ? obj.spec.finalizers : [];
    obj.spec = { ...(obj.spec ?? {}), finalizers: fin.includes(FINALIZER) ? fin : [...fin, FINALIZER] };
    return;
  }
  const had: unknown[] = old.spec?.finalizers ?? [];
  const has: unknown[] = Array.isArray(obj.spec?.finalizers) ? obj.spec.finalizers : [];
  if (had.includes(FINALIZER) && !has.includes(FINALIZER) && !old.metadata.deletionTimestamp) {
    obj.spec = { ...(obj.spec ?? {}), finalizers: [...has, FINALIZER] };
  }
}

export class NamespaceController implements Closeable {
  #client: Client;
  #log: Log;
  #queue: WorkQueue;
  #namespaces: Informer;
  #catalog: { all(): ResourceInfo[] } | undefined;
  #waits = new Map<string, number>();
  #unsubscribe: () => void;
  #closed = false;

  constructor(client: Client, informers: Informers, opts: { log?: Log; catalog?: { all(): ResourceInfo[] } } = {}) {
    this.#client = client;
    this.#log = opts.log ?? noLog;
    this.#catalog = opts.catalog;
    this.#queue = new WorkQueue((k) => this.#sync(k), { name: 'namespace-controller', log: this.#log, maxDelayMs: 5_000 });
    this.#namespaces = informers.get('namespaces');
    this.#unsubscribe = this.#namespaces.onChange((t, ns) => {
      if (t !== 'DELETED' && ns.metadata.deletionTimestamp) this.#queue.add(ns.metadata.name ?? '');
    });
    void informers.synced(['namespaces']).then(() => this.#queue.start());
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    this.#queue.close();
  }

  #resources(): string[] {
    if (!this.#catalog) return fallbackResources;
    return this.#catalog.all().filter((i) => i.namespaced).map((i) => i.key);
  }

  async #sync(name: string): Promise<ReconcileResult> {
    const ns = this.#namespaces.get(undefined, name);
    if (!ns || !ns.metadata.deletionTimestamp) return;
    if (!(ns.spec?.finalizers ?? []).includes(FINALIZER)) return;
    let remaining = 0;
    for (const res of this.#resources()) {
      let items: KObject[];
      try {
        items = (await this.#client.list(res, name)).items;
      } catch (e) {
        if (isNotFound(e)) continue; // a CRD went away meanwhile
        throw e;
      }
      for (const o of items) {
        if (o.metadata.deletionTimestamp) {
          remaining++;
          continue;
        }
        try {
          // The answer has a deletionTimestamp when the object stays for its finalizers.
          const after = await this.#client.delete(res, name, o.metadata.name ?? '', { propagationPolicy: 'Background' });
          if (after.metadata.deletionTimestamp) remaining++;
        } catch (e) {
          if (isNotFound(e)) continue;
          remaining++;
          if (errorReason(e) !== 'Conflict') throw e;
        }
      }
    }
    // Objects with finalizers (or being deleted in foreground) take a while: look again, less often
    // the longer it takes (200 ms doubling to 5 s), since each pass lists every resource.
    if (remaining > 0) {
      const n = this.#waits.get(name) ?? 0;
      this.#waits.set(name, n + 1);
      return { requeueAfterMs: Math.min(5_000, 200 * 2 ** Math.min(n, 5)) };
    }
    this.#waits.delete(name);
    const live = await this.#client.get('namespaces', undefined, name);
    if (live.metadata.uid !== ns.metadata.uid) return;
    live.spec = { ...(live.spec ?? {}), finalizers: (live.spec?.finalizers ?? []).filter((f: string) => f !== FINALIZER) };
    await this.#client.update('namespaces', undefined, live);
  }
}

/** Keeps a `default` ServiceAccount in every active namespace (recreated when deleted). */
export class ServiceAccountController implements Closeable {
  #client: Client;
  #queue: WorkQueue;
  #namespaces: Informer;
  #accounts: Informer;
  #unsubscribe: Array<() => void>;
  #closed = false;

  constructor(client: Client, informers: Informers, opts: { log?: Log } = {}) {
    this.#client = client;
    this.#queue = new WorkQueue((k) => this.#sync(k), { name: 'serviceaccount-controller', log: opts.log });
    this.#namespaces = informers.get('namespaces');
    this.#accounts = informers.get('serviceaccounts');
    this.#unsubscribe = [
      this.#namespaces.onChange((t, ns) => {
        if (t !== 'DELETED') this.#queue.add(ns.metadata.name ?? '');
      }),
      this.#accounts.onChange((t, sa) => {
        if (t === 'DELETED' && sa.metadata.name === 'default') this.#queue.add(sa.metadata.namespace ?? '');
      }),
    ];
    void informers.synced(['namespaces', 'serviceaccounts']).then(() => this.#queue.start());
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const u of this.#unsubscribe) u();
    this.#queue.close();
  }

  async #sync(ns: string): Promise<ReconcileResult> {
    const nsObj = this.#namespaces.get(undefined, ns);
    if (!nsObj || nsObj.metadata.deletionTimestamp || nsObj.status?.phase === 'Terminating') return;
    if (this.#accounts.get(ns, 'default')) return;
    try {
      await this.#client.create('serviceaccounts', ns, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } });
    } catch (e) {
      // Exists already, or the namespace went away or started terminating meanwhile.
      if (isAlreadyExists(e) || isNotFound(e) || errorReason(e) === 'Forbidden') return;
      throw e;
    }
  }
}
