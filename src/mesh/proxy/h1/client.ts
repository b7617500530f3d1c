/**
 * One HTTP/1.1 exchange on a pooled upstream connection, written and parsed by the proxy itself
 * (parser.ts) instead of node's ClientRequest. It is shaped like the ClientRequest the router
 * drives (forward.ts), as upstream/h2-call.ts is for HTTP/2:
 * - write/end for the request body ('drain' after write() returned false), destroy() to abandon the
 *   exchange (the connection closes);
 * - 'response' hands over an H1Incoming (statusCode, statusMessage, headers, rawHeaders, trailers,
 *   complete, and the H1Body events) — interim 1xx responses are skipped;
 * - 'error' only before a response (ECONNRESET when the connection closed under the request); a
 *   connection lost mid-body shows as the response's 'close' without `complete`;
 * - `reusedSocket` as node's: the connection carried an earlier request (the keep-alive race).
 * - or, instead of 'response' and 'error', a Relay (relayTo) takes the response straight from the
 *   parser: the router's common case, an upstream answer relayed into the proxy's own H1Response
 *   (forward.ts), skips the H1Incoming, its events and a copy of each body chunk.
 * When the response has been read and the request sent, the connection goes back to its owner
 * (`done(socket, reusable)`), or closes if either side said `Connection: close`.
 *
 * Request framing follows node's ClientRequest: a Content-Length header is kept; end(body) without
 * one adds it; a body written in pieces without one is sent chunked; a bodyless POST/PUT/PATCH gets
 * `content-length: 0`.
 */
import { STATUS_CODES } from 'node:http';
import type net from 'node:net';
import { adoptForBatch, flushSocket, messageQueued, writeLater } from './batch.ts';
import { H1Body } from './body.ts';
import { SlotEmitter } from './emitter.ts';
import { type H1Head, H1ParseError, H1Parser, type H1Sink, headerLine, headerObject, ROLE_LENGTH, ROLE_TE } from './parser.ts';
import { connectDirect } from './reads.ts';

/** The response, as the router reads an IncomingMessage. */
export class H1Incoming extends H1Body {
  statusCode = 0;
  statusMessage = '';
  httpVersion = '1.1';
  rawHeaders: string[] = [];
  #headers: Record<string, string | string[]> | undefined;

  /** Lowercase name → value, with node's rules for repeated headers (built on first use). */
  get headers(): Record<string, string | string[]> {
    return (this.#headers ??= headerObject(this.rawHeaders));
  }
}

/**
 * Takes an exchange's response from the parser in place of an H1Incoming and its events. Each call
 * gets the `owner` given to relayTo(), so one relay serves every exchange without a closure.
 */
export interface Relay<T> {
  /** The final response's head: true to take its body (body and end follow), false to read it and drop it. */
  head(owner: T, h: H1Head, call: H1Call): boolean;
  /** A piece of the body taken: a view valid only during the call. */
  body(owner: T, view: Buffer): void;
  /** A piece of the body taken, as latin1 text: given, it is used for bodies read with their head (H1Sink.onBodyText). */
  bodyText?(owner: T, text: string): void;
  /** The body taken is complete; `trailers` are a chunked body's trailer pairs. */
  end(owner: T, trailers: string[] | undefined): void;
  /** The response taken was cut after its head (connection lost, or the rest unparsable). */
  cut(owner: T): void;
  /** No response: what 'error' says otherwise. */
  fail(owner: T, err: NodeJS.ErrnoException, call: H1Call): void;
}

/** A response's reason phrase, node's for its status when the upstream sent none (as IncomingMessage.statusMessage). */
export function reasonOf(h: H1Head): string {
  return h.reason || STATUS_CODES[h.status] || '';
}

/** Methods node sends without a body framing header when the request has none. */
const noBodyMethods = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

/** Where the exchange reports its end. */
export type DoneFn = (socket: net.Socket, reusable: boolean) => void;

const kCall = Symbol('skiff.h1.call');
type Tagged = net.Socket & { [kCall]?: H1Call };

function onRead(s: Tagged, view: Buffer): boolean {
  const c = s[kCall];
  if (c) c.data(view);
  // Data on an idle connection: nothing was asked, so the connection cannot be trusted.
  else s.destroy();
  return true;
}

function onDrain(this: Tagged): void {
  // write() said false: a body piped into the exchange (H1Body.pipe, Readable.pipe) waits for this.
  this[kCall]?.emit('drain');
}

/**
 * Opens a connection that carries exchanges, set up once: its reads go straight to the exchange in
 * progress (reads.ts). It emits no 'data'; pause() and resume() still stop and start its reads.
 */
export function connectForExchanges(opts: net.TcpNetConnectOpts): net.Socket {
  const s = connectDirect(opts, onRead);
  adoptForBatch(s);
  s.on('drain', onDrain);
  return s;
}

/** The exchange in progress on a socket, if any (the pool tells it about errors and close). */
export function callOf(s: net.Socket): H1Call | undefined {
  return (s as Tagged)[kCall];
}

/** One request/response on a connected socket (see the file comment). */
export class H1Call extends SlotEmitter implements H1Sink {
  readonly socket: net.Socket;
  reusedSocket: boolean;
  readonly #parser: H1Parser;
  readonly #done: DoneFn;
  readonly #method: string;
  #head: string;
  #headSent = false;
  #chunked = false;
  #framed: boolean;
  #reqEnded = false;
  #res: H1Incoming | undefined;
  /** A response head came (the H1Incoming, or the relay's). */
  #responded = false;
  #relay: Relay<any> | undefined;
  #owner: unknown;
  /** The relay took this response's body. */
  #taking = false;
  #resEnded = false;
  #keepAlive = true;
  #finished = false;
  destroyed = false;

  /**
   * Builds the request head; nothing is written until write() or end(). Header text is written as
   * given: values come from the parsers (checked as read) or from config (checked once at compile,
   * headers.ts checkHeaderValue), so none is looked at again per request. Given `tail`, the pairs
   * from `tailFrom` on are written as that text instead (UpstreamRequest.headTail).
   */
  constructor(socket: net.Socket, method: string, path: string, headers: string[], reused: boolean, done: DoneFn, tail?: string, tailFrom = headers.length) {
    super();
    this.socket = socket;
    this.reusedSocket = reused;
    this.#done = done;
    this.#method = method;
    // Lines are written CRLF first (headerLine): the head ends without its last CRLF until it is sent.
    let head = method + ' ' + path + ' HTTP/1.1';
    let framed = false;
    // The pairs a pre-rendered tail stands for are not looked at: they carry no framing header.
    const n = tail === undefined ? headers.length : tailFrom;
    for (let i = 0; i < n; i += 2) {
      const line = headerLine(headers[i]);
      if (line.role === ROLE_LENGTH) framed = true;
      else if (line.role === ROLE_TE) continue; // framing is this exchange's own
      head += line.prefix + headers[i + 1];
    }
    if (tail !== undefined) head += tail;
    this.#framed = framed;
    this.#head = head;
    const parser = new H1Parser('response', this);
    parser.noBody = method === 'HEAD';
    this.#parser = parser;
    (socket as Tagged)[kCall] = this;
  }

  /** The response goes to `relay` (for `owner`) instead of 'response' and 'error'; call before the answer can come. */
  relayTo<T>(relay: Relay<T>, owner: T): void {
    this.#relay = relay;
    this.#owner = owner;
    this.#parser.textBodies = relay.bodyText !== undefined;
    // A relayed head's lines may go on as read (H1Head.lines).
    this.#parser.keepLines = true;
  }

  /** Writes a piece of the request body (chunked unless a Content-Length was given). */
  write(chunk: Buffer | string): boolean {
    if (this.destroyed || this.#reqEnded) return false;
    const s = this.socket;
    if (!this.#headSent) {
      this.#headSent = true;
      if (!this.#framed) {
        this.#chunked = true;
        this.#head += '\r\ntransfer-encoding: chunked';
      }
      flushSocket(s);
      s.cork();
      s.write(`${this.#head}\r\n\r\n`, 'latin1');
      process.nextTick(uncork, s);
    }
    const n = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    if (n === 0) return true;
    if (this.#chunked) {
      s.write(`${n.toString(16)}\r\n`, 'latin1');
      s.write(chunk);
      return s.write('\r\n', 'latin1');
    }
    return s.write(chunk);
  }

  /** Ends the request, with a last piece of body if given. */
  end(body?: Buffer | string): this {
    if (this.destroyed || this.#reqEnded) return this;
    const s = this.socket;
    if (!this.#headSent) {
      this.#headSent = true;
      let head = this.#head;
      const n = body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.length;
      if (!this.#framed && (n > 0 || !noBodyMethods.has(this.#method))) head += `\r\ncontent-length: ${n}`;
      head += '\r\n\r\n';
      // A whole small request is one latin1 string (a byte per char), held to the end of this I/O
      // phase with the other requests of the batch (batch.ts).
      if (n <= 16 * 1024) {
        writeLater(s, n === 0 ? head : head + (typeof body === 'string' ? Buffer.from(body) : body!).toString('latin1'));
        messageQueued(s);
      } else {
        flushSocket(s);
        s.cork();
        s.write(head, 'latin1');
        s.write(body!);
        s.uncork();
      }
    } else {
      if (body !== undefined) this.write(body);
      if (this.#chunked) s.write('0\r\n\r\n', 'latin1');
    }
    this.#reqEnded = true;
    if (this.#resEnded) this.#release();
    return this;
  }

  /** Abandons the exchange: the connection closes (its request or response is cut), unless it already went back. */
  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    if (!this.#finished) {
      this.#detach();
      this.socket.destroy();
    }
    return this;
  }

  /** Bytes from the socket. */
  data(chunk: Buffer): void {
    if (this.#finished) return;
    try {
      const off = this.#parser.execute(chunk);
      if (this.#resEnded) {
        // Bytes after a complete response: the server sent what nobody asked for; the connection is unusable.
        if (off < chunk.length) this.#keepAlive = false;
        if (this.#reqEnded) this.#release();
      }
    } catch (e) {
      const err = e as H1ParseError;
      this.#keepAlive = false;
      if (!this.#responded) {
        this.#fail(Object.assign(new Error(`upstream sent an invalid response: ${err.message}`), { code: 'HPE_INVALID' }));
      } else {
        this.#detach();
        this.socket.destroy();
        this.#cut();
      }
    }
  }

  /** The socket failed or closed (the pool's listeners call this before their own accounting). */
  socketGone(err?: NodeJS.ErrnoException): void {
    if (this.#finished) return;
    if (this.#responded && !this.#resEnded) {
      // A response without a length ends when the connection does.
      const ended = this.#parser.finish() && this.#resEnded;
      this.#detach();
      if (!ended) this.#cut();
      return;
    }
    if (!this.#responded) this.#fail(err ?? Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
  }

  onHead(h: H1Head): void {
    // After 101 the connection speaks another protocol: never another HTTP/1.1 request on it.
    if (!h.keepAlive || h.status === 101) this.#keepAlive = false;
    this.#responded = true;
    const relay = this.#relay;
    if (relay !== undefined) {
      this.#taking = relay.head(this.#owner, h, this);
      return;
    }
    const res = new H1Incoming(this.socket);
    res.statusCode = h.status;
    res.statusMessage = reasonOf(h);
    res.httpVersion = h.minor === 1 ? '1.1' : '1.0';
    res.rawHeaders = h.rawHeaders;
    this.#res = res;
    this.emit('response', res);
  }

  onBody(chunk: Buffer): void {
    if (this.#relay === undefined) this.#res!.push(chunk);
    else if (this.#taking) this.#relay.body(this.#owner, chunk);
  }

  onBodyText(text: string): void {
    // Only a relay with bodyText turns the parser's textBodies on.
    if (this.#taking) this.#relay!.bodyText!(this.#owner, text);
  }

  onEnd(trailers: string[] | undefined): void {
    this.#resEnded = true;
    // The server answered before the request was sent whole: this connection cannot carry another.
    // (The connection goes back in data(), once the rest of the read is known to hold nothing more.)
    if (!this.#reqEnded) this.#keepAlive = false;
    if (this.#relay === undefined) this.#res!.finish(trailers);
    else if (this.#taking) this.#relay.end(this.#owner, trailers);
  }

  /** The response was cut after its head. */
  #cut(): void {
    if (this.#relay === undefined) this.#res!.gone();
    else if (this.#taking) this.#relay.cut(this.#owner);
  }

  #fail(err: Error): void {
    if (this.#finished) return;
    this.#detach();
    this.socket.destroy();
    if (this.destroyed) return;
    if (this.#relay === undefined) this.emit('error', err);
    else this.#relay.fail(this.#owner, err, this);
  }

  #detach(): void {
    this.#finished = true;
    const s = this.socket as Tagged;
    if (s[kCall] === this) s[kCall] = undefined;
  }

  #release(): void {
    if (this.#finished) return;
    this.#detach();
    const reusable = this.#keepAlive && !this.socket.destroyed;
    this.#done(this.socket, reusable);
  }
}

function uncork(s: net.Socket): void {
  s.uncork();
}
