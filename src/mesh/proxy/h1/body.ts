/**
 * The body side of an HTTP/1.1 message on the proxy's own path, shaped like the part of node's
 * Readable (IncomingMessage) the router uses: 'data' and 'end' events, pause/resume, pipe/unpipe,
 * `readableEnded`, `complete`. Chunks are handed on synchronously as the parser produces them — no
 * stream buffering per chunk — and kept only while nobody reads. pipe() honours the destination's
 * backpressure (write() false → the socket pauses until 'drain'). 'close' follows 'end', or comes
 * after 'aborted' when the connection went away before the body was read to its end (as node's
 * IncomingMessage; `complete` stays false when it was cut mid-body), and no 'end' follows then.
 */
import type net from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { SlotEmitter } from './emitter.ts';
import { noTrailers } from './fields.ts';
import { keepCopy } from './parser.ts';

/** What pipe() writes to: a Writable, or the proxy's own H1Response. */
export interface Sink {
  write(chunk: Buffer): boolean;
  end(): unknown;
  once(event: 'drain', fn: () => void): unknown;
  removeListener(event: 'drain', fn: () => void): unknown;
}

/** Buffered bytes after which an unread body pauses its socket. */
const highWater = 64 * 1024;

/** A message body fed by the parser (see the file comment). */
export class H1Body extends SlotEmitter {
  readonly socket: net.Socket;
  complete = false;
  readableEnded = false;
  rawTrailers: string[] = noTrailers;
  #trailers: Record<string, string> | undefined;
  #flowing = false;
  #paused = false;
  #queue: Buffer[] | undefined;
  #queued = 0;
  #ended = false;
  #closed = false;
  /** This body paused the socket (buffer full or pipe backpressure): resume() undoes it. */
  #held = false;
  #dest: Sink | undefined;
  #waiting: (() => void) | undefined;
  #decoder: StringDecoder | undefined;

  constructor(socket: net.Socket) {
    super();
    this.socket = socket;
  }

  /** Trailers as an object (lowercase names). */
  get trailers(): Record<string, string> {
    if (!this.#trailers) {
      const t: Record<string, string> = {};
      const raw = this.rawTrailers;
      for (let i = 0; i < raw.length; i += 2) t[raw[i].toLowerCase()] = raw[i + 1];
      this.#trailers = t;
    }
    return this.#trailers;
  }

  override on(event: string | symbol, fn: (...args: any[]) => void): this {
    super.on(event, fn);
    if (event === 'data' && !this.#paused && !this.#flowing) {
      // Bytes (or the end) already waiting flow on the next tick, as Readable's: a caller adding
      // on('data') and then pipe() or its own state in the same tick must miss none of them
      // (forward.ts does exactly that). With nothing waiting, flowing starts now (no tick per body).
      if (this.#queue || this.#ended) process.nextTick(H1Body.#flowSoon, this);
      else this.#flowing = true;
    }
    return this;
  }

  static #flowSoon(b: H1Body): void {
    if (!b.#paused && !b.#closed) b.resume();
  }

  /**
   * The parser's body bytes: maybe a view of the shared read buffer (reads.ts), valid only during
   * this call, so readers get a copy they may keep.
   */
  push(view: Buffer): void {
    const chunk = keepCopy(view);
    if (this.#flowing && !this.#paused) return this.#deliver(chunk);
    (this.#queue ??= []).push(chunk);
    this.#queued += chunk.length;
    if (this.#queued > highWater) this.#hold();
  }

  #hold(): void {
    this.#held = true;
    this.socket.pause();
  }

  /** The parser reached the end of the message. */
  finish(trailers: string[] | undefined): void {
    if (trailers) this.rawTrailers = trailers;
    this.complete = true;
    this.#ended = true;
    if (this.#flowing && !this.#paused && !this.#queue) this.#emitEnd();
  }

  /** The connection is gone: 'aborted' and 'close', unless 'end' (and its 'close') came already. */
  gone(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.emit('aborted');
    this.emit('close');
  }

  /** 'data' gives strings from here on (as Readable.setEncoding; pipe() still gets bytes). */
  setEncoding(enc: BufferEncoding): this {
    this.#decoder = new StringDecoder(enc);
    return this;
  }

  pause(): this {
    this.#paused = true;
    return this;
  }

  resume(): this {
    this.#paused = false;
    this.#flowing = true;
    if (this.#held) {
      // Also after unpipe() from a destination that never drained: the rest must still be read.
      this.#held = false;
      this.socket.resume();
    }
    const q = this.#queue;
    if (q) {
      this.#queue = undefined;
      this.#queued = 0;
      for (let i = 0; i < q.length; i++) {
        this.#deliver(q[i]);
        if (this.#paused) {
          // Paused again mid-way (pipe backpressure): keep the rest.
          const rest = q.slice(i + 1);
          if (rest.length) {
            this.#queue = rest;
            for (const c of rest) this.#queued += c.length;
          }
          return this;
        }
      }
    }
    if (this.#ended && !this.readableEnded && !this.#closed) this.#emitEnd();
    return this;
  }

  /** Sends the body to `dest` and ends it after the last byte. */
  pipe<T extends Sink>(dest: T): T {
    this.#dest = dest;
    this.resume();
    return dest;
  }

  unpipe(dest?: Sink): this {
    if (!dest || dest === this.#dest) {
      if (this.#waiting && this.#dest) this.#dest.removeListener('drain', this.#waiting);
      this.#dest = undefined;
      this.#waiting = undefined;
    }
    return this;
  }

  #deliver(chunk: Buffer): void {
    this.emit('data', this.#decoder ? this.#decoder.write(chunk) : chunk);
    const d = this.#dest;
    if (d && !d.write(chunk) && !this.#waiting) {
      this.#paused = true;
      this.#hold();
      this.#waiting = (): void => {
        this.#waiting = undefined;
        this.resume();
      };
      d.once('drain', this.#waiting);
    }
  }

  #emitEnd(): void {
    this.readableEnded = true;
    this.emit('end');
    const d = this.#dest;
    this.#dest = undefined;
    if (d) d.end();
    if (!this.#closed) {
      this.#closed = true;
      this.emit('close');
    }
  }
}
