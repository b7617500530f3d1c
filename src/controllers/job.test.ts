import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../api/types.ts';
import { type Env, items, startEnv, waitFor } from './env.test-helper.ts';
import { jobDefaults, podBackoffMs } from './job.ts';

const JOBS = 'jobs.batch';

function job(name: string, spec: Record<string, unknown> = {}, restartPolicy = 'Never'): KObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: { template: { spec: { restartPolicy, containers: [{ name: 'work', image: 'busybox', command: ['true'] }] } }, ...spec },
  };
}

function getJob(env: Env, name: string): KObject {
  return env.registry.getSync(JOBS, 'default', name);
}

function podsOf(env: Env, name: string): KObject[] {
  return items(env.registry, 'pods', 'default', `batch.kubernetes.io/job-name=${name}`);
}

/** Acts as the kubelet: the pod's one container ran and exited with `code`. */
function finish(env: Env, pod: KObject, code: number): void {
  const cur = env.registry.getSync('pods', 'default', pod.metadata.name ?? '');
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const status = {
    phase: code === 0 ? 'Succeeded' : 'Failed',
    startTime: now,
    containerStatuses: [{ name: 'work', image: 'busybox', imageID: '', ready: false, restartCount: 0, started: false, state: { terminated: { exitCode: code, reason: code === 0 ? 'Completed' : 'Error', startedAt: now, finishedAt: now } } }],
  };
  env.registry.writeSync('pods', 'default', { ...cur, status }, 'status');
}

function types(j: KObject): string[] {
  return (j.status?.conditions ?? []).map((c: { type: string }) => c.type);
}

test('a Job runs parallelism pods until completions succeeded, then is SuccessCriteriaMet and Complete', async () => {
  const env = startEnv();
  try {
    await env.registry.create(JOBS, 'default', job('pi', { completions: 3, parallelism: 2 }));
    const first = await waitFor('2 pods', () => podsOf(env, 'pi').length === 2 && podsOf(env, 'pi'));
    const j = getJob(env, 'pi');
    for (const p of first) {
      assert.ok(p.metadata.name?.startsWith('pi-'));
      assert.deepEqual(p.metadata.ownerReferences, [{ apiVersion: 'batch/v1', kind: 'Job', name: 'pi', uid: j.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    }
    await waitFor('active 2 and a start time', () => getJob(env, 'pi').status?.active === 2 && getJob(env, 'pi').status?.startTime);
    for (const p of first) finish(env, p, 0);
    // One more completion is needed: one more pod, not two.
    const third = await waitFor('a third pod', () => podsOf(env, 'pi').find((p) => !first.some((f) => f.metadata.name === p.metadata.name)));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(podsOf(env, 'pi').length, 3);
    finish(env, third, 0);
    const done = await waitFor('complete', () => types(getJob(env, 'pi')).includes('Complete') && getJob(env, 'pi'));
    assert.deepEqual(types(done), ['SuccessCriteriaMet', 'Complete']);
    const complete = done.status.conditions[1];
    assert.equal(complete.reason, 'CompletionsReached');
    assert.equal(complete.message, 'Reached expected number of succeeded pods');
    assert.equal(done.status.succeeded, 3);
    assert.equal(done.status.active, undefined);
    assert.equal(done.status.ready, 0);
    assert.ok(done.status.completionTime);
    const reasons = items(env.registry, 'events').filter((e) => (e.involvedObject as { name?: string } | undefined)?.name === 'pi').map((e) => e.reason);
    assert.ok(reasons.includes('SuccessfulCreate') && reasons.includes('Completed'), reasons.join(','));
  } finally {
    env.close();
  }
});

test('failed pods are replaced after the back-off, and the Job fails past its backoffLimit', async () => {
  const env = startEnv();
  const saved = jobDefaults.backoffMs;
  jobDefaults.backoffMs = 20;
  try {
    await env.registry.create(JOBS, 'default', job('flaky', { backoffLimit: 1 }));
    const a = await waitFor('first pod', () => podsOf(env, 'flaky')[0]);
    finish(env, a, 1);
    const b = await waitFor('a replacement', () => podsOf(env, 'flaky').find((p) => p.metadata.name !== a.metadata.name));
    finish(env, b, 1);
    const failed = await waitFor('failed', () => types(getJob(env, 'flaky')).includes('Failed') && getJob(env, 'flaky'));
    assert.deepEqual(types(failed), ['FailureTarget', 'Failed']);
    assert.equal(failed.status.conditions[1].reason, 'BackoffLimitExceeded');
    assert.equal(failed.status.conditions[1].message, 'Job has reached the specified backoff limit');
    assert.equal(failed.status.failed, 2);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(podsOf(env, 'flaky').length, 2, 'no pod after the Job failed');
  } finally {
    jobDefaults.backoffMs = saved;
    env.close();
  }
});

test('activeDeadlineSeconds stops the running pods and fails the Job with DeadlineExceeded', async () => {
  const env = startEnv();
  try {
    await env.registry.create(JOBS, 'default', job('slow', { activeDeadlineSeconds: 1 }));
    await waitFor('a pod', () => podsOf(env, 'slow')[0]);
    const failed = await waitFor('failed', () => types(getJob(env, 'slow')).includes('Failed') && getJob(env, 'slow'), 15_000);
    assert.equal(failed.status.conditions[1].reason, 'DeadlineExceeded');
    assert.equal(failed.status.conditions[1].message, 'Job was active longer than specified deadline');
    await waitFor('its pod deleted', () => podsOf(env, 'slow').length === 0);
  } finally {
    env.close();
  }
});

test('a suspended Job runs no pods until resumed', async () => {
  const env = startEnv();
  try {
    await env.registry.create(JOBS, 'default', job('later', { suspend: true }));
    const s = await waitFor('suspended', () => types(getJob(env, 'later')).includes('Suspended') && getJob(env, 'later'));
    assert.equal(s.status.conditions[0].reason, 'JobSuspended');
    assert.equal(podsOf(env, 'later').length, 0);
    const cur = getJob(env, 'later');
    await env.registry.update(JOBS, 'default', { ...cur, spec: { ...cur.spec, suspend: false } });
    await waitFor('a pod', () => podsOf(env, 'later')[0]);
    const resumed = (getJob(env, 'later').status.conditions as Array<{ type: string; status: string; reason: string }>).find((c) => c.type === 'Suspended');
    assert.equal(resumed?.status, 'False');
    assert.equal(resumed?.reason, 'JobResumed');
  } finally {
    env.close();
  }
});

test('a finished Job with ttlSecondsAfterFinished is deleted after it', async () => {
  const env = startEnv();
  try {
    await env.registry.create(JOBS, 'default', job('once', { ttlSecondsAfterFinished: 0 }));
    const p = await waitFor('a pod', () => podsOf(env, 'once')[0]);
    finish(env, p, 0);
    await waitFor('the Job gone', () => items(env.registry, JOBS).length === 0);
  } finally {
    env.close();
  }
});

test('the pod back-off doubles from 10 s up to 6 min', () => {
  assert.equal(podBackoffMs(0), 0);
  assert.equal(podBackoffMs(1), 10_000);
  assert.equal(podBackoffMs(2), 20_000);
  assert.equal(podBackoffMs(6), 320_000);
  assert.equal(podBackoffMs(7), 360_000);
  assert.equal(podBackoffMs(100), 360_000);
});
