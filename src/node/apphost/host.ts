/**
 * The app host process (`skiff app-host`): runs the built-in server apps of many containers in one
 * Node event loop, each on its own podIP:port with its own env, each writing its output to its own
 * container log file. A Node process costs ~45 MB and ~0.1 s of CPU to start; an app instance in here
 * costs a listener and a few compiled replies.
 *
 * An instance ends the way its standalone process would: stopped → 0; a listen failure → 1 with the
 * app's message; an exception or rejection nobody caught → 1 with the error and Node's version in its
 * log, as Node prints them. Errors are attributed to an instance through AsyncLocalStorage (its context
 * follows the instance's server, sockets, timers and promises); an error that belongs to no instance
 * is the host's own bug, and the host exits (the agent then ends and restarts every hosted container).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { inspect } from 'node:util';
import { LogWriter } from '../logs.ts';
import type { FromHost, StartMessage, ToHost } from './protocol.ts';

/** What the host needs from the apps: start one (a server's handle, or a finished client's exit code). */
export type AppStarter = (
  app: string,
  args: string[],
  env: Record<string, string | undefined>,
  io: { stdout(text: string): void; stderr(text: string): void },
) => Promise<{ close(): Promise<void> } | number>;

/** Host defaults, applied once. */
export const hostDefaults = {
  /** A close() that takes longer (connections that do not drop) is not waited for: the listener is gone. */
  closeWaitMs: 2000,
};

interface Instance {
  id: string;
  logs: LogWriter;
  app?: { close(): Promise<void> };
  state: 'starting' | 'running' | 'stopping' | 'ended';
}

/** The host's instances and its side of the IPC channel. */
class AppHostProcess {
  #start: AppStarter;
  #instances = new Map<string, Instance>();
  #context = new AsyncLocalStorage<Instance>();
  #quitting: Promise<void> | undefined;
  /** Settles when the last message sent has been written (IPC writes are ordered). */
  #lastSend: Promise<void> = Promise.resolve();

  constructor(start: AppStarter) {
    this.#start = start;
  }

  /** Handles the agent's messages and the errors of the instances until quit. */
  serve(): void {
    process.on('message', (m: ToHost) => this.#onMessage(m));
    process.on('uncaughtException', (err) => this.#onError(err));
    process.on('unhandledRejection', (err) => this.#onError(err));
    process.once('SIGTERM', () => void this.#quit());
    process.once('SIGINT', () => void this.#quit());
    // When the agent goes away (Skiff killed), the apps keep serving, as standalone app processes do;
    // the next Skiff kills this process through the pids file. With no app left the loop empties and
    // the process exits by itself.
    this.#send({ t: 'ready' });
  }

  #send(m: FromHost): void {
    if (!process.connected || !process.send) return;
    const send = process.send.bind(process);
    this.#lastSend = new Promise((resolve) => send(m, undefined, undefined, () => resolve()));
  }

  #onMessage(m: ToHost): void {
    if (m.t === 'start') {
      let inst: Instance;
      try {
        inst = this.#newInstance(m);
      } catch (e) {
        process.stderr.write(`app host: cannot open the log file of instance ${m.id}: ${(e as Error).message}\n`);
        return this.#send({ t: 'exit', id: m.id, code: 1 });
      }
      this.#context.run(inst, () => void this.#run(inst, m));
    } else if (m.t === 'stop') void this.#stop(m.id);
    else if (m.t === 'quit') void this.#quit();
  }

  #newInstance(m: StartMessage): Instance {
    const inst: Instance = { id: m.id, logs: new LogWriter(m.logFile, { append: true }), state: 'starting' };
    this.#instances.set(m.id, inst);
    return inst;
  }

  async #run(inst: Instance, m: StartMessage): Promise<void> {
    let started: Awaited<ReturnType<AppStarter>>;
    try {
      started = await this.#start(m.app, m.args, m.env, { stdout: (s) => inst.logs.write('out', s), stderr: (s) => inst.logs.write('err', s) });
    } catch (e) {
      // As `skiff app` reports an app that cannot start (src/cli/main.ts).
      inst.logs.write('err', `error: ${(e as Error).message ?? String(e)}\n`);
      return this.#end(inst, 1);
    }
    if (typeof started === 'number') return this.#end(inst, started);
    inst.app = started;
    if (inst.state === 'starting') {
      inst.state = 'running';
      return;
    }
    // Stopped, or crashed, while it started.
    await closeWithin(started);
    if (inst.state === 'stopping') this.#end(inst, 0);
  }

  async #stop(id: string): Promise<void> {
    const inst = this.#instances.get(id);
    if (!inst) return this.#send({ t: 'exit', id, code: 0 });
    if (inst.state === 'starting') {
      inst.state = 'stopping'; // #run closes it once started
      return;
    }
    if (inst.state !== 'running') return;
    inst.state = 'stopping';
    if (inst.app) await closeWithin(inst.app);
    this.#end(inst, 0);
  }

  #end(inst: Instance, code: number): void {
    if (inst.state === 'ended') return;
    inst.state = 'ended';
    inst.logs.close();
    this.#instances.delete(inst.id);
    this.#send({ t: 'exit', id: inst.id, code });
  }

  #onError(err: unknown): void {
    const inst = this.#context.getStore();
    if (!inst || inst.state === 'ended' || this.#instances.get(inst.id) !== inst) {
      process.stderr.write(`app host: uncaught error outside any app: ${inspect(err)}\n`);
      process.exit(1);
    }
    // What Node prints for an uncaught error, before it exits with 1.
    inst.logs.write('err', `${inspect(err)}\n\nNode.js ${process.version}\n`);
    const app = inst.app;
    inst.state = 'stopping';
    void (app ? closeWithin(app) : Promise.resolve()).then(() => this.#end(inst, 1));
  }

  /** Stops every instance, lets the agent hear about each, and ends the process. */
  #quit(): Promise<void> {
    this.#quitting ??= (async () => {
      await Promise.all([...this.#instances.keys()].map((id) => this.#stop(id)));
      await this.#lastSend;
      // Not waiting for the loop to empty: a connection an app did not drop must not keep the host alive.
      process.exit(0);
    })();
    return this.#quitting;
  }
}

/** Closes an app, waiting at most hostDefaults.closeWaitMs for its connections. */
async function closeWithin(app: { close(): Promise<void> }): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([app.close().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, hostDefaults.closeWaitMs)))]);
  clearTimeout(timer);
}

/**
 * Runs this process as the app host: returns at once, and the process ends when the agent says quit
 * (or on SIGTERM). Returns 2 when there is no agent to serve (no IPC channel).
 */
export function serveAppHost(start: AppStarter): number {
  if (!process.send) {
    process.stderr.write('skiff app-host is started by the node agent (it needs an IPC channel)\n');
    return 2;
  }
  new AppHostProcess(start).serve();
  return 0;
}
