/**
 * A bound on the proxy's old space under sustained load, in the spirit of Envoy's overload action
 * `shrink_heap`: Envoy gives freed memory back to the system on a schedule, a proxy on V8 has to
 * collect it first.
 *
 * V8 runs its next full GC once old space has grown 8 MB past what the last one left (its regular
 * growing step for a small heap; no flag of node 20's V8 lowers it outside its memory-saving
 * mode). A proxy's old space fills with objects that lived long enough to be promoted and then died:
 * upstream connections above all, which a backend like nginx closes every 1,000 requests. Under
 * minutes of full load that took a sidecar from 56 to 64 MB of RSS, and V8 kept the pages after its
 * full GC (docs/performance.md). So every `every` requests the proxy reads its old space, and past
 * `slack` bytes above what the last full GC left it collects itself: an atomic pause of ~8 ms for a
 * ~6 MB live heap, once per 2 MB of promoted garbage (every ~40 s at 24k rps). An idle proxy does
 * nothing.
 */
import { getHeapSpaceStatistics } from 'node:v8';

export interface HeapBoundOptions {
  /** Runs a full GC (node's `gc()`, given by `--expose-gc`). */
  gc: () => void;
  /** Bytes in use in old space. */
  oldSpaceUsed?: () => number;
  /** Growth past the last full GC's result that makes a collection (default 2 MB). */
  slack?: number;
  /** Requests between two looks at the heap (default 4,096). */
  every?: number;
}

/** Old-space bytes in use, from V8's space statistics. */
export function oldSpaceUsed(): number {
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'old_space') return s.space_used_size;
  return 0;
}

/** See the file comment. */
export class HeapBound {
  readonly #gc: () => void;
  readonly #used: () => number;
  readonly #slack: number;
  readonly #every: number;
  #n = 0;
  #limit = -1;

  constructor(o: HeapBoundOptions) {
    this.#gc = o.gc;
    this.#used = o.oldSpaceUsed ?? oldSpaceUsed;
    this.#slack = o.slack ?? 2 * 1024 * 1024;
    this.#every = o.every ?? 4096;
  }

  /** One request is done. */
  requestDone(): void {
    if (++this.#n < this.#every) return;
    this.#n = 0;
    this.#check();
  }

  #check(): void {
    const used = this.#used();
    // Lower than the bound allows: V8 collected on its own since, so the bound follows it down.
    if (this.#limit < 0 || used + this.#slack < this.#limit) {
      this.#limit = used + this.#slack;
      return;
    }
    if (used < this.#limit) return;
    this.#gc();
    this.#limit = this.#used() + this.#slack;
  }
}

let bound: HeapBound | undefined;

/** Turns the bound on for this process (`skiff proxy` does, when node gives it `gc()`). */
export function boundHeap(o: HeapBoundOptions): HeapBound {
  return (bound = new HeapBound(o));
}

/** Called once per finished request (stream.ts). */
export function heapRequestDone(): void {
  bound?.requestDone();
}
