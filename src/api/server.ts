/**
 * The Kubernetes-compatible HTTPS server: authentication, routing, content negotiation (JSON, Table,
 * watch streams), and the mapping of every failure to a metav1.Status. The work itself is the registry's.
 */
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { ApiError, badRequest } from './errors.ts';
import { readBody, decodeBody } from './body.ts';
import { answerReview, reviewAt, reviewResources } from './reviews.ts';
import { aggregated, aggregatedContentType, legacyCoreVersions, legacyGroup, legacyGroupList, resourceList } from './discovery.ts';
import { openapiV3Document, openapiV3Index } from './openapi.ts';
import { crdPrinter, printerFor, toTable } from './printers/index.ts';
import { type CallOptions, type Registry } from './registry.ts';
import { formatSelector, parseFieldSelector, parseLabelSelector } from './selectors.ts';
import type { Closeable, DeleteOptions, KObject, PatchType, Printer, ResourceInfo, WatchEvent } from './types.ts';

export interface ApiServerOptions {
  host: string;
  port: number;
  tls: { key: string; cert: string };
  /** Bearer tokens that are let in. */
  tokens: string[];
}

/** What the server reports as its version; kubectl 1.32 dispatch depends on minor "32". */
export const serverVersion = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0+skiff',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.4',
  compiler: 'gc',
  platform: `linux/amd64`,
};

const noColumns: never[] = [];
const openapiV2Empty = Buffer.from([0x0a, 0x03, 0x32, 0x2e, 0x30]);
const tableType = 'application/json;as=Table;v=v1;g=meta.k8s.io';

interface Route {
  info: ResourceInfo;
  version: string;
  ns?: string;
  name?: string;
  sub?: string;
}

/** An extra handler for pod subresources (log, exec, ...) that later layers plug in. */
export type SubresourceHandler = (route: { ns: string; name: string; sub: string }, req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;
export type UpgradeHandler = (route: { ns: string; name: string; sub: string }, req: IncomingMessage, socket: Socket, head: Buffer, url: URL) => void;

export class ApiServer {
  #registry: Registry;
  #opts: ApiServerOptions;
  #server: Server;
  #tokens: Buffer[];
  #watches = new Set<Closeable>();
  #sockets = new Set<Socket>();
  #subHandlers = new Map<string, SubresourceHandler>();
  #upgradeHandlers = new Map<string, UpgradeHandler>();
  #closed = false;
  #crdPrinters = new WeakMap<object, Printer>();

  constructor(registry: Registry, opts: ApiServerOptions) {
    this.#registry = registry;
    this.#opts = opts;
    this.#tokens = opts.tokens.map((t) => Buffer.from(t));
    this.#server = createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, (req, res) => {
      this.#handle(req, res).catch((e) => this.#fail(res, e));
    });
    this.#server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    this.#server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.#upgrade(req, socket, head));
    // Watches and follows are long-lived; Node's default request timeouts would cut them.
    this.#server.requestTimeout = 0;
    this.#server.headersTimeout = 60_000;
  }

  /** Registers a handler for a pod subresource (`log`, `portforward`, ...). */
  onSubresource(sub: string, h: SubresourceHandler): void {
    this.#subHandlers.set(sub, h);
  }

  /** Registers a WebSocket upgrade handler for a pod subresource (`exec`, `attach`, `portforward`). */
  onUpgrade(sub: string, h: UpgradeHandler): void {
    this.#upgradeHandlers.set(sub, h);
  }

  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#opts.port, this.#opts.host, () => {
        this.#server.off('error', reject);
        resolve((this.#server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops accepting, ends watches and open connections; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#watches) w.close();
    this.#watches.clear();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const s of this.#sockets) s.destroy();
    });
  }

  #authorized(req: IncomingMessage): boolean {
    const h = req.headers.authorization;
    if (!h || !h.startsWith('Bearer ')) return false;
    const t = Buffer.from(h.slice(7).trim());
    return this.#tokens.some((k) => k.length === t.length && timingSafeEqual(k, t));
  }

  #upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const fail = (e: ApiError): void => {
      const body = JSON.stringify(e.toStatus());
      socket.end(`HTTP/1.1 ${e.code} ${e.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    try {
      if (!this.#authorized(req)) return fail(new ApiError('Unauthorized', 'Unauthorized'));
      const url = new URL(req.url ?? '/', 'https://skiff');
      const route = this.#route(url.pathname);
      if (!route || route.info.key !== 'pods' || !route.sub || !route.name || !route.ns) return fail(new ApiError('NotFound', 'the server could not find the requested resource'));
      const h = this.#upgradeHandlers.get(route.sub);
      if (!h) return fail(badRequest(`upgrade to ${route.sub} is not supported by this server yet`));
      this.#registry.getSync('pods', route.ns, route.name);
      h({ ns: route.ns, name: route.name, sub: route.sub }, req, socket, head, url);
    } catch (e) {
      fail(e instanceof ApiError ? e : new ApiError('InternalError', String((e as Error).message)));
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://skiff');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path === '/healthz' || path === '/readyz' || path === '/livez') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end('ok');
      return;
    }
    if (!this.#authorized(req)) throw new ApiError('Unauthorized', 'Unauthorized');
    const method = req.method ?? 'GET';
    const accept = String(req.headers.accept ?? '');
    const review = reviewAt(path);
    if (review) {
      const body = method === 'POST' ? decodeBody(await readBody(req), req.headers['content-type']) : undefined;
      return this.#json(res, 201, answerReview(review, method, body));
    }
    const stored = this.#registry.catalog.all();
    // Discovery also lists the reviews, which are answered above and never stored.
    const resources = [...stored, ...reviewResources];
    if (method === 'GET') {
      if (path === '/version') return this.#json(res, 200, serverVersion);
      if (path === '/api') {
        if (accept.includes('as=APIGroupDiscoveryList')) return this.#json(res, 200, aggregated(resources, true), aggregatedContentType);
        // The bound port: opts.port may be 0 (pick any).
        return this.#json(res, 200, legacyCoreVersions(`${this.#opts.host}:${(this.#server.address() as AddressInfo).port}`));
      }
      if (path === '/apis') {
        if (accept.includes('as=APIGroupDiscoveryList')) return this.#json(res, 200, aggregated(resources, false), aggregatedContentType);
        return this.#json(res, 200, legacyGroupList(resources));
      }
      if (path === '/api/v1') return this.#json(res, 200, resourceList(resources, '', 'v1'));
      if (path === '/openapi/v3') return this.#json(res, 200, openapiV3Index(stored));
      if (path.startsWith('/openapi/v3/')) {
        const doc = openapiV3Document(stored, path.slice('/openapi/v3/'.length));
        if (doc) return this.#json(res, 200, doc);
        throw new ApiError('NotFound', 'the server could not find the requested resource');
      }
      if (path === '/openapi/v2') {
        // An empty OpenAPI v2 document (protobuf: field 1 swagger = "2.0"). kubectl falls back to v2 when a
        // kind is missing from the v3 documents; an empty one lets it go on to its usual
        // "no matches for kind" message, and leaves patch metadata to its compiled-in Go types.
        res.writeHead(200, { 'Content-Type': 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf', 'Content-Length': openapiV2Empty.length });
        res.end(openapiV2Empty);
        return;
      }
      const g = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(path);
      if (g) {
        const doc = g[2] ? resourceList(resources, g[1], g[2]) : legacyGroup(resources, g[1]);
        if (doc) return this.#json(res, 200, doc);
        throw new ApiError('NotFound', 'the server could not find the requested resource');
      }
    }
    const route = this.#route(path);
    if (!route) throw new ApiError('NotFound', 'the server could not find the requested resource');
    return this.#resource(route, method, req, res, url, accept);
  }

  /** Parses a resource path into its parts, or undefined. */
  #route(path: string): Route | undefined {
    const parts = path.split('/').filter(Boolean).map(decodeSegment);
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api' && parts.length >= 3) {
      group = '';
      version = parts[1];
      rest = parts.slice(2);
    } else if (parts[0] === 'apis' && parts.length >= 4) {
      group = parts[1];
      version = parts[2];
      rest = parts.slice(3);
    } else return undefined;
    let ns: string | undefined;
    // `namespaces/<ns>/<resource>...` unless it is the namespace object itself or its status/finalize.
    if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize') && group === '')) {
      ns = rest[1];
      rest = rest.slice(2);
    }
    const info = this.#registry.catalog.lookup(group, version, rest[0]);
    if (!info || rest.length > 3) return undefined;
    if (ns !== undefined && !info.namespaced) return undefined;
    return { info, version, ns, name: rest[1], sub: rest[2] };
  }

  async #resource(route: Route, method: string, req: IncomingMessage, res: ServerResponse, url: URL, accept: string): Promise<void> {
    const { info, version, ns, name, sub } = route;
    const q = url.searchParams;
    const opts: CallOptions = {
      version,
      dryRun: q.getAll('dryRun').includes('All'),
      fieldManager: q.get('fieldManager') ?? undefined,
      fieldValidation: (q.get('fieldValidation') as CallOptions['fieldValidation']) ?? 'Strict',
    };
    const reg = this.#registry;
    const wantTable = accept.includes('as=Table');
    if (sub && sub !== 'status' && sub !== 'scale' && !(info.key === 'namespaces' && sub === 'finalize')) {
      const h = info.key === 'pods' ? this.#subHandlers.get(sub) : undefined;
      if (!h || !name || !ns) {
        if (info.key === 'pods' && name && ns) reg.getSync('pods', ns, name);
        throw new ApiError('NotFound', 'the server could not find the requested resource');
      }
      reg.getSync('pods', ns, name);
      return h({ ns, name, sub }, req, res, url);
    }
    if (sub && !info.subresources.includes(sub) && !(info.key === 'namespaces' && sub === 'finalize')) throw new ApiError('NotFound', 'the server could not find the requested resource');
    if (!name) {
      // Collection.
      if (method === 'GET') {
        const listOpts = {
          ...opts,
          labelSelector: q.get('labelSelector') ?? undefined,
          fieldSelector: q.get('fieldSelector') ?? undefined,
          limit: q.get('limit') ? Number(q.get('limit')) : undefined,
          continue: q.get('continue') ?? undefined,
          resourceVersion: q.get('resourceVersion') ?? undefined,
        };
        if (q.get('watch') === 'true' || q.get('watch') === '1') {
          return this.#watch(route, listOpts, q.get('allowWatchBookmarks') === 'true', wantTable, q.get('includeObject') ?? undefined, req, res);
        }
        if (!wantTable) {
          const text = reg.listJson(info.key, ns, listOpts);
          res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
          res.end(text);
          return;
        }
        const list = reg.listSync(info.key, ns, listOpts);
        if (wantTable) {
          return this.#json(res, 200, toTable(this.#printer(info, version), list.items, { now: Date.now(), resourceVersion: list.metadata.resourceVersion, includeObject: includeOf(q.get('includeObject')), withColumns: true }), tableType);
        }
        return this.#json(res, 200, list);
      }
      if (method === 'POST') {
        const body = decodeBody(await readBody(req), req.headers['content-type']);
        if (!isObject(body)) throw badRequest('the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf');
        return this.#json(res, 201, reg.createSync(info.key, ns, body as KObject, { ...opts, owned: true }));
      }
      if (method === 'DELETE') {
        const list = reg.listSync(info.key, ns, { labelSelector: q.get('labelSelector') ?? undefined, fieldSelector: q.get('fieldSelector') ?? undefined });
        const delOpts = await this.#deleteOptions(req, q);
        const items: KObject[] = [];
        for (const o of list.items) {
          try {
            items.push(reg.deleteSync(info.key, o.metadata.namespace, o.metadata.name ?? '', { ...delOpts, version }));
          } catch (e) {
            if (!(e instanceof ApiError && e.reason === 'NotFound')) throw e;
          }
        }
        return this.#json(res, 200, { ...list, items });
      }
      throw new ApiError('MethodNotAllowed', `the server does not allow this method on the requested resource`);
    }
    if (sub === 'scale') return this.#scale(route, method, req, res, opts);
    if (method === 'GET') {
      if (q.get('watch') === 'true') {
        return this.#watch(route, { ...opts, fieldSelector: `metadata.name=${name}`, resourceVersion: q.get('resourceVersion') ?? undefined }, false, wantTable, undefined, req, res);
      }
      const obj = reg.getSync(info.key, ns, name, opts);
      if (wantTable) return this.#json(res, 200, toTable(this.#printer(info, version), [obj], { now: Date.now(), resourceVersion: obj.metadata.resourceVersion ?? '', includeObject: includeOf(q.get('includeObject')), withColumns: true }), tableType);
      return this.#json(res, 200, obj);
    }
    if (method === 'PUT') {
      const body = decodeBody(await readBody(req), req.headers['content-type']);
      if (!isObject(body)) throw badRequest('the body of the request was in an unknown format');
      const obj = body as KObject;
      if (isObject(obj.metadata) && obj.metadata.name !== undefined && obj.metadata.name !== name) {
        throw badRequest(`the name of the object (${String(obj.metadata.name)}) does not match the name on the URL (${name})`);
      }
      if (!isObject(obj.metadata)) obj.metadata = {};
      obj.metadata.name = name;
      if (info.key === 'namespaces' && sub === 'finalize') {
        const cur = reg.getSync('namespaces', undefined, name);
        cur.spec = { ...(cur.spec ?? {}), finalizers: (obj.spec as { finalizers?: string[] } | undefined)?.finalizers ?? [] };
        return this.#json(res, 200, reg.writeSync(info.key, undefined, cur, 'main', opts));
      }
      return this.#json(res, 200, reg.writeSync(info.key, ns, obj, sub === 'status' ? 'status' : 'main', { ...opts, owned: true }));
    }
    if (method === 'PATCH') {
      const type = patchTypeOf(req.headers['content-type']);
      const body = decodeBody(await readBody(req), type === 'apply' ? 'application/yaml' : 'application/json');
      if (type === 'apply') return this.#json(res, 200, this.#serverSideApply(route, body, opts));
      return this.#json(res, 200, reg.patchSync(info.key, ns, name, type, body, { ...opts, subresource: sub }));
    }
    if (method === 'DELETE') {
      const delOpts = await this.#deleteOptions(req, q);
      const gone = reg.deleteSync(info.key, ns, name, { ...delOpts, version });
      // A finished delete answers with a Success status for most kinds; the object while it is still finalizing.
      if (gone.metadata.deletionTimestamp && reg.store.get(info.key, ns ?? '', name)) return this.#json(res, 200, gone);
      return this.#json(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: info.group || undefined, kind: info.resource, uid: gone.metadata.uid } });
    }
    throw new ApiError('MethodNotAllowed', 'the server does not allow this method on the requested resource');
  }

  /** Server-side apply, reduced to what a first-time or whole-object apply needs: create if absent, else merge. */
  #serverSideApply(route: Route, body: unknown, opts: CallOptions): KObject {
    const { info, ns, name } = route;
    if (!isObject(body)) throw badRequest('the body of the request was in an unknown format');
    try {
      this.#registry.getSync(info.key, ns, name ?? '');
    } catch (e) {
      if (e instanceof ApiError && e.reason === 'NotFound') return this.#registry.createSync(info.key, ns, body as KObject, opts);
      throw e;
    }
    return this.#registry.patchSync(info.key, ns, name ?? '', 'merge', body, opts);
  }

  async #scale(route: Route, method: string, req: IncomingMessage, res: ServerResponse, opts: CallOptions): Promise<void> {
    const { info, ns, name } = route;
    const reg = this.#registry;
    const toScale = (o: KObject): object => ({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
      spec: { replicas: o.spec?.replicas ?? 0 },
      status: { replicas: o.status?.replicas ?? 0, selector: formatSelector(o.spec?.selector) },
    });
    const cur = reg.getSync(info.key, ns, name ?? '');
    if (method === 'GET') return this.#json(res, 200, toScale(cur));
    let replicas: unknown;
    const body = decodeBody(await readBody(req), method === 'PATCH' ? 'application/json' : req.headers['content-type']);
    if (method === 'PUT') replicas = (body as { spec?: { replicas?: unknown } })?.spec?.replicas;
    else if (method === 'PATCH') {
      const type = patchTypeOf(req.headers['content-type']);
      const { applyJsonPatch, applyMergePatch } = await import('./patch/index.ts');
      const scaled = type === 'json' ? applyJsonPatch(toScale(cur), body) : applyMergePatch(toScale(cur), body);
      replicas = (scaled as { spec?: { replicas?: unknown } })?.spec?.replicas;
    } else throw new ApiError('MethodNotAllowed', 'the server does not allow this method on the requested resource');
    if (typeof replicas !== 'number' || !Number.isInteger(replicas)) {
      throw new ApiError('Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be an integer`, {
        name,
        group: 'autoscaling',
        kind: 'Scale',
        causes: [{ reason: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(replicas)}: must be an integer` }],
      });
    }
    if (replicas < 0) {
      throw new ApiError('Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${replicas}: must be greater than or equal to 0`, {
        name,
        group: 'autoscaling',
        kind: 'Scale',
        causes: [{ reason: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${replicas}: must be greater than or equal to 0` }],
      });
    }
    cur.spec = { ...(cur.spec ?? {}), replicas };
    return this.#json(res, 200, toScale(reg.writeSync(info.key, ns, cur, 'main', opts)));
  }

  async #deleteOptions(req: IncomingMessage, q: URLSearchParams): Promise<DeleteOptions> {
    const buf = await readBody(req);
    let o: DeleteOptions = {};
    if (buf.length) {
      const b = decodeBody(buf, req.headers['content-type']);
      if (isObject(b)) o = b as DeleteOptions;
    }
    const pp = q.get('propagationPolicy');
    if (pp) o.propagationPolicy = pp as DeleteOptions['propagationPolicy'];
    if (q.get('gracePeriodSeconds')) o.gracePeriodSeconds = Number(q.get('gracePeriodSeconds'));
    if (q.getAll('dryRun').includes('All') || (Array.isArray((o as { dryRun?: unknown }).dryRun) && ((o as { dryRun?: unknown[] }).dryRun ?? []).includes('All'))) o.dryRun = true;
    else o.dryRun = false;
    if (o.propagationPolicy && !['Foreground', 'Background', 'Orphan'].includes(o.propagationPolicy)) {
      throw badRequest(`DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${o.propagationPolicy}": supported values: "Foreground", "Background", "Orphan"`);
    }
    return o;
  }

  #printer(info: ResourceInfo, version: string): Printer {
    if (!info.custom) return printerFor(info.key);
    // Compiled once per CRD version; the columns array is replaced whenever its CRD changes.
    const columns = this.#registry.catalog.crdVersion(info.key, version)?.additionalPrinterColumns ?? noColumns;
    let p = this.#crdPrinters.get(columns);
    if (!p) this.#crdPrinters.set(columns, (p = crdPrinter(columns)));
    return p;
  }

  #watch(route: Route, opts: CallOptions & { labelSelector?: string; fieldSelector?: string; resourceVersion?: string }, bookmarks: boolean, table: boolean, includeObject: string | undefined, req: IncomingMessage, res: ServerResponse): void {
    const { info, version, ns } = route;
    const printer = table ? this.#printer(info, version) : undefined;
    let first = true;
    let watch: Closeable | undefined;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      watch?.close();
      if (watch) this.#watches.delete(watch);
      res.end();
    };
    // Validate before the 200 goes out so that a bad resourceVersion or selector gets a plain 400.
    if (opts.resourceVersion && !/^\d+$/.test(opts.resourceVersion)) {
      throw badRequest(`invalid resource version: "${opts.resourceVersion}" is not a valid resource version`);
    }
    parseLabelSelector(opts.labelSelector);
    parseFieldSelector(opts.fieldSelector);
    res.writeHead(200, { 'Content-Type': table ? tableType : 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const onRaw = (type: string, json: string): void => {
      if (!ended) res.write(`{"type":"${type}","object":${json}}\n`);
    };
    const onEvent = (ev: WatchEvent): void => {
      if (ended) return;
      let object: unknown = ev.object;
      if (printer && (ev.type === 'ADDED' || ev.type === 'MODIFIED' || ev.type === 'DELETED')) {
        object = toTable(printer, [ev.object], { now: Date.now(), resourceVersion: ev.object.metadata.resourceVersion ?? '', includeObject: includeOf(includeObject), withColumns: first });
        first = false;
      }
      const text = this.#registry.rawOf(object);
      res.write(text ? `{"type":"${ev.type}","object":${text}}\n` : `${JSON.stringify({ type: ev.type, object })}\n`);
      if (ev.type === 'ERROR') end();
    };
    const wopts = { ...opts, allowBookmarks: bookmarks };
    // Table watches print every object; plain ones can pass the stored text straight through.
    watch = printer ? this.#registry.watch(info.key, ns, wopts, onEvent) : this.#registry.watchRaw(info.key, ns, wopts, onEvent, onRaw);
    // An expired watch has already ended (ERROR event) inside the call above: nothing to track.
    if (ended) watch.close();
    else this.#watches.add(watch);
    const timeout = Number(new URL(req.url ?? '/', 'https://skiff').searchParams.get('timeoutSeconds') ?? 0);
    if (timeout > 0) setTimeout(end, timeout * 1000).unref();
    req.on('close', end);
    res.on('error', end);
  }

  #json(res: ServerResponse, code: number, body: unknown, type = 'application/json'): void {
    const text = this.#registry.rawOf(body) ?? JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
    res.end(text);
  }

  #fail(res: ServerResponse, e: unknown): void {
    const err = e instanceof ApiError ? e : new ApiError('InternalError', `Internal error occurred: ${(e as Error)?.message ?? String(e)}`);
    if (res.headersSent) {
      res.end();
      return;
    }
    this.#json(res, err.code, err.toStatus());
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A percent-decoded path segment; a malformed escape is the client's error (400), not a 500. */
function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw badRequest(`the URL path segment "${s}" has a malformed percent-escape`);
  }
}

function includeOf(v: string | null | undefined): 'None' | 'Metadata' | 'Object' {
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function patchTypeOf(ct: string | undefined): PatchType {
  const t = (ct ?? '').split(';')[0].trim();
  switch (t) {
    case 'application/json-patch+json':
      return 'json';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/apply-patch+yaml':
      return 'apply';
    default:
      throw new ApiError('UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`);
  }
}

