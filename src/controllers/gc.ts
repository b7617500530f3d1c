/**
 * The garbage collector, after pkg/controller/garbagecollector: an in-memory graph (uid → object,
 * owner uid → dependents) built from watches. Objects whose owners are all gone are deleted
 * (background); an owner being deleted with the `foregroundDeletion` finalizer has its blocking
 * dependents deleted first; with `orphan`, its dependents lose their owner reference instead.
 */
import type { Client, Closeable, KObject, OwnerReference, ResourceInfo } from '../api/index.ts';
import type { Informers } from './informer.ts';
import { WorkQueue, type ReconcileResult } from './queue.ts';
import { isConflict, isNotFound, type Log, noLog } from './util.ts';

/** Resources whose objects the collector tracks: [key, apiVersion group, kind, namespaced]. */
export const gcResources: Array<[string, string, string, boolean]> = [
  ['pods', '', 'Pod', true],
  ['replicasets.apps', 'apps', 'ReplicaSet', true],
  ['deployments.apps', 'apps', 'Deployment', true],
  ['statefulsets.apps', 'apps', 'StatefulSet', true],
  ['daemonsets.apps', 'apps', 'DaemonSet', true],
  ['controllerrevisions.apps', 'apps', 'ControllerRevision', true],
  ['endpoints', '', 'Endpoints', true],
  ['endpointslices.discovery.k8s.io', 'discovery.k8s.io', 'EndpointSlice', true],
  ['services', '', 'Service', true],
  ['configmaps', '', 'ConfigMap', true],
  ['secrets', '', 'Secret', true],
  ['serviceaccounts', '', 'ServiceAccount', true],
  ['persistentvolumeclaims', '', 'PersistentVolumeClaim', true],
  ['replicationcontrollers', '', 'ReplicationController', true],
  ['jobs.batch', 'batch', 'Job', true],
  ['cronjobs.batch', 'batch', 'CronJob', true],
  ['ingresses.networking.k8s.io', 'networking.k8s.io', 'Ingress', true],
  ['events', '', 'Event', true],
];

interface GNode {
  res: string;
  ns: string;
  name: string;
  uid: string;
  owners: OwnerReference[];
  deleting: boolean;
  finalizers: string[];
}

const FOREGROUND = 'foregroundDeletion';

function sameOwners(a: OwnerReference[], b: OwnerReference[]): boolean {
  return a.length === b.length && a.every((r, i) => r.uid === b[i].uid && r.blockOwnerDeletion === b[i].blockOwnerDeletion);
}
const ORPHAN = 'orphan';

export class GarbageCollector implements Closeable {
  #client: Client;
  #log: Log;
  #queue: WorkQueue;
  #nodes = new Map<string, GNode>();
  #dependents = new Map<string, Set<string>>();
  // group/kind → resource, for owners of kinds the collector does not watch (resolved with live GETs).
  #kinds = new Map<string, { key: string; namespaced: boolean }>();
  #unsubscribe: Array<() => void> = [];
  #closed = false;

  constructor(client: Client, informers: Informers, opts: { log?: Log; catalog?: { all(): ResourceInfo[] }; resources?: string[] } = {}) {
    this.#client = client;
    this.#log = opts.log ?? noLog;
    this.#queue = new WorkQueue((uid) => this.#process(uid), { name: 'garbage-collector', log: this.#log, concurrency: 4 });
    for (const info of opts.catalog?.all() ?? []) this.#kinds.set(`${info.group}/${info.kind}`, { key: info.key, namespaced: info.namespaced });
    const watched = gcResources.filter(([k]) => !opts.resources || opts.resources.includes(k));
    for (const [key, group, kind, namespaced] of watched) {
      this.#kinds.set(`${group}/${kind}`, { key, namespaced });
      this.#unsubscribe.push(informers.get(key).onChange((t, obj) => this.#onChange(key, t, obj)));
    }
    void informers.synced(watched.map(([k]) => k)).then(() => this.#queue.start());
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const u of this.#unsubscribe) u();
    this.#queue.close();
  }

  #onChange(res: string, type: string, obj: KObject): void {
    const m = obj.metadata;
    const uid = m.uid;
    if (!uid) return;
    const old = this.#nodes.get(uid);
    if (old) for (const r of old.owners) this.#unlink(r.uid, uid);
    if (type === 'DELETED') {
      this.#nodes.delete(uid);
      // Dependents may now be dangling; owners waiting in foreground may now be free.
      for (const d of this.#dependents.get(uid) ?? []) this.#queue.add(d);
      for (const r of old?.owners ?? m.ownerReferences ?? []) if (this.#nodes.has(r.uid)) this.#queue.add(r.uid);
      return;
    }
    const node: GNode = {
      res,
      ns: m.namespace ?? '',
      name: m.name ?? '',
      uid,
      owners: m.ownerReferences ?? [],
      deleting: !!m.deletionTimestamp,
      finalizers: m.finalizers ?? [],
    };
    this.#nodes.set(uid, node);
    for (const r of node.owners) {
      let s = this.#dependents.get(r.uid);
      if (!s) this.#dependents.set(r.uid, (s = new Set()));
      s.add(uid);
    }
    // Only what can change the verdict: a new object, other owners, or a deletion starting or progressing.
    // Status churn (pod readiness, replica counts) is skipped: it is most of the write traffic.
    const relevant = !old || !sameOwners(old.owners, node.owners) || old.deleting !== node.deleting || old.finalizers.join() !== node.finalizers.join();
    if (relevant && (node.owners.length || (node.deleting && (node.finalizers.includes(FOREGROUND) || node.finalizers.includes(ORPHAN))))) this.#queue.add(uid);
    // An owner reference removed: the old owner may be waiting on this dependent.
    for (const r of old?.owners ?? []) if (!node.owners.some((o) => o.uid === r.uid) && this.#nodes.has(r.uid)) this.#queue.add(r.uid);
  }

  #unlink(owner: string, dep: string): void {
    const s = this.#dependents.get(owner);
    if (!s) return;
    s.delete(dep);
    if (s.size === 0) this.#dependents.delete(owner);
  }

  async #process(uid: string): Promise<ReconcileResult> {
    const node = this.#nodes.get(uid);
    if (!node) return;
    if (node.deleting) {
      if (node.finalizers.includes(ORPHAN)) await this.#orphanDependents(node);
      else if (node.finalizers.includes(FOREGROUND)) await this.#deleteDependents(node);
      return;
    }
    if (node.owners.length) await this.#attemptToDelete(node);
  }

  /** Is the owner there? 'solid', 'dangling' (gone or replaced), or 'waiting' (being deleted in foreground). */
  async #classify(node: GNode, ref: OwnerReference): Promise<'solid' | 'dangling' | 'waiting'> {
    const owner = this.#nodes.get(ref.uid);
    if (owner) return owner.deleting && owner.finalizers.includes(FOREGROUND) ? 'waiting' : 'solid';
    const group = ref.apiVersion.includes('/') ? ref.apiVersion.split('/')[0] : '';
    const kind = this.#kinds.get(`${group}/${ref.kind}`);
    // A kind we cannot resolve is never treated as gone: deleting on a guess would lose data.
    if (!kind) return 'solid';
    try {
      const live = await this.#client.get(kind.key, kind.namespaced ? node.ns : undefined, ref.name);
      if (live.metadata.uid !== ref.uid) return 'dangling';
      return live.metadata.deletionTimestamp && (live.metadata.finalizers ?? []).includes(FOREGROUND) ? 'waiting' : 'solid';
    } catch (e) {
      if (isNotFound(e)) return 'dangling';
      throw e;
    }
  }

  async #attemptToDelete(node: GNode): Promise<void> {
    const solid: OwnerReference[] = [];
    const gone: OwnerReference[] = [];
    let waiting = 0;
    for (const ref of node.owners) {
      const c = await this.#classify(node, ref);
      if (c === 'solid') solid.push(ref);
      else {
        gone.push(ref);
        if (c === 'waiting') waiting++;
      }
    }
    if (!gone.length) return;
    if (solid.length) {
      // Still owned by someone: only drop the references to owners that are gone or going.
      const drop = new Set(gone.map((r) => r.uid));
      await this.#mutate(node, (o) => {
        const refs = o.metadata.ownerReferences ?? [];
        const kept = refs.filter((r) => !drop.has(r.uid));
        if (kept.length === refs.length) return false;
        o.metadata.ownerReferences = kept;
        return true;
      });
      return;
    }
    // Grandchildren go first when the owner waits in foreground and this object has dependents of its own.
    const policy = waiting > 0 && (this.#dependents.get(node.uid)?.size ?? 0) > 0 ? 'Foreground' : 'Background';
    try {
      await this.#client.delete(node.res, node.ns || undefined, node.name, { propagationPolicy: policy, preconditions: { uid: node.uid } });
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
  }

  /** Foreground: delete dependents that block the owner; when none is left, drop the finalizer. */
  async #deleteDependents(owner: GNode): Promise<void> {
    const blocking: GNode[] = [];
    for (const uid of this.#dependents.get(owner.uid) ?? []) {
      const d = this.#nodes.get(uid);
      if (d && d.owners.some((r) => r.uid === owner.uid && r.blockOwnerDeletion === true)) blocking.push(d);
    }
    if (!blocking.length) {
      await this.#removeFinalizer(owner, FOREGROUND);
      return;
    }
    for (const d of blocking) if (!d.deleting) this.#queue.add(d.uid);
    // Each dependent's deletion requeues the owner (see #onChange), so no polling is needed.
  }

  /** Orphan: remove the owner's references from its dependents, then drop the finalizer. */
  async #orphanDependents(owner: GNode): Promise<void> {
    for (const uid of [...(this.#dependents.get(owner.uid) ?? [])]) {
      const d = this.#nodes.get(uid);
      if (!d) continue;
      await this.#mutate(d, (o) => {
        const refs = o.metadata.ownerReferences ?? [];
        const kept = refs.filter((r) => r.uid !== owner.uid);
        if (kept.length === refs.length) return false;
        o.metadata.ownerReferences = kept;
        return true;
      });
    }
    await this.#removeFinalizer(owner, ORPHAN);
  }

  async #removeFinalizer(node: GNode, f: string): Promise<void> {
    await this.#mutate(node, (o) => {
      const list = o.metadata.finalizers ?? [];
      if (!list.includes(f)) return false;
      o.metadata.finalizers = list.filter((x) => x !== f);
      return true;
    });
  }

  /** Read-modify-write of the live object (uid checked); a conflict throws and the queue retries. */
  async #mutate(node: GNode, change: (o: KObject) => boolean): Promise<void> {
    let live: KObject;
    try {
      live = await this.#client.get(node.res, node.ns || undefined, node.name);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (live.metadata.uid !== node.uid || !change(live)) return;
    try {
      await this.#client.update(node.res, node.ns || undefined, live);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
