/**
 * A work queue of keys, as client-go's rate-limited workqueue: a key is queued at most once, is never
 * processed by two workers at once (a key added while it is being processed runs again afterwards),
 * and failures are retried with capped exponential backoff. Bursts of events for one key collapse
 * into one reconcile.
 */
import { errorMessage, isConflict, isNotFound, type Log, noLog } from './util.ts';

/** What a reconcile may ask for: run again after this many ms (a timer, not a failure). */
export type ReconcileResult = void | { requeueAfterMs?: number };

export const queueDefaults = {
  /** Keys processed at the same time. */
  concurrency: 1,
  /** First retry delay after a failure; doubles per consecutive failure of the key. */
  baseDelayMs: 10,
  /** Cap of the retry delay. */
  maxDelayMs: 30_000,
};

export interface QueueOptions extends Partial<typeof queueDefaults> {
  name: string;
  log?: Log;
}

export class WorkQueue {
  #name: string;
  #log: Log;
  #o: typeof queueDefaults;
  #handler: (key: string) => Promise<ReconcileResult>;
  // Set keeps insertion order, so it is the FIFO as well as the dedupe.
  #pending = new Set<string>();
  #processing = new Set<string>();
  #dirty = new Set<string>();
  #failures = new Map<string, number>();
  #timers = new Map<string, { at: number; t: NodeJS.Timeout }>();
  #active = 0;
  #scheduled: NodeJS.Immediate | undefined;
  #started = false;
  #closed = false;

  constructor(handler: (key: string) => Promise<ReconcileResult>, opts: QueueOptions) {
    this.#handler = handler;
    this.#name = opts.name;
    this.#log = opts.log ?? noLog;
    this.#o = { ...queueDefaults, ...Object.fromEntries(Object.entries(opts).filter(([k, v]) => k in queueDefaults && v !== undefined)) };
  }

  /** Keys waiting or running (for tests and diagnostics). */
  get length(): number {
    return this.#pending.size + this.#processing.size;
  }

  /** Queues a key now. Safe to call from inside watch handlers: work always starts on a later tick. */
  add(key: string): void {
    if (this.#closed) return;
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    this.#pending.add(key);
    this.#schedule();
  }

  /**
   * Queues a key after a delay; an earlier pending timer for the key wins. A delay over a day waits a
   * day (node fires a timer past 2^31 ms at once); the reconcile then asks again for the rest.
   */
  addAfter(key: string, ms: number): void {
    if (this.#closed) return;
    if (ms <= 0) return this.add(key);
    ms = Math.min(ms, 86_400_000);
    const at = Date.now() + ms;
    const cur = this.#timers.get(key);
    if (cur && cur.at <= at) return;
    if (cur) clearTimeout(cur.t);
    const t = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, ms);
    t.unref();
    this.#timers.set(key, { at, t });
  }

  /** Starts processing (keys added before start wait until then, e.g. until informers have synced). */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#schedule();
  }

  /** Stops processing and drops every pending key and timer; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const { t } of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#pending.clear();
    this.#dirty.clear();
    if (this.#scheduled) clearImmediate(this.#scheduled);
  }

  #schedule(): void {
    if (!this.#started || this.#closed || this.#scheduled) return;
    // setImmediate rather than a microtask: lets I/O run between batches, so a long queue never starves the server.
    this.#scheduled = setImmediate(() => {
      this.#scheduled = undefined;
      this.#pump();
    });
  }

  #pump(): void {
    while (!this.#closed && this.#active < this.#o.concurrency && this.#pending.size) {
      const key = this.#pending.values().next().value as string;
      this.#pending.delete(key);
      this.#run(key);
    }
  }

  #run(key: string): void {
    this.#active++;
    this.#processing.add(key);
    let retry = false;
    let after = 0;
    const done = (): void => {
      this.#active--;
      this.#processing.delete(key);
      if (this.#closed) return;
      if (retry) {
        const n = (this.#failures.get(key) ?? 0) + 1;
        this.#failures.set(key, n);
        this.addAfter(key, Math.min(this.#o.maxDelayMs, this.#o.baseDelayMs * 2 ** Math.min(n - 1, 20)));
      } else {
        this.#failures.delete(key);
        if (after > 0) this.addAfter(key, after);
      }
      if (this.#dirty.delete(key)) this.add(key);
      this.#schedule();
    };
    let p: Promise<ReconcileResult>;
    try {
      p = this.#handler(key);
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      (r) => {
        if (r && typeof r.requeueAfterMs === 'number') after = r.requeueAfterMs;
      },
      (e: unknown) => {
        retry = true;
        // Conflicts and vanished objects are routine under concurrency: retry quietly.
        if (!isConflict(e) && !isNotFound(e)) this.#log({ level: 'warn', msg: 'reconcile failed', controller: this.#name, key, error: errorMessage(e), retries: this.#failures.get(key) ?? 0 });
      },
    ).finally(done);
  }
}
