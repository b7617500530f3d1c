/**
 * Informers: list, then watch from the list's resourceVersion, keep an in-memory cache, and relist on
 * a watch ERROR (410 Expired) with capped backoff. One informer per resource is shared by every
 * controller (Informers), so each object is parsed and cached once.
 */
import type { Client, Closeable, KObject, WatchEvent } from '../api/index.ts';
import { errorMessage, keyOf, type Log, noLog } from './util.ts';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';
/** Told about every change; `old` is the cached object before it (undefined for ADDED). Must only enqueue work. */
export type ChangeHandler = (type: ChangeType, obj: KObject, old: KObject | undefined) => void;
/** Maps an object to the index values it is filed under. */
export type IndexFn = (obj: KObject) => string[];

export const informerDefaults = {
  /** First relist delay after a failure; doubles up to maxDelayMs. */
  baseDelayMs: 50,
  maxDelayMs: 30_000,
};

export class Informer {
  readonly resource: string;
  #client: Client;
  #log: Log;
  #cache = new Map<string, KObject>();
  #byNs = new Map<string, Map<string, KObject>>();
  #indexers = new Map<string, IndexFn>();
  #indices = new Map<string, Map<string, Set<string>>>();
  #handlers = new Set<ChangeHandler>();
  #watch: Closeable | undefined;
  #watchId = 0;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #started = false;
  #closed = false;
  #synced = false;
  #waiters: Array<() => void> = [];

  constructor(client: Client, resource: string, opts: { log?: Log } = {}) {
    this.#client = client;
    this.resource = resource;
    this.#log = opts.log ?? noLog;
  }

  /** Starts the list and watch; idempotent. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    void this.#relist();
  }

  /** True once the first list has been applied. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Resolves once synced (or closed). */
  whenSynced(): Promise<void> {
    if (this.#synced || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** One cached object. */
  get(ns: string | undefined, name: string): KObject | undefined {
    return this.#cache.get(`${ns ?? ''}/${name}`);
  }

  /** Cached objects, all or of one namespace. Treat them as read-only. */
  list(ns?: string): KObject[] {
    if (ns === undefined) return [...this.#cache.values()];
    const m = this.#byNs.get(ns);
    return m ? [...m.values()] : [];
  }

  /** Number of cached objects. */
  get size(): number {
    return this.#cache.size;
  }

  /** Adds a named index; objects already cached are indexed now. */
  addIndex(name: string, fn: IndexFn): void {
    if (this.#indexers.has(name)) return;
    this.#indexers.set(name, fn);
    this.#indices.set(name, new Map());
    for (const [k, o] of this.#cache) this.#indexAdd(name, fn, k, o);
  }

  /** Cached objects filed under `value` in index `name`. */
  byIndex(name: string, value: string): KObject[] {
    const keys = this.#indices.get(name)?.get(value);
    if (!keys) return [];
    const out: KObject[] = [];
    for (const k of keys) {
      const o = this.#cache.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  /** Registers a handler; the objects already cached are replayed to it as ADDED. Returns an unsubscribe. */
  onChange(h: ChangeHandler): () => void {
    this.#handlers.add(h);
    for (const o of this.#cache.values()) this.#call(h, 'ADDED', o, undefined);
    return () => this.#handlers.delete(h);
  }

  /** Stops the watch and timers; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch?.close();
    this.#watch = undefined;
    if (this.#timer) clearTimeout(this.#timer);
    this.#handlers.clear();
    for (const w of this.#waiters.splice(0)) w();
  }

  async #relist(): Promise<void> {
    this.#timer = undefined;
    if (this.#closed) return;
    try {
      const list = await this.#client.list(this.resource, undefined);
      if (this.#closed) return;
      const kind = list.kind.replace(/List$/, '');
      const seen = new Set<string>();
      for (const item of list.items) {
        item.kind ??= kind;
        item.apiVersion ??= list.apiVersion;
        const k = keyOf(item);
        seen.add(k);
        const old = this.#cache.get(k);
        if (!old) this.#apply('ADDED', item);
        else if (old.metadata.resourceVersion !== item.metadata.resourceVersion) this.#apply('MODIFIED', item);
      }
      for (const [k, o] of [...this.#cache]) if (!seen.has(k)) this.#apply('DELETED', o);
      const id = ++this.#watchId;
      const w = this.#client.watch(this.resource, undefined, { resourceVersion: list.metadata.resourceVersion }, (ev) => {
        if (id === this.#watchId) this.#onEvent(ev);
      });
      // An ERROR delivered during watch() already bumped #watchId and scheduled a relist.
      if (id === this.#watchId && !this.#closed) this.#watch = w;
      else w.close();
      this.#failures = 0;
      if (!this.#synced) {
        this.#synced = true;
        for (const r of this.#waiters.splice(0)) r();
      }
    } catch (e) {
      this.#log({ level: 'warn', msg: 'list failed', resource: this.resource, error: errorMessage(e) });
      this.#scheduleRelist();
    }
  }

  #scheduleRelist(): void {
    if (this.#closed || this.#timer) return;
    const delay = Math.min(informerDefaults.maxDelayMs, informerDefaults.baseDelayMs * 2 ** Math.min(this.#failures++, 20));
    this.#timer = setTimeout(() => void this.#relist(), delay);
    this.#timer.unref();
  }

  #onEvent(ev: WatchEvent): void {
    if (this.#closed) return;
    if (ev.type === 'ERROR') {
      // Typically 410 Expired: our resourceVersion fell out of the history. Start over from a list.
      this.#log({ level: 'info', msg: 'watch expired, relisting', resource: this.resource, status: (ev.object as { message?: string }).message });
      this.#watchId++;
      this.#watch?.close();
      this.#watch = undefined;
      this.#scheduleRelist();
      return;
    }
    if (ev.type === 'BOOKMARK') return;
    this.#apply(ev.type, ev.object);
  }

  #apply(type: ChangeType, obj: KObject): void {
    const k = keyOf(obj);
    const old = this.#cache.get(k);
    if (old) for (const [name, fn] of this.#indexers) this.#indexRemove(name, fn, k, old);
    const ns = obj.metadata.namespace ?? '';
    if (type === 'DELETED') {
      this.#cache.delete(k);
      const m = this.#byNs.get(ns);
      m?.delete(k);
      if (m && m.size === 0) this.#byNs.delete(ns);
    } else {
      this.#cache.set(k, obj);
      let m = this.#byNs.get(ns);
      if (!m) this.#byNs.set(ns, (m = new Map()));
      m.set(k, obj);
      for (const [name, fn] of this.#indexers) this.#indexAdd(name, fn, k, obj);
    }
    for (const h of this.#handlers) this.#call(h, type, obj, old);
  }

  #call(h: ChangeHandler, type: ChangeType, obj: KObject, old: KObject | undefined): void {
    try {
      h(type, obj, old);
    } catch (e) {
      this.#log({ level: 'error', msg: 'informer handler failed', resource: this.resource, key: keyOf(obj), error: errorMessage(e) });
    }
  }

  #indexAdd(name: string, fn: IndexFn, k: string, o: KObject): void {
    let values: string[];
    try {
      values = fn(o);
    } catch {
      return;
    }
    const idx = this.#indices.get(name)!;
    for (const v of values) {
      let s = idx.get(v);
      if (!s) idx.set(v, (s = new Set()));
      s.add(k);
    }
  }

  #indexRemove(name: string, fn: IndexFn, k: string, o: KObject): void {
    let values: string[];
    try {
      values = fn(o);
    } catch {
      return;
    }
    const idx = this.#indices.get(name)!;
    for (const v of values) {
      const s = idx.get(v);
      if (!s) continue;
      s.delete(k);
      if (s.size === 0) idx.delete(v);
    }
  }
}

/** Shared informers, one per resource, created and started on first use. */
export class Informers {
  #client: Client;
  #log: Log;
  #map = new Map<string, Informer>();
  #closed = false;

  constructor(client: Client, opts: { log?: Log } = {}) {
    this.#client = client;
    this.#log = opts.log ?? noLog;
  }

  /** The informer of a resource key (`pods`, `replicasets.apps`), started. */
  get(resource: string): Informer {
    let inf = this.#map.get(resource);
    if (!inf) {
      inf = new Informer(this.#client, resource, { log: this.#log });
      this.#map.set(resource, inf);
      if (!this.#closed) inf.start();
    }
    return inf;
  }

  /** Resolves when every named informer has synced. */
  async synced(resources: string[]): Promise<void> {
    await Promise.all(resources.map((r) => this.get(r).whenSynced()));
  }

  /** Closes every informer; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const i of this.#map.values()) i.close();
  }
}

/** Index function: the uid of an object's controller owner. */
export function byControllerUid(obj: KObject): string[] {
  const r = obj.metadata.ownerReferences?.find((o) => o.controller === true);
  return r ? [r.uid] : [];
}

/** Index function: the namespace of objects that have no controller owner (candidates for adoption). */
export function orphansByNamespace(obj: KObject): string[] {
  return obj.metadata.ownerReferences?.some((o) => o.controller === true) ? [] : [obj.metadata.namespace ?? ''];
}
