/**
 * One HTTP/2 request upstream, shaped like the http.ClientRequest the router drives, so the router
 * runs attempts the same way on HTTP/1.1 and HTTP/2 clusters (Envoy translates either way too):
 * - it is a Writable for the request body (write/end/pipe), destroy() resets the stream (CANCEL);
 * - 'response' hands over the stream itself dressed as an IncomingMessage: statusCode, statusMessage
 *   (HTTP/2 has none: the standard phrase, as Envoy's HTTP/1 codec writes), headers, rawHeaders
 *   without `:status`, `complete`, and `trailers`/`rawTrailers` set before 'end';
 * - 'error' comes only before a response (a reset after it shows as a 'close' without `complete`,
 *   as an IncomingMessage cut short), with `remoteReset` telling the router what kind of reset;
 * - `socket` is the session's socket (%UPSTREAM_LOCAL_ADDRESS%).
 *
 * Request headers are translated once: Host becomes `:authority`, connection-specific headers go
 * (RFC 9113 §8.2.2), gRPC requests carry `te: trailers`. A request with a body keeps the stream
 * open after it (waitForTrailers) so the downstream client's trailers can follow.
 */
import http from 'node:http';
import type http2 from 'node:http2';
import type net from 'node:net';
import { Writable } from 'node:stream';
import { noTrailers } from '../h1/fields.ts';
import { nghttp2 } from '../lazy.ts';
import type { UpstreamRequest } from './types.ts';

const { CANCEL: NGHTTP2_CANCEL, REFUSED_STREAM: NGHTTP2_REFUSED_STREAM, FLAG_END_STREAM: NGHTTP2_FLAG_END_STREAM } = nghttp2;

/** Request headers HTTP/2 forbids or the pseudo-headers replace. */
const dropped = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'te']);

/** What a call reports to its session: the stream is gone (slot free). */
export interface StreamSlot {
  streamEnded(): void;
}

/** The stream as the router reads it (an IncomingMessage stand-in). */
export interface H2Incoming extends http2.ClientHttp2Stream {
  statusCode: number;
  statusMessage: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  trailers: http.IncomingHttpHeaders;
  rawTrailers: string[];
  complete: boolean;
}

const kCall = Symbol('skiff.upstream.h2call');
type Tagged = http2.ClientHttp2Stream & { [kCall]?: H2Call };

const noTrailerMap: http.IncomingHttpHeaders = Object.freeze({}) as http.IncomingHttpHeaders;

/** The HTTP/2 header object of an upstream request (see the file comment). */
export function h2RequestHeaders(req: UpstreamRequest, authority: string): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = { ':method': req.method, ':scheme': 'http', ':authority': authority, ':path': req.path };
  const raw = req.headers;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const value = raw[i + 1];
    if (dropped.has(name)) {
      if (name === 'host') out[':authority'] = value;
      continue;
    }
    // gRPC servers expect `te: trailers` (the router drops TE as hop-by-hop).
    if (name === 'content-type' && value.startsWith('application/grpc')) out.te = 'trailers';
    const cur = out[name];
    if (cur === undefined) out[name] = value;
    else if (Array.isArray(cur)) cur.push(value);
    else out[name] = [String(cur), value];
  }
  return out;
}

/** Flat name/value pairs of a header object, pseudo-headers left out. */
function flatten(h: http.IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || k.charCodeAt(0) === 58 /* : */) continue;
    if (Array.isArray(v)) for (const x of v) out.push(k, x);
    else out.push(k, v);
  }
  return out;
}

function withoutPseudo(raw: string[] | undefined, h: http.IncomingHttpHeaders): string[] {
  if (!raw) return flatten(h);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i].charCodeAt(0) !== 58) out.push(raw[i], raw[i + 1]);
  return out;
}

function onResponse(this: Tagged, headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader, flags: number, raw?: string[]): void {
  const r = this as H2Incoming;
  const status = Number(headers[':status']);
  r.statusCode = status;
  r.statusMessage = http.STATUS_CODES[status] ?? '';
  r.headers = headers;
  r.rawHeaders = withoutPseudo(raw, headers);
  r.trailers = noTrailerMap;
  r.rawTrailers = noTrailers;
  // END_STREAM on the headers: a complete response without body (gRPC trailers-only).
  r.complete = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
  this[kCall]?.streamResponded(r);
}

function onTrailers(this: Tagged, trailers: http2.IncomingHttpHeaders): void {
  const r = this as H2Incoming;
  r.trailers = trailers;
  r.rawTrailers = flatten(trailers);
}

function onEnd(this: Tagged): void {
  (this as H2Incoming).complete = true;
}

function onError(this: Tagged, err: Error): void {
  this[kCall]?.streamFailed(err);
}

function onClose(this: Tagged): void {
  this[kCall]?.streamClosed();
}

function onWantTrailers(this: Tagged): void {
  this[kCall]?.trailersWanted();
}

/** One upstream HTTP/2 exchange (see the file comment). */
export class H2Call extends Writable {
  readonly socket: net.Socket;
  /** As ClientRequest.reusedSocket for the router: true when the upstream refused the stream (it never ran). */
  reusedSocket = false;
  /** 0: the connection failed under the stream; 1: the upstream reset the stream; 2: it refused it. */
  remoteReset = 0;
  readonly #stream: Tagged;
  readonly #slot: StreamSlot;
  readonly #session: http2.ClientHttp2Session;
  readonly #trailersFrom: http.IncomingMessage | undefined;
  #ended: boolean;
  #responded = false;
  #failed = false;
  #closed = false;

  /** Opens the stream at once (headers go out now, as Envoy's); throws when the session cannot take it. */
  constructor(session: http2.ClientHttp2Session, socket: net.Socket, req: UpstreamRequest, authority: string, slot: StreamSlot) {
    // No autoDestroy: destroy() means "reset the stream" (the router abandoning the attempt), never "body sent".
    super({ decodeStrings: false, autoDestroy: false });
    this.socket = socket;
    this.#slot = slot;
    this.#session = session;
    this.#trailersFrom = req.trailersFrom;
    this.#ended = req.endStream === true;
    const stream = session.request(h2RequestHeaders(req, authority), this.#ended ? { endStream: true } : { waitForTrailers: true }) as Tagged;
    this.#stream = stream;
    stream[kCall] = this;
    stream.on('response', onResponse);
    stream.on('trailers', onTrailers);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
    if (!this.#ended) stream.on('wantTrailers', onWantTrailers);
  }

  override _write(chunk: Buffer | string, enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#stream.write(chunk, enc, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.#ended) {
      this.#ended = true;
      if (!this.#stream.destroyed) this.#stream.end();
    }
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const st = this.#stream;
    if (!st.closed && !st.destroyed) st.close(NGHTTP2_CANCEL);
    cb(err);
  }

  /** Response headers arrived (listener). */
  streamResponded(r: H2Incoming): void {
    this.#responded = true;
    this.emit('response', r);
  }

  /** The stream failed (listener): before a response the router hears of it; after, the response's 'close' says it. */
  streamFailed(err: Error): void {
    if (this.#responded || this.#failed) return;
    this.#failed = true;
    const code = this.#stream.rstCode;
    if (code === NGHTTP2_REFUSED_STREAM) {
      this.remoteReset = 2;
      this.reusedSocket = true;
    } else if (code !== undefined && !this.#session.destroyed && !this.#session.closed) this.remoteReset = 1;
    this.emit('error', err);
  }

  /** The stream closed (listener): its slot is free; without a response or error it was reset quietly. */
  streamClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#slot.streamEnded();
    if (!this.#responded && !this.#failed && !this.destroyed) {
      const code = this.#stream.rstCode;
      this.streamFailed(Object.assign(new Error(`upstream stream closed before a response (code ${code ?? 0})`), { code: 'ECONNRESET' }));
    }
  }

  /** The request body is out (listener): the downstream client's trailers follow, or none. */
  trailersWanted(): void {
    const st = this.#stream;
    if (st.destroyed || st.closed) return;
    const from = this.#trailersFrom;
    st.sendTrailers(from && from.rawTrailers.length > 0 ? from.trailers : {});
  }
}
