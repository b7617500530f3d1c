/**
 * The ReplicaSet controller, after pkg/controller/replicaset: keeps spec.replicas active pods from the
 * template, deletes the least valuable surplus pods first, and reports replicas, fullyLabeledReplicas,
 * readyReplicas and availableReplicas. Expectations stop it from acting twice on a stale cache.
 */
import type { Client, Closeable, KObject } from '../api/index.ts';
import { matchLabels, selectorRequirements } from '../api/index.ts';
import type { EventRecorder } from './events.ts';
import { byControllerUid, type Informer, type Informers, orphansByNamespace } from './informer.ts';
import { podFromTemplate } from './owner.ts';
import { WorkQueue, type ReconcileResult } from './queue.ts';
import { clone, controllerRef, errorMessage, isNotFound, isPodActive, isPodAvailable, isPodReady, jsonEqual, keyOf, type Log, newControllerRef, noLog, nowStamp, parseStamp, podReadySince, splitKey } from './util.ts';

const RS = 'replicasets.apps';
const component = 'replicaset-controller';

export const replicaSetDefaults = {
  /** Most pods created or deleted in one sync (upstream burstReplicas). */
  burstReplicas: 500,
  /** Expectations older than this are treated as met (a lost watch event must not wedge a ReplicaSet). */
  expectationsTtlMs: 60_000,
};

interface Expectation {
  add: number;
  del: Set<string>;
  at: number;
}

export class ReplicaSetController implements Closeable {
  #client: Client;
  #events: EventRecorder;
  #log: Log;
  #queue: WorkQueue;
  #rss: Informer;
  #pods: Informer;
  #expect = new Map<string, Expectation>();
  #unsubscribe: Array<() => void> = [];
  #closed = false;

  constructor(client: Client, informers: Informers, events: EventRecorder, opts: { log?: Log } = {}) {
    this.#client = client;
    this.#events = events;
    this.#log = opts.log ?? noLog;
    this.#queue = new WorkQueue((k) => this.#sync(k), { name: component, log: this.#log, concurrency: 4 });
    this.#rss = informers.get(RS);
    this.#pods = informers.get('pods');
    this.#pods.addIndex('controller', byControllerUid);
    this.#pods.addIndex('orphans', orphansByNamespace);
    this.#unsubscribe.push(
      this.#rss.onChange((t, rs) => {
        if (t === 'DELETED') this.#expect.delete(keyOf(rs));
        this.#queue.add(keyOf(rs));
      }),
      this.#pods.onChange((t, pod, old) => this.#onPod(t, pod, old)),
    );
    void informers.synced([RS, 'pods']).then(() => this.#queue.start());
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const u of this.#unsubscribe) u();
    this.#queue.close();
  }

  /** The ReplicaSet controlling a pod, from the cache. */
  #owner(pod: KObject): KObject | undefined {
    const ref = controllerRef(pod);
    if (!ref || ref.kind !== 'ReplicaSet') return undefined;
    const rs = this.#rss.get(pod.metadata.namespace, ref.name);
    return rs && rs.metadata.uid === ref.uid ? rs : undefined;
  }

  #onPod(type: string, pod: KObject, old: KObject | undefined): void {
    const owner = this.#owner(pod);
    if (owner) {
      const k = keyOf(owner);
      const e = this.#expect.get(k);
      if (e) {
        if (type === 'ADDED') e.add--;
        if (type === 'DELETED' || (pod.metadata.deletionTimestamp && !old?.metadata.deletionTimestamp)) e.del.delete(keyOf(pod));
      }
      this.#queue.add(k);
    } else if (!controllerRef(pod) && type !== 'DELETED') {
      for (const rs of this.#rss.list(pod.metadata.namespace ?? '')) {
        const reqs = selectorRequirements(rs.spec?.selector);
        if (reqs.length && matchLabels(reqs, pod.metadata.labels)) this.#queue.add(keyOf(rs));
      }
    }
    const prev = old && this.#owner(old);
    if (prev && prev !== owner) this.#queue.add(keyOf(prev));
  }

  #satisfied(key: string): boolean {
    const e = this.#expect.get(key);
    if (!e) return true;
    if ((e.add <= 0 && e.del.size === 0) || Date.now() - e.at > replicaSetDefaults.expectationsTtlMs) {
      this.#expect.delete(key);
      return true;
    }
    return false;
  }

  async #sync(key: string): Promise<ReconcileResult> {
    const [ns, name] = splitKey(key);
    const rs = this.#rss.get(ns, name);
    if (!rs) {
      this.#expect.delete(key);
      return;
    }
    const needsSync = this.#satisfied(key);
    const pods = await this.#claimPods(rs);
    let manageErr: unknown;
    if (needsSync && !rs.metadata.deletionTimestamp) {
      try {
        await this.#manageReplicas(key, rs, pods);
      } catch (e) {
        manageErr = e;
      }
    }
    const now = Date.now();
    const status = calculateStatus(rs, pods, manageErr, now);
    if (!jsonEqual(status, rs.status ?? {})) {
      try {
        await this.#client.updateStatus(RS, ns, { ...rs, status });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    if (manageErr) throw manageErr;
    return { requeueAfterMs: nextAvailableIn(rs, pods, now) };
  }

  /** Owned active pods that still match, plus adopted matching orphans; non-matching owned pods are released. */
  async #claimPods(rs: KObject): Promise<KObject[]> {
    const ns = rs.metadata.namespace ?? '';
    const reqs = selectorRequirements(rs.spec?.selector);
    const out: KObject[] = [];
    for (const pod of this.#pods.byIndex('controller', rs.metadata.uid ?? '')) {
      if (pod.metadata.namespace !== ns || !isPodActive(pod)) continue;
      if (reqs.length && matchLabels(reqs, pod.metadata.labels)) {
        out.push(pod);
        continue;
      }
      if (rs.metadata.deletionTimestamp) continue;
      const copy = clone(pod);
      copy.metadata.ownerReferences = (copy.metadata.ownerReferences ?? []).filter((r) => r.uid !== rs.metadata.uid);
      await this.#client.update('pods', ns, copy).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
    }
    if (rs.metadata.deletionTimestamp || !reqs.length) return out;
    for (const pod of this.#pods.byIndex('orphans', ns)) {
      if (!isPodActive(pod) || !matchLabels(reqs, pod.metadata.labels)) continue;
      const copy = clone(pod);
      copy.metadata.ownerReferences = [...(copy.metadata.ownerReferences ?? []), newControllerRef(rs, 'apps/v1', 'ReplicaSet')];
      try {
        out.push(await this.#client.update('pods', ns, copy));
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return out;
  }

  async #manageReplicas(key: string, rs: KObject, pods: KObject[]): Promise<void> {
    const want = typeof rs.spec?.replicas === 'number' ? rs.spec.replicas : 1;
    const diff = pods.length - want;
    if (diff < 0) {
      const n = Math.min(-diff, replicaSetDefaults.burstReplicas);
      const e: Expectation = { add: n, del: new Set(), at: Date.now() };
      this.#expect.set(key, e);
      // slowStartBatch: 1, 2, 4, ... so a failing template costs one error, not hundreds.
      let done = 0;
      let batch = 1;
      while (done < n) {
        const size = Math.min(batch, n - done);
        const results = await Promise.allSettled(Array.from({ length: size }, () => this.#createPod(rs)));
        done += size;
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) {
          // Pods never created will never be observed.
          e.add -= results.filter((r) => r.status === 'rejected').length + (n - done);
          throw failed.reason;
        }
        batch *= 2;
      }
      return;
    }
    if (diff > 0) {
      const n = Math.min(diff, replicaSetDefaults.burstReplicas);
      const victims = [...pods].sort(deletionOrder).slice(0, n);
      const e: Expectation = { add: 0, del: new Set(victims.map(keyOf)), at: Date.now() };
      this.#expect.set(key, e);
      const results = await Promise.allSettled(victims.map((p) => this.#deletePod(rs, p)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        victims.forEach((p, i) => results[i].status === 'rejected' && e.del.delete(keyOf(p)));
        throw failed.reason;
      }
    }
  }

  async #createPod(rs: KObject): Promise<void> {
    const pod = podFromTemplate(rs, 'apps/v1', 'ReplicaSet', rs.spec?.template);
    try {
      const created = await this.#client.create('pods', rs.metadata.namespace, pod);
      this.#events.record(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`, component);
    } catch (e) {
      this.#events.record(rs, 'Warning', 'FailedCreate', `Error creating: ${errorMessage(e)}`, component);
      throw e;
    }
  }

  async #deletePod(rs: KObject, pod: KObject): Promise<void> {
    try {
      await this.#client.delete('pods', pod.metadata.namespace, pod.metadata.name ?? '', { preconditions: { uid: pod.metadata.uid } });
      this.#events.record(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`, component);
    } catch (e) {
      if (isNotFound(e)) return;
      this.#events.record(rs, 'Warning', 'FailedDelete', `Error deleting: ${errorMessage(e)}`, component);
      throw e;
    }
  }
}

/** ReplicaSet status from its active pods (calculateStatus); counts other than replicas are omitted at zero. */
export function calculateStatus(rs: KObject, pods: KObject[], manageErr: unknown, now: number): Record<string, unknown> {
  const templateLabels = Object.entries(rs.spec?.template?.metadata?.labels ?? {}) as Array<[string, string]>;
  const minReady = rs.spec?.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const pod of pods) {
    const labels = pod.metadata.labels ?? {};
    if (templateLabels.every(([k, v]) => labels[k] === v)) fullyLabeled++;
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, minReady, now)) available++;
    }
  }
  const status: Record<string, unknown> = { replicas: pods.length };
  if (fullyLabeled) status.fullyLabeledReplicas = fullyLabeled;
  if (ready) status.readyReplicas = ready;
  if (available) status.availableReplicas = available;
  if (rs.metadata.generation) status.observedGeneration = rs.metadata.generation;
  const conditions = ((rs.status?.conditions ?? []) as Array<Record<string, unknown>>).filter((c) => c.type !== 'ReplicaFailure');
  const failure = (rs.status?.conditions ?? []).find((c: { type?: string }) => c.type === 'ReplicaFailure');
  if (manageErr) {
    if (failure) conditions.push(failure);
    else {
      const want = typeof rs.spec?.replicas === 'number' ? rs.spec.replicas : 1;
      const reason = pods.length < want ? 'FailedCreate' : 'FailedDelete';
      conditions.push({ type: 'ReplicaFailure', status: 'True', lastTransitionTime: nowStamp(now), reason, message: errorMessage(manageErr) });
    }
  }
  if (conditions.length) status.conditions = conditions;
  return status;
}

/** Ms until the next ready pod becomes available (minReadySeconds), or 0 when none is waiting. */
function nextAvailableIn(rs: KObject, pods: KObject[], now: number): number {
  const minReady = rs.spec?.minReadySeconds ?? 0;
  if (!minReady) return 0;
  let next = Infinity;
  for (const pod of pods) {
    if (!isPodReady(pod) || isPodAvailable(pod, minReady, now)) continue;
    const since = podReadySince(pod);
    const at = Number.isNaN(since) ? now + minReady * 1000 : since + minReady * 1000;
    next = Math.min(next, at - now);
  }
  return next === Infinity ? 0 : Math.max(50, next + 10);
}

const phaseRank: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function restarts(pod: KObject): number {
  let n = 0;
  for (const c of pod.status?.containerStatuses ?? []) n = Math.max(n, Number(c?.restartCount ?? 0));
  return n;
}

function deletionCost(pod: KObject): number {
  const v = Number(pod.metadata.annotations?.['controller.kubernetes.io/pod-deletion-cost'] ?? 0);
  return Number.isFinite(v) ? v : 0;
}

/**
 * Pods to delete first sort first (ActivePodsWithRanks): unscheduled, then pending before running,
 * not ready before ready, lower deletion cost, ready for less time, more restarts, newer.
 */
export function deletionOrder(a: KObject, b: KObject): number {
  const sa = a.spec?.nodeName ? 1 : 0;
  const sb = b.spec?.nodeName ? 1 : 0;
  if (sa !== sb) return sa - sb;
  const pa = phaseRank[a.status?.phase ?? 'Pending'] ?? 0;
  const pb = phaseRank[b.status?.phase ?? 'Pending'] ?? 0;
  if (pa !== pb) return pa - pb;
  const ra = isPodReady(a) ? 1 : 0;
  const rb = isPodReady(b) ? 1 : 0;
  if (ra !== rb) return ra - rb;
  const ca = deletionCost(a);
  const cb = deletionCost(b);
  if (ca !== cb) return ca - cb;
  if (ra && rb) {
    const ta = podReadySince(a);
    const tb = podReadySince(b);
    if (ta !== tb && !Number.isNaN(ta) && !Number.isNaN(tb)) return tb - ta;
  }
  const xa = restarts(a);
  const xb = restarts(b);
  if (xa !== xb) return xb - xa;
  const ta = parseStamp(a.metadata.creationTimestamp);
  const tb = parseStamp(b.metadata.creationTimestamp);
  if (ta !== tb && !Number.isNaN(ta) && !Number.isNaN(tb)) return tb - ta;
  return String(b.metadata.name).localeCompare(String(a.metadata.name));
}
