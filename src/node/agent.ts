/**
 * The node agent (the kubelet's job): watches the pods bound to this node and runs each through a
 * PodRunner, writes their status through the status subresource (only on real changes, retried on
 * Conflict), records kubelet-style events, and keeps the pids file so a killed Skiff leaves no orphans.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Client, KObject } from '../api/index.ts';
import { EventRecorder, Informers, WorkQueue, type Informer } from '../controllers/index.ts';
import { AppHost, appHostCommand } from './apphost/index.ts';
import type { EnvSources } from './env.ts';
import { AddressClaims, IpAllocator } from './ips.ts';
import { PidFile } from './pids.ts';
import { type Reaper, startReaper } from './reaper.ts';
import type { MeshEndpoint } from './mesh.ts';
import { nodeDefaults, type NodeSettings, type RunnerHost } from './model.ts';
import { PodRunner } from './runner.ts';
import { stableJson } from './status.ts';
import type { ContainerLogFiles, ContainerRuntimeInfo, NodeRuntime } from './types.ts';

/** Options of the node agent. */
export interface NodeAgentOptions extends Partial<typeof nodeDefaults> {
  client: Client;
  nodeName: string;
  /** Sandboxes go under <dataDir>/pods/<ns>_<pod>_<uid>/, logs under <dataDir>/logs/. */
  dataDir: string;
  /** Path of bin/skiff.js: built-in images run as [process.execPath, skiffBin, 'app', <appId>, ...]. */
  skiffBin: string;
  /**
   * The app host program, which runs the built-in server apps of many containers in one process
   * (default: [node, skiffBin, 'app-host']). false, or SKIFF_APP_HOST=0 in the environment when this
   * is not given: every container runs as its own process.
   */
  appHost?: string[] | false;
  /** Ports below this need privileges (default: 0 as root, else net.ipv4.ip_unprivileged_port_start or 1024). */
  privilegedPortStart?: number;
  log?: (e: Record<string, unknown>) => void;
  /** The mesh control plane's stream, handed to sidecar containers. */
  mesh?: MeshEndpoint;
  /**
   * Kill the pod processes as soon as this process dies without close() (reaper.ts), rather than at
   * the next start only. `skiff up` sets it; tests that stand in for a dead Skiff with abandon() do not.
   */
  reaper?: boolean;
}

const component = 'kubelet';

/** The lowest port an unprivileged process may bind. */
function unprivilegedPortStart(): number {
  if (process.getuid?.() === 0) return 0;
  try {
    const n = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim());
    if (Number.isInteger(n) && n >= 0) return n;
  } catch {
    // Not Linux.
  }
  return 1024;
}

function isConflict(e: unknown): boolean {
  return (e as { reason?: string })?.reason === 'Conflict';
}

function isNotFound(e: unknown): boolean {
  return (e as { reason?: string })?.reason === 'NotFound';
}

export class NodeAgent implements NodeRuntime {
  #client: Client;
  #nodeName: string;
  #dataDir: string;
  #log: (e: Record<string, unknown>) => void;
  #settings: NodeSettings;
  #skiffBin: string;
  #mesh: MeshEndpoint | undefined;
  #informers: Informers;
  #pods!: Informer;
  #events: EventRecorder;
  #ips = new IpAllocator({ claims: new AddressClaims() });
  #pids: PidFile | undefined;
  #appHostArgv: string[] | false;
  #appHost: AppHost | undefined;
  #reaperWanted: boolean;
  #reaper: Reaper | undefined;
  #runners = new Map<string, PodRunner>();
  #byName = new Map<string, string>();
  #stopping = new Map<string, Promise<void>>();
  #queue: WorkQueue;
  #unsubscribe: Array<() => void> = [];
  #started = false;
  #closed: Promise<void> | undefined;

  constructor(opts: NodeAgentOptions) {
    this.#client = opts.client;
    this.#nodeName = opts.nodeName;
    this.#dataDir = opts.dataDir;
    this.#skiffBin = opts.skiffBin;
    this.#appHostArgv = opts.appHost ?? (process.env.SKIFF_APP_HOST === '0' ? false : [process.execPath, opts.skiffBin, appHostCommand]);
    this.#mesh = opts.mesh;
    this.#reaperWanted = opts.reaper ?? false;
    this.#log = opts.log ?? (() => undefined);
    const picked = Object.fromEntries(Object.entries(opts).filter(([k, v]) => k in nodeDefaults && v !== undefined));
    this.#settings = { ...nodeDefaults, ...picked, privilegedPortStart: opts.privilegedPortStart ?? unprivilegedPortStart() };
    this.#informers = new Informers(this.#client, { log: this.#log });
    this.#events = new EventRecorder(this.#client, { log: this.#log, host: this.#nodeName });
    this.#queue = new WorkQueue((uid) => this.#syncStatus(uid), { name: 'node-status', log: this.#log, concurrency: 16 });
  }

  /** Kills orphans of a previous run, then runs every pod bound to this node that should run. */
  async start(): Promise<void> {
    if (this.#started || this.#closed) return;
    this.#started = true;
    mkdirSync(path.join(this.#dataDir, 'pods'), { recursive: true });
    mkdirSync(path.join(this.#dataDir, 'logs'), { recursive: true });
    this.#pids = new PidFile(this.#dataDir);
    const killed = await this.#pids.killOrphans();
    if (killed) this.#log({ level: 'info', msg: 'killed processes left by a previous run', groups: killed });
    if (this.#reaperWanted) this.#reaper = startReaper(this.#skiffBin, this.#dataDir);
    if (this.#appHostArgv) this.#appHost = new AppHost({ argv: this.#appHostArgv, dataDir: this.#dataDir, pids: this.#pids, idleMs: this.#settings.appHostIdleMs, log: this.#log });
    this.#pods = this.#informers.get('pods');
    await this.#informers.synced(['pods', 'configmaps', 'secrets', 'services']);
    if (this.#closed) return;
    // Addresses of pods that already have one stay theirs (first come, first served on a clash).
    for (const p of this.#pods.list()) {
      if (p.spec?.nodeName === this.#nodeName && p.status?.podIP && p.metadata.uid) this.#ips.reserve(p.metadata.uid, p.status.podIP);
    }
    // ConfigMaps and Secrets first: their replay of cached objects then finds no runner to poke.
    for (const res of ['configmaps', 'secrets']) {
      this.#unsubscribe.push(
        this.#informers.get(res).onChange((_type, obj) => {
          for (const r of this.#runners.values()) if (r.pod.metadata.namespace === obj.metadata.namespace) r.sourcesChanged();
        }),
      );
    }
    this.#unsubscribe.push(this.#pods.onChange((type, pod) => this.#onPod(type, pod)));
    this.#removeStale();
    this.#queue.start();
  }

  /** Stops every container it started (SIGTERM to the group, grace, SIGKILL) and empties the pids file; idempotent. */
  close(): Promise<void> {
    if (this.#closed) return this.#closed;
    this.#closed = (async () => {
      for (const u of this.#unsubscribe) u();
      this.#queue.close();
      this.#informers.close();
      const runners = [...this.#runners.values()];
      this.#runners.clear();
      await Promise.all([...runners.map((r) => r.stop({ graceSeconds: this.#settings.closeGraceSeconds, cleanup: false, events: false })), ...this.#stopping.values()]);
      await this.#appHost?.close();
      this.#ips.releaseAll();
      this.#pids?.close();
      this.#reaper?.stop();
      await this.#events.flush();
      this.#events.close();
    })();
    return this.#closed;
  }

  /**
   * Forgets everything without stopping a process, as `kill -9` of Skiff would (tests use it to check
   * that the next agent on the same data dir cleans up). The agent is unusable afterwards.
   */
  abandon(): void {
    if (this.#closed) return;
    this.#closed = Promise.resolve();
    for (const u of this.#unsubscribe) u();
    this.#queue.close();
    this.#informers.close();
    for (const r of this.#runners.values()) r.abandon();
    this.#runners.clear();
    this.#appHost?.abandon();
    this.#pids?.abandon();
    this.#events.close();
  }

  /** The runtime view of a container, for exec and networking. */
  container(namespace: string, pod: string, container: string): ContainerRuntimeInfo | undefined {
    return this.#runner(namespace, pod)?.info(container);
  }

  /** The log files of a container (current and previous run). */
  logFiles(namespace: string, pod: string, container: string): ContainerLogFiles | undefined {
    return this.#runner(namespace, pod)?.logFiles(container);
  }

  /** The stdio of a container started with stdin: true. */
  attach(namespace: string, pod: string, container: string): { stdin?: NodeJS.WritableStream; output: NodeJS.ReadableStream } | undefined {
    return this.#runner(namespace, pod)?.attach(container);
  }

  #runner(ns: string, name: string): PodRunner | undefined {
    const uid = this.#byName.get(`${ns}/${name}`);
    return uid ? this.#runners.get(uid) : undefined;
  }

  #onPod(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: KObject): void {
    const uid = pod.metadata.uid ?? '';
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const runner = this.#runners.get(uid);
    if (type === 'DELETED' || (runner && pod.metadata.deletionTimestamp)) {
      if (runner) this.#remove(runner, pod, type !== 'DELETED');
      else if (type === 'DELETED') this.#ips.release(uid);
      return;
    }
    if (pod.spec?.nodeName !== this.#nodeName) return;
    if (pod.metadata.deletionTimestamp) {
      // Terminating with nothing of it running here (it finished, never started, or Skiff restarted
      // meanwhile and killed its processes): it can go. One being stopped goes when its stop ends.
      if (!this.#stopping.has(uid)) this.#finalize(pod);
      return;
    }
    if (runner) {
      runner.update(pod);
      return;
    }
    // Finished pods stay as they are (their status is final); a restarted Skiff does not run them again.
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
    const r = new PodRunner(pod, this.#host);
    this.#runners.set(uid, r);
    this.#byName.set(key, uid);
    // Informer handlers run inside the writer's call (the registry notifies watchers synchronously):
    // start on a later turn so binding 100 pods does not wait for 100 process spawns.
    setImmediate(() => {
      if (this.#runners.get(uid) === r) r.start();
    });
  }

  /** Removes sandboxes and logs of pods deleted while Skiff was not running (folder names end with the uid). */
  #removeStale(): void {
    const live = new Set(this.#pods.list().map((p) => p.metadata.uid));
    for (const sub of ['pods', 'logs']) {
      const root = path.join(this.#dataDir, sub);
      for (const d of readdirSync(root)) {
        const uid = d.slice(d.lastIndexOf('_') + 1);
        if (!live.has(uid)) rmSync(path.join(root, d), { recursive: true, force: true });
      }
    }
  }

  /**
   * Stops a pod's containers (SIGTERM, its grace period, SIGKILL) and cleans its sandbox. A pod that
   * is still in the API (Terminating: `finalize`) is then deleted for good, as the kubelet does once
   * its containers are gone.
   */
  #remove(runner: PodRunner, pod: KObject, finalize: boolean): void {
    const uid = runner.uid;
    this.#runners.delete(uid);
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (this.#byName.get(key) === uid) this.#byName.delete(key);
    const grace = Math.min(pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30, this.#settings.maxGraceSeconds);
    const p = runner
      .stop({ graceSeconds: grace, cleanup: true, events: true })
      .catch((e: unknown) => this.#log({ level: 'warn', msg: 'pod stop failed', pod: key, error: String(e) }))
      .finally(() => {
        this.#stopping.delete(uid);
        if (finalize) this.#finalize(pod);
      });
    this.#stopping.set(uid, p);
  }

  /** Deletes a terminating pod with grace period 0 (only that pod: its uid is a precondition). */
  #finalize(pod: KObject): void {
    const name = pod.metadata.name ?? '';
    this.#client.delete('pods', pod.metadata.namespace, name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } }).catch((e: unknown) => {
      // Gone already, or a new pod of the same name (Conflict): nothing of this one is left to delete.
      if (!isNotFound(e) && !isConflict(e)) this.#log({ level: 'warn', msg: 'pod delete failed', pod: `${pod.metadata.namespace}/${name}`, error: String(e) });
    });
  }

  get #host(): RunnerHost {
    const sources: EnvSources = {
      configMap: (ns, name) => this.#informers.get('configmaps').get(ns, name),
      secret: (ns, name) => this.#informers.get('secrets').get(ns, name),
      services: (ns) => this.#informers.get('services').list(ns),
    };
    return {
      dataDir: this.#dataDir,
      skiffBin: this.#skiffBin,
      sources,
      ips: this.#ips,
      pids: this.#pids as PidFile,
      appHost: this.#appHost,
      settings: this.#settings,
      event: (pod, type, reason, message) => this.#events.record(pod, type, reason, message, component),
      changed: (uid) => this.#queue.add(uid),
      writeNow: (uid) => this.#syncStatus(uid).catch(() => this.#queue.add(uid)),
      annotate: async (pod, annotations) => {
        try {
          await this.#client.patch('pods', pod.metadata.namespace, pod.metadata.name ?? '', 'merge', { metadata: { annotations } });
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      },
      log: this.#log,
      mesh: this.#mesh,
    };
  }

  /** Writes a runner's status when it differs from the stored one; a Conflict is retried once with a fresh get, then by the queue. */
  async #syncStatus(uid: string): Promise<void> {
    const r = this.#runners.get(uid);
    if (!r) return;
    const ns = r.pod.metadata.namespace;
    const name = r.pod.metadata.name ?? '';
    let cur = this.#pods.get(ns, name);
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!cur || cur.metadata.uid !== uid || !this.#runners.has(uid)) return;
      const status = r.status(cur);
      if (stableJson(status) === stableJson(cur.status ?? {})) return;
      try {
        await this.#client.updateStatus('pods', ns, { ...cur, status });
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e) || attempt === 1) throw e;
        try {
          cur = await this.#client.get('pods', ns, name);
        } catch (g) {
          if (isNotFound(g)) return;
          throw g;
        }
      }
    }
  }
}
