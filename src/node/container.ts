/**
 * One run of a container: a process in a group of its own (spawned detached, so the whole group can be
 * signalled), its stdout and stderr into the run's log file, recorded in the pids file while it lives.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { LogWriter } from './logs.ts';
import { killGroup, processStartTime, type PidFile } from './pids.ts';
import { lookPath, signalExitCode, StartError, stopGroup } from './process.ts';

/** How to start a run. */
export interface RunOptions {
  cwd: string;
  env: Record<string, string>;
  /** Keep stdin open for attach. */
  stdin: boolean;
  logFile: string;
  pids: PidFile;
  /** For the pids file: which pod and container this is. */
  podUid: string;
  pod: string;
  container: string;
}

/** What the pod runner needs of one run, whether its own process or an app in the app host. */
export interface ContainerRun {
  /** The main process id, which is also its process group id. */
  readonly pid: number;
  /** Settles with the exit code (128+signal when killed) once the run has ended. */
  readonly exited: Promise<number>;
  readonly stdin: NodeJS.WritableStream | undefined;
  attach(): PassThrough;
  stop(graceMs: number): Promise<void>;
  abandon(): void;
}

/** A running container process. */
export class ContainerProcess implements ContainerRun {
  readonly pid: number;
  /** Settles with the exit code (128+signal when killed) once the main process has exited. */
  readonly exited: Promise<number>;
  #child: ChildProcess;
  #outputs = new Set<PassThrough>();

  /** Starts argv; throws StartError (with the runtime's wording) when the program cannot start. */
  constructor(argv: string[], opts: RunOptions) {
    const program = lookPath(argv[0], opts.env.PATH ?? '', opts.cwd);
    const child = spawn(program, argv.slice(1), { cwd: opts.cwd, env: opts.env, detached: true, argv0: argv[0], stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    // Failures after fork (EACCES, ENOEXEC) arrive as 'error' with no pid and no 'exit'.
    child.on('error', () => undefined);
    if (child.pid === undefined) throw new StartError(`unable to start container process: exec: "${argv[0]}": permission denied`);
    const pid = child.pid;
    this.pid = pid;
    this.#child = child;
    opts.pids.add({ pgid: pid, startTime: processStartTime(pid), podUid: opts.podUid, pod: opts.pod, container: opts.container });
    const logs = new LogWriter(opts.logFile);
    const fan = (stream: 'out' | 'err') => (b: Buffer): void => {
      logs.write(stream, b);
      for (const o of this.#outputs) o.write(b);
    };
    child.stdout?.on('data', fan('out'));
    child.stderr?.on('data', fan('err'));
    child.on('close', () => {
      logs.close();
      for (const o of this.#outputs) o.end();
    });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        opts.pids.remove(pid);
        // The rest of the group (children left behind) ends with the main process, as in a container.
        killGroup(pid, 'SIGKILL');
        resolve(code ?? signalExitCode(signal));
      });
    });
  }

  /** The process's stdin, when started with stdin. */
  get stdin(): NodeJS.WritableStream | undefined {
    return this.#child.stdin ?? undefined;
  }

  /** A stream of the process's stdout and stderr from now on; it ends when the process does. */
  attach(): PassThrough {
    const out = new PassThrough();
    this.#outputs.add(out);
    out.on('close', () => this.#outputs.delete(out));
    return out;
  }

  /** SIGTERM to the group, graceMs, then SIGKILL; resolves once the main process has exited. */
  async stop(graceMs: number): Promise<void> {
    await stopGroup(this.pid, graceMs, this.exited);
  }

  /** Lets the process live on unobserved (see NodeAgent.abandon()). */
  abandon(): void {
    this.#child.removeAllListeners('exit');
    this.#child.stdout?.destroy();
    this.#child.stderr?.destroy();
    this.#child.unref();
  }
}
