/**
 * Writes that skip node's Writable: the text batch.ts held for a socket goes to the socket's handle
 * in one call, as node's own string write does underneath. Through `socket.write` every write also
 * runs the Writable's state machine and, when it completes at once, schedules a tick for its
 * callback; at low load that tick runs alone, and on node 20 a tick run allocates (its
 * `processPromiseRejections`). On the bench machine that was ~12k user instructions a write at
 * 1,000 rps and ~1.7k at full load (docs/performance.md).
 *
 * The handle write needs a write request object, which node keeps internal; it is taken from
 * `process.binding('stream_wrap')`, which node 20 still exposes (documentation-deprecated,
 * DEP0111). Where it is missing, or the socket is in any state where node's bookkeeping matters,
 * writeDirect() returns false and the caller writes through the socket as before. Those states:
 * TLS, still connecting, ended, corked, the Writable holding bytes, or the handle's queue not empty
 * (an earlier write is still pending, so this one waits behind it in node's order). A write the
 * kernel takes only in part leaves the rest queued on the handle, as node's would; the next
 * write then sees the queue and goes through the Writable, whose own backpressure holds. What a
 * direct write can leave pending is at most one held text (batch.ts bounds it).
 */
import type net from 'node:net';
import { getSystemErrorName } from 'node:util';

interface WriteReq {
  /** The socket a pending write belongs to (null while the object waits for the next write). */
  socket: net.Socket | null;
  oncomplete: (this: WriteReq, status: number) => void;
}

interface StreamHandle {
  writeLatin1String(req: WriteReq, text: string): number;
  readonly writeQueueSize?: number;
}

interface StreamWrap {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

function load(): StreamWrap | undefined {
  try {
    const b = (process as unknown as { binding(name: string): Partial<StreamWrap> }).binding('stream_wrap');
    if (typeof b.WriteWrap !== 'function' || !(b.streamBaseState instanceof Int32Array) || typeof b.kLastWriteWasAsync !== 'number') return undefined;
    return b as StreamWrap;
  } catch {
    return undefined;
  }
}

const wrap = load();

/** True when this node lets writes skip the Writable. */
export const directWrites = wrap !== undefined;

/** An error as node reports a failed write ("write EPIPE"). */
function writeError(status: number): NodeJS.ErrnoException {
  let code: string;
  try {
    code = getSystemErrorName(status);
  } catch {
    code = `E${-status}`;
  }
  const e: NodeJS.ErrnoException = new Error(`write ${code}`);
  e.errno = status;
  e.code = code;
  e.syscall = 'write';
  return e;
}

function oncomplete(this: WriteReq, status: number): void {
  const s = this.socket;
  this.socket = null;
  if (status < 0 && s && !s.destroyed) s.destroy(writeError(status));
}

function newReq(w: StreamWrap): WriteReq {
  const req = new w.WriteWrap();
  req.socket = null;
  req.oncomplete = oncomplete;
  return req;
}

/**
 * The request object for the next write. A write the kernel takes whole never binds it, so one
 * serves every such write; one that stays pending keeps it, and the next write gets a new one.
 */
let req: WriteReq | undefined = wrap && newReq(wrap);

/**
 * Writes latin1 `text` to `s`'s handle now, past the Writable. False (nothing written) when this
 * node or this socket's state does not allow it; write through the socket then.
 */
export function writeDirect(s: net.Socket, text: string): boolean {
  const h = (s as unknown as { _handle?: StreamHandle | null })._handle;
  if (!wrap || !h || s.connecting || s.writableLength !== 0 || s.writableCorked !== 0 || s.writableEnded || h.writeQueueSize !== 0) return false;
  // TLS sockets write through their own layer: only plain TCP handles, as reads.ts.
  if ((s as { encrypted?: boolean }).encrypted) return false;
  const r = req!;
  r.socket = s;
  const err = h.writeLatin1String(r, text);
  if (err !== 0 || wrap.streamBaseState[wrap.kLastWriteWasAsync] !== 0) {
    // Bound to a pending write (or left in an unknown state by a failed one): use a new one next.
    req = newReq(wrap);
  } else {
    r.socket = null;
  }
  // As node's write does: a write keeps the socket's idle timeout from firing.
  if (s.timeout) (s as unknown as { _unrefTimer(): void })._unrefTimer();
  if (err !== 0) s.destroy(writeError(err));
  return true;
}
