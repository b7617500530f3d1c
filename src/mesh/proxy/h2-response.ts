/**
 * The response side of a downstream HTTP/2 stream, shaped like the http.ServerResponse the request
 * path drives (writeHead with a flat header list, write/end/pipe, addTrailers, headersSent,
 * statusCode, destroy, writableFinished, 'close').
 *
 * Why not node's compatibility API (Http2ServerResponse): it always sends HEADERS and then an
 * empty DATA frame to end the stream, so a gRPC trailers-only response (Envoy's local replies, a
 * fault abort, an upstream's trailers-only answer) would reach gRPC clients as "headers, then no
 * status". Here the head is held until the first body byte or the end: a response with no body
 * goes out as one HEADERS frame with END_STREAM, and trailers follow the body as a HEADERS frame.
 * It also drops the connection-specific headers HTTP/2 forbids (RFC 9113 §8.2.2), so the request
 * path needs no HTTP/2 case for `connection: close` while draining.
 */
import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { Writable } from 'node:stream';
import { nghttp2 } from './lazy.ts';

const NGHTTP2_INTERNAL_ERROR = nghttp2.INTERNAL_ERROR;

/** Response headers HTTP/2 forbids; node would throw on them. */
const connectionSpecific = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'te', 'trailer']);

/** HTTP/2 frame header size, for the wire estimate. */
const FRAME = 9;

const kRes = Symbol('skiff.proxy.h2response');
type Tagged = ServerHttp2Stream & { [kRes]?: H2Response };

/** Header lists as the request path writes them: flat pairs, or an object (admin replies). */
export type HeaderList = string[] | Record<string, string | number | string[] | undefined>;

/** A flat or object header list as an HTTP/2 header object with `:status`, minus forbidden names; adds their estimated size to `size.n`. */
function toH2(status: number | undefined, list: HeaderList | undefined, size: { n: number }): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = status === undefined ? {} : { ':status': status };
  let n = FRAME + 4;
  const add = (name: string, value: string): void => {
    if (connectionSpecific.has(name)) return;
    n += name.length + value.length + 2;
    const cur = out[name];
    if (cur === undefined) out[name] = value;
    else if (Array.isArray(cur)) cur.push(value);
    else out[name] = [String(cur), value];
  };
  if (Array.isArray(list)) {
    for (let i = 0; i < list.length; i += 2) add(list[i].toLowerCase(), list[i + 1]);
  } else if (list) {
    for (const [k, v] of Object.entries(list)) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const x of v) add(k.toLowerCase(), x);
      else add(k.toLowerCase(), String(v));
    }
  }
  size.n += n;
  return out;
}

function onStreamClose(this: Tagged): void {
  this[kRes]?.streamClosed();
}

function ignore(): void {}

function onWantTrailers(this: Tagged): void {
  this[kRes]?.trailersWanted();
}

/** One HTTP/2 response (see the file comment). */
export class H2Response extends Writable {
  statusCode = 200;
  /** Estimated bytes of the response on the wire: frame headers, header blocks uncompressed, data. */
  readonly wire = { n: 0 };
  readonly #stream: ServerHttp2Stream;
  #head: OutgoingHttpHeaders | undefined;
  #trailers: OutgoingHttpHeaders | undefined;
  #responded = false;
  #ended = false;
  /** HEAD: the head only, whatever body the upstream or a local reply carries. */
  readonly #bodiless: boolean;

  constructor(stream: ServerHttp2Stream, head: boolean) {
    super({ decodeStrings: false });
    this.#stream = stream;
    this.#bodiless = head;
    // A write that fails (the stream went away) destroys this response, which reports it through
    // 'close' like any cut response; the error itself has nobody to go to.
    this.on('error', ignore);
    (stream as Tagged)[kRes] = this;
    stream.on('close', onStreamClose);
    // A client reset: 'close' follows and ends the response; this listener only keeps node from throwing.
    stream.on('error', ignore);
    stream.on('wantTrailers', onWantTrailers);
  }

  /** True once writeHead ran (as http.ServerResponse: the head is decided, even if not flushed yet). */
  get headersSent(): boolean {
    return this.#head !== undefined;
  }

  /** writeHead(status, [statusMessage], headers): HTTP/2 has no reason phrase, so a message is ignored. */
  writeHead(status: number, a?: string | HeaderList, b?: HeaderList): this {
    this.statusCode = status;
    this.#head = toH2(status, typeof a === 'string' || a === undefined ? b : a, this.wire);
    return this;
  }

  /** Trailers sent after the body (gRPC's grpc-status); an empty set sends none. */
  addTrailers(t: Record<string, string | string[] | undefined>): void {
    const h = toH2(undefined, t, this.wire);
    if (Object.keys(h).length) this.#trailers = h;
  }

  #respond(endStream: boolean): boolean {
    const st = this.#stream;
    if (st.destroyed || st.closed) return false;
    this.#responded = true;
    try {
      // waitForTrailers keeps the stream open after the last DATA frame so trailers can follow it.
      st.respond(this.#head ?? { ':status': this.statusCode }, endStream ? { endStream: true } : { waitForTrailers: true });
    } catch {
      // Headers node refuses (a duplicated single-value header from an upstream): reset the stream.
      st.close(NGHTTP2_INTERNAL_ERROR);
      return false;
    }
    return true;
  }

  override _write(chunk: Buffer | string, enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const len = typeof chunk === 'string' ? Buffer.byteLength(chunk, enc) : chunk.length;
    // An empty write must not open the body: a bodiless response stays a single HEADERS frame.
    if (len === 0 || this.#bodiless) return cb();
    if (!this.#responded && !this.#respond(false)) return cb();
    this.wire.n += len + FRAME;
    this.#stream.write(chunk, enc, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#ended = true;
    const st = this.#stream;
    if (!this.#responded) {
      // No body: HEADERS with END_STREAM (a trailers-only response for gRPC), unless trailers follow.
      if (this.#trailers === undefined) {
        this.#respond(true);
        this.#drainRequest();
        return cb();
      }
      if (!this.#respond(false)) return cb();
    }
    if (!st.destroyed) st.end();
    this.#drainRequest();
    cb();
  }

  /** A request body nobody reads (a local reply) is discarded so the client can finish sending. */
  #drainRequest(): void {
    const st = this.#stream;
    if (!st.readableEnded && st.readableFlowing !== true) st.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Destroyed before the end (the proxy cut the response, or the client went away): reset the stream.
    const st = this.#stream;
    if (!this.#ended && !st.closed && !st.destroyed) st.close(NGHTTP2_INTERNAL_ERROR);
    cb(err);
  }

  /** The stream closed (listener): a response not ended by then was cut short. */
  streamClosed(): void {
    if (!this.#ended && !this.destroyed) this.destroy();
  }

  /** The last DATA frame is queued (listener): send the trailers, or end the stream without any. */
  trailersWanted(): void {
    const st = this.#stream;
    if (st.destroyed || st.closed) return;
    st.sendTrailers(this.#trailers ?? {});
  }
}
