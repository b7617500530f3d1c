/**
 * The response half of the proxy's own HTTP/1.1 server (server.ts): what the router writes as it
 * would a node ServerResponse — writeHead (flat list or object), write, end, destroy,
 * headersSent/writableFinished, 'finish' and 'close'. The head is built once and goes out with the
 * first body bytes in one latin1 string write; `date` is added as node and Envoy do; framing is the
 * Content-Length given, else chunked (HTTP/1.1) or until close (HTTP/1.0); HEAD, 1xx, 204 and 304
 * carry no body; `connection: close` when either side ends the connection.
 */
import { STATUS_CODES } from 'node:http';
import type net from 'node:net';
import { flushSocket, heldLength, messageQueued, writeLater } from './batch.ts';
import { SlotEmitter } from './emitter.ts';
import { latin1 } from './fields.ts';
import { headerLine, keepCopy, ROLE_CONNECTION, ROLE_DATE, ROLE_LENGTH } from './parser.ts';

/** The connection a response belongs to. */
export interface ResponseOwner {
  readonly socket: net.Socket;
  /** end() ran: the connection may go on with the next request. */
  responseDone(res: H1Response): void;
}

/** Told first when a response closes (ended, or its connection gone): the router's completion without an event (stream.ts). */
export interface CloseHook {
  responseClosed(): void;
}

/** What a response needs of its request. */
export interface ResponseRequest {
  readonly method: string;
  readonly httpVersionMinor: number;
}

const DATE = 1;
const LENGTH = 2;
const CHUNKED = 4;
/** writeHeadLines: the lines given hold a Date header. */
export const LINES_DATE = DATE;
/** writeHeadLines: the lines given hold a Content-Length header. */
export const LINES_LENGTH = LENGTH;

let dateSecond = 0;
let dateText = '';

/** The Date header value, recomputed once a second (node caches it the same way). */
function httpDate(): string {
  const now = Date.now();
  const sec = Math.floor(now / 1000);
  if (sec !== dateSecond) {
    dateSecond = sec;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

/** Chunks up to this size are copied into the response's text; bigger ones are written as they are. */
const smallChunk = 16 * 1024;
/** Queued text beyond this is written at once. */
const highWater = 64 * 1024;

/** The response, as the router writes a ServerResponse. */
export class H1Response extends SlotEmitter {
  statusCode = 200;
  statusMessage = '';
  headersSent = false;
  writableEnded = false;
  writableFinished = false;
  finished = false;
  readonly socket: net.Socket;
  readonly req: ResponseRequest;
  readonly #conn: ResponseOwner;
  #head = '';
  #chunked = false;
  #noBody = false;
  /** Which of DATE, LENGTH, CHUNKED writeHead's headers had. */
  #seen = 0;
  /** The connection stays open after this response. */
  keepAlive: boolean;
  /** Bytes of this response handed to the socket or held for it (head, framing, body): its wire size. */
  wire = { n: 0 };
  /** Told before the 'close' listeners. */
  hook: CloseHook | undefined = undefined;

  constructor(conn: ResponseOwner, req: ResponseRequest, keepAlive: boolean) {
    super();
    this.#conn = conn;
    this.socket = conn.socket;
    this.req = req;
    this.keepAlive = keepAlive;
  }

  /** node's writeHead: (status, [reason], [headers as a flat list or an object]). Writes nothing yet. */
  writeHead(status: number, a?: string | string[] | Record<string, unknown>, b?: string[] | Record<string, unknown>): this {
    if (this.headersSent) return this;
    const headers = typeof a === 'string' ? b : a;
    if (typeof a === 'string') this.statusMessage = a;
    let h = this.#statusLine(status);
    this.#seen = 0;
    if (Array.isArray(headers)) {
      for (let i = 0; i < headers.length; i += 2) h += this.#line(headers[i], headers[i + 1]);
    } else if (headers) {
      for (const k of Object.keys(headers)) {
        const v = headers[k];
        if (v === undefined) continue;
        if (Array.isArray(v)) for (const x of v) h += this.#line(k, x);
        else h += this.#line(k, v);
      }
    }
    this.#finishHead(h);
    return this;
  }

  /**
   * writeHead for a relayed head (forward.ts): `lines` are header lines already rendered (CRLF
   * first, as headerLine writes them), with no Connection or Transfer-Encoding header among them;
   * `seen` says whether they hold Date (LINES_DATE) and Content-Length (LINES_LENGTH). `headers`
   * follow them, taken as writeHead takes a flat list.
   */
  writeHeadLines(status: number, reason: string, lines: string, seen: number, headers: string[]): this {
    if (this.headersSent) return this;
    this.statusMessage = reason;
    let h = this.#statusLine(status) + lines;
    this.#seen = seen;
    for (let i = 0; i < headers.length; i += 2) h += this.#line(headers[i], headers[i + 1]);
    this.#finishHead(h);
    return this;
  }

  /** The status line; notes the status and whether the response has a body. */
  #statusLine(status: number): string {
    this.statusCode = status;
    const method = this.req.method;
    this.#noBody = method === 'HEAD' || status === 204 || status === 304 || status < 200;
    // Lines are written CRLF first (headerLine): the head ends with the blank line's CRLFs (#finishHead).
    return 'HTTP/1.1 ' + status + ' ' + (this.statusMessage || STATUS_CODES[status] || 'unknown');
  }

  /** Adds what the header lines `h` leave to the response (Date, framing, Connection) and keeps the head to send. */
  #finishHead(h: string): void {
    const seen = this.#seen;
    let chunked = (seen & CHUNKED) !== 0;
    if (!(seen & DATE)) h += `\r\ndate: ${httpDate()}`;
    if (!this.#noBody && !(seen & LENGTH) && !chunked) {
      if (this.req.httpVersionMinor === 1) {
        h += '\r\ntransfer-encoding: chunked';
        chunked = true;
      } else this.keepAlive = false; // HTTP/1.0: the body ends with the connection
    }
    this.#chunked = chunked && !this.#noBody;
    if (!this.keepAlive) h += '\r\nconnection: close';
    else if (this.req.httpVersionMinor === 0) h += '\r\nconnection: keep-alive';
    this.#head = `${h}\r\n\r\n`;
    this.headersSent = true;
  }

  /**
   * One header of writeHead, as its line ('' for none): noted when it bears on framing, written
   * unless it is Connection (written once, last). Values are written as given: they come from the
   * parsers (checked as read), from config (checked once at compile, headers.ts checkHeaderValue) or
   * from the proxy itself.
   */
  #line(name: string, value: unknown): string {
    const v = typeof value === 'string' ? value : String(value);
    const line = headerLine(name);
    const role = line.role;
    if (role !== 0) {
      if (role === ROLE_DATE) this.#seen |= DATE;
      else if (role === ROLE_CONNECTION) {
        if (v.toLowerCase().includes('close')) this.keepAlive = false;
        return '';
      } else if (role === ROLE_LENGTH) this.#seen |= LENGTH;
      else {
        if (v.toLowerCase().includes('chunked')) this.#seen |= CHUNKED;
        if (this.#noBody) return '';
      }
    }
    return line.prefix + v;
  }

  /**
   * Queues bytes as latin1 text (a byte per char) with what batch.ts holds for the socket: the head
   * and small chunks go out together in one string write at the end of this I/O phase — node writes
   * a small latin1 string straight from the stack, with none of the Writable/writev machinery a cork
   * and several writes take, and no tick is scheduled per response.
   */
  #queue(text: string): void {
    writeLater(this.socket, text);
    this.wire.n += text.length;
  }

  write(chunk: Buffer | string): boolean {
    return this.#write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, true);
  }

  /**
   * write() of a view valid only during the call (a body relayed from the parser, forward.ts): copied
   * only when it is handed to the socket as it is, since small pieces are copied into text anyway.
   */
  writeView(view: Buffer): boolean {
    return this.#write(view, false);
  }

  /** write() of a small piece of body given as latin1 text (a char per byte), as the parser read it. */
  writeText(text: string): boolean {
    if (!this.#open()) return false;
    if (this.#noBody || text.length === 0) return true;
    if (heldLength(this.socket) + text.length > highWater) flushSocket(this.socket);
    return this.#queueBody(text);
  }

  #write(b: Buffer, owned: boolean): boolean {
    if (!this.#open()) return false;
    const n = b.length;
    if (this.#noBody || n === 0) return true;
    const s = this.socket;
    if (n <= smallChunk && heldLength(s) + n <= highWater) return this.#queueBody(latin1(b, 0, n));
    if (this.#chunked) this.#queue(`${n.toString(16)}\r\n`);
    flushSocket(s);
    const ok = s.write(owned ? b : keepCopy(b));
    this.wire.n += n;
    if (!this.#chunked) return ok;
    this.wire.n += 2;
    return s.write('\r\n', 'latin1');
  }

  /** The start of every body write: the head goes first; false when nothing may be written any more. */
  #open(): boolean {
    if (this.writableEnded || this.socket.destroyed) return false;
    if (!this.headersSent) this.writeHead(this.statusCode);
    this.#takeHead();
    return true;
  }

  /** Queues a piece of body as text, framed; a pipe into this response waits for 'drain' while the socket's own buffer is full. */
  #queueBody(text: string): boolean {
    if (this.#chunked) this.#queue(`${text.length.toString(16)}\r\n`);
    this.#queue(text);
    if (this.#chunked) this.#queue('\r\n');
    return !this.socket.writableNeedDrain;
  }

  #takeHead(): void {
    const head = this.#head;
    if (!head) return;
    this.#head = '';
    this.#queue(head);
  }

  end(chunk?: Buffer | string): this {
    if (this.writableEnded) return this;
    if (!this.headersSent) this.writeHead(this.statusCode);
    if (chunk !== undefined && chunk.length > 0) this.write(chunk);
    else this.#takeHead();
    // The rest of the response leaves with the others of this I/O phase (batch.ts).
    if (this.#chunked) this.#queue('0\r\n\r\n');
    messageQueued(this.socket);
    this.writableEnded = true;
    this.writableFinished = true;
    this.finished = true;
    this.emit('finish');
    this.hook?.responseClosed();
    this.emit('close');
    this.#conn.responseDone(this);
    return this;
  }

  /** Cuts the response: the connection closes. */
  destroy(): this {
    this.#conn.socket.destroy();
    return this;
  }

  /** HTTP/1.1 responses carry no trailers here (Envoy drops them). */
  addTrailers(): void {}

  writeContinue(): void {
    if (this.headersSent) return;
    flushSocket(this.socket);
    this.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
  }

  /** The connection went away before end(). */
  gone(): void {
    if (this.writableEnded) return;
    this.writableEnded = true;
    this.hook?.responseClosed();
    this.emit('close');
  }
}
