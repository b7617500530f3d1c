/**
 * The scheduler of a one-node cluster: every pod without a node is bound to this node, as
 * kube-scheduler would (spec.nodeName, the PodScheduled condition and a `Scheduled` event). Pods that
 * name another node stay Pending with an Unschedulable-style condition, as they would with no such node.
 */
import type { Client, Closeable, KObject } from '../api/index.ts';
import type { EventRecorder } from './events.ts';
import type { Informer, Informers } from './informer.ts';
import { WorkQueue, type ReconcileResult } from './queue.ts';
import { clone, isNotFound, keyOf, splitKey, type Log } from './util.ts';

const component = 'default-scheduler';

export class Scheduler implements Closeable {
  #client: Client;
  #events: EventRecorder;
  #nodeName: string;
  #pods: Informer;
  #queue: WorkQueue;
  #unsubscribe: () => void;
  #closed = false;

  constructor(client: Client, informers: Informers, events: EventRecorder, opts: { nodeName: string; log?: Log }) {
    this.#client = client;
    this.#events = events;
    this.#nodeName = opts.nodeName;
    this.#pods = informers.get('pods');
    this.#queue = new WorkQueue((k) => this.#sync(k), { name: 'scheduler', log: opts.log });
    this.#unsubscribe = this.#pods.onChange((t, pod) => {
      if (t !== 'DELETED' && !pod.spec?.nodeName && !pod.metadata.deletionTimestamp) this.#queue.add(keyOf(pod));
    });
    void informers.synced(['pods']).then(() => this.#queue.start());
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    this.#queue.close();
  }

  async #sync(key: string): Promise<ReconcileResult> {
    const [ns, name] = splitKey(key);
    const cached = this.#pods.get(ns, name);
    if (!cached || cached.spec?.nodeName || cached.metadata.deletionTimestamp) return;
    const pod = clone(cached);
    pod.spec = { ...pod.spec, nodeName: this.#nodeName };
    let bound: KObject;
    try {
      // The registry marks the pod PodScheduled in the same write, as the binding subresource does.
      bound = await this.#client.update('pods', ns, pod);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    this.#events.record(bound, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${this.#nodeName}`, component);
  }
}
