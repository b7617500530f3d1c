/**
 * The SNI of a TLS connection, read from its ClientHello without decrypting anything (Envoy's
 * tls_inspector listener filter): the first handshake message is reassembled from as many
 * handshake records as it spans, and its server_name extension read. The bytes peeked are handed
 * back so they can be sent upstream first; nothing is consumed.
 */
import type net from 'node:net';

/** Envoy's tls_inspector gives up on ClientHellos larger than this (max_client_hello_size default). */
export const maxClientHello = 64 * 1024;

/** Envoy's listener_filters_timeout default: a client that sends nothing for this long proceeds without SNI. */
export const peekTimeoutMs = 15_000;

/** What the first bytes of a connection say: not TLS, or TLS with the SNI ('' when the ClientHello names none). */
export interface HelloInfo {
  tls: boolean;
  sni: string;
}

const notTls: HelloInfo = { tls: false, sni: '' };

/**
 * Parses the start of a connection; undefined when more bytes are needed. Anything that is not a
 * well-formed ClientHello (another record type, a truncated extension, an oversized hello) reads
 * as "not TLS" / "no SNI", as the inspector then lets the connection through without a name.
 */
export function parseClientHello(buf: Buffer): HelloInfo | undefined {
  // Reassemble the handshake message: each record is type(1) version(2) length(2) fragment.
  let off = 0;
  let msg: Buffer | undefined;
  const parts: Buffer[] = [];
  let have = 0;
  let need = -1;
  while (true) {
    if (buf.length < off + 5) return buf.length > maxClientHello ? notTls : undefined;
    if (buf[off] !== 0x16 || buf[off + 1] !== 3) return notTls; // not a handshake record
    const len = buf.readUInt16BE(off + 3);
    if (buf.length < off + 5 + len) return off + 5 + len > maxClientHello + 5 ? notTls : undefined;
    const frag = buf.subarray(off + 5, off + 5 + len);
    parts.push(frag);
    have += frag.length;
    off += 5 + len;
    if (need < 0 && have >= 4) {
      const head = parts.length === 1 ? parts[0] : Buffer.concat(parts);
      if (head[0] !== 0x01) return notTls; // the first handshake message of a client is its ClientHello
      need = 4 + ((head[1] << 16) | (head[2] << 8) | head[3]);
      if (need > maxClientHello) return { tls: true, sni: '' };
    }
    if (need >= 0 && have >= need) {
      msg = parts.length === 1 ? parts[0] : Buffer.concat(parts);
      break;
    }
  }
  return { tls: true, sni: serverName(msg.subarray(4, need)) };
}

/** The host_name of a ClientHello body's server_name extension, lowercased; '' when absent or malformed. */
function serverName(b: Buffer): string {
  // client_version(2) random(32) session_id<1> cipher_suites<2> compression_methods<1> extensions<2>
  let p = 34;
  if (b.length < p + 1) return '';
  p += 1 + b[p];
  if (b.length < p + 2) return '';
  p += 2 + b.readUInt16BE(p);
  if (b.length < p + 1) return '';
  p += 1 + b[p];
  if (b.length < p + 2) return '';
  const end = Math.min(b.length, p + 2 + b.readUInt16BE(p));
  p += 2;
  while (p + 4 <= end) {
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    p += 4;
    if (p + len > end) return '';
    if (type === 0) {
      // server_name_list<2> of name_type(1) name<2>; the first host_name (type 0) counts.
      let q = p + 2;
      const listEnd = Math.min(p + len, p + 2 + b.readUInt16BE(p));
      while (q + 3 <= listEnd) {
        const nameType = b[q];
        const nameLen = b.readUInt16BE(q + 1);
        q += 3;
        if (q + nameLen > listEnd) return '';
        if (nameType === 0) return b.toString('latin1', q, q + nameLen).toLowerCase();
        q += nameLen;
      }
      return '';
    }
    p += len;
  }
  return '';
}

/** Called once the ClientHello is read (or the client stopped short of one); `bytes` must go upstream first. */
export type PeekDone = (hello: HelloInfo, bytes: Buffer) => void;

const kPeek = Symbol('skiff.proxy.peek');

interface Peek {
  buf: Buffer;
  done: PeekDone;
}

type Peeking = net.Socket & { [kPeek]?: Peek };

/**
 * Reads a connection's first bytes until its ClientHello is complete, then pauses the socket and
 * calls `done` (synchronously when `head` already holds it). A client that half-closes or stays
 * silent for `timeoutMs` proceeds without SNI (continue_on_listener_filters_timeout, as Istio
 * sets it); one that goes away is dropped without a call.
 */
export function peekClientHello(socket: net.Socket, head: Buffer, done: PeekDone, timeoutMs = peekTimeoutMs): void {
  const now = head.length ? parseClientHello(head) : undefined;
  if (now) return done(now, head);
  const s = socket as Peeking;
  s[kPeek] = { buf: head, done };
  s.on('data', onPeekData);
  s.on('end', onPeekEnd);
  s.on('close', onPeekClose);
  s.on('timeout', onPeekEnd);
  // Nothing else listens yet: a reset while peeking must not become an uncaught 'error'.
  s.on('error', onPeekError);
  s.setTimeout(timeoutMs);
  s.resume();
}

function stop(s: Peeking): Peek | undefined {
  const p = s[kPeek];
  s[kPeek] = undefined;
  s.off('data', onPeekData);
  s.off('end', onPeekEnd);
  s.off('close', onPeekClose);
  s.off('timeout', onPeekEnd);
  s.off('error', onPeekError);
  s.setTimeout(0);
  return p;
}

function onPeekData(this: Peeking, chunk: Buffer): void {
  const p = this[kPeek];
  if (!p) return;
  p.buf = p.buf.length ? Buffer.concat([p.buf, chunk]) : chunk;
  const hello = parseClientHello(p.buf);
  if (!hello) return;
  stop(this);
  // Paused until the upstream is connected and the pipe resumes it; later bytes wait in the socket.
  this.pause();
  p.done(hello, p.buf);
}

function onPeekEnd(this: Peeking): void {
  const p = stop(this);
  if (!p) return;
  this.pause();
  p.done(parseClientHello(p.buf) ?? notTls, p.buf);
}

function onPeekClose(this: Peeking): void {
  stop(this);
}

function onPeekError(this: Peeking): void {
  stop(this);
  this.destroy();
}
