/**
 * The node agent's model: its defaults, what a pod runner needs from the agent, and the runner's view
 * of each container, including how that view is recovered from a pod's status after a Skiff restart.
 */
import type { KObject } from '../api/index.ts';
import type { AppHost } from './apphost/index.ts';
import type { ContainerRun } from './container.ts';
import type { EnvSources } from './env.ts';
import type { IpAllocator } from './ips.ts';
import type { MeshEndpoint } from './mesh.ts';
import type { PidFile } from './pids.ts';
import type { Prober, ProbeSpec } from './probes.ts';
import { nowStamp, type ContainerView } from './status.ts';

/** Node agent defaults, applied once. */
export const nodeDefaults = {
  proxyPort: 15080,
  /** CrashLoopBackOff / ImagePullBackOff: first delay, doubling up to the cap; reset after a run this long. */
  backoffBaseMs: 10_000,
  backoffMaxMs: 300_000,
  backoffResetMs: 600_000,
  /** Length of a probe "second" (tests shrink it). */
  probeSecondMs: 1000,
  /** terminationGracePeriodSeconds is capped at this on pod deletion. */
  maxGraceSeconds: 30,
  /** Grace given to containers when the agent itself closes. */
  closeGraceSeconds: 5,
  /** First retry delay of a failed volume set-up (doubles up to 30 s). */
  volumeRetryMs: 1000,
  /** The app host exits after running no app for this long (the next hosted container starts a new one). */
  appHostIdleMs: 30_000,
};

/** Settings every runner shares. */
export type NodeSettings = typeof nodeDefaults & { privilegedPortStart: number };

/** What a runner needs from the agent. */
export interface RunnerHost {
  dataDir: string;
  skiffBin: string;
  sources: EnvSources;
  ips: IpAllocator;
  pids: PidFile;
  /** Runs built-in server apps of many containers in one process; undefined: one process per container. */
  appHost?: AppHost;
  settings: NodeSettings;
  event(pod: KObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
  /** The runner's status changed and should be written. */
  changed(uid: string): void;
  /** Writes the runner's status now (the first write, so `kubectl get -w` sees ContainerCreating). */
  writeNow(uid: string): Promise<void>;
  /** Merges annotations into the pod (the port map). */
  annotate(pod: KObject, annotations: Record<string, string>): Promise<void>;
  log(e: Record<string, unknown>): void;
  /** The mesh control plane, when one runs: sidecar containers connect to it. */
  mesh?: MeshEndpoint;
}

/** The container fields the runner reads. */
export interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  stdin?: boolean;
  restartPolicy?: string;
  ports?: Array<{ name?: string; containerPort: number }>;
  livenessProbe?: ProbeSpec;
  readinessProbe?: ProbeSpec;
  startupProbe?: ProbeSpec;
  env?: never[];
  [k: string]: unknown;
}

/** idle: may start; starting/running: has a process; retry: a timer will make it idle; done: never runs again. */
export type Phase = 'idle' | 'running' | 'retry' | 'done';

/** The runner's state of one container. */
export interface Ctr extends ContainerView {
  spec: ContainerSpec;
  phase: Phase;
  hasRun: boolean;
  backoffN: number;
  pullN: number;
  timer?: NodeJS.Timeout;
  proc?: ContainerRun;
  env?: Record<string, string>;
  cwd?: string;
  runStart: number;
  logFile?: string;
  prevLogFile?: string;
  probers: Prober[];
  /**
   * For built-in apps with a containerPort and no startup or readiness probe of their own: a TCP
   * check on that port, so the container is not Ready (and gets no traffic) before its app listens.
   * A real image's process would race the same way; Skiff's apps start in ~0.2 s, so it costs nothing.
   */
  implicitStartup?: ProbeSpec;
}

/** The startedAt the runtime reports for a container that never started. */
export const neverStarted = '1970-01-01T00:00:00Z';

/** A container's state for a new runner; `old` is its status from the pod (a previous Skiff's run). */
export function adoptContainer(pod: KObject, spec: ContainerSpec, init: boolean, old: Record<string, any> | undefined): Ctr {
  const c: Ctr = {
    name: spec.name, image: spec.image, init, sidecar: init && spec.restartPolicy === 'Always', spec,
    state: { waiting: { reason: init || !(pod.spec?.initContainers ?? []).length ? 'ContainerCreating' : 'PodInitializing' } },
    lastState: {}, restartCount: 0, pulled: false, started: false, ready: false,
    phase: 'idle', hasRun: false, backoffN: 0, pullN: 0, runStart: 0, probers: [],
  };
  if (init && !c.sidecar) c.state = { waiting: { reason: 'PodInitializing' } };
  if (!old) return c;
  c.restartCount = old.restartCount ?? 0;
  c.lastState = old.lastState ?? {};
  c.containerID = old.containerID;
  c.pulled = Boolean(old.imageID);
  const policy = pod.spec?.restartPolicy ?? 'Always';
  // Whether a run that ended with this code was the container's last (the kubelet's restart rules).
  const lastRun = (exitCode: number): boolean =>
    init && !c.sidecar ? exitCode === 0 || policy === 'Never' : !c.sidecar && (policy === 'Never' || (policy === 'OnFailure' && exitCode === 0));
  const t = old.state?.terminated;
  if (t) {
    c.state = old.state;
    c.hasRun = true;
    if (lastRun(t.exitCode)) c.phase = 'done';
    else c.lastState = old.state;
  } else if (old.state?.running) {
    // It was running when the previous Skiff went away: that run ended unseen, as after a node reboot,
    // and the restart rules decide as for any exit (with Never it was the last run: the pod fails).
    c.hasRun = true;
    const lost = { terminated: { exitCode: 255, reason: 'Unknown', startedAt: old.state.running.startedAt, finishedAt: nowStamp(), ...(old.containerID ? { containerID: old.containerID } : {}) } };
    if (lastRun(255)) {
      c.state = lost;
      c.phase = 'done';
    } else c.lastState = lost;
  } else if (old.lastState?.terminated) c.hasRun = true;
  return c;
}

/**
 * Low ports: binding 127.42.x.y:80 needs root (or CAP_NET_BIND_SERVICE, or a lowered
 * net.ipv4.ip_unprivileged_port_start). Without it, a containerPort below the limit is served on
 * containerPort+20000 (the next free port if that is taken by another containerPort of the pod): the
 * process is told so through PORT, probes follow the map, and the map is recorded on the pod as the
 * annotation `skiff.dev/port-map: {"80":20080}` for the service proxy and port-forward to honour.
 * (+20000 rather than +10000: 10080 is on the fetch standard's bad-port list, which Node's fetch and
 * browsers refuse.)
 */
export function portMap(specs: ContainerSpec[], limit: number): Record<string, number> {
  const ports = specs.flatMap((c) => (c.ports ?? []).map((p) => p.containerPort));
  const taken = new Set(ports);
  const map: Record<string, number> = {};
  for (const p of ports) {
    if (p >= limit || map[p] !== undefined) continue;
    let q = p + 20_000;
    while (taken.has(q)) q++;
    taken.add(q);
    map[p] = q;
  }
  return map;
}
