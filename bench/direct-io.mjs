/**
 * The sidecar's direct socket I/O (src/mesh/proxy/h1/reads.ts and writes.ts), in plain JS for the
 * bench's Node reference programs (raw-floor.mjs, lean-sketch.mjs): reads land in one shared
 * buffer, through net's `onread` for dialed connections and the same two slots for accepted ones;
 * writes go to the socket's handle past the Writable. Where this node lacks either, the programs
 * fall back to 'data' events and `socket.write`. A handler gets a view of the shared buffer that is
 * valid only during its call.
 */
import net from 'node:net';

const shared = Buffer.allocUnsafe(64 * 1024);
const own = Object.getOwnPropertySymbols(new net.Socket());
const kBuffer = own.find((k) => k.description === 'kBuffer');
const kBufferCb = own.find((k) => k.description === 'kBufferCb');
let wrap;
try {
  wrap = process.binding('stream_wrap');
} catch {
  wrap = undefined;
}
let writeReq = wrap && newWriteReq();

function newWriteReq() {
  const r = new wrap.WriteWrap();
  r.oncomplete = () => {};
  return r;
}

/** Sends future reads of accepted socket `s` to `onBytes(s, view)`. */
export function readAccepted(s, onBytes) {
  const h = s._handle;
  if (!kBuffer || !kBufferCb || !h || typeof h.useUserBuffer !== 'function') return void s.on('data', (chunk) => onBytes(s, chunk));
  s[kBuffer] = shared;
  s[kBufferCb] = (n) => onBytes(s, shared.subarray(0, n));
  h.useUserBuffer(shared);
}

/** Dials host:port with reads going to `onBytes(socket, view)`. */
export function connectDirect(host, port, onBytes) {
  const s = net.connect({ host, port, onread: { buffer: shared, callback: (n) => onBytes(s, shared.subarray(0, n)) } });
  return s;
}

/** Writes latin1 `text` to `s`, to its handle when nothing is queued before it. */
export function send(s, text) {
  const h = s._handle;
  if (!writeReq || !h || s.connecting || s.writableLength !== 0 || h.writeQueueSize !== 0) return void s.write(text, 'latin1');
  if (h.writeLatin1String(writeReq, text) !== 0) s.destroy();
  else if (wrap.streamBaseState[wrap.kLastWriteWasAsync] !== 0) writeReq = newWriteReq();
}
