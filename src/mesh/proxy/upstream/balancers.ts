/**
 * Load balancers, Envoy's algorithms. Each is built once per cluster and `reset` with the hosts to
 * balance over whenever that set changes (config update, readiness, ejection, panic): everything
 * derived from the set (weights, rings, tables) is computed there, so `pick` does no allocation.
 */
import type { Cluster, LbPolicy } from '../model.ts';
import type { HostState } from './host.ts';

/** Picks one host of a non-empty set. `attempt` > 0 asks for an alternative (retry host predicates). */
export interface Balancer {
  reset(hosts: readonly HostState[]): void;
  pick(hash: number | undefined, attempt: number): HostState;
}

/** Builds the balancer of a cluster's policy (PASSTHROUGH clusters do not balance: round robin as a harmless stand-in). */
export function createBalancer(cluster: Cluster, random: () => number): Balancer {
  const policy: LbPolicy = cluster.lbPolicy;
  switch (policy) {
    case 'ROUND_ROBIN':
    case 'PASSTHROUGH':
      return new RoundRobin(random);
    case 'RANDOM':
      return new RandomLb(random);
    case 'RING_HASH':
      return new RingHash(cluster.ringHash?.minimumRingSize ?? 1024, random);
    case 'MAGLEV':
      return new Maglev(cluster.maglev?.tableSize ?? 65537, random);
    default:
      return new LeastRequest(random);
  }
}

/** 32-bit string hash (FNV-1a with murmur3's finaliser for avalanche); `seed` gives independent hashes. */
export function hash32(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

function nextPrime(n: number): number {
  for (;; n++) {
    let prime = n >= 2;
    for (let d = 2; d * d <= n && prime; d++) if (n % d === 0) prime = false;
    if (prime) return n;
  }
}

function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function equalWeights(hosts: readonly HostState[]): boolean {
  for (let i = 1; i < hosts.length; i++) if (hosts[i].weight !== hosts[0].weight) return false;
  return true;
}

function randomIndex(random: () => number, n: number): number {
  const i = Math.floor(random() * n);
  return i < n ? i : n - 1;
}

/**
 * Smooth weighted round robin (nginx's): every host gains its effective weight, the richest wins and
 * pays the total. O(hosts) per pick, used only when weights differ.
 */
function smoothPick(hosts: readonly HostState[], byLoad: boolean): HostState {
  let total = 0;
  let best = hosts[0];
  let bestCur = -Infinity;
  for (let i = 0; i < hosts.length; i++) {
    const h = hosts[i];
    // Envoy's least-request EDF weight: weight / (active + 1) (active_request_bias 1.0).
    const eff = byLoad ? h.weight / (h.rqActive + 1) : h.weight;
    h.current += eff;
    total += eff;
    if (h.current > bestCur) {
      bestCur = h.current;
      best = h;
    }
  }
  best.current -= total;
  return best;
}

/** ROUND_ROBIN: the next host in turn; weighted when weights differ. Starts at a random host, as Envoy does, so proxies do not move in step. */
class RoundRobin implements Balancer {
  #hosts: readonly HostState[] = [];
  #next = 0;
  #weighted = false;
  readonly #random: () => number;

  constructor(random: () => number) {
    this.#random = random;
  }

  reset(hosts: readonly HostState[]): void {
    this.#hosts = hosts;
    this.#weighted = !equalWeights(hosts);
    this.#next = randomIndex(this.#random, hosts.length || 1);
    for (const h of hosts) h.current = 0;
  }

  pick(): HostState {
    if (this.#weighted) return smoothPick(this.#hosts, false);
    const hosts = this.#hosts;
    if (this.#next >= hosts.length) this.#next = 0;
    return hosts[this.#next++];
  }
}

/** RANDOM: uniform over the hosts, or proportional to weight when weights differ. */
class RandomLb implements Balancer {
  #hosts: readonly HostState[] = [];
  /** Cumulative weights when weights differ, else empty. */
  #cumulative = new Float64Array(0);
  readonly #random: () => number;

  constructor(random: () => number) {
    this.#random = random;
  }

  reset(hosts: readonly HostState[]): void {
    this.#hosts = hosts;
    if (equalWeights(hosts)) {
      this.#cumulative = new Float64Array(0);
      return;
    }
    const c = new Float64Array(hosts.length);
    let sum = 0;
    for (let i = 0; i < hosts.length; i++) c[i] = sum += hosts[i].weight;
    this.#cumulative = c;
  }

  pick(): HostState {
    const hosts = this.#hosts;
    const c = this.#cumulative;
    if (c.length === 0) return hosts[randomIndex(this.#random, hosts.length)];
    const r = this.#random() * c[c.length - 1];
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c[mid] > r) hi = mid;
      else lo = mid + 1;
    }
    return hosts[lo];
  }
}

/**
 * LEAST_REQUEST: with equal weights, power of two choices (two random hosts, possibly the same one,
 * the one with fewer active requests wins, the first on a tie); with unequal weights, weighted
 * round robin on weight / (active + 1).
 */
class LeastRequest implements Balancer {
  #hosts: readonly HostState[] = [];
  #weighted = false;
  readonly #random: () => number;

  constructor(random: () => number) {
    this.#random = random;
  }

  reset(hosts: readonly HostState[]): void {
    this.#hosts = hosts;
    this.#weighted = !equalWeights(hosts);
    for (const h of hosts) h.current = 0;
  }

  pick(): HostState {
    const hosts = this.#hosts;
    if (this.#weighted) return smoothPick(hosts, true);
    const a = hosts[randomIndex(this.#random, hosts.length)];
    const b = hosts[randomIndex(this.#random, hosts.length)];
    return b.rqActive < a.rqActive ? b : a;
  }
}

/** Largest ring Envoy builds (maximum_ring_size default). */
const MAX_RING = 8 * 1024 * 1024;

/**
 * RING_HASH (Ketama): each host owns ring points proportional to its weight (at least
 * minimumRingSize points in all); a key goes to the first point at or after its hash. A retry
 * attempt walks on to the following points. No key: a random host.
 */
class RingHash implements Balancer {
  readonly #minSize: number;
  readonly #random: () => number;
  #hosts: readonly HostState[] = [];
  #points = new Uint32Array(0);
  #owners = new Int32Array(0);

  constructor(minSize: number, random: () => number) {
    this.#minSize = Math.max(1, Math.min(minSize, MAX_RING));
    this.#random = random;
  }

  reset(hosts: readonly HostState[]): void {
    this.#hosts = hosts;
    let sum = 0;
    for (const h of hosts) sum += h.weight;
    let minW = Infinity;
    for (const h of hosts) minW = Math.min(minW, h.weight / sum);
    // Envoy's scaling: the lightest host gets at least its share of minimumRingSize points.
    const scale = Math.min(Math.ceil(minW * this.#minSize) / minW, MAX_RING);
    // Points packed as hash * 2^20 + owner so one numeric sort orders them (exact below 2^53).
    const packed: number[] = [];
    let target = 0;
    for (let i = 0; i < hosts.length; i++) {
      target += (scale * hosts[i].weight) / sum;
      for (let j = 0; packed.length < target; j++) packed.push(hash32(`${hosts[i].key}_${j}`) * 0x100000 + i);
    }
    const sorted = Float64Array.from(packed).sort();
    this.#points = new Uint32Array(sorted.length);
    this.#owners = new Int32Array(sorted.length);
    for (let i = 0; i < sorted.length; i++) {
      const owner = sorted[i] % 0x100000;
      this.#owners[i] = owner;
      this.#points[i] = (sorted[i] - owner) / 0x100000;
    }
  }

  pick(hash: number | undefined, attempt: number): HostState {
    const points = this.#points;
    if (hash === undefined || points.length === 0) return this.#hosts[randomIndex(this.#random, this.#hosts.length)];
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid] < hash) lo = mid + 1;
      else hi = mid;
    }
    return this.#hosts[this.#owners[(lo + attempt) % points.length]];
  }
}

/**
 * MAGLEV: a lookup table of `tableSize` (prime) slots filled by each host's permutation in turns,
 * weighted hosts taking turns more often (Envoy's weighted Maglev). A retry attempt rehashes.
 */
class Maglev implements Balancer {
  readonly #size: number;
  readonly #random: () => number;
  #hosts: readonly HostState[] = [];
  #table = new Int32Array(0);

  constructor(size: number, random: () => number) {
    // The permutations cover every slot only when the size is prime (Envoy validates it; we round up).
    this.#size = nextPrime(Math.max(size, 2));
    this.#random = random;
  }

  reset(hosts: readonly HostState[]): void {
    this.#hosts = hosts;
    const m = this.#size;
    const n = hosts.length;
    const table = new Int32Array(m).fill(-1);
    const offset = new Float64Array(n);
    const skip = new Float64Array(n);
    const next = new Float64Array(n);
    const target = new Float64Array(n);
    let maxW = 0;
    for (let i = 0; i < n; i++) {
      offset[i] = hash32(hosts[i].key, 0x9e3779b9) % m;
      skip[i] = (hash32(hosts[i].key, 0x7f4a7c15) % (m - 1)) + 1;
      maxW = Math.max(maxW, hosts[i].weight);
    }
    let filled = 0;
    for (let iteration = 1; filled < m && n > 0; iteration++) {
      for (let i = 0; i < n && filled < m; i++) {
        // A host of weight maxW/k takes a turn every k iterations.
        if (iteration * hosts[i].weight < target[i]) continue;
        target[i] += maxW;
        let c = (offset[i] + skip[i] * next[i]) % m;
        while (table[c] >= 0) {
          next[i]++;
          c = (offset[i] + skip[i] * next[i]) % m;
        }
        table[c] = i;
        next[i]++;
        filled++;
      }
    }
    this.#table = table;
  }

  pick(hash: number | undefined, attempt: number): HostState {
    if (hash === undefined || this.#table.length === 0) return this.#hosts[randomIndex(this.#random, this.#hosts.length)];
    const h = attempt === 0 ? hash : mix32(hash ^ Math.imul(attempt, 0x9e3779b9));
    return this.#hosts[this.#table[h % this.#size]];
  }
}
