/**
 * What the controllers of workload kinds share: a work queue keyed by the owning object (a Job, a
 * StatefulSet, ...), run again when the owner changes or when an object it controls (by its
 * controller ownerReference) does; and pods made from the owner's pod template.
 */
import type { Client, Closeable, KObject } from '../api/index.ts';
import type { EventRecorder } from './events.ts';
import { byControllerUid, type ChangeType, type Informer, type Informers } from './informer.ts';
import { WorkQueue, type ReconcileResult } from './queue.ts';
import { clone, controllerRef, errorMessage, isNotFound, jsonEqual, keyOf, type Log, newControllerRef, noLog } from './util.ts';

export interface OwnerControllerOptions {
  /** The owner's resource key (`jobs.batch`) and kind (`Job`). */
  owner: string;
  kind: string;
  /** The resource of the objects it controls (`pods`, or `jobs.batch` for CronJobs); none for a ResourceQuota. */
  children?: string;
  /** Events' source and the queue's name. */
  component: string;
  concurrency: number;
  /**
   * Resources whose changes re-run owners without being owned: the owners of the changed object's
   * namespace, or every owner for a cluster-scoped object (nodes, for DaemonSets).
   */
  also?: string[];
  log?: Log;
}

export abstract class OwnerController implements Closeable {
  protected readonly client: Client;
  protected readonly events: EventRecorder;
  protected readonly owners: Informer;
  readonly #children: Informer | undefined;
  protected readonly component: string;
  readonly #kind: string;
  readonly #queue: WorkQueue;
  #unsubscribe: Array<() => void> = [];
  #closed = false;

  constructor(client: Client, informers: Informers, events: EventRecorder, o: OwnerControllerOptions) {
    this.client = client;
    this.events = events;
    this.component = o.component;
    this.#kind = o.kind;
    this.#queue = new WorkQueue((k) => this.sync(k), { name: o.component, log: o.log ?? noLog, concurrency: o.concurrency });
    this.owners = informers.get(o.owner);
    this.#unsubscribe.push(
      this.owners.onChange((t, owner) => {
        this.ownerChanged(t, owner);
        this.#queue.add(keyOf(owner));
      }),
    );
    if (o.children) {
      const children = (this.#children = informers.get(o.children));
      children.addIndex('controller', byControllerUid);
      this.#unsubscribe.push(
        children.onChange((t, child, old) => {
          const owner = this.ownerOf(child) ?? (old && this.ownerOf(old));
          if (!owner) return;
          this.childChanged(t, owner);
          this.#queue.add(keyOf(owner));
        }),
      );
    }
    for (const res of o.also ?? []) {
      this.#unsubscribe.push(
        informers.get(res).onChange((_t, obj) => {
          for (const owner of this.owners.list(obj.metadata.namespace || undefined)) this.#queue.add(keyOf(owner));
        }),
      );
    }
    const synced = [o.owner, ...(o.children ? [o.children] : []), ...(o.also ?? [])];
    void informers.synced(synced).then(() => this.#queue.start());
  }

  /** Reconciles the owner with this `namespace/name` key. */
  protected abstract sync(key: string): Promise<ReconcileResult>;

  /** Hook: the owner changed (before its key is queued). */
  protected ownerChanged(_type: ChangeType, _owner: KObject): void {}

  /** Hook: an object `owner` controls changed (before the owner's key is queued). */
  protected childChanged(_type: ChangeType, _owner: KObject): void {}

  /** The owner controlling `child`, from the cache (same name and uid as its controller reference). */
  protected ownerOf(child: KObject): KObject | undefined {
    const ref = controllerRef(child);
    if (!ref || ref.kind !== this.#kind) return undefined;
    const owner = this.owners.get(child.metadata.namespace, ref.name);
    return owner && owner.metadata.uid === ref.uid ? owner : undefined;
  }

  /** The objects `owner` controls, from the cache. */
  protected owned(owner: KObject): KObject[] {
    return this.#children?.byIndex('controller', owner.metadata.uid ?? '').filter((c) => c.metadata.namespace === owner.metadata.namespace) ?? [];
  }

  /** Creates a pod for `owner` and records upstream's SuccessfulCreate or FailedCreate event. */
  protected async createPod(owner: KObject, pod: KObject): Promise<KObject> {
    try {
      const created = await this.client.create('pods', owner.metadata.namespace, pod);
      this.events.record(owner, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`, this.component);
      return created;
    } catch (e) {
      this.events.record(owner, 'Warning', 'FailedCreate', `Error creating: ${errorMessage(e)}`, this.component);
      throw e;
    }
  }

  /** Deletes a child if it is still the same object; false when it was already gone. */
  protected async deleteChild(resource: string, child: KObject, propagationPolicy?: 'Background'): Promise<boolean> {
    try {
      await this.client.delete(resource, child.metadata.namespace, child.metadata.name ?? '', { propagationPolicy, preconditions: { uid: child.metadata.uid } });
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  /** Writes `status` on the owner when it differs from the cached one; an owner deleted meanwhile is left be. */
  protected async writeStatus(resource: string, owner: KObject, status: Record<string, unknown>): Promise<void> {
    if (jsonEqual(status, owner.status ?? {})) return;
    try {
      await this.client.updateStatus(resource, owner.metadata.namespace, { ...owner, status });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const u of this.#unsubscribe) u();
    this.#queue.close();
  }
}

/**
 * A pod of `owner` from `template` (a PodTemplateSpec): the template's labels (plus `labels`) and
 * annotations, a controller reference to the owner, and `name`, or the generated `<owner>-<random>`.
 */
export function podFromTemplate(owner: KObject, apiVersion: string, kind: string, template: KObject | undefined, opts: { name?: string; labels?: Record<string, string> } = {}): KObject {
  const meta = template?.metadata ?? {};
  const pod: KObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      namespace: owner.metadata.namespace,
      ownerReferences: [newControllerRef(owner, apiVersion, kind)],
    },
    spec: clone(template?.spec ?? {}),
  };
  // Names are `<owner>-<5 random>`; upstream trims the prefix so the name stays within 63 characters.
  if (opts.name) pod.metadata.name = opts.name;
  else pod.metadata.generateName = `${owner.metadata.name}-`.slice(0, 58);
  if (meta.labels || opts.labels) pod.metadata.labels = { ...(meta.labels ?? {}), ...(opts.labels ?? {}) };
  if (meta.annotations) pod.metadata.annotations = { ...meta.annotations };
  if (meta.finalizers) pod.metadata.finalizers = [...meta.finalizers];
  return pod;
}
