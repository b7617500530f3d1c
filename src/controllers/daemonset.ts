/**
 * The DaemonSet controller, after pkg/controller/daemon: one pod per node whose labels match the
 * template's nodeSelector (Skiff has one node). The pod is pinned to its node by node affinity on
 * `metadata.name`, as upstream does, and the scheduler binds it. A template change replaces the pod
 * under RollingUpdate (delete the old one, then create the new, as maxUnavailable 1 and maxSurge 0
 * do on one node); OnDelete leaves it. A pod that failed is replaced.
 */
import type { Client, Closeable, KObject } from '../api/index.ts';
import type { EventRecorder } from './events.ts';
import { computeHash } from './hash.ts';
import { byControllerUid, type Informer, type Informers } from './informer.ts';
import { WorkQueue, type ReconcileResult } from './queue.ts';
import { clone, controllerRef, errorMessage, isNotFound, isPodActive, isPodAvailable, isPodReady, jsonEqual, keyOf, type Log, newControllerRef, noLog, splitKey } from './util.ts';

const DS = 'daemonsets.apps';
const component = 'daemonset-controller';
const revisionLabel = 'controller-revision-hash';

/** The node a DaemonSet pod is meant for (the value of its node-affinity term), or its bound node. */
function nodeOf(pod: KObject): string | undefined {
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const t of terms) for (const f of t.matchFields ?? []) if (f.key === 'metadata.name' && f.operator === 'In') return f.values?.[0];
  return pod.spec?.nodeName;
}

function nodeMatches(set: KObject, node: KObject): boolean {
  const sel: Record<string, string> = set.spec?.template?.spec?.nodeSelector ?? {};
  const labels: Record<string, string> = node.metadata.labels ?? {};
  return Object.entries(sel).every(([k, v]) => labels[k] === v);
}

export class DaemonSetController implements Closeable {
  #client: Client;
  #events: EventRecorder;
  #log: Log;
  #queue: WorkQueue;
  #sets: Informer;
  #pods: Informer;
  #nodes: Informer;
  #unsubscribe: Array<() => void> = [];
  #closed = false;

  constructor(client: Client, informers: Informers, events: EventRecorder, opts: { log?: Log } = {}) {
    this.#client = client;
    this.#events = events;
    this.#log = opts.log ?? noLog;
    this.#queue = new WorkQueue((k) => this.#sync(k), { name: component, log: this.#log, concurrency: 2 });
    this.#sets = informers.get(DS);
    this.#pods = informers.get('pods');
    this.#nodes = informers.get('nodes');
    this.#pods.addIndex('controller', byControllerUid);
    this.#unsubscribe.push(
      this.#sets.onChange((_t, set) => this.#queue.add(keyOf(set))),
      this.#pods.onChange((_t, pod, old) => {
        const ref = controllerRef(pod) ?? (old && controllerRef(old));
        if (ref?.kind !== 'DaemonSet') return;
        const set = this.#sets.get(pod.metadata.namespace, ref.name);
        if (set && set.metadata.uid === ref.uid) this.#queue.add(keyOf(set));
      }),
      this.#nodes.onChange(() => {
        for (const set of this.#sets.list()) this.#queue.add(keyOf(set));
      }),
    );
    void informers.synced([DS, 'pods', 'nodes']).then(() => this.#queue.start());
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const u of this.#unsubscribe) u();
    this.#queue.close();
  }

  async #sync(key: string): Promise<ReconcileResult> {
    const [ns, name] = splitKey(key);
    const set = this.#sets.get(ns, name);
    if (!set || set.metadata.deletionTimestamp) return;
    const hash = computeHash(set.spec?.template ?? {});
    const pods = this.#pods.byIndex('controller', set.metadata.uid ?? '').filter((p) => p.metadata.namespace === ns);
    const nodes = this.#nodes.list();
    const wanted = new Set(nodes.filter((n) => nodeMatches(set, n)).map((n) => n.metadata.name ?? ''));
    const onDelete = set.spec?.updateStrategy?.type === 'OnDelete';
    let err: unknown;
    let misscheduled = 0;
    try {
      for (const node of nodes) {
        const nodeName = node.metadata.name ?? '';
        const mine = pods.filter((p) => nodeOf(p) === nodeName);
        const live = mine.filter(isPodActive);
        for (const p of mine) if (p.status?.phase === 'Failed' && !p.metadata.deletionTimestamp) await this.#deletePod(set, p);
        if (!wanted.has(nodeName)) {
          misscheduled += live.length;
          for (const p of live) await this.#deletePod(set, p);
          continue;
        }
        const stopping = mine.some((p) => p.metadata.deletionTimestamp);
        if (live.length === 0 && !stopping) await this.#createPod(set, nodeName, hash);
        else if (live.length > 1) for (const p of live.slice(1)) await this.#deletePod(set, p);
        else if (live.length === 1 && !onDelete && live[0].metadata.labels?.[revisionLabel] !== hash) await this.#deletePod(set, live[0]);
      }
    } catch (e) {
      err = e;
    }
    const now = Date.now();
    const live = pods.filter((p) => isPodActive(p) && wanted.has(nodeOf(p) ?? ''));
    const minReady = Number(set.spec?.minReadySeconds ?? 0);
    const status: Record<string, unknown> = {
      currentNumberScheduled: live.length,
      desiredNumberScheduled: wanted.size,
      numberMisscheduled: misscheduled,
      numberReady: live.filter(isPodReady).length,
      observedGeneration: set.metadata.generation,
      updatedNumberScheduled: live.filter((p) => p.metadata.labels?.[revisionLabel] === hash).length,
    };
    const available = live.filter((p) => isPodAvailable(p, minReady, now)).length;
    if (available) status.numberAvailable = available;
    if (wanted.size - available > 0) status.numberUnavailable = wanted.size - available;
    if (!jsonEqual(status, set.status ?? {})) {
      try {
        await this.#client.updateStatus(DS, ns, { ...set, status });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    if (err) throw err;
  }

  async #createPod(set: KObject, nodeName: string, hash: string): Promise<void> {
    const t = set.spec?.template ?? {};
    const meta = t.metadata ?? {};
    const spec = clone(t.spec ?? {});
    // Pinned to the node by affinity, as upstream's controller does (the scheduler then binds it).
    spec.affinity = {
      ...(spec.affinity ?? {}),
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }] } },
    };
    const pod: KObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${set.metadata.name}-`.slice(0, 58),
        namespace: set.metadata.namespace,
        labels: { ...(meta.labels ?? {}), [revisionLabel]: hash },
        ownerReferences: [newControllerRef(set, 'apps/v1', 'DaemonSet')],
      },
      spec,
    };
    if (meta.annotations) pod.metadata.annotations = { ...meta.annotations };
    try {
      const created = await this.#client.create('pods', set.metadata.namespace, pod);
      this.#events.record(set, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`, component);
    } catch (e) {
      this.#events.record(set, 'Warning', 'FailedCreate', `Error creating: ${errorMessage(e)}`, component);
      throw e;
    }
  }

  async #deletePod(set: KObject, pod: KObject): Promise<void> {
    try {
      await this.#client.delete('pods', pod.metadata.namespace, pod.metadata.name ?? '', { preconditions: { uid: pod.metadata.uid } });
      this.#events.record(set, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`, component);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
