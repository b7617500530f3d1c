import { ProtobufError } from './errors.ts';

/** Protobuf wire types that Kubernetes uses (groups, 3 and 4, are never used and are rejected). */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const utf8 = new TextDecoder();

/**
 * A cursor over one body. Offsets are absolute in the body so that errors point at the real byte.
 * The last varint is left in `lo`/`hi` instead of being returned as an object, to avoid an allocation
 * per field.
 */
export class Reader {
  readonly buf: Uint8Array;
  pos = 0;
  lo = 0;
  hi = 0;

  /** Wraps a body; nothing is copied. */
  constructor(buf: Uint8Array) {
    this.buf = buf;
  }

  /** Reads a varint of up to 64 bits into `lo`/`hi` without reading past `end`. */
  varint(end: number): void {
    let lo = 0;
    let hi = 0;
    const start = this.pos;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw new ProtobufError(`varint starting at byte ${start} is truncated at byte ${this.pos}`);
      const b = this.buf[this.pos++];
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= bits << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (b < 0x80) {
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return;
      }
    }
    throw new ProtobufError(`varint starting at byte ${start} is longer than 10 bytes`);
  }

  /** Reads a length prefix and returns the end of the bytes it covers, checked against `end`. */
  lengthEnd(end: number): number {
    const at = this.pos;
    this.varint(end);
    const len = this.lo;
    if (this.hi !== 0 || len > end - this.pos) {
      throw new ProtobufError(`length ${this.hi !== 0 ? 'over 4 GiB' : len} at byte ${at} runs past byte ${end}, truncated`);
    }
    return this.pos + len;
  }

  /** Skips one value of an unknown field. */
  skip(wire: number, field: number, end: number): void {
    const at = this.pos;
    if (wire === WIRE_VARINT) this.varint(end);
    else if (wire === WIRE_LEN) this.pos = this.lengthEnd(end);
    else if (wire === WIRE_FIXED64 || wire === WIRE_FIXED32) {
      const n = wire === WIRE_FIXED64 ? 8 : 4;
      if (end - this.pos < n) throw new ProtobufError(`fixed-size field ${field} at byte ${at} is truncated at byte ${end}`);
      this.pos += n;
    } else throw new ProtobufError(`unsupported wire type ${wire} for field ${field} at byte ${at}`);
  }

  /** The last varint as a signed 64-bit number; precision is lost beyond 2^53, which no real field reaches. */
  int64(): number {
    if (this.hi & 0x80000000) return -((~this.hi >>> 0) * 0x100000000 + (~this.lo >>> 0) + 1);
    return this.hi * 0x100000000 + this.lo;
  }

  /** The last varint as a signed 32-bit number (negative int32 values are sign-extended to 10 bytes). */
  int32(): number {
    return this.lo | 0;
  }

  /** UTF-8 text of bytes [start, end); invalid sequences become U+FFFD, as Go would keep them as bytes. */
  text(start: number, end: number): string {
    return utf8.decode(this.buf.subarray(start, end));
  }

  /** Base64 of bytes [start, end), as encoding/json writes []byte. */
  base64(start: number, end: number): string {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + start, end - start).toString('base64');
  }
}
