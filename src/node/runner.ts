/**
 * One pod on this node: its sandbox folder, address, volumes and containers as process groups, init
 * containers in order, restarts with the kubelet's backoff, probes, and the status the kubelet would
 * report. The agent owns runners and writes the status they compute.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { KObject } from '../api/index.ts';
import { ContainerProcess, type ContainerRun } from './container.ts';
import { ContainerConfigError, containerEnv, expandCommand } from './env.ts';
import { builtInImage, resolveImage } from './images.ts';
import { installShims } from './shims.ts';
import { applyMeshEnv, hasProxySidecar, isProxyContainer, listenIP, proxyNodeFlags, sidecarAdminPort } from './mesh.ts';
import { logFilePath, podLogDir } from './logs.ts';
import { adoptContainer, neverStarted, portMap, type ContainerSpec, type Ctr, type RunnerHost } from './model.ts';
import { Prober, type ProbeKind, type ProbeSpec } from './probes.ts';
import { StartError } from './process.ts';
import { goDuration, nowStamp, podRef, podStatus, type ConditionView } from './status.ts';
import type { ContainerLogFiles, ContainerRuntimeInfo } from './types.ts';
import { PodVolumes, VolumeError } from './volumes.ts';

/** Asks a sidecar proxy to stop taking inbound connections (Envoy's admin `drain_listeners?inboundonly`); best effort, 1 s at most. */
function drainInbound(podIP: string): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request({ host: podIP, port: sidecarAdminPort, method: 'POST', path: '/drain_listeners?inboundonly', timeout: 1000 }, (res) => {
      res.resume();
      res.once('end', resolve);
      res.once('error', () => resolve());
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve());
    req.end();
  });
}

/** Runs one pod's containers and computes its status. */
export class PodRunner {
  readonly uid: string;
  #pod: KObject;
  #host: RunnerHost;
  #ctrs: Ctr[];
  #ip = '';
  #sandbox: string;
  #volumes: PodVolumes;
  #sandboxReady = false;
  #initDone: boolean;
  #stopping = false;
  #startTime: string;
  #conds = new Map<string, ConditionView>();
  #portMap: Record<string, number> = {};
  #volTimer: NodeJS.Timeout | undefined;
  #volDelay: number;
  /** The pod has a sidecar proxy: its apps listen on the app address, and stop before the sidecar. */
  #meshed: boolean;

  constructor(pod: KObject, host: RunnerHost) {
    this.#pod = pod;
    this.#host = host;
    this.uid = pod.metadata.uid ?? '';
    const ns = pod.metadata.namespace ?? 'default';
    this.#sandbox = path.join(host.dataDir, 'pods', `${ns}_${pod.metadata.name}_${this.uid}`);
    this.#volumes = new PodVolumes(pod, { sandbox: this.#sandbox, dataDir: host.dataDir, sources: host.sources });
    this.#volDelay = host.settings.volumeRetryMs;
    this.#startTime = pod.status?.startTime ?? nowStamp();
    const old = new Map<string, Record<string, any>>();
    for (const s of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) old.set(s.name, s);
    const init = ((pod.spec?.initContainers ?? []) as ContainerSpec[]).map((s) => adoptContainer(pod, s, true, old.get(s.name)));
    const regular = ((pod.spec?.containers ?? []) as ContainerSpec[]).map((s) => adoptContainer(pod, s, false, old.get(s.name)));
    this.#ctrs = [...init, ...regular];
    this.#meshed = hasProxySidecar(this.#ctrs.map((c) => c.spec));
    // After a Skiff restart, completed init containers do not run again.
    this.#initDone = init.every((c) => c.phase === 'done' && c.state.terminated?.exitCode === 0);
  }

  /** The latest pod object. */
  get pod(): KObject {
    return this.#pod;
  }

  /** Sets the sandbox up and starts the containers (in the background). */
  start(): void {
    void this.#setup().catch((e: unknown) => this.#host.log({ level: 'error', msg: 'pod setup failed', pod: this.#key(), error: String(e) }));
  }

  /** A newer version of the pod: image changes restart the container, label changes refresh downward API files. */
  update(pod: KObject): void {
    const prev = this.#pod;
    this.#pod = pod;
    if (this.#stopping) return;
    const specs = new Map(([...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])] as ContainerSpec[]).map((s) => [s.name, s]));
    for (const c of this.#ctrs) {
      const s = specs.get(c.name);
      if (!s || s.image === c.spec.image) continue;
      c.spec = s;
      c.image = s.image;
      if (c.phase === 'running' && c.proc) {
        this.#host.event(pod, 'Normal', 'Killing', `Container ${c.name} definition changed, will be restarted`);
        void this.#kill(c);
      } else if (c.phase === 'retry' || (c.phase === 'done' && !c.init)) this.#retryNow(c);
    }
    // Most updates are this node's own status writes: only label or annotation changes matter to files.
    const meta = (o: KObject): string => JSON.stringify([o.metadata.labels, o.metadata.annotations]);
    if (this.#sandboxReady && meta(prev) !== meta(pod)) this.#volumes.refresh(pod);
  }

  /** ConfigMaps or Secrets of the namespace changed: refresh volumes and retry containers that waited for them. */
  sourcesChanged(): void {
    if (this.#stopping) return;
    if (this.#sandboxReady) this.#volumes.refresh(this.#pod);
    else if (this.#volTimer) {
      clearTimeout(this.#volTimer);
      this.#volTimer = undefined;
      this.#mount();
    }
    for (const c of this.#ctrs) if (c.phase === 'retry' && c.state.waiting?.reason === 'CreateContainerConfigError') this.#retryNow(c);
  }

  /** Stops every container (SIGTERM to the group, grace, SIGKILL); with cleanup, removes the sandbox and logs and frees the address. */
  async stop(opts: { graceSeconds: number; cleanup: boolean; events: boolean }): Promise<void> {
    this.#stopping = true;
    if (this.#volTimer) clearTimeout(this.#volTimer);
    for (const c of this.#ctrs) {
      if (c.timer) clearTimeout(c.timer);
      for (const p of c.probers) p.close();
      c.probers = [];
    }
    // As the kubelet with native sidecars: the other containers first, then the sidecars (in reverse
    // order), so a sidecar proxy keeps outbound traffic working while the app shuts down. A proxy is
    // told to drain inbound first: no new requests reach an app that is going away.
    const deadline = Date.now() + opts.graceSeconds * 1000;
    const stopAll = (list: Ctr[], ms: number): Promise<unknown> =>
      Promise.all(
        list.map((c) => {
          if (!c.proc) return undefined;
          if (opts.events) this.#host.event(this.#pod, 'Normal', 'Killing', `Stopping container ${c.name}`);
          return c.proc.stop(ms);
        }),
      );
    const sidecars = this.#ctrs.filter((c) => c.sidecar).reverse();
    if (this.#meshed) await drainInbound(this.#ip);
    await stopAll(this.#ctrs.filter((c) => !c.sidecar), opts.graceSeconds * 1000);
    await stopAll(sidecars, Math.max(2000, deadline - Date.now()));
    if (opts.cleanup) {
      rmSync(this.#sandbox, { recursive: true, force: true });
      rmSync(podLogDir(path.join(this.#host.dataDir, 'logs'), this.#pod.metadata.namespace ?? 'default', this.#pod.metadata.name ?? '', this.uid), { recursive: true, force: true });
      this.#host.ips.release(this.uid);
    }
  }

  /** Stops reacting to anything (timers, exits, probes) while leaving processes running; see NodeAgent.abandon(). */
  abandon(): void {
    this.#stopping = true;
    if (this.#volTimer) clearTimeout(this.#volTimer);
    for (const c of this.#ctrs) {
      if (c.timer) clearTimeout(c.timer);
      for (const p of c.probers) p.close();
      c.proc?.abandon();
    }
  }

  /** The status this node reports for the pod; `current` supplies what others own (PodScheduled, qosClass). */
  status(current: KObject): Record<string, unknown> {
    return podStatus({
      current,
      restartPolicy: this.#pod.spec?.restartPolicy ?? 'Always',
      initDone: this.#initDone,
      sandboxReady: this.#sandboxReady,
      init: this.#ctrs.filter((c) => c.init),
      regular: this.#ctrs.filter((c) => !c.init),
      podIP: this.#ip,
      startTime: this.#startTime,
      conds: this.#conds,
    });
  }

  /** The runtime view of a container, for exec. */
  info(name: string): ContainerRuntimeInfo | undefined {
    const c = this.#ctrs.find((x) => x.name === name);
    if (!c) return undefined;
    const running = c.proc !== undefined;
    return {
      namespace: this.#pod.metadata.namespace ?? 'default',
      pod: this.#pod.metadata.name ?? '',
      container: name,
      env: c.env ?? {},
      cwd: c.cwd ?? path.join(this.#sandbox, 'containers', name),
      podIP: this.#ip,
      running,
      ...(c.proc ? { pid: c.proc.pid } : {}),
      portMap: { ...this.#portMap },
    };
  }

  /** The log files of a container, once it ran. */
  logFiles(name: string): ContainerLogFiles | undefined {
    const c = this.#ctrs.find((x) => x.name === name);
    if (!c?.logFile) return undefined;
    return c.prevLogFile ? { current: c.logFile, previous: c.prevLogFile } : { current: c.logFile };
  }

  /** The stdio of a running container started with stdin: true. */
  attach(name: string): { stdin?: NodeJS.WritableStream; output: NodeJS.ReadableStream } | undefined {
    const c = this.#ctrs.find((x) => x.name === name);
    if (!c?.proc || !c.spec.stdin) return undefined;
    return { stdin: c.proc.stdin, output: c.proc.attach() };
  }

  #key(): string {
    return `${this.#pod.metadata.namespace}/${this.#pod.metadata.name}`;
  }

  #changed(): void {
    this.#host.changed(this.uid);
  }

  async #setup(): Promise<void> {
    this.#ip = this.#host.ips.allocate(this.uid);
    mkdirSync(this.#sandbox, { recursive: true });
    this.#portMap = portMap(this.#ctrs.map((c) => c.spec), this.#host.settings.privilegedPortStart);
    const want = Object.keys(this.#portMap).length ? JSON.stringify(this.#portMap) : undefined;
    if (want && this.#pod.metadata.annotations?.['skiff.dev/port-map'] !== want) await this.#host.annotate(this.#pod, { 'skiff.dev/port-map': want });
    await this.#host.writeNow(this.uid);
    this.#mount();
  }

  #mount(): void {
    if (this.#stopping) return;
    try {
      this.#volumes.setUp(this.#pod, this.#ip);
    } catch (e) {
      if (!(e instanceof VolumeError)) throw e;
      this.#host.event(this.#pod, 'Warning', 'FailedMount', e.message);
      this.#volTimer = setTimeout(() => {
        this.#volTimer = undefined;
        this.#mount();
      }, this.#volDelay);
      this.#volTimer.unref();
      this.#volDelay = Math.min(30_000, this.#volDelay * 2);
      return;
    }
    this.#sandboxReady = true;
    this.#changed();
    this.#advance();
  }

  /** Starts whatever may start now: the next init container, or every regular container once init is done. */
  #advance(): void {
    if (this.#stopping || !this.#sandboxReady) return;
    if (!this.#initDone) {
      for (const c of this.#ctrs) {
        if (!c.init) continue;
        if (c.state.terminated?.exitCode === 0 && c.phase === 'done') continue;
        if (c.sidecar && c.started) continue;
        if (c.phase === 'idle') this.#startContainer(c);
        return;
      }
      this.#initDone = true;
      for (const c of this.#ctrs) if (!c.init && c.state.waiting?.reason === 'PodInitializing') c.state = { waiting: { reason: 'ContainerCreating' } };
      this.#changed();
    }
    // Once init is done, a native sidecar that ended is restarted beside the apps, as the kubelet does.
    for (const c of this.#ctrs) if ((!c.init || c.sidecar) && c.phase === 'idle') this.#startContainer(c);
  }

  #retryNow(c: Ctr): void {
    if (c.timer) clearTimeout(c.timer);
    c.timer = undefined;
    c.phase = 'idle';
    this.#advance();
  }

  #retryAfter(c: Ctr, ms: number): void {
    c.phase = 'retry';
    c.timer = setTimeout(() => {
      c.timer = undefined;
      if (c.phase === 'retry') this.#retryNow(c);
    }, ms);
    c.timer.unref();
  }

  #backoff(n: number): number {
    const s = this.#host.settings;
    return n <= 0 ? 0 : Math.min(s.backoffMaxMs, s.backoffBaseMs * 2 ** (n - 1));
  }

  #startContainer(c: Ctr): void {
    const pod = this.#pod;
    const ev = (type: 'Normal' | 'Warning', reason: string, msg: string): void => this.#host.event(pod, type, reason, msg);
    let env: Record<string, string>;
    const ctr = this.#volumes.containerRoot(c.spec);
    try {
      const first = c.spec.ports?.[0]?.containerPort;
      env = containerEnv(pod, c.spec as never, this.#host.sources, { podIP: this.#ip, hostIP: '127.0.0.1', port: first === undefined ? undefined : (this.#portMap[first] ?? first), proxyPort: this.#host.settings.proxyPort, home: ctr.root });
    } catch (e) {
      if (!(e instanceof ContainerConfigError)) throw e;
      c.state = { waiting: { reason: e.reason, message: e.message } };
      ev('Warning', 'Failed', `Error: ${e.message}`);
      this.#changed();
      return this.#retryAfter(c, this.#host.settings.backoffBaseMs);
    }
    applyMeshEnv(env, { spec: c.spec, podIP: this.#ip, meshed: this.#meshed, mesh: this.#host.mesh });
    env.SKIFF_ROOT = ctr.root;
    installShims(ctr.root, builtInImage(c.spec.image)?.binaries ?? [], this.#host.skiffBin, env);
    const img = resolveImage(c.spec.image, expandCommand(c.spec, env));
    if (img.kind === 'unknown') {
      // As the kubelet: ErrImagePull first, then ImagePullBackOff until the next attempt.
      c.pullN++;
      c.state = { waiting: { reason: 'ErrImagePull', message: img.message } };
      ev('Warning', 'Failed', img.message);
      ev('Warning', 'Failed', 'Error: ErrImagePull');
      this.#changed();
      const delay = this.#backoff(c.pullN);
      c.phase = 'retry';
      const flip = setTimeout(() => {
        if (c.phase !== 'retry' || c.state.waiting?.reason !== 'ErrImagePull') return;
        c.state = { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.spec.image}": ErrImagePull: ${img.message}` } };
        ev('Normal', 'BackOff', `Back-off pulling image "${c.spec.image}"`);
        this.#changed();
      }, Math.min(1000, delay / 2));
      flip.unref();
      return this.#retryAfter(c, delay);
    }
    c.pullN = 0;
    ev('Normal', 'Pulled', `Container image "${c.spec.image}" already present on machine`);
    // The proxy image's args are the command line (`proxy sidecar ...`), as pilot-agent's are.
    const argv = img.kind === 'app' ? (img.app === 'proxy' ? [process.execPath, ...proxyNodeFlags, this.#host.skiffBin, ...img.args] : [process.execPath, this.#host.skiffBin, 'app', img.app, ...img.args]) : img.argv;
    const appPort = c.spec.ports?.[0]?.containerPort;
    c.implicitStartup = img.kind === 'app' && appPort && !c.spec.startupProbe && !c.spec.readinessProbe ? { tcpSocket: { port: appPort }, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 600 } : undefined;
    if (c.hasRun) {
      c.restartCount++;
    }
    c.hasRun = true;
    c.pulled = true;
    c.env = env;
    c.cwd = ctr.cwd;
    c.containerID = `skiff://${randomBytes(16).toString('hex')}`;
    const logsRoot = path.join(this.#host.dataDir, 'logs');
    const file = logFilePath(logsRoot, pod.metadata.namespace ?? 'default', pod.metadata.name ?? '', this.uid, c.name, c.restartCount);
    if (c.logFile && c.logFile !== file) c.prevLogFile = c.logFile;
    c.logFile = file;
    ev('Normal', 'Created', `Created container: ${c.name}`);
    let proc: ContainerRun;
    try {
      const run = { cwd: ctr.cwd, env, stdin: Boolean(c.spec.stdin), logFile: file, pids: this.#host.pids, podUid: this.uid, pod: this.#key(), container: c.name };
      // A built-in server app runs in the shared app host, behind a stub process of its own (src/node/apphost).
      const appHost = this.#host.appHost;
      proc = img.kind === 'app' && appHost?.accepts(img.app, img.args, c.spec) ? appHost.start(img.app, img.args, run) : new ContainerProcess(argv, run);
    } catch (e) {
      const msg = e instanceof StartError ? e.message : `unable to start container process: ${(e as Error).message}`;
      ev('Warning', 'Failed', `Error: ${msg}`);
      c.state = { terminated: { exitCode: 128, reason: 'StartError', message: msg, startedAt: neverStarted, finishedAt: nowStamp(), containerID: c.containerID } };
      c.phase = 'running';
      return this.#afterRun(c, 128, 0);
    }
    c.proc = proc;
    c.phase = 'running';
    c.runStart = Date.now();
    const startedAt = nowStamp();
    c.state = { running: { startedAt } };
    c.started = !(c.spec.startupProbe ?? c.implicitStartup);
    c.ready = c.started && !c.spec.readinessProbe && !(c.init && !c.sidecar);
    void proc.exited.then((exitCode) => {
      for (const p of c.probers) p.close();
      c.probers = [];
      if (c.proc === proc) c.proc = undefined;
      c.state = { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt, finishedAt: nowStamp(), containerID: c.containerID } };
      // A completed init container reports ready, as the kubelet does.
      c.ready = c.init && !c.sidecar && exitCode === 0;
      c.started = false;
      if (this.#stopping) return this.#changed();
      this.#afterRun(c, exitCode, Date.now() - c.runStart);
    });
    ev('Normal', 'Started', `Started container ${c.name}`);
    this.#startProbes(c);
    this.#changed();
    // A native sidecar lets the next init container start once it has started.
    if (c.sidecar && c.started) this.#advance();
  }

  /** After a run ended: the next init container, a restart with backoff, or nothing, per restartPolicy. */
  #afterRun(c: Ctr, exitCode: number, ranMs: number): void {
    const policy = this.#pod.spec?.restartPolicy ?? 'Always';
    if (c.sidecar && c.phase === 'done') return this.#changed();
    let restart: boolean;
    if (c.sidecar) restart = true;
    else if (c.init) restart = exitCode !== 0 && policy !== 'Never';
    else restart = policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
    if (!restart) {
      c.phase = 'done';
      this.#changed();
      if (c.init) this.#advance();
      else this.#endSidecarsWhenAppsDone();
      return;
    }
    if (ranMs >= this.#host.settings.backoffResetMs) c.backoffN = 0;
    const delay = this.#backoff(c.backoffN++);
    c.lastState = c.state;
    if (delay > 0) {
      c.state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${goDuration(delay)} restarting failed container=${c.name} pod=${podRef(this.#pod)}` } };
      this.#host.event(this.#pod, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${podRef(this.#pod)}`);
    }
    this.#changed();
    this.#retryAfter(c, delay);
  }

  /** When every app container has finished for good, the sidecars end too (a Job's pod then completes). */
  #endSidecarsWhenAppsDone(): void {
    if (!this.#ctrs.filter((x) => !x.init).every((x) => x.phase === 'done')) return;
    for (const s of this.#ctrs) {
      if (!s.sidecar || s.phase === 'done') continue;
      s.phase = 'done';
      if (s.timer) clearTimeout(s.timer);
      for (const p of s.probers) p.close();
      s.probers = [];
      if (s.proc) void s.proc.stop(Math.min(this.#pod.spec?.terminationGracePeriodSeconds ?? 30, this.#host.settings.maxGraceSeconds) * 1000);
    }
    this.#changed();
  }

  #startProbes(c: Ctr): void {
    const target = {
      // Apps of meshed pods are probed where they listen, as Istio's probe rewrite reaches the app directly.
      podIP: listenIP(this.#ip, this.#meshed, c.spec),
      env: c.env ?? {},
      cwd: c.cwd ?? this.#sandbox,
      port: (p: number | string): number | undefined => {
        let n = typeof p === 'number' ? p : /^\d+$/.test(p) ? Number(p) : this.#ctrs.flatMap((x) => x.spec.ports ?? []).find((x) => x.name === p)?.containerPort;
        if (n !== undefined && this.#portMap[n] !== undefined) n = this.#portMap[n];
        return n;
      },
    };
    const proc = c.proc;
    const make = (kind: ProbeKind, spec: ProbeSpec, implicit = false): Prober => {
      const title = kind[0].toUpperCase() + kind.slice(1);
      return new Prober(kind, spec, target, {
        // The implicit check looks every 50 ms: it only waits for the app's listen, then stops. The
        // sidecar's startup probe too: the app waits for it, and the proxy is up in ~0.3 s, not 1 s.
        secondMs: implicit || (kind === 'startup' && isProxyContainer(c.spec)) ? 50 : this.#host.settings.probeSecondMs,
        onFailure: (msg) => {
          if (!implicit) this.#host.event(this.#pod, 'Warning', 'Unhealthy', `${title} probe failed: ${msg}`);
        },
        onChange: (ok) => {
          if (c.proc !== proc || this.#stopping) return;
          if (kind === 'readiness') {
            c.ready = ok && c.started;
            this.#changed();
          } else if (kind === 'startup' && ok) {
            c.started = true;
            c.ready = !c.spec.readinessProbe && !(c.init && !c.sidecar);
            this.#changed();
            regular();
            if (c.sidecar) this.#advance();
          } else if (!ok) {
            this.#host.event(this.#pod, 'Normal', 'Killing', `Container ${c.name} failed ${kind} probe, will be restarted`);
            void this.#kill(c);
          }
        },
      });
    };
    const regular = (): void => {
      if (c.spec.livenessProbe) c.probers.push(make('liveness', c.spec.livenessProbe));
      if (c.spec.readinessProbe) c.probers.push(make('readiness', c.spec.readinessProbe));
    };
    if (c.init && !c.sidecar) return;
    if (c.spec.startupProbe) c.probers.push(make('startup', c.spec.startupProbe));
    else if (c.implicitStartup) c.probers.push(make('startup', c.implicitStartup, true));
    else regular();
  }

  async #kill(c: Ctr): Promise<void> {
    if (!c.proc) return;
    const grace = Math.min(this.#pod.spec?.terminationGracePeriodSeconds ?? 30, this.#host.settings.maxGraceSeconds);
    await c.proc.stop(grace * 1000);
  }
}

