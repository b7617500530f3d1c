/**
 * Pod addresses: one loopback address per pod from 127.42.0.0/16 (DESIGN §3). Linux routes all of
 * 127.0.0.0/8 to the loopback interface, so every address is bindable without configuration.
 *
 * Every Skiff on a machine shares that range (a class box, parallel tests), and every meshed pod and
 * gateway binds the same proxy ports (15000, 15001, 15020, 15021) on its address: two pods of two
 * Skiffs on one address make the later sidecar fail with EADDRINUSE. So each address handed out is
 * also claimed machine-wide, by a file in a directory all Skiffs share (AddressClaims).
 */
import { mkdirSync, readFileSync, chmodSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isSameProcess, processStartTime } from './pids.ts';

/** Address range of pod IPs. */
export const podNetwork = { prefix: '127.42', first: 2, last: 65_534 } as const;

function toIp(n: number): string {
  return `${podNetwork.prefix}.${n >> 8}.${n & 255}`;
}

/** The host-part number of a pod IP, or undefined when the address is not in the pod network. */
function fromIp(ip: string): number | undefined {
  const m = /^127\.42\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const n = Number(m[1]) * 256 + Number(m[2]);
  return n >= podNetwork.first && n <= podNetwork.last && Number(m[1]) < 256 && Number(m[2]) < 256 ? n : undefined;
}

/** Where the Skiffs of this machine claim pod addresses. */
export const defaultClaimsDir = path.join(tmpdir(), 'skiff-pod-addresses');

/**
 * Machine-wide claims on pod addresses: a file per address, created exclusively, holding the pid and
 * start time of the Skiff that uses it. A claim whose process is gone (a Skiff killed with -9) or
 * is another process by now (a reused pid) is taken over.
 */
export class AddressClaims {
  #dir: string;
  #me: string;
  #ready = false;

  constructor(dir: string = defaultClaimsDir) {
    this.#dir = dir;
    this.#me = `${process.pid} ${processStartTime(process.pid) ?? ''}`;
  }

  /** Claims `ip` for this process; false while another live Skiff holds it. */
  take(ip: string): boolean {
    const file = path.join(this.#dir, ip);
    for (let i = 0; i < 3; i++) {
      try {
        this.#mkdir();
        writeFileSync(file, this.#me, { flag: 'wx' });
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return true; // no shared dir to use: claim nothing, as before claims
      }
      const holder = this.#holder(file);
      if (holder === this.#me) return true;
      if (holder !== undefined && this.#live(holder)) return false;
      try {
        unlinkSync(file);
      } catch {
        // Another Skiff took the stale claim over first; the next round sees whose it is.
      }
    }
    return false;
  }

  /** Gives `ip` back, if this process holds it. */
  drop(ip: string): void {
    const file = path.join(this.#dir, ip);
    if (this.#holder(file) !== this.#me) return;
    try {
      unlinkSync(file);
    } catch {
      // Already gone.
    }
  }

  #mkdir(): void {
    if (this.#ready) return;
    mkdirSync(this.#dir, { recursive: true });
    try {
      // Shared by every user's Skiffs, as /tmp itself is.
      chmodSync(this.#dir, 0o1777);
    } catch {
      // Made by another user: already shared.
    }
    this.#ready = true;
  }

  #holder(file: string): string | undefined {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  }

  #live(holder: string): boolean {
    const [pid, start] = holder.split(' ');
    const n = Number(pid);
    return Number.isInteger(n) && n > 0 && isSameProcess(n, start || undefined);
  }
}

/** Allocates pod IPs by pod uid; reserve() the addresses of existing pods first so they stay stable across restarts. */
export class IpAllocator {
  #byUid = new Map<string, number>();
  #used = new Set<number>();
  #claims: AddressClaims | undefined;
  // Allocation walks forward from the last address handed out, so a released address is not reused at
  // once (a client holding a stale endpoint then fails instead of reaching another pod). It starts at a
  // random place: two Skiffs on one machine (a class box, parallel tests) share 127.42.0.0/16, and
  // starting both at .0.2 would put their first pods on the same address.
  #next: number;

  /** `start` (a host-part number) pins where allocation begins; tests use it. Without `claims` the addresses are this allocator's alone. */
  constructor(opts: { start?: number; claims?: AddressClaims } = {}) {
    this.#next = opts.start ?? podNetwork.first + Math.floor(Math.random() * (podNetwork.last - podNetwork.first));
    this.#claims = opts.claims;
  }

  /** Keeps `ip` for `uid`; false when it is outside the range or taken by another pod. */
  reserve(uid: string, ip: string): boolean {
    const n = fromIp(ip);
    if (n === undefined) return false;
    const cur = this.#byUid.get(uid);
    if (cur === n) return true;
    if (this.#used.has(n)) return false;
    if (this.#claims && !this.#claims.take(ip)) return false;
    if (cur !== undefined) this.release(uid);
    this.#byUid.set(uid, n);
    this.#used.add(n);
    return true;
  }

  /** The pod's address, allocating one when it has none. Throws when the range is exhausted. */
  allocate(uid: string): string {
    const cur = this.#byUid.get(uid);
    if (cur !== undefined) return toIp(cur);
    const size = podNetwork.last - podNetwork.first + 1;
    for (let i = 0; i < size; i++) {
      const n = podNetwork.first + ((this.#next - podNetwork.first + i) % size);
      if ((n & 255) === 0 || (n & 255) === 255 || this.#used.has(n)) continue;
      if (this.#claims && !this.#claims.take(toIp(n))) continue;
      this.#used.add(n);
      this.#byUid.set(uid, n);
      this.#next = n + 1 > podNetwork.last ? podNetwork.first : n + 1;
      return toIp(n);
    }
    throw new Error(`cannot allocate a pod IP: all ${size} addresses of 127.42.0.0/16 are in use`);
  }

  /** The address of a pod, if it has one. */
  get(uid: string): string | undefined {
    const n = this.#byUid.get(uid);
    return n === undefined ? undefined : toIp(n);
  }

  /** Frees the pod's address. */
  release(uid: string): void {
    const n = this.#byUid.get(uid);
    if (n === undefined) return;
    this.#byUid.delete(uid);
    this.#used.delete(n);
    this.#claims?.drop(toIp(n));
  }

  /** Gives back every address (the agent stops). */
  releaseAll(): void {
    for (const uid of [...this.#byUid.keys()]) this.release(uid);
  }

  /** Number of addresses in use. */
  get size(): number {
    return this.#used.size;
  }
}
