/**
 * Pod status as the kubelet computes it (getPhase, the pod conditions, container statuses), from the
 * node agent's view of each container. Pure functions: the runner owns the state.
 */
import type { KObject } from '../api/index.ts';

/** A container's state, in the API's shape. */
export interface ContainerStateApi {
  waiting?: { reason: string; message?: string };
  running?: { startedAt: string };
  terminated?: { exitCode: number; reason: string; message?: string; startedAt: string; finishedAt: string; containerID?: string; signal?: number };
}

/** What the runner knows of one container. */
export interface ContainerView {
  name: string;
  image: string;
  init: boolean;
  /** An init container with restartPolicy Always (a native sidecar). */
  sidecar: boolean;
  state: ContainerStateApi;
  lastState: ContainerStateApi;
  restartCount: number;
  containerID?: string;
  /** Ran at least once (imageID is known). */
  pulled: boolean;
  started: boolean;
  ready: boolean;
}

/** A condition's value and when it last changed. */
export interface ConditionView {
  status: 'True' | 'False';
  since: string;
  reason?: string;
  message?: string;
}

/** RFC 3339 with seconds, as metav1.Time. */
export function nowStamp(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** A container status for the API. */
export function containerStatus(c: ContainerView): Record<string, unknown> {
  const s: Record<string, unknown> = {
    name: c.name,
    state: c.state,
    lastState: c.lastState,
    ready: c.ready,
    restartCount: c.restartCount,
    image: c.image,
    imageID: c.pulled ? `skiff://${c.image}` : '',
    started: c.started,
  };
  if (c.containerID) s.containerID = c.containerID;
  return s;
}

/** The pod phase, as the kubelet's getPhase. `initDone` says every init container completed. */
export function podPhase(restartPolicy: string, initDone: boolean, init: ContainerView[], regular: ContainerView[]): 'Pending' | 'Running' | 'Succeeded' | 'Failed' {
  if (!initDone) {
    // A failed init container that will not run again fails the pod.
    const failed = init.some((c) => !c.sidecar && c.state.terminated && c.state.terminated.exitCode !== 0);
    return failed && restartPolicy === 'Never' ? 'Failed' : 'Pending';
  }
  let waiting = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of regular) {
    if (c.state.running) running++;
    else if (c.state.terminated) {
      stopped++;
      if (c.state.terminated.exitCode === 0) succeeded++;
    } else if (c.lastState.terminated) stopped++;
    else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (restartPolicy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

/** Condition values for the pod from its containers (Initialized, ContainersReady, Ready). */
export function podConditions(phase: string, initDone: boolean, init: ContainerView[], regular: ContainerView[]): Record<'Initialized' | 'ContainersReady' | 'Ready', Omit<ConditionView, 'since'>> {
  const completed = phase === 'Succeeded';
  const incomplete = init.filter((c) => !(c.state.terminated?.exitCode === 0) && !(c.sidecar && c.started)).map((c) => c.name);
  const initialized: Omit<ConditionView, 'since'> = initDone || !incomplete.length
    ? { status: 'True', ...(completed ? { reason: 'PodCompleted' } : {}) }
    : { status: 'False', reason: 'ContainersNotInitialized', message: `containers with incomplete status: [${incomplete.join(' ')}]` };
  const unready = [...init.filter((c) => c.sidecar && !c.ready), ...regular.filter((c) => !c.ready)].map((c) => c.name);
  let ready: Omit<ConditionView, 'since'>;
  if (completed) ready = { status: 'False', reason: 'PodCompleted' };
  else if (!unready.length && initDone) ready = { status: 'True' };
  else ready = { status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${unready.join(' ')}]` };
  return { Initialized: initialized, ContainersReady: ready, Ready: ready };
}

/** JSON with sorted keys, so equal statuses compare equal whatever their key order. */
export function stableJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : stableJson(x))).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(',')}}`;
}

/** The pod's name as the kubelet writes it in messages: `name_namespace(uid)`. */
export function podRef(pod: KObject): string {
  return `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
}

/** A backoff duration as Go prints it: 10s, 1m20s, 5m0s. */
export function goDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return ms < 1000 ? `${ms}ms` : `${s}s`;
  return `${Math.floor(s / 60)}m${s % 60}s`;
}

/** What the pod status is built from. */
export interface PodStatusInput {
  /** The stored pod: PodScheduled and qosClass are kept from it. */
  current: KObject;
  restartPolicy: string;
  initDone: boolean;
  sandboxReady: boolean;
  init: ContainerView[];
  regular: ContainerView[];
  podIP: string;
  startTime: string;
  /** Condition values and transition times, kept by the caller between calls. */
  conds: Map<string, ConditionView>;
}

/** The pod status the kubelet would report. */
export function podStatus(input: PodStatusInput): Record<string, unknown> {
  const { current, init, regular } = input;
  const phase = podPhase(input.restartPolicy, input.initDone, init, regular);
  const c = podConditions(phase, input.initDone, init, regular);
  const cond = (type: string, v: Omit<ConditionView, 'since'>): Record<string, unknown> => {
    let cur = input.conds.get(type);
    if (!cur || cur.status !== v.status || cur.reason !== v.reason || cur.message !== v.message) {
      cur = { ...v, since: cur && cur.status === v.status ? cur.since : nowStamp() };
      input.conds.set(type, cur);
    }
    return { type, status: cur.status, lastProbeTime: null, lastTransitionTime: cur.since, ...(cur.reason ? { reason: cur.reason } : {}), ...(cur.message ? { message: cur.message } : {}) };
  };
  const old = current.status ?? {};
  const scheduled = ((old.conditions ?? []) as Array<{ type: string }>).find((x) => x.type === 'PodScheduled');
  const status: Record<string, unknown> = {
    phase,
    conditions: [
      cond('PodReadyToStartContainers', { status: input.sandboxReady ? 'True' : 'False' }),
      cond('Initialized', c.Initialized),
      cond('Ready', c.Ready),
      cond('ContainersReady', c.ContainersReady),
      ...(scheduled ? [scheduled] : []),
    ],
    hostIP: '127.0.0.1',
    hostIPs: [{ ip: '127.0.0.1' }],
    startTime: input.startTime,
    containerStatuses: regular.map(containerStatus).sort((a, b) => (String(a.name) < String(b.name) ? -1 : 1)),
  };
  if (input.podIP) {
    status.podIP = input.podIP;
    status.podIPs = [{ ip: input.podIP }];
  }
  if (init.length) status.initContainerStatuses = init.map(containerStatus);
  if (old.qosClass) status.qosClass = old.qosClass;
  return status;
}
