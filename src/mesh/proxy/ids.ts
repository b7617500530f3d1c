/**
 * Random ids for requests (x-request-id, a UUID v4) and spans (hex trace and span ids), cut from
 * text rendered a batch at a time. Making a string from bytes is a call into node's C++ (~2k
 * instructions); a request needs up to three ids, so each is a slice of text made once per 16 ids
 * instead (V8 makes a slice of 13 or more characters a view of its parent, not a copy). Measured
 * with three ids and a head made from them: 6.0k instructions a request before, 2.7k after.
 *
 * A batch is small so that its text dies young: every id keeps its batch's whole text alive, and
 * text that outlives two scavenges goes to V8's old space, garbage there until the next full GC.
 * Batches of 128 lived ~6 ms at full load, as long as a scavenge period, and were most of what a
 * sidecar's old space gained under load (docs/performance.md).
 *
 * The random bytes come from a pool filled 6 KiB at a time, as Envoy's random generator buffers
 * its RAND_bytes: each randomFillSync is a crypto job (an AsyncWrap, a call into OpenSSL), and one
 * per batch of 16 was ~3.5 % of a sidecar's user time at 1,000 rps. The pool is long-lived but
 * fixed; only the rendered text is made per batch.
 */
import { randomFillSync } from 'node:crypto';

/** Ids per rendered batch. */
const batch = 16;
/** Random bytes per batch of hex ids: 16 requests' trace id (16) and span id (8). */
const hexBytes = 16 * 24;
const HEX = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
/** Random bytes, used front to back and refilled whole. A multiple of both batches' needs. */
const pool = Buffer.allocUnsafeSlow(16 * 16 * 24);
let poolAt = pool.length;
const text = Buffer.allocUnsafe(36 * batch);

/** The offset of `n` fresh random bytes in `pool`. */
function take(n: number): number {
  if (poolAt + n > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const at = poolAt;
  poolAt += n;
  return at;
}

let uuids = '';
let uuidAt = 0;
let hex = '';
let hexAt = 0;

/** Byte value → its two lowercase hex digits as one little-endian 16-bit unit (first digit low). */
const HEX2 = Uint16Array.from({ length: 256 }, (_, v) => HEX[v >> 4] | (HEX[v & 15] << 8));
/** `text` written 16 bits at a time, at any offset (V8 compiles DataView accesses to single moves). */
const text16 = new DataView(text.buffer, text.byteOffset, text.length);

/** Writes byte `v` as two lowercase hex digits at `text[j]`; returns the next offset. */
function hexPair(v: number, j: number): number {
  text16.setUint16(j, HEX2[v], true);
  return j + 2;
}

/** `batch` UUID v4s (RFC 9562) in lowercase hex, back to back: 8-4-4-4-12 digits, written straight through. */
function renderUuids(): string {
  const from = take(16 * batch);
  let j = 0;
  for (let at = from; at < from + 16 * batch; at += 16) {
    for (let i = 0; i < 4; i++) j = hexPair(pool[at + i], j);
    text[j++] = 45; // '-'
    j = hexPair(pool[at + 4], j);
    j = hexPair(pool[at + 5], j);
    text[j++] = 45;
    j = hexPair((pool[at + 6] & 0x0f) | 0x40, j); // version 4
    j = hexPair(pool[at + 7], j);
    text[j++] = 45;
    j = hexPair((pool[at + 8] & 0x3f) | 0x80, j); // variant 10
    j = hexPair(pool[at + 9], j);
    text[j++] = 45;
    for (let i = 10; i < 16; i++) j = hexPair(pool[at + i], j);
  }
  return text.toString('latin1', 0, j);
}

/** A new request id: a UUID v4 in lowercase hex, as Envoy generates for x-request-id. */
export function newRequestId(): string {
  if (uuidAt === uuids.length) {
    uuids = renderUuids();
    uuidAt = 0;
  }
  const id = uuids.slice(uuidAt, uuidAt + 36);
  uuidAt += 36;
  return id;
}

/** `bytes` random bytes in lowercase hex (a trace id is 16, a span id 8), never all zeros. */
export function randomHex(bytes: number): string {
  const n = bytes * 2;
  if (hexAt + n > hex.length) {
    const at = take(hexBytes);
    hex = pool.toString('hex', at, at + hexBytes);
    hexAt = 0;
  }
  const s = hex.slice(hexAt, hexAt + n);
  hexAt += n;
  // An all-zero id is invalid in both B3 and W3C: 2^-64 per id, and the first character rules it out 15 times in 16.
  return s.charCodeAt(0) === 48 && /^0+$/.test(s) ? randomHex(bytes) : s;
}
