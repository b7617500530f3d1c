/**
 * The DaemonSet controller, after pkg/controller/daemon: one pod per node whose labels match the
 * template's nodeSelector (Skiff has one node). The pod is pinned to its node by node affinity on
 * `metadata.name`, as upstream does, and the scheduler binds it. A template change replaces the pod
 * under RollingUpdate (delete the old one, then create the new, as maxUnavailable 1 and maxSurge 0
 * do on one node); OnDelete leaves it. A pod that failed is replaced.
 */
import type { Client, KObject } from '../api/index.ts';
import type { EventRecorder } from './events.ts';
import { computeHash } from './hash.ts';
import type { Informer, Informers } from './informer.ts';
import { OwnerController, podFromTemplate } from './owner.ts';
import type { ReconcileResult } from './queue.ts';
import { isPodActive, isPodAvailable, isPodReady, type Log, splitKey } from './util.ts';

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

export class DaemonSetController extends OwnerController {
  #nodes: Informer;

  constructor(client: Client, informers: Informers, events: EventRecorder, opts: { log?: Log } = {}) {
    super(client, informers, events, { owner: DS, kind: 'DaemonSet', children: 'pods', component, concurrency: 2, also: ['nodes'], log: opts.log });
    this.#nodes = informers.get('nodes');
  }

  protected async sync(key: string): Promise<ReconcileResult> {
    const [ns, name] = splitKey(key);
    const set = this.owners.get(ns, name);
    if (!set || set.metadata.deletionTimestamp) return;
    const hash = computeHash(set.spec?.template ?? {});
    const pods = this.owned(set);
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
    await this.writeStatus(DS, set, status);
    if (err) throw err;
  }

  async #createPod(set: KObject, nodeName: string, hash: string): Promise<void> {
    const pod = podFromTemplate(set, 'apps/v1', 'DaemonSet', set.spec?.template, { labels: { [revisionLabel]: hash } });
    // Pinned to the node by affinity, as upstream's controller does (the scheduler then binds it).
    pod.spec.affinity = {
      ...(pod.spec.affinity ?? {}),
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }] } },
    };
    await this.createPod(set, pod);
  }

  async #deletePod(set: KObject, pod: KObject): Promise<void> {
    if (await this.deleteChild('pods', pod)) this.events.record(set, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`, component);
  }
}
