/**
 * Container processes: executable lookup with the runtime's error wording, spawning in a process group
 * of its own, and group termination (SIGTERM, grace, SIGKILL), which is how a container is stopped.
 */
import { accessSync, constants, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killGroup } from './pids.ts';

/** Why a process could not start (the container terminates with reason StartError, exit code 128). */
export class StartError extends Error {}

/**
 * Finds the program of argv[0] as runc does (exec.LookPath in the container's PATH), throwing
 * StartError with runc's wording: `exec: "nosuch": executable file not found in $PATH`. Relative
 * paths with a slash resolve against the working directory.
 */
export function lookPath(file: string, envPath: string, cwd: string): string {
  const fail = (why: string): never => {
    throw new StartError(`unable to start container process: exec: "${file}": ${why}`);
  };
  const check = (p: string): string | undefined => {
    try {
      const st = statSync(p);
      if (st.isDirectory()) return 'is a directory';
      accessSync(p, constants.X_OK);
      return undefined;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return code === 'ENOENT' || code === 'ENOTDIR' ? `stat ${p}: no such file or directory` : 'permission denied';
    }
  };
  if (!file) fail('executable file not found in $PATH');
  if (file.includes('/')) {
    const p = path.resolve(cwd, file);
    const why = check(p);
    if (why) fail(why);
    return p;
  }
  for (const dir of envPath.split(':')) {
    const p = path.join(dir || '.', file);
    if (!check(p)) return p;
  }
  return fail('executable file not found in $PATH');
}

/** The exit code a runtime reports for a process killed by `signal` (128 + number). */
export function signalExitCode(signal: NodeJS.Signals | null): number {
  const n = signal ? (os.constants.signals as Record<string, number>)[signal] : undefined;
  return n ? 128 + n : 1;
}

/**
 * Stops a process group: SIGTERM, then SIGKILL after graceMs if the leader still lives; resolves when
 * the leader has exited (`exited` settles) or shortly after SIGKILL.
 */
export async function stopGroup(pgid: number, graceMs: number, exited: Promise<unknown>): Promise<void> {
  if (!killGroup(pgid, 'SIGTERM')) return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), graceMs);
    }),
  ]);
  if (timer) clearTimeout(timer);
  // The rest of the group (children the main process left behind) goes too, as with a container.
  killGroup(pgid, 'SIGKILL');
  // Wait for the exit to be observed (the pids file and the container state are updated there).
  if (timedOut) {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (t = setTimeout(r, 2000)))]);
    clearTimeout(t);
  }
}
