/**
 * The watch that ends a Skiff's pod processes when Skiff itself dies without stopping them (`kill
 * -9`, a crash, the OOM killer). A detached `sh` waits on a pipe whose write end only Skiff holds.
 * When Skiff is gone, the kernel closes that end, `cat` reads EOF, and the shell runs `skiff reap
 * <dataDir> <pid>`, which kills every group the pids file records that is still ours: what the next
 * start would do (pids.ts), done at once, so ports and memory are not held until then. The pods run
 * again on the next start either way. A clean stop ends the watch after its pods have stopped.
 *
 * Waiting costs a shell and a `cat` (no node process); node runs only to reap.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isAlive, killRecorded, readPidFile, untilGone } from './pids.ts';

/** The command `skiff reap` is started as (a `skiff` subcommand). */
export const reapCommand = 'reap';

export interface Reaper {
  /** The watch's pid (the shell, later the reap it execs). */
  readonly pid: number;
  /** Ends the watch without reaping (a clean stop, after the pods stopped). */
  stop(): void;
}

/**
 * Starts the watch for the pids file of `dataDir`; `skiffBin` is the entry `skiff reap` runs from.
 * undefined where no `sh` can be started (the next start still kills what is left).
 */
export function startReaper(skiffBin: string, dataDir: string): Reaper | undefined {
  const script = 'cat >/dev/null; exec "$0" "$1" "$2" "$3" "$4"';
  let child;
  try {
    child = spawn('/bin/sh', ['-c', script, process.execPath, skiffBin, reapCommand, path.resolve(dataDir), String(process.pid)], {
      // Its own process group, so a Ctrl-C meant for Skiff does not end the watch before Skiff is done.
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
  } catch {
    return undefined;
  }
  const { pid, stdin } = child;
  child.on('error', () => {});
  stdin?.on('error', () => {});
  // Neither the watch nor its pipe keeps Skiff's event loop alive.
  child.unref();
  (stdin as unknown as { unref?: () => void } | null)?.unref?.();
  if (pid === undefined) return undefined;
  return {
    pid,
    stop() {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      stdin?.destroy();
    },
  };
}

/**
 * `skiff reap <dataDir> <pid>`: kills the groups recorded in `dataDir` once Skiff `pid` is gone. A
 * Skiff started on the same data dir in the meantime (its lock names another live pid) has killed
 * them itself and records its own pods there now: those are left alone. Returns the groups killed.
 */
export async function reap(dataDir: string, owner: number): Promise<number> {
  let holder = 0;
  try {
    holder = Number(readFileSync(path.join(dataDir, 'skiff.lock'), 'utf8').trim());
  } catch {
    // No lock: the owner was an agent without one (tests), or it stopped and released it.
  }
  if (holder && holder !== owner && isAlive(holder)) return 0;
  const killed = killRecorded(readPidFile(dataDir));
  await untilGone(killed, 5000);
  return killed.length;
}
