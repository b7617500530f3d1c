/** Decoder for the protobuf request bodies kubectl 1.32 sends (`application/vnd.kubernetes.protobuf`). */
import { decodeMessage } from './decode.ts';
import { ProtobufError } from './errors.ts';
import { messageForKind } from './schema.ts';
import { Reader, WIRE_LEN } from './wire.ts';

export { ProtobufError } from './errors.ts';
export { supportedKinds } from './schema.ts';

/** The content type of Kubernetes protobuf bodies. */
export const KUBE_PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

// "k8s\0": the prefix apimachinery's protobuf serializer writes before every runtime.Unknown.
const MAGIC = [0x6b, 0x38, 0x73, 0x00];

/** True when the body starts with the k8s protobuf magic. */
export function isKubeProtobuf(body: Uint8Array): boolean {
  return body.length >= 4 && body[0] === MAGIC[0] && body[1] === MAGIC[1] && body[2] === MAGIC[2] && body[3] === MAGIC[3];
}

/** Decodes a kubectl protobuf body to the JSON object it stands for; throws ProtobufError on bad input. */
export function decodeKubeProtobuf(body: Uint8Array): Record<string, unknown> {
  if (!isKubeProtobuf(body)) throw new ProtobufError('body does not start with the "k8s\\0" magic');
  const r = new Reader(body);
  r.pos = 4;
  const env = readUnknown(r, body.length);
  if (env.contentEncoding !== '') throw new ProtobufError(`unsupported content encoding "${env.contentEncoding}"`);
  if (env.kind === '' || env.apiVersion === '') {
    throw new ProtobufError(`missing typeMeta (apiVersion "${env.apiVersion}", kind "${env.kind}")`);
  }
  const msg = messageForKind(env.apiVersion, env.kind);
  // Same spelling as Kubernetes' GroupVersionKind.String(), so the message reads like the real server's.
  if (msg === undefined) throw new ProtobufError(`unsupported kind "${env.apiVersion}, Kind=${env.kind}"`);
  r.pos = env.rawStart;
  const obj = decodeMessage(r, msg, env.rawEnd);
  return { apiVersion: env.apiVersion, kind: env.kind, ...obj };
}

interface Envelope {
  apiVersion: string;
  kind: string;
  rawStart: number;
  rawEnd: number;
  contentEncoding: string;
}

/** Reads runtime.Unknown: typeMeta(1){apiVersion(1), kind(2)}, raw(2), contentEncoding(3), contentType(4). */
function readUnknown(r: Reader, end: number): Envelope {
  const env: Envelope = { apiVersion: '', kind: '', rawStart: 0, rawEnd: 0, contentEncoding: '' };
  forEachLenField(r, end, (field, start, stop) => {
    if (field === 1) {
      forEachLenField(r, stop, (f, s, e) => {
        if (f === 1) env.apiVersion = r.text(s, e);
        else if (f === 2) env.kind = r.text(s, e);
      });
    } else if (field === 2) [env.rawStart, env.rawEnd] = [start, stop];
    else if (field === 3) env.contentEncoding = r.text(start, stop);
  });
  return env;
}

/** Calls `fn` with each length-delimited field in [pos, end), skipping everything else. */
function forEachLenField(r: Reader, end: number, fn: (field: number, start: number, stop: number) => void): void {
  while (r.pos < end) {
    const at = r.pos;
    r.varint(end);
    const field = r.lo >>> 3;
    const wire = r.lo & 7;
    if (field === 0 || r.hi !== 0) throw new ProtobufError(`invalid field number at byte ${at}`);
    if (wire !== WIRE_LEN) {
      r.skip(wire, field, end);
      continue;
    }
    const stop = r.lengthEnd(end);
    const start = r.pos;
    fn(field, start, stop);
    r.pos = stop;
  }
}
