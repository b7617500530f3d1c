/**
 * Pure parts of the Deployment controller, after pkg/controller/deployment/util: defaults, fenceposts,
 * ReplicaSet sorting and counting, revisions, annotations, status and conditions.
 */
import type { KObject } from '../api/index.ts';
import { computeHash, equalIgnoreHash, podTemplateHashLabel } from './hash.ts';
import { nowStamp, parseStamp, scaledValue } from './util.ts';

export const revisionAnnotation = 'deployment.kubernetes.io/revision';
export const revisionHistoryAnnotation = 'deployment.kubernetes.io/revision-history';
export const desiredReplicasAnnotation = 'deployment.kubernetes.io/desired-replicas';
export const maxReplicasAnnotation = 'deployment.kubernetes.io/max-replicas';

/** Deployment annotations that are not copied to ReplicaSets (skipCopyAnnotation). */
const skipCopy = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  revisionAnnotation,
  revisionHistoryAnnotation,
  desiredReplicasAnnotation,
  maxReplicasAnnotation,
  'deprecated.deployment.rollback.to',
]);

/** The parts of a Deployment spec the controller reads, with apps/v1 defaults applied. */
export interface DeploySpec {
  replicas: number;
  recreate: boolean;
  maxSurge: number | string;
  maxUnavailable: number | string;
  revisionHistoryLimit: number;
  progressDeadlineSeconds: number | undefined;
  minReadySeconds: number;
  paused: boolean;
}

/** Reads a Deployment's spec with defaults (replicas 1, RollingUpdate 25%/25%, history 10, deadline 600 s). */
export function deploySpec(d: KObject): DeploySpec {
  const s = d.spec ?? {};
  const recreate = s.strategy?.type === 'Recreate';
  const ru = s.strategy?.rollingUpdate ?? {};
  return {
    replicas: typeof s.replicas === 'number' ? s.replicas : 1,
    recreate,
    maxSurge: ru.maxSurge ?? '25%',
    maxUnavailable: ru.maxUnavailable ?? '25%',
    revisionHistoryLimit: typeof s.revisionHistoryLimit === 'number' ? s.revisionHistoryLimit : 10,
    // Upstream: math.MaxInt32 means "no deadline".
    progressDeadlineSeconds: typeof s.progressDeadlineSeconds === 'number' ? (s.progressDeadlineSeconds >= 2147483647 ? undefined : s.progressDeadlineSeconds) : 600,
    minReadySeconds: typeof s.minReadySeconds === 'number' ? s.minReadySeconds : 0,
    paused: s.paused === true,
  };
}

/** [maxSurge, maxUnavailable] as numbers for `desired` replicas; both 0 becomes unavailable 1 (ResolveFenceposts). */
export function resolveFenceposts(maxSurge: number | string, maxUnavailable: number | string, desired: number): [number, number] {
  const surge = scaledValue(maxSurge, desired, true, '25%');
  const unavailable = scaledValue(maxUnavailable, desired, false, '25%');
  if (surge === 0 && unavailable === 0) return [0, 1];
  return [surge, unavailable];
}

/** MaxSurge of a deployment (0 for Recreate). */
export function maxSurge(spec: DeploySpec): number {
  if (spec.recreate) return 0;
  return resolveFenceposts(spec.maxSurge, spec.maxUnavailable, spec.replicas)[0];
}

/** MaxUnavailable of a deployment (0 for Recreate or no replicas; never above replicas). */
export function maxUnavailable(spec: DeploySpec): number {
  if (spec.recreate || spec.replicas === 0) return 0;
  const u = resolveFenceposts(spec.maxSurge, spec.maxUnavailable, spec.replicas)[1];
  return Math.min(u, spec.replicas);
}

/** spec.replicas of a ReplicaSet (0 when absent, as the controller always sets it). */
export function rsReplicas(rs: KObject | undefined): number {
  return typeof rs?.spec?.replicas === 'number' ? rs.spec.replicas : 0;
}

function statusNum(rs: KObject | undefined, f: string): number {
  const v = rs?.status?.[f];
  return typeof v === 'number' ? v : 0;
}

/** Sum of spec.replicas. */
export function replicaCount(rss: Array<KObject | undefined>): number {
  return rss.reduce((n, rs) => n + rsReplicas(rs), 0);
}

/** Sum of status.replicas. */
export function actualReplicaCount(rss: Array<KObject | undefined>): number {
  return rss.reduce((n, rs) => n + statusNum(rs, 'replicas'), 0);
}

/** Sum of status.readyReplicas. */
export function readyReplicaCount(rss: Array<KObject | undefined>): number {
  return rss.reduce((n, rs) => n + statusNum(rs, 'readyReplicas'), 0);
}

/** Sum of status.availableReplicas. */
export function availableReplicaCount(rss: Array<KObject | undefined>): number {
  return rss.reduce((n, rs) => n + statusNum(rs, 'availableReplicas'), 0);
}

/** ReplicaSets with spec.replicas > 0. */
export function activeReplicaSets(rss: Array<KObject | undefined>): KObject[] {
  return rss.filter((rs): rs is KObject => rs !== undefined && rsReplicas(rs) > 0);
}

function created(o: KObject): number {
  const t = parseStamp(o.metadata.creationTimestamp);
  return Number.isNaN(t) ? 0 : t;
}

/** Oldest first, ties by name (ReplicaSetsByCreationTimestamp). */
export function byCreation(a: KObject, b: KObject): number {
  return created(a) - created(b) || String(a.metadata.name).localeCompare(String(b.metadata.name));
}

/** Larger first, ties newer first (ReplicaSetsBySizeNewer). */
export function bySizeNewer(a: KObject, b: KObject): number {
  return rsReplicas(b) - rsReplicas(a) || -byCreation(a, b);
}

/** Larger first, ties older first (ReplicaSetsBySizeOlder). */
export function bySizeOlder(a: KObject, b: KObject): number {
  return rsReplicas(b) - rsReplicas(a) || byCreation(a, b);
}

/** The revision annotation as a number (0 when absent or bad). */
export function revisionOf(o: KObject | undefined): number {
  const v = Number(o?.metadata.annotations?.[revisionAnnotation]);
  return Number.isInteger(v) && v > 0 ? v : 0;
}

/** Lowest revision first (ReplicaSetsByRevision). */
export function byRevision(a: KObject, b: KObject): number {
  return revisionOf(a) - revisionOf(b) || byCreation(a, b);
}

/**
 * The oldest ReplicaSet whose template equals the deployment's (FindNewReplicaSet). Fallback: the one
 * whose pod-template-hash is the hash of the deployment's template; it was made from this very
 * template, so only a divergence in server-side defaulting could make them differ, and treating it as
 * new then avoids creating ReplicaSets over and over.
 */
export function findNewReplicaSet(d: KObject, rss: KObject[]): KObject | undefined {
  const sorted = [...rss].sort(byCreation);
  const exact = sorted.find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
  if (exact) return exact;
  const hash = computeHash(d.spec?.template ?? {}, typeof d.status?.collisionCount === 'number' ? d.status.collisionCount : undefined);
  return sorted.find((rs) => rs.metadata.labels?.[podTemplateHashLabel] === hash && rs.metadata.name === `${d.metadata.name}-${hash}`);
}

/** NewRSNewReplicas: the new ReplicaSet's size for this step of a rollout. */
export function newRSNewReplicas(spec: DeploySpec, allRSs: KObject[], newRS: KObject): number {
  if (spec.recreate) return spec.replicas;
  const surge = maxSurge(spec);
  const current = replicaCount(allRSs);
  const maxTotal = spec.replicas + surge;
  if (current >= maxTotal) return rsReplicas(newRS);
  const up = Math.min(maxTotal - current, spec.replicas - rsReplicas(newRS));
  return rsReplicas(newRS) + up;
}

/** Parses an int annotation. */
function intAnnotation(o: KObject, k: string): number | undefined {
  const v = o.metadata.annotations?.[k];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) ? n : undefined;
}

/** desired-replicas annotation. */
export function desiredReplicasOf(rs: KObject): number | undefined {
  return intAnnotation(rs, desiredReplicasAnnotation);
}

/** True when the replicas annotations differ from (desired, max) (ReplicasAnnotationsNeedUpdate). */
export function replicasAnnotationsNeedUpdate(rs: KObject, desired: number, max: number): boolean {
  const a = rs.metadata.annotations ?? {};
  return a[desiredReplicasAnnotation] !== String(desired) || a[maxReplicasAnnotation] !== String(max);
}

/** Sets desired-replicas and max-replicas; true when something changed. */
export function setReplicasAnnotations(rs: KObject, desired: number, max: number): boolean {
  if (!replicasAnnotationsNeedUpdate(rs, desired, max)) return false;
  rs.metadata.annotations = { ...(rs.metadata.annotations ?? {}), [desiredReplicasAnnotation]: String(desired), [maxReplicasAnnotation]: String(max) };
  return true;
}

/** Copies the deployment's own annotations onto the ReplicaSet (copyDeploymentAnnotationsToReplicaSet). */
function copyAnnotations(d: KObject, rs: KObject): boolean {
  let changed = false;
  const a = (rs.metadata.annotations ??= {});
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (skipCopy.has(k) || a[k] === v) continue;
    a[k] = v;
    changed = true;
  }
  return changed;
}

/**
 * SetNewReplicaSetAnnotations: copies annotations, raises the revision (keeping the old one in
 * revision-history when an old ReplicaSet is reused, i.e. a rollback) and, for a ReplicaSet about
 * to be created, sets the replicas annotations. True when something changed.
 */
export function setNewReplicaSetAnnotations(d: KObject, rs: KObject, newRevision: number, exists: boolean, spec: DeploySpec): boolean {
  let changed = copyAnnotations(d, rs);
  const a = (rs.metadata.annotations ??= {});
  const had = Object.prototype.hasOwnProperty.call(a, revisionAnnotation);
  const oldText = a[revisionAnnotation];
  let old = 0;
  if (had) {
    old = Number(oldText);
    if (!Number.isInteger(old)) {
      if (oldText !== '') return false;
      old = 0;
    }
  }
  if (old < newRevision) {
    a[revisionAnnotation] = String(newRevision);
    changed = true;
    if (had && oldText) {
      const hist = a[revisionHistoryAnnotation];
      a[revisionHistoryAnnotation] = hist ? `${hist},${oldText}` : oldText;
    }
  }
  if (!exists && setReplicasAnnotations(rs, spec.replicas, spec.replicas + maxSurge(spec))) changed = true;
  return changed;
}

/** One DeploymentCondition. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastUpdateTime: string;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** NewDeploymentCondition at `now`. */
export function newCondition(type: string, status: Condition['status'], reason: string, message: string, now = Date.now()): Condition {
  const t = nowStamp(now);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

/** The condition of a type from a status. */
export function condition(status: { conditions?: Condition[] } | undefined, type: string): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/**
 * SetDeploymentCondition: no-op when status and reason are unchanged; keeps lastTransitionTime when
 * only the reason changes; the condition moves to the end of the list, as upstream.
 */
export function setCondition(status: { conditions?: Condition[] }, c: Condition): void {
  const cur = condition(status, c.type);
  if (cur && cur.status === c.status && cur.reason === c.reason) return;
  if (cur && cur.status === c.status) c.lastTransitionTime = cur.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((x) => x.type !== c.type), c];
}

/** Removes a condition type. */
export function removeCondition(status: { conditions?: Condition[] }, type: string): void {
  if (status.conditions) status.conditions = status.conditions.filter((c) => c.type !== type);
}

/** The status fields of a Deployment. */
export interface DeployStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  conditions?: Condition[];
  collisionCount?: number;
}

/** calculateStatus: counts from the ReplicaSets plus the Available condition. */
export function calculateStatus(d: KObject, spec: DeploySpec, allRSs: Array<KObject | undefined>, newRS: KObject | undefined, now = Date.now()): DeployStatus {
  const available = availableReplicaCount(allRSs);
  const unavailable = Math.max(0, replicaCount(allRSs) - available);
  const cur = (d.status ?? {}) as DeployStatus;
  const status: DeployStatus = {
    observedGeneration: d.metadata.generation,
    replicas: actualReplicaCount(allRSs),
    updatedReplicas: actualReplicaCount([newRS]),
    readyReplicas: readyReplicaCount(allRSs),
    availableReplicas: available,
    unavailableReplicas: unavailable,
    conditions: (cur.conditions ?? []).map((c) => ({ ...c })),
  };
  if (cur.collisionCount !== undefined) status.collisionCount = cur.collisionCount;
  if (available >= spec.replicas - maxUnavailable(spec)) {
    setCondition(status, newCondition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', now));
  } else {
    setCondition(status, newCondition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.', now));
  }
  return status;
}

/** DeploymentComplete: every replica updated and available, and the spec observed. */
export function deploymentComplete(d: KObject, spec: DeploySpec, s: DeployStatus): boolean {
  return (s.updatedReplicas ?? 0) === spec.replicas && (s.replicas ?? 0) === spec.replicas && (s.availableReplicas ?? 0) === spec.replicas && (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
}

/** DeploymentProgressing: more updated, fewer old, more ready or more available than before. */
export function deploymentProgressing(old: DeployStatus, s: DeployStatus): boolean {
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) || newOld < oldOld || (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) || (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0);
}

/** DeploymentTimedOut: the Progressing condition has not moved within progressDeadlineSeconds. */
export function deploymentTimedOut(spec: DeploySpec, s: DeployStatus, now = Date.now()): boolean {
  if (spec.progressDeadlineSeconds === undefined) return false;
  const c = condition(s, 'Progressing');
  if (!c) return false;
  if (c.reason === 'NewReplicaSetAvailable') return false;
  if (c.reason === 'ProgressDeadlineExceeded') return true;
  const from = parseStamp(c.lastUpdateTime);
  return !Number.isNaN(from) && from + spec.progressDeadlineSeconds * 1000 < now;
}

/** The status as written: zero counts omitted, as Go's omitempty does. */
export function compactStatus(s: DeployStatus): DeployStatus {
  const out: DeployStatus = {};
  if (s.observedGeneration) out.observedGeneration = s.observedGeneration;
  for (const k of ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'] as const) if (s[k]) out[k] = s[k];
  if (s.conditions?.length) out.conditions = s.conditions;
  if (s.collisionCount !== undefined) out.collisionCount = s.collisionCount;
  return out;
}

/** getReplicaSetFraction: the share of `toAdd` this ReplicaSet gets in a proportional scale. */
function replicaSetFraction(rs: KObject, spec: DeploySpec, statusReplicas: number): number {
  if (spec.replicas === 0) return -rsReplicas(rs);
  const deploymentReplicas = spec.replicas + maxSurge(spec);
  const annotated = intAnnotation(rs, maxReplicasAnnotation) ?? statusReplicas;
  if (!annotated) return 0;
  return roundHalfAway((rsReplicas(rs) * deploymentReplicas) / annotated) - rsReplicas(rs);
}

/** Go's math.Round: halves round away from zero (Math.round rounds them up). */
function roundHalfAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

/** GetProportion. */
export function proportion(rs: KObject, spec: DeploySpec, statusReplicas: number, toAdd: number, added: number): number {
  if (rsReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const fraction = replicaSetFraction(rs, spec, statusReplicas);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

/**
 * Proportional scaling (DeploymentController.scale, the rolling branch): new sizes by name for the
 * active ReplicaSets, spreading the change by their share and giving leftovers to the largest.
 */
export function proportionalSizes(spec: DeploySpec, statusReplicas: number, active: KObject[]): { sizes: Map<string, number>; op: 'up' | 'down' | '' } {
  const all = [...active];
  const current = replicaCount(all);
  const allowed = spec.replicas > 0 ? spec.replicas + maxSurge(spec) : 0;
  const toAdd = allowed - current;
  let op: 'up' | 'down' | '' = '';
  if (toAdd > 0) {
    all.sort(bySizeNewer);
    op = 'up';
  } else if (toAdd < 0) {
    all.sort(bySizeOlder);
    op = 'down';
  }
  const sizes = new Map<string, number>();
  let added = 0;
  for (const rs of all) {
    if (toAdd !== 0) {
      const p = proportion(rs, spec, statusReplicas, toAdd, added);
      sizes.set(rs.metadata.name ?? '', rsReplicas(rs) + p);
      added += p;
    } else sizes.set(rs.metadata.name ?? '', rsReplicas(rs));
  }
  if (all.length && toAdd !== 0) {
    const first = all[0].metadata.name ?? '';
    sizes.set(first, Math.max(0, (sizes.get(first) ?? 0) + toAdd - added));
  }
  return { sizes, op };
}
