/**
 * Events: a small recorder writing core/v1 Events the way client-go's legacy EventRecorder does
 * (name `<object>.<hex nanos>`, count aggregation of repeats), and a TTL cleaner. Events are
 * best-effort: a failed write is counted and dropped, never thrown at the controller.
 */
import type { Client, Closeable, KObject } from '../api/index.ts';
import { errorMessage, isNotFound, type Log, noLog, nowStamp, parseStamp } from './util.ts';

export type EventType = 'Normal' | 'Warning';

export const eventDefaults = {
  /** Repeats of the same event within this window bump the existing Event's count. */
  aggregateWindowMs: 10 * 60_000,
  /** Bound of the aggregation cache (least recently used entries go first). */
  cacheSize: 4096,
  /** Events older than this are deleted by the cleaner. */
  ttlMs: 60 * 60_000,
  /** How often the cleaner runs. */
  cleanupIntervalMs: 5 * 60_000,
};

interface Seen {
  ns: string;
  name: string;
  count: number;
  firstTimestamp: string;
  lastMs: number;
}

let seq = 0;

/** `<name>.<16 hex>`: upstream uses the creation time in nanoseconds; a counter keeps names unique within one ms. */
function eventName(objName: string): string {
  const nanos = BigInt(Date.now()) * 1_000_000n + BigInt(seq++ % 1_000_000);
  return `${objName}.${nanos.toString(16)}`;
}

/** Records Events for one client; one instance per process is enough. */
export class EventRecorder {
  #client: Client;
  #log: Log;
  #host: string;
  #cache = new Map<string, Seen>();
  #o: typeof eventDefaults;
  /** Writes that failed and were dropped. */
  dropped = 0;
  /** Writes in flight (tests wait on it). */
  #inflight = new Set<Promise<void>>();
  #closed = false;

  constructor(client: Client, opts: { log?: Log; host?: string } & Partial<typeof eventDefaults> = {}) {
    this.#client = client;
    this.#log = opts.log ?? noLog;
    this.#host = opts.host ?? '';
    this.#o = { ...eventDefaults, ...Object.fromEntries(Object.entries(opts).filter(([k, v]) => k in eventDefaults && v !== undefined)) };
  }

  /** Records an event about `involved` from `component`; returns at once, writes in the background. */
  record(involved: KObject, type: EventType, reason: string, message: string, component: string): void {
    if (this.#closed) return;
    const p = this.#write(involved, type, reason, message, component).catch((e: unknown) => {
      this.dropped++;
      this.#log({ level: 'debug', msg: 'event dropped', reason, object: involved.metadata.name, error: errorMessage(e) });
    });
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
  }

  /** Resolves when the writes started so far have finished. */
  async flush(): Promise<void> {
    await Promise.all([...this.#inflight]);
  }

  /** Stops recording; idempotent. */
  close(): void {
    this.#closed = true;
    this.#cache.clear();
  }

  async #write(involved: KObject, type: EventType, reason: string, message: string, component: string): Promise<void> {
    const meta = involved.metadata;
    // Cluster-scoped objects (nodes, namespaces) get their events in `default`, as upstream.
    const ns = meta.namespace || 'default';
    const cacheKey = `${meta.uid ?? `${ns}/${meta.name}`}\u0000${type}\u0000${reason}\u0000${message}`;
    const now = Date.now();
    const stamp = nowStamp(now);
    const seen = this.#cache.get(cacheKey);
    if (seen && now - seen.lastMs < this.#o.aggregateWindowMs) {
      this.#touch(cacheKey, seen);
      seen.lastMs = now;
      try {
        const cur = await this.#client.get('events', seen.ns, seen.name);
        cur.count = Number(cur.count ?? 1) + 1;
        seen.count = cur.count as number;
        cur.lastTimestamp = stamp;
        await this.#client.update('events', seen.ns, cur);
        return;
      } catch (e) {
        if (!isNotFound(e)) throw e;
        // Expired or deleted: start a new one below.
      }
    }
    const name = eventName(meta.name ?? 'unknown');
    const ev: KObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: ns },
      involvedObject: {
        kind: involved.kind,
        namespace: meta.namespace,
        name: meta.name,
        uid: meta.uid,
        apiVersion: involved.apiVersion,
        resourceVersion: meta.resourceVersion,
      },
      reason,
      message,
      source: this.#host ? { component, host: this.#host } : { component },
      firstTimestamp: stamp,
      lastTimestamp: stamp,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: component,
      reportingInstance: this.#host,
    };
    const entry: Seen = { ns, name, count: 1, firstTimestamp: stamp, lastMs: now };
    this.#touch(cacheKey, entry);
    await this.#client.create('events', ns, ev);
  }

  #touch(key: string, v: Seen): void {
    this.#cache.delete(key);
    this.#cache.set(key, v);
    while (this.#cache.size > this.#o.cacheSize) this.#cache.delete(this.#cache.keys().next().value as string);
  }
}

const defaultRecorders = new WeakMap<Client, EventRecorder>();

/** Records an event with a per-client default recorder (the signature other components use). */
export function recordEvent(client: Client, involved: KObject, type: EventType, reason: string, message: string, component: string): void {
  let r = defaultRecorders.get(client);
  if (!r) defaultRecorders.set(client, (r = new EventRecorder(client)));
  r.record(involved, type, reason, message, component);
}

/** The time an Event last happened (ms), from lastTimestamp, eventTime, series or creation. */
function lastSeen(ev: KObject): number {
  for (const v of [ev.lastTimestamp, (ev.series as { lastObservedTime?: string } | undefined)?.lastObservedTime, ev.eventTime, ev.metadata.creationTimestamp]) {
    const t = parseStamp(v);
    if (!Number.isNaN(t)) return t;
  }
  return NaN;
}

/** Deletes Events older than the TTL, periodically. Cheap: one list every few minutes. */
export class EventCleaner implements Closeable {
  #client: Client;
  #log: Log;
  #o: typeof eventDefaults;
  #timer: NodeJS.Timeout;
  #running = false;
  #closed = false;

  constructor(client: Client, opts: { log?: Log } & Partial<typeof eventDefaults> = {}) {
    this.#client = client;
    this.#log = opts.log ?? noLog;
    this.#o = { ...eventDefaults, ...Object.fromEntries(Object.entries(opts).filter(([k, v]) => k in eventDefaults && v !== undefined)) };
    this.#timer = setInterval(() => void this.sweep(), this.#o.cleanupIntervalMs);
    this.#timer.unref();
  }

  /** Deletes expired events now; returns how many were deleted. */
  async sweep(now = Date.now()): Promise<number> {
    if (this.#running || this.#closed) return 0;
    this.#running = true;
    let n = 0;
    try {
      const list = await this.#client.list('events', undefined);
      for (const ev of list.items) {
        if (this.#closed) break;
        const t = lastSeen(ev);
        if (Number.isNaN(t) || now - t < this.#o.ttlMs) continue;
        try {
          await this.#client.delete('events', ev.metadata.namespace, ev.metadata.name ?? '');
          n++;
        } catch (e) {
          if (!isNotFound(e)) this.#log({ level: 'debug', msg: 'event cleanup failed', name: ev.metadata.name, error: errorMessage(e) });
        }
      }
    } catch (e) {
      this.#log({ level: 'warn', msg: 'event cleanup list failed', error: errorMessage(e) });
    } finally {
      this.#running = false;
    }
    return n;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
  }
}
