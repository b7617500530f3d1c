/**
 * Reads that skip node's Readable: the bytes of a connection the proxy parses itself land in one
 * buffer shared by every such connection, and go straight to its handler. node's 'data' path
 * allocates a 64 KiB ArrayBuffer per read, shrinks it, pushes it through the Readable and schedules
 * a tick to read more; on the bench machine that was ~8k instructions a request per side of a
 * proxy (docs/performance.md).
 *
 * Reads are handled one at a time, synchronously, so connections can share the buffer; a handler
 * gets a view that is only valid during its call, and copies whatever it keeps. Each call is
 * bracketed by batch.ts's readStart/readDone, which write what it queued when it returns at low
 * load.
 *
 * Connections the proxy dials get this from net.connect's `onread` option. Connections a server
 * accepted have no public way to it: the same two slots `onread` fills are set on the socket,
 * found by name on a probe socket at load, as h2.ts finds node's connectionListener. When this node
 * has no such slots, accepted connections keep their 'data' events (slower, same behaviour);
 * reads.test.ts checks that this node has them.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { readDone, readStart } from './batch.ts';
import { readView, scanReadBuffer } from './scan.ts';

/** The buffer every direct read lands in: 64 KiB of the header scanner's memory (scan.ts), so heads read here are scanned in place. */
export const readBuffer = scanReadBuffer;

interface Slots {
  buffer: symbol;
  callback: symbol;
}

function findSlots(): Slots | undefined {
  const probe = new net.Socket();
  const own = Object.getOwnPropertySymbols(probe);
  const buffer = own.find((k) => k.description === 'kBuffer');
  const callback = own.find((k) => k.description === 'kBufferCb');
  if (!buffer || !callback) return undefined;
  const p = probe as unknown as Record<symbol, unknown>;
  // net.Socket sets both to null unless `onread` was given.
  return p[buffer] === null && p[callback] === null ? { buffer, callback } : undefined;
}

const slots = findSlots();

/** True when accepted connections can read directly on this node. */
export const directAccepted = slots !== undefined;

type UserBufferHandle = { useUserBuffer?: (b: Uint8Array) => void };

/** A direct read's handler: the socket and a view of the shared buffer; false stops reading, as a Readable's push. */
export type OnBytes<S extends net.Socket = net.Socket> = (s: S, view: Buffer) => boolean;

/** Direct reads in progress (nested when a handler's write reads synchronously), and readNow's time for them (-1: not taken yet). */
let depth = 0;
let readTime = -1;

/**
 * performance.now() for the proxy's request timing (durations, service time, idle stamps), taken
 * once per direct read: every timestamp of one read's callback is the same, as a read is handled
 * in a few tens of µs. performance.now() costs ~150 instructions (a brand check and a call into
 * node), and a request took five. Outside a direct read (timers, other protocols), the clock itself.
 */
export function readNow(): number {
  if (depth === 0) return performance.now();
  if (readTime < 0) readTime = performance.now();
  return readTime;
}

/** One direct read: `onBytes` on a view of the shared buffer, bracketed for batch.ts. */
function deliver<S extends net.Socket>(s: S, n: number, onBytes: OnBytes<S>): boolean {
  depth++;
  readStart();
  try {
    return onBytes(s, readView(n));
  } finally {
    readDone();
    if (--depth === 0) readTime = -1;
  }
}

/**
 * Sends the future reads of an accepted connection to `onBytes` through the shared buffer (bytes
 * already buffered in the socket still come as 'data'). Returns false, changing nothing, where this
 * node cannot.
 */
export function readAcceptedDirectly<S extends net.Socket>(s: S, onBytes: OnBytes<S>): boolean {
  const handle = (s as unknown as { _handle?: UserBufferHandle })._handle;
  // TLS sockets read through their own layer: only plain TCP handles.
  if (!slots || !handle || typeof handle.useUserBuffer !== 'function' || (s as { encrypted?: boolean }).encrypted) return false;
  const t = s as unknown as Record<symbol, unknown>;
  t[slots.buffer] = readBuffer;
  t[slots.callback] = (n: number): boolean => deliver(s, n, onBytes);
  handle.useUserBuffer(readBuffer);
  return true;
}

/** Dials a connection whose reads go to `onBytes(socket, view)` through the shared buffer (it emits no 'data'). */
export function connectDirect(opts: net.TcpNetConnectOpts, onBytes: OnBytes): net.Socket {
  const s: net.Socket = net.connect({ ...opts, onread: { buffer: readBuffer, callback: (n: number) => deliver(s, n, onBytes) } });
  return s;
}
