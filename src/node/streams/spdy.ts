/**
 * The server half of SPDY/3.1, reduced to what kubectl's port-forward (moby/spdystream) uses: SYN_STREAM
 * in, SYN_REPLY out, DATA both ways with FIN, RST_STREAM, PING echo and GOAWAY. No flow control:
 * spdystream neither sends nor honours WINDOW_UPDATE. Header blocks are zlib with the SPDY/3
 * dictionary; ours are written as stored (uncompressed) deflate blocks, which any inflater reads and
 * which need no compressor state.
 */
import { createInflate, constants as zc, type Inflate } from 'node:zlib';

/** A byte pipe under the session: the upgraded socket, or a WebSocket carrying SPDY (tunneling). */
export interface Transport {
  write(data: Buffer): void;
  close(): void;
  onData(cb: (data: Buffer) => void): void;
  onClose(cb: () => void): void;
}

const dictionaryWords = [
  'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language',
  'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding',
  'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type', 'date', 'etag',
  'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since',
  'last-modified', 'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer',
  'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via', 'warning',
  'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive',
  'origin',
];
const dictionaryTail =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505203 Non-Authoritative Information' +
  '204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error' +
  '501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, ' +
  'Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,' +
  'publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

/** The SPDY/3 header compression dictionary (draft 3, section 2.6.10.1): 1423 bytes. */
export const headerDictionary: Buffer = (() => {
  const parts: Buffer[] = [];
  for (const w of dictionaryWords) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(w.length);
    parts.push(len, Buffer.from(w, 'latin1'));
  }
  parts.push(Buffer.from(dictionaryTail, 'latin1'));
  return Buffer.concat(parts);
})();

/** Adler-32, for the zlib dictionary id. */
export function adler32(b: Buffer): number {
  let a = 1;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    a = (a + b[i]) % 65521;
    s = (s + a) % 65521;
  }
  return ((s << 16) | a) >>> 0;
}

const Type = { synStream: 1, synReply: 2, rstStream: 3, settings: 4, ping: 6, goAway: 7, headers: 8, windowUpdate: 9 } as const;
const flagFin = 0x01;
/** RST_STREAM status codes used here. */
export const RstStatus = { protocolError: 1, invalidStream: 2, refusedStream: 3, cancel: 5, internalError: 6 } as const;

/** Encodes a header block (count, then length-prefixed names and NUL-joined values). */
export function encodeHeaders(h: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const entries = Object.entries(h);
  parts.push(u32(entries.length));
  for (const [k, v] of entries) {
    const kb = Buffer.from(k.toLowerCase());
    const vb = Buffer.from(v);
    parts.push(u32(kb.length), kb, u32(vb.length), vb);
  }
  return Buffer.concat(parts);
}

/** Decodes a header block; repeated values (NUL-separated) are joined with ", ". */
export function decodeHeaders(b: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let o = 0;
  const n = b.readUInt32BE(o);
  o += 4;
  for (let i = 0; i < n; i++) {
    const kl = b.readUInt32BE(o);
    const k = b.toString('latin1', o + 4, o + 4 + kl);
    o += 4 + kl;
    const vl = b.readUInt32BE(o);
    const v = b.toString('utf8', o + 4, o + 4 + vl);
    o += 4 + vl;
    out[k] = v.split('\0').join(', ');
  }
  return out;
}

/** One stream of a session, opened by the client. */
export class SpdyStream {
  readonly id: number;
  readonly headers: Record<string, string>;
  #session: SpdySession;
  #finSent = false;
  /** Called with each DATA payload. */
  ondata: (data: Buffer) => void = () => undefined;
  /** Called once when the client half-closes (FIN) or resets the stream. */
  onend: (reset: boolean) => void = () => undefined;

  constructor(session: SpdySession, id: number, headers: Record<string, string>) {
    this.#session = session;
    this.id = id;
    this.headers = headers;
  }

  /** Sends data on the stream (nothing after end()). */
  write(data: Buffer): void {
    if (this.#finSent) return;
    for (let o = 0; o < data.length; o += 0xffffff) this.#session.sendData(this.id, data.subarray(o, o + 0xffffff), false);
  }

  /** Half-closes our side with an empty FIN data frame, as spdystream's Close does. */
  end(): void {
    if (this.#finSent) return;
    this.#finSent = true;
    this.#session.sendData(this.id, Buffer.alloc(0), true);
  }

  /** Aborts the stream. */
  reset(status: number = RstStatus.cancel): void {
    this.#finSent = true;
    this.#session.sendRst(this.id, status);
  }
}

/** A SPDY/3.1 server session over one transport. */
export class SpdySession {
  #t: Transport;
  #buf: Buffer = Buffer.alloc(0);
  #inflate: Inflate;
  #inflated: Buffer[] = [];
  #wroteZlibHeader = false;
  #streams = new Map<number, SpdyStream>();
  #queue: Promise<void> = Promise.resolve();
  #closed = false;
  #onStream: (s: SpdyStream) => void;
  #onClose: (() => void) | undefined;

  constructor(t: Transport, onStream: (s: SpdyStream) => void, onClose?: () => void) {
    this.#t = t;
    this.#onStream = onStream;
    this.#onClose = onClose;
    this.#inflate = createInflate({ dictionary: headerDictionary });
    this.#inflate.on('data', (d: Buffer) => this.#inflated.push(d));
    this.#inflate.on('error', () => this.close());
    t.onData((d) => this.#onData(d));
    t.onClose(() => this.#shutdown());
  }

  /** Sends GOAWAY and closes the transport; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#control(Type.goAway, 0, u32pair(0, 0));
    this.#t.close();
    this.#shutdown();
  }

  /** Writes a DATA frame. */
  sendData(id: number, data: Buffer, fin: boolean): void {
    if (this.#closed) return;
    const h = Buffer.allocUnsafe(8);
    h.writeUInt32BE(id & 0x7fffffff, 0);
    h.writeUInt32BE(((fin ? flagFin : 0) << 24) | data.length, 4);
    this.#t.write(data.length ? Buffer.concat([h, data]) : h);
  }

  /** Drops a finished stream from the session's table. */
  forget(id: number): void {
    this.#streams.delete(id);
  }

  /** Writes a RST_STREAM and forgets the stream. */
  sendRst(id: number, status: number): void {
    this.#streams.delete(id);
    this.#control(Type.rstStream, 0, u32pair(id, status));
  }

  #shutdown(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#inflate.close();
    for (const s of this.#streams.values()) s.onend(true);
    this.#streams.clear();
    this.#onClose?.();
  }

  #control(type: number, flags: number, payload: Buffer): void {
    if (this.#closed) return;
    const h = Buffer.allocUnsafe(8);
    h.writeUInt32BE((((0x8000 | 3) << 16) | type) >>> 0, 0);
    h.writeUInt32BE((flags << 24) | payload.length, 4);
    this.#t.write(Buffer.concat([h, payload]));
  }

  /** A header block as stored deflate blocks: a zlib header (with the dictionary id) first time, then data and a sync marker. */
  #compress(block: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.#wroteZlibHeader) {
      this.#wroteZlibHeader = true;
      // CMF 0x78 (deflate, 32K window), FLG 0x20 (FDICT; 0x7820 is a multiple of 31, so FCHECK is 0).
      const zh = Buffer.from([0x78, 0x20, 0, 0, 0, 0]);
      zh.writeUInt32BE(adler32(headerDictionary), 2);
      parts.push(zh);
    }
    const sh = Buffer.from([0, 0, 0, 0, 0]);
    sh.writeUInt16LE(block.length, 1);
    sh.writeUInt16LE(~block.length & 0xffff, 3);
    parts.push(sh, block, Buffer.from([0, 0, 0, 0xff, 0xff]));
    return Buffer.concat(parts);
  }

  /** Reads one compressed header block through the session's inflater (its state spans frames). */
  #decompress(block: Buffer): Promise<Buffer> {
    return new Promise((resolve) => {
      this.#inflate.write(block);
      this.#inflate.flush(zc.Z_SYNC_FLUSH, () => resolve(Buffer.concat(this.#inflated.splice(0))));
    });
  }

  #onData(d: Buffer): void {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, d]) : d;
    while (this.#buf.length >= 8) {
      const len = this.#buf.readUInt32BE(4) & 0xffffff;
      if (this.#buf.length < 8 + len) break;
      const frame = this.#buf.subarray(0, 8 + len);
      this.#buf = this.#buf.subarray(8 + len);
      // Header blocks inflate asynchronously; the queue keeps frames in their wire order.
      this.#queue = this.#queue.then(() => this.#frame(frame)).catch(() => this.close());
    }
  }

  async #frame(f: Buffer): Promise<void> {
    if (this.#closed) return;
    const w0 = f.readUInt32BE(0);
    const flags = f[4];
    const p = f.subarray(8);
    if (!(w0 & 0x80000000)) {
      const s = this.#streams.get(w0 & 0x7fffffff);
      if (!s) return;
      if (p.length) s.ondata(p);
      if (flags & flagFin) s.onend(false);
      return;
    }
    switch (w0 & 0xffff) {
      case Type.synStream: {
        const id = p.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaders(await this.#decompress(p.subarray(10)));
        if (id === 0 || this.#streams.has(id)) return this.sendRst(id, RstStatus.protocolError);
        const s = new SpdyStream(this, id, headers);
        this.#streams.set(id, s);
        // spdystream's CreateStream waits for this reply before the client uses the stream.
        this.#control(Type.synReply, 0, Buffer.concat([u32(id), this.#compress(encodeHeaders({}))]));
        this.#onStream(s);
        if (flags & flagFin) s.onend(false);
        return;
      }
      case Type.headers:
        await this.#decompress(p.subarray(4));
        return;
      case Type.rstStream: {
        const id = p.readUInt32BE(0) & 0x7fffffff;
        const s = this.#streams.get(id);
        this.#streams.delete(id);
        s?.onend(true);
        return;
      }
      case Type.ping:
        // Client pings have odd ids; echoing them is the whole reply.
        this.#control(Type.ping, 0, p.subarray(0, 4));
        return;
      case Type.goAway:
        this.#t.close();
        this.#shutdown();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE and anything unknown: nothing to do without flow control.
        return;
    }
  }
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function u32pair(a: number, b: number): Buffer {
  return Buffer.concat([u32(a), u32(b)]);
}
