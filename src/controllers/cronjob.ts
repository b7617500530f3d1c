/**
 * The CronJob controller, after pkg/controller/cronjob (controller v2, Kubernetes 1.32): at each
 * scheduled time (spec.schedule in spec.timeZone, else this machine's zone) it creates a Job from
 * spec.jobTemplate named `<cronjob>-<minutes since the epoch>`; a missed run is made late when it is
 * within spec.startingDeadlineSeconds (only the latest missed one, as upstream); concurrencyPolicy
 * Allow, Forbid (skip while a Job runs) or Replace (delete the running ones first); spec.suspend;
 * status.active, lastScheduleTime and lastSuccessfulTime; finished Jobs beyond
 * successfulJobsHistoryLimit / failedJobsHistoryLimit are deleted, oldest first.
 */
import type { Client, KObject } from '../api/index.ts';
import { CronError, nextAfter, parseSchedule, type Schedule } from '../api/cron.ts';
import type { EventRecorder } from './events.ts';
import type { Informers } from './informer.ts';
import { jobFinished } from './job.ts';
import { OwnerController } from './owner.ts';
import type { ReconcileResult } from './queue.ts';
import { clone, errorMessage, isAlreadyExists, type Log, newControllerRef, nowStamp, parseStamp, splitKey } from './util.ts';

const CRONJOBS = 'cronjobs.batch';
const JOBS = 'jobs.batch';
const component = 'cronjob-controller';
const scheduledAnnotation = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

function finishCondition(job: KObject): { type: string; at: number } | undefined {
  for (const c of (job.status?.conditions ?? []) as Array<{ type: string; status: string; lastTransitionTime?: string }>) {
    if ((c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') return { type: c.type, at: parseStamp(c.lastTransitionTime) };
  }
  return undefined;
}

/**
 * The latest scheduled time in (since, now], and whether there were more than 100 of them (upstream
 * then warns, and still starts only the latest).
 */
export function mostRecentSchedule(s: Schedule, since: number, now: number, zone?: string): { at: number | undefined; tooMany: boolean } {
  let at: number | undefined;
  let n = 0;
  for (let t = nextAfter(s, since, zone); t !== undefined && t <= now; t = nextAfter(s, t, zone)) {
    at = t;
    if (++n > 100) return { at: latestBefore(s, now, t, zone), tooMany: true };
  }
  return { at, tooMany: false };
}

/** The latest scheduled time in [floor, now], found in growing windows back from now. */
function latestBefore(s: Schedule, now: number, floor: number, zone: string | undefined): number {
  for (const w of [3_600_000, 86_400_000, 32 * 86_400_000, 366 * 86_400_000, 5 * 366 * 86_400_000]) {
    let last: number | undefined;
    for (let t = nextAfter(s, Math.max(floor, now - w), zone); t !== undefined && t <= now; t = nextAfter(s, t, zone)) last = t;
    if (last !== undefined) return last;
  }
  return floor;
}

export class CronJobController extends OwnerController {
  #now: () => number;

  constructor(client: Client, informers: Informers, events: EventRecorder, opts: { log?: Log; now?: () => number } = {}) {
    super(client, informers, events, { owner: CRONJOBS, kind: 'CronJob', children: JOBS, component, concurrency: 2, log: opts.log });
    this.#now = opts.now ?? Date.now;
  }

  protected async sync(key: string): Promise<ReconcileResult> {
    const [ns, name] = splitKey(key);
    const cj = this.owners.get(ns, name);
    if (!cj || cj.metadata.deletionTimestamp) return;
    const now = this.#now();
    const spec = cj.spec ?? {};
    const jobs = this.owned(cj).filter((j) => !j.metadata.deletionTimestamp);
    const status: Record<string, unknown> = clone(cj.status ?? {});
    const seenActive = new Set(((status.active ?? []) as Array<{ uid?: string }>).map((r) => r.uid));

    // Finished Jobs leave status.active; the latest success is remembered.
    const running: KObject[] = [];
    for (const j of jobs) {
      const done = finishCondition(j);
      if (!done) {
        running.push(j);
        continue;
      }
      if (seenActive.has(j.metadata.uid)) this.events.record(cj, 'Normal', 'SawCompletedJob', `Saw completed job: ${j.metadata.name}, condition: ${done.type}`, component);
      if (done.type === 'Complete') {
        const at = parseStamp(j.status?.completionTime) || done.at;
        if (!(parseStamp(status.lastSuccessfulTime) >= at)) status.lastSuccessfulTime = nowStamp(at);
      }
    }
    await this.#cleanHistory(cj, jobs);

    let requeueAfterMs: number | undefined;
    const zone = typeof spec.timeZone === 'string' && spec.timeZone ? spec.timeZone : undefined;
    if (spec.suspend !== true) {
      const since = Math.max(parseStamp(status.lastScheduleTime) || 0, parseStamp(cj.metadata.creationTimestamp) || 0);
      let schedule: Schedule;
      try {
        schedule = parseSchedule(String(spec.schedule ?? ''));
      } catch (e) {
        this.events.record(cj, 'Warning', 'UnparseableSchedule', `unparseable schedule: ${JSON.stringify(spec.schedule)} : ${e instanceof CronError ? e.message : errorMessage(e)}`, component);
        return;
      }
      const recent = mostRecentSchedule(schedule, since, now, zone);
      if (recent.tooMany) this.events.record(cj, 'Warning', 'TooManyMissedTimes', 'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew', component);
      const at = recent.at;
      const deadline = typeof spec.startingDeadlineSeconds === 'number' ? spec.startingDeadlineSeconds * 1000 : undefined;
      if (at !== undefined) {
        if (deadline !== undefined && at + deadline < now) {
          this.events.record(cj, 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${new Date(at).toUTCString().replace('GMT', '+0000')}`, component);
          status.lastScheduleTime = nowStamp(at);
        } else if (spec.concurrencyPolicy === 'Forbid' && running.length > 0) {
          // Not started; tried again when the running Job finishes (its change requeues this one).
        } else {
          if (spec.concurrencyPolicy === 'Replace') {
            for (const j of running.splice(0)) await this.#deleteJob(cj, j);
          }
          const job = await this.#createJob(cj, at);
          if (job) running.push(job);
          status.lastScheduleTime = nowStamp(at);
        }
      }
      const next = nextAfter(schedule, Math.max(now, at ?? 0), zone);
      if (next !== undefined) requeueAfterMs = next - now + 100;
    }

    const active = running.map((j) => ({ apiVersion: 'batch/v1', kind: 'Job', name: j.metadata.name, namespace: ns, uid: j.metadata.uid, resourceVersion: j.metadata.resourceVersion }));
    if (active.length) status.active = active;
    else delete status.active;
    await this.writeStatus(CRONJOBS, cj, status);
    return requeueAfterMs !== undefined ? { requeueAfterMs: Math.max(50, requeueAfterMs) } : undefined;
  }

  async #createJob(cj: KObject, at: number): Promise<KObject | undefined> {
    const t = cj.spec?.jobTemplate ?? {};
    const meta = t.metadata ?? {};
    const name = `${cj.metadata.name}-${Math.floor(at / 60_000)}`;
    const job: KObject = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        namespace: cj.metadata.namespace,
        labels: { ...(meta.labels ?? {}) },
        annotations: { ...(meta.annotations ?? {}), [scheduledAnnotation]: nowStamp(at) },
        ownerReferences: [newControllerRef(cj, 'batch/v1', 'CronJob')],
      },
      spec: clone(t.spec ?? {}),
    };
    try {
      const created = await this.client.create(JOBS, cj.metadata.namespace, job);
      this.events.record(cj, 'Normal', 'SuccessfulCreate', `Created job ${name}`, component);
      return created;
    } catch (e) {
      if (isAlreadyExists(e)) return undefined;
      this.events.record(cj, 'Warning', 'FailedCreate', `Error creating job: ${errorMessage(e)}`, component);
      throw e;
    }
  }

  async #deleteJob(cj: KObject, job: KObject): Promise<void> {
    if (await this.deleteChild(JOBS, job, 'Background')) this.events.record(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${job.metadata.name}`, component);
  }

  /** Deletes the oldest finished Jobs beyond the history limits (3 successful and 1 failed by default). */
  async #cleanHistory(cj: KObject, jobs: KObject[]): Promise<void> {
    const keep = { Complete: num(cj.spec?.successfulJobsHistoryLimit, 3), Failed: num(cj.spec?.failedJobsHistoryLimit, 1) };
    for (const type of ['Complete', 'Failed'] as const) {
      const done = jobs.filter((j) => jobFinished(j) && finishCondition(j)?.type === type);
      done.sort((a, b) => startOf(a) - startOf(b));
      for (const j of done.slice(0, Math.max(0, done.length - keep[type]))) await this.#deleteJob(cj, j);
    }
  }
}

function num(v: unknown, dflt: number): number {
  return typeof v === 'number' ? v : dflt;
}

function startOf(job: KObject): number {
  const t = parseStamp(job.status?.startTime);
  return Number.isNaN(t) ? parseStamp(job.metadata.creationTimestamp) : t;
}
