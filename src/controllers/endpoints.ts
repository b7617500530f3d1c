/**
 * The Endpoints and EndpointSlice controllers (one reconcile per Service writes both): selected pods'
 * addresses, readiness and ports. Writes are skipped when nothing changed, so pod status churn that
 * does not touch addresses or readiness costs one comparison.
 */
import type { Client, Closeable, KObject } from '../api/index.ts';
import type { Informer, Informers } from './informer.ts';
import { WorkQueue, type ReconcileResult } from './queue.ts';
import { desiredEndpoints, desiredSlices, hasSelector, managedBy, managedByLabel, podFingerprint, selects, serviceNameLabel, sliceLabels, type SliceContent } from './endpoints-util.ts';
import { clone, isAlreadyExists, isNotFound, jsonEqual, keyOf, type Log, noLog, splitKey, stableStringify } from './util.ts';

const SLICES = 'endpointslices.discovery.k8s.io';

export class EndpointsController implements Closeable {
  #client: Client;
  #queue: WorkQueue;
  #services: Informer;
  #pods: Informer;
  #endpoints: Informer;
  #slices: Informer;
  #unsubscribe: Array<() => void>;
  #closed = false;

  constructor(client: Client, informers: Informers, opts: { log?: Log } = {}) {
    this.#client = client;
    this.#queue = new WorkQueue((k) => this.#sync(k), { name: 'endpoint-controller', log: opts.log ?? noLog, concurrency: 4 });
    this.#services = informers.get('services');
    this.#pods = informers.get('pods');
    this.#endpoints = informers.get('endpoints');
    this.#slices = informers.get(SLICES);
    this.#slices.addIndex('service', (s) => {
      const l = s.metadata.labels ?? {};
      return l[managedByLabel] === managedBy && l[serviceNameLabel] ? [`${s.metadata.namespace}/${l[serviceNameLabel]}`] : [];
    });
    this.#unsubscribe = [
      this.#services.onChange((_t, svc) => this.#queue.add(keyOf(svc))),
      this.#pods.onChange((t, pod, old) => this.#onPod(t, pod, old)),
      // Someone else changed or deleted what we own: put it back.
      this.#endpoints.onChange((t, ep) => {
        if (t !== 'ADDED' && this.#services.get(ep.metadata.namespace, ep.metadata.name ?? '')) this.#queue.add(keyOf(ep));
      }),
      this.#slices.onChange((t, s) => {
        const svc = s.metadata.labels?.[serviceNameLabel];
        if (t !== 'ADDED' && svc && s.metadata.labels?.[managedByLabel] === managedBy) this.#queue.add(`${s.metadata.namespace}/${svc}`);
      }),
    ];
    void informers.synced(['services', 'pods', 'endpoints', SLICES]).then(() => this.#queue.start());
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const u of this.#unsubscribe) u();
    this.#queue.close();
  }

  #onPod(type: string, pod: KObject, old: KObject | undefined): void {
    if (type === 'MODIFIED' && old && podFingerprint(old) === podFingerprint(pod)) return;
    for (const svc of this.#services.list(pod.metadata.namespace ?? '')) {
      if (selects(svc, pod.metadata.labels) || (old && selects(svc, old.metadata.labels))) this.#queue.add(keyOf(svc));
    }
  }

  async #sync(key: string): Promise<ReconcileResult> {
    const [ns, name] = splitKey(key);
    const svc = this.#services.get(ns, name);
    if (!svc) {
      await this.#removeAll(ns, name);
      return;
    }
    if (!hasSelector(svc)) return;
    const pods = this.#pods.list(ns).filter((p) => selects(svc, p.metadata.labels));
    await this.#syncEndpoints(svc, pods);
    await this.#syncSlices(svc, pods);
  }

  async #removeAll(ns: string, name: string): Promise<void> {
    if (this.#endpoints.get(ns, name)) await this.#ignoreNotFound(this.#client.delete('endpoints', ns, name));
    for (const s of this.#slices.byIndex('service', `${ns}/${name}`)) await this.#ignoreNotFound(this.#client.delete(SLICES, ns, s.metadata.name ?? ''));
  }

  async #ignoreNotFound(p: Promise<unknown>): Promise<void> {
    try {
      await p;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async #syncEndpoints(svc: KObject, pods: KObject[]): Promise<void> {
    const ns = svc.metadata.namespace ?? '';
    const want = desiredEndpoints(svc, pods);
    const cur = this.#endpoints.get(ns, svc.metadata.name ?? '');
    if (!cur) {
      try {
        await this.#client.create('endpoints', ns, want);
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        throw Object.assign(new Error('endpoints appeared meanwhile'), { reason: 'Conflict' });
      }
      return;
    }
    if (jsonEqual(cur.subsets ?? [], want.subsets ?? []) && jsonEqual(cur.metadata.labels ?? {}, want.metadata.labels ?? {})) return;
    const next = clone(cur);
    next.metadata.labels = want.metadata.labels;
    if (!next.metadata.labels) delete next.metadata.labels;
    if (want.subsets) next.subsets = want.subsets;
    else delete next.subsets;
    await this.#client.update('endpoints', ns, next);
  }

  async #syncSlices(svc: KObject, pods: KObject[]): Promise<void> {
    const ns = svc.metadata.namespace ?? '';
    const want = desiredSlices(svc, pods);
    const labels = sliceLabels(svc);
    const existing = this.#slices.byIndex('service', `${ns}/${svc.metadata.name}`).filter((s) => s.metadata.namespace === ns);
    const owner = { apiVersion: 'v1', kind: 'Service', name: svc.metadata.name ?? '', uid: svc.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
    const portsKey = (p: unknown): string => stableStringify(p ?? []);
    // Pair wanted contents with existing slices: same ports first, then any leftover slice.
    const unused = [...existing];
    const pairs: Array<[SliceContent, KObject | undefined]> = [];
    for (const w of want) {
      const i = unused.findIndex((s) => portsKey(s.ports) === portsKey(w.ports));
      pairs.push([w, i >= 0 ? unused.splice(i, 1)[0] : undefined]);
    }
    for (const pair of pairs) if (!pair[1] && unused.length) pair[1] = unused.shift();
    for (const [w, cur] of pairs) {
      if (!cur) {
        const slice: KObject = {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { generateName: `${svc.metadata.name}-`, namespace: ns, labels, ownerReferences: [owner] },
          addressType: 'IPv4',
          endpoints: w.endpoints,
        };
        if (w.ports) slice.ports = w.ports;
        await this.#client.create(SLICES, ns, slice);
        continue;
      }
      const sameOwner = (cur.metadata.ownerReferences ?? []).some((r) => r.uid === owner.uid);
      if (sameOwner && jsonEqual(cur.endpoints ?? [], w.endpoints) && portsKey(cur.ports) === portsKey(w.ports) && jsonEqual(cur.metadata.labels ?? {}, labels)) continue;
      const next = clone(cur);
      next.metadata.labels = labels;
      next.metadata.ownerReferences = [...(next.metadata.ownerReferences ?? []).filter((r) => r.kind !== 'Service'), owner];
      next.endpoints = w.endpoints;
      if (w.ports) next.ports = w.ports;
      else delete next.ports;
      await this.#client.update(SLICES, ns, next);
    }
    for (const s of unused) await this.#ignoreNotFound(this.#client.delete(SLICES, ns, s.metadata.name ?? ''));
  }
}
