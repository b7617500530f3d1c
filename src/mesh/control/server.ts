/**
 * The mesh control plane (DESIGN §1, §4): watches the Kubernetes and Istio objects that shape proxy
 * config, debounces changes, computes each connected proxy's config (only what that proxy can
 * see), and pushes it over the config stream when it differs from what the proxy was last sent: a
 * full snapshot on connect, after a NACK and when the proxy asks to resync, a delta of what changed
 * otherwise (push.ts). Proxies ACK or NACK; the state of each is kept for `skiff` status views and logs.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { WebSocketServer } from 'ws';
import type { Client, KObject } from '../../api/index.ts';
import { type ChangeHandler, type ChangeType, Informers } from '../../controllers/index.ts';
import type { ConfigMessage, ReplyMessage } from '../stream/index.ts';
import { Lines, streamPath, streamProtocol } from '../stream/index.ts';
import { type ConfigText, deltaJson, FragmentWriter, snapshotJson } from './push.ts';
import { buildIndex, buildProxyConfig, type MeshIndex, type MeshWorld } from './translate.ts';

/** Control plane defaults, applied once. */
export const controlPlaneDefaults = {
  /**
   * Quiet time after a change before pushing, once changes come in a burst (a lone change is pushed
   * at once). Istio waits 100 ms after every change (PILOT_DEBOUNCE_AFTER); a local cluster has no
   * API-server storms to absorb, so a short window keeps convergence fast.
   */
  debounceMs: 10,
  /** A push happens at the latest this long after the first change of a burst (PILOT_DEBOUNCE_MAX). */
  debounceMaxMs: 500,
};

/** The resources a push depends on, as informer keys, with the MeshWorld field each fills. */
const watched: Array<[keyof Omit<MeshWorld, 'mesh'>, string]> = [
  ['namespaces', 'namespaces'],
  ['services', 'services'],
  ['endpointSlices', 'endpointslices.discovery.k8s.io'],
  ['pods', 'pods'],
  ['virtualServices', 'virtualservices.networking.istio.io'],
  ['destinationRules', 'destinationrules.networking.istio.io'],
  ['gateways', 'gateways.networking.istio.io'],
  ['serviceEntries', 'serviceentries.networking.istio.io'],
  ['sidecars', 'sidecars.networking.istio.io'],
];

/** The largest reply a proxy sends (an ACK or a NACK with its error). */
const maxReplyBytes = 1 << 20;

/**
 * The part of a pod that proxy configs are computed from: its metadata (labels, annotations, owner),
 * spec (containers, ports, service account) and address and phase. Readiness reaches configs
 * through EndpointSlices, which are watched too.
 */
function podMeshView(p: KObject): string {
  const { resourceVersion: _rv, managedFields: _mf, generation: _g, ...meta } = p.metadata as KObject['metadata'] & { managedFields?: unknown; generation?: unknown };
  const st = p.status as { podIP?: string; podIPs?: unknown; phase?: string } | undefined;
  return JSON.stringify([meta, p.spec, st?.podIP, st?.podIPs, st?.phase]);
}

/** Whether a pod change can change some proxy's config (a push recomputes every proxy's). */
export function podChangeMatters(type: ChangeType, obj: KObject, old: KObject | undefined): boolean {
  return type !== 'MODIFIED' || !old || podMeshView(obj) !== podMeshView(old);
}

/** One connected proxy, over either transport. */
interface Conn {
  send(text: string): void;
  close(): void;
  namespace: string;
  pod: string;
  /** The config last sent, as fragments: identical pushes are skipped, deltas are made against it. */
  sent?: ConfigText;
  sentVersion?: string;
  /** The next push must be a full snapshot (the proxy NACKed what it was last sent). */
  full?: boolean;
  /** The next push must be a full snapshot even if the config did not change (the proxy lacks a delta's base). */
  resync?: boolean;
  ackedVersion?: string;
  nack?: string;
  connectedAt: number;
}

/** What a proxy's sync state looks like, for status views and tests. */
export interface ProxyStatus {
  pod: string;
  namespace: string;
  sent?: string;
  acked?: string;
  nack?: string;
}

export interface ControlPlaneOptions {
  client: Client;
  /** Mesh-wide settings (MeshConfig). */
  mesh?: MeshWorld['mesh'];
  log?: (e: Record<string, unknown>) => void;
  debounceMs?: number;
  debounceMaxMs?: number;
  /** Loopback port of the stream endpoint; 0 (default) picks a free one. */
  port?: number;
  /** The bearer token proxies present; random by default. */
  token?: string;
}

/**
 * The control plane: a loopback endpoint proxies connect to. The stream is an HTTP/1.1 upgrade to
 * `skiff-config/1` (line-framed JSON, stream/lines.ts); a WebSocket upgrade carries the same
 * messages, for sidecars started by an older Skiff.
 */
export class ControlPlane {
  #client: Client;
  #opts: ControlPlaneOptions;
  #log: (e: Record<string, unknown>) => void;
  #informers: Informers;
  #server: http.Server | undefined;
  #wss: WebSocketServer | undefined;
  #sockets = new Set<net.Socket>();
  #conns = new Set<Conn>();
  #token: string;
  #address = '';
  #version = 0;
  #timer: NodeJS.Timeout | undefined;
  #burstStart = 0;
  #lastChange = 0;
  #unsubscribe: Array<() => void> = [];
  #closed = false;
  #pushes = 0;
  #deltas = 0;
  #nonce = randomBytes(4).readUInt32BE(0) * 4096;
  /** The index of the last push to every proxy: the next push takes over what is unchanged. */
  #index: MeshIndex | undefined;
  /** Serialized config parts by object; they outlive a push when the next index carries them over. */
  #writer = new FragmentWriter();

  constructor(opts: ControlPlaneOptions) {
    this.#client = opts.client;
    this.#opts = opts;
    this.#log = opts.log ?? (() => undefined);
    this.#token = opts.token ?? randomBytes(24).toString('hex');
    this.#informers = new Informers(this.#client, { log: this.#log });
  }

  /** `http://127.0.0.1:<port>`, once started. */
  get address(): string {
    return this.#address;
  }

  /** The bearer token proxies must present. */
  get token(): string {
    return this.#token;
  }

  /** Number of configs (snapshots and deltas) sent so far (all proxies). */
  get pushes(): number {
    return this.#pushes;
  }

  /** Number of those that were deltas. */
  get deltas(): number {
    return this.#deltas;
  }

  /** Starts the watches and the stream endpoint on a random loopback port. */
  async start(): Promise<void> {
    for (const [, res] of watched) {
      const inf = this.#informers.get(res);
      // Most pod updates are status writes (probe results, container states) that no proxy config reads.
      const handler: ChangeHandler = res === 'pods' ? (type, obj, old) => void (podChangeMatters(type, obj, old) && this.#changed()) : () => this.#changed();
      this.#unsubscribe.push(inf.onChange(handler));
    }
    await this.#informers.synced(watched.map(([, r]) => r));
    const server = http.createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    });
    server.on('connection', (s: net.Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: maxReplyBytes });
    server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const pod = url.searchParams.get('pod') ?? '';
      const slash = pod.indexOf('/');
      if (url.pathname !== streamPath || req.headers.authorization !== `Bearer ${this.#token}` || slash <= 0) {
        socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
        return;
      }
      const [namespace, name] = [pod.slice(0, slash), pod.slice(slash + 1)];
      if (req.headers.upgrade?.toLowerCase() === streamProtocol) {
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${streamProtocol}\r\n\r\n`);
        const lines = new Lines(socket, (text) => this.#onReply(conn, text), maxReplyBytes);
        const conn = this.#conn(namespace, name, (text) => lines.send(text), () => lines.close());
        socket.on('error', () => {});
        socket.on('close', () => this.#gone(conn));
        this.#accept(conn);
        return lines.receive(head);
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const conn = this.#conn(namespace, name, (text) => ws.send(text), () => ws.terminate());
        ws.on('message', (data) => this.#onReply(conn, String(data)));
        ws.on('error', () => {});
        ws.on('close', () => this.#gone(conn));
        this.#accept(conn);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#opts.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address() as net.AddressInfo;
    this.#address = `http://127.0.0.1:${addr.port}`;
    this.#server = server;
    this.#wss = wss;
  }

  /** Sync state of every connected proxy. */
  status(): ProxyStatus[] {
    return [...this.#conns].map((c) => ({ pod: c.pod, namespace: c.namespace, sent: c.sentVersion, acked: c.ackedVersion, nack: c.nack }));
  }

  /** Drops every proxy connection (they keep their config and reconnect); tests use it. */
  disconnectAll(): void {
    for (const c of this.#conns) c.close();
  }

  /** Closes the endpoint, the connections and the watches; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const u of this.#unsubscribe) u();
    this.#informers.close();
    for (const c of this.#conns) c.close();
    this.#conns.clear();
    this.#wss?.close();
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  #conn(namespace: string, pod: string, send: (text: string) => void, close: () => void): Conn {
    return { send, close, namespace, pod, connectedAt: Date.now() };
  }

  #accept(conn: Conn): void {
    if (this.#closed) return conn.close();
    this.#conns.add(conn);
    this.#log({ level: 'info', msg: 'proxy connected', pod: `${conn.namespace}/${conn.pod}` });
    // A new proxy gets its snapshot at once, from a fresh index (no debounce: it is waiting to be ready).
    this.#push([conn]);
  }

  #gone(conn: Conn): void {
    if (!this.#conns.delete(conn)) return;
    this.#log({ level: 'info', msg: 'proxy disconnected', pod: `${conn.namespace}/${conn.pod}` });
  }

  #onReply(conn: Conn, text: string): void {
    let msg: ReplyMessage;
    try {
      msg = JSON.parse(text) as ReplyMessage;
    } catch {
      return;
    }
    if (msg.type === 'ack') {
      conn.ackedVersion = msg.version;
      conn.nack = undefined;
    } else if (msg.type === 'nack') {
      // Only the answer to the latest push matters: a later push is a snapshot, or a delta on top of
      // the refused version that the proxy will refuse with `resync` in turn.
      const latest = msg.version === conn.sentVersion;
      if (msg.resync) {
        this.#log({ level: 'info', msg: 'proxy needs a full snapshot', pod: `${conn.namespace}/${conn.pod}`, version: msg.version, error: msg.error });
        if (latest && this.#conns.has(conn)) {
          conn.resync = true;
          this.#push([conn]);
        }
        return;
      }
      conn.nack = msg.error;
      // The proxy kept an older config: a delta on top of the refused one would not fit it.
      if (latest) conn.full = true;
      this.#log({ level: 'warn', msg: 'proxy rejected config', pod: `${conn.namespace}/${conn.pod}`, version: msg.version, error: msg.error });
    }
  }

  #changed(): void {
    if (this.#closed || !this.#server) return;
    const now = Date.now();
    const quiet = this.#opts.debounceMs ?? controlPlaneDefaults.debounceMs;
    const max = this.#opts.debounceMaxMs ?? controlPlaneDefaults.debounceMaxMs;
    // Leading edge: the first change after a quiet spell is pushed on the next turn of the event loop
    // (with whatever changes that turn brings). A change that follows within `quiet` of the last one
    // is debounced: a burst (a multi-object apply, a rollout) is pushed again once it settles.
    const leading = !this.#timer && now - this.#lastChange >= quiet;
    this.#lastChange = now;
    if (!this.#timer) this.#burstStart = now;
    if (this.#timer) clearTimeout(this.#timer);
    const wait = leading ? 0 : Math.max(0, Math.min(quiet, this.#burstStart + max - now));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#push([...this.#conns]);
    }, wait);
    this.#timer.unref();
  }

  #world(): MeshWorld {
    const w = { mesh: this.#opts.mesh } as MeshWorld;
    // Every watched kind fills its list field.
    for (const [field, res] of watched) (w as unknown as Record<string, KObject[]>)[field] = this.#informers.get(res).list();
    return w;
  }

  #push(conns: Conn[]): void {
    if (!conns.length) return;
    const index = buildIndex(this.#world(), this.#index);
    // A push to one proxy (a new connection, a resync) does not replace the index a full push carries from.
    if (conns.length === this.#conns.size) this.#index = index;
    const version = String(++this.#version);
    // Shared parts of the configs (clusters, route configs) are serialized once for all proxies.
    const writer = this.#writer;
    for (const c of conns) {
      const pod = this.#informers.get('pods').get(c.namespace, c.pod);
      // A proxy whose pod has no address yet gets its config on the status write that gives it one.
      if (!pod?.status?.podIP) continue;
      let text: ConfigText;
      try {
        text = writer.encode(buildProxyConfig(index, pod));
      } catch (e) {
        this.#log({ level: 'error', msg: 'cannot compute proxy config', pod: `${c.namespace}/${c.pod}`, error: String((e as Error).stack ?? e) });
        continue;
      }
      // Unchanged since the last push: nothing to send, unless the proxy asked for a snapshot. The
      // newer (equal) fragments replace the old ones, so old pushes' fragments are not kept alive.
      const delta = c.sent && !c.resync ? deltaJson(c.sent, text) : undefined;
      if (delta === undefined && c.sent && !c.resync) {
        c.sent = text;
        continue;
      }
      const asDelta = delta !== undefined && !c.full;
      // Unique per message; a counter from a random start costs nothing (randomBytes per message did).
      const nonce = (++this.#nonce).toString(36);
      const head = `{"version":${JSON.stringify(version)},"nonce":"${nonce}"`;
      // Spliced as text from fragments serialized once per push.
      const msg = asDelta ? `${head},"type":"delta","base":${JSON.stringify(c.sentVersion)},${delta}}` : `${head},"type":"config","config":${snapshotJson(text)}}`;
      if (asDelta) this.#deltas++;
      c.sent = text;
      c.sentVersion = version;
      c.full = false;
      c.resync = false;
      c.send(msg);
      this.#pushes++;
    }
  }
}

export type { ConfigMessage };
