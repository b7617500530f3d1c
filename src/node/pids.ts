/**
 * The record of every process group the node agent started (`<dataDir>/node/pids.json`), so that a
 * Skiff killed with -9 leaves no orphans: its watch (reaper.ts) kills every recorded group that is
 * still alive and still ours (same pid and same start time, so a reused pid is never hit) as soon as
 * it is gone, and the next start does the same for whatever is left.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
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

/**
 * The records in a pids file's text. A write cut short by `kill -9` can leave the new list's first
 * pages before the old list's rest; then every whole record either list left is taken (each names
 * a group we started, and killOrphans checks the start time before killing).
 */
export function readRecords(text: string): PidRecord[] {
  try {
    const all = JSON.parse(text) as unknown;
    return Array.isArray(all) ? (all as PidRecord[]) : [];
  } catch {
    const out: PidRecord[] = [];
    for (const m of text.matchAll(/\{[^{}]*\}/g)) {
      try {
        out.push(JSON.parse(m[0]) as PidRecord);
      } catch {
        // A record cut in two: its group is in the other list or was never recorded.
      }
    }
    return out;
  }
}

/** Where a data dir's pids file is. */
export function pidFilePath(dataDir: string): string {
  return path.join(dataDir, 'node', 'pids.json');
}

/**
 * The records of a data dir's pids file, [] when there is none. Since the agent writes the file in
 * place, a reader running beside it could catch a write half done: the file is read until two reads
 * agree (a write takes microseconds), and a text that still does not parse gives its whole records.
 */
export function readPidFile(dataDir: string): PidRecord[] {
  const file = pidFilePath(dataDir);
  let prev: string | undefined;
  for (let i = 0; i < 20; i++) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return [];
    }
    if (text === prev) break;
    prev = text;
  }
  return readRecords(prev ?? '');
}

/**
 * True when `pid` is alive and is still the process that started at `startTime` (a pid is reused
 * once its process is gone). Without a recorded start time, or without /proc to read one, any live
 * process of that pid counts.
 */
export function isSameProcess(pid: number, startTime: string | undefined): boolean {
  if (!isAlive(pid)) return false;
  if (startTime === undefined) return true;
  const now = processStartTime(pid);
  return now === undefined || now === startTime;
}

/**
 * Kills (SIGKILL) every recorded group that is still ours: a live leader only when it started at the
 * recorded time; a dead leader's group id cannot be reused while any member lives, so -pgid then
 * reaches only leftovers of our group (or nothing). Returns the groups signalled.
 */
export function killRecorded(records: PidRecord[]): number[] {
  const killed: number[] = [];
  for (const r of records) {
    if (!r || !Number.isInteger(r.pgid) || r.pgid <= 1) continue;
    if (isAlive(r.pgid) && !isSameProcess(r.pgid, r.startTime)) continue;
    if (killGroup(r.pgid, 'SIGKILL')) killed.push(r.pgid);
  }
  return killed;
}

/** Waits (polling every 50 ms, at most `ms`) until none of these processes is alive. */
export async function untilGone(pids: number[], ms: number): Promise<void> {
  for (let waited = 0; waited < ms && pids.some(isAlive); waited += 50) await new Promise((r) => setTimeout(r, 50));
}

/**
 * The pids file: records added and removed as containers start and stop. Each write is one
 * pwrite of the whole list at offset 0, padded with spaces to the file's length (JSON allows
 * trailing blanks), so the file is never truncated: a `kill -9` of Skiff cannot tear a write() that
 * has begun, and the next start reads either the old list or the new one. When the list shrinks to
 * under half the file, it is replaced by a write and a rename instead, so the file does not stay big.
 * (Rename-over and truncate make ext4 flush the data at once: ~1.7 ms per write on this VM, against
 * ~0.1 ms in place.)
 */
export class PidFile {
  readonly #dataDir: string;
  #file: string;
  #records = new Map<number, PidRecord>();
  #pending: NodeJS.Immediate | undefined;
  /** The open file written in place, and its length in bytes. */
  #fd: number | undefined;
  #size = 0;
  /** close() or abandon() ran: later writes (a pending one) replace the file and keep nothing open. */
  #closed = false;

  constructor(dataDir: string) {
    this.#dataDir = dataDir;
    this.#file = pidFilePath(dataDir);
    mkdirSync(path.dirname(this.#file), { recursive: true });
  }

  /**
   * Kills every group recorded by a previous run that is still alive and still the same process, and
   * waits (up to 5 s) until they are gone, so their addresses and ports are free again; returns how many
   * were killed. The file is emptied afterwards.
   */
  async killOrphans(): Promise<number> {
    // No file (first start): nothing to kill.
    const killed = killRecorded(readPidFile(this.#dataDir));
    await untilGone(killed, 5000);
    this.#records.clear();
    this.#flush();
    return killed.length;
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

  /** Writes pending changes and closes the file. */
  close(): void {
    this.flush();
    this.abandon();
  }

  /** Closes the file without writing (the agent's stand-in for `kill -9`). */
  abandon(): void {
    this.#closed = true;
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
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

  // The file is small (one entry per running container); see the class comment for how it is written.
  #flush(): void {
    const text = Buffer.from(JSON.stringify([...this.#records.values()]));
    if (this.#fd !== undefined && text.length >= this.#size / 2) {
      const out = text.length >= this.#size ? text : Buffer.alloc(this.#size, ' ');
      if (out !== text) text.copy(out);
      writeSync(this.#fd, out, 0, out.length, 0);
      this.#size = out.length;
      return;
    }
    const tmp = `${this.#file}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, this.#file);
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = this.#closed ? undefined : openSync(this.#file, 'r+');
    this.#size = text.length;
  }
}
