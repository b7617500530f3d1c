/**
 * The registry: every create, read, update, patch, delete and watch goes through here, from HTTP and
 * from in-process controllers alike (it implements the one Client interface). It runs admission
 * (defaulting, validation, metadata), talks to the store, and turns store events into watch events.
 */
import { randomUUID } from 'node:crypto';
import { Store, StoreError } from '../store/index.ts';
import { ApiError, alreadyExists, badRequest, conflict, invalid, notFound } from './errors.ts';
import { ResourceCatalog } from './resources.ts';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { defaultObject, validateObject, compileCrdSchema, pruneBySchema } from './validation/index.ts';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PatchError } from './patch/index.ts';
import type { Client, Closeable, DeleteOptions, KObject, ListOptions, ObjectList, PatchType, ResourceInfo, WatchEvent, WriteOptions } from './types.ts';

/** Options every registry call may carry beyond the Client interface. */
export interface CallOptions extends WriteOptions {
  /** The API version the caller speaks; objects come back with this apiVersion. */
  version?: string;
  /** 'Strict' rejects unknown fields of custom resources; 'Ignore' drops them silently. */
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
  /** The body is the caller's to give away (freshly parsed from a request): it is used without a copy. */
  owned?: boolean;
}

/** Registry defaults, applied once. */
export const registryDefaults = {
  /** Watches get a BOOKMARK this often when they asked for bookmarks. */
  bookmarkIntervalMs: 60_000,
};

/** An RFC 3339 timestamp at second precision, as the API server writes them (now by default). */
function nowStamp(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * What a DELETE of a pod does, as Kubernetes' pod strategy (CheckGracefulDelete) and the generic
 * registry's BeforeDelete decide it:
 * - `now`: the pod is removed at once: it was never scheduled, it has finished, the grace period
 *   asked for (else its terminationGracePeriodSeconds) is 0, or it was already terminating with none;
 * - `pending`: it is already terminating, and the request does not shorten the grace period;
 * - a grace period in seconds: the pod gets a deletionTimestamp that far ahead and stays, Terminating,
 *   until its node agent has stopped it and deletes it with a grace period of 0.
 */
export function podDeletion(pod: KObject, requested: number | undefined): 'now' | 'pending' | number {
  const m = pod.metadata;
  if (m.deletionTimestamp) {
    const current = m.deletionGracePeriodSeconds as number | undefined;
    if (!current) return 'now';
    if (requested === undefined || requested >= current) return 'pending';
    return requested <= 0 ? 'now' : requested;
  }
  let period = requested ?? (pod.spec?.terminationGracePeriodSeconds as number | undefined) ?? 0;
  const phase = pod.status?.phase;
  if (!pod.spec?.nodeName || phase === 'Succeeded' || phase === 'Failed') period = 0;
  if (period < 0) period = 1;
  return period === 0 ? 'now' : period;
}

function clone<T>(o: T): T {
  return JSON.parse(JSON.stringify(o)) as T;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const randomChars = 'bcdfghjklmnpqrstvwxz2456789';
/** The 5 random characters Kubernetes appends for generateName. */
export function randomSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += randomChars[Math.floor(Math.random() * randomChars.length)];
  return s;
}

/**
 * An admission hook runs after defaulting and before validation, on create (old undefined) and
 * update. It may mutate the object (allocate a cluster IP, add a label) and may throw ApiError.
 */
export type AdmissionHook = (obj: KObject, old: KObject | undefined, info: ResourceInfo) => void;

export class Registry implements Client {
  readonly catalog = new ResourceCatalog();
  readonly store: Store;
  #hooks = new Map<string, AdmissionHook[]>();
  #validators = new Map<string, AdmissionHook[]>();
  #crdValidators = new Map<string, { schema: object; validate: (o: KObject) => import('./types.ts').Cause[] }>();

  constructor(store: Store) {
    this.store = store;
    for (const o of store.list('customresourcedefinitions.apiextensions.k8s.io')) this.catalog.addCrd(JSON.parse(o.json) as KObject);
  }

  /** Adds an admission hook for a resource key (`services`, `namespaces`, ...); hooks run in order. */
  addAdmission(res: string, hook: AdmissionHook): void {
    let l = this.#hooks.get(res);
    if (!l) this.#hooks.set(res, (l = []));
    l.push(hook);
  }

  /**
   * Adds a validating admission hook: it runs after the object passed the API server's own
   * validation (and a CRD's schema), as validating webhooks do, and may only throw.
   */
  addValidation(res: string, hook: AdmissionHook): void {
    let l = this.#validators.get(res);
    if (!l) this.#validators.set(res, (l = []));
    l.push(hook);
  }

  /** Resolves a resource key, or throws NotFound as the API server does for unknown resources. */
  info(res: string): ResourceInfo {
    const info = this.catalog.get(res);
    if (!info) throw new ApiError('NotFound', `the server could not find the requested resource (${res})`);
    return info;
  }

  #ns(info: ResourceInfo, ns: string | undefined): string {
    if (!info.namespaced) return '';
    if (!ns) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    return ns;
  }

  #decorate(info: ResourceInfo, json: string, version?: string): KObject {
    const o = JSON.parse(json) as KObject;
    // Stored JSON already carries the storage version's apiVersion and kind; remember the text so the
    // HTTP layer can answer with it instead of serializing the object again.
    if (!version || version === info.version) rawText.set(o, json);
    o.apiVersion = apiVersionOf(info, version);
    o.kind = info.kind;
    return o;
  }

  /**
   * The result of a write: the object just stored (it is exactly the stored text, so no parse is
   * needed), unless the caller speaks another version.
   */
  #written(info: ResourceInfo, obj: KObject, json: string, version?: string): KObject {
    if (version && version !== info.version) return this.#decorate(info, json, version);
    rawText.set(obj, json);
    return obj;
  }

  /** The stored JSON text of an object this registry returned, when it can be sent as is. */
  rawOf(obj: unknown): string | undefined {
    return typeof obj === 'object' && obj !== null ? rawText.get(obj) : undefined;
  }

  /**
   * A whole List as JSON text, for the HTTP path: items are the stored text, so a list without
   * selectors parses and serializes nothing (5,000 pods is 5 MB of JSON).
   */
  listJson(res: string, ns: string | undefined, opts: ListOptions & CallOptions = {}): string {
    const info = this.info(res);
    if (opts.labelSelector || opts.fieldSelector || opts.limit || opts.continue || (opts.version && opts.version !== info.version)) {
      const list = this.listSync(res, ns, opts);
      return JSON.stringify(list);
    }
    const rows = this.store.list(info.key, info.namespaced ? ns || undefined : undefined);
    const head = `{"apiVersion":${JSON.stringify(apiVersionOf(info))},"kind":${JSON.stringify(info.listKind)},"metadata":{"resourceVersion":"${this.store.revision}"},"items":[`;
    return head + rows.map((r) => r.json).join(',') + ']}';
  }

  /** GET one object. */
  async get(res: string, ns: string | undefined, name: string, opts: CallOptions = {}): Promise<KObject> {
    return this.getSync(res, ns, name, opts);
  }

  /** Synchronous get, for hot paths inside the server. */
  getSync(res: string, ns: string | undefined, name: string, opts: CallOptions = {}): KObject {
    const info = this.info(res);
    const o = this.store.get(info.key, info.namespaced ? (ns ?? '') : '', name);
    if (!o) throw notFound(info, name);
    return this.#decorate(info, o.json, opts.version);
  }

  /** LIST with selectors and limit/continue. */
  async list(res: string, ns: string | undefined, opts: ListOptions & CallOptions = {}): Promise<ObjectList> {
    return this.listSync(res, ns, opts);
  }

  /** Synchronous list. */
  listSync(res: string, ns: string | undefined, opts: ListOptions & CallOptions = {}): ObjectList {
    const info = this.info(res);
    const labels = parseLabelSelector(opts.labelSelector);
    const fields = parseFieldSelector(opts.fieldSelector);
    const rv = String(this.store.revision);
    let rows = this.store.list(info.key, info.namespaced ? ns || undefined : undefined);
    let start = 0;
    if (opts.continue) {
      const after = decodeContinue(opts.continue);
      start = rows.findIndex((r) => r.key > after);
      if (start < 0) start = rows.length;
    }
    const items: KObject[] = [];
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    let last = '';
    let i = start;
    for (; i < rows.length && items.length < limit; i++) {
      const o = this.#decorate(info, rows[i].json, opts.version);
      if (labels.length && !matchLabels(labels, o.metadata.labels)) continue;
      if (fields.length && !matchFields(fields, o)) continue;
      items.push(o);
      last = rows[i].key;
    }
    rows = rows.slice(i);
    const meta: ObjectList['metadata'] = { resourceVersion: rv };
    if (items.length >= limit && rows.length > 0) meta.continue = encodeContinue(last);
    return { apiVersion: apiVersionOf(info, opts.version), kind: info.listKind, metadata: meta, items };
  }

  /** WATCH from opts.resourceVersion; '0' or absent starts with synthetic ADDED events for current state. */
  watch(res: string, ns: string | undefined, opts: ListOptions & CallOptions & { allowBookmarks?: boolean }, handler: (ev: WatchEvent) => void): Closeable {
    return this.#watch(res, ns, opts, handler, undefined);
  }

  /**
   * WATCH for the HTTP path: when no selector needs the parsed object, events carry the stored JSON
   * text and nothing is parsed, so fanning one write out to 100 watchers costs 100 string writes.
   */
  watchRaw(res: string, ns: string | undefined, opts: ListOptions & CallOptions & { allowBookmarks?: boolean }, handler: (ev: WatchEvent) => void, raw: (type: WatchEvent['type'], json: string) => void): Closeable {
    return this.#watch(res, ns, opts, handler, raw);
  }

  #watch(res: string, ns: string | undefined, opts: ListOptions & CallOptions & { allowBookmarks?: boolean }, handler: (ev: WatchEvent) => void, raw: ((type: WatchEvent['type'], json: string) => void) | undefined): Closeable {
    const info = this.info(res);
    const labels = parseLabelSelector(opts.labelSelector);
    const fields = parseFieldSelector(opts.fieldSelector);
    const nsFilter = info.namespaced && ns ? ns : undefined;
    const rvText = opts.resourceVersion;
    let from: number;
    const initial: WatchEvent[] = [];
    if (rvText === undefined || rvText === '' || rvText === '0') {
      from = this.store.revision;
      for (const o of this.store.list(info.key, nsFilter)) {
        const obj = this.#decorate(info, o.json, opts.version);
        if (labels.length && !matchLabels(labels, obj.metadata.labels)) continue;
        if (fields.length && !matchFields(fields, obj)) continue;
        initial.push({ type: 'ADDED', object: obj });
      }
    } else {
      if (!/^\d+$/.test(rvText)) throw badRequest(`invalid resource version: "${rvText}" is not a valid resource version`);
      from = Number(rvText);
    }
    const textOnly = raw !== undefined && !labels.length && !fields.length && (!opts.version || opts.version === info.version);
    const matches = (o: KObject): boolean => (!labels.length || matchLabels(labels, o.metadata.labels)) && (!fields.length || matchFields(fields, o));
    const deliver = (ev: { type: 'ADDED' | 'MODIFIED' | 'DELETED'; resource: string; ns: string; json: string; prevJson?: string }): void => {
      if (ev.resource !== info.key || (nsFilter !== undefined && ev.ns !== nsFilter)) return;
      if (textOnly) return raw(ev.type, ev.json);
      const obj = this.#decorate(info, ev.json, opts.version);
      const now = matches(obj);
      if (ev.type !== 'MODIFIED' || !ev.prevJson || (!labels.length && !fields.length)) {
        if (now) handler({ type: ev.type, object: obj });
        return;
      }
      // As the API server's watch cache: an update that moves an object into the selection is ADDED
      // for this watch, and one that moves it out is DELETED (with the new state).
      const before = matches(JSON.parse(ev.prevJson) as KObject);
      if (now) handler({ type: before ? 'MODIFIED' : 'ADDED', object: obj });
      else if (before) handler({ type: 'DELETED', object: obj });
    };
    const backlog = this.store.since(from);
    if (backlog === undefined) {
      const status = new ApiError('Expired', `too old resource version: ${from} (${this.store.oldestResumable + 1})`).toStatus();
      handler({ type: 'ERROR', object: status as unknown as KObject });
      return { close() {} };
    }
    for (const ev of initial) handler(ev);
    for (const ev of backlog) deliver(ev);
    const unsubscribe = this.store.subscribe(deliver);
    let timer: NodeJS.Timeout | undefined;
    if (opts.allowBookmarks) {
      timer = setInterval(() => {
        handler({ type: 'BOOKMARK', object: { apiVersion: apiVersionOf(info, opts.version), kind: info.kind, metadata: { resourceVersion: String(this.store.revision) } } });
      }, registryDefaults.bookmarkIntervalMs);
      timer.unref();
    }
    return {
      close() {
        unsubscribe();
        if (timer) clearInterval(timer);
      },
    };
  }

  /** CREATE with admission. */
  async create(res: string, ns: string | undefined, body: KObject, opts: CallOptions = {}): Promise<KObject> {
    return this.createSync(res, ns, body, opts);
  }

  /** Synchronous create. */
  createSync(res: string, ns: string | undefined, body: KObject, opts: CallOptions = {}): KObject {
    const info = this.info(res);
    if (!isObject(body) || !isObject(body.metadata)) {
      if (isObject(body) && body.metadata === undefined) body.metadata = {};
      else throw badRequest(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
    }
    this.#checkKind(info, body, opts.version);
    const obj = opts.owned ? body : clone(body);
    const nsName = info.namespaced ? (ns || obj.metadata.namespace || 'default') : '';
    if (info.namespaced && obj.metadata.namespace && obj.metadata.namespace !== nsName) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = `${obj.metadata.generateName}${randomSuffix()}`;
    const name = obj.metadata.name ?? '';
    if (info.namespaced) {
      obj.metadata.namespace = nsName;
      const nsObj = this.store.get('namespaces', '', nsName);
      if (!nsObj) throw new ApiError('NotFound', `namespaces "${nsName}" not found`, { name: nsName, kind: 'namespaces' });
      if ((JSON.parse(nsObj.json) as KObject).metadata.deletionTimestamp) {
        throw new ApiError('Forbidden', `${info.resource} "${name}" is forbidden: unable to create new content in namespace ${nsName} because it is being terminated`, { name, kind: info.resource });
      }
    } else delete obj.metadata.namespace;
    // Server-owned metadata: whatever the client sent is replaced.
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = nowStamp();
    delete obj.metadata.resourceVersion;
    delete obj.metadata.deletionTimestamp;
    delete obj.metadata.deletionGracePeriodSeconds;
    delete obj.metadata.selfLink;
    delete obj.metadata.managedFields;
    if (obj.spec !== undefined || info.custom) obj.metadata.generation = 1;
    else delete obj.metadata.generation;
    if (info.subresources.includes('status') && info.key !== 'namespaces' && info.key !== 'customresourcedefinitions.apiextensions.k8s.io') delete obj.status;
    // As upstream's pod strategy: a new pod is Pending with its QoS class known.
    if (info.key === 'pods') obj.status = { phase: 'Pending', qosClass: qosClass(obj) };
    this.#admit(info, obj, undefined, opts);
    obj.apiVersion = apiVersionOf(info);
    obj.kind = info.kind;
    if (opts.dryRun) {
      // A dry run answers as the real create would, including AlreadyExists.
      if (this.store.get(info.key, nsName, name)) throw alreadyExists(info, name);
      return this.#decorate(info, JSON.stringify(obj), opts.version);
    }
    try {
      const stored = this.store.put(info.key, nsName, name, 'absent', (rv) => {
        obj.metadata.resourceVersion = String(rv);
        return JSON.stringify(obj);
      });
      if (info.key === 'customresourcedefinitions.apiextensions.k8s.io') this.#crdChanged(obj);
      return this.#written(info, obj, stored.json, opts.version);
    } catch (e) {
      if (e instanceof StoreError && e.reason === 'AlreadyExists') throw alreadyExists(info, name);
      throw e;
    }
  }

  /** UPDATE (PUT) of the main resource: status is kept as stored. */
  async update(res: string, ns: string | undefined, body: KObject, opts: CallOptions = {}): Promise<KObject> {
    return this.#write(res, ns, body, 'main', opts);
  }

  /** UPDATE of the status subresource: only status changes. */
  async updateStatus(res: string, ns: string | undefined, body: KObject, opts: CallOptions = {}): Promise<KObject> {
    return this.#write(res, ns, body, 'status', opts);
  }

  /** Synchronous update, `part` says whether the main resource or only status changes. */
  writeSync(res: string, ns: string | undefined, body: KObject, part: 'main' | 'status', opts: CallOptions = {}): KObject {
    return this.#write(res, ns, body, part, opts);
  }

  #write(res: string, ns: string | undefined, body: KObject, part: 'main' | 'status', opts: CallOptions, expectRv?: number): KObject {
    const info = this.info(res);
    if (!isObject(body) || !isObject(body.metadata)) throw badRequest('the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf');
    this.#checkKind(info, body, opts.version);
    const name = body.metadata.name ?? '';
    const nsName = this.#ns(info, info.namespaced ? ns || body.metadata.namespace : undefined);
    if (info.namespaced && body.metadata.namespace && body.metadata.namespace !== nsName) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const cur = this.store.get(info.key, nsName, name);
    if (!cur) throw notFound(info, name);
    const old = JSON.parse(cur.json) as KObject;
    const sentRv = body.metadata.resourceVersion;
    // Read before an owned body (obj === body) gets the stored uid written over it below.
    const sentUid = body.metadata.uid;
    if (sentRv !== undefined && sentRv !== '' && sentRv !== String(cur.rv)) throw conflict(info, name);
    if (expectRv !== undefined && expectRv !== cur.rv) throw conflict(info, name);
    let obj: KObject;
    if (part === 'status') {
      obj = clone(old);
      // A body without status clears it (clone(undefined) would throw).
      if (body.status === undefined) delete obj.status;
      else obj.status = clone(body.status);
    } else {
      obj = opts.owned ? body : clone(body);
      // Server-owned fields stay as they were.
      obj.metadata.uid = old.metadata.uid;
      obj.metadata.creationTimestamp = old.metadata.creationTimestamp;
      obj.metadata.namespace = old.metadata.namespace;
      obj.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
      obj.metadata.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
      obj.metadata.generation = old.metadata.generation;
      delete obj.metadata.managedFields;
      if (!obj.metadata.deletionTimestamp) delete obj.metadata.deletionTimestamp;
      if (obj.metadata.deletionGracePeriodSeconds === undefined) delete obj.metadata.deletionGracePeriodSeconds;
      if (obj.metadata.generation === undefined) delete obj.metadata.generation;
      if (info.subresources.includes('status')) {
        if (old.status === undefined) delete obj.status;
        else obj.status = old.status;
      }
      // Binding a pod to a node (what the binding subresource does upstream) also marks it scheduled,
      // in the same write.
      if (info.key === 'pods' && !old.spec?.nodeName && typeof obj.spec?.nodeName === 'string' && obj.spec.nodeName) {
        const conditions = ((old.status?.conditions as Array<{ type: string }> | undefined) ?? []).filter((c) => c.type !== 'PodScheduled');
        obj.status = { ...(old.status ?? {}), conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: nowStamp() }, ...conditions] };
      }
      if (obj.metadata.uid !== undefined && sentUid && sentUid !== old.metadata.uid) {
        throw conflict(info, name, `Precondition failed: UID in precondition: ${sentUid}, UID in object meta: ${old.metadata.uid}`);
      }
      // Objects being deleted may not gain new finalizers.
      if (old.metadata.deletionTimestamp) {
        const had = new Set(old.metadata.finalizers ?? []);
        if ((obj.metadata.finalizers ?? []).some((f) => !had.has(f))) {
          throw new ApiError('Forbidden', `${info.resource} "${name}" is forbidden: no new finalizers can be added if the object is being deleted`);
        }
      }
    }
    this.#admit(info, obj, old, opts);
    // Compared after defaulting: a body that omits only defaulted fields (kubectl replace of the
    // original file) is no spec change.
    if (part === 'main' && JSON.stringify(obj.spec) !== JSON.stringify(old.spec) && old.metadata.generation !== undefined) {
      obj.metadata.generation = (old.metadata.generation ?? 0) + 1;
    }
    obj.apiVersion = apiVersionOf(info);
    obj.kind = info.kind;
    delete obj.metadata.resourceVersion;
    if (opts.dryRun) return this.#decorate(info, JSON.stringify({ ...obj, metadata: { ...obj.metadata, resourceVersion: String(cur.rv) } }), opts.version);
    // A deleted object whose last finalizer is gone leaves the store now; a pod still in its grace
    // period (deletionGracePeriodSeconds > 0) stays until its node agent deletes it (upstream's
    // ShouldDeleteDuringUpdate).
    if (obj.metadata.deletionTimestamp && !(obj.metadata.deletionGracePeriodSeconds as number | undefined) && !(obj.metadata.finalizers ?? []).length && !(info.key === 'namespaces' && (obj.spec?.finalizers ?? []).length)) {
      const removed = this.store.remove(info.key, nsName, name, cur.rv, (rv) => {
        obj.metadata.resourceVersion = String(rv);
        return JSON.stringify(obj);
      });
      this.#afterDelete(info, obj);
      return this.#decorate(info, removed.json, opts.version);
    }
    try {
      const stored = this.store.put(info.key, nsName, name, cur.rv, (rv) => {
        obj.metadata.resourceVersion = String(rv);
        return JSON.stringify(obj);
      });
      if (info.key === 'customresourcedefinitions.apiextensions.k8s.io') this.#crdChanged(obj);
      return this.#written(info, obj, stored.json, opts.version);
    } catch (e) {
      if (e instanceof StoreError && e.reason === 'Conflict') throw conflict(info, name);
      throw e;
    }
  }

  /** PATCH; retried on internal conflicts, as the API server does. */
  async patch(res: string, ns: string | undefined, name: string, type: PatchType, patch: unknown, opts: CallOptions & { subresource?: string } = {}): Promise<KObject> {
    return this.patchSync(res, ns, name, type, patch, opts);
  }

  /** Synchronous patch. */
  patchSync(res: string, ns: string | undefined, name: string, type: PatchType, patch: unknown, opts: CallOptions & { subresource?: string } = {}): KObject {
    const info = this.info(res);
    const nsName = this.#ns(info, ns);
    const cur = this.store.get(info.key, nsName, name);
    if (!cur) throw notFound(info, name);
    const live = this.#decorate(info, cur.json, opts.version);
    let next: unknown;
    try {
      if (type === 'json') next = applyJsonPatch(live, patch);
      else if (type === 'merge') next = applyMergePatch(live, patch);
      else if (type === 'strategic') {
        if (info.custom) throw new ApiError('UnsupportedMediaType', 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml');
        next = applyStrategicMergePatch(live, patch, info.key);
      } else throw new ApiError('UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`);
    } catch (e) {
      if (e instanceof PatchError) throw new ApiError(e.status === 422 ? 'Invalid' : 'BadRequest', e.message);
      throw e;
    }
    if (!isObject(next) || !isObject((next as KObject).metadata)) throw badRequest('the patch produced an object without metadata');
    const obj = next as KObject;
    // The patched object's identity is the live one's; a patch cannot rename or move it.
    if (obj.metadata.name !== name) throw invalid(info, name, [{ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: ${JSON.stringify(obj.metadata.name)}: field is immutable` }]);
    obj.metadata.resourceVersion = String(cur.rv);
    // The patched object is a fresh copy made by the patch functions: no need to copy it again.
    return this.#write(res, nsName, obj, opts.subresource === 'status' ? 'status' : 'main', { ...opts, owned: true }, cur.rv);
  }

  /** DELETE with finalizers and propagation policy. */
  async delete(res: string, ns: string | undefined, name: string, opts: DeleteOptions = {}): Promise<KObject> {
    return this.deleteSync(res, ns, name, opts);
  }

  /** Synchronous delete. */
  deleteSync(res: string, ns: string | undefined, name: string, opts: DeleteOptions & { version?: string } = {}): KObject {
    const info = this.info(res);
    const nsName = this.#ns(info, ns);
    const cur = this.store.get(info.key, nsName, name);
    if (!cur) throw notFound(info, name);
    const obj = JSON.parse(cur.json) as KObject;
    if (opts.preconditions?.uid && opts.preconditions.uid !== obj.metadata.uid) {
      throw conflict(info, name, `Precondition failed: UID in precondition: ${opts.preconditions.uid}, UID in object meta: ${obj.metadata.uid}`);
    }
    if (opts.preconditions?.resourceVersion && opts.preconditions.resourceVersion !== String(cur.rv)) {
      throw conflict(info, name, `Precondition failed: ResourceVersion in precondition: ${opts.preconditions.resourceVersion}, ResourceVersion in object meta: ${cur.rv}`);
    }
    const finalizers = [...(obj.metadata.finalizers ?? [])];
    if (opts.propagationPolicy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion');
    if (opts.propagationPolicy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
    const isNamespace = info.key === 'namespaces';
    if (isNamespace && ['default', 'kube-system', 'kube-public'].includes(name)) {
      throw new ApiError('Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
    }
    if (info.key === 'pods') {
      const d = podDeletion(obj, opts.gracePeriodSeconds);
      if (d === 'pending') return this.#decorate(info, cur.json, opts.version);
      if (d !== 'now') {
        // A shorter grace period moves the deletionTimestamp back by the difference, as upstream.
        const was = obj.metadata.deletionTimestamp ? Date.parse(obj.metadata.deletionTimestamp) - (obj.metadata.deletionGracePeriodSeconds as number) * 1000 : Date.now();
        obj.metadata.deletionTimestamp = nowStamp(was + d * 1000);
        obj.metadata.deletionGracePeriodSeconds = d;
        return this.#markDeleting(info, nsName, cur.rv, obj, opts);
      }
    }
    const graceful = finalizers.length > 0 || (isNamespace && (obj.spec?.finalizers ?? []).length > 0);
    if (graceful) {
      if (obj.metadata.deletionTimestamp && JSON.stringify(finalizers) === JSON.stringify(obj.metadata.finalizers ?? [])) return this.#decorate(info, cur.json, opts.version);
      obj.metadata.deletionTimestamp ??= nowStamp();
      obj.metadata.deletionGracePeriodSeconds ??= 0;
      obj.metadata.finalizers = finalizers;
      if (!finalizers.length) delete obj.metadata.finalizers;
      if (isNamespace) obj.status = { ...(obj.status ?? {}), phase: 'Terminating' };
      return this.#markDeleting(info, nsName, cur.rv, obj, opts);
    }
    if (opts.dryRun) return this.#decorate(info, cur.json, opts.version);
    const removed = this.store.remove(info.key, nsName, name, cur.rv, (rv) => {
      obj.metadata.resourceVersion = String(rv);
      return JSON.stringify(obj);
    });
    this.#afterDelete(info, obj);
    return this.#decorate(info, removed.json, opts.version);
  }

  /** Stores an object the caller marked for deletion (deletionTimestamp set); a dry run returns it as it would be. */
  #markDeleting(info: ResourceInfo, nsName: string, rv: number, obj: KObject, opts: DeleteOptions & { version?: string }): KObject {
    if (opts.dryRun) return this.#decorate(info, JSON.stringify(obj), opts.version);
    const stored = this.store.put(info.key, nsName, obj.metadata.name ?? '', rv, (r) => {
      obj.metadata.resourceVersion = String(r);
      return JSON.stringify(obj);
    });
    return this.#decorate(info, stored.json, opts.version);
  }

  #afterDelete(info: ResourceInfo, obj: KObject): void {
    if (info.key !== 'customresourcedefinitions.apiextensions.k8s.io') return;
    const gone = this.catalog.get(`${obj.spec?.names?.plural}.${obj.spec?.group}`);
    if (!gone?.custom) return;
    // Custom resources go with their definition.
    for (const o of this.store.list(gone.key)) {
      try {
        // The DELETED event carries the delete's revision, like every other delete, so watchers can resume after it.
        this.store.remove(gone.key, o.ns, o.name, 'present', (rv) => {
          const last = JSON.parse(o.json) as KObject;
          last.metadata.resourceVersion = String(rv);
          return JSON.stringify(last);
        });
      } catch {
        // Already gone.
      }
    }
    this.catalog.removeCrd(gone.key);
    this.#crdValidators.delete(gone.key);
  }

  #crdChanged(crd: KObject): void {
    const info = this.catalog.addCrd(crd);
    if (info) this.#crdValidators.delete(info.key);
  }

  #checkKind(info: ResourceInfo, body: KObject, version: string | undefined): void {
    if (body.kind !== undefined && body.kind !== info.kind) {
      throw badRequest(`${info.kind} in version "${version ?? info.version}" cannot be handled as a ${info.kind}: the kind "${body.kind}" does not match the expected kind "${info.kind}"`);
    }
    if (body.apiVersion !== undefined) {
      const [g, v] = String(body.apiVersion).includes('/') ? String(body.apiVersion).split('/') : ['', String(body.apiVersion)];
      if (g !== info.group || !info.versions.includes(v)) {
        throw badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersionOf(info, version)})`);
      }
    }
  }

  /** Defaulting, validation and (for custom resources) schema checks. Throws Invalid. */
  #admit(info: ResourceInfo, obj: KObject, old: KObject | undefined, opts: CallOptions): void {
    const name = obj.metadata.name ?? '';
    if (info.custom) {
      const v = this.#crdValidator(info);
      if (v) {
        const unknown = pruneBySchema(obj, v.schema);
        if (unknown.length && opts.fieldValidation === 'Strict') {
          throw badRequest(`${info.kind} in version "${opts.version ?? info.version}" cannot be handled as a ${info.kind}: strict decoding error: ${unknown.map((p) => `unknown field "${p.replace(/^\./, '')}"`).join(', ')}`);
        }
        for (const h of this.#hooks.get(info.key) ?? []) h(obj, old, info);
        const causes = [...validateObject(info.key, obj, old), ...v.validate(obj)];
        if (causes.length) throw invalid(info, name, causes);
        for (const h of this.#validators.get(info.key) ?? []) h(obj, old, info);
        return;
      }
    }
    defaultObject(info.key, obj);
    for (const h of this.#hooks.get(info.key) ?? []) h(obj, old, info);
    const causes = validateObject(info.key, obj, old);
    if (causes.length) throw invalid(info, name, causes);
    for (const h of this.#validators.get(info.key) ?? []) h(obj, old, info);
  }

  #crdValidator(info: ResourceInfo): { schema: object; validate: (o: KObject) => import('./types.ts').Cause[] } | undefined {
    let v = this.#crdValidators.get(info.key);
    if (v) return v;
    const schema = this.catalog.crdVersion(info.key, info.version)?.schema?.openAPIV3Schema;
    if (!schema) return undefined;
    v = { schema, validate: compileCrdSchema(schema) };
    this.#crdValidators.set(info.key, v);
    return v;
  }
}

/** The pod's QoS class from its containers' requests and limits, as upstream's qos.GetPodQOS. */
export function qosClass(pod: KObject): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers = [...((pod.spec?.containers as unknown[]) ?? []), ...((pod.spec?.initContainers as unknown[]) ?? [])] as Array<{ resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> } }>;
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const req = c?.resources?.requests ?? {};
    const lim = c?.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      if (req[r] !== undefined || lim[r] !== undefined) any = true;
      if (lim[r] === undefined || (req[r] !== undefined && String(req[r]) !== String(lim[r]))) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** `v1`, `apps/v1`, `networking.istio.io/v1beta1`. */
export function apiVersionOf(info: ResourceInfo, version?: string): string {
  const v = version && info.versions.includes(version) ? version : info.version;
  return info.group ? `${info.group}/${v}` : v;
}

/** Objects handed out by #decorate, mapped to the stored text they were parsed from (see rawOf). */
const rawText = new WeakMap<object, string>();

function encodeContinue(key: string): string {
  return Buffer.from(JSON.stringify({ v: 1, k: key })).toString('base64url');
}

function decodeContinue(token: string): string {
  try {
    const o = JSON.parse(Buffer.from(token, 'base64url').toString()) as { k?: unknown };
    if (typeof o.k === 'string') return o.k;
  } catch {
    // fall through
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}
