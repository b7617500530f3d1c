/**
 * The StatefulSet controller, after pkg/controller/statefulset: pods named `<set>-<ordinal>` with
 * hostname and subdomain (spec.serviceName) set, one PersistentVolumeClaim per pod and
 * volumeClaimTemplate (`<claim>-<pod>`, kept when pods go, as the default Retain policy), and:
 * - OrderedReady: ordinal i is made only once 0..i-1 are Running and Ready; scaling down removes the
 *   highest ordinal first, one at a time;
 * - Parallel: all made or removed at once;
 * - RollingUpdate: pods at or above the partition whose template revision is old are replaced from
 *   the highest ordinal down, one at a time, each once the rest are Ready; OnDelete leaves them.
 * The revision is `<set>-<hash of the pod template>` (Skiff keeps no ControllerRevision objects, so
 * `kubectl rollout undo` is not served); status carries what `kubectl rollout status` reads.
 */
import type { Client, KObject } from '../api/index.ts';
import type { EventRecorder } from './events.ts';
import { computeHash } from './hash.ts';
import type { Informers } from './informer.ts';
import { OwnerController, podFromTemplate } from './owner.ts';
import type { ReconcileResult } from './queue.ts';
import { clone, errorMessage, isAlreadyExists, isPodAvailable, isPodReady, type Log, splitKey } from './util.ts';

const STS = 'statefulsets.apps';
const component = 'statefulset-controller';
export const revisionLabel = 'controller-revision-hash';

/** The ordinal of a pod of set `name` (`<name>-<n>`), or -1. */
export function ordinalOf(setName: string, podName: string | undefined): number {
  if (!podName?.startsWith(`${setName}-`)) return -1;
  const rest = podName.slice(setName.length + 1);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : -1;
}

function running(pod: KObject): boolean {
  return pod.status?.phase === 'Running' && isPodReady(pod) && !pod.metadata.deletionTimestamp;
}

export class StatefulSetController extends OwnerController {
  constructor(client: Client, informers: Informers, events: EventRecorder, opts: { log?: Log } = {}) {
    super(client, informers, events, { owner: STS, kind: 'StatefulSet', children: 'pods', component, concurrency: 4, log: opts.log });
  }

  protected async sync(key: string): Promise<ReconcileResult> {
    const [ns, name] = splitKey(key);
    const set = this.owners.get(ns, name);
    if (!set || set.metadata.deletionTimestamp) return;
    const spec = set.spec ?? {};
    const replicas: number = typeof spec.replicas === 'number' ? spec.replicas : 1;
    const parallel = spec.podManagementPolicy === 'Parallel';
    // Pods carry the template hash; the revision is the set's name with it.
    const hash = computeHash(spec.template ?? {});
    const revision = `${name}-${hash}`;
    const byOrdinal = new Map<number, KObject>();
    for (const p of this.owned(set)) {
      const i = ordinalOf(name, p.metadata.name);
      if (i >= 0) byOrdinal.set(i, p);
    }

    let err: unknown;
    try {
      // Pods that failed or succeeded are replaced, as upstream does for a stateful identity.
      for (const [i, p] of byOrdinal) {
        const phase = p.status?.phase;
        if ((phase === 'Failed' || phase === 'Succeeded') && !p.metadata.deletionTimestamp) {
          await this.#deletePod(set, p);
          byOrdinal.delete(i);
        }
      }
      // Scale up: every missing ordinal below replicas (OrderedReady: only after the lower ones run).
      for (let i = 0; i < replicas; i++) {
        const p = byOrdinal.get(i);
        if (!p) {
          await this.#createPod(set, i, hash);
          if (!parallel) break;
          continue;
        }
        if (!parallel && !running(p)) break;
      }
      // Scale down, highest ordinal first.
      const extra = [...byOrdinal.keys()].filter((i) => i >= replicas).sort((a, b) => b - a);
      const lowerReady = [...byOrdinal].every(([i, p]) => i >= replicas || running(p));
      for (const i of extra) {
        const p = byOrdinal.get(i)!;
        if (p.metadata.deletionTimestamp) {
          if (!parallel) break;
          continue;
        }
        if (!parallel && !lowerReady) break;
        await this.#deletePod(set, p);
        if (!parallel) break;
      }
      // Rolling update: replace the highest old-revision pod at or above the partition once all are ready.
      const strategy = spec.updateStrategy ?? {};
      if (strategy.type !== 'OnDelete' && extra.length === 0) {
        const partition = Number(strategy.rollingUpdate?.partition ?? 0);
        const all = [...byOrdinal].filter(([i]) => i < replicas);
        if (all.length === replicas && all.every(([, p]) => running(p))) {
          const stale = all.filter(([i, p]) => i >= partition && p.metadata.labels?.[revisionLabel] !== hash).sort((a, b) => b[0] - a[0]);
          if (stale.length) await this.#deletePod(set, stale[0][1]);
        }
      }
    } catch (e) {
      err = e;
    }

    const pods = [...byOrdinal.values()].filter((p) => !p.metadata.deletionTimestamp);
    const updated = pods.filter((p) => p.metadata.labels?.[revisionLabel] === hash);
    const now = Date.now();
    const status: Record<string, unknown> = {
      ...clone(set.status ?? {}),
      observedGeneration: set.metadata.generation,
      replicas: pods.length,
      readyReplicas: pods.filter(isPodReady).length,
      availableReplicas: pods.filter((p) => isPodAvailable(p, Number(spec.minReadySeconds ?? 0), now)).length,
      updatedReplicas: updated.length,
      currentReplicas: updated.length === pods.length ? pods.length : pods.length - updated.length,
      updateRevision: revision,
      collisionCount: 0,
    };
    // The current revision is the update revision once every pod runs it.
    if (updated.length === replicas && pods.length === replicas) status.currentRevision = revision;
    else if (!status.currentRevision) status.currentRevision = revision;
    await this.writeStatus(STS, set, status);
    if (err) throw err;
  }

  async #createPod(set: KObject, ordinal: number, hash: string): Promise<void> {
    const name = set.metadata.name ?? '';
    const podName = `${name}-${ordinal}`;
    const labels = { [revisionLabel]: hash, 'statefulset.kubernetes.io/pod-name': podName, 'apps.kubernetes.io/pod-index': String(ordinal) };
    const pod = podFromTemplate(set, 'apps/v1', 'StatefulSet', set.spec?.template, { name: podName, labels });
    const spec = pod.spec;
    spec.hostname = podName;
    if (set.spec?.serviceName) spec.subdomain = set.spec.serviceName;
    const volumes: Array<Record<string, unknown>> = spec.volumes ?? [];
    for (const claim of (set.spec?.volumeClaimTemplates ?? []) as KObject[]) {
      const claimName = `${claim.metadata?.name}-${podName}`;
      await this.#ensureClaim(set, claim, claimName, podName);
      if (!volumes.some((v) => v.name === claim.metadata?.name)) volumes.push({ name: claim.metadata?.name, persistentVolumeClaim: { claimName } });
    }
    if (volumes.length) spec.volumes = volumes;
    try {
      await this.client.create('pods', set.metadata.namespace, pod);
      this.events.record(set, 'Normal', 'SuccessfulCreate', `create Pod ${podName} in StatefulSet ${name} successful`, component);
    } catch (e) {
      if (isAlreadyExists(e)) return;
      this.events.record(set, 'Warning', 'FailedCreate', `create Pod ${podName} in StatefulSet ${name} failed error: ${errorMessage(e)}`, component);
      throw e;
    }
  }

  async #ensureClaim(set: KObject, template: KObject, claimName: string, podName: string): Promise<void> {
    const claim: KObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: claimName, namespace: set.metadata.namespace, labels: { ...(template.metadata?.labels ?? {}), ...(set.spec?.selector?.matchLabels ?? {}) } },
      spec: clone(template.spec ?? {}),
    };
    try {
      await this.client.create('persistentvolumeclaims', set.metadata.namespace, claim);
      this.events.record(set, 'Normal', 'SuccessfulCreate', `create Claim ${claimName} Pod ${podName} in StatefulSet ${set.metadata.name} success`, component);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }

  async #deletePod(set: KObject, pod: KObject): Promise<void> {
    if (await this.deleteChild('pods', pod)) this.events.record(set, 'Normal', 'SuccessfulDelete', `delete Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`, component);
  }
}
