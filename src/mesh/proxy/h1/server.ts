/**
 * The downstream half of the proxy's own HTTP/1.1 path: one H1Conn per client connection parses
 * requests (parser.ts) and hands the router an H1Request and an H1Response shaped like node's
 * IncomingMessage and ServerResponse (the parts router.ts, forward.ts, stream.ts and admin.ts use),
 * without node's per-request stream objects.
 *
 * - One request at a time: bytes of a pipelined next request wait until the response is written.
 * - Upgrade and CONNECT requests go to node's HTTP server (`fallback`) with the connection: its
 *   head is replayed from the parsed form, so WebSocket, CONNECT tunnels and h2c upgrades keep the
 *   code they have (connect.ts, h2.ts).
 * - Responses (response.ts): HTTP/1.1 status line; `date` added as node and Envoy do; body framing by the
 *   Content-Length given, else chunked (HTTP/1.1 clients) or until close (HTTP/1.0); no body for
 *   HEAD, 1xx, 204 and 304; `connection: close` when either side ends the connection. Trailers are
 *   dropped, as Envoy does on HTTP/1.1.
 * - Envoy answers `Expect: 100-continue` itself (listeners.ts did the same through node); HTTP/1.0
 *   clients get no 100 (RFC 9110 §10.1.1, node's rule).
 * - Malformed requests get the parser's status (400, 431, 501) and the connection closes.
 */
import { STATUS_CODES } from 'node:http';
import type net from 'node:net';
import { adoptForBatch, flushSocket } from './batch.ts';
import { readAcceptedDirectly } from './reads.ts';
import { H1Body } from './body.ts';
import { H1Response, type ResponseOwner } from './response.ts';
import { rawHeaderValue } from './fields.ts';
import { type H1Head, H1ParseError, H1Parser, type H1Sink, headerObject, keepCopy } from './parser.ts';

export { H1Response };

/** The request, as the router reads an IncomingMessage. */
export class H1Request extends H1Body {
  readonly method: string;
  readonly url: string;
  readonly httpVersion: string;
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor: number;
  readonly rawHeaders: string[];
  #headers: Record<string, string | string[]> | undefined = undefined;
  aborted = false;

  constructor(socket: net.Socket, h: H1Head) {
    super(socket);
    this.method = h.method;
    this.url = h.url;
    this.httpVersionMinor = h.minor;
    this.httpVersion = h.minor === 1 ? '1.1' : '1.0';
    this.rawHeaders = h.rawHeaders;
  }

  /** Lowercase name → value, with node's rules for repeated headers (built on first use). */
  get headers(): Record<string, string | string[]> {
    return (this.#headers ??= headerObject(this.rawHeaders));
  }

  /** `headers[name]`, without building the object when nothing has yet (the router's reads: headers.ts headerOf). */
  header(name: string): string | string[] | undefined {
    const h = this.#headers;
    return h !== undefined ? h[name] : rawHeaderValue(this.rawHeaders, name);
  }
}

/** Handles one request (the listener's role). */
export type H1Handler = (req: H1Request, res: H1Response) => void;
/** Takes a connection whose next bytes (unshifted) are an upgrade or CONNECT request. */
export type Fallback = (socket: net.Socket) => void;

const kConn = Symbol('skiff.h1.conn');
type Tagged = net.Socket & { [kConn]?: H1Conn };

function onData(this: Tagged, chunk: Buffer): void {
  this[kConn]?.data(chunk);
}

/** A direct read (reads.ts): a view of the shared buffer, valid during the call. */
function onDirect(s: Tagged, view: Buffer): boolean {
  const c = s[kConn];
  if (c) {
    c.data(view);
    return true;
  }
  // Handed over (an upgrade, to node's server, which reads 'data'): through the Readable again.
  return s.destroyed || s.push(keepCopy(view));
}

function onEnd(this: Tagged): void {
  this[kConn]?.peerEnded();
}

function onClose(this: Tagged): void {
  this[kConn]?.closed();
}

function onDrain(this: Tagged): void {
  this[kConn]?.res?.emit('drain');
}

function onError(): void {
  // 'close' follows.
}

function feedLater(c: H1Conn): void {
  c.feedStash();
}

/** The connections of one listener, so draining can close the idle ones. */
export class H1Server {
  readonly conns = new Set<H1Conn>();
  readonly #handler: H1Handler;
  readonly #fallback: Fallback;

  constructor(handler: H1Handler, fallback: Fallback) {
    this.#handler = handler;
    this.#fallback = fallback;
  }

  /** Serves a connection (paused, its first bytes unshifted). */
  accept(socket: net.Socket): void {
    const c = new H1Conn(this, socket, this.#handler, this.#fallback);
    this.conns.add(c);
    socket.resume();
  }

  /** Closes connections between requests; busy ones close after their response. */
  closeIdle(): void {
    for (const c of this.conns) c.closeIfIdle();
  }
}

/** One client connection (see the file comment). */
export class H1Conn implements H1Sink, ResponseOwner {
  readonly socket: net.Socket;
  readonly #server: H1Server;
  readonly #handler: H1Handler;
  readonly #fallback: Fallback;
  readonly #parser: H1Parser;
  req: H1Request | undefined;
  res: H1Response | undefined;
  #reqDone = false;
  #stash: Buffer | undefined;
  #upgrade: H1Head | undefined;
  #peerEnded = false;
  #closeAfter = false;
  #feeding = false;
  #gone = false;

  constructor(server: H1Server, socket: net.Socket, handler: H1Handler, fallback: Fallback) {
    this.#server = server;
    this.socket = socket;
    this.#handler = handler;
    this.#fallback = fallback;
    this.#parser = new H1Parser('request', this);
    const s = socket as Tagged;
    adoptForBatch(s);
    s[kConn] = this;
    // Bytes unshifted by the sniffer come as 'data'; later reads come straight to onDirect.
    s.on('data', onData);
    readAcceptedDirectly(s, onDirect);
    s.on('end', onEnd);
    s.on('close', onClose);
    s.on('drain', onDrain);
    s.on('error', onError);
  }

  data(chunk: Buffer): void {
    if (this.#stash || this.#closeAfter) {
      // A response is still being written: the next request waits.
      if (!this.#closeAfter) this.#stash = Buffer.concat([this.#stash!, chunk]);
      this.socket.pause();
      return;
    }
    this.#feed(chunk);
  }

  #feed(buf: Buffer): void {
    let off = 0;
    this.#feeding = true;
    try {
      while (off < buf.length) {
        off = this.#parser.execute(buf, off);
        if (this.#upgrade) return this.#handOver(buf.subarray(off));
        if (!this.#parser.done) break;
        if (this.res && !this.res.finished) {
          // The request is read but its response is not written: keep what follows for later.
          if (off < buf.length) {
            this.#stash = keepCopy(buf.subarray(off));
            this.socket.pause();
          }
          return;
        }
        this.#next();
        if (this.#closeAfter) return;
      }
    } catch (e) {
      this.#reject(e);
      return;
    } finally {
      this.#feeding = false;
    }
    // Everything read is handled (or waits for its answer): after a half-close, maybe the end.
    if (this.#peerEnded) this.#endIfAnswered();
  }

  onHead(h: H1Head): boolean {
    if (h.upgrade) {
      this.#upgrade = h;
      return true;
    }
    const req = new H1Request(this.socket, h);
    const res = new H1Response(this, req, h.keepAlive);
    this.req = req;
    this.res = res;
    this.#reqDone = false;
    // Not to HTTP/1.0 clients: RFC 9110 §10.1.1 says ignore it (and node does); one would take a 100 for the answer.
    if (h.expectContinue && h.minor === 1) {
      flushSocket(this.socket);
      this.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
    }
    this.#handler(req, res);
    return false;
  }

  onBody(chunk: Buffer): void {
    this.req?.push(chunk);
  }

  onEnd(trailers: string[] | undefined): void {
    this.#reqDone = true;
    this.req?.finish(trailers);
  }

  /** The response is written (H1Response.end). */
  responseDone(res: H1Response): void {
    if (res !== this.res) return;
    if (!res.keepAlive) {
      this.#closeAfter = true;
      this.#stash = undefined;
      this.#end();
      return;
    }
    if (!this.#reqDone) {
      // Nobody read the rest of the request body: it is skipped, as node's server dumps it.
      this.req!.resume();
      // After a half-close the rest never comes (unless #feed holds it: it checks when done).
      if (this.#peerEnded) this.#endIfAnswered();
      return;
    }
    if (this.#feeding) return; // #feed goes on with the next request
    this.#next();
    // Pipelined requests that came before a half-close are answered too.
    if (this.#stash) process.nextTick(feedLater, this);
    else if (this.#peerEnded) this.#endIfAnswered();
  }

  /** Between requests: the parser is ready for the next one. */
  #next(): void {
    this.req = undefined;
    this.res = undefined;
    this.#parser.reset();
  }

  /** Parses what arrived while a response was being written. */
  feedStash(): void {
    const b = this.#stash;
    if (!b || this.res) return;
    this.#stash = undefined;
    this.socket.resume();
    this.#feed(b);
  }

  peerEnded(): void {
    this.#peerEnded = true;
    // Half-closed by the client: answer what is in flight (pipelined requests read before it too), then close.
    this.#endIfAnswered();
  }

  /** After the client's half-close: ends the connection once every request read has its answer. */
  #endIfAnswered(): void {
    if (this.#closeAfter || this.#feeding || this.#stash || (this.res && !this.res.finished)) return;
    this.#closeAfter = true;
    this.#end();
  }

  closed(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#server.conns.delete(this);
    const req = this.req;
    // node's rule: a request not read to its end is aborted — a GET whose end nobody read too, unless
    // its answer was written (node dumps a request once answered: it ended normally).
    if (req && !req.readableEnded && !(this.#reqDone && this.res?.finished)) {
      req.aborted = true;
      req.gone();
    }
    this.res?.gone();
  }

  /** Ends the connection after what batch.ts holds for it. */
  #end(): void {
    flushSocket(this.socket);
    this.socket.end();
  }

  closeIfIdle(): void {
    // A pipelined request already read (#stash) is answered first: the router says `connection: close` while draining.
    if ((!this.res || this.res.finished) && !this.#stash) {
      this.#closeAfter = true;
      this.#end();
    }
  }

  #reject(e: unknown): void {
    const status = e instanceof H1ParseError ? e.status : 400;
    this.#closeAfter = true;
    if (this.res && !this.res.finished) {
      // Garbage inside a request body whose answer has started: only cutting is left.
      this.socket.destroy();
      return;
    }
    const text = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`;
    flushSocket(this.socket);
    this.socket.end(text, 'latin1');
  }

  /** An upgrade or CONNECT: node's server takes the connection from its head on. */
  #handOver(rest: Buffer): void {
    const h = this.#upgrade!;
    this.#upgrade = undefined;
    const s = this.socket as Tagged;
    flushSocket(s);
    s.removeListener('data', onData);
    s.removeListener('end', onEnd);
    s.removeListener('close', onClose);
    s.removeListener('drain', onDrain);
    s.removeListener('error', onError);
    s[kConn] = undefined;
    this.#server.conns.delete(this);
    const bytes = Buffer.from(`${h.text}\r\n\r\n`, 'latin1');
    s.pause();
    s.unshift(rest.length ? Buffer.concat([bytes, rest]) : bytes);
    this.#fallback(s);
  }
}
