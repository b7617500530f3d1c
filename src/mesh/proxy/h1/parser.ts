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
import { asLower, CONTROL, latin1, TE_CHUNKED, TE_INVALID, TE_OTHER, TOKEN, teFraming, trimOws } from './fields.ts';
import { headEnd, headLineEnd, knownNames, LINE_FIELDS, lineTable, namesLowercase, scanHead, scanLines } from './scan.ts';

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
  /** Upgrade requests: the head as read (without its blank line), replayed as is to node's server. */
  text?: string;
  /**
   * Given when the parser's `keepLines` is set, the scanner took the header lines and every name is
   * written in lowercase: the lines as read, for a writer to pass on (Envoy writes names in
   * lowercase too).
   */
  lines: HeadLines | undefined;
}

/** A head's header lines as read: line i (pair i of rawHeaders) is `text[i ? ends[i - 1] : first .. ends[i])`, CRLF first. */
export interface HeadLines {
  readonly text: string;
  /** Where the start line ends (its CR). */
  readonly first: number;
  /** Where each header line ends (its CR). */
  readonly ends: number[];
}

/** What the parser reports. */
export interface H1Sink {
  /** A head; returning true stops the message there (a server handing an upgrade on, body unread). */
  onHead(head: H1Head): boolean | void;
  onBody(chunk: Buffer): void;
  /**
   * A piece of the body as latin1 text (a char per byte), in place of onBody, when the parser's
   * `textBodies` is set and it has the bytes as text already: a body that came in the read of its
   * head lies in the text the head was parsed from, and a slice of that costs less than a string
   * made from the bytes again.
   */
  onBodyText?(text: string): void;
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

/**
 * A copy of (part of) a read that its caller may keep, in a backing store of its own: every byte the
 * codec keeps past a read (bodies, heads and trailers split across reads, a pipelined rest). Not a
 * slice of node's Buffer pool, as Buffer.from() makes for small ones: a pool slab of 8 KiB lives for
 * ~1,000 small copies, long enough under load to be promoted to V8's old space, where it waits for
 * the next full GC however soon its copies die. A sidecar's RSS grew by 4–5 MB between two full GCs
 * that way at full load (docs/performance.md); a copy of its own dies young and the scavenge frees it.
 */
export function keepCopy(view: Uint8Array): Buffer {
  const b = Buffer.allocUnsafeSlow(view.length);
  b.set(view);
  return b;
}

const CRLF2 = Buffer.from('\r\n\r\n');
/** Bytes of a read turned into one string to find and parse a head in (heads are mostly far shorter). */
const textWindow = 2048;
/** The empty tail of a parser with nothing kept: one shared buffer (each Buffer.alloc(0) costs a typed array and its backing store). */
const noBytes = Buffer.alloc(0);
/** TOKEN as a table of bytes, 1 for a tchar (RFC 9110 §5.6.2): header names are checked a byte at a time. */
const tokenChars = Uint8Array.from({ length: 256 }, (_, ch) => (TOKEN.test(String.fromCharCode(ch)) ? 1 : 0));
/** CONTROL as a table of bytes: 1 for those no header value or reason phrase may hold. */
const badValue = Uint8Array.from({ length: 256 }, (_, ch) => (CONTROL.test(String.fromCharCode(ch)) ? 1 : 0));
/** Visible ASCII (node rejects bytes over 0x7f too) in origin-form, asterisk-form or absolute-form (RFC 9112 §3.2). */
const TARGET = /^(?:[/*]|[A-Za-z][A-Za-z0-9+.-]*:\/\/)[\x21-\x7e]*$/;
/** CONNECT's authority-form. */
const AUTHORITY = /^[\x21-\x7e]+$/;
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

/** Lowercase ASCII words as bytes, for comparing header names on the wire without a string. */
function word(w: string): Uint8Array {
  return Uint8Array.from(w, (c) => c.charCodeAt(0));
}
const W_CONTINUE = word('100-continue');
const W_CLOSE = word('close');
const W_KEEP_ALIVE = word('keep-alive');
const W_UPGRADE = word('upgrade');

/** Whether `b` holds `w` at `at`, ASCII case ignored (the caller knows the length fits). */
function sameWord(b: Buffer, at: number, w: Uint8Array): boolean {
  for (let i = 0; i < w.length; i++) {
    const ch = b[at + i];
    if ((ch >= 65 && ch <= 90 ? ch + 32 : ch) !== w[i]) return false;
  }
  return true;
}

/**
 * Header names met on most requests and responses, handed out as these constants (lowercase,
 * internalized) instead of a slice of each head: no string per header, and every later lookup of
 * the name (Set.has, ===, an object key) finds its hash and identity ready. Envoy's HTTP/1 codec
 * lowercases names too, so other names are lowercased as read.
 */
const KNOWN_NAMES = [
  'accept', 'accept-encoding', 'accept-language', 'accept-ranges', 'access-control-allow-origin', 'age', 'authorization', 'b3', 'cache-control',
  'connection', 'content-encoding', 'content-length', 'content-type', 'cookie', 'date', 'end-user', 'etag', 'expect', 'expires',
  'grpc-encoding', 'grpc-message', 'grpc-status', 'grpc-timeout', 'host', 'if-modified-since', 'if-none-match', 'keep-alive',
  'last-modified', 'location', 'origin', 'pragma', 'proxy-connection', 'referer', 'server', 'set-cookie', 'te', 'trailer',
  'traceparent', 'tracestate', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via', 'x-b3-flags', 'x-b3-parentspanid',
  'x-b3-sampled', 'x-b3-spanid', 'x-b3-traceid', 'x-envoy-attempt-count', 'x-envoy-decorator-operation',
  'x-envoy-expected-rq-timeout-ms', 'x-envoy-original-path', 'x-envoy-overloaded', 'x-envoy-upstream-service-time',
  'x-forwarded-client-cert', 'x-forwarded-for', 'x-forwarded-proto', 'x-request-id', 'x-skiff-peer',
];
knownNames(KNOWN_NAMES);

/** Header names a head writer handles itself (headerLine's `role`): 0 for any other. */
export const ROLE_DATE = 1;
export const ROLE_CONNECTION = 2;
export const ROLE_LENGTH = 3;
export const ROLE_TE = 4;

function roleOf(lower: string): number {
  return lower === 'date' ? ROLE_DATE : lower === 'connection' ? ROLE_CONNECTION : lower === 'content-length' ? ROLE_LENGTH : lower === 'transfer-encoding' ? ROLE_TE : 0;
}

/** A header name as a head writer needs it: its line prefix and its role (ROLE_*). */
export interface HeaderLine {
  readonly name: string;
  /** What goes before the header's value in a head: CRLF (ending the line before), the name and ": ". */
  readonly prefix: string;
  readonly role: number;
}

/**
 * KNOWN_NAMES by length and first letter (`len * 32 + (letter & 31)`), each with its bytes (for the
 * parser), its line prefix and its role (for head writers): a line costs one concatenation and the
 * append, not four (~200 instructions and ~50 bytes a line under callgrind), and its role needs no
 * string comparisons.
 */
const knownByKey: Array<Array<{ name: string; bytes: Uint8Array; prefix: string; role: number }> | undefined> = [];
for (const name of KNOWN_NAMES) (knownByKey[name.length * 32 + (name.charCodeAt(0) & 31)] ??= []).push({ name, bytes: word(name), prefix: `\r\n${name}: `, role: roleOf(name) });

/** headerLine's answer for a name outside the table, rewritten by each such call. */
const otherLine = { name: '', prefix: '', role: 0 };

/**
 * The line prefix and role of header `name`, from the table for known names (found as the parser
 * finds them, without hashing the name). Another name's answer is valid until the next call: read
 * it at once. Names are lowercase on the proxy's path (headers.ts); another spelling of the names
 * with a role still gets it, and keeps its spelling in the prefix.
 */
export function headerLine(name: string): HeaderLine {
  const n = name.length;
  const cands = n > 0 && n < 32 ? knownByKey[n * 32 + (name.charCodeAt(0) & 31)] : undefined;
  if (cands !== undefined) for (let k = 0; k < cands.length; k++) if (cands[k].name === name) return cands[k];
  otherLine.name = name;
  otherLine.prefix = '\r\n' + name + ': ';
  otherLine.role = n === 4 || n === 10 || n === 14 || n === 17 ? roleOf(asLower(name)) : 0;
  return otherLine;
}

/** The name of `len` bytes at `b[at]` (its text at `text[from]`): a known constant, else the lowercased text. */
function nameOf(b: Buffer, at: number, len: number, text: string, from: number): string {
  const cands = len < 32 ? knownByKey[len * 32 + (b[at] & 31)] : undefined;
  if (cands !== undefined) for (let k = 0; k < cands.length; k++) if (sameWord(b, at, cands[k].bytes)) return cands[k].name;
  const name = text.slice(from, from + len);
  for (let i = at; i < at + len; i++) if (b[i] >= 65 && b[i] <= 90) return name.toLowerCase();
  return name;
}

const CONN_CLOSE = 1;
const CONN_KEEP_ALIVE = 2;
const CONN_UPGRADE = 4;

/**
 * The Connection tokens in `b[a..z)` that matter here (close, keep-alive, upgrade), as bits: a token
 * is a run between commas, spaces and tabs, compared without case (as hasToken reads a value).
 */
function connectionTokens(b: Buffer, a: number, z: number): number {
  let bits = 0;
  let i = a;
  while (i < z) {
    while (i < z && (b[i] === 44 || b[i] === 32 || b[i] === 9)) i++;
    const w0 = i;
    while (i < z && b[i] !== 44 && b[i] !== 32 && b[i] !== 9) i++;
    const n = i - w0;
    if (n === 5 && sameWord(b, w0, W_CLOSE)) bits |= CONN_CLOSE;
    else if (n === 10 && sameWord(b, w0, W_KEEP_ALIVE)) bits |= CONN_KEEP_ALIVE;
    else if (n === 7 && sameWord(b, w0, W_UPGRADE)) bits |= CONN_UPGRADE;
  }
  return bits;
}

/**
 * A Content-Length value from its raw bytes `b[a..z)`: optional SP/HTAB, digits, optional SP only
 * (llhttp's reading). Leading zeros do not count towards the 15-digit limit (as in node).
 */
function contentLength(b: Buffer, a: number, z: number): number {
  let i = a;
  while (i < z && (b[i] === 32 || b[i] === 9)) i++;
  const d0 = i;
  let n = 0;
  let digits = 0;
  for (; i < z; i++) {
    const ch = b[i];
    if (ch < 48 || ch > 57) break;
    if (digits > 0 || ch !== 48) {
      digits++;
      n = n * 10 + (ch - 48);
    }
  }
  if (i === d0) throw new H1ParseError(400, 'invalid content-length');
  while (i < z && b[i] === 32) i++;
  if (i !== z) throw new H1ParseError(400, 'invalid content-length');
  if (digits > 15) throw new H1ParseError(400, 'content-length too large');
  return n;
}

/** The status line in `b[a..z)`: `HTTP/1.x SSS[ reason]`, a status of 100-999 (below 100 would pass for an interim 1xx). */
function statusLine(b: Buffer, a: number, z: number, text: string, head: H1Head): void {
  const ok =
    z - a >= 12 &&
    b[a] === 72 && b[a + 1] === 84 && b[a + 2] === 84 && b[a + 3] === 80 && b[a + 4] === 47 && b[a + 5] === 49 && b[a + 6] === 46 &&
    (b[a + 7] === 48 || b[a + 7] === 49) &&
    b[a + 8] === 32 &&
    b[a + 9] >= 49 && b[a + 9] <= 57 && b[a + 10] >= 48 && b[a + 10] <= 57 && b[a + 11] >= 48 && b[a + 11] <= 57 &&
    (z - a === 12 || b[a + 12] === 32);
  if (!ok) throw new H1ParseError(502, 'malformed status line');
  for (let i = a + 13; i < z; i++) if (badValue[b[i]] === 1) throw new H1ParseError(502, 'malformed status line');
  head.minor = b[a + 7] - 48;
  head.status = (b[a + 9] - 48) * 100 + (b[a + 10] - 48) * 10 + (b[a + 11] - 48);
  if (z - a > 13) head.reason = text.slice(13, z - a);
}

/** Common methods as constants (no string per request, and comparisons with them are by reference). */
const METHODS = ['GET', 'POST', 'PUT', 'HEAD', 'DELETE', 'PATCH', 'OPTIONS'];

/** The request line `text[0..le)`: `METHOD SP request-target SP HTTP/1.x`. */
function requestLine(text: string, le: number, head: H1Head): void {
  const sp1 = text.indexOf(' ');
  // The version is 8 characters: its space is usually right before them (lastIndexOf is a runtime call).
  const sp2 = le >= 9 && text.charCodeAt(le - 9) === 32 ? le - 9 : text.lastIndexOf(' ', le - 1);
  if (sp1 <= 0 || sp1 >= le || sp2 === sp1) throw new H1ParseError(400, 'malformed request line');
  let method: string | undefined;
  if (sp1 === 3 && text.charCodeAt(0) === 71 && text.charCodeAt(1) === 69 && text.charCodeAt(2) === 84) method = 'GET';
  else for (const m of METHODS) if (m.length === sp1 && text.startsWith(m)) method = m;
  if (method === undefined) {
    method = text.slice(0, sp1);
    if (!TOKEN.test(method)) throw new H1ParseError(400, 'invalid method');
  }
  const url = text.slice(sp1 + 1, sp2);
  if (!(method === 'CONNECT' ? AUTHORITY : TARGET).test(url)) throw new H1ParseError(400, 'invalid request target');
  if (le - sp2 !== 9 || !text.startsWith('HTTP/1.', sp2 + 1)) throw new H1ParseError(400, 'invalid HTTP version');
  const minor = text.charCodeAt(le - 1) - 48;
  if (minor !== 0 && minor !== 1) throw new H1ParseError(400, 'invalid HTTP version');
  head.minor = minor;
  head.method = method;
  head.url = url;
}

/** Says what is wrong with a header line `b[p..eol)` whose colon is at `c` (-1: none): the scanner (scan.ts) refused the head. */
function checkLine(b: Buffer, p: number, c: number, eol: number): void {
  if (c <= p || c >= eol) {
    const f = b[p];
    throw new H1ParseError(400, eol > p && (f === 32 || f === 9) ? 'obsolete line folding' : 'malformed header line');
  }
  for (let i = p; i < c; i++) if (tokenChars[b[i]] === 0) throw new H1ParseError(400, 'invalid header name');
  for (let i = c + 1; i < eol; i++) if (badValue[b[i]] === 1) throw new H1ParseError(400, 'invalid header value');
}

/** One direction of one connection: requests (server) or responses (client). */
export class H1Parser {
  readonly #requests: boolean;
  readonly #sink: H1Sink;
  #state = HEAD;
  /** Head bytes seen so far without the blank line (kept across reads), their length, and their last 4 bytes. */
  #pending: Buffer[] | undefined;
  #pendingLen = 0;
  #tail: Buffer = noBytes;
  #remaining = 0;
  #trailerBuf: Buffer | undefined;
  #sizeBuf = '';
  /** Responses: the request was HEAD, so no body whatever the headers say. */
  noBody = false;
  /** Bodies read with their head go to the sink's onBodyText (see H1Sink). */
  textBodies = false;
  /** Heads get `lines` when they can have them (H1Head.lines). */
  keepLines = false;
  /** This execute()'s head text (textBodies only): `#text` holds `#textBuf` from `#textAt`. */
  #text = '';
  #textAt = 0;
  #textBuf: Buffer | undefined;

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
    // Text from an earlier call is of other bytes (a read's view may be the same Buffer again).
    this.#textBuf = undefined;
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
          const a = off - this.#textAt;
          if (this.#textBuf === buf && a >= 0 && a + n <= this.#text.length) sink.onBodyText!(this.#text.slice(a, a + n));
          else sink.onBody(off === 0 && n === buf.length ? buf : buf.subarray(off, off + n));
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
    let text: string | undefined;
    /** The first line's end in `text` (-1: not looked at). */
    let le = -1;
    /** Header lines the scanner took with the head (scanHead), -1: none yet. */
    let scanned = -1;
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
        parts.push(keepCopy(chunk));
        this.#pendingLen += chunk.length;
        this.#tail = keepCopy(win.subarray(Math.max(0, win.length - 4)));
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
      // The usual head fits in the first bytes: one latin1 string of them is checked and searched
      // (a string search costs a fraction of Buffer.indexOf's call) and then parsed; else the
      // Buffer is searched.
      const w = Math.min(b.length, start + textWindow);
      text = latin1(b, start, w);
      // A head read into the read buffer is found and its lines checked in one pass of the scanner
      // (scan.ts); any other head, or one the scanner refuses, is searched here.
      let e = -1;
      scanned = scanHead(b, start, w - start, h1Limits.maxHeaders);
      if (scanned >= 0) {
        le = headLineEnd();
        e = headEnd() - 2;
      } else {
        le = text.indexOf('\r\n');
        if (le >= 0) e = text.indexOf('\r\n\r\n', le);
      }
      if (e >= 0) end = start + e;
      else {
        text = undefined;
        le = -1;
        end = w - start < textWindow ? -1 : b.indexOf(CRLF2, w - 3);
      }
      if (end < 0) {
        // The blank line may yet start in the last 3 bytes: only more than that over the limit is
        // surely too large (the same head split anywhere gets the same answer).
        if (b.length - start > h1Limits.maxHeadBytes + 3) throw new H1ParseError(431, 'request header fields too large');
        if (bareLineEnd(b, start, start)) throw new H1ParseError(400, 'bare CR or LF in head');
        const kept = keepCopy(b.subarray(start));
        this.#pending = [kept];
        this.#pendingLen = kept.length;
        this.#tail = keepCopy(kept.subarray(Math.max(0, kept.length - 4)));
        return -1;
      }
      after = end + 4;
    }
    if (end - start > h1Limits.maxHeadBytes) throw new H1ParseError(431, 'request header fields too large');
    this.#pending = undefined;
    this.#pendingLen = 0;
    if (text !== undefined && this.textBodies) {
      this.#text = text;
      this.#textAt = start;
      this.#textBuf = b;
    }
    const head = this.#parseHead(b, start, end, text ?? b.toString('latin1', start, end + 4), le, scanned);
    if (head === undefined) return after; // a 1xx interim response: skipped
    if (this.#sink.onHead(head) === true) {
      this.#state = DONE;
      return after;
    }
    this.#body(head);
    if (this.#state === DONE) this.#sink.onEnd(undefined);
    return after;
  }

  /**
   * Parses the head in `b[start..end)` (without its blank line); undefined for an interim (1xx)
   * response, which is skipped. The scanner (scan.ts) checks and splits every header line in one
   * pass, `linesScanned` when #head had it do so already (only a head it refuses is checked line by
   * line, to name the fault); names are the known-name table's constants it found or are lowercased
   * once, and the status line, Content-Length and Connection tokens are read on the bytes, so no
   * header costs a toLowerCase or a regex of its own.
   */
  #parseHead(b: Buffer, start: number, end: number, text: string, firstEnd: number, linesScanned: number): H1Head | undefined {
    // `text` holds the head from `start`, maybe with what follows it: the head is text[0..n).
    const n = end - start;
    let le = firstEnd >= 0 ? firstEnd : text.indexOf('\r\n');
    if (le < 0 || le > n) le = n;
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
      headBytes: n + 4,
      lines: undefined,
    };
    if (this.#requests) requestLine(text, le, head);
    else statusLine(b, start, start + le, text, head);
    // One pass of the scanner (scan.ts) checks and splits every header line; only a head it refuses
    // is looked at line by line, to say what is wrong.
    const scanned = linesScanned >= 0 ? linesScanned : le + 2 >= n ? 0 : scanLines(b, start, le + 2, n + 2, h1Limits.maxHeaders);
    const lines = lineTable;
    const raw = head.rawHeaders;
    const ends: number[] | undefined = this.keepLines && scanned > 0 && namesLowercase() ? [] : undefined;
    let conn = 0;
    let te = '';
    let teSeen = false;
    let host = false;
    let upgradeHeader = false;
    let count = 0;
    for (let pos = le + 2; pos < n; ) {
      let eol: number;
      let c: number;
      let va: number;
      let vb: number;
      let name: string;
      if (scanned >= 0) {
        const o = count * LINE_FIELDS;
        c = lines[o];
        va = lines[o + 1];
        vb = lines[o + 2];
        eol = lines[o + 3];
        const k = lines[o + 4];
        name = k >= 0 ? KNOWN_NAMES[k & 255] : k === -1 ? text.slice(pos, c) : text.slice(pos, c).toLowerCase();
        if (ends !== undefined) ends.push(eol);
        count++;
      } else {
        if (++count > h1Limits.maxHeaders) throw new H1ParseError(431, 'too many headers');
        eol = text.indexOf('\r\n', pos);
        if (eol < 0 || eol > n) eol = n;
        c = text.indexOf(':', pos);
        checkLine(b, start + pos, c < 0 ? -1 : start + c, start + eol);
        va = c + 1;
        vb = eol;
        while (va < vb && (text.charCodeAt(va) === 32 || text.charCodeAt(va) === 9)) va++;
        while (vb > va && (text.charCodeAt(vb - 1) === 32 || text.charCodeAt(vb - 1) === 9)) vb--;
        name = nameOf(b, start + pos, c - pos, text, pos);
      }
      const value = text.slice(va, vb);
      raw.push(name, value);
      // Known names are the table's constants: these compare by reference.
      if (name === 'host') host = true;
      else if (name === 'connection') {
        if (vb > va) conn |= connectionTokens(b, start + va, start + vb);
      } else if (name === 'content-length') {
        // On the raw bytes: llhttp takes no HTAB after the digits, and framing headers must be
        // read the same by every hop.
        const len = contentLength(b, start + c + 1, start + eol);
        if (head.contentLength >= 0 && head.contentLength !== len) throw new H1ParseError(400, 'conflicting content-length');
        head.contentLength = len;
      } else if (name === 'transfer-encoding') {
        // Present even when empty: with a Content-Length it is still a conflict (node rejects it).
        teSeen = true;
        // The raw value only when it has an HTAB, which teFraming must see (the rest is trimmed).
        const rawValue = text.slice(c + 1, eol);
        const v = rawValue.indexOf('\t') < 0 ? value : rawValue;
        if (value) te = te ? `${te},${v}` : v;
      } else if (name === 'expect') {
        if (vb - va === 12 && sameWord(b, start + va, W_CONTINUE)) head.expectContinue = true;
      } else if (name === 'upgrade') upgradeHeader = true;
      pos = eol + 2;
    }
    if (!this.#requests && head.status < 200 && head.status !== 101) return undefined;
    if (ends !== undefined) head.lines = { text, first: le, ends };
    if (conn !== 0) {
      if (conn & CONN_CLOSE) head.keepAlive = false;
      else if (head.minor === 0) head.keepAlive = (conn & CONN_KEEP_ALIVE) !== 0;
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
      head.upgrade = head.method === 'CONNECT' || (upgradeHeader && (conn & CONN_UPGRADE) !== 0);
      if (head.upgrade) head.text = text.slice(0, n);
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
      this.#trailerBuf = keepCopy(b.subarray(start));
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
      if (CONTROL.test(value)) throw new H1ParseError(400, 'invalid trailer value');
      out.push(line.slice(0, c).toLowerCase(), value);
    }
    const after = prev ? off + (end + 4 - prev.length) : end + 4;
    return this.#end(out, after);
  }
}
