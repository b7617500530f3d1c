/**
 * The Job controller, after pkg/controller/job (Kubernetes 1.32), for the NonIndexed completion mode:
 * runs up to spec.parallelism pods until spec.completions of them succeeded; replaces failed pods
 * after an exponential back-off (10 s doubling, at most 6 min); fails the Job past spec.backoffLimit
 * (for restartPolicy OnFailure, container restarts count) or spec.activeDeadlineSeconds; honours
 * spec.suspend; deletes a finished Job after spec.ttlSecondsAfterFinished (the TTL-after-finished
 * controller). A finish is the two steps 1.32 takes: SuccessCriteriaMet then Complete, or
 * FailureTarget then Failed, once no pod of the Job is active. Counts come from the pods themselves
 * (upstream also puts a tracking finalizer on each pod so a deleted pod is still counted; Skiff's
 * pods of a running Job are deleted only by this controller or by hand).
 */
import type { Client, KObject } from '../api/index.ts';
import type { EventRecorder } from './events.ts';
import type { ChangeType, Informers } from './informer.ts';
import { OwnerController, podFromTemplate } from './owner.ts';
import type { ReconcileResult } from './queue.ts';
import { clone, isNotFound, isPodActive, isPodReady, keyOf, type Log, nowStamp, parseStamp, splitKey } from './util.ts';

const JOBS = 'jobs.batch';
const component = 'job-controller';

export const jobDefaults = {
  /** First delay before a failed pod is replaced; it doubles per failure (upstream DefaultJobPodFailureBackOff). */
  backoffMs: 10_000,
  /** The longest such delay (MaxJobPodFailureBackOff). */
  maxBackoffMs: 360_000,
  /** Expectations older than this are treated as met, so a lost watch event cannot wedge a Job. */
  expectationsTtlMs: 60_000,
};

interface Condition {
  type: string;
  status: string;
  lastProbeTime: string;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

const completed = { reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' };
const backoffExceeded = { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
const deadlineExceeded = { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };

function condition(type: string, c: { reason: string; message: string }, now: number): Condition {
  const t = nowStamp(now);
  return { type, status: 'True', lastProbeTime: t, lastTransitionTime: t, reason: c.reason, message: c.message };
}

function hasCondition(job: KObject, type: string): boolean {
  return ((job.status?.conditions ?? []) as Condition[]).some((c) => c.type === type && c.status === 'True');
}

/** True once the Job carries Complete or Failed. */
export function jobFinished(job: KObject): boolean {
  return hasCondition(job, 'Complete') || hasCondition(job, 'Failed');
}

/** When a pod finished (its last container's finishedAt, else its deletion or creation), ms. */
function finishedAt(pod: KObject): number {
  let t = NaN;
  for (const s of [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])]) {
    const f = parseStamp(s?.state?.terminated?.finishedAt);
    if (!Number.isNaN(f) && !(f <= t)) t = f;
  }
  return Number.isNaN(t) ? parseStamp(pod.metadata.creationTimestamp) : t;
}

function restartsOf(pod: KObject): number {
  let n = 0;
  for (const s of [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])]) n += Number(s?.restartCount ?? 0);
  return n;
}

/** The delay before the next pod after `failures` failures (0: none). */
export function podBackoffMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(jobDefaults.maxBackoffMs, jobDefaults.backoffMs * 2 ** Math.min(failures - 1, 30));
}

export class JobController extends OwnerController {
  /** Pods created and not yet seen, per Job key, with when the creations were made. */
  #expect = new Map<string, { add: number; at: number }>();

  constructor(client: Client, informers: Informers, events: EventRecorder, opts: { log?: Log } = {}) {
    super(client, informers, events, { owner: JOBS, kind: 'Job', children: 'pods', component, concurrency: 4, log: opts.log });
  }

  protected override ownerChanged(type: ChangeType, job: KObject): void {
    if (type === 'DELETED') this.#expect.delete(keyOf(job));
  }

  protected override childChanged(type: ChangeType, job: KObject): void {
    const e = this.#expect.get(keyOf(job));
    if (e && type === 'ADDED') e.add--;
  }

  #satisfied(key: string, now: number): boolean {
    const e = this.#expect.get(key);
    if (!e) return true;
    if (e.add <= 0 || now - e.at > jobDefaults.expectationsTtlMs) {
      this.#expect.delete(key);
      return true;
    }
    return false;
  }

  protected async sync(key: string): Promise<ReconcileResult> {
    const [ns, name] = splitKey(key);
    const job = this.owners.get(ns, name);
    if (!job || job.metadata.deletionTimestamp) return;
    const now = Date.now();
    if (jobFinished(job)) return this.#expire(job, now);
    const spec = job.spec ?? {};
    if (spec.completionMode === 'Indexed') {
      this.events.record(job, 'Warning', 'UnsupportedCompletionMode', 'Skiff runs Jobs in the NonIndexed completion mode only', component);
      return;
    }
    const pods = this.owned(job);
    const active = pods.filter(isPodActive);
    const succeeded = pods.filter((p) => p.status?.phase === 'Succeeded');
    const failed = pods.filter((p) => p.status?.phase === 'Failed');
    // Pods being deleted that have not stopped yet.
    const stopping = pods.filter((p) => p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed').length;
    const status: Record<string, unknown> = clone(job.status ?? {});
    const conditions: Condition[] = [...((status.conditions as Condition[] | undefined) ?? [])];
    const suspended = spec.suspend === true;
    if (!suspended && !status.startTime) status.startTime = nowStamp(now);
    const started = parseStamp(status.startTime);
    const completions: number | undefined = typeof spec.completions === 'number' ? spec.completions : undefined;
    const parallelism: number = typeof spec.parallelism === 'number' ? spec.parallelism : 1;
    const backoffLimit: number = typeof spec.backoffLimit === 'number' ? spec.backoffLimit : 6;
    const failures = failed.length + (spec.template?.spec?.restartPolicy === 'OnFailure' ? active.reduce((n, p) => n + restartsOf(p), 0) : 0);

    // Success, or a failure reason, first; then what is left active is stopped.
    let target = conditions.find((c) => (c.type === 'SuccessCriteriaMet' || c.type === 'FailureTarget') && c.status === 'True');
    if (!target) {
      const done = completions === undefined ? succeeded.length > 0 && active.length === 0 : succeeded.length >= completions;
      let why: { reason: string; message: string } | undefined;
      if (!done && failed.length > backoffLimit) why = backoffExceeded;
      else if (!done && spec.template?.spec?.restartPolicy === 'OnFailure' && backoffLimit > 0 && failures >= backoffLimit) why = backoffExceeded;
      else if (!done && !suspended && typeof spec.activeDeadlineSeconds === 'number' && now - started >= spec.activeDeadlineSeconds * 1000) why = deadlineExceeded;
      if (done) target = condition('SuccessCriteriaMet', completed, now);
      else if (why) target = condition('FailureTarget', why, now);
      if (target) conditions.push(target);
    }

    let requeueAfterMs = 0;
    let manageErr: unknown;
    let deleted: KObject[] = [];
    if (target) {
      deleted = await this.#deleteAll(job, active);
      if (active.length === 0 && stopping === 0) {
        const success = target.type === 'SuccessCriteriaMet';
        conditions.push(condition(success ? 'Complete' : 'Failed', target, now));
        if (success) {
          status.completionTime = nowStamp(now);
          this.events.record(job, 'Normal', 'Completed', 'Job completed', component);
        } else this.events.record(job, 'Warning', target.reason, target.message, component);
      }
    } else if (suspended) {
      deleted = await this.#deleteAll(job, active);
      if (!hasCondition(job, 'Suspended')) {
        setSuspended(conditions, 'True', 'JobSuspended', 'Job suspended', now);
        this.events.record(job, 'Normal', 'Suspended', 'Job suspended', component);
      }
    } else {
      if (hasCondition(job, 'Suspended')) {
        setSuspended(conditions, 'False', 'JobResumed', 'Job resumed', now);
        this.events.record(job, 'Normal', 'Resumed', 'Job resumed', component);
      }
      const left = completions === undefined ? (succeeded.length > 0 ? 0 : parallelism) : completions - succeeded.length;
      const want = Math.max(0, Math.min(parallelism, left));
      if (active.length < want && this.#satisfied(key, now)) {
        // A failed pod is replaced after the back-off, counted from the latest failure.
        const lastFailure = failed.reduce((t, p) => Math.max(t, finishedAt(p)), -Infinity);
        const wait = failed.length ? lastFailure + podBackoffMs(failed.length) - now : 0;
        if (wait > 0) requeueAfterMs = wait;
        else {
          try {
            await this.#create(key, job, want - active.length);
          } catch (e) {
            manageErr = e;
          }
        }
      } else if (active.length > want) deleted = await this.#deleteAll(job, active.slice(want));
      if (typeof spec.activeDeadlineSeconds === 'number' && !suspended) {
        const left = started + spec.activeDeadlineSeconds * 1000 - now;
        requeueAfterMs = requeueAfterMs ? Math.min(requeueAfterMs, left) : left;
      }
    }

    const running = active.filter((p) => !deleted.includes(p));
    if (running.length) status.active = running.length;
    else delete status.active;
    if (succeeded.length) status.succeeded = succeeded.length;
    if (failed.length) status.failed = failed.length;
    status.ready = running.filter(isPodReady).length;
    status.terminating = stopping + deleted.length;
    status.uncountedTerminatedPods = {};
    if (conditions.length) status.conditions = conditions;
    await this.writeStatus(JOBS, job, status);
    if (manageErr) throw manageErr;
    // Pods still stopping, or a finish to be written: look again soon.
    if (target && !conditions.some((c) => c.type === 'Complete' || c.type === 'Failed')) return { requeueAfterMs: 500 };
    return requeueAfterMs > 0 ? { requeueAfterMs: Math.max(50, requeueAfterMs + 10) } : undefined;
  }

  /** A finished Job with ttlSecondsAfterFinished is deleted (with its pods) once that time has passed. */
  async #expire(job: KObject, now: number): Promise<ReconcileResult> {
    const ttl = job.spec?.ttlSecondsAfterFinished;
    if (typeof ttl !== 'number') return;
    const done = ((job.status?.conditions ?? []) as Condition[]).find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
    const left = parseStamp(done?.lastTransitionTime) + ttl * 1000 - now;
    if (left > 0) return { requeueAfterMs: left + 10 };
    try {
      await this.client.delete(JOBS, job.metadata.namespace, job.metadata.name ?? '', { propagationPolicy: 'Foreground', preconditions: { uid: job.metadata.uid } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async #create(key: string, job: KObject, n: number): Promise<void> {
    const e = { add: n, at: Date.now() };
    this.#expect.set(key, e);
    const results = await Promise.allSettled(Array.from({ length: n }, () => this.createPod(job, podFromTemplate(job, 'batch/v1', 'Job', job.spec?.template))));
    const failedCreates = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    // Pods never created will never be observed.
    e.add -= failedCreates.length;
    if (failedCreates.length) throw failedCreates[0].reason;
  }

  /** Deletes these pods; returns those it deleted (a pod already gone is not one of them). */
  async #deleteAll(job: KObject, pods: KObject[]): Promise<KObject[]> {
    const out: KObject[] = [];
    for (const pod of pods) {
      if (!(await this.deleteChild('pods', pod))) continue;
      this.events.record(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`, component);
      out.push(pod);
    }
    return out;
  }
}

function setSuspended(conditions: Condition[], status: string, reason: string, message: string, now: number): void {
  const t = nowStamp(now);
  const i = conditions.findIndex((c) => c.type === 'Suspended');
  const c: Condition = { type: 'Suspended', status, lastProbeTime: t, lastTransitionTime: t, reason, message };
  if (i >= 0) conditions[i] = c;
  else conditions.push(c);
}
