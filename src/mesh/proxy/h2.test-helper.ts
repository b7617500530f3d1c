/**
 * Fixtures for the HTTP/2 and gRPC tests: an h2c client with prior knowledge, h2c apps on loopback,
 * and gRPC's wire framing (5-byte length-prefixed messages, grpc-status trailers) without a gRPC
 * library.
 */
import http2 from 'node:http2';
import type net from 'node:net';

/** What an HTTP/2 exchange returned. */
export interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  /** Flags of the response HEADERS frame (END_STREAM set: a trailers-only / bodiless response). */
  flags: number;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders | undefined;
}

/** True when the response HEADERS frame ended the stream. */
export function endedWithHeaders(r: H2Reply): boolean {
  return (r.flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
}

/** An h2c (prior knowledge) session to ip:port; close it when done. */
export function h2Connect(ip: string, port: number): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`http://${ip}:${port}`);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** One request on `session`: headers (pseudo-headers included), optional body and request trailers. */
export function h2Request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer | string, trailers?: http2.OutgoingHttpHeaders): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const withBody = body !== undefined || trailers !== undefined;
    const st = session.request({ ':method': withBody ? 'POST' : 'GET', ...headers }, withBody ? { waitForTrailers: trailers !== undefined } : { endStream: true });
    if (trailers) st.on('wantTrailers', () => st.sendTrailers(trailers));
    let reply: H2Reply | undefined;
    const chunks: Buffer[] = [];
    st.on('response', (h, flags) => {
      reply = { status: Number(h[':status']), headers: h, flags, body: Buffer.alloc(0), trailers: undefined };
    });
    st.on('trailers', (t) => {
      if (reply) reply.trailers = t;
    });
    st.on('data', (c: Buffer) => chunks.push(c));
    st.on('end', () => {
      if (!reply) return reject(new Error('stream ended without a response'));
      reply.body = Buffer.concat(chunks);
      resolve(reply);
    });
    st.on('error', reject);
    if (withBody) st.end(body);
  });
}

/** A gRPC message frame: uncompressed flag, 4-byte big-endian length, payload. */
export function grpcFrame(payload: string): Buffer {
  const p = Buffer.from(payload);
  const out = Buffer.alloc(5 + p.length);
  out.writeUInt32BE(p.length, 1);
  p.copy(out, 5);
  return out;
}

/** The payload of the first gRPC message frame in `buf`. */
export function grpcPayload(buf: Buffer): string {
  if (buf.length < 5) return '';
  return buf.subarray(5, 5 + buf.readUInt32BE(1)).toString();
}

/** Handles one stream of an h2c app: the request headers and its whole body (with request trailers). */
export type H2Handler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, body: Buffer, trailers: http2.IncomingHttpHeaders | undefined) => void;

/** An h2c app on ip (free port), recording the requests it saw. */
export async function h2App(ip: string, handler: H2Handler): Promise<{ server: http2.Http2Server; port: number; seen: http2.IncomingHttpHeaders[]; sessions: () => number }> {
  const seen: http2.IncomingHttpHeaders[] = [];
  let sessions = 0;
  const server = http2.createServer();
  server.on('session', () => sessions++);
  server.on('stream', (stream, headers) => {
    seen.push(headers);
    const chunks: Buffer[] = [];
    let trailers: http2.IncomingHttpHeaders | undefined;
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => handler(stream, headers, Buffer.concat(chunks), trailers));
    stream.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, ip, resolve));
  return { server, port: (server.address() as net.AddressInfo).port, seen, sessions: () => sessions };
}

/** A unary gRPC answer: headers, one message, grpc-status trailers. */
export function grpcReply(stream: http2.ServerHttp2Stream, payload: string, status = '0'): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': status, 'grpc-message': '' }));
  stream.end(grpcFrame(payload));
}

/** A trailers-only gRPC error: one HEADERS frame with END_STREAM. */
export function grpcError(stream: http2.ServerHttp2Stream, status: string, message: string): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': status, 'grpc-message': message }, { endStream: true });
}

/** Closes h2 servers and their sessions. */
export async function closeH2(servers: http2.Http2Server[]): Promise<void> {
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
}
