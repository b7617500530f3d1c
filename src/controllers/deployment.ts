/**
 * The Deployment controller, after pkg/controller/deployment (sync.go, rolling.go, recreate.go,
 * progress.go): it owns ReplicaSets named `<deployment>-<pod-template-hash>`, rolls between them with
 * maxSurge/maxUnavailable or Recreate, scales proportionally, keeps revisions, and reports status and
 * the Available/Progressing conditions that `kubectl rollout status` reads.
 */
import type { Client, Closeable, KObject } from '../api/index.ts';
import { matchLabels, selectorRequirements } from '../api/index.ts';
import type { EventRecorder } from './events.ts';
import { computeHash, equalIgnoreHash, podTemplateHashLabel } from './hash.ts';
import { byControllerUid, type Informer, type Informers, orphansByNamespace } from './informer.ts';
import { WorkQueue, type ReconcileResult } from './queue.ts';
import {
  activeReplicaSets,
  actualReplicaCount,
  availableReplicaCount,
  byCreation,
  byRevision,
  calculateStatus,
  compactStatus,
  condition,
  type DeploySpec,
  type DeployStatus,
  deploySpec,
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  desiredReplicasOf,
  findNewReplicaSet,
  maxSurge,
  maxUnavailable,
  newCondition,
  newRSNewReplicas,
  proportionalSizes,
  removeCondition,
  replicaCount,
  replicasAnnotationsNeedUpdate,
  revisionAnnotation,
  revisionOf,
  rsReplicas,
  setCondition,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
} from './deployment-util.ts';
import { clone, controllerRef, errorMessage, isAlreadyExists, isNotFound, jsonEqual, keyOf, type Log, newControllerRef, noLog, parseStamp, splitKey } from './util.ts';

const RS = 'replicasets.apps';
const DEPLOY = 'deployments.apps';
const component = 'deployment-controller';

/** The state of one reconcile: the latest stored deployment and its defaulted spec. */
interface SyncState {
  d: KObject;
  spec: DeploySpec;
  ns: string;
}

export class DeploymentController implements Closeable {
  #client: Client;
  #events: EventRecorder;
  #log: Log;
  #queue: WorkQueue;
  #deploys: Informer;
  #rss: Informer;
  #pods: Informer;
  #unsubscribe: Array<() => void> = [];
  #closed = false;

  constructor(client: Client, informers: Informers, events: EventRecorder, opts: { log?: Log } = {}) {
    this.#client = client;
    this.#events = events;
    this.#log = opts.log ?? noLog;
    this.#queue = new WorkQueue((k) => this.#sync(k), { name: component, log: this.#log });
    this.#deploys = informers.get(DEPLOY);
    this.#rss = informers.get(RS);
    this.#pods = informers.get('pods');
    this.#rss.addIndex('controller', byControllerUid);
    this.#rss.addIndex('orphans', orphansByNamespace);
    this.#pods.addIndex('controller', byControllerUid);
    this.#unsubscribe.push(
      this.#deploys.onChange((_t, d) => this.#queue.add(keyOf(d))),
      this.#rss.onChange((t, rs, old) => this.#onReplicaSet(t, rs, old)),
      this.#pods.onChange((t, pod) => {
        if (t === 'DELETED') this.#onPodDeleted(pod);
      }),
    );
    void informers.synced([DEPLOY, RS, 'pods']).then(() => this.#queue.start());
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const u of this.#unsubscribe) u();
    this.#queue.close();
  }

  /** The deployment that controls an object, from the cache (uid checked). */
  #owner(obj: KObject): KObject | undefined {
    const ref = controllerRef(obj);
    if (!ref || ref.kind !== 'Deployment') return undefined;
    const d = this.#deploys.get(obj.metadata.namespace, ref.name);
    return d && d.metadata.uid === ref.uid ? d : undefined;
  }

  #onReplicaSet(type: string, rs: KObject, old: KObject | undefined): void {
    const owner = this.#owner(rs);
    if (owner) this.#queue.add(keyOf(owner));
    else if (!controllerRef(rs) && type !== 'DELETED') {
      // An orphan: any deployment that selects it may adopt it.
      for (const d of this.#deploys.list(rs.metadata.namespace ?? '')) {
        const reqs = selectorRequirements(d.spec?.selector);
        if (reqs.length && matchLabels(reqs, rs.metadata.labels)) this.#queue.add(keyOf(d));
      }
    }
    if (old) {
      const prev = this.#owner(old);
      if (prev && prev !== owner) this.#queue.add(keyOf(prev));
    }
  }

  #onPodDeleted(pod: KObject): void {
    // Recreate waits for old pods to be gone; upstream requeues the deployment when they are.
    const ref = controllerRef(pod);
    if (!ref || ref.kind !== 'ReplicaSet') return;
    const rs = this.#rss.get(pod.metadata.namespace, ref.name);
    const d = rs && this.#owner(rs);
    if (d && d.spec?.strategy?.type === 'Recreate') this.#queue.add(keyOf(d));
  }

  async #sync(key: string): Promise<ReconcileResult> {
    const [ns, name] = splitKey(key);
    const cached = this.#deploys.get(ns, name);
    if (!cached) return;
    const st: SyncState = { d: clone(cached), spec: deploySpec(cached), ns };
    const sel = st.d.spec?.selector;
    if (!sel || (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length)) {
      this.#events.record(st.d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.', component);
      if ((st.d.status?.observedGeneration ?? 0) < (st.d.metadata.generation ?? 0)) {
        await this.#writeStatus(st, { ...(st.d.status ?? {}), observedGeneration: st.d.metadata.generation });
      }
      return;
    }
    const rsList = await this.#claimReplicaSets(st);
    if (st.d.metadata.deletionTimestamp) {
      const [newRS, oldRSs] = await this.#getAllReplicaSetsAndSyncRevision(st, rsList, false);
      await this.#syncDeploymentStatus(st, [...oldRSs, newRS], newRS);
      return;
    }
    await this.#checkPausedConditions(st);
    if (st.spec.paused) return this.#syncScale(st, rsList);
    if (await this.#isScalingEvent(st, rsList)) return this.#syncScale(st, rsList);
    return st.spec.recreate ? this.#rolloutRecreate(st, rsList) : this.#rolloutRolling(st, rsList);
  }

  /** ReplicaSets this deployment controls: owned ones that still match, plus adopted orphans (ControllerRefManager). */
  async #claimReplicaSets(st: SyncState): Promise<KObject[]> {
    const d = st.d;
    const reqs = selectorRequirements(d.spec?.selector);
    const out: KObject[] = [];
    for (const rs of this.#rss.byIndex('controller', d.metadata.uid ?? '')) {
      if (rs.metadata.namespace !== st.ns) continue;
      if (matchLabels(reqs, rs.metadata.labels)) {
        out.push(clone(rs));
        continue;
      }
      if (d.metadata.deletionTimestamp) continue;
      // No longer selected: release it.
      const copy = clone(rs);
      copy.metadata.ownerReferences = (copy.metadata.ownerReferences ?? []).filter((r) => r.uid !== d.metadata.uid);
      await this.#ignoreNotFound(this.#client.update(RS, st.ns, copy));
    }
    if (d.metadata.deletionTimestamp) return out;
    for (const rs of this.#rss.byIndex('orphans', st.ns)) {
      if (rs.metadata.deletionTimestamp || !matchLabels(reqs, rs.metadata.labels)) continue;
      const copy = clone(rs);
      copy.metadata.ownerReferences = [...(copy.metadata.ownerReferences ?? []), newControllerRef(d, 'apps/v1', 'Deployment')];
      const adopted = await this.#ignoreNotFound(this.#client.update(RS, st.ns, copy));
      if (adopted) out.push(adopted);
    }
    return out;
  }

  async #ignoreNotFound<T>(p: Promise<T>): Promise<T | undefined> {
    try {
      return await p;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async #writeStatus(st: SyncState, status: DeployStatus): Promise<void> {
    st.d = await this.#client.updateStatus(DEPLOY, st.ns, { ...st.d, status: compactStatus(status) });
  }

  /** Sets the deployment's revision annotation (a metadata update: our status writes cannot carry it). */
  async #setRevision(st: SyncState, revision: string): Promise<void> {
    if (st.d.metadata.annotations?.[revisionAnnotation] === revision) return;
    const copy = clone(st.d);
    copy.metadata.annotations = { ...(copy.metadata.annotations ?? {}), [revisionAnnotation]: revision };
    st.d = await this.#client.update(DEPLOY, st.ns, copy);
  }

  /** The new ReplicaSet (found, or created when `create`) and the old ones (getAllReplicaSetsAndSyncRevision). */
  async #getAllReplicaSetsAndSyncRevision(st: SyncState, rsList: KObject[], create: boolean): Promise<[KObject | undefined, KObject[]]> {
    const existing = findNewReplicaSet(st.d, rsList);
    const oldRSs = rsList.filter((rs) => rs !== existing);
    const newRS = await this.#getNewReplicaSet(st, existing, oldRSs, create);
    return [newRS, oldRSs];
  }

  async #getNewReplicaSet(st: SyncState, existing: KObject | undefined, oldRSs: KObject[], create: boolean): Promise<KObject | undefined> {
    const d = st.d;
    const newRevision = Math.max(0, ...oldRSs.map(revisionOf)) + 1;
    if (existing) {
      const copy = clone(existing);
      const annotationsUpdated = setNewReplicaSetAnnotations(d, copy, newRevision, true, st.spec);
      const minReadyChanged = (copy.spec?.minReadySeconds ?? 0) !== st.spec.minReadySeconds;
      if (annotationsUpdated || minReadyChanged) {
        copy.spec.minReadySeconds = st.spec.minReadySeconds;
        // The deployment's revision follows on the next sync, which this update triggers.
        return await this.#client.update(RS, st.ns, copy);
      }
      await this.#setRevision(st, copy.metadata.annotations?.[revisionAnnotation] ?? '');
      if (st.spec.progressDeadlineSeconds !== undefined && !condition(st.d.status, 'Progressing')) {
        const status = clone((st.d.status ?? {}) as DeployStatus);
        setCondition(status, newCondition('Progressing', 'True', 'FoundNewReplicaSet', `Found new replica set "${copy.metadata.name}"`));
        await this.#writeStatus(st, status);
      }
      return copy;
    }
    if (!create) return undefined;
    const template = clone(d.spec.template ?? {});
    const collisionCount = typeof d.status?.collisionCount === 'number' ? d.status.collisionCount : undefined;
    const hash = computeHash(template, collisionCount);
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [podTemplateHashLabel]: hash } };
    const selector = clone(d.spec.selector);
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [podTemplateHashLabel]: hash };
    const newRS: KObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: st.ns,
        labels: { ...template.metadata.labels },
        ownerReferences: [newControllerRef(d, 'apps/v1', 'Deployment')],
      },
      spec: { replicas: 0, minReadySeconds: st.spec.minReadySeconds, selector, template },
    };
    newRS.spec.replicas = newRSNewReplicas(st.spec, [...oldRSs, newRS], newRS);
    setNewReplicaSetAnnotations(d, newRS, newRevision, false, st.spec);
    let created: KObject;
    let alreadyExists = false;
    try {
      created = await this.#client.create(RS, st.ns, newRS);
    } catch (e) {
      if (isAlreadyExists(e)) {
        const rs = this.#rss.get(st.ns, newRS.metadata.name ?? '') ?? (await this.#client.get(RS, st.ns, newRS.metadata.name ?? ''));
        if (controllerRef(rs)?.uid === d.metadata.uid && equalIgnoreHash(d.spec.template, rs.spec?.template)) {
          created = clone(rs);
          alreadyExists = true;
        } else {
          // A hash collision: bump collisionCount so the next attempt hashes differently.
          const status = clone((d.status ?? {}) as DeployStatus);
          status.collisionCount = (collisionCount ?? 0) + 1;
          await this.#writeStatus(st, status);
          throw e;
        }
      } else {
        const msg = `Failed to create new replica set "${newRS.metadata.name}": ${errorMessage(e)}`;
        if (st.spec.progressDeadlineSeconds !== undefined) {
          const status = clone((d.status ?? {}) as DeployStatus);
          setCondition(status, newCondition('Progressing', 'False', 'ReplicaSetCreateError', msg));
          await this.#writeStatus(st, status).catch(() => undefined);
        }
        this.#events.record(d, 'Warning', 'ReplicaSetCreateError', msg, component);
        throw e;
      }
    }
    if (!alreadyExists && rsReplicas(created) > 0) {
      this.#events.record(st.d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${created.metadata.name} from 0 to ${rsReplicas(created)}`, component);
    }
    await this.#setRevision(st, String(newRevision));
    if (!alreadyExists && st.spec.progressDeadlineSeconds !== undefined) {
      const status = clone((st.d.status ?? {}) as DeployStatus);
      setCondition(status, newCondition('Progressing', 'True', 'NewReplicaSetCreated', `Created new replica set "${created.metadata.name}"`));
      await this.#writeStatus(st, status);
    }
    return created;
  }

  /** Paused and resumed show as Progressing Unknown (checkPausedConditions). */
  async #checkPausedConditions(st: SyncState): Promise<void> {
    if (st.spec.progressDeadlineSeconds === undefined) return;
    const cond = condition(st.d.status, 'Progressing');
    if (cond?.reason === 'ProgressDeadlineExceeded') return;
    const pausedShown = cond?.reason === 'DeploymentPaused';
    let c;
    if (st.spec.paused && !pausedShown) c = newCondition('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused');
    else if (!st.spec.paused && pausedShown) c = newCondition('Progressing', 'Unknown', 'DeploymentResumed', 'Deployment is resumed');
    if (!c) return;
    const status = clone((st.d.status ?? {}) as DeployStatus);
    setCondition(status, c);
    await this.#writeStatus(st, status);
  }

  /** A scaling event: an active ReplicaSet's desired-replicas annotation differs from spec.replicas. */
  async #isScalingEvent(st: SyncState, rsList: KObject[]): Promise<boolean> {
    const [newRS, oldRSs] = await this.#getAllReplicaSetsAndSyncRevision(st, rsList, false);
    for (const rs of activeReplicaSets([...oldRSs, newRS])) {
      const desired = desiredReplicasOf(rs);
      if (desired !== undefined && desired !== st.spec.replicas) return true;
    }
    return false;
  }

  /** sync: scaling and paused deployments; no rollout progress. */
  async #syncScale(st: SyncState, rsList: KObject[]): Promise<ReconcileResult> {
    const [newRS, oldRSs] = await this.#getAllReplicaSetsAndSyncRevision(st, rsList, false);
    await this.#scale(st, newRS, oldRSs);
    if (st.spec.paused) await this.#cleanup(st, oldRSs);
    await this.#syncDeploymentStatus(st, [...oldRSs, newRS], newRS);
  }

  async #scale(st: SyncState, newRS: KObject | undefined, oldRSs: KObject[]): Promise<void> {
    const spec = st.spec;
    const activeOrLatest = findActiveOrLatest(newRS, oldRSs);
    if (activeOrLatest) {
      if (rsReplicas(activeOrLatest) === spec.replicas) return;
      await this.#scaleAndRecord(st, activeOrLatest, spec.replicas);
      return;
    }
    if (newRS && desiredReplicasOf(newRS) === spec.replicas && rsReplicas(newRS) === spec.replicas && (newRS.status?.availableReplicas ?? 0) === spec.replicas) {
      for (const old of activeReplicaSets(oldRSs)) await this.#scaleAndRecord(st, old, 0);
      return;
    }
    if (spec.recreate) return;
    const active = activeReplicaSets([...oldRSs, newRS]);
    const { sizes, op } = proportionalSizes(spec, st.d.status?.replicas ?? 0, active);
    for (const rs of active) await this.#scaleReplicaSet(st, rs, sizes.get(rs.metadata.name ?? '') ?? rsReplicas(rs), op);
  }

  async #scaleAndRecord(st: SyncState, rs: KObject, newScale: number): Promise<boolean> {
    if (rsReplicas(rs) === newScale) return false;
    return this.#scaleReplicaSet(st, rs, newScale, rsReplicas(rs) < newScale ? 'up' : 'down');
  }

  /** Writes spec.replicas and the replicas annotations; updates `rs` in place; true when the size changed. */
  async #scaleReplicaSet(st: SyncState, rs: KObject, newScale: number, op: string): Promise<boolean> {
    const spec = st.spec;
    const max = spec.replicas + maxSurge(spec);
    const sizeChanged = rsReplicas(rs) !== newScale;
    if (!sizeChanged && !replicasAnnotationsNeedUpdate(rs, spec.replicas, max)) return false;
    const oldScale = rsReplicas(rs);
    const copy = clone(rs);
    copy.spec.replicas = newScale;
    setReplicasAnnotations(copy, spec.replicas, max);
    const updated = await this.#client.update(RS, st.ns, copy);
    for (const k of Object.keys(rs)) delete rs[k];
    Object.assign(rs, updated);
    if (sizeChanged) this.#events.record(st.d, 'Normal', 'ScalingReplicaSet', `Scaled ${op} replica set ${rs.metadata.name} from ${oldScale} to ${newScale}`, component);
    return sizeChanged;
  }

  async #rolloutRolling(st: SyncState, rsList: KObject[]): Promise<ReconcileResult> {
    const [newRS, oldRSs] = (await this.#getAllReplicaSetsAndSyncRevision(st, rsList, true)) as [KObject, KObject[]];
    const allRSs = [...oldRSs, newRS];
    if (await this.#reconcileNewReplicaSet(st, allRSs, newRS)) return this.#syncRolloutStatus(st, allRSs, newRS);
    if (await this.#reconcileOldReplicaSets(st, allRSs, activeReplicaSets(oldRSs), newRS)) return this.#syncRolloutStatus(st, allRSs, newRS);
    if (deploymentComplete(st.d, st.spec, (st.d.status ?? {}) as DeployStatus)) await this.#cleanup(st, oldRSs);
    return this.#syncRolloutStatus(st, allRSs, newRS);
  }

  async #reconcileNewReplicaSet(st: SyncState, allRSs: KObject[], newRS: KObject): Promise<boolean> {
    const want = st.spec.replicas;
    if (rsReplicas(newRS) === want) return false;
    if (rsReplicas(newRS) > want) return this.#scaleAndRecord(st, newRS, want);
    return this.#scaleAndRecord(st, newRS, newRSNewReplicas(st.spec, allRSs, newRS));
  }

  async #reconcileOldReplicaSets(st: SyncState, allRSs: KObject[], oldRSs: KObject[], newRS: KObject): Promise<boolean> {
    if (replicaCount(oldRSs) === 0) return false;
    const minAvailable = st.spec.replicas - maxUnavailable(st.spec);
    const newUnavailable = rsReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = replicaCount(allRSs) - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;
    const cleaned = await this.#cleanupUnhealthyReplicas(st, oldRSs, maxScaledDown);
    const scaled = await this.#scaleDownOldForRollingUpdate(st, [...oldRSs, newRS], oldRSs);
    return cleaned + scaled > 0;
  }

  /** Scales down old ReplicaSets' unavailable replicas first: they serve nobody. */
  async #cleanupUnhealthyReplicas(st: SyncState, oldRSs: KObject[], maxCleanup: number): Promise<number> {
    let total = 0;
    for (const rs of [...oldRSs].sort(byCreation)) {
      if (total >= maxCleanup) break;
      const available = rs.status?.availableReplicas ?? 0;
      if (rsReplicas(rs) === 0 || rsReplicas(rs) === available) continue;
      const n = Math.min(maxCleanup - total, rsReplicas(rs) - available);
      await this.#scaleAndRecord(st, rs, rsReplicas(rs) - n);
      total += n;
    }
    return total;
  }

  async #scaleDownOldForRollingUpdate(st: SyncState, allRSs: KObject[], oldRSs: KObject[]): Promise<number> {
    const minAvailable = st.spec.replicas - maxUnavailable(st.spec);
    const available = availableReplicaCount(allRSs);
    if (available <= minAvailable) return 0;
    const want = available - minAvailable;
    let total = 0;
    for (const rs of [...oldRSs].sort(byCreation)) {
      if (total >= want) break;
      if (rsReplicas(rs) === 0) continue;
      const n = Math.min(rsReplicas(rs), want - total);
      await this.#scaleAndRecord(st, rs, rsReplicas(rs) - n);
      total += n;
    }
    return total;
  }

  async #rolloutRecreate(st: SyncState, rsList: KObject[]): Promise<ReconcileResult> {
    let [newRS, oldRSs] = await this.#getAllReplicaSetsAndSyncRevision(st, rsList, false);
    let allRSs = [...oldRSs, newRS];
    let scaledDown = false;
    for (const rs of activeReplicaSets(oldRSs)) if (await this.#scaleAndRecord(st, rs, 0)) scaledDown = true;
    if (scaledDown) return this.#syncRolloutStatus(st, allRSs, newRS);
    if (this.#oldPodsRunning(newRS, oldRSs, rsList)) return this.#syncRolloutStatus(st, allRSs, newRS);
    if (!newRS) {
      [newRS, oldRSs] = await this.#getAllReplicaSetsAndSyncRevision(st, rsList, true);
      allRSs = [...oldRSs, newRS];
    }
    if (newRS) await this.#scaleAndRecord(st, newRS, st.spec.replicas);
    if (deploymentComplete(st.d, st.spec, (st.d.status ?? {}) as DeployStatus)) await this.#cleanup(st, oldRSs);
    return this.#syncRolloutStatus(st, allRSs, newRS);
  }

  /** Old pods still exist (Recreate must wait for them to be gone). */
  #oldPodsRunning(newRS: KObject | undefined, oldRSs: KObject[], rsList: KObject[]): boolean {
    if (actualReplicaCount(oldRSs) > 0) return true;
    for (const rs of rsList) {
      if (newRS && rs.metadata.uid === newRS.metadata.uid) continue;
      for (const pod of this.#pods.byIndex('controller', rs.metadata.uid ?? '')) {
        const phase = pod.status?.phase;
        if (phase !== 'Failed' && phase !== 'Succeeded') return true;
      }
    }
    return false;
  }

  /** Deletes old, empty ReplicaSets beyond revisionHistoryLimit, oldest revisions first. */
  async #cleanup(st: SyncState, oldRSs: KObject[]): Promise<void> {
    const cleanable = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp);
    const diff = cleanable.length - st.spec.revisionHistoryLimit;
    if (diff <= 0) return;
    cleanable.sort(byRevision);
    for (let i = 0; i < diff; i++) {
      const rs = cleanable[i];
      if ((rs.status?.replicas ?? 0) !== 0 || rsReplicas(rs) !== 0 || (rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
      await this.#ignoreNotFound(this.#client.delete(RS, st.ns, rs.metadata.name ?? ''));
    }
  }

  async #syncDeploymentStatus(st: SyncState, allRSs: Array<KObject | undefined>, newRS: KObject | undefined): Promise<void> {
    const status = calculateStatus(st.d, st.spec, allRSs, newRS);
    if (jsonEqual(compactStatus(status), compactStatus((st.d.status ?? {}) as DeployStatus))) return;
    await this.#writeStatus(st, status);
  }

  /** Status plus the Progressing condition; requeues a deployment that may hit its progress deadline. */
  async #syncRolloutStatus(st: SyncState, allRSs: Array<KObject | undefined>, newRS: KObject | undefined): Promise<ReconcileResult> {
    const d = st.d;
    const spec = st.spec;
    const now = Date.now();
    const old = (d.status ?? {}) as DeployStatus;
    const status = calculateStatus(d, spec, allRSs, newRS, now);
    const hasDeadline = spec.progressDeadlineSeconds !== undefined;
    if (!hasDeadline) removeCondition(status, 'Progressing');
    const cur = condition(old, 'Progressing');
    const complete = status.replicas === status.updatedReplicas && cur?.reason === 'NewReplicaSetAvailable';
    if (hasDeadline && !complete) {
      const subject = newRS ? `ReplicaSet "${newRS.metadata.name}"` : `Deployment "${d.metadata.name}"`;
      if (deploymentComplete(d, spec, status)) {
        setCondition(status, newCondition('Progressing', 'True', 'NewReplicaSetAvailable', `${subject} has successfully progressed.`, now));
      } else if (deploymentProgressing(old, status)) {
        const c = newCondition('Progressing', 'True', 'ReplicaSetUpdated', `${subject} is progressing.`, now);
        if (cur) {
          if (cur.status === 'True') c.lastTransitionTime = cur.lastTransitionTime;
          removeCondition(status, 'Progressing');
        }
        setCondition(status, c);
      } else if (deploymentTimedOut(spec, status, now)) {
        setCondition(status, newCondition('Progressing', 'False', 'ProgressDeadlineExceeded', `${subject} has timed out progressing.`, now));
      }
    }
    const failure = replicaFailure([newRS, ...allRSs.filter((rs) => rs !== newRS)]);
    if (failure) setCondition(status, newCondition('ReplicaFailure', failure.status, failure.reason, failure.message, now));
    else removeCondition(status, 'ReplicaFailure');
    if (!jsonEqual(compactStatus(status), compactStatus(old))) await this.#writeStatus(st, status);
    return this.#requeueStuck(spec, status, now);
  }

  /** Checks again when the progress deadline would pass (requeueStuckDeployment). */
  #requeueStuck(spec: DeploySpec, status: DeployStatus, now: number): ReconcileResult {
    if (spec.progressDeadlineSeconds === undefined) return;
    const c = condition(status, 'Progressing');
    if (!c || c.reason === 'NewReplicaSetAvailable' || c.reason === 'ProgressDeadlineExceeded' || c.status === 'Unknown') return;
    const from = parseStamp(c.lastUpdateTime);
    if (Number.isNaN(from)) return;
    return { requeueAfterMs: Math.max(1000, from + spec.progressDeadlineSeconds * 1000 - now + 1000) };
  }
}

/** The one active ReplicaSet, or the newest when none is active (FindActiveOrLatest). */
function findActiveOrLatest(newRS: KObject | undefined, oldRSs: KObject[]): KObject | undefined {
  if (!newRS && !oldRSs.length) return undefined;
  const sorted = [...oldRSs].sort(byCreation).reverse();
  const active = activeReplicaSets([...sorted, newRS]);
  if (active.length === 0) return newRS ?? sorted[0];
  if (active.length === 1) return active[0];
  return undefined;
}

/** The first ReplicaFailure condition of the ReplicaSets, new one first (getReplicaFailures). */
function replicaFailure(rss: Array<KObject | undefined>): { status: 'True' | 'False' | 'Unknown'; reason: string; message: string } | undefined {
  for (const rs of rss) {
    const c = (rs?.status?.conditions ?? []).find((x: { type?: string }) => x.type === 'ReplicaFailure');
    if (c) return { status: c.status, reason: c.reason ?? '', message: c.message ?? '' };
  }
  return undefined;
}
