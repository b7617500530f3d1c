/**
 * One end of a raw loopback connection for the h1 tests: everything read kept as latin1 text (a
 * byte per char, so exact bytes compare), and ways to wait for more, for the peer's FIN or the close.
 */
import assert from 'node:assert/strict';
import type net from 'node:net';

/** A socket's read side as text, with waits that fail with what was read instead of hanging. */
export class Wire {
  readonly sock: net.Socket;
  text = '';
  ended = false;
  closed = false;
  #waiters: (() => void)[] = [];

  constructor(sock: net.Socket) {
    this.sock = sock;
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.text += d;
      this.#wake();
    });
    sock.on('end', () => {
      this.ended = true;
      this.#wake();
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      this.closed = true;
      this.#wake();
    });
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Runs `check` now and after every event until it stops re-arming; a 3 s net turns a hang into a failure. */
  #wait<T>(done: () => T | undefined, failClosed: boolean, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${what}; got ${JSON.stringify(this.text.slice(0, 500))}`)), 3000);
      const check = (): void => {
        const v = done();
        if (v !== undefined) {
          clearTimeout(t);
          resolve(v);
        } else if (failClosed && this.closed) {
          clearTimeout(t);
          reject(new Error(`closed before the expected bytes; got ${JSON.stringify(this.text.slice(0, 500))}`));
        } else this.#waiters.push(check);
      };
      check();
    });
  }

  write(text: string | Buffer): void {
    this.sock.write(text);
  }

  /** Resolves with the text once `pred` holds; rejects if the connection closes first (or never gets there). */
  until(pred: (text: string) => boolean): Promise<string> {
    return this.#wait(() => (pred(this.text) ? this.text : undefined), true, 'expected bytes never came');
  }

  /** Resolves with everything read once the other side ended the connection. */
  untilEnd(): Promise<string> {
    return this.#wait(() => (this.ended || this.closed ? this.text : undefined), false, 'the connection never ended');
  }

  /** Resolves once the connection closed. */
  gone(): Promise<void> {
    return this.#wait(() => (this.closed ? true : undefined), false, 'the connection never closed').then(() => undefined);
  }

  /** Waits for `n` occurrences of `part`. */
  count(part: string, n: number): Promise<string> {
    return this.until((t) => t.split(part).length - 1 >= n);
  }

  /** Waits for a message head (and `bodyBytes` more bytes), returns it and forgets it. */
  async take(bodyBytes = 0): Promise<string> {
    const text = await this.until((t) => t.includes('\r\n\r\n') && t.length >= t.indexOf('\r\n\r\n') + 4 + bodyBytes);
    const n = text.indexOf('\r\n\r\n') + 4 + bodyBytes;
    this.text = text.slice(n);
    return text.slice(0, n);
  }
}

/** Decodes a chunked body (sizes, data, CRLFs, `0` chunk); fails the test on bad framing. */
export function unchunk(text: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const nl = text.indexOf('\r\n', i);
    assert.ok(nl > i, `chunk size line at ${i}`);
    const n = parseInt(text.slice(i, nl), 16);
    i = nl + 2;
    if (n === 0) {
      assert.equal(text.slice(i), '\r\n', 'end of chunked body');
      return out;
    }
    out += text.slice(i, i + n);
    assert.equal(text.slice(i + n, i + n + 2), '\r\n', 'CRLF after chunk data');
    i += n + 2;
  }
}

/** Raw pairs with lowercase names: what the proxy's parser hands on (it lowercases names, as Envoy's codec does). */
export function lowerNames(raw: string[]): string[] {
  return raw.map((v, i) => (i % 2 === 0 ? v.toLowerCase() : v));
}
