/**
 * The record of every process group the node agent started (`<dataDir>/node/pids.json`), so that a
 * Skiff killed with -9 leaves no orphans: the next start kills every recorded group that is still
 * alive and still ours (same pid and same start time, so a reused pid is never hit).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** One started container process (its pid is also its process group id: it runs detached). */
export interface PidRecord {
  pgid: number;
  /** Start time from /proc/<pid>/stat (clock ticks since boot); undefined where /proc is missing. */
  startTime?: string;
  podUid: string;
  pod: string;
  container: string;
}

/** The start time of a process (field 22 of /proc/<pid>/stat), or undefined. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

/** True when a process with this pid exists and is not a zombie (a zombie holds no sockets or files). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    // No /proc (not Linux): kill(0) succeeded, so it exists.
    return existsSync('/proc/self') ? false : true;
  }
}

/** Sends a signal to a whole process group; false when the group is gone. */
export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** The pids file: records added and removed as containers start and stop, written atomically. */
export class PidFile {
  #file: string;
  #records = new Map<number, PidRecord>();
  #pending: NodeJS.Immediate | undefined;

  constructor(dataDir: string) {
    this.#file = path.join(dataDir, 'node', 'pids.json');
    mkdirSync(path.dirname(this.#file), { recursive: true });
  }

  /**
   * Kills every group recorded by a previous run that is still alive and still the same process, and
   * waits (up to 5 s) until they are gone, so their addresses and ports are free again; returns how many
   * were killed. The file is emptied afterwards.
   */
  async killOrphans(): Promise<number> {
    let old: PidRecord[] = [];
    try {
      old = JSON.parse(readFileSync(this.#file, 'utf8')) as PidRecord[];
    } catch {
      // No file (first start) or a torn one: nothing to kill.
    }
    let n = 0;
    const killed: number[] = [];
    for (const r of Array.isArray(old) ? old : []) {
      if (!Number.isInteger(r.pgid) || r.pgid <= 1) continue;
      if (isAlive(r.pgid)) {
        // The leader lives: only ours when it started at the recorded time.
        if (r.startTime !== undefined && processStartTime(r.pgid) !== r.startTime) continue;
      }
      // A dead leader's group id cannot be reused while any member lives, so -pgid reaches only
      // leftovers of our group (or nothing).
      if (killGroup(r.pgid, 'SIGKILL')) {
        n++;
        killed.push(r.pgid);
      }
    }
    for (let i = 0; i < 100 && killed.some(isAlive); i++) await new Promise((r) => setTimeout(r, 50));
    this.#records.clear();
    this.#flush();
    return n;
  }

  /** Records a started group. */
  add(r: PidRecord): void {
    this.#records.set(r.pgid, r);
    this.#schedule();
  }

  /** Forgets a group (it exited or was killed). */
  remove(pgid: number): void {
    if (this.#records.delete(pgid)) this.#schedule();
  }

  /** Writes pending changes now (close() calls it so the file ends empty). */
  flush(): void {
    if (this.#pending) clearImmediate(this.#pending);
    this.#pending = undefined;
    this.#flush();
  }

  // One write per turn of the event loop: starting 100 pods writes the file a few times, not 100
  // (each write is a rename, which costs milliseconds on overlay file systems). A Skiff killed inside
  // that window leaves at most the groups started in the same turn unrecorded.
  #schedule(): void {
    if (this.#pending) return;
    this.#pending = setImmediate(() => {
      this.#pending = undefined;
      this.#flush();
    });
  }

  /** Groups recorded now. */
  get records(): PidRecord[] {
    return [...this.#records.values()];
  }

  // The file is small (one entry per running container) and rename makes each write atomic.
  #flush(): void {
    const tmp = `${this.#file}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.#records.values()]));
    renameSync(tmp, this.#file);
  }
}
