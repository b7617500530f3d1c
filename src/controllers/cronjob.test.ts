import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../api/types.ts';
import { parseSchedule } from '../api/cron.ts';
import { CronJobController, mostRecentSchedule } from './cronjob.ts';
import { type Env, items, startEnv, waitFor } from './env.test-helper.ts';
import { EventRecorder } from './events.ts';
import { Informers } from './informer.ts';

const CJ = 'cronjobs.batch';
const JOBS = 'jobs.batch';
const MIN = 60_000;

function cronJob(name: string, spec: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name },
    spec: {
      schedule: '* * * * *',
      timeZone: 'UTC',
      jobTemplate: { metadata: { labels: { team: 'a' } }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', command: ['true'] }] } } } },
      ...spec,
    },
  };
}

/** The real controllers without the CronJob one, and a CronJob controller on a clock the test moves. */
function start(): { env: Env; clock: { now: number }; poke: (name: string) => Promise<void>; close: () => void } {
  const env = startEnv({ disable: ['cronjob'] });
  const clock = { now: Date.now() };
  const informers = new Informers(env.registry);
  const events = new EventRecorder(env.registry);
  const c = new CronJobController(env.registry, informers, events, { now: () => clock.now });
  let n = 0;
  return {
    env,
    clock,
    // A change to the CronJob makes the controller look again, at the clock's time.
    async poke(name) {
      const cur = env.registry.getSync(CJ, 'default', name);
      await env.registry.update(CJ, 'default', { ...cur, metadata: { ...cur.metadata, annotations: { ...cur.metadata.annotations, poke: String(++n) } } });
    },
    close() {
      c.close();
      events.close();
      informers.close();
      env.close();
    },
  };
}

function jobsOf(env: Env): KObject[] {
  return items(env.registry, JOBS);
}

/** Plays the Job controller's end: the Job is Complete. */
function complete(env: Env, job: KObject): void {
  const cur = env.registry.getSync(JOBS, 'default', job.metadata.name ?? '');
  const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const status = { startTime: t, completionTime: t, succeeded: 1, conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: t }] };
  env.registry.writeSync(JOBS, 'default', { ...cur, status }, 'status');
}

test('at each scheduled minute a Job is made from the template, named by the minute, owned by the CronJob', async () => {
  const t = start();
  try {
    await t.env.registry.create(CJ, 'default', cronJob('tick'));
    const cj = t.env.registry.getSync(CJ, 'default', 'tick');
    assert.equal(cj.spec.concurrencyPolicy, 'Allow');
    assert.equal(cj.spec.successfulJobsHistoryLimit, 3);
    t.clock.now = Math.floor(Date.parse(String(cj.metadata.creationTimestamp)) / MIN) * MIN + 2 * MIN + 5_000;
    await t.poke('tick');
    const job = await waitFor('a job', () => jobsOf(t.env)[0]);
    const minute = Math.floor(t.clock.now / MIN);
    assert.equal(job.metadata.name, `tick-${minute}`);
    assert.equal(job.metadata.labels?.team, 'a');
    assert.equal(job.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'], new Date(minute * MIN).toISOString().replace('.000Z', 'Z'));
    assert.equal(job.metadata.ownerReferences?.[0].kind, 'CronJob');
    const status = await waitFor('status', () => t.env.registry.getSync(CJ, 'default', 'tick').status?.active && t.env.registry.getSync(CJ, 'default', 'tick').status);
    assert.deepEqual(status.active.map((r: { name: string }) => r.name), [job.metadata.name]);
    assert.equal(Date.parse(status.lastScheduleTime), minute * MIN);
    // The same minute again makes nothing new.
    await t.poke('tick');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(jobsOf(t.env).length, 1);
    // A finished Job leaves status.active and sets lastSuccessfulTime.
    complete(t.env, job);
    await waitFor('inactive', () => !t.env.registry.getSync(CJ, 'default', 'tick').status?.active && t.env.registry.getSync(CJ, 'default', 'tick').status?.lastSuccessfulTime);
  } finally {
    t.close();
  }
});

test('Forbid skips a run while a Job runs; Replace deletes the running Job first', async () => {
  const t = start();
  try {
    await t.env.registry.create(CJ, 'default', cronJob('f', { concurrencyPolicy: 'Forbid' }));
    const base = Math.floor(Date.parse(String(t.env.registry.getSync(CJ, 'default', 'f').metadata.creationTimestamp)) / MIN) * MIN;
    t.clock.now = base + MIN + 1000;
    await t.poke('f');
    await waitFor('first job', () => jobsOf(t.env).length === 1);
    t.clock.now = base + 2 * MIN + 1000;
    await t.poke('f');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(jobsOf(t.env).length, 1, 'Forbid: no second Job while the first runs');

    const cur = t.env.registry.getSync(CJ, 'default', 'f');
    await t.env.registry.update(CJ, 'default', { ...cur, spec: { ...cur.spec, concurrencyPolicy: 'Replace' } });
    t.clock.now = base + 3 * MIN + 1000;
    await t.poke('f');
    await waitFor('the first Job replaced', () => {
      const names = jobsOf(t.env).filter((j) => !j.metadata.deletionTimestamp).map((j) => j.metadata.name);
      return names.length === 1 && names[0] === `f-${Math.floor(t.clock.now / MIN)}`;
    });
  } finally {
    t.close();
  }
});

test('finished Jobs beyond the history limits are deleted, oldest first', async () => {
  const t = start();
  try {
    await t.env.registry.create(CJ, 'default', cronJob('h', { successfulJobsHistoryLimit: 1 }));
    const base = Math.floor(Date.parse(String(t.env.registry.getSync(CJ, 'default', 'h').metadata.creationTimestamp)) / MIN) * MIN;
    for (let i = 1; i <= 3; i++) {
      t.clock.now = base + i * MIN + 1000;
      await t.poke('h');
      const job = await waitFor(`job ${i}`, () => jobsOf(t.env).find((j) => j.metadata.name === `h-${Math.floor(t.clock.now / MIN)}`));
      complete(t.env, job);
    }
    await waitFor('one Job kept', () => {
      const left = jobsOf(t.env).filter((j) => !j.metadata.deletionTimestamp);
      return left.length === 1 && left[0].metadata.name === `h-${Math.floor(t.clock.now / MIN)}`;
    });
  } finally {
    t.close();
  }
});

test('mostRecentSchedule gives the latest missed time, and flags more than 100 missed', () => {
  const t0 = Date.parse('2026-11-26T10:00:00Z');
  assert.deepEqual(mostRecentSchedule(parseSchedule('*/10 * * * *'), t0, t0 + 35 * MIN, 'UTC'), { at: t0 + 30 * MIN, tooMany: false });
  assert.deepEqual(mostRecentSchedule(parseSchedule('*/10 * * * *'), t0, t0 + 5 * MIN, 'UTC'), { at: undefined, tooMany: false });
  assert.deepEqual(mostRecentSchedule(parseSchedule('* * * * *'), t0, t0 + 3 * 24 * 60 * MIN + 30_000, 'UTC'), { at: t0 + 3 * 24 * 60 * MIN, tooMany: true });
});
