/**
 * The ingress controller (DESIGN §3): one HTTP listener on a host port that routes by Host header and
 * path over every Ingress of class `traefik` (or of no class), and reports itself in their status.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Client, KObject } from '../../api/index.ts';
import { Informers, WorkQueue, type Informer } from '../../controllers/index.ts';
import { HttpForwarder, isLoopbackUpstream, sendRaw, sendText, type Upstream } from './proxy.ts';
import { compileRoutes, emptyTable, matchRoute, normalizeHost, requestPath, routeDefaults, servesIngress, type Backend, type RouteTable } from './routes.ts';

/** What the ingress controller needs from the service proxy: a ready endpoint of a service port, round robin. */
export interface EndpointPicker {
  pick(ns: string, service: string, port: number | string, clientIP?: string): Upstream | undefined;
}

/** Options of IngressController. */
export interface IngressControllerOptions {
  client: Client;
  picker: EndpointPicker;
  /** Listen address; default 127.0.0.1. */
  host?: string;
  /** Listen port; default 80 when it can be bound, else 8080; 0 picks a free one (tests). */
  port?: number;
  /** The IngressClass served; default `traefik`. */
  className?: string;
  /** Shared informers; when absent the controller makes (and closes) its own. */
  informers?: Informers;
  /** Structured log sink; nothing is printed without it. */
  log?: (e: Record<string, unknown>) => void;
}

/** Defaults of IngressController, applied once in the constructor. */
export const ingressDefaults = {
  host: '127.0.0.1',
  /** Tried first when no port is configured; binding it needs privileges on most systems. */
  privilegedPort: 80,
  fallbackPort: 8080,
  className: routeDefaults.className,
};

/** A listener that cannot be opened; `code` is stable for callers and tests. */
export class IngressListenError extends Error {
  readonly code = 'SKIFF_ERR_INGRESS_LISTEN' as const;
  readonly port: number;

  constructor(message: string, port: number) {
    super(message);
    this.name = 'IngressListenError';
    this.port = port;
  }
}

const RESOURCE = 'ingresses.networking.k8s.io';

/** Serves Ingress objects on one host port. */
export class IngressController {
  #client: Client;
  #picker: EndpointPicker;
  #host: string;
  #port: number | undefined;
  #className: string;
  #log: (e: Record<string, unknown>) => void;
  #informers: Informers;
  #ownInformers: boolean;
  #informer: Informer | undefined;
  #unsubscribe: (() => void) | undefined;
  #queue: WorkQueue;
  #forwarder = new HttpForwarder();
  #server: http.Server | undefined;
  #table: RouteTable = emptyTable;
  #rebuild: NodeJS.Immediate | undefined;
  #boundPort = 0;
  #statusIp: string;
  #started: Promise<number> | undefined;
  #closed = false;

  constructor(opts: IngressControllerOptions) {
    this.#client = opts.client;
    this.#picker = opts.picker;
    this.#host = opts.host ?? ingressDefaults.host;
    this.#port = opts.port;
    this.#className = opts.className ?? ingressDefaults.className;
    this.#log = opts.log ?? (() => {});
    this.#ownInformers = !opts.informers;
    this.#informers = opts.informers ?? new Informers(opts.client, { log: this.#log });
    // Status writes go through a queue so bursts collapse and conflicts retry with backoff.
    this.#queue = new WorkQueue((key) => this.#syncStatus(key), { name: 'ingress-status', log: this.#log });
    // An unspecified listen address is reached through loopback; that is what Ingress status should say.
    this.#statusIp = this.#host === '0.0.0.0' || this.#host === '::' ? '127.0.0.1' : this.#host;
  }

  /** The routing table in use (for tests and diagnostics). */
  get table(): RouteTable {
    return this.#table;
  }

  /** Opens the listener and starts watching Ingresses; resolves to the bound port. Idempotent. */
  start(): Promise<number> {
    this.#started ??= this.#start();
    return this.#started;
  }

  /** Stops the listener, open connections, watches and queues; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe?.();
    if (this.#rebuild) clearImmediate(this.#rebuild);
    this.#queue.close();
    if (this.#ownInformers) this.#informers.close();
    this.#forwarder.close();
    const server = this.#server;
    if (server) {
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await done;
    }
  }

  async #start(): Promise<number> {
    const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => this.#onRequest(req, res));
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.#onUpgrade(req, socket, head));
    server.on('clientError', (e: NodeJS.ErrnoException, socket: Duplex) => {
      // A reset peer cannot read an answer; anything else gets the 400 Node would send.
      if (e.code === 'ECONNRESET' || !socket.writable) socket.destroy();
      else sendRaw(socket, 400, 'Bad Request', '400 Bad Request');
    });
    this.#server = server;
    this.#boundPort = await this.#listen(server);
    if (this.#closed) {
      server.close();
      throw new IngressListenError('ingress controller closed while starting', this.#boundPort);
    }
    this.#informer = this.#informers.get(RESOURCE);
    this.#unsubscribe = this.#informer.onChange(() => this.#scheduleRebuild());
    this.#queue.start();
    this.#log({ level: 'info', msg: 'ingress controller listening', host: this.#host, port: this.#boundPort, className: this.#className });
    return this.#boundPort;
  }

  async #listen(server: http.Server): Promise<number> {
    if (this.#port !== undefined) return listenOn(server, this.#host, this.#port);
    try {
      return await listenOn(server, this.#host, ingressDefaults.privilegedPort);
    } catch (e) {
      // Port 80 needs privileges or is taken by a local web server; 8080 is the documented fallback.
      if (!(e instanceof IngressListenError)) throw e;
      this.#log({ level: 'info', msg: 'ingress port 80 unavailable, using 8080', host: this.#host, error: e.message });
      return listenOn(server, this.#host, ingressDefaults.fallbackPort);
    }
  }

  #scheduleRebuild(): void {
    // The informer replays every cached Ingress as one event each: coalesce them into one compile.
    if (this.#rebuild || this.#closed) return;
    this.#rebuild = setImmediate(() => {
      this.#rebuild = undefined;
      this.#rebuildNow();
    });
  }

  #rebuildNow(): void {
    const served = (this.#informer?.list() ?? []).filter((i) => servesIngress(i, this.#className));
    this.#table = compileRoutes(served);
    for (const ing of served) if (!hasStatus(ing, this.#statusIp)) this.#queue.add(`${ing.metadata.namespace ?? ''}/${ing.metadata.name ?? ''}`);
    this.#log({ level: 'debug', msg: 'ingress routes rebuilt', ingresses: served.length });
  }

  async #syncStatus(key: string): Promise<void> {
    const i = key.indexOf('/');
    const ns = key.slice(0, i);
    const ing = this.#informer?.get(ns, key.slice(i + 1));
    if (!ing || !servesIngress(ing, this.#className) || hasStatus(ing, this.#statusIp)) return;
    const status = { ...(ing.status ?? {}), loadBalancer: { ingress: [{ ip: this.#statusIp }] } };
    // The cached object carries its resourceVersion, so a stale write fails with Conflict and is retried.
    await this.#client.updateStatus(RESOURCE, ns, { ...ing, status } as KObject);
  }

  #route(host: string | undefined, url: string | undefined, clientIp: string): { status: number; to?: Upstream; backend?: Backend } {
    const backend = matchRoute(this.#table, normalizeHost(host), requestPath(url));
    if (!backend || backend.service === '') return { status: 404 };
    const to = this.#picker.pick(backend.namespace, backend.service, backend.port, clientIp);
    if (!to) return { status: 503, backend };
    if (!isLoopbackUpstream(to)) {
      // A hard rule of the project: traffic never leaves loopback, whatever the picker says.
      this.#log({ level: 'error', msg: 'refusing non-loopback upstream', ingress: backend.ingress, service: `${backend.namespace}/${backend.service}`, upstream: `${to.host}:${to.port}` });
      return { status: 502, backend };
    }
    return { status: 200, to, backend };
  }

  #onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const r = this.#route(req.headers.host, req.url, clientAddress(req));
    if (r.to) return this.#forwarder.forward(req, res, r.to, this.#boundPort);
    // Drain the unused body so the keep-alive connection stays usable.
    req.resume();
    if (r.status === 404) sendText(res, 404, '404 page not found\n');
    else if (r.status === 503) sendText(res, 503, 'no available server');
    else sendText(res, 502, 'Bad Gateway');
  }

  #onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const r = this.#route(req.headers.host, req.url, clientAddress(req));
    if (r.to) return this.#forwarder.upgrade(req, socket, head, r.to, this.#boundPort);
    if (r.status === 404) sendRaw(socket, 404, 'Not Found', '404 page not found\n');
    else if (r.status === 503) sendRaw(socket, 503, 'Service Unavailable', 'no available server');
    else sendRaw(socket, 502, 'Bad Gateway', 'Bad Gateway');
  }
}

function hasStatus(ing: KObject, ip: string): boolean {
  const lb: unknown = ing.status?.loadBalancer?.ingress;
  return Array.isArray(lb) && lb.length === 1 && lb[0]?.ip === ip && Object.keys(lb[0]).length === 1;
}

function clientAddress(req: http.IncomingMessage): string {
  const a = req.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

function listenOn(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      const why = e.code === 'EADDRINUSE' ? 'address in use' : e.code === 'EACCES' ? 'permission denied' : e.message;
      const hint = port === ingressDefaults.fallbackPort || e.code === 'EADDRINUSE' ? '; pass --ingress-port' : '';
      if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') reject(new IngressListenError(`cannot listen for ingress on ${host}:${port}: ${why}${hint}`, port));
      else reject(e);
    };
    const onListening = (): void => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}
