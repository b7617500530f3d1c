/**
 * One run of a container whose app lives in the app host. The container still has a process of its
 * own, a stub that only sleeps (no Node: ~1 MB, ~1 ms to start), in a process group of its own, so
 * everything that treats a container as a process keeps working: killing the group from outside ends
 * the container (and stops its app), the pids file records it, stop() is SIGTERM, grace, SIGKILL.
 *
 * The run ends when either side ends, and its exit code is what the standalone app process would give:
 * - the stub got SIGTERM or SIGINT (stop(), `kill`): the app is stopped gracefully, code 0 as `skiff app`
 *   returns after a signal;
 * - the stub died otherwise (SIGKILL): 128 + signal, and the app is stopped;
 * - the app ended in the host (listen failure, crash): its code, and the stub is killed;
 * - the host itself died: its code (128 + signal when killed), and the stub is killed.
 * The run is over only once both are gone, so a restart never finds the old app on its port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import type { ContainerRun, RunOptions } from '../container.ts';
import { killGroup, processStartTime } from '../pids.ts';
import { signalExitCode, StartError, stopGroup } from '../process.ts';

/** How a hosted run reaches its host. */
export interface HostLink {
  /** Asks the host to stop the instance; it answers through appEnded(). */
  stop(id: string): void;
  /** The host did not answer in time: kill it (every instance then ends through appEnded()). */
  kill(): void;
}

/** Hosted run defaults, applied once. */
export const hostedDefaults = {
  /**
   * How long the host may take to confirm an instance stopped before it is deemed hung and killed (which
   * ends every app in it). A close takes milliseconds; the margin is for a host starved of CPU.
   */
  ackMs: 10_000,
};

/** A container run: a sleeping stub process here, its app in the host. */
export class HostedContainer implements ContainerRun {
  readonly id: string;
  readonly pid: number;
  readonly exited: Promise<number>;
  #child: ChildProcess;
  #link: HostLink;
  #resolve!: (code: number) => void;
  #appCode: number | undefined;
  #stubEnd: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  #ackTimer: NodeJS.Timeout | undefined;
  /** Which side ended first decides the exit code. */
  #first: 'stub' | 'app' | undefined;
  #outputs = new Set<PassThrough>();
  #ended = false;

  /** Starts the stub (`stub` is the resolved path of sleep); throws StartError when it cannot start. */
  constructor(id: string, stub: string, link: HostLink, opts: RunOptions) {
    this.id = id;
    this.#link = link;
    const child = spawn(stub, ['infinity'], { cwd: opts.cwd, env: opts.env, detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    if (child.pid === undefined) throw new StartError(`unable to start container process: exec: "${stub}": permission denied`);
    this.pid = child.pid;
    this.#child = child;
    const pid = child.pid;
    opts.pids.add({ pgid: pid, startTime: processStartTime(pid), podUid: opts.podUid, pod: opts.pod, container: opts.container });
    this.exited = new Promise((resolve) => (this.#resolve = resolve));
    child.on('exit', (code, signal) => {
      opts.pids.remove(pid);
      killGroup(pid, 'SIGKILL');
      this.#stubEnd = { code, signal };
      this.#first ??= 'stub';
      if (this.#appCode !== undefined) return this.#finish();
      this.#link.stop(this.id);
      this.#ackTimer = setTimeout(() => this.#link.kill(), hostedDefaults.ackMs);
      this.#ackTimer.unref();
    });
  }

  /** The host says the instance ended with `code` (or the host died: its code). */
  appEnded(code: number): void {
    if (this.#appCode !== undefined) return;
    this.#appCode = code;
    this.#first ??= 'app';
    clearTimeout(this.#ackTimer);
    if (this.#stubEnd) this.#finish();
    else killGroup(this.pid, 'SIGKILL'); // the stub's exit finishes the run
  }

  #finish(): void {
    if (this.#ended) return;
    this.#ended = true;
    const { code, signal } = this.#stubEnd!;
    const app = this.#appCode ?? 1;
    // A stub stopped by SIGTERM/SIGINT is the app's own graceful stop: the app's code (0) stands.
    const stubDecides = this.#first === 'stub' && signal !== 'SIGTERM' && signal !== 'SIGINT';
    for (const o of this.#outputs) o.end();
    this.#resolve(stubDecides ? (signal ? signalExitCode(signal) : (code ?? 1)) : app);
  }

  /** Hosted apps take no stdin (containers with stdin: true run as their own process). */
  get stdin(): undefined {
    return undefined;
  }

  /** A stream that ends with the run; the app's output goes to its log file only. */
  attach(): PassThrough {
    const out = new PassThrough();
    if (this.#ended) out.end();
    else this.#outputs.add(out);
    out.on('close', () => this.#outputs.delete(out));
    return out;
  }

  /** SIGTERM to the stub's group (its app is stopped gracefully), graceMs, then SIGKILL. */
  async stop(graceMs: number): Promise<void> {
    await stopGroup(this.pid, graceMs, this.exited);
  }

  /** Lets the stub live on unobserved (see NodeAgent.abandon()). */
  abandon(): void {
    this.#child.removeAllListeners('exit');
    clearTimeout(this.#ackTimer);
    this.#child.unref();
  }
}
