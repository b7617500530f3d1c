/**
 * Pod addresses: one loopback address per pod from 127.42.0.0/16 (DESIGN §3). Linux routes all of
 * 127.0.0.0/8 to the loopback interface, so every address is bindable without configuration.
 */

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

/** Allocates pod IPs by pod uid; reserve() the addresses of existing pods first so they stay stable across restarts. */
export class IpAllocator {
  #byUid = new Map<string, number>();
  #used = new Set<number>();
  // Allocation walks forward from the last address handed out, so a released address is not reused at
  // once (a client holding a stale endpoint then fails instead of reaching another pod). It starts at a
  // random place: two Skiffs on one machine (a class box, parallel tests) share 127.42.0.0/16, and
  // starting both at .0.2 would put their first pods on the same address.
  #next: number;

  /** `start` (a host-part number) pins where allocation begins; tests use it. */
  constructor(opts: { start?: number } = {}) {
    this.#next = opts.start ?? podNetwork.first + Math.floor(Math.random() * (podNetwork.last - podNetwork.first));
  }

  /** Keeps `ip` for `uid`; false when it is outside the range or taken by another pod. */
  reserve(uid: string, ip: string): boolean {
    const n = fromIp(ip);
    if (n === undefined) return false;
    const cur = this.#byUid.get(uid);
    if (cur === n) return true;
    if (this.#used.has(n)) return false;
    if (cur !== undefined) this.#used.delete(cur);
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
  }

  /** Number of addresses in use. */
  get size(): number {
    return this.#used.size;
  }
}
