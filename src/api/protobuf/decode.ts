import { ProtobufError } from './errors.ts';
import type { FieldSchema, FieldType, MessageSchema } from './schema-types.ts';
import { Reader, WIRE_LEN, WIRE_VARINT } from './wire.ts';

// Real objects nest about 12 deep; the cap only stops hostile input from exhausting the stack.
const MAX_DEPTH = 64;
// RFC 3339 has four-digit years; Go refuses to marshal anything outside them.
const MIN_SECONDS = -62167219200; // 0000-01-01T00:00:00Z
const MAX_SECONDS = 253402300799; // 9999-12-31T23:59:59Z

type Json = Record<string, unknown>;

/**
 * Decodes bytes [pos, end) of the reader as `msg` into `out`, converted to the JSON kubectl would have sent.
 * Decoding into an existing object gives protobuf's merge semantics for a repeated singular message.
 */
export function decodeMessage(r: Reader, msg: MessageSchema, end: number, depth = 0, out: Json = {}): Json {
  if (depth > MAX_DEPTH) throw new ProtobufError(`message ${msg.name} at byte ${r.pos} nests deeper than ${MAX_DEPTH} levels`);
  while (r.pos < end) {
    const at = r.pos;
    r.varint(end);
    const field = r.lo >>> 3;
    const wire = r.lo & 7;
    if (field === 0 || r.hi !== 0) throw new ProtobufError(`invalid field number at byte ${at}`);
    const f = msg.fields.get(field);
    // A known field with an unexpected wire type is treated as unknown, as protobuf-go does.
    if (f === undefined || !wireMatches(f, wire)) {
      r.skip(wire, field, end);
      continue;
    }
    if (f.map) readMapEntry(r, f, out, end, depth);
    else if (f.repeated) readRepeated(r, f, wire, out, end, depth);
    else if (typeof f.type === 'object') {
      const stop = r.lengthEnd(end);
      const prev = out[f.name];
      // An inline Go struct's fields belong to the parent, so decode straight into it.
      const target = f.inline ? out : isObject(prev) ? prev : {};
      decodeMessage(r, f.type, stop, depth + 1, target);
      r.pos = stop;
      if (f.inline) continue;
      if (!f.keep && isZero(target)) delete out[f.name];
      else out[f.name] = target;
    } else {
      const v = readValue(r, f.type, end, depth);
      if (v === undefined || (!f.keep && isZero(v))) delete out[f.name];
      else out[f.name] = v;
    }
  }
  return out;
}

function wireMatches(f: FieldSchema, wire: number): boolean {
  if (f.map) return wire === WIRE_LEN;
  if (f.type === 'b' || f.type === 'i' || f.type === 'l') return wire === WIRE_VARINT || (f.repeated && wire === WIRE_LEN);
  return wire === WIRE_LEN;
}

function readRepeated(r: Reader, f: FieldSchema, wire: number, out: Json, end: number, depth: number): void {
  let list = out[f.name] as unknown[] | undefined;
  if (list === undefined) out[f.name] = list = [];
  if (wire === WIRE_LEN && (f.type === 'b' || f.type === 'i' || f.type === 'l')) {
    // Packed encoding: proto2 Kubernetes never writes it, but any protobuf writer may.
    const stop = r.lengthEnd(end);
    while (r.pos < stop) list.push(readValue(r, f.type, stop, depth));
    return;
  }
  // Elements keep zero values: position in a list is meaningful.
  const v = readValue(r, f.type, end, depth);
  list.push(v === undefined ? zeroOf(f.type) : v);
}

function readMapEntry(r: Reader, f: FieldSchema, out: Json, end: number, depth: number): void {
  const stop = r.lengthEnd(end);
  let key = '';
  let value: unknown;
  while (r.pos < stop) {
    const at = r.pos;
    r.varint(stop);
    const field = r.lo >>> 3;
    const wire = r.lo & 7;
    if (field === 0 || r.hi !== 0) throw new ProtobufError(`invalid field number at byte ${at}`);
    if (field === 1 && wire === WIRE_LEN) {
      const e = r.lengthEnd(stop);
      key = r.text(r.pos, e);
      r.pos = e;
    } else if (field === 2 && wire === WIRE_LEN) value = readValue(r, f.type, stop, depth);
    else r.skip(wire, field, stop);
  }
  let map = out[f.name] as Json | undefined;
  if (map === undefined) out[f.name] = map = {};
  // defineProperty, not assignment: a key such as "__proto__" must stay plain data.
  Object.defineProperty(map, key, { value: value ?? zeroOf(f.type), enumerable: true, writable: true, configurable: true });
}

/** Reads one value of `type`; the wire type was already checked. Undefined means "absent" (a zero Time). */
function readValue(r: Reader, type: FieldType, end: number, depth: number): unknown {
  if (typeof type === 'object') {
    const stop = r.lengthEnd(end);
    const v = decodeMessage(r, type, stop, depth + 1);
    r.pos = stop;
    return v;
  }
  switch (type) {
    case 'b':
      r.varint(end);
      return r.lo !== 0 || r.hi !== 0;
    case 'i':
      r.varint(end);
      return r.int32();
    case 'l':
      r.varint(end);
      return r.int64();
  }
  const stop = r.lengthEnd(end);
  const start = r.pos;
  r.pos = stop;
  switch (type) {
    case 's':
      return r.text(start, stop);
    case 'y':
      return r.base64(start, stop);
    default:
      return readSpecial(r, type, start, stop);
  }
}

/** Messages with a custom JSON form: Time, MicroTime, IntOrString, Quantity, RawExtension. */
function readSpecial(r: Reader, type: 't' | 'm' | 'n' | 'q' | 'r', start: number, stop: number): unknown {
  const saved = r.pos;
  r.pos = start;
  // Every one of them has at most three fields; slot 0 is unused so field numbers index directly.
  const nums = [0, 0, 0, 0];
  const strs = ['', '', '', ''];
  let rawStart = 0;
  let rawEnd = 0;
  while (r.pos < stop) {
    const at = r.pos;
    r.varint(stop);
    const field = r.lo >>> 3;
    const wire = r.lo & 7;
    if (field === 0 || r.hi !== 0) throw new ProtobufError(`invalid field number at byte ${at}`);
    if (field > 3) r.skip(wire, field, stop);
    else if (wire === WIRE_VARINT) {
      r.varint(stop);
      nums[field] = r.int64();
    } else if (wire === WIRE_LEN) {
      const e = r.lengthEnd(stop);
      if (type !== 'r') strs[field] = r.text(r.pos, e);
      else if (field === 1) [rawStart, rawEnd] = [r.pos, e]; // raw is JSON bytes, parsed below
      r.pos = e;
    } else r.skip(wire, field, stop);
  }
  r.pos = saved;
  switch (type) {
    case 't':
    case 'm':
      return formatTime(nums[1], nums[2], type === 'm', start);
    case 'n':
      // IntOrString.type is 1 for a string, 0 for an int.
      return nums[1] === 1 ? strs[3] : nums[2] | 0;
    case 'q':
      return strs[1];
    case 'r':
      return rawEnd > rawStart ? parseRaw(r, rawStart, rawEnd) : undefined;
  }
}

function formatTime(seconds: number, nanos: number, micro: boolean, at: number): string | undefined {
  // A zero Go time.Time marshals to an empty message and means "not set".
  if (seconds === 0 && nanos === 0) return undefined;
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) throw new ProtobufError(`time at byte ${at} is out of range (${seconds} seconds)`);
  const iso = new Date(seconds * 1000).toISOString().slice(0, 19);
  if (!micro) return `${iso}Z`;
  const us = Math.min(Math.max(Math.trunc(nanos / 1000), 0), 999999);
  return `${iso}.${String(us).padStart(6, '0')}Z`;
}

function parseRaw(r: Reader, start: number, end: number): unknown {
  try {
    return JSON.parse(r.text(start, end));
  } catch {
    throw new ProtobufError(`embedded object at byte ${start} is not JSON`);
  }
}

function zeroOf(type: FieldType): unknown {
  if (typeof type === 'object') return {};
  if (type === 'b') return false;
  if (type === 'i' || type === 'l') return 0;
  return '';
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isZero(v: unknown): boolean {
  return v === 0 || v === false || v === '' || (isObject(v) && Object.keys(v).length === 0);
}
