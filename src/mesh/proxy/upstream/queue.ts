/**
 * A FIFO ring buffer that grows by doubling. Pending requests queue here: `Array#shift` is O(n) and
 * reallocates under load, a ring is O(1) and allocates only when it grows past its high-water mark.
 */
export class FixedQueue<T> {
  #buf: Array<T | undefined>;
  #head = 0;
  #size = 0;

  constructor(capacity = 16) {
    // A power of two keeps the index wrap a mask instead of a modulo.
    let c = 1;
    while (c < capacity) c <<= 1;
    this.#buf = new Array<T | undefined>(c);
  }

  get size(): number {
    return this.#size;
  }

  push(v: T): void {
    const buf = this.#buf;
    if (this.#size === buf.length) this.#grow();
    this.#buf[(this.#head + this.#size) & (this.#buf.length - 1)] = v;
    this.#size++;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const buf = this.#buf;
    const v = buf[this.#head];
    buf[this.#head] = undefined;
    this.#head = (this.#head + 1) & (buf.length - 1);
    this.#size--;
    return v;
  }

  #grow(): void {
    const old = this.#buf;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.#size; i++) next[i] = old[(this.#head + i) & (old.length - 1)];
    this.#buf = next;
    this.#head = 0;
  }
}
