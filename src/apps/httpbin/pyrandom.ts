/**
 * Python's `random` for the one place httpbin's output depends on it: `/bytes/{n}?seed=S` draws
 * `random.randint(0, 255)` n times after `random.seed(S)`. Reproducing MT19937 and CPython's seeding makes
 * our bytes for a seed identical to the original's, so recorded fixtures keep matching.
 */

const N = 624;
const M = 397;

/** A CPython-compatible Mersenne Twister seeded from an integer. */
export class PyRandom {
  #mt = new Uint32Array(N);
  #i = N + 1;

  /** Seeds as `random.seed(int)`: the absolute value, split into 32-bit words, fed to init_by_array. */
  constructor(seed: bigint) {
    let n = seed < 0n ? -seed : seed;
    const key: number[] = [];
    do {
      key.push(Number(n & 0xffffffffn));
      n >>= 32n;
    } while (n > 0n);
    this.#initByArray(key);
  }

  #initGenrand(s: number): void {
    const mt = this.#mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) mt[i] = (Math.imul(1812433253, mt[i - 1] ^ (mt[i - 1] >>> 30)) + i) >>> 0;
    this.#i = N;
  }

  #initByArray(key: readonly number[]): void {
    const mt = this.#mt;
    this.#initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      mt[i] = (((mt[i] ^ Math.imul(mt[i - 1] ^ (mt[i - 1] >>> 30), 1664525)) >>> 0) + key[j] + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      mt[i] = (((mt[i] ^ Math.imul(mt[i - 1] ^ (mt[i - 1] >>> 30), 1566083941)) >>> 0) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
    }
    mt[0] = 0x80000000;
  }

  #twist(): void {
    const mt = this.#mt;
    for (let k = 0; k < N; k++) {
      const y = (mt[k] & 0x80000000) | (mt[(k + 1) % N] & 0x7fffffff);
      mt[k] = mt[(k + M) % N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.#i = 0;
  }

  /** genrand_uint32(). */
  next32(): number {
    if (this.#i >= N) this.#twist();
    let y = this.#mt[this.#i++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `random.randint(a, b)` for b − a < 2^31, via CPython's _randbelow_with_getrandbits. */
  randint(a: number, b: number): number {
    const n = b - a + 1;
    const k = 32 - Math.clz32(n); // n.bit_length()
    let r = this.next32() >>> (32 - k);
    while (r >= n) r = this.next32() >>> (32 - k);
    return a + r;
  }
}

/** n bytes as httpbin's `/bytes/{n}?seed=S` produces them. */
export function seededBytes(seed: bigint, n: number): Buffer {
  const rnd = new PyRandom(seed);
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = rnd.randint(0, 255);
  return out;
}
