/**
 * An incremental HTTP/1.x message parser for the proxy's own HTTP/1.1 path (server.ts downstream,
 * client.ts upstream), in place of node's http machinery, whose per-request objects and streams
 * cost several times a C proxy's CPU (docs/performance.md).
 *
 * It is as strict as node's llhttp without lenient flags, because a proxy that reads a message
 * differently from the next hop is open to request smuggling: CRLF line ends only, token header
 * names, no obs-fold, no control characters in values, a Content-Length of digits only (repeats must
 * agree), requests with both Content-Length and Transfer-Encoding or a Transfer-Encoding that does
 * not end in `chunked` are rejected, and so is an HTTP/1.1 request without Host (node's
 * requireHostHeader, Envoy's missing_host_header). Heads are limited to Envoy's defaults: 60 KiB and
 * 100 headers (431 when over).
 *
 * execute() consumes bytes and reports the head, body chunks (chunked bodies decoded) and the end
 * of one message; it stops after the end, so a caller serves one message at a time, and reset()
 * starts the next. Errors throw H1ParseError with the status a server answers.
 */
import { hasToken, TE_CHUNKED, TE_INVALID, TE_OTHER, teFraming, trimOws } from './fields.ts';

export { hasToken, headerObject } from './fields.ts';

/** A malformed or oversized message: `status` is what a server answers (400, 431, 501). */
export class H1ParseError extends Error {
  readonly code = 'SKIFF_ERR_HTTP1_PARSE';
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'H1ParseError';
    this.status = status;
  }
}

/** Envoy's max_request_headers_kb (60) and max_headers_count (100) defaults. */
export const h1Limits = { maxHeadBytes: 60 * 1024, maxHeaders: 100 } as const;

/** The head of one message. */
export interface H1Head {
  /** Requests: the method and request-target; responses: ''. */
  method: string;
  url: string;
  /** Responses: status code and reason phrase; requests: 0 and ''. */
  status: number;
  reason: string;
  /** 0 or 1 (HTTP/1.0, HTTP/1.1). */
  minor: number;
  /** Name/value pairs in order, names as sent. */
  rawHeaders: string[];
  /** -1 when there is none (or the body is chunked). */
  contentLength: number;
  chunked: boolean;
  /** The connection stays open after this message (version default and Connection tokens). */
  keepAlive: boolean;
  /** Requests: `Upgrade` with a Connection `upgrade` token, or CONNECT. */
  upgrade: boolean;
  /** Requests: `Expect: 100-continue`. */
  expectContinue: boolean;
  /** Bytes of the head on the wire, CRLFs included. */
  headBytes: number;
}

/** What the parser reports. */
export interface H1Sink {
  /** A head; returning true stops the message there (a server handing an upgrade on, body unread). */
  onHead(head: H1Head): boolean | void;
  onBody(chunk: Buffer): void;
  /** The message is complete; `trailers` are a chunked body's trailer pairs. */
  onEnd(trailers: string[] | undefined): void;
}

const HEAD = 0;
const LENGTH = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_CRLF = 4;
const TRAILERS = 5;
const UNTIL_CLOSE = 6;
const DONE = 7;

const CRLF2 = Buffer.from('\r\n\r\n');
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** TOKEN as a table of char codes (header names are checked a character at a time). */
const tokenChars = new Uint8Array(128);
for (const ch of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") tokenChars[ch.charCodeAt(0)] = 1;

/** True for a tchar (RFC 9110 §5.6.2). */
function isToken(ch: number): boolean {
  return ch < 128 && tokenChars[ch] === 1;
}
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
/** Visible ASCII (node rejects bytes over 0x7f too) in origin-form, asterisk-form or absolute-form (RFC 9112 §3.2). */
const TARGET = /^(?:[/*]|[A-Za-z][A-Za-z0-9+.-]*:\/\/)[\x21-\x7e]*$/;
/** CONNECT's authority-form. */
const AUTHORITY = /^[\x21-\x7e]+$/;
/** A status below 100 is no status (it would pass for an interim 1xx and be skipped). */
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?$/;
/** Digits in optional whitespace, but no HTAB after them (llhttp's reading). */
const CONTENT_LENGTH = /^[ \t]*\d+ *$/;
/**
 * A chunk-size line (RFC 9112 §7.1.1) as llhttp reads it: no whitespace, extensions `;name[=token|quoted]`.
 * A CR anywhere but before the final LF fails it, so does a NUL or other control in an extension.
 */
const CHUNK_LINE = /^([0-9a-fA-F]+)(?:;[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:=(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[\t\x20\x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t\x20-\x7e\x80-\xff])*"))?)*\r\n$/;
/** Leading zeros of a number (a length may carry any number of them, as in node). */
const ZEROS = /^0+(?=.)/;

/**
 * Whether `b[lo..]` holds a CR not followed by LF or an LF not after a CR, looking from `from`
 * (bytes before it were checked on an earlier read; a CR at the very end may still get its LF).
 * A head or trailer section still waiting for its blank line fails at once, as in llhttp, instead
 * of waiting for more bytes that can only end in a 400.
 */
function bareLineEnd(b: Buffer, lo: number, from: number): boolean {
  for (let i = b.indexOf(10, from); i >= 0; i = b.indexOf(10, i + 1)) if (i === lo || b[i - 1] !== 13) return true;
  for (let i = b.indexOf(13, from); i >= 0 && i < b.length - 1; i = b.indexOf(13, i + 1)) if (b[i + 1] !== 10) return true;
  return false;
}

/** One direction of one connection: requests (server) or responses (client). */
export class H1Parser {
  readonly #requests: boolean;
  readonly #sink: H1Sink;
  #state = HEAD;
  /** Head bytes seen so far without the blank line (kept across reads), their length, and their last 4 bytes. */
  #pending: Buffer[] | undefined;
  #pendingLen = 0;
  #tail: Buffer = Buffer.alloc(0);
  #remaining = 0;
  #trailerBuf: Buffer | undefined;
  #sizeBuf = '';
  /** Responses: the request was HEAD, so no body whatever the headers say. */
  noBody = false;

  constructor(kind: 'request' | 'response', sink: H1Sink) {
    this.#requests = kind === 'request';
    this.#sink = sink;
  }

  /** True between a message's end and reset(). */
  get done(): boolean {
    return this.#state === DONE;
  }

  /** True while a head is partly read (a close now cuts a message). */
  get midMessage(): boolean {
    return (this.#state !== HEAD && this.#state !== DONE) || this.#pending !== undefined;
  }

  /** True while the body runs until the connection closes (responses without a length). */
  get untilClose(): boolean {
    return this.#state === UNTIL_CLOSE;
  }

  /** Ready for the next message. */
  reset(): void {
    this.#state = HEAD;
    this.noBody = false;
  }

  /** The peer closed: ends a body that runs until close; false when a message was cut short. */
  finish(): boolean {
    if (this.#state === UNTIL_CLOSE) {
      this.#state = DONE;
      this.#sink.onEnd(undefined);
      return true;
    }
    return !this.midMessage;
  }

  /** Parses from `off`; returns where it stopped (the end of `buf`, or just after a complete message). */
  execute(buf: Buffer, off = 0): number {
    const sink = this.#sink;
    while (off < buf.length) {
      switch (this.#state) {
        case HEAD: {
          const r = this.#head(buf, off);
          if (r < 0) return buf.length;
          off = r;
          break;
        }
        case LENGTH: {
          const n = Math.min(this.#remaining, buf.length - off);
          this.#remaining -= n;
          sink.onBody(off === 0 && n === buf.length ? buf : buf.subarray(off, off + n));
          off += n;
          if (this.#remaining === 0) return this.#end(undefined, off);
          break;
        }
        case CHUNK_SIZE: {
          const nl = buf.indexOf(10, off);
          const part = buf.toString('latin1', off, nl < 0 ? buf.length : nl + 1);
          this.#sizeBuf += part;
          if (this.#sizeBuf.length > 1024) throw new H1ParseError(400, 'chunk size line too long');
          if (nl < 0) return buf.length;
          off = nl + 1;
          this.#chunkSize(this.#sizeBuf);
          this.#sizeBuf = '';
          break;
        }
        case CHUNK_DATA: {
          const n = Math.min(this.#remaining, buf.length - off);
          this.#remaining -= n;
          sink.onBody(buf.subarray(off, off + n));
          off += n;
          if (this.#remaining === 0) {
            this.#state = CHUNK_CRLF;
            this.#remaining = 2;
          }
          break;
        }
        case CHUNK_CRLF: {
          const want = this.#remaining === 2 ? 13 : 10;
          if (buf[off] !== want) throw new H1ParseError(400, 'missing CRLF after chunk data');
          off++;
          if (--this.#remaining === 0) this.#state = CHUNK_SIZE;
          break;
        }
        case TRAILERS: {
          const r = this.#trailers(buf, off);
          if (r < 0) return buf.length;
          return r;
        }
        case UNTIL_CLOSE:
          sink.onBody(off === 0 ? buf : buf.subarray(off));
          return buf.length;
        case DONE:
          return off;
      }
    }
    return off;
  }

  #end(trailers: string[] | undefined, off: number): number {
    this.#state = DONE;
    this.#sink.onEnd(trailers);
    return off;
  }

  /** Finds the blank line; returns the offset after it, or -1 when the head is not complete yet. */
  #head(buf: Buffer, off: number): number {
    let b = buf;
    let start = off;
    let end: number;
    let after: number;
    const parts = this.#pending;
    if (parts) {
      // The head began in earlier reads. Search only the new bytes and the last few kept ones, so a
      // head dribbled in byte by byte costs linear time (no re-copy of everything kept per read).
      const chunk = buf.subarray(off);
      const tail = this.#tail;
      const win = Buffer.concat([tail, chunk]);
      const e = win.indexOf(CRLF2);
      if (e < 0) {
        if (this.#pendingLen + chunk.length > h1Limits.maxHeadBytes + 3) throw new H1ParseError(431, 'request header fields too large');
        if (bareLineEnd(win, this.#pendingLen <= tail.length ? 0 : -1, Math.max(0, tail.length - 1))) throw new H1ParseError(400, 'bare CR or LF in head');
        parts.push(Buffer.from(chunk));
        this.#pendingLen += chunk.length;
        this.#tail = Buffer.from(win.subarray(Math.max(0, win.length - 4)));
        return -1;
      }
      end = this.#pendingLen - tail.length + e;
      after = off + (end + 4 - this.#pendingLen);
      b = Buffer.concat([...parts, chunk]);
      start = 0;
    } else {
      // A message may come after stray CRLFs (RFC 9112 §2.2; llhttp skips them before responses
      // too). They are skipped as they arrive, so nothing is kept when a read holds only them (a CR
      // and its LF may come in separate reads).
      while (start < b.length && (b[start] === 13 || b[start] === 10)) start++;
      if (start === b.length) return -1;
      end = b.indexOf(CRLF2, start);
      if (end < 0) {
        // The blank line may yet start in the last 3 bytes: only more than that over the limit is
        // surely too large (the same head split anywhere gets the same answer).
        if (b.length - start > h1Limits.maxHeadBytes + 3) throw new H1ParseError(431, 'request header fields too large');
        if (bareLineEnd(b, start, start)) throw new H1ParseError(400, 'bare CR or LF in head');
        const kept = Buffer.from(b.subarray(start));
        this.#pending = [kept];
        this.#pendingLen = kept.length;
        this.#tail = Buffer.from(kept.subarray(Math.max(0, kept.length - 4)));
        return -1;
      }
      after = end + 4;
    }
    if (end - start > h1Limits.maxHeadBytes) throw new H1ParseError(431, 'request header fields too large');
    this.#pending = undefined;
    this.#pendingLen = 0;
    const text = b.toString('latin1', start, end);
    const consumed = end + 4 - start;
    const head = this.#parseHead(text, consumed);
    if (head === undefined) return after; // a 1xx interim response: skipped
    if (this.#sink.onHead(head) === true) {
      this.#state = DONE;
      return after;
    }
    this.#body(head);
    if (this.#state === DONE) this.#sink.onEnd(undefined);
    return after;
  }

  /** Parses the head text; undefined for an interim (1xx) response, which is skipped. */
  #parseHead(text: string, bytes: number): H1Head | undefined {
    const eol0 = text.indexOf('\r\n');
    const first = eol0 < 0 ? text : text.slice(0, eol0);
    const head: H1Head = {
      method: '',
      url: '',
      status: 0,
      reason: '',
      minor: 1,
      rawHeaders: [],
      contentLength: -1,
      chunked: false,
      keepAlive: true,
      upgrade: false,
      expectContinue: false,
      headBytes: bytes,
    };
    if (this.#requests) {
      const sp1 = first.indexOf(' ');
      const sp2 = first.lastIndexOf(' ');
      if (sp1 <= 0 || sp2 === sp1) throw new H1ParseError(400, 'malformed request line');
      const method = first.slice(0, sp1);
      const url = first.slice(sp1 + 1, sp2);
      const version = first.slice(sp2 + 1);
      if (!TOKEN.test(method)) throw new H1ParseError(400, 'invalid method');
      if (!(method === 'CONNECT' ? AUTHORITY : TARGET).test(url)) throw new H1ParseError(400, 'invalid request target');
      if (version === 'HTTP/1.1') head.minor = 1;
      else if (version === 'HTTP/1.0') head.minor = 0;
      else throw new H1ParseError(400, 'invalid HTTP version');
      head.method = method;
      head.url = url;
    } else {
      const m = STATUS_LINE.exec(first);
      if (!m) throw new H1ParseError(502, 'malformed status line');
      head.minor = m[1] === '1' ? 1 : 0;
      head.status = Number(m[2]);
      head.reason = m[3] ?? '';
    }
    const raw = head.rawHeaders;
    let connection = '';
    let te = '';
    let teSeen = false;
    let host = false;
    let upgradeHeader = false;
    // One pass over the header lines with character tables (no split array, no regex per header).
    let count = 0;
    for (let pos = eol0 < 0 ? text.length : eol0 + 2; pos < text.length; ) {
      let eol = text.indexOf('\r\n', pos);
      if (eol < 0) eol = text.length;
      if (++count > h1Limits.maxHeaders) throw new H1ParseError(431, 'too many headers');
      const c = text.indexOf(':', pos);
      if (c <= pos || c >= eol) {
        const f = text.charCodeAt(pos);
        throw new H1ParseError(400, eol > pos && (f === 32 || f === 9) ? 'obsolete line folding' : 'malformed header line');
      }
      for (let i = pos; i < c; i++) if (!isToken(text.charCodeAt(i))) throw new H1ParseError(400, 'invalid header name');
      let a = c + 1;
      let b = eol;
      while (a < b && (text.charCodeAt(a) === 32 || text.charCodeAt(a) === 9)) a++;
      while (b > a && (text.charCodeAt(b - 1) === 32 || text.charCodeAt(b - 1) === 9)) b--;
      for (let i = a; i < b; i++) {
        const ch = text.charCodeAt(i);
        if ((ch < 32 && ch !== 9) || ch === 127) throw new H1ParseError(400, 'invalid header value');
      }
      const name = text.slice(pos, c);
      const value = text.slice(a, b);
      pos = eol + 2;
      raw.push(name, value);
      switch (name.length) {
        case 4:
          if (name.toLowerCase() === 'host') host = true;
          break;
        case 6:
          if (name.toLowerCase() === 'expect' && value.toLowerCase() === '100-continue') head.expectContinue = true;
          break;
        case 7:
          if (name.toLowerCase() === 'upgrade') upgradeHeader = true;
          break;
        case 10:
          if (name.toLowerCase() === 'connection') connection = connection ? `${connection}, ${value}` : value;
          break;
        case 14:
          if (name.toLowerCase() === 'content-length') {
            // On the raw value: llhttp takes no HTAB after the digits, and framing headers must be
            // read the same by every hop.
            if (!CONTENT_LENGTH.test(text.slice(c + 1, eol))) throw new H1ParseError(400, 'invalid content-length');
            // The value is digits now; leading zeros only matter for the length check.
            const digits = value.length > 15 ? value.replace(ZEROS, '') : value;
            if (digits.length > 15) throw new H1ParseError(400, 'content-length too large');
            const n = Number(digits);
            if (head.contentLength >= 0 && head.contentLength !== n) throw new H1ParseError(400, 'conflicting content-length');
            head.contentLength = n;
          }
          break;
        case 17:
          if (name.toLowerCase() === 'transfer-encoding') {
            // Present even when empty: with a Content-Length it is still a conflict (node rejects it).
            teSeen = true;
            // The raw value only when it has an HTAB, which teFraming must see (the rest is trimmed).
            const rawValue = text.slice(c + 1, eol);
            const v = rawValue.indexOf('\t') < 0 ? value : rawValue;
            if (value) te = te ? `${te},${v}` : v;
          }
          break;
      }
    }
    if (!this.#requests && head.status < 200 && head.status !== 101) return undefined;
    if (connection) {
      if (hasToken(connection, 'close')) head.keepAlive = false;
      else if (head.minor === 0) head.keepAlive = hasToken(connection, 'keep-alive');
    } else if (head.minor === 0) head.keepAlive = false;
    if (teSeen) {
      // Responses too, as node's client and Envoy (allow_chunked_length off) do: a response framed
      // both ways may be read differently by another hop, and the connection would be reused.
      if (head.contentLength >= 0) throw new H1ParseError(400, 'both content-length and transfer-encoding');
      const framing = teFraming(te);
      if (this.#requests) {
        if (framing === TE_INVALID) throw new H1ParseError(400, 'invalid transfer-encoding');
        if (framing !== TE_CHUNKED) throw new H1ParseError(501, 'unsupported transfer-encoding');
        head.chunked = true;
      } else if (framing !== TE_OTHER) {
        // llhttp decodes a response chunked twice once: so do we.
        head.chunked = true;
      } else {
        // A response framed by another coding runs until the connection closes (RFC 9112 §6.3).
        head.keepAlive = false;
      }
      head.contentLength = -1;
    }
    if (this.#requests) {
      if (head.minor === 1 && !host) throw new H1ParseError(400, 'missing host header');
      head.upgrade = head.method === 'CONNECT' || (upgradeHeader && connection !== '' && hasToken(connection, 'upgrade'));
    }
    return head;
  }

  #body(head: H1Head): void {
    if (this.#requests) {
      if (head.chunked) this.#state = CHUNK_SIZE;
      else if (head.contentLength > 0) {
        this.#state = LENGTH;
        this.#remaining = head.contentLength;
      } else this.#state = DONE;
      return;
    }
    const s = head.status;
    if (this.noBody || s === 204 || s === 304 || s === 101) this.#state = DONE;
    else if (head.chunked) this.#state = CHUNK_SIZE;
    else if (head.contentLength >= 0) {
      this.#state = head.contentLength > 0 ? LENGTH : DONE;
      this.#remaining = head.contentLength;
    } else {
      this.#state = UNTIL_CLOSE;
      head.keepAlive = false;
    }
  }

  #chunkSize(line: string): void {
    const m = CHUNK_LINE.exec(line);
    if (!m) throw new H1ParseError(400, 'invalid chunk size line');
    const hex = m[1].length > 12 ? m[1].replace(ZEROS, '') : m[1];
    if (hex.length > 12) throw new H1ParseError(400, 'chunk size too large');
    const n = parseInt(hex, 16);
    if (n === 0) {
      this.#state = TRAILERS;
      return;
    }
    this.#state = CHUNK_DATA;
    this.#remaining = n;
  }

  /** Reads trailer lines up to the blank line; returns the offset after it, or -1 when incomplete. */
  #trailers(buf: Buffer, off: number): number {
    let b = buf;
    let start = off;
    const prev = this.#trailerBuf;
    if (prev) {
      b = Buffer.concat([prev, buf.subarray(off)]);
      start = 0;
    }
    // No trailers: the zero chunk is followed by CRLF at once.
    if (b.length - start >= 2 && b[start] === 13 && b[start + 1] === 10) {
      this.#trailerBuf = undefined;
      const after = prev ? off + (start + 2 - prev.length) : start + 2;
      return this.#end(undefined, after);
    }
    const end = b.indexOf(CRLF2, prev ? Math.max(0, prev.length - 3) : start);
    if (end < 0) {
      if (b.length - start > h1Limits.maxHeadBytes + 3) throw new H1ParseError(431, 'trailers too large');
      if (bareLineEnd(b, start, prev ? Math.max(0, prev.length - 1) : start)) throw new H1ParseError(400, 'bare CR or LF in trailers');
      this.#trailerBuf = Buffer.from(b.subarray(start));
      return -1;
    }
    if (end - start > h1Limits.maxHeadBytes) throw new H1ParseError(431, 'trailers too large');
    this.#trailerBuf = undefined;
    const lines = b.toString('latin1', start, end).split('\r\n');
    const out: string[] = [];
    for (const line of lines) {
      const c = line.indexOf(':');
      if (c <= 0 || !TOKEN.test(line.slice(0, c))) throw new H1ParseError(400, 'malformed trailer line');
      const value = trimOws(line.slice(c + 1));
      if (BAD_VALUE.test(value)) throw new H1ParseError(400, 'invalid trailer value');
      out.push(line.slice(0, c), value);
    }
    const after = prev ? off + (end + 4 - prev.length) : end + 4;
    return this.#end(out, after);
  }
}
