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

let queue: Holding[] = [];
let scheduled = false;

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
  queue.push(h);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushAll);
  }
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
  const q = queue;
  queue = [];
  for (let i = 0; i < q.length; i++) flushSocket(q[i]);
}
