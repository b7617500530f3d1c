/**
 * One upstream HTTP/2 connection of h2-pool.ts: the socket the pool dials (bound to the pod IP,
 * with a connect timeout), then the h2c session started on it once connected. The records are
 * plain (the pool's bookkeeping); socket and session listeners are module functions that find
 * their connection under a symbol and report to its owner, so a connection allocates no closures
 * beyond node's createConnection hook.
 */
import type http2 from 'node:http2';
import net from 'node:net';
import { loadHttp2 } from '../lazy.ts';
import { CONNECT_CLOSED, connectFailure } from './failures.ts';
import type { StreamSlot } from './h2-call.ts';
import type { HostState, PendingStream } from './host.ts';
import { FixedQueue } from './queue.ts';
import type { StreamFailure } from './types.ts';

/** Connection states: connecting → ready → draining (no new streams) → closed. */
export const CONNECTING = 0;
export const READY = 1;
export const DRAINING = 2;
export const CLOSED = 3;

/** Per-stream and per-session receive windows (node's 64 KiB defaults throttle bodies; see ../h2.ts). */
const STREAM_WINDOW = 1 << 20;
const SESSION_WINDOW = 4 << 20;

/** What a connection's listeners report to (the pool). */
export interface H2ConnOwner {
  connected(c: H2Conn): void;
  connectTimedOut(c: H2Conn): void;
  connectFailed(c: H2Conn, failure: StreamFailure): void;
  sessionClosed(c: H2Conn): void;
  /** GOAWAY received: no new streams. */
  drainConn(c: H2Conn): void;
  /** The peer's settings changed: more streams may fit. */
  roomChanged(c: H2Conn): void;
  streamEnded(c: H2Conn): void;
  bindAddress(host: HostState): string | undefined;
}

/** HTTP/2 state of one host: its connections and the requests waiting for a stream. */
export class H2Host {
  readonly conns: H2Conn[] = [];
  pending = new FixedQueue<PendingStream>(4);
  /** Pending requests not cancelled (cancelled ones stay in the ring until they reach its head). */
  pendingLive = 0;
  connecting = 0;
}

/** One upstream HTTP/2 connection: the socket while it connects, then its session. */
export class H2Conn implements StreamSlot {
  readonly owner: H2ConnOwner;
  readonly host: HostState;
  readonly rec: H2Host;
  readonly socket: net.Socket;
  session: http2.ClientHttp2Session | undefined;
  state = CONNECTING;
  /** Streams open now, and started in all (maxRequestsPerConnection). */
  active = 0;
  uses = 0;
  idleSince = 0;

  constructor(owner: H2ConnOwner, host: HostState, rec: H2Host, socket: net.Socket) {
    this.owner = owner;
    this.host = host;
    this.rec = rec;
    this.socket = socket;
  }

  /** StreamSlot: one of its calls closed. */
  streamEnded(): void {
    this.owner.streamEnded(this);
  }
}

const kConn = Symbol('skiff.upstream.h2conn');
type Owned<T> = T & { [kConn]?: H2Conn };

function onSocketConnect(this: Owned<net.Socket>): void {
  const c = this[kConn]!;
  c.owner.connected(c);
}

function onSocketTimeout(this: Owned<net.Socket>): void {
  const c = this[kConn]!;
  c.owner.connectTimedOut(c);
}

function onSocketError(this: Owned<net.Socket>, err: NodeJS.ErrnoException): void {
  const c = this[kConn]!;
  // Once the session owns the socket, its errors end the session ('close' follows).
  if (c.state === CONNECTING) c.owner.connectFailed(c, connectFailure(err, c.owner.bindAddress(c.host)));
}

function onSocketClose(this: Owned<net.Socket>): void {
  const c = this[kConn]!;
  if (c.state === CONNECTING) c.owner.connectFailed(c, CONNECT_CLOSED);
  else if (c.session === undefined) c.owner.sessionClosed(c);
}

function onSessionClose(this: Owned<http2.ClientHttp2Session>): void {
  const c = this[kConn]!;
  c.owner.sessionClosed(c);
}

function onSessionGoaway(this: Owned<http2.ClientHttp2Session>): void {
  const c = this[kConn]!;
  c.owner.drainConn(c);
}

function onRemoteSettings(this: Owned<http2.ClientHttp2Session>): void {
  const c = this[kConn]!;
  c.owner.roomChanged(c);
}

function ignore(): void {}

/** Dials `host` for `owner` (connecting; the owner counts it). */
export function dialH2(owner: H2ConnOwner, host: HostState, rec: H2Host, connectTimeoutMs: number): H2Conn {
  const s = net.connect({ host: host.address, port: host.port, localAddress: owner.bindAddress(host) }) as Owned<net.Socket>;
  const c = new H2Conn(owner, host, rec, s);
  s[kConn] = c;
  s.setNoDelay(true);
  // Before the connect completes the socket is silent, so its inactivity timeout is a connect timeout.
  if (connectTimeoutMs > 0 && Number.isFinite(connectTimeoutMs)) {
    s.setTimeout(connectTimeoutMs);
    s.once('timeout', onSocketTimeout);
  }
  s.once('connect', onSocketConnect);
  s.on('error', onSocketError);
  s.on('close', onSocketClose);
  return c;
}

/** The socket connected: ends its connect timeout and starts the h2c session (prior knowledge); the connection is ready. */
export function startSession(c: H2Conn): void {
  const s = c.socket;
  s.removeListener('timeout', onSocketTimeout);
  s.setTimeout(0);
  const session = loadHttp2().connect(`http://${c.host.key}`, {
    createConnection: () => s,
    settings: { enablePush: false, initialWindowSize: STREAM_WINDOW },
  }) as Owned<http2.ClientHttp2Session>;
  session[kConn] = c;
  c.session = session;
  c.state = READY;
  session.on('close', onSessionClose);
  session.on('goaway', onSessionGoaway);
  session.on('remoteSettings', onRemoteSettings);
  // Session errors close it ('close' follows); its streams report their own.
  session.on('error', ignore);
  try {
    session.setLocalWindowSize(SESSION_WINDOW);
  } catch {
    // Already closing: 'close' follows.
  }
}
