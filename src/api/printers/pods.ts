/** The Pod printer: upstream's ready count, status reason, restarts and wide columns. */
import type { KObject, Printer } from '../types.ts';
import { ageColumn, ageOf, asArray, col, nameColumn, nameOf } from './columns.ts';
import { humanDuration, parseTime } from './duration.ts';

interface ContainerState {
  waiting?: { reason?: string };
  running?: { startedAt?: string };
  terminated?: { reason?: string; exitCode?: number; signal?: number; finishedAt?: string };
}

interface ContainerStatus {
  name: string;
  ready?: boolean;
  started?: boolean;
  restartCount?: number;
  state?: ContainerState;
  lastState?: ContainerState;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
}

/** A table row condition; upstream marks finished pods so clients can tell them apart. */
export interface RowCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

/** A Printer that can also attach row conditions (only pods do, as upstream). */
export interface ConditionalPrinter extends Printer {
  conditions(obj: KObject): RowCondition[] | undefined;
}

const SUCCEEDED: RowCondition[] = [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }];
const FAILED: RowCondition[] = [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];

/** Sidecar init containers (restartPolicy Always) count towards Ready and keep running. */
function isRestartable(c: { restartPolicy?: string } | undefined): boolean {
  return c?.restartPolicy === 'Always';
}

function hasCondition(conditions: Condition[], type: string): boolean {
  return conditions.some((c) => c.type === type && c.status === 'True');
}

/** The finish time of a container's last termination, in ms, or -Infinity when unknown. */
function lastTerminated(c: ContainerStatus): number {
  return parseTime(c.lastState?.terminated?.finishedAt) ?? -Infinity;
}

/** Ready, Status and Restarts of a pod, following upstream printPod line by line. */
export function podSummary(pod: KObject, now: number): { ready: string; reason: string; restarts: string } {
  const spec = pod.spec ?? {};
  const status = pod.status ?? {};
  const conditions = asArray<Condition>(status.conditions);
  const initSpecs = asArray<{ name: string; restartPolicy?: string }>(spec.initContainers);
  const initByName = new Map(initSpecs.map((c) => [c.name, c]));

  let restarts = 0;
  let sidecarRestarts = 0;
  const total = asArray(spec.containers).length + initSpecs.filter(isRestartable).length;
  let ready = 0;
  let lastRestart = -Infinity;
  let lastSidecarRestart = -Infinity;

  const phase: string = status.phase ?? '';
  let reason: string = status.reason || phase;
  if (conditions.some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated')) reason = 'SchedulingGated';

  let initializing = false;
  const initStatuses = asArray<ContainerStatus>(status.initContainerStatuses);
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i];
    const sidecar = isRestartable(initByName.get(c.name));
    restarts += c.restartCount ?? 0;
    lastRestart = Math.max(lastRestart, lastTerminated(c));
    if (sidecar) {
      sidecarRestarts += c.restartCount ?? 0;
      lastSidecarRestart = Math.max(lastSidecarRestart, lastTerminated(c));
    }
    const term = c.state?.terminated;
    const waiting = c.state?.waiting;
    if (term && (term.exitCode ?? 0) === 0) continue;
    if (sidecar && c.started) {
      if (c.ready) ready++;
      continue;
    }
    if (term) {
      if (!term.reason) reason = term.signal ? `Init:Signal:${term.signal}` : `Init:ExitCode:${term.exitCode ?? 0}`;
      else reason = `Init:${term.reason}`;
    } else if (waiting?.reason && waiting.reason !== 'PodInitializing') {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${initSpecs.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || hasCondition(conditions, 'Initialized')) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = asArray<ContainerStatus>(status.containerStatuses);
    // Upstream walks backwards so the first container's state wins the reason.
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i];
      restarts += c.restartCount ?? 0;
      lastRestart = Math.max(lastRestart, lastTerminated(c));
      const term = c.state?.terminated;
      if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
      else if (term?.reason) reason = term.reason;
      else if (term) reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode ?? 0}`;
      else if (c.ready && c.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) reason = hasCondition(conditions, 'Ready') ? 'Running' : 'NotReady';
  }

  const deleting = Boolean(pod.metadata?.deletionTimestamp);
  if (deleting && status.reason === 'NodeLost') reason = 'Unknown';
  else if (deleting && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';

  let restartsStr = String(restarts);
  if (restarts !== 0 && lastRestart !== -Infinity) restartsStr = `${restarts} (${humanDuration(now - lastRestart)} ago)`;
  return { ready: `${ready}/${total}`, reason, restarts: restartsStr };
}

/** `<none>` for an empty string, as the wide pod columns print. */
function orNone(s: unknown): string {
  return typeof s === 'string' && s !== '' ? s : '<none>';
}

function readinessGates(pod: KObject): string {
  const gates = asArray<{ conditionType: string }>(pod.spec?.readinessGates);
  if (gates.length === 0) return '<none>';
  const conditions = asArray<Condition>(pod.status?.conditions);
  let ok = 0;
  for (const g of gates) {
    const c = conditions.find((x) => x.type === g.conditionType);
    if (c?.status === 'True') ok++;
  }
  return `${ok}/${gates.length}`;
}

/** Printer for pods. */
export const podPrinter: ConditionalPrinter = {
  columns: [
    nameColumn(),
    col('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
    col('Status', 'The aggregate status of the containers in this pod.'),
    col('Restarts', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
    ageColumn(),
    col('IP', 'IP address allocated to the pod.', { priority: 1 }),
    col('Node', 'NodeName is a request to schedule this pod onto a specific node.', { priority: 1 }),
    col('Nominated Node', 'nominatedNodeName is set when this pod preempts other pods on the node.', { priority: 1 }),
    col('Readiness Gates', 'If specified, all readiness gates will be evaluated for pod readiness.', { priority: 1 }),
  ],
  cells(pod, now) {
    const s = podSummary(pod, now);
    // podIPs is authoritative upstream; podIP is the fallback for objects written without it.
    const ip = asArray<{ ip?: string }>(pod.status?.podIPs)[0]?.ip || pod.status?.podIP;
    return [nameOf(pod), s.ready, s.reason, s.restarts, ageOf(pod, now), orNone(ip), orNone(pod.spec?.nodeName), orNone(pod.status?.nominatedNodeName), readinessGates(pod)];
  },
  conditions(pod) {
    const phase = pod.status?.phase;
    return phase === 'Succeeded' ? SUCCEEDED : phase === 'Failed' ? FAILED : undefined;
  },
};
