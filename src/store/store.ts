/**
 * The SQLite object store. One global revision numbers every write; it is the resourceVersion.
 * Every write is one atomic statement (a delete: one transaction of two); watchers hear about it only
 * after the commit, so nothing a client saw can be lost.
 *
 * The revision needs no write of its own: after a restart it is the larger of the newest object's
 * revision and the one recorded by the last delete (a delete may remove the newest object).
 * The watch history lives in memory only. After a restart, watches from before it get 410 Gone and
 * relist, as they do against a real API server whose watch cache starts at the current revision.
 *
 * Durability: WAL with synchronous=NORMAL. A committed transaction is in the WAL file (the OS page
 * cache) before `commit` returns, which survives `kill -9` of the process; only a power loss could
 * lose the last few transactions, and then the database stays consistent.
 */
import Database from 'better-sqlite3';
import { StoreError } from './errors.ts';

/** One stored object: its JSON text and the revision that last wrote it. */
export interface StoredObject {
  key: string;
  resource: string;
  ns: string;
  name: string;
  rv: number;
  json: string;
}

/** A change, delivered to watchers in revision order. */
export interface StoreEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resource: string;
  ns: string;
  name: string;
  /** The object's JSON as of this event (for DELETED: its last state, stamped with the event's revision). */
  json: string;
  /** For MODIFIED: the JSON it replaced (watches with selectors need it to see an object enter or leave). */
  prevJson?: string;
}

export type StoreListener = (ev: StoreEvent) => void;

/** Defaults for the store; applied once in the constructor. */
export const storeDefaults = {
  /** How many recent events a watch can resume from. Older resourceVersions get 410 Gone. */
  historySize: 20_000,
};

/** Objects are addressed by resource, namespace ('' for cluster-scoped) and name. */
export function objectKey(resource: string, ns: string, name: string): string {
  return `${resource}/${ns}/${name}`;
}

export class Store {
  #db: Database.Database;
  #rev = 0;
  // In-memory index of every object, by resource then key: lists and gets never touch SQLite.
  #byResource = new Map<string, Map<string, StoredObject>>();
  // Recent events, oldest first; a ring would save the shift, but trimming happens in batches so the
  // array stays cheap (see #trim).
  #history: StoreEvent[] = [];
  #historySize: number;
  #listeners = new Set<StoreListener>();
  #stmts: {
    upsert: Database.Statement;
    remove: Database.Statement;
    setRev: Database.Statement;
  };
  #removeTx: (key: string, rv: number) => void;
  #closed = false;

  constructor(file: string, opts: Partial<typeof storeDefaults> = {}) {
    const o = { ...storeDefaults, ...opts };
    this.#historySize = o.historySize;
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, resource TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL, rv INTEGER NOT NULL, data TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
    `);
    this.#stmts = {
      upsert: this.#db.prepare('INSERT OR REPLACE INTO objects (key, resource, ns, name, rv, data) VALUES (?, ?, ?, ?, ?, ?)'),
      remove: this.#db.prepare('DELETE FROM objects WHERE key = ?'),
      setRev: this.#db.prepare("INSERT OR REPLACE INTO meta (k, v) VALUES ('revision', ?)"),
    };
    this.#removeTx = this.#db.transaction((key: string, rv: number) => {
      this.#stmts.remove.run(key);
      this.#stmts.setRev.run(String(rv));
    });
    this.#load();
  }

  #load(): void {
    const rev = this.#db.prepare("SELECT v FROM meta WHERE k = 'revision'").get() as { v: string } | undefined;
    this.#rev = rev ? Number(rev.v) : 0;
    for (const row of this.#db.prepare('SELECT key, resource, ns, name, rv, data AS json FROM objects').iterate() as Iterable<StoredObject>) {
      this.#index(row);
      if (row.rv > this.#rev) this.#rev = row.rv;
    }
  }

  #index(o: StoredObject): void {
    let m = this.#byResource.get(o.resource);
    if (!m) this.#byResource.set(o.resource, (m = new Map()));
    m.set(o.key, o);
  }

  /** The current global revision (the newest resourceVersion). */
  get revision(): number {
    return this.#rev;
  }

  /** The oldest revision a watch can resume after without a 410. */
  get oldestResumable(): number {
    // The array is trimmed in batches, so it may hold more than historySize: the promise is historySize.
    return this.#history.length ? Math.max(this.#history[0].rv - 1, this.#rev - this.#historySize) : this.#rev;
  }

  /** One object, or undefined. */
  get(resource: string, ns: string, name: string): StoredObject | undefined {
    return this.#byResource.get(resource)?.get(objectKey(resource, ns, name));
  }

  /** Every object of a resource, optionally in one namespace, sorted by key (namespace, then name). */
  list(resource: string, ns?: string): StoredObject[] {
    const m = this.#byResource.get(resource);
    if (!m) return [];
    const out: StoredObject[] = [];
    for (const o of m.values()) if (ns === undefined || o.ns === ns) out.push(o);
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out;
  }

  /** Number of objects of a resource in a namespace (or everywhere). */
  count(resource: string, ns?: string): number {
    const m = this.#byResource.get(resource);
    if (!m) return 0;
    if (ns === undefined) return m.size;
    let n = 0;
    for (const o of m.values()) if (o.ns === ns) n++;
    return n;
  }

  /** Resources that have at least one object. */
  resources(): string[] {
    return [...this.#byResource.keys()].filter((r) => (this.#byResource.get(r)?.size ?? 0) > 0);
  }

  /**
   * Writes an object. `stamp(rv)` returns the JSON to store with its resourceVersion set to rv.
   * `expect`: 'absent' for create (AlreadyExists otherwise), a number for compare-and-swap on the
   * stored revision (Conflict otherwise), or 'present' for update without precondition.
   */
  put(resource: string, ns: string, name: string, expect: 'absent' | 'present' | number, stamp: (rv: number) => string): StoredObject {
    this.#open();
    const key = objectKey(resource, ns, name);
    const cur = this.#byResource.get(resource)?.get(key);
    if (expect === 'absent' && cur) throw new StoreError('AlreadyExists', key);
    if (expect !== 'absent' && !cur) throw new StoreError('NotFound', key);
    if (typeof expect === 'number' && cur && cur.rv !== expect) throw new StoreError('Conflict', key);
    const rv = this.#rev + 1;
    const json = stamp(rv);
    const type = cur ? 'MODIFIED' : 'ADDED';
    // One statement is atomic on its own: no explicit transaction needed.
    this.#stmts.upsert.run(key, resource, ns, name, rv, json);
    this.#rev = rv;
    const obj: StoredObject = { key, resource, ns, name, rv, json };
    this.#index(obj);
    this.#emit({ rv, type, resource, ns, name, json, prevJson: cur?.json });
    return obj;
  }

  /** Deletes an object; `stamp(rv)` gives its final JSON for the DELETED event. */
  remove(resource: string, ns: string, name: string, expect: 'present' | number, stamp: (rv: number) => string): StoredObject {
    this.#open();
    const key = objectKey(resource, ns, name);
    const cur = this.#byResource.get(resource)?.get(key);
    if (!cur) throw new StoreError('NotFound', key);
    if (typeof expect === 'number' && cur.rv !== expect) throw new StoreError('Conflict', key);
    const rv = this.#rev + 1;
    const json = stamp(rv);
    this.#removeTx(key, rv);
    this.#rev = rv;
    this.#byResource.get(resource)?.delete(key);
    this.#emit({ rv, type: 'DELETED', resource, ns, name, json });
    return { key, resource, ns, name, rv, json };
  }

  #emit(ev: StoreEvent): void {
    this.#history.push(ev);
    if (this.#history.length > this.#historySize + 1000) this.#history.splice(0, this.#history.length - this.#historySize);
    for (const l of this.#listeners) {
      try {
        l(ev);
      } catch {
        // A listener's failure must never undo or block a committed write; listeners own their errors.
      }
    }
  }

  /**
   * Events after `rv` (exclusive) from the history, or undefined when rv is older than the history
   * holds (the caller answers 410 Gone).
   */
  since(rv: number): StoreEvent[] | undefined {
    if (rv >= this.#rev) return [];
    if (rv < this.oldestResumable) return undefined;
    // History is sorted by rv: binary search the first event after rv.
    let lo = 0;
    let hi = this.#history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#history[mid].rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    return this.#history.slice(lo);
  }

  /** Subscribes to every committed event; returns an unsubscribe function. */
  subscribe(l: StoreListener): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  #open(): void {
    if (this.#closed) throw new StoreError('Closed', '');
  }

  /** Closes the database; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    this.#db.close();
  }
}
