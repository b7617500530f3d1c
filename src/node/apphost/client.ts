/**
 * The node agent's side of the app host: starts the host process on the first hosted container, hands
 * it each container's app, and turns its messages into the ends of hosted runs. A host that dies ends
 * every run it hosted (their pods restart them per restartPolicy, which starts a new host); a host with
 * nothing to run for appHostIdleMs is told to quit. The host's process group is in the pids file, so a
 * Skiff killed with -9 leaves no host behind after its next start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { serverApp } from '../../apps/index.ts';
import type { RunOptions } from '../container.ts';
import { LogWriter } from '../logs.ts';
import { killGroup, processStartTime, type PidFile } from '../pids.ts';
import { lookPath, signalExitCode } from '../process.ts';
import { HostedContainer, type HostLink } from './hosted.ts';
import type { FromHost, ToHost } from './protocol.ts';

/** How the agent runs its app host. */
export interface AppHostOptions {
  /** The host program, e.g. [process.execPath, skiffBin, 'app-host']. */
  argv: string[];
  /** The host's own output goes to <dataDir>/node/app-host.log. */
  dataDir: string;
  pids: PidFile;
  /** Quit the host after this long without an app. */
  idleMs: number;
  log(e: Record<string, unknown>): void;
}

/** The pids-file record of the host (no pod). */
export const appHostRecord = { podUid: '', pod: '', container: 'skiff-app-host' } as const;

/** One host process, from spawn to exit. */
class HostProcess implements HostLink {
  readonly pid: number;
  readonly runs = new Map<string, HostedContainer>();
  readonly exited: Promise<void>;
  #child: ChildProcess;
  #ready = false;
  #queue: ToHost[] = [];
  #dead = false;

  constructor(opts: AppHostOptions, onExit: (host: HostProcess, code: number | null, signal: NodeJS.Signals | null) => void) {
    const out = openSync(path.join(opts.dataDir, 'node', 'app-host.log'), 'a');
    try {
      this.#child = spawn(opts.argv[0], opts.argv.slice(1), { cwd: opts.dataDir, detached: true, stdio: ['ignore', out, out, 'ipc'] });
    } finally {
      closeSync(out);
    }
    this.pid = this.#child.pid ?? -1;
    if (this.pid > 0) opts.pids.add({ pgid: this.pid, startTime: processStartTime(this.pid), ...appHostRecord });
    this.#child.on('message', (m: FromHost) => this.#onMessage(m));
    this.exited = new Promise((resolve) => {
      const ended = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.#dead) return;
        this.#dead = true;
        if (this.pid > 0) {
          opts.pids.remove(this.pid);
          killGroup(this.pid, 'SIGKILL');
        }
        for (const run of this.runs.values()) run.appEnded(code ?? signalExitCode(signal));
        this.runs.clear();
        onExit(this, code, signal);
        resolve();
      };
      this.#child.on('exit', ended);
      // A host that could not even start sends no 'exit'.
      this.#child.on('error', () => {
        if (this.pid < 0) setImmediate(() => ended(127, null));
      });
    });
  }

  /** Sends a message, holding it until the host listens. */
  send(m: ToHost): void {
    if (this.#dead) return;
    if (!this.#ready) this.#queue.push(m);
    else this.#child.send(m, undefined, undefined, () => undefined);
  }

  stop(id: string): void {
    this.send({ t: 'stop', id });
  }

  kill(): void {
    if (this.pid > 0) killGroup(this.pid, 'SIGKILL');
  }

  /** Asks the host to stop its apps and exit; kills it after waitMs. */
  async quit(waitMs: number): Promise<void> {
    this.send({ t: 'quit' });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
    if (!this.#dead) {
      this.kill();
      await this.exited;
    }
  }

  /** Stops listening to the host and lets it run on, as a killed Skiff would. */
  abandon(): void {
    this.#child.removeAllListeners('exit');
    this.#child.removeAllListeners('message');
    if (this.#child.connected) this.#child.disconnect();
    this.#child.unref();
  }

  #onMessage(m: FromHost): void {
    if (m.t === 'ready') {
      this.#ready = true;
      for (const q of this.#queue.splice(0)) this.#child.send(q, undefined, undefined, () => undefined);
    } else if (m.t === 'exit') {
      const run = this.runs.get(m.id);
      this.runs.delete(m.id);
      run?.appEnded(m.code);
    }
  }
}

/** Runs the built-in server apps of many containers in one shared process. */
export class AppHost {
  #opts: AppHostOptions;
  #stub: string | undefined;
  #host: HostProcess | undefined;
  #nextId = 0;
  #idle: NodeJS.Timeout | undefined;
  #closed = false;
  #quitting = new Set<Promise<void>>();

  constructor(opts: AppHostOptions) {
    this.#opts = opts;
    try {
      this.#stub = lookPath('sleep', process.env.PATH ?? '', opts.dataDir);
    } catch {
      // No sleep on this machine: every container runs as its own process.
      this.#stub = undefined;
    }
  }

  /** True when the host runs this container's app: a built-in server app, no command of its own, no stdin. */
  accepts(app: string, args: readonly string[], spec: { command?: string[]; stdin?: boolean }): boolean {
    return this.#stub !== undefined && !this.#closed && !spec.command?.length && !spec.stdin && serverApp(app, args);
  }

  /** Starts a hosted run: prepares its log file, starts its stub, hands its app to the host. Throws StartError as ContainerProcess does. */
  start(app: string, args: string[], run: RunOptions): HostedContainer {
    clearTimeout(this.#idle);
    this.#idle = undefined;
    // The run's file is created here, with the usual clean-up of old runs; the host appends to it.
    new LogWriter(run.logFile).close();
    const host = (this.#host ??= new HostProcess(this.#opts, (h, code, signal) => this.#hostExited(h, code, signal)));
    const id = String(++this.#nextId);
    let hosted: HostedContainer;
    try {
      hosted = new HostedContainer(id, this.#stub!, host, run);
    } catch (e) {
      this.#maybeIdle();
      throw e;
    }
    host.runs.set(id, hosted);
    host.send({ t: 'start', id, app, args, env: run.env, logFile: run.logFile });
    void hosted.exited.then(() => this.#maybeIdle());
    return hosted;
  }

  /** Tells the host to quit (the agent has stopped every container before); idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#idle);
    const host = this.#host;
    this.#host = undefined;
    if (host) this.#quitting.add(host.quit(3000));
    await Promise.all(this.#quitting);
  }

  /** Forgets the host and leaves it running (see NodeAgent.abandon()). */
  abandon(): void {
    this.#closed = true;
    clearTimeout(this.#idle);
    this.#host?.abandon();
    this.#host = undefined;
  }

  #maybeIdle(): void {
    const host = this.#host;
    if (!host || host.runs.size || this.#idle || this.#closed) return;
    this.#idle = setTimeout(() => {
      this.#idle = undefined;
      if (this.#host !== host || host.runs.size) return;
      this.#host = undefined;
      const q = host.quit(3000).finally(() => this.#quitting.delete(q));
      this.#quitting.add(q);
    }, this.#opts.idleMs);
    this.#idle.unref();
  }

  #hostExited(host: HostProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#host === host) {
      this.#host = undefined;
      this.#opts.log({ level: 'warn', msg: 'app host exited; its containers are restarted per their restartPolicy', pid: host.pid, code, signal });
    }
  }
}
