/**
 * Downstream HTTP/2 (h2c with prior knowledge) on the proxy's HTTP listeners. A connection's first
 * bytes decide: the HTTP/2 connection preface hands the socket to a node:http2 server, anything
 * else to node's HTTP/1.1 server as before. The peek happens once per connection, so HTTP/1.1
 * requests pay nothing for it.
 *
 * Each HTTP/2 stream enters the same request path as an HTTP/1.1 request (router, faults, retries,
 * timeouts, stats, access log): the stream itself serves as the request (its readable side is the
 * body; method, url, headers, rawHeaders without pseudo-headers, httpVersion '2.0' and socket are
 * set on it) and an H2Response (h2-response.ts) as the response. The request path reads only those
 * members, so it runs unchanged; `HttpStream.h2` marks the few places where HTTP/2 differs.
 *
 * HTTP/1.1 `Upgrade: h2c` is not honoured (as in Envoy): the request is replayed to the HTTP/1.1
 * parser without its Upgrade, Connection and HTTP2-Settings headers and answered as HTTP/1.1.
 */
import type { H1Server } from './h1/server.ts';
import type http from 'node:http';
import type http2 from 'node:http2';
import type net from 'node:net';
import type { ListenerCtx } from './engine.ts';
import { H2Response } from './h2-response.ts';
import { noTrailers } from './h1/fields.ts';
import { loadHttp2 } from './lazy.ts';

/** The HTTP/2 client connection preface (RFC 9113 §3.4). */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * Flow-control windows: node's 64 KiB defaults throttle large bodies to one window per round trip;
 * Envoy opens far wider ones (256 MiB per stream). These keep memory bounded per session.
 */
const STREAM_WINDOW = 1 << 20;
const SESSION_WINDOW = 4 << 20;

/** What a listener does with one request (the router's handlers). */
type Handler = (lst: ListenerCtx, req: http.IncomingMessage, res: http.ServerResponse) => void;

const kDown = Symbol('skiff.proxy.h2down');
const kSock = Symbol('skiff.proxy.h2sock');
type Server = http2.Http2Server & { [kDown]?: H2Downstream };
type Session = http2.ServerHttp2Session & { [kSock]?: net.Socket };

/** The members of http.IncomingMessage the request path reads, set on a server stream. */
interface StreamRequest {
  method: string;
  url: string;
  headers: http2.IncomingHttpHeaders;
  rawHeaders: string[];
  httpVersion: string;
  httpVersionMajor: number;
  httpVersionMinor: number;
  socket: net.Socket;
  /** As IncomingMessage: filled when the client sends trailers, before 'end'. */
  trailers: http2.IncomingHttpHeaders;
  rawTrailers: string[];
}

const noTrailerMap: http2.IncomingHttpHeaders = Object.freeze({}) as http2.IncomingHttpHeaders;

function onRequestTrailers(this: http2.ServerHttp2Stream & StreamRequest, trailers: http2.IncomingHttpHeaders): void {
  const raw: string[] = [];
  for (const [k, v] of Object.entries(trailers)) {
    if (v === undefined || k.charCodeAt(0) === 58) continue;
    if (Array.isArray(v)) for (const x of v) raw.push(k, x);
    else raw.push(k, v);
  }
  this.trailers = trailers;
  this.rawTrailers = raw;
}

/** Whether a request from H2Downstream has a body: its HEADERS frame did not end the stream. */
export function h2HasBody(req: http.IncomingMessage): boolean {
  return !(req as unknown as http2.ServerHttp2Stream).endAfterHeaders;
}

/** Pseudo-headers out: the request path forwards rawHeaders as regular fields. */
function regularHeaders(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i].charCodeAt(0) !== 58 /* : */) out.push(raw[i], raw[i + 1]);
  return out;
}

function onSession(this: Server, session: Session): void {
  this[kDown]!.sessionOpened(session);
}

function onStream(this: Server, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, raw: string[]): void {
  this[kDown]!.stream(stream, headers, raw);
}

function ignore(): void {}

/** The HTTP/2 side of one HTTP listener: its node:http2 server (made on first use) and open sessions. */
export class H2Downstream {
  readonly #ctx: ListenerCtx;
  readonly #on: Handler;
  #server: Server | undefined;
  readonly #sessions = new Set<Session>();
  /** The socket being handed over: the session created synchronously by emit('connection') takes it. */
  #incoming: net.Socket | undefined;
  #draining = false;

  constructor(ctx: ListenerCtx, on: Handler) {
    this.#ctx = ctx;
    this.#on = on;
  }

  /** Takes a connection whose first bytes (unshifted back onto it) are the HTTP/2 preface. */
  accept(socket: net.Socket): void {
    if (this.#draining) return void socket.destroy();
    const server = (this.#server ??= this.#create());
    this.#incoming = socket;
    server.emit('connection', socket);
    this.#incoming = undefined;
  }

  #create(): Server {
    const server = loadHttp2().createServer({ settings: { initialWindowSize: STREAM_WINDOW } }) as Server;
    server[kDown] = this;
    server.on('session', onSession);
    server.on('stream', onStream);
    // Protocol errors end their session ('close' follows); they are the client's problem, not ours.
    server.on('sessionError', ignore);
    return server;
  }

  /** A session started (listener). */
  sessionOpened(session: Session): void {
    session[kSock] = this.#incoming;
    this.#sessions.add(session);
    session.once('close', () => this.#sessions.delete(session));
    session.on('error', ignore);
    try {
      session.setLocalWindowSize(SESSION_WINDOW);
    } catch {
      // The session is already closing; nothing to widen.
    }
  }

  /** One request stream (listener): dressed as a request and handed to the listener's handler. */
  stream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, raw: string[]): void {
    const method = headers[':method'] ?? 'GET';
    const res = new H2Response(stream, method === 'HEAD');
    const session = stream.session as Session | undefined;
    const socket = session?.[kSock];
    if (!socket || method === 'CONNECT') {
      // Extended CONNECT (WebSocket over HTTP/2) is not offered: SETTINGS_ENABLE_CONNECT_PROTOCOL stays off.
      res.writeHead(405, ['content-length', '0', 'server', this.#ctx.server]);
      res.end();
      return;
    }
    const req = stream as unknown as StreamRequest;
    req.method = method;
    req.url = headers[':path'] ?? '/';
    // The router reads the authority from Host, as HTTP/1.1 sends it.
    if (headers.host === undefined) headers.host = headers[':authority'] ?? '';
    req.headers = headers;
    req.rawHeaders = regularHeaders(raw);
    req.httpVersion = '2.0';
    req.httpVersionMajor = 2;
    req.httpVersionMinor = 0;
    req.socket = socket;
    req.trailers = noTrailerMap;
    req.rawTrailers = noTrailers;
    if (!stream.endAfterHeaders) stream.on('trailers', onRequestTrailers);
    // Envoy answers 100-continue itself (the router strips Expect before forwarding).
    if (headers.expect === '100-continue') stream.additionalHeaders({ ':status': 100 });
    this.#on(this.#ctx, req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse);
  }

  /** Sends GOAWAY on every session: in-flight streams finish, new ones go elsewhere, then each closes. */
  drain(): void {
    this.#draining = true;
    for (const s of this.#sessions) if (!s.closed) s.close();
  }
}

const kSniff = Symbol('skiff.proxy.sniff');
const kHead = Symbol('skiff.proxy.sniffHead');

/** Where a sniffed connection goes: node's own HTTP/1.1 connection setup, or the HTTP/2 side. */
export interface Sniffer {
  server: http.Server;
  h1: (socket: net.Socket) => void;
  h2: H2Downstream;
  /** The proxy's own HTTP/1.1 server (h1/server.ts); node's `h1` serves the connection when unset. */
  fast?: H1Server;
}

type Sniffed = net.Socket & { [kSniff]?: Sniffer; [kHead]?: Buffer };

function onFirstBytes(this: Sniffed, chunk: Buffer): void {
  const prev = this[kHead];
  const buf = prev ? Buffer.concat([prev, chunk]) : chunk;
  const n = Math.min(buf.length, PREFACE.length);
  const h2 = buf.compare(PREFACE, 0, n, 0, n) === 0;
  if (h2 && buf.length < PREFACE.length) {
    // "PRI * HTTP/2.0..." so far but cut short: wait for the rest of the preface.
    this[kHead] = buf;
    return;
  }
  this[kHead] = undefined;
  this.off('data', onFirstBytes);
  this.off('error', onEarlyError);
  this.off('end', onEarlyEnd);
  this.pause();
  this.unshift(buf);
  const sn = this[kSniff]!;
  if (h2) {
    // The HTTP/2 session reads what was unshifted on its first tick, then consumes the socket itself.
    sn.h2.accept(this);
  } else if (sn.fast) {
    sn.fast.accept(this);
  } else {
    sn.h1.call(sn.server, this);
    this.resume();
  }
}

function onEarlyError(this: Sniffed): void {
  this.destroy();
}

function onEarlyEnd(this: Sniffed): void {
  // The client closed before its first bytes said which protocol it speaks.
  this.destroy();
}

function sniff(this: http.Server & { [kSniff]?: Sniffer }, socket: Sniffed): void {
  socket[kSniff] = this[kSniff];
  socket.on('data', onFirstBytes);
  socket.on('error', onEarlyError);
  socket.on('end', onEarlyEnd);
}

/**
 * Puts the preface peek in front of node's HTTP/1.1 connection setup. node's http.Server sets up
 * its parser in the one 'connection' listener its constructor installs; that listener is taken
 * off (checked by name, so a node that sets up differently fails loudly at start) and called by
 * the peek for HTTP/1.1 connections, so everything else about the server
 * (listen, close, closeIdleConnections, its events) stays as it was.
 */
export function sniffConnections(server: http.Server, h2: H2Downstream, fast?: H1Server): Sniffer {
  // The constructor's listener comes first, whatever was added since.
  const h1 = server.listeners('connection')[0] as ((s: net.Socket) => void) | undefined;
  if (h1?.name !== 'connectionListener') throw new Error(`expected node's connectionListener first on an http.Server, found ${h1?.name}`);
  server.removeListener('connection', h1);
  const sn: Sniffer = { server, h1, h2, fast };
  (server as http.Server & { [kSniff]?: Sniffer })[kSniff] = sn;
  server.prependListener('connection', sniff);
  return sn;
}

/** True for an HTTP/1.1 request asking to upgrade to h2c (answered as HTTP/1.1 instead). */
export function isH2cUpgrade(req: http.IncomingMessage): boolean {
  const u = req.headers.upgrade;
  return u !== undefined && u.length === 3 && u.toLowerCase() === 'h2c';
}

/** Replays an `Upgrade: h2c` request to the HTTP/1.1 parser without its upgrade headers (Connection keeps its other tokens). */
export function replayWithoutUpgrade(sn: Sniffer, req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
  let text = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name === 'upgrade' || name === 'http2-settings') continue;
    let value = raw[i + 1];
    if (name === 'connection') {
      value = value
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t && !/^(upgrade|http2-settings)$/i.test(t))
        .join(', ');
      if (!value) continue;
    }
    text += `${raw[i]}: ${value}\r\n`;
  }
  text += '\r\n';
  // latin1 round-trips node's header strings byte for byte.
  socket.unshift(head.length ? Buffer.concat([Buffer.from(text, 'latin1'), head]) : Buffer.from(text, 'latin1'));
  sn.h1.call(sn.server, socket);
  socket.resume();
}
