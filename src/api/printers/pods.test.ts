import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../types.ts';
import { podPrinter, podSummary } from './pods.ts';

const NOW = Date.parse('2025-01-01T01:00:00Z');
const CREATED = '2025-01-01T00:00:00Z';

function pod(spec: Record<string, unknown>, status: Record<string, unknown>, meta: Record<string, unknown> = {}): KObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'default', creationTimestamp: CREATED, ...meta }, spec: { containers: [{ name: 'app', image: 'nginx' }], ...spec }, status };
}

const running = { running: { startedAt: CREATED } };

test('podSummary() reports Running with ready count when all containers are ready', () => {
  const p = pod({}, { phase: 'Running', containerStatuses: [{ name: 'app', ready: true, restartCount: 0, state: running }] });
  assert.deepEqual(podSummary(p, NOW), { ready: '1/1', reason: 'Running', restarts: '0' });
});

test('podSummary() uses the waiting reason: ContainerCreating, CrashLoopBackOff, ImagePullBackOff, ErrImagePull', () => {
  for (const reason of ['ContainerCreating', 'CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull']) {
    const p = pod({}, { phase: 'Pending', containerStatuses: [{ name: 'app', ready: false, restartCount: 0, state: { waiting: { reason } } }] });
    assert.equal(podSummary(p, NOW).reason, reason);
  }
});

test('podSummary() shows Pending for a pod without container statuses', () => {
  assert.deepEqual(podSummary(pod({}, { phase: 'Pending' }), NOW), { ready: '0/1', reason: 'Pending', restarts: '0' });
});

test('podSummary() uses the terminated reason (Completed, Error) and ExitCode when there is none', () => {
  const mk = (terminated: Record<string, unknown>) =>
    pod({}, { phase: 'Succeeded', containerStatuses: [{ name: 'app', ready: false, restartCount: 0, state: { terminated } }] });
  assert.equal(podSummary(mk({ reason: 'Completed', exitCode: 0 }), NOW).reason, 'Completed');
  assert.equal(podSummary(mk({ reason: 'Error', exitCode: 1 }), NOW).reason, 'Error');
  assert.equal(podSummary(mk({ exitCode: 3 }), NOW).reason, 'ExitCode:3');
  assert.equal(podSummary(mk({ exitCode: 0, signal: 9 }), NOW).reason, 'Signal:9');
});

test('podSummary() counts restarts and appends the age of the last termination', () => {
  const p = pod({}, {
    phase: 'Running',
    containerStatuses: [{ name: 'app', ready: false, restartCount: 5, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, finishedAt: '2025-01-01T00:55:00Z' } } }],
  });
  assert.deepEqual(podSummary(p, NOW), { ready: '0/1', reason: 'CrashLoopBackOff', restarts: '5 (5m ago)' });
});

test('podSummary() shows init progress as Init:i/n, Init:<reason>, and PodInitializing after init', () => {
  const spec = { initContainers: [{ name: 'init-a' }, { name: 'init-b' }] };
  const waiting = pod(spec, { phase: 'Pending', initContainerStatuses: [{ name: 'init-a', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } }, { name: 'init-b', state: { waiting: {} } }] });
  assert.equal(podSummary(waiting, NOW).reason, 'Init:0/2');
  const second = pod(spec, { phase: 'Pending', initContainerStatuses: [{ name: 'init-a', state: { terminated: { exitCode: 0, reason: 'Completed' } } }, { name: 'init-b', state: running }] });
  assert.equal(podSummary(second, NOW).reason, 'Init:1/2');
  const crash = pod({ initContainers: [{ name: 'init-a' }] }, { phase: 'Pending', initContainerStatuses: [{ name: 'init-a', restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } } }] });
  assert.deepEqual(podSummary(crash, NOW), { ready: '0/1', reason: 'Init:CrashLoopBackOff', restarts: '2' });
  const failed = pod({ initContainers: [{ name: 'init-a' }] }, { phase: 'Pending', initContainerStatuses: [{ name: 'init-a', state: { terminated: { exitCode: 1, reason: 'Error' } } }] });
  assert.equal(podSummary(failed, NOW).reason, 'Init:Error');
  const done = pod({ initContainers: [{ name: 'init-a' }] }, {
    phase: 'Pending',
    initContainerStatuses: [{ name: 'init-a', state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
    containerStatuses: [{ name: 'app', ready: false, state: { waiting: { reason: 'PodInitializing' } } }],
  });
  assert.equal(podSummary(done, NOW).reason, 'PodInitializing');
});

test('podSummary() counts a started sidecar init container towards Ready', () => {
  const p = pod({ initContainers: [{ name: 'proxy', restartPolicy: 'Always' }] }, {
    phase: 'Running',
    conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'True' }],
    initContainerStatuses: [{ name: 'proxy', ready: true, started: true, restartCount: 1, state: running }],
    containerStatuses: [{ name: 'app', ready: true, restartCount: 0, state: running }],
  });
  assert.deepEqual(podSummary(p, NOW), { ready: '2/2', reason: 'Running', restarts: '1' });
});

test('podSummary() shows Terminating when deletionTimestamp is set on a non-terminal pod', () => {
  const p = pod({}, { phase: 'Running', containerStatuses: [{ name: 'app', ready: true, state: running }] }, { deletionTimestamp: '2025-01-01T00:59:00Z' });
  assert.equal(podSummary(p, NOW).reason, 'Terminating');
  const done = pod({}, { phase: 'Succeeded', containerStatuses: [{ name: 'app', state: { terminated: { exitCode: 0, reason: 'Completed' } } }] }, { deletionTimestamp: '2025-01-01T00:59:00Z' });
  assert.equal(podSummary(done, NOW).reason, 'Completed');
});

test('podSummary() shows NotReady when one container completed and another runs unready', () => {
  const p = pod({ containers: [{ name: 'a' }, { name: 'b' }] }, {
    phase: 'Running',
    containerStatuses: [{ name: 'a', ready: true, state: running }, { name: 'b', state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
  });
  assert.equal(podSummary(p, NOW).reason, 'NotReady');
});

test('podPrinter cells fill the wide columns with <none> when unset', () => {
  const p = pod({}, { phase: 'Pending' });
  assert.deepEqual(podPrinter.cells(p, NOW), ['web-1', '0/1', 'Pending', '0', '60m', '<none>', '<none>', '<none>', '<none>']);
  const scheduled = pod({ nodeName: 'node1' }, { phase: 'Running', podIPs: [{ ip: '10.244.0.11' }], containerStatuses: [{ name: 'app', ready: true, state: running }] });
  assert.deepEqual(podPrinter.cells(scheduled, NOW).slice(5), ['10.244.0.11', 'node1', '<none>', '<none>']);
  assert.deepEqual(podPrinter.columns.map((c) => [c.name, c.priority]), [
    ['Name', 0], ['Ready', 0], ['Status', 0], ['Restarts', 0], ['Age', 0], ['IP', 1], ['Node', 1], ['Nominated Node', 1], ['Readiness Gates', 1],
  ]);
  assert.equal(podPrinter.columns[0].format, 'name');
});
