// Test-only protobuf encoder driven by the same schema tables as the decoder. With `goZeros` it writes
// every non-pointer field even when zero, as Go's generated marshallers do, so the zero-dropping rules
// of the decoder are exercised; field numbers themselves are checked by the hand-written and captured
// vectors in decode.test.ts, not by this encoder.
import { messages } from './schema.ts';
import type { FieldSchema, FieldType, MessageSchema } from './schema-types.ts';

type Json = Record<string, unknown>;

/** Encoder switches. */
export interface EncodeOptions {
  goZeros?: boolean;
}

/** Encodes `obj` as message `name`. */
export function encodeMessage(name: string, obj: Json, opts: EncodeOptions = {}): Uint8Array {
  const msg = messages.get(name);
  if (!msg) throw new Error(`no message ${name}`);
  return Uint8Array.from(encodeObject(msg, obj, opts));
}

/** Builds a full kubectl body: magic, runtime.Unknown{typeMeta, raw, contentEncoding "", contentType ""}. */
export function encodeKubeBody(obj: Json, messageName: string, opts: EncodeOptions = {}): Uint8Array {
  const { apiVersion, kind, ...rest } = obj;
  const typeMeta = [...lenField(1, utf8(String(apiVersion))), ...lenField(2, utf8(String(kind)))];
  const raw = encodeMessage(messageName, rest, opts);
  return Uint8Array.from([0x6b, 0x38, 0x73, 0x00, ...lenField(1, typeMeta), ...lenField(2, [...raw]), ...lenField(3, []), ...lenField(4, [])]);
}

/** A varint, two's complement for negatives as protobuf int32/int64 do. */
export function varint(n: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

/** A length-delimited field. */
export function lenField(field: number, bytes: number[]): number[] {
  return [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes];
}

function utf8(s: string): number[] {
  return [...Buffer.from(s, 'utf8')];
}

function encodeObject(msg: MessageSchema, obj: Json, opts: EncodeOptions): number[] {
  const out: number[] = [];
  const fields = [...msg.fields.entries()].sort((a, b) => a[0] - b[0]);
  for (const [num, f] of fields) {
    if (f.inline) {
      // The inline struct's keys live in the parent object; a non-pointer inline struct is always written.
      out.push(...lenField(num, encodeObject(f.type as MessageSchema, obj, opts)));
      continue;
    }
    const v = obj[f.name];
    if (f.map) {
      for (const [k, mv] of Object.entries((v ?? {}) as Json)) out.push(...lenField(num, [...lenField(1, utf8(k)), ...valueField(2, f.type, mv, opts)]));
    } else if (f.repeated) {
      for (const item of (v ?? []) as unknown[]) out.push(...valueField(num, f.type, item, opts));
    } else if (v !== undefined) out.push(...valueField(num, f.type, v, opts));
    else if (opts.goZeros && !f.keep) out.push(...valueField(num, f.type, zero(f), opts));
  }
  return out;
}

function zero(f: FieldSchema): unknown {
  if (typeof f.type === 'object') return {};
  if (f.type === 'b') return false;
  if (f.type === 'i' || f.type === 'l') return 0;
  if (f.type === 'n') return 0;
  if (f.type === 't') return null;
  return '';
}

function valueField(num: number, type: FieldType, v: unknown, opts: EncodeOptions): number[] {
  if (typeof type === 'object') return lenField(num, encodeObject(type, v as Json, opts));
  switch (type) {
    case 'b':
      return [...varint(num << 3), v ? 1 : 0];
    case 'i':
    case 'l':
      return [...varint(num << 3), ...varint(v as number)];
    case 's':
    case 'q':
      return type === 's' ? lenField(num, utf8(v as string)) : lenField(num, lenField(1, utf8(v as string)));
    case 'y':
      return lenField(num, [...Buffer.from(v as string, 'base64')]);
    case 'n': {
      // Go writes all three IntOrString fields: type, intVal, strVal.
      const isStr = typeof v === 'string';
      return lenField(num, [0x08, isStr ? 1 : 0, ...varint(16), ...varint(isStr ? 0 : (v as number)), ...lenField(3, utf8(isStr ? v : ''))]);
    }
    case 't':
    case 'm':
      // A zero Go time marshals to an empty message.
      return lenField(num, v == null ? [] : [...varint(8), ...varint(Math.floor(Date.parse(v as string) / 1000))]);
    case 'r':
      return lenField(num, lenField(1, utf8(JSON.stringify(v))));
  }
}
