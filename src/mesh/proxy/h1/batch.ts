/**
 * Socket writes held to the end of the event loop's I/O phase, as HAProxy sends what a poll's
 * events produced after handling them all. A request head or a whole response written at once
 * wakes the peer at once; when the peer shares the CPU (an app beside its sidecar), it preempts the
 * proxy in the middle of the batch of reads one poll returned, and the two switch back and forth
 * once per request. Held to setImmediate (after every I/O callback of this poll), the peer is woken
 * for the batch instead: on the bench machine that took the server sidecar's involuntary context
 * switches from 0.93 to ~0.6 per request and its CPU per request down by about a quarter
 * (docs/performance.md).
 *
 * At low load a poll returns one event, and holding buys nothing: the write wakes the peer just as
 * late at the end of the read's callback. There the check phase only costs: node enters JS a second
 * time per wake (processImmediate, its async context, a slow `length` store in node's
 * pop_async_context) for ~11 % of a sidecar's user time at 1,000 rps. So the flush goes where the
 * poll's batch size says:
 * - batched (the start): held to setImmediate. A flush that finds one socket, `quietFlushes` times
 *   in a row, switches to
 * - inline: what a direct read (reads.ts) queued is written when its callback returns
 *   (`readDone`). Every `probeEvery`th read holds its writes to setImmediate as a probe; the probe's
 *   flush finding more than one socket means polls return batches again, and switches back.
 * Writes queued outside a direct read's callback (timers, connects, 'data' reads) always wait for
 * setImmediate.
 *
 * Only whole messages (or their ends) are held; a body streamed in pieces is written as it comes,
 * since its writer needs the socket's backpressure. Whatever writes to a socket directly calls
 * flushSocket() first, so bytes leave in order; a socket destroyed before the flush loses its
 * held bytes, as it would have lost them in its buffer. A flush goes to the socket's handle past
 * node's Writable when the socket's state allows it (writes.ts).
 */
import type net from 'node:net';
import { writeDirect } from './writes.ts';

const kHeld = Symbol('skiff.h1.held');
/** A socket with text held for it (undefined: none). Set at adoption so every socket has one shape. */
type Holding = net.Socket & { [kHeld]?: string };

/**
 * Sockets with text held, `queue[0..queued)`. The two arrays keep their length (flushed slots are
 * cleared, not cut off): `length = 0` gives an array's store back, and the next push grew it again
 * (~300 instructions a request under callgrind).
 */
let queue: Array<Holding | undefined> = [];
let queued = 0;
/** The other queue: flushes swap the two, so an inline flush per read allocates nothing. */
let spare: Array<Holding | undefined> = [];
/** A setImmediate flush is pending. */
let scheduled = false;

/** Batched flushes in a row that found one socket before the flush goes inline. */
export const quietFlushes = 8;
/**
 * Inline flushes between probes. A probe is rare code (a setImmediate, node's immediate queue and
 * its async context, run as baseline code): at 32, probes cost ~1,100 instructions a request at
 * 1,000 rps (callgrind). 256 reads are a few ms at the loads where batching pays.
 */
export const probeEvery = 256;
/** True while writes queued in a direct read's callback go out when it returns. */
let inline = false;
/** Batched flushes in a row that found one socket. */
let quiet = 0;
/** Reads since the last probe (inline mode). */
let sinceProbe = 0;
/** Depth of direct read callbacks running (reads.ts); 0 outside them. */
let reading = 0;

/** Gives a socket its (empty) slot for held text; call once when the proxy takes the socket. */
export function adoptForBatch(s: net.Socket): void {
  (s as Holding)[kHeld] = undefined;
}

/** Writes `text` (latin1) to `s` at the end of this I/O phase, after anything held for it before. */
export function writeLater(s: net.Socket, text: string): void {
  const h = s as Holding;
  const held = h[kHeld];
  if (held !== undefined) {
    h[kHeld] = held + text;
    return;
  }
  h[kHeld] = text;
  queue[queued++] = h;
  // Inside a direct read, readDone() decides; elsewhere the check phase flushes.
  if (reading === 0) schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(flushAll);
}

/** Called by reads.ts as a direct read's callback starts. */
export function readStart(): void {
  reading++;
}

/** Called by reads.ts as a direct read's callback returns (or throws): flushes inline or schedules the batch flush. */
export function readDone(): void {
  if (--reading !== 0 || queued === 0) return;
  if (inline && !scheduled && ++sinceProbe < probeEvery) {
    flushQueue();
    return;
  }
  sinceProbe = 0;
  schedule();
}

/**
 * A whole message was queued for `s`. Inside a direct read whose writes go out inline, it leaves
 * now rather than when the read's callback returns: the bookkeeping after a response (metrics, the
 * access log, the pool) and the rest of the read then run while the peer already has the bytes. A
 * read that will be a probe keeps its writes for the probe.
 */
export function messageQueued(s: net.Socket): void {
  if (inline && reading !== 0 && !scheduled && sinceProbe + 1 < probeEvery) flushSocket(s);
}

/** True while writes are flushed at the end of each read (for tests). */
export function flushingInline(): boolean {
  return inline;
}

/** Writes now what is held for `s` (before a direct write, an end or a hand-over). */
export function flushSocket(s: net.Socket): void {
  const h = s as Holding;
  const held = h[kHeld];
  if (held === undefined) return;
  h[kHeld] = undefined;
  if (!h.destroyed && !writeDirect(h, held)) h.write(held, 'latin1');
}

/** Chars (bytes) held for `s`. */
export function heldLength(s: net.Socket): number {
  return (s as Holding)[kHeld]?.length ?? 0;
}

/** True when `s` has text held. */
export function holding(s: net.Socket): boolean {
  return (s as Holding)[kHeld] !== undefined;
}

function flushAll(): void {
  scheduled = false;
  const n = queued;
  if (n > 1) {
    inline = false;
    quiet = 0;
  } else if (n === 1 && !inline && ++quiet >= quietFlushes) inline = true;
  flushQueue();
}

function flushQueue(): void {
  const q = queue;
  const n = queued;
  queue = spare;
  queued = 0;
  for (let i = 0; i < n; i++) {
    flushSocket(q[i]!);
    q[i] = undefined;
  }
  spare = q;
}
